"""Data-quality checks a run reports about a dataset (OpenLineage `dataQualityAssertions` and
`dataQualityMetrics`) -> one DQ_BREACH signal for that dataset and run. Pure: data in, a signal out.

- Each failed assertion is a failure signature `ASSERTION_FAILED:<column>:<assertion>` (a table-level
  assertion: `ASSERTION_FAILED:<assertion>`); a failed assertion makes the signal CRITICAL, or WARNING
  when its `severity` is a warning.
- The metrics judge the contract's aggregate quality rules (`CompiledContract.aggregates`, the ones the
  stream measures per window, contracts/aggregate.py) over the whole batch: `rowCount` against the
  table's `rowCount` metric, a property's `nullValues` against its column's `nullCount` (unit `percent`:
  out of `rowCount`). A violated rule is the rule's own signature (`QUALITY_ROW_COUNT:$`,
  `QUALITY_NULL_VALUES:customer_id`, as the stream's quality engine names it), CRITICAL unless the rule's
  severity is WARN (then WARNING). A rule the metrics do not cover is not judged.
- Nothing to judge (no assertion, no rule the metrics cover): no signal. All passed: an OK signal, which
  is how an open incident on the dataset's data quality sees it recover.

Window BATCH_RUN from the run's start to the event; `metrics` carries the counts and the measured
rowCount/bytes; `details.rules` lists each judged rule with its value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from signal_factory.contracts.aggregate import WARN, AggregateRule
from signal_factory.contracts.quality import threshold_ok
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.privacy.guard import safe_code
from signal_factory.signals.model import (
    BATCH_RUN,
    CRITICAL,
    DQ_BREACH,
    OK,
    WARNING,
    DatasetChecks,
    Signal,
    TopFailure,
    Window,
    signal_id_for,
)

ASSERTION_FAILED = "ASSERTION_FAILED"


def _signature(kind: str, column: str | None, what: str) -> str:
    return safe_code(f"{kind}:{column}:{what}" if column else f"{kind}:{what}")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def measured(rule: AggregateRule, metrics: dict[str, Any]) -> float | None:
    """The value the metrics give for `rule` over the whole batch, or None when they do not cover it."""
    rows = _number(metrics.get("rowCount"))
    if rule.metric == "rowCount":
        return rows
    if rule.metric != "nullValues" or rule.field is None:
        return None
    column = metrics.get("columnMetrics")
    col = column.get(rule.field) if isinstance(column, dict) else None
    nulls = _number(col.get("nullCount")) if isinstance(col, dict) else None
    if nulls is None or rule.unit != "percent":
        return nulls
    return None if not rows else round(nulls * 100.0 / rows, 6)


def judge_rules(rules: Sequence[AggregateRule], metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Each rule the metrics cover: key, signature, metric, threshold, value and whether it passed."""
    out: list[dict[str, Any]] = []
    for rule in rules:
        value = measured(rule, metrics)
        if value is None:
            continue
        out.append({"key": rule.key, "signature": rule.signature, "field": rule.field, "metric": rule.metric,
                    "operator": rule.operator, "bound": rule.bound, "unit": rule.unit, "value": value,
                    "severity": rule.severity, "passed": threshold_ok(rule.operator, rule.bound, value)})
    return out


def checks_signal(checks: DatasetChecks, rules: Sequence[AggregateRule] = ()) -> Signal | None:
    """The DQ_BREACH signal of one run's checks on one dataset, or None when nothing was judged."""
    judged = judge_rules(rules, checks.metrics)
    if not checks.assertions and not judged:
        return None
    top: list[TopFailure] = []
    states = [OK]
    for a in checks.assertions:
        if not a.success:
            top.append(TopFailure(_signature(ASSERTION_FAILED, a.column, a.assertion), 1))
            states.append(_state_for(a.severity))
    for r in judged:
        if not r["passed"]:
            top.append(TopFailure(r["signature"], 1))
            states.append(WARNING if r["severity"] == WARN else CRITICAL)
    state = CRITICAL if CRITICAL in states else WARNING if WARNING in states else OK
    total, failed = len(checks.assertions), sum(not a.success for a in checks.assertions)
    metrics: dict[str, Any] = {"assertions": total, "assertions_passed": total - failed, "assertions_failed": failed,
                               "rules_judged": len(judged),
                               "rules_failed": sum(not r["passed"] for r in judged)}
    for src, dst in (("rowCount", "row_count"), ("bytes", "bytes"), ("fileCount", "file_count")):
        if _number(checks.metrics.get(src)) is not None:
            metrics[dst] = checks.metrics[src]
    start, end = _canonical(checks.started_at), _canonical(checks.ended_at)
    context = dict(checks.batch_context) or {"job_name": checks.job_name, "run_id": checks.run_id}
    return Signal(
        signal_id=signal_id_for(DQ_BREACH, checks.dataset_urn, BATCH_RUN,
                                f"{start}#{checks.job_name}#{checks.run_id}#checks", parse_iso_ms(end) or 0, 1),
        signal_type=DQ_BREACH, dataset_urn=checks.dataset_urn, state=state, window=Window(start, end, BATCH_RUN),
        timestamp=end, metrics=metrics, top_failures=top[:5], batch_context=context, revision=1,
        details={"source": "openlineage", "rules": judged} if judged else {"source": "openlineage"})


def _state_for(severity: str | None) -> str:
    return WARNING if str(severity or "").lower() in ("warn", "warning") else CRITICAL


def _canonical(text: str) -> str:
    ms = parse_iso_ms(text)
    return iso_ms(ms) if ms is not None else text
