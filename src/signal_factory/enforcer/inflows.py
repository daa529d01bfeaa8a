"""The guard at the other inflows: OpenLineage events, posted evidence, S3 objects, deployment markers.

The enforcer guards what a producer sends in a record (`guard.py`). These functions do the same for
everything else a producer (or a job, a stream processor, a CD hook) can make us write, each applied
once where the inflow's bytes become data:

* `guard_run_event_doc` -- an OpenLineage event (RunEvent, DatasetEvent or JobEvent) as decoded JSON
  (`ingest/openlineage/model.py`, before it becomes a struct): job, run, parent and dataset names, and
  every facet (custom ones too, key names included);
* `guard_evidence` -- evidence made elsewhere (`POST /api/v1/evidence`, the evidence topic read by the
  Kafka signals stage, the S3 ingester's evidence over object keys and metadata), stream evidence's
  `stream` facet and `correlation_chain` included (at most `MAX_CHAIN_LINKS` steps);
* deployment markers (`POST /api/v1/deployments`, `--deployments` files) are guarded where they are
  parsed, `graph/deployments.parse_marker`, with the same functions.

Names and free text go through `safe_text` (dates, times and UUIDs stay readable), reason codes and
failure signatures through `safe_code`, producer ids and versions and topics through `safe_token`
exactly as in the record path (so an inferred deployment and a marker of the same version agree), key
names through `safe_key`, payload copies through the record path's `redacted_payload` (so our own
evidence, read back from the evidence topic, is unchanged). Pure: data in, data out.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from signal_factory.enforcer.eventtime import EventTimeGuard
from signal_factory.enforcer.redact import redacted_payload
from signal_factory.model.evidence import (
    Evidence,
    GateResult,
    Lineage,
    Otel,
    Producer,
    Source,
    Validation,
    decode_evidence,
)
from signal_factory.model.stream import (
    CausalStep,
    Chain,
    CorrelationChain,
    CorrelationLink,
    StreamFacet,
    Window,
)
from signal_factory.privacy.guard import (
    MAX_REASON_CODES,
    MAX_TEXT,
    TEXT,
    safe_code,
    safe_key,
    safe_text,
    safe_token,
    stand_in,
)
from signal_factory.privacy.pii_detectors import detect

#: Nesting kept in a facet or evidence details; deeper parts become `<omitted:too-deep>`.
MAX_DEPTH = 32
#: Encoded size of one gate's details or one evidence's payload copy; larger ones are replaced.
MAX_DETAILS_BYTES = 8192
MAX_PAYLOAD_BYTES = 4096
#: Steps kept of one correlation chain (a window that folds more inputs names the first ones).
MAX_CHAIN_LINKS = 256
_CARD_MIN = 10 ** 12
_HEX = re.compile(r"[0-9a-f]+")
# Ids we make or that look like ours (`evd-` + 26 Crockford letters, as the Spark integration's are).
_ID = re.compile(r"[a-z]{1,10}-[0-9A-HJKMNP-TV-Z]{26}")
_SIGNATURE_KEYS = ("reason_code", "reason", "signature")
_OBSERVABILITY = ("observability_evidence", "observability")
_encoder = msgspec.json.Encoder()
#: Memo of validations (their JSON) the guard leaves unchanged: at most this many, each at most this long.
MEMO_ENTRIES = 1024
MEMO_BYTES = 4096
_unchanged: dict[bytes, None] = {}


def guard_tree(node: Any, depth: int = 0) -> Any:
    """A JSON tree with key names through `safe_key`, strings through `safe_text` (up to `MAX_TEXT`)
    and integers long enough to be a card number checked by the detectors. Lists, tuples and sets are
    guarded item by item (a tuple stays a tuple, a set a set)."""
    if depth > MAX_DEPTH:
        return "<omitted:too-deep>"
    if isinstance(node, dict):
        return {safe_key(str(k)): guard_tree(v, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [guard_tree(v, depth + 1) for v in node]
    if isinstance(node, (tuple, set, frozenset)):  # as a list would be, keeping the container's kind
        items = [guard_tree(v, depth + 1) for v in node]
        if isinstance(node, tuple):
            return tuple(items)
        return frozenset(items) if isinstance(node, frozenset) else set(items)
    if isinstance(node, str):
        return safe_text(node, limit=MAX_TEXT)
    if type(node) is int and abs(node) >= _CARD_MIN:
        kind = detect(str(abs(node)))
        return node if kind is None else f"<redacted:{kind}>"
    return node


def _opt(value: str | None, guard: Any = safe_text) -> str | None:
    return None if value is None else guard(value)


_STORED_REF = re.compile(r"sha256:[0-9a-f]{64}|omitted:too-large|s3://([a-z0-9][a-z0-9.\-]{1,62}(?:/[^\s/?#]+)*)"
                         r"/[0-9a-f]{2}/[0-9a-f]{64}\.json")


def _payload_ref(ref: str) -> str:
    """A ref our payload stores write (`payloads/files.py`, `payload_s3.py`) is kept, so it reads back (its
    hex digest would otherwise count as too many digits); anything else is guarded as text."""
    m = _STORED_REF.fullmatch(ref)
    if m is not None and (m.group(1) is None or safe_text(m.group(1)) == m.group(1)):
        return ref
    return safe_text(ref)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# -- OpenLineage -------------------------------------------------------------------------------------


def _name(value: Any) -> Any:
    return safe_text(value) if isinstance(value, str) else value


def _dataset_doc(ds: Any) -> Any:
    if not isinstance(ds, dict):
        return ds
    out = guard_tree({k: v for k, v in ds.items() if k not in ("namespace", "name")})
    for k in ("namespace", "name"):
        if k in ds:
            out[k] = _name(ds[k])
    return out


def _run_facets(facets: Any) -> Any:
    if not isinstance(facets, dict):
        return guard_tree(facets)
    out = guard_tree(facets)
    for name in _OBSERVABILITY:  # failure signatures are reason codes: guarded per part, so they still group
        summary_key = "summary" if name == "observability_evidence" else "evidence_summary"
        summary = _dict(_dict(facets.get(name)).get(summary_key))
        sigs = summary.get("failure_signatures")
        if not isinstance(sigs, list):
            continue
        guarded_sigs = out[name][summary_key]["failure_signatures"]
        for raw, item in zip(sigs, guarded_sigs, strict=True):
            for key in _SIGNATURE_KEYS:
                if isinstance(_dict(raw).get(key), str):
                    item[key] = safe_code(raw[key])
    return out


def guard_run_event_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """A decoded OpenLineage event with every producer-controlled string guarded; keys the parser checks
    (`eventType`, `eventTime`) are left for it to check, and named in its errors only guarded."""
    out = dict(doc)
    for key in ("producer", "schemaURL"):
        if key in doc:
            out[key] = _name(doc[key])
    run = doc.get("run")
    if isinstance(run, dict):
        out["run"] = {**guard_tree({k: v for k, v in run.items() if k not in ("runId", "facets")}),
                      **({"runId": _name(run["runId"])} if "runId" in run else {}),
                      **({"facets": _run_facets(run["facets"])} if "facets" in run else {})}
    for single in ("job", "dataset"):  # `dataset`: a DatasetEvent's one StaticDataset
        if isinstance(doc.get(single), dict):
            out[single] = _dataset_doc(doc[single])
    for side in ("inputs", "outputs"):
        if isinstance(doc.get(side), list):
            out[side] = [_dataset_doc(ds) for ds in doc[side]]
    return out


# -- evidence made elsewhere ------------------------------------------------------------------------


def _capped(tree: Any, cap: int) -> Any:
    size = len(_encoder.encode(tree))
    return tree if size <= cap else {"omitted": "too-large", "bytes": size}


def _gate(g: GateResult) -> GateResult:
    details = None if g.details is None else _capped(guard_tree(g.details), MAX_DETAILS_BYTES)
    return GateResult(safe_token(g.gate), safe_token(g.result), _opt(g.reason_code, safe_code), details)


def _evidence_id(value: str) -> str:
    return value if _ID.fullmatch(value) or safe_text(value) == value else "evd-" + stand_in(value, TEXT)


def _hex(value: str | None, length: int) -> str | None:
    return value if value is not None and len(value) == length and _HEX.fullmatch(value) else None


def _same(a: Any, b: Any) -> Any:
    """`a` when the guard left every part of it as it was (no copy made), else `b`."""
    return a if a == b else b


def _full_validation(v: Validation) -> Validation:
    return Validation(safe_token(v.result), [_gate(g) for g in v.gates], [safe_token(g) for g in v.failed_gates],
                      list(dict.fromkeys(safe_code(c) for c in v.reason_codes))[:MAX_REASON_CODES])


def _validation(v: Validation) -> Validation:
    """`_full_validation`, skipped for a validation whose JSON the guard already left unchanged.

    Hot path (the signals stage guards every evidence of the topic; validations repeat: the same gates,
    details and reason codes): a validation is what we write as its JSON, so the memo is keyed by those
    exact bytes, not by anything the message claims; a hit returns the input, which encodes to bytes
    the guard itself produced. The memo holds only verdicts "unchanged", which do not depend on the
    redaction key (a stand-in is a safe token under any key), so changing the key needs no reset.
    """
    try:
        key = _encoder.encode(v)
    except (TypeError, msgspec.EncodeError):  # not JSON-encodable (made in-process): no memo
        return _full_validation(v)
    if key in _unchanged:
        return v
    out = _full_validation(v)
    if len(key) <= MEMO_BYTES and _encoder.encode(out) == key:
        if len(_unchanged) >= MEMO_ENTRIES:
            _unchanged.clear()  # a flood of distinct validations costs a full guard each, no memory
        _unchanged[key] = None
        return v
    return out


def _producer(p: Producer) -> Producer:
    return _same(p, Producer(safe_token(p.id), safe_token(p.confidence), _opt(p.version, safe_token), _opt(p.run_id)))


def _source(s: Source) -> Source:
    return _same(s, Source(_opt(s.topic, safe_token), s.partition, s.offset, _opt(s.timestamp_type), _opt(s.timestamp),
                           _opt(s.origin), _opt(s.input_dataset), _opt(s.source_record_id)))


def _lineage(ln: Lineage) -> Lineage:
    return _same(ln, Lineage(None if ln.upstream_urns is None else [safe_text(u) for u in ln.upstream_urns],
                             _opt(ln.job_urn), _opt(ln.dag_run_id), _opt(ln.spark_run_id), _opt(ln.upstream_dataset)))


def _window(w: Window) -> Window:
    return _same(w, Window(type=safe_token(w.type), start=_opt(w.start), end=_opt(w.end)))


def _stream(f: StreamFacet) -> StreamFacet:
    """Topology and processor names as producer ids are (a topology is the producer of its evidence)."""
    return _same(f, StreamFacet(
        topology_id=safe_token(f.topology_id), processor_node=safe_token(f.processor_node),
        window=None if f.window is None else _window(f.window), watermark=_opt(f.watermark),
        processing_time=_opt(f.processing_time), processing_time_ms=f.processing_time_ms, late_data=f.late_data))


def _trace(value: str | None) -> str | None:
    return None if value is None else _hex(value, 32) or safe_text(value)


def _chain(c: Chain) -> Chain:
    """Either shape, kept in its shape: ids as evidence ids, relations and topics as tokens."""
    if isinstance(c, CorrelationChain):
        steps = [CausalStep(step=s.step, source_evidence_id=_opt(s.source_evidence_id, _evidence_id),
                            relationship=safe_token(s.relationship), topic=_opt(s.topic, safe_token),
                            partition=s.partition, offset=s.offset) for s in c.causal_chain[:MAX_CHAIN_LINKS]]
        return _same(c, CorrelationChain(root_trace_id=_trace(c.root_trace_id), causal_chain=steps))
    return _same(c, [CorrelationLink(step=x.step, relation=safe_token(x.relation),
                                     evidence_id=_opt(x.evidence_id, _evidence_id), topic=_opt(x.topic, safe_token),
                                     partition=x.partition, offset=x.offset) for x in c[:MAX_CHAIN_LINKS]])


def guard_evidence(ev: Evidence) -> Evidence:
    """Evidence as a stream processor, Spark job or the S3 ingester made it, with every string guarded,
    at most `MAX_REASON_CODES` reason codes, and details and payload copy capped in size.

    Idempotent: evidence our enforcer made (or this function returned) comes back equal, and as the
    same object when nothing had to change (no copy on the signals stage's hot path)."""
    validation = _validation(ev.validation)
    producer = None if ev.producer is None else _producer(ev.producer)
    source = None if ev.source is None else _source(ev.source)
    o = ev.otel
    otel = None if o is None else _same(o, Otel(_hex(o.trace_id, 32), _hex(o.span_id, 16), o.trace_flags))
    lineage = None if ev.lineage is None else _lineage(ev.lineage)
    payload, payload_ref = ev.payload, _opt(ev.payload_ref, _payload_ref)
    if payload is not None:
        # The record path's rule for payload copies (detectors, key names), so our own evidence is unchanged.
        payload = _same(payload, _capped(redacted_payload(payload, frozenset()), MAX_PAYLOAD_BYTES))
        if isinstance(payload, dict) and payload.get("omitted") == "too-large":
            payload, payload_ref = None, "omitted:too-large"
    evidence_id, timestamp = _evidence_id(ev.evidence_id), safe_text(ev.timestamp)
    dataset_urn = safe_text(ev.dataset_urn)
    stream = None if ev.stream is None else _stream(ev.stream)
    chain = None if ev.correlation_chain is None else _chain(ev.correlation_chain)
    if (validation is ev.validation and producer is ev.producer and source is ev.source and otel is ev.otel
            and lineage is ev.lineage and payload is ev.payload and payload_ref == ev.payload_ref
            and evidence_id == ev.evidence_id and timestamp == ev.timestamp and dataset_urn == ev.dataset_urn
            and stream is ev.stream and chain is ev.correlation_chain):
        return ev
    return msgspec.structs.replace(
        ev, evidence_id=evidence_id, timestamp=timestamp, dataset_urn=dataset_urn, producer=producer,
        validation=validation, source=source, otel=otel, lineage=lineage, payload=payload, payload_ref=payload_ref,
        stream=stream, correlation_chain=chain)


def foreign_evidence(doc: bytes, skew: EventTimeGuard, received_at: str | None) -> Evidence:
    """Evidence another system made, as bytes (`POST /api/v1/evidence`, the evidence topic): decoded (raises
    msgspec's errors on non-evidence), every string guarded, and its event time checked against
    `received_at`, the instant we received it by a clock its maker does not control (None: unknown)."""
    ev = guard_evidence(decode_evidence(doc))
    return ev if received_at is None else skew.flag_made_elsewhere(ev, received_at)
