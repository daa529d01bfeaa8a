"""SKETCH, not wired in: a columnar (pyarrow) micro-batch fast path for the enforcer, to size the idea.

    .venv/bin/python -m benchmarks.columnar_sketch --count 200000     # needs pyarrow (not a project dependency)

Per block of kcat -J lines it parses both JSON layers with `pyarrow.json` (explicit Arrow schema from
the orders JSON Schema), decides with vectorized kernels which rows are *certainly* PASS, renders
their evidence from a template cut out of msgspec's own encoding of a PASS `Evidence`, and sends every
other row through the normal per-record path (`parse_line` + `Enforcer._one`) with the same id. The
output must be byte-identical to `Enforcer.process` on the same block (checked below, with a fixed
clock and fixed randomness).

Only the orders example is modelled, by hand: a real version would generate the vectorized checks
from the compiled contract and JSON Schema (like the screens in contracts/rules.py and gates/schema.py)
and get the PII pre-screen regex from privacy/pii_detectors.py, with a test that it is a superset.
Anything the vectorized checks cannot decide exactly goes to the per-record path:
  * the whole block, when pyarrow cannot parse it with the expected Arrow types (a type conflict,
    duplicate keys, int overflow, a pairs-form header list, ...);
  * a row whose payload text contains `null` (Arrow cannot tell null from missing), a newline, or
    does not start with `{`; unexpected fields in payload/metadata/items; a null or odd header; a
    header value that would need JSON escaping; no ts; a trace id that is not already normalised;
  * a row that fails any check, or whose strings match the PII pre-screen (then `detect` decides).
Known gaps for a real implementation: pyarrow's JSON parser may accept input msgspec rejects (it
would need a differential fuzz test), and RE2 is only used where an RE2 match implies a Python `re` match.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import struct
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from benchmarks.gen_orders import generate
from signal_factory.controlplane.loader import load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.evidence import (
    G1_RESOLUTION,
    G2_IDENTITY,
    G3_SCHEMA,
    G4_CONTRACT,
    G5_PII,
    PASS,
    Evidence,
    GateResult,
    Otel,
    Producer,
    Source,
    Validation,
    encode_evidence_lines,
)
from signal_factory.model.ids import new_ulids
from signal_factory.model.records import MalformedInput
from signal_factory.model.timefmt import iso_ms
from signal_factory.privacy.pii_detectors import detect
from signal_factory.sources.jsonlines import parse_line

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "orders"
TOPIC = "raw.orders.events"
SCHEMA_ID = "glue:orders.created:17"

OUTER = pa.schema([("topic", pa.string()), ("partition", pa.int64()), ("offset", pa.int64()),
                   ("tstype", pa.string()), ("ts", pa.int64()), ("broker", pa.int64()),
                   ("headers", pa.list_(pa.string())), ("key", pa.string()), ("payload", pa.string())])
ITEM = pa.struct([("sku", pa.string()), ("qty", pa.int64()), ("price", pa.float64())])
PAYLOAD = pa.struct([("order_id", pa.string()), ("customer_id", pa.string()), ("total_amount", pa.float64()),
                     ("currency", pa.string()), ("created_at", pa.string()), ("discount_type", pa.string()),
                     ("customer_email", pa.string()), ("notes", pa.string()), ("items", pa.list_(ITEM))])
METADATA = pa.struct([("correlation_id", pa.string()), ("producer_service", pa.string()),
                      ("producer_version", pa.string())])
INNER = pa.schema([("event_type", pa.string()), ("payload", PAYLOAD), ("metadata", METADATA)])
DISCOUNTS = pa.array(["NONE", "PERCENTAGE", "FIXED_AMOUNT", "LOYALTY", "COUPON"])
SCANNED = ("order_id", "customer_id", "currency", "created_at", "discount_type", "notes")  # not customer_email
# Superset of pii_detectors' `_candidates` shapes (digit -> [0-9], space/dash/dot -> [ .-], letter -> [A-Za-z],
# a phone that starts with 0 at a token start): a string matching none of these cannot be reported by `detect`.
PII_SCREEN = (r"@|\+|::|(:[^:]*){6}|[0-9]{3}[ .-][0-9]{2}[ .-][0-9]{4}|[0-9]{13}"
              r"|[0-9]{4}[ .-][0-9]{4}[ .-][0-9]{4}[ .-][0-9]|[0-9]{4}[ .-][0-9]{6}[ .-][0-9]{4}|[A-Za-z]{2}[0-9]{2}"
              r"|[0-9]{3}[ .-][0-9]{3}[ .-][0-9]{4}|[0-9]{3}\)|(?:^|[^0-9A-Za-z_.+/:)-])0[0-9]*[ .(-]|\(0"
              r"|[0-9]\.[0-9].*\..*\.|\..*[0-9]\.[0-9].*\.|\..*\..*[0-9]\.[0-9]")
SAFE = r"^[ !#-\[\]-~]*$"  # printable ASCII without `"` and `\`: copied into JSON as is
_READ = pj.ReadOptions(use_threads=False, block_size=1 << 24)


def _template(stamp: str) -> list[bytes]:
    """msgspec's encoding of a PASS Evidence, cut at placeholders: the fragments between the values."""
    svc, ver, ts_type, when, trace = "@@SVC@@", "@@VER@@", "@@TST@@", "@@WHEN@@", "@@TRACE@@"
    gates = [GateResult(G1_RESOLUTION, PASS, None, {"dataset_urn": "urn:dp:orders:created"}),
             GateResult(G2_IDENTITY, PASS, None, {"producer": svc, "confidence": "HIGH", "version": ver}),
             GateResult(G3_SCHEMA, PASS, None, {"schema_id": SCHEMA_ID}),
             GateResult(G4_CONTRACT, PASS, None, {"contract_id": "dc:orders.created:3"}),
             GateResult(G5_PII, PASS, None, {"pii_detected": False})]
    ev = Evidence(evidence_id="evd-@@ID@@", timestamp=stamp, dataset_urn="urn:dp:orders:created",
                  producer=Producer(svc, "HIGH", ver), validation=Validation(PASS, gates, [], []),
                  source=Source(TOPIC, 987654321012, 987654321013, ts_type, when), otel=Otel(trace_id=trace))
    text = msgspec.json.encode(ev)
    cuts = [b"@@ID@@", svc.encode(), ver.encode(), svc.encode(), ver.encode(), b"987654321012", b"987654321013",
            ts_type.encode(), when.encode(), trace.encode()]
    parts = []
    for cut in cuts:
        head, text = text.split(cut, 1)
        parts.append(head)
    parts.append(text + b"\n")
    return parts


def _header(keys: Any, vals: Any, key_rows: Any, n: int, name: str) -> tuple[Any, Any]:
    """(value per row or null, True where the header occurs at most once) of one header."""
    hit = pc.equal(keys, name)
    rows = pc.filter(key_rows, hit)
    values = pc.filter(vals, hit)
    every = pa.array(range(n), pa.int64())
    counts = pc.value_counts(rows)
    repeated = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    once = pc.invert(pc.is_in(every, value_set=repeated))
    return pc.take(values, pc.index_in(every, value_set=rows)), once


def _pii_free(col: Any) -> Any:
    """True where the string certainly holds no PII (`detect` None); calls `detect` only on candidates."""
    cand = pc.fill_null(pc.and_(pc.greater_equal(pc.utf8_length(col), 7), pc.match_substring_regex(col, PII_SCREEN)),
                        False)
    ok = pc.invert(cand)
    idx = pc.indices_nonzero(cand).to_pylist()
    if idx:
        values = pc.take(col, pa.array(idx)).to_pylist()
        mask = ok.to_pylist()
        for i, v in zip(idx, values, strict=True):
            mask[i] = detect(v) is None
        ok = pa.array(mask)
    return ok


def _all_list_items(items: Any, item_ok: Any, n: int) -> Any:
    """Per row: every element of the list satisfies item_ok (rows without a list: True)."""
    parents = pc.list_parent_indices(items)
    bad = pc.filter(parents, pc.invert(pc.fill_null(item_ok, False)))
    if len(bad) == 0:
        return pa.array([True] * n)
    return pc.invert(pc.is_in(pa.array(range(n), pa.int64()), value_set=pc.unique(bad)))


def fast_rows(lines: list[bytes]) -> tuple[list[bool], dict[str, Any]]:
    """Which rows are certainly PASS, and the columns their evidence needs. All False on any surprise."""
    n = len(lines)
    try:
        outer = pj.read_json(io.BytesIO(b"\n".join(lines)), read_options=_READ,
                             parse_options=pj.ParseOptions(explicit_schema=OUTER, unexpected_field_behavior="infer"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return [False] * n, {}
    if outer.num_rows != n:
        return [False] * n, {}
    outer = outer.combine_chunks()
    payload_text = outer.column("payload")
    ts = outer.column("ts")
    ok = pc.and_(pc.equal(outer.column("topic"), TOPIC),
                 pc.and_(pc.greater_equal(ts, 0), pc.less(ts, 253_402_300_800_000)))  # years 1970..9999
    ok = pc.and_(ok, pc.and_(pc.is_valid(outer.column("partition")), pc.is_valid(outer.column("offset"))))
    ok = pc.and_(ok, pc.match_substring_regex(payload_text, r"^\{"))
    # null: Arrow can't tell it from missing; NaN/Infinity: Arrow's parser takes them, msgspec does not.
    ok = pc.and_(ok, pc.invert(pc.match_substring_regex(payload_text, r"null|NaN|Infinity|[\r\n]")))
    for extra in outer.column_names[len(OUTER):]:  # value, value_b64, timestamp, ...: the per-record path
        ok = pc.and_(ok, pc.is_null(outer.column(extra)))
    ok = pc.fill_null(ok, False)
    # Headers: kcat's flat [k, v, ...]; no nulls, even length; each header we read at most once.
    headers = outer.column("headers").chunk(0) if outer.column("headers").num_chunks else pa.array([], OUTER[6].type)
    lengths = pc.fill_null(pc.list_value_length(headers), 0)
    ok = pc.and_(ok, pc.equal(pc.bit_wise_and(lengths, 1), 0))
    flat = pc.list_flatten(headers)
    parents = pc.list_parent_indices(headers)
    if headers.offsets[0].as_py() != 0:
        return [False] * n, {}
    # Position of each flattened item within its own list: even positions are keys.
    pos = pc.subtract(pa.array(range(len(flat)), pa.int64()),
                      pc.cast(pc.take(headers.offsets, parents), pa.int64()))
    is_key = pc.equal(pc.bit_wise_and(pos, 1), 0)
    keys = pc.utf8_lower(pc.filter(flat, is_key))
    vals = pc.filter(flat, pc.invert(is_key))
    kp = pc.filter(parents, is_key)
    null_rows = pc.unique(pc.filter(parents, pc.is_null(flat)))
    ok = pc.and_(ok, pc.invert(pc.is_in(pa.array(range(n), pa.int64()), value_set=null_rows)))
    cols: dict[str, Any] = {}
    ascii_keys = pc.filter(kp, pc.invert(pc.string_is_ascii(keys)))  # Python's lower() may differ there
    ok = pc.and_(ok, pc.invert(pc.is_in(pa.array(range(n), pa.int64()), value_set=ascii_keys)))
    for name, key in (("svc", "x-obs-producer-service"), ("ver", "x-obs-producer-version"),
                      ("schema", "x-obs-schema-id"), ("trace", "x-obs-trace-id"), ("tp", "traceparent")):
        value, once = _header(keys, vals, kp, n, key)
        cols[name] = value
        ok = pc.and_(ok, once)
    ok = pc.and_(ok, pc.is_null(cols["tp"]))
    ok = pc.and_(ok, pc.equal(cols["schema"], SCHEMA_ID))
    ok = pc.and_(ok, pc.and_(pc.match_substring_regex(cols["svc"], r"^.+$"),
                             pc.match_substring_regex(cols["svc"], SAFE)))
    ok = pc.and_(ok, pc.match_substring_regex(cols["ver"], SAFE))
    ok = pc.and_(ok, pc.and_(pc.match_substring_regex(cols["trace"], r"^[0-9a-f]{32}$"),
                             pc.not_equal(cols["trace"], "0" * 32)))
    ok = pc.fill_null(ok, False).to_pylist()
    # Inner layer: only rows still in the running (the others may not even be JSON objects).
    keep = [i for i in range(n) if ok[i]]
    if not keep:
        return ok, {}
    try:
        inner = pj.read_json(pa.BufferReader(_ndjson(pc.take(payload_text, pa.array(keep)))), read_options=_READ,
                             parse_options=pj.ParseOptions(explicit_schema=INNER, unexpected_field_behavior="infer"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return [False] * n, {}
    if inner.num_rows != len(keep):
        return [False] * n, {}
    inner = inner.combine_chunks()
    m = len(keep)
    p = inner.column("payload").chunk(0)
    meta = inner.column("metadata").chunk(0)
    sub = pc.and_(pc.is_valid(inner.column("event_type")), pc.is_valid(p))
    if p.type.num_fields != PAYLOAD.num_fields or meta.type.num_fields != METADATA.num_fields:
        return [False] * n, {}  # unexpected fields inside payload/metadata: keep the sketch simple
    # G3 (types came with the explicit schema) + G4, the orders contract.
    for f in ("order_id", "customer_id", "total_amount", "currency"):
        sub = pc.and_(sub, pc.is_valid(p.field(f)))
    sub = pc.and_(sub, pc.match_substring_regex(p.field("order_id"), r"^ORD-[0-9]{4}-[0-9]{4}-[0-9]+$"))
    sub = pc.and_(sub, pc.match_substring_regex(p.field("currency"), r"^[A-Z]{3}$"))
    sub = pc.and_(sub, pc.greater_equal(p.field("total_amount"), 0))
    dt = p.field("discount_type")
    sub = pc.and_(sub, pc.or_kleene(pc.is_null(dt), pc.is_in(dt, value_set=DISCOUNTS)))
    notes = p.field("notes")
    sub = pc.and_(sub, pc.or_kleene(pc.is_null(notes), pc.less_equal(pc.utf8_length(notes), 1000)))
    mail = p.field("customer_email")
    sub = pc.and_(sub, pc.or_kleene(pc.is_null(mail), pc.match_substring_regex(
        mail, r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")))
    created = p.field("created_at").to_pylist()
    sub = pc.and_(sub, pa.array([c is None or _iso_ok(c) for c in created]))
    items = p.field("items")
    if items.type.value_type.num_fields != ITEM.num_fields:
        return [False] * n, {}
    flat_items = pc.list_flatten(items)
    item_ok = pc.and_(pc.is_valid(flat_items.field("sku")), pc.greater_equal(flat_items.field("qty"), 1))
    item_ok = pc.and_(item_ok, pc.or_kleene(pc.is_null(flat_items.field("price")),
                                      pc.greater_equal(flat_items.field("price"), 0)))
    item_ok = pc.and_(item_ok, pc.fill_null(_pii_free(flat_items.field("sku")), True))
    sub = pc.and_(sub, _all_list_items(items, item_ok, m))
    # G5 on every scanned string (classified customer_email excluded), metadata included.
    for f in SCANNED:
        sub = pc.and_(sub, pc.fill_null(_pii_free(p.field(f)), True))
    for f in ("correlation_id", "producer_service", "producer_version"):
        sub = pc.and_(sub, pc.fill_null(_pii_free(meta.field(f)), True))
    sub_ok = pc.fill_null(sub, False).to_pylist()
    for j, i in enumerate(keep):
        ok[i] = sub_ok[j]
    # iso_ms, vectorized: strftime only once per distinct second, then ".mmm" + "Z".
    ts0 = pc.fill_null(ts, 0)
    secs = pc.divide(ts0, 1000)  # ts >= 0 on every fast row, so integer division floors like divmod
    distinct = pc.unique(secs)
    text = pc.strftime(pc.cast(pc.multiply(distinct, 1000), pa.timestamp("ms", tz="UTC")),
                       format="%Y-%m-%dT%H:%M:%S")
    text = pc.utf8_slice_codeunits(text, 0, 19)  # strftime %S on ms adds the fraction: drop it
    millis = pc.utf8_lpad(pc.cast(pc.subtract(ts0, pc.multiply(secs, 1000)), pa.string()), 3, "0")
    when = pc.binary_join_element_wise(pc.take(text, pc.index_in(secs, value_set=distinct)), millis, ".")
    cols.update(partition=outer.column("partition"), offset=outer.column("offset"),
                when=pc.binary_join_element_wise(when, "Z", ""),
                tstype=pc.if_else(pc.equal(outer.column("tstype"), "logappend"), "LOG_APPEND_TIME", "CREATE_TIME"))
    return ok, cols


def _ndjson(texts: Any) -> Any:
    """The strings of a StringArray, each followed by a newline, as one Arrow buffer (no Python per row)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    joined = pc.binary_join_element_wise(texts, pa.scalar(""), "\n")
    offsets = joined.buffers()[1]
    first = struct.unpack_from("<i", offsets, joined.offset * 4)[0]
    last = struct.unpack_from("<i", offsets, (joined.offset + len(joined)) * 4)[0]
    return joined.buffers()[2].slice(first, last - first)


def _iso_ok(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def process_block(enforcer: Enforcer, lines: list[bytes], first_line: int) -> tuple[bytes, int]:
    """Evidence JSON lines for a block, byte-identical to Enforcer.process; and how many rows were fast."""
    now_ms = int(enforcer._clock() * 1000)
    stamp = iso_ms(now_ms)
    ids = new_ulids(len(lines), now_ms)
    ok, cols = fast_rows(lines)
    slow = [i for i, fast in enumerate(ok) if not fast]
    if len(slow) == len(lines):
        data, offsets = b"", [0] * (len(lines) + 1)
    else:
        # Every fast row's evidence in one kernel: template fragments and per-row columns, concatenated.
        parts = [pa.scalar(x.decode()) for x in _template(stamp)]
        str_ = pa.string()
        values = [pa.array(ids, str_), cols["svc"], cols["ver"], cols["svc"], cols["ver"],
                  pc.cast(cols["partition"], str_), pc.cast(cols["offset"], str_), cols["tstype"], cols["when"],
                  cols["trace"]]
        args: list[Any] = [parts[0]]
        for value, part in zip(values, parts[1:], strict=True):
            args += [value, part]
        evidence = pc.if_else(pa.array(ok), pc.binary_join_element_wise(*args, ""), pa.scalar("", str_))
        if isinstance(evidence, pa.ChunkedArray):
            evidence = evidence.combine_chunks()
        raw = evidence.buffers()[1]
        offsets = list(struct.unpack_from(f"<{len(lines) + 1}i", raw, evidence.offset * 4))
        data = evidence.buffers()[2].to_pybytes()
    out: list[bytes] = []
    done = 0  # evidence bytes of rows before `done` are in `out`
    for i in slow:
        out.append(data[offsets[done]:offsets[i]])
        rec = parse_line(lines[i], f"orders.jsonl:{first_line + i}")
        ev = enforcer._malformed(ids[i], stamp, rec) if isinstance(rec, MalformedInput) \
            else enforcer._one(ids[i], stamp, rec)
        out.append(encode_evidence_lines([ev]))
        done = i + 1
    out.append(data[offsets[done]:offsets[len(lines)]])
    return b"".join(out), len(lines) - len(slow)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=200_000)
    ap.add_argument("--block", type=int, default=10_000)
    args = ap.parse_args(argv)
    lines = generate(args.count)
    blocks = [lines[i:i + args.block] for i in range(0, len(lines), args.block)]
    cp = load_control_plane(EXAMPLE)
    assert cp.settings.evidence.payload == "none", "the sketch's PASS template has no payload"

    # 1. Exactness: with a fixed clock and fixed randomness, the same bytes as Enforcer.process.
    with mock.patch.object(os, "urandom", lambda k: b"\x05" * k):
        e1 = Enforcer(cp, clock=lambda: 1705312700.0)
        ref = b"".join(encode_evidence_lines(e1.process([parse_line(x, f"orders.jsonl:{j + 1 + b * args.block}")
                                                          for j, x in enumerate(blk)]).evidence)
                       for b, blk in enumerate(blocks))
        e2 = Enforcer(cp, clock=lambda: 1705312700.0)
        got = b"".join(process_block(e2, blk, 1 + b * args.block)[0] for b, blk in enumerate(blocks))
    same = ref == got
    print(f"byte-identical to Enforcer.process: {same} (sha256 {hashlib.sha256(got).hexdigest()[:16]})")

    # 2. Speed, best of 3 after a warm-up, both paths end to end from kcat lines to evidence bytes.
    enforcer = Enforcer(cp)

    def per_record() -> None:
        for b, blk in enumerate(blocks):
            recs = [parse_line(x, f"orders.jsonl:{j + 1 + b * args.block}") for j, x in enumerate(blk)]
            for k in range(0, len(recs), 1000):
                encode_evidence_lines(enforcer.process(recs[k:k + 1000]).evidence)

    fast_total = 0

    def columnar() -> None:
        nonlocal fast_total
        fast_total = 0
        for b, blk in enumerate(blocks):
            fast_total += process_block(enforcer, blk, 1 + b * args.block)[1]

    results = {}
    for name, fn in (("per-record (Enforcer.process)", per_record), ("columnar sketch + fallback", columnar)):
        fn()
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        results[name] = args.count / best
        print(f"{name:32} {args.count / best:>10,.0f} records/s ({best / args.count * 1e6:.2f} us/record)")
    print(f"fast path took {fast_total:,} of {args.count:,} rows ({100 * fast_total / args.count:.1f}%); "
          f"speedup {results['columnar sketch + fallback'] / results['per-record (Enforcer.process)']:.1f}x")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
