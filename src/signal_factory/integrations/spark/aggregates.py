"""ODCS aggregate quality rules over a whole DataFrame (a batch run is one window): `aggregate_verdicts`.

The same measures as the stream's per-window evaluation (`contracts/aggregate.py`), as one Spark job of
native aggregations (no Python UDF): rows; per counted metric the rows that are null or absent
(nullValues), null, absent or a listed missing value (missingValues), or non-null and outside the valid
values or off the pattern (invalidValues); per duplicate metric the distinct key values seen more than once
(a `groupBy` each). Thresholds and units are judged by the same `threshold_ok`, so a rule gives the same
verdict on a table as on the same rows streamed (`tests/integrations/test_spark.py`).
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F  # noqa: N812 - the conventional alias

from signal_factory.contracts.aggregate import AggregateRule, RuleVerdict, measured_value
from signal_factory.contracts.quality import threshold_ok
from signal_factory.contracts.rules import CompiledContract


def aggregate_verdicts(df: DataFrame, contract: CompiledContract) -> list[RuleVerdict]:
    """Every aggregate rule of `contract` measured over `df`, and its verdict (rules of fields `df` lacks
    count those fields as absent, as the stream does)."""
    rules = contract.aggregates
    if not rules:
        return []
    counted = [r for r in rules if r.metric in ("nullValues", "missingValues", "invalidValues")]
    sums = [F.sum(F.when(_bad(r, df), 1).otherwise(0)).alias(f"bad{i}") for i, r in enumerate(counted)]
    row = df.agg(F.count(F.lit(1)).alias("rows"), *sums).collect()[0]
    rows = int(row["rows"])
    bad = {r.key: int(row[f"bad{i}"] or 0) for i, r in enumerate(counted)}
    out = []
    for rule in rules:
        if rule.metric == "rowCount":
            count = rows
        elif rule.metric == "duplicateValues":
            count = _duplicated(df, rule)
        else:
            count = bad[rule.key]
        measured = measured_value(rule, count, rows)
        out.append(RuleVerdict(rule, measured, rows, count, threshold_ok(rule.operator, rule.bound, measured)))
    return out


def _column(df: DataFrame, path: tuple[str, ...]) -> Column | None:
    """The column at `path`, or None when the DataFrame has no such field (absent in every row)."""
    fields = df.schema
    for part in path:
        found = next((f for f in getattr(fields, "fields", []) if f.name == part), None)
        if found is None:
            return None
        fields = found.dataType
    return F.col(".".join(f"`{p}`" for p in path))


def _bad(rule: AggregateRule, df: DataFrame) -> Column:
    col = _column(df, rule.paths[0])
    if col is None:  # absent everywhere: null/missing in every row, never invalid
        return F.lit(rule.metric != "invalidValues")
    missing = col.isNull()
    if rule.metric == "nullValues":
        return missing
    if rule.metric == "missingValues":
        listed = [v for v in rule.missing_values if not isinstance(v, bool)]
        return missing | col.isin(listed) if listed else missing
    checks: list[Column] = []
    if rule.valid_values is not None:
        checks.append(~col.isin([v for v in rule.valid_values if not isinstance(v, bool)]))
    if rule.pattern is not None:
        checks.append(~col.cast("string").rlike(rule.pattern.pattern))
    invalid = reduce(lambda a, b: a | b, checks) if checks else F.lit(False)
    return ~missing & invalid


def _duplicated(df: DataFrame, rule: AggregateRule) -> int:
    cols = [_column(df, p) for p in rule.paths]
    if any(c is None for c in cols):
        return 0  # a key field absent everywhere: no record has a key to repeat
    keys = [c.alias(f"k{i}") for i, c in enumerate(cols) if c is not None]
    present = reduce(lambda a, b: a & b, [F.col(f"k{i}").isNotNull() for i in range(len(keys))])
    return int(df.select(*keys).where(present).groupBy(*[f"k{i}" for i in range(len(keys))]).count()
               .where(F.col("count") > 1).count())
