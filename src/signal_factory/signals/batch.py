"""Batch runs: DQ_BREACH and COST_ANOMALY (Scenario 2 Step 6).

DQ_BREACH, one per run with record counts: window BATCH_RUN (run start/end), compliance =
passed / processed against `slo.data_quality` (else `slo.contract_compliance`) with the usual rule
(>= threshold OK, >= warning_threshold WARNING, else CRITICAL). Scenario 2: 44,850 / 45,230 = 0.9916
>= 0.99 -> OK (SPEC.md: the seed's WARNING there belongs to the drift signal). `top_failures` are the
run's signatures by count with `is_new` from the drift engine. The run's own evidence (batch evidence
naming the run, held by runs.py) adds `evidence_refs`, `evidence_count`, each signature's first time,
and the counts when the run sent no observability facet.

COST_ANOMALY, one per run that reports `cost_units` (else `duration_s`): the value against the
median/MAD band (baseline.py) of the previous runs of the same job (`cost_history_runs` kept);
UNKNOWN until `cost_min_history` runs are known. A run seen again (same run_id) is judged against
the others and not counted twice.
"""

from __future__ import annotations

import msgspec

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.controlplane.model import ThresholdSlo
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.signals.baseline import band, judge
from signal_factory.signals.config import EngineConfig
from signal_factory.signals.contract import state_for
from signal_factory.signals.model import (
    BATCH_RUN,
    COST_ANOMALY,
    DQ_BREACH,
    UNKNOWN,
    BatchRunTotals,
    Signal,
    TopFailure,
    Window,
    signal_id_for,
)
from signal_factory.signals.runs import RunEvidence

_DEFAULT_SLO = ThresholdSlo()


class DqAcc(msgspec.Struct):
    processed: int = 0
    passed: int = 0
    failed: int = 0
    signatures: dict[str, int] = msgspec.field(default_factory=dict)


def initialize() -> DqAcc:
    return DqAcc()


def add(acc: DqAcc, run: BatchRunTotals) -> DqAcc:
    processed = run.records_processed or 0
    if run.records_failed is not None:
        failed = run.records_failed
    elif run.records_passed is not None:
        failed = processed - run.records_passed
    else:
        failed = sum(run.failure_signatures.values())
    passed = run.records_passed if run.records_passed is not None else processed - failed
    acc.processed += processed
    acc.passed += passed
    acc.failed += failed
    for sig, n in run.failure_signatures.items():
        acc.signatures[sig] = acc.signatures.get(sig, 0) + n
    return acc


def result(acc: DqAcc, slo: ThresholdSlo) -> tuple[str, float]:
    compliance = acc.passed / acc.processed if acc.processed else 1.0
    return state_for(compliance, slo), compliance


class CostState(msgspec.Struct):
    jobs: dict[str, list[tuple[str, float]]] = msgspec.field(default_factory=dict)  # job -> (run_id, value)


class BatchEngine:
    def __init__(self, cp: ControlPlane, cfg: EngineConfig, state: CostState) -> None:
        self.cp = cp
        self.cfg = cfg
        self.state = state

    def dq(self, run: BatchRunTotals, is_new: dict[str, bool], seen: RunEvidence | None = None) -> list[Signal]:
        """The run's DQ_BREACH: its facet's totals, joined with the run's own evidence (`seen`).

        Without facet totals: `output_rows` written + FAIL evidence processed, if the run reported its
        row count; else the evidence alone can say what failed but not out of how many (UNKNOWN).
        """
        ds = self.cp.datasets.get(run.dataset_urn)
        slo = _DEFAULT_SLO if ds is None else ds.slo.data_quality or ds.slo.contract_compliance
        if run.records_processed is None and seen is not None:
            failures = {code: s.count for code, s in seen.failures.items()}
            if run.output_rows is not None:
                run = msgspec.structs.replace(run, records_processed=run.output_rows + seen.failed,
                                              records_passed=run.output_rows, records_failed=seen.failed,
                                              failure_signatures=run.failure_signatures or failures)
            else:
                run = msgspec.structs.replace(run, failure_signatures=run.failure_signatures or failures)
        if run.records_processed is None and seen is None:
            return []
        acc = add(initialize(), run)
        metrics: dict[str, object]
        if run.records_processed is None:
            assert seen is not None
            state, metrics = UNKNOWN, {"records_failed": seen.failed, "records_warned": seen.warned,
                                       "records_passed": seen.passed, "slo_threshold": slo.threshold,
                                       "warning_threshold": slo.warning_threshold}
        else:
            state, compliance = result(acc, slo)
            metrics = {"records_processed": acc.processed, "records_passed": acc.passed, "records_failed": acc.failed,
                       "compliance_rate": round(compliance, 4), "slo_threshold": slo.threshold,
                       "warning_threshold": slo.warning_threshold}
        firsts: dict[str, str] = {}
        if seen is not None:
            metrics["evidence_count"] = seen.count
            firsts = {code: s.first_seen for table in (seen.warnings, seen.failures) for code, s in table.items()}
        ranked = sorted(acc.signatures.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        top = [TopFailure(sig, n, first_seen=firsts.get(sig),
                          is_new=True if seen is not None and sig in seen.new else is_new.get(sig))
               for sig, n in ranked]
        signal = self._signal(DQ_BREACH, run, state, metrics, top)
        if seen is not None:
            signal.evidence_refs = list(seen.refs)
        return [signal]

    def cost(self, run: BatchRunTotals) -> list[Signal]:
        metric, value = ("cost_units", run.cost_units) if run.cost_units is not None else ("duration_s", run.duration_s)
        if value is None:
            return []
        runs = self.state.jobs.setdefault(run.job_name, [])
        previous = [v for rid, v in runs if rid != run.run_id]
        metrics: dict[str, object] = {metric: value, "history_runs": len(previous)}
        state = UNKNOWN
        if len(previous) >= self.cfg.cost_min_history:
            b = band(previous, self.cfg.cost_tolerance)
            state = judge(value, b)
            metrics.update(expected_low=round(b.low, 3), expected_high=round(b.high, 3), baseline_median=b.median,
                           baseline_mad=b.mad, tolerance=self.cfg.cost_tolerance)
        if all(rid != run.run_id for rid, _ in runs):
            runs.append((run.run_id, float(value)))
            del runs[:-self.cfg.cost_history_runs]
        return [self._signal(COST_ANOMALY, run, state, metrics, [])]

    def _signal(self, kind: str, run: BatchRunTotals, state: str, metrics: dict[str, object],
                top: list[TopFailure]) -> Signal:
        start = _canonical(run.started_at)
        end = _canonical(run.ended_at)
        end_ms = parse_iso_ms(end) or 0
        context = dict(run.batch_context) or {"job_name": run.job_name, "run_id": run.run_id}
        return Signal(
            signal_id=signal_id_for(kind, run.dataset_urn, BATCH_RUN, f"{start}#{run.job_name}#{run.run_id}",
                                    end_ms, 1),
            signal_type=kind, dataset_urn=run.dataset_urn, state=state, window=Window(start, end, BATCH_RUN),
            timestamp=end, metrics=metrics, top_failures=top, batch_context=context, revision=1)


def _canonical(text: str) -> str:
    ms = parse_iso_ms(text)
    return iso_ms(ms) if ms is not None else text
