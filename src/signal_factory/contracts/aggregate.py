"""ODCS aggregate quality rules measured over a window of records: spec, per-record observation, verdict.

A quality rule whose threshold tolerates some bad records (`nullValues mustBeLessThan: 5, unit: percent`),
`duplicateValues` / `unique: true`, and `rowCount` are statements about many records. The stream checks
them per window of the dataset (signals/quality_engine.py), with the meaning datacontract-cli gives them:

* `rowCount`: records in the window (payload decoded, so the contract ran on it).
* `nullValues`: records whose field is null or absent. `missingValues`: the same, or a value listed in
  `arguments.missingValues`. `invalidValues`: records whose field is present and not null, and not one of
  `arguments.validValues` (or does not match `arguments.pattern`, searched anywhere in the value's text).
  These counts are what `datacontract test` 1.2.8 reports for the same rows (checked by hand on the table
  of tests/contracts/test_aggregate.py; a differential test can call `evaluate_window`). One difference:
  `duplicateValues` with `unit: percent` is measured here (duplicated values / rows x 100); the reference
  refuses to test it.
* `duplicateValues` (and `unique: true`, which is `duplicateValues mustBe: 0`): how many distinct values
  occur more than once in the window; nulls are never duplicates of each other. A schema-level rule names
  its fields with `arguments.properties` (their values together are the key).
* `unit: percent`: the count as a percentage of the window's records (0 for an empty window), rounded to
  6 decimals as datacontract-cli does; `rows` (the default): the count itself.

Values are never kept: a duplicate is found by a keyed 64-bit BLAKE2b digest of the value (the
installation's redaction key, privacy/guard.py), so a window's memory holds digests, at most
`MAX_DIGESTS` per rule; past that, new values are not tracked and the verdict says `capped` (the count
is then a lower bound).

`evaluate_window(rules, payloads)` is the whole thing over a list of payloads: one `RuleVerdict` each.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import msgspec

from signal_factory.contracts.quality import threshold_ok
from signal_factory.privacy.guard import redaction_key

FAIL = "FAIL"
WARN = "WARN"
#: Distinct value digests a window keeps per duplicate rule (about 8 MB at the cap); more are not tracked.
MAX_DIGESTS = 100_000
COUNTED = ("nullValues", "missingValues", "invalidValues")
ABSENT = object()


@dataclass(frozen=True, slots=True)
class AggregateRule:
    """One aggregate rule, compiled: where it is written (`key`), what it measures and its threshold."""

    key: str  # where in the contract file, e.g. `schema[0].properties[2].quality[1]` or `...unique`
    metric: str  # rowCount | nullValues | missingValues | invalidValues | duplicateValues
    operator: str | None
    bound: Any
    unit: str  # rows | percent
    severity: str  # FAIL | WARN
    field: str | None = None  # dotted name for a property rule; None for a schema-level rule
    paths: tuple[tuple[str, ...], ...] = ()  # the field(s) read (several: a schema-level duplicate key)
    valid_values: frozenset[Any] | None = None
    pattern: re.Pattern[str] | None = None
    missing_values: tuple[Any, ...] = ()  # non-null values that count as missing

    @property
    def subject(self) -> str:
        """The field named in signatures: the property, the key's fields joined by `+`, or `$` (the window)."""
        if self.field is not None:
            return self.field
        return "+".join(".".join(p) for p in self.paths) or "$"

    @property
    def signature(self) -> str:
        """Stable failure signature, `KIND:field` as every reason code: `QUALITY_NULL_VALUES:customer_id`."""
        kind = re.sub(r"(?<!^)([A-Z])", r"_\1", self.metric).upper()
        return f"QUALITY_{kind}:{self.subject}"

    def threshold(self) -> str:
        if self.operator is None:
            return "mustBe: 0"
        bound = list(self.bound) if isinstance(self.bound, list | tuple) else self.bound
        return f"{self.operator}: {bound}"


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    """What one rule measured over one window and whether that satisfies its threshold."""

    rule: AggregateRule
    measured: float  # the value compared with the threshold (a count, rows, or a percentage)
    rows: int
    count: int  # bad records, duplicated values, or rows for rowCount
    ok: bool
    judged: bool = True  # False: not judged (rowCount of a window the input ended inside)
    capped: bool = False  # duplicate tracking hit MAX_DIGESTS: `count` is a lower bound
    producer: str | None = None  # the producer (G2) of most of the bad records / repeated values
    producer_version: str | None = None
    first_ms: int | None = None  # event minute of the first bad record / repeated value

    def describe(self) -> dict[str, Any]:
        """The rule and the measurement as a signal's details show them (no value, only counts)."""
        r = self.rule
        out: dict[str, Any] = {
            "rule": r.key, "signature": r.signature, "field": r.subject, "metric": r.metric,
            "operator": r.operator or "mustBe", "bound": list(r.bound) if isinstance(r.bound, list | tuple)
            else (r.bound if r.operator else 0), "unit": r.unit, "severity": r.severity,
            "measured": self.measured, "count": self.count, "rows": self.rows,
            "breached": self.judged and not self.ok}
        if not self.judged:
            out["not_judged"] = "partial window: the input ended before the window did"
        if self.capped:
            out["capped"] = f"more than {MAX_DIGESTS} distinct values: the duplicate count is a lower bound"
        return out


class QualityTally(msgspec.Struct):
    """What a batch saw of one dataset's aggregate rules in one event-time minute (the enforcer makes it).

    `bad` counts bad records per rule key (counted metrics); `digests` lists the value digests per rule key
    (duplicate metrics), one per record whose key fields are all present."""

    dataset_urn: str
    minute_ms: int
    rows: int = 0
    bad: dict[str, int] = msgspec.field(default_factory=dict)
    digests: dict[str, list[int]] = msgspec.field(default_factory=dict)
    producer: str | None = None  # who sent these records (G2), so a breach names its likely producer
    producer_version: str | None = None
    # From a Kafka partition: the offsets counted (`ranges`, inclusive runs, one offset per row) and which of
    # them are behind each bad count and each digest, so a re-sent tally can be trimmed to the offsets not
    # counted yet (transports/kafka/quality_tallies.py). Empty when the records have no offsets.
    topic: str | None = None
    partition: int | None = None
    ranges: list[tuple[int, int]] = msgspec.field(default_factory=list)
    bad_at: dict[str, list[int]] = msgspec.field(default_factory=dict)
    digest_at: dict[str, list[int]] = msgspec.field(default_factory=dict)  # parallel to `digests`


class QualityAcc(msgspec.Struct):
    """One window's accumulator: rows, bad records per rule, and the digests seen / seen twice per rule."""

    rows: int = 0
    bad: dict[str, int] = msgspec.field(default_factory=dict)
    seen: dict[str, set[int]] = msgspec.field(default_factory=dict)
    repeated: dict[str, set[int]] = msgspec.field(default_factory=dict)
    untracked: dict[str, int] = msgspec.field(default_factory=dict)
    fired: list[str] = msgspec.field(default_factory=list)  # rules already reported early (provisional)
    by_producer: dict[str, dict[str, int]] = msgspec.field(default_factory=dict)  # rule -> "producer|version" -> n
    first_bad: dict[str, int] = msgspec.field(default_factory=dict)  # rule -> earliest minute with a bad record


def initialize() -> QualityAcc:
    return QualityAcc()


def add(acc: QualityAcc, tally: QualityTally) -> QualityAcc:
    """Fold a minute's tally into a window."""
    acc.rows += tally.rows
    who = f"{tally.producer or ''}|{tally.producer_version or ''}"
    for key, n in tally.bad.items():
        acc.bad[key] = acc.bad.get(key, 0) + n
        if n:
            _blame(acc, key, who, n, tally.minute_ms)
    for key, digests in tally.digests.items():
        seen = acc.seen.setdefault(key, set())
        repeated = acc.repeated.setdefault(key, set())
        made = 0
        for d in digests:
            if d in seen:
                if d not in repeated:
                    repeated.add(d)
                    made += 1
            elif len(seen) < MAX_DIGESTS:
                seen.add(d)
            else:
                acc.untracked[key] = acc.untracked.get(key, 0) + 1
        if made:
            _blame(acc, key, who, made, tally.minute_ms)
    return acc


def _blame(acc: QualityAcc, key: str, who: str, n: int, minute_ms: int) -> None:
    per = acc.by_producer.setdefault(key, {})
    per[who] = per.get(who, 0) + n
    if minute_ms < acc.first_bad.get(key, minute_ms + 1):
        acc.first_bad[key] = minute_ms


def _top_producer(acc: QualityAcc, key: str) -> tuple[str | None, str | None]:
    per = acc.by_producer.get(key)
    if not per:
        return None, None
    who = min(per, key=lambda w: (-per[w], w))  # most bad records; ties by name, so replays agree
    producer, _, version = who.partition("|")
    return producer or None, version or None


def result(acc: QualityAcc, rules: Sequence[AggregateRule], complete: bool = True) -> list[RuleVerdict]:
    """Each rule's verdict over the window (`complete` False: the input ended inside it)."""
    out: list[RuleVerdict] = []
    for rule in rules:
        capped = False
        if rule.metric == "rowCount":
            count = acc.rows
        elif rule.metric == "duplicateValues":
            count = len(acc.repeated.get(rule.key, ()))
            capped = rule.key in acc.untracked
        else:
            count = acc.bad.get(rule.key, 0)
        measured = measured_value(rule, count, acc.rows)
        judged = complete or rule.metric != "rowCount"
        ok = threshold_ok(rule.operator, rule.bound, measured) if judged else True
        producer, version = _top_producer(acc, rule.key)
        out.append(RuleVerdict(rule, measured, acc.rows, count, ok, judged, capped, producer, version,
                               acc.first_bad.get(rule.key)))
    return out


def settled_breach(verdict: RuleVerdict) -> bool:
    """Whether a breach can no longer be undone by more records of the window: a count (in rows) already
    above an upper bound. A count only grows; a percentage, a floor or a `mustNotBe` can still change."""
    rule = verdict.rule
    if verdict.ok or (rule.unit == "percent" and rule.metric != "rowCount"):
        return False
    value, op, bound = verdict.measured, rule.operator, rule.bound
    if op is None or op in ("mustBeLessThan", "mustBeLessOrEqualTo"):
        return True
    if op == "mustBe":
        return bool(value > bound)
    if op == "mustBeBetween":
        return bool(value > bound[1])
    return False


def measured_value(rule: AggregateRule, count: int, rows: int) -> float:
    if rule.unit != "percent" or rule.metric == "rowCount":
        return float(count)
    return round(count / rows * 100, 6) if rows else 0.0


# -- per record ------------------------------------------------------------------------------------------

def value_at(payload: Any, path: tuple[str, ...]) -> Any:
    """The value at `path` in a decoded payload, or `ABSENT` when a step is missing or not an object."""
    cur = payload
    for part in path:
        if not isinstance(cur, dict):
            return ABSENT
        cur = cur.get(part, ABSENT)
        if cur is ABSENT:
            return ABSENT
    return cur


def _listed(values: tuple[Any, ...], value: Any) -> bool:
    # `True == 1` in Python: a listed 1 must not make a boolean true "missing", nor 0 a false.
    return any(v == value and isinstance(v, bool) == isinstance(value, bool) for v in values)


def is_bad(rule: AggregateRule, payload: Any) -> bool:
    """Whether this record counts against a counted metric (nullValues, missingValues, invalidValues)."""
    value = value_at(payload, rule.paths[0])
    missing = value is ABSENT or value is None
    if rule.metric == "nullValues":
        return missing
    if rule.metric == "missingValues":
        return missing or bool(rule.missing_values and _listed(rule.missing_values, value))
    if missing:
        return False  # invalidValues: a null is not invalid (`missingValues` is no argument of it in ODCS)
    if rule.valid_values is not None:
        try:
            known = value in rule.valid_values and (not isinstance(value, bool) or any(
                isinstance(v, bool) for v in rule.valid_values))
        except TypeError:  # unhashable (object/array): never a listed value
            known = False
        if not known:
            return True
    if rule.pattern is not None:
        text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
        return rule.pattern.search(text) is None
    return False


def digest(rule: AggregateRule, payload: Any) -> int | None:
    """Keyed 64-bit digest of the record's key value(s) for a duplicate metric; None if any is null/absent.

    Hand-written over hashlib rather than hmac: BLAKE2b has its own keyed mode, one C call per value."""
    values = []
    for path in rule.paths:
        value = value_at(payload, path)
        if value is ABSENT or value is None:
            return None
        values.append(value)
    try:
        data = msgspec.json.encode(values[0] if len(values) == 1 else values, order="sorted")
    except (TypeError, msgspec.EncodeError, RecursionError):
        data = repr(values).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, key=_digest_key(redaction_key())).digest(), "big")


@lru_cache(maxsize=4)
def _digest_key(key: bytes) -> bytes:
    """BLAKE2b takes a key of at most 64 bytes: the redaction key's SHA-256."""
    return hashlib.sha256(key).digest()


def observe(rules: Sequence[AggregateRule], payload: Any, tally: QualityTally, offset: int | None = None) -> None:
    """Count one record (a decoded payload the contract ran on) into a minute's tally; `offset`: its Kafka
    offset, for a tally of one source partition (`tally.topic`/`partition`), recorded with what it counted."""
    tally.rows += 1
    if offset is not None:
        runs = tally.ranges
        if runs and runs[-1][1] == offset - 1:
            runs[-1] = (runs[-1][0], offset)
        else:
            runs.append((offset, offset))
    for rule in rules:
        metric = rule.metric
        if metric == "rowCount":
            continue
        if metric == "duplicateValues":
            d = digest(rule, payload)
            if d is not None:
                tally.digests.setdefault(rule.key, []).append(d)
                if offset is not None:
                    tally.digest_at.setdefault(rule.key, []).append(offset)
        elif is_bad(rule, payload):
            tally.bad[rule.key] = tally.bad.get(rule.key, 0) + 1
            if offset is not None:
                tally.bad_at.setdefault(rule.key, []).append(offset)


def evaluate_window(rules: Sequence[AggregateRule], payloads: Iterable[Any]) -> list[RuleVerdict]:
    """Every rule measured over one window of payloads, and its verdict (the differential's entry point)."""
    tally = QualityTally("", 0)
    for payload in payloads:
        observe(rules, payload, tally)
    return result(add(initialize(), tally), rules)
