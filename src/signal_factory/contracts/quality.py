"""ODCS quality rules of both generations -> one spec, and how each is enforced. Load time only.

ODCS v3.0.x library rules name the check with `rule:` (`validValues` with a top-level `validValues`
list, `nullCheck`, `duplicateCount`, `rowCount`); ODCS v3.1.0 names it with `metric:` (`nullValues`,
`missingValues`, `invalidValues` with `arguments.validValues` or `arguments.pattern`, `duplicateValues`,
`rowCount`). Both carry the same operators (`mustBe`, `mustNotBe`, `mustBeGreaterThan`,
`mustBeGreaterOrEqualTo`, `mustBeLessThan`, `mustBeLessOrEqualTo`, `mustBeBetween`, `mustNotBeBetween`)
and a `unit` (`rows`, the default, or `percent`).

A property rule whose threshold allows no bad record at all (e.g. `mustBe: 0`, `mustBeLessThan: 1`, or no
operator: a v3.0 `validValues` / `nullCheck` list states what every value must be) is checked on each
record. Any other rule is a statement about many records (a count or a ratio): it is measured per window
of the stream (contracts/aggregate.py). A rule that cannot be enforced either way is a `Notice`, reported
at load with where it is — never silently skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# v3.0 rule names (and v3.1 metric names used under `rule:`) -> the v3.1 metric they are.
_METRIC_OF = {
    "nullValues": "nullValues", "nullCheck": "nullValues", "notNull": "nullValues",
    "missingValues": "missingValues",
    "invalidValues": "invalidValues", "validValues": "invalidValues",
    "duplicateValues": "duplicateValues", "duplicateCount": "duplicateValues", "uniqueCheck": "duplicateValues",
    "rowCount": "rowCount", "countCheck": "rowCount",
}
OPERATORS = ("mustBe", "mustNotBe", "mustBeGreaterThan", "mustBeGreaterOrEqualTo", "mustBeLessThan",
             "mustBeLessOrEqualTo", "mustBeBetween", "mustNotBeBetween")
_AGGREGATE_ONLY = {"duplicateValues", "rowCount"}


@dataclass(frozen=True, slots=True)
class Notice:
    """A clause the contract states that is not enforced (per record or per window): where it is and why."""

    key: str
    message: str


@dataclass(frozen=True, slots=True)
class QualityRule:
    """One library quality rule, either generation, normalised to the v3.1 metric."""

    metric: str
    operator: str | None
    bound: Any
    unit: str
    severity: str | None
    valid_values: tuple[Any, ...] | None = None
    pattern: str | None = None
    missing_values: tuple[Any, ...] | None = None


def threshold_ok(operator: str | None, bound: Any, value: float) -> bool:
    """Whether a measured `value` satisfies `<operator>: <bound>` (no operator: it must be 0)."""
    if operator is None:
        return value == 0
    if operator == "mustBe":
        return bool(value == bound)
    if operator == "mustNotBe":
        return bool(value != bound)
    if operator == "mustBeGreaterThan":
        return bool(value > bound)
    if operator == "mustBeGreaterOrEqualTo":
        return bool(value >= bound)
    if operator == "mustBeLessThan":
        return bool(value < bound)
    if operator == "mustBeLessOrEqualTo":
        return bool(value <= bound)
    low, high = bound
    inside = bool(low <= value <= high)
    return inside if operator == "mustBeBetween" else not inside


def per_record(rule: QualityRule) -> bool:
    """True when the threshold tolerates no bad record: none passes, one (or any share) fails."""
    if rule.metric in _AGGREGATE_ONLY:
        return False
    smallest_bad = 1.0 if rule.unit == "rows" else 1e-9  # one record, or the smallest share of them
    return threshold_ok(rule.operator, rule.bound, 0.0) and not threshold_ok(rule.operator, rule.bound,
                                                                              smallest_bad)


def parse(q: dict[str, Any], key: str) -> QualityRule | Notice | None:
    """One quality entry (raw YAML mapping) -> its spec, a `Notice` when it cannot be enforced, or None
    for a `text` rule (a description, nothing to check)."""
    kind = str(q.get("type") or "library").strip().lower()
    if kind == "text":
        return None
    if kind in ("sql", "custom"):
        return Notice(key, f"`type: {kind}` quality rule is not evaluated in stream (it needs a query "
                           "engine over stored data); run it in the batch job or datacontract-cli")
    name = str(q.get("metric") or q.get("rule") or "").strip()
    metric = _METRIC_OF.get(name)
    if metric is None:
        known = ", ".join(sorted(_METRIC_OF))
        return Notice(key, f"quality rule {name or '(no metric/rule)'!r} is not supported; known: {known}")
    ops = [op for op in OPERATORS if q.get(op) is not None]
    if len(ops) > 1:
        return Notice(key, f"quality rule {name!r} has {len(ops)} operators ({', '.join(ops)}); "
                           "give exactly one")
    operator = ops[0] if ops else None
    bound = q.get(operator) if operator else None
    if operator in ("mustBeBetween", "mustNotBeBetween"):
        if not (isinstance(bound, list) and len(bound) == 2 and all(_is_number(b) for b in bound)):
            return Notice(key, f"`{operator}` needs two numbers, got {bound!r}")
    elif operator is not None and not _is_number(bound):
        return Notice(key, f"`{operator}` needs a number, got {bound!r}")
    unit = str(q.get("unit") or "rows").strip().lower()
    if unit not in ("rows", "percent"):
        return Notice(key, f"quality rule {name!r} has unit {unit!r}; supported: rows, percent")
    given = q.get("arguments")
    args: dict[str, Any] = given if isinstance(given, dict) else {}
    valid = args.get("validValues", q.get("validValues"))
    pattern = args.get("pattern", q.get("pattern"))
    missing = args.get("missingValues", q.get("missingValues"))
    if metric == "invalidValues" and not isinstance(valid, list) and not isinstance(pattern, str):
        return Notice(key, f"quality rule {name!r} needs `arguments.validValues` (a list) or "
                           "`arguments.pattern` (a regex)")
    severity = q.get("severity")
    return QualityRule(
        metric=metric, operator=operator, bound=bound, unit=unit,
        severity=str(severity) if severity is not None else None,
        valid_values=tuple(valid) if isinstance(valid, list) else None,
        pattern=pattern if isinstance(pattern, str) else None,
        missing_values=tuple(missing) if isinstance(missing, list) else None,
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
