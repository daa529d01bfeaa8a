"""CONTRACT_BREACH: contract compliance per dataset per window (seed 4.1, Scenario 1 Step 3).

compliance_rate = 1 - fail_count / evidence_count, where evidence_count = pass + warn + fail and
pass_count counts PASS evidence plus sampled-out PASS records (tallies). A WARN is compliant: the
contract itself declares the rule a warning (Scenario 2: the FLASH_SALE enum value passes in stream);
WARNs are reported in `warn_count`. `failure_rate` = fail_count / evidence_count. The state is the
spec's rule on the dataset's `slo.contract_compliance` (rate >= threshold OK, >= warning_threshold
WARNING, else CRITICAL), each level backed by the statistics (significance.py: >= min_failing FAILs
and a confident failure rate). Metrics are rounded to 4 places (127 / 1,247 = 0.10184 -> 0.1018; the
seed prints 0.102).

The accumulator is a monoid: `initialize()`, `add(acc, delta)`, and a delta is itself an accumulator
(`observe(ev)` for one evidence; the host builds one per dataset-minute of a batch). It keeps exact
counts per failure signature (first_seen, the evidence that showed it first, producer counts), and
only the 10 earliest non-PASS evidence ids; distinct signatures beyond `MAX_SIGNATURES` per window are
folded into `other_signatures`.

Provisional signals (early firing, see contract_engine.py and significance.py) carry the window's
figures at the record that fired them, plus the early test's own: `recent_evidence_count`,
`recent_fail_count`, `recent_failure_rate` (since the estimated change point, `details.early_decision.since`).
"""

from __future__ import annotations

from bisect import insort
from typing import NamedTuple

import msgspec

from signal_factory.controlplane.model import ThresholdSlo
from signal_factory.model.evidence import PASS, WARN, Evidence
from signal_factory.model.timefmt import iso_ms
from signal_factory.signals.model import (
    CONTRACT_BREACH,
    CRITICAL,
    OK,
    WARNING,
    Signal,
    TopFailure,
    Window,
    signal_id_for,
)
from signal_factory.signals.significance import Alarm, Params, supported_state

MAX_REFS = 10
MAX_TOP = 5
MAX_SIGNATURES = 200
NO_REASON = "UNSPECIFIED"  # a non-PASS evidence without reason codes still counts as a failure
_SEP = "\x1f"


class SigStat(msgspec.Struct, array_like=True):
    """One failure signature in one window: count, first sighting, and who produced it how often."""

    count: int
    first_seen: str
    first_evidence: str
    producers: dict[str, int]  # "producer\x1fversion" -> count


class ContractAcc(msgspec.Struct):
    pass_count: int = 0
    warn_count: int = 0
    fail_count: int = 0
    failures: dict[str, SigStat] = msgspec.field(default_factory=dict)
    refs: list[tuple[str, str]] = msgspec.field(default_factory=list)  # (event time, evidence id)
    other_signatures: int = 0

    @property
    def evidence_count(self) -> int:
        return self.pass_count + self.warn_count + self.fail_count


def initialize() -> ContractAcc:
    return ContractAcc()


def add(acc: ContractAcc, item: ContractAcc) -> ContractAcc:
    """Merge a delta into the accumulator (in place) and return it."""
    acc.pass_count += item.pass_count
    acc.warn_count += item.warn_count
    acc.fail_count += item.fail_count
    acc.other_signatures += item.other_signatures
    failures = acc.failures
    for sig, st in item.failures.items():
        cur = failures.get(sig)
        if cur is None:
            if len(failures) >= MAX_SIGNATURES:
                acc.other_signatures += st.count
                continue
            failures[sig] = SigStat(st.count, st.first_seen, st.first_evidence, dict(st.producers))
            continue
        cur.count += st.count
        cur.first_seen, cur.first_evidence = min((cur.first_seen, cur.first_evidence),
                                                 (st.first_seen, st.first_evidence))
        for key, n in st.producers.items():
            cur.producers[key] = cur.producers.get(key, 0) + n
    if item.refs:
        acc.refs = sorted(acc.refs + item.refs)[:MAX_REFS] if acc.refs else list(item.refs)
    return acc


def add_failure(acc: ContractAcc, t: str, ev: Evidence) -> None:
    """Record the details of one non-PASS evidence (its count is added separately)."""
    prod = ev.producer
    pkey = f"{prod.id}{_SEP}{prod.version or ''}" if prod is not None else _SEP
    eid = ev.evidence_id
    failures = acc.failures
    for code in ev.validation.reason_codes or (NO_REASON,):
        st = failures.get(code)
        if st is None:
            if len(failures) >= MAX_SIGNATURES:
                acc.other_signatures += 1
                continue
            failures[code] = SigStat(1, t, eid, {pkey: 1})
            continue
        st.count += 1
        if t < st.first_seen or (t == st.first_seen and eid < st.first_evidence):
            st.first_seen, st.first_evidence = t, eid
        st.producers[pkey] = st.producers.get(pkey, 0) + 1
    refs = acc.refs
    if len(refs) < MAX_REFS or (t, eid) < refs[-1]:
        insort(refs, (t, eid))
        if len(refs) > MAX_REFS:
            refs.pop()


def observe(ev: Evidence, t: str | None = None) -> ContractAcc:
    """The delta of one evidence (`t`: its canonical event time, if already known)."""
    r = ev.validation.result
    if r == PASS:
        return ContractAcc(pass_count=1)
    delta = ContractAcc(warn_count=1) if r == WARN else ContractAcc(fail_count=1)
    add_failure(delta, t if t is not None else ev.event_time(), ev)
    return delta


def rate(acc: ContractAcc) -> float:
    """Compliance: the share of records that did not FAIL (1.0 for an empty window)."""
    n = acc.evidence_count
    return 1.0 - acc.fail_count / n if n else 1.0


def state_for(compliance: float, slo: ThresholdSlo) -> str:
    if compliance >= slo.threshold:
        return OK
    return WARNING if compliance >= slo.warning_threshold else CRITICAL


def top_failures(acc: ContractAcc) -> list[TopFailure]:
    """At most 5, by count (ties: earliest first_seen, then signature), with the most frequent producer."""
    ranked = sorted(acc.failures.items(), key=lambda kv: (-kv[1].count, kv[1].first_seen, kv[0]))[:MAX_TOP]
    out = []
    for sig, st in ranked:
        pkey = min(st.producers.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        producer, _, version = pkey.partition(_SEP)
        out.append(TopFailure(sig, st.count, st.first_seen, producer or None, version or None))
    return out


def state(acc: ContractAcc, slo: ThresholdSlo, p: Params) -> str:
    """The window's final state: the spec's compliance rule, backed by the statistics (significance.py)."""
    return supported_state(acc.fail_count, acc.evidence_count, slo, p)


class Early(NamedTuple):
    """What a provisional signal says beyond the window's figures: when, which state, and why."""

    at: str  # event time of the record that fired it
    state: str
    sequence: int  # 0 for the window's first provisional signal, then 1, 2...
    alarm: Alarm


def build_signal(urn: str, window_type: str, start_ms: int, end_ms: int, acc: ContractAcc, slo: ThresholdSlo,
                 p: Params, *, revision: int, early: Early | None = None, late_count: int = 0,
                 late_dropped: int = 0) -> Signal:
    """A CONTRACT_BREACH signal for one window: final (revision >= 1) or provisional (`early`)."""
    n = acc.evidence_count
    metrics: dict[str, object] = {
        "evidence_count": n, "pass_count": acc.pass_count, "warn_count": acc.warn_count,
        "fail_count": acc.fail_count, "compliance_rate": round(rate(acc), 4),
        "failure_rate": round(acc.fail_count / n, 4) if n else 0.0, "slo_threshold": slo.threshold,
        "warning_threshold": slo.warning_threshold,
    }
    if late_count:
        metrics["late_count"] = late_count
    if late_dropped:
        metrics["late_dropped_count"] = late_dropped
    if acc.other_signatures:
        metrics["other_signatures_count"] = acc.other_signatures
    details: dict[str, object] = {}
    if late_dropped:
        details["flags"] = ["LATE_DATA_DROPPED"]
    if early is not None:
        a = early.alarm
        metrics.update(recent_evidence_count=a.seg_n, recent_fail_count=a.seg_fail,
                       recent_failure_rate=round(a.seg_fail / a.seg_n, 4))
        details["early_decision"] = {
            "test": "CUSUM", "since": a.since, "log_likelihood_ratio": round(a.llr, 3),
            "threshold": round(a.threshold, 3), "sequence": early.sequence}
    start = iso_ms(start_ms)
    end = iso_ms(end_ms)
    return Signal(
        signal_id=signal_id_for(CONTRACT_BREACH, urn, window_type, start, end_ms, revision,
                                early.sequence if early is not None else 0),
        signal_type=CONTRACT_BREACH, dataset_urn=urn,
        state=early.state if early is not None else state(acc, slo, p),
        window=Window(start, end, window_type), timestamp=early.at if early is not None else end, metrics=metrics,
        top_failures=top_failures(acc), evidence_refs=[eid for _, eid in acc.refs], details=details or None,
        provisional=early is not None, revision=revision)
