"""`validate_dataframe`: contract verdict per row, rows to keep, evidence to emit, run summary.

Evidence ids. ``evd-`` + a 26-character ULID: the 10-character time part is the run's timestamp (one
constant per run), the 16-character rest is the first 64 bits of ``sha2(run_id | key, 256)`` in upper-case
hex (a subset of the ULID alphabet). Re-running the same run over the same rows yields the same ids, so
evidence stores upsert instead of duplicating; ids sort by run. The key is `key_column` (e.g.
``order_id``), else a hash of the whole row as JSON.

Cost. `summary` is one aggregation job (``groupBy(result, reason_codes).count()``); `valid_df` and
`evidence_df` are lazy and re-evaluate the verdict when written (cheap: column expressions only).
Persist the input first if reading it twice is expensive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F  # noqa: N812 - the conventional alias

from signal_factory.contracts.rules import FAIL, WARN, CompiledContract
from signal_factory.integrations.spark.expressions import RuleOptions, marked_codes, verdict_columns
from signal_factory.model.evidence import G4_CONTRACT
from signal_factory.model.ids import keyed_ulid

RESULT_COL = "_sf_result"
CODES_COL = "_sf_reason_codes"
_ROUND = 4


@dataclass(frozen=True)
class SparkValidation:
    """The three outputs of one validation: rows to write, evidence rows, facet summary."""

    valid_df: DataFrame
    evidence_df: DataFrame
    summary: dict[str, Any]


def with_verdict(df: DataFrame, contract: CompiledContract, *, strict_enums: bool = False,
                 coerce_strings: bool = False, result_col: str = RESULT_COL,
                 codes_col: str = CODES_COL) -> DataFrame:
    """`df` plus the verdict: `codes_col` (array of reason codes) and `result_col` (PASS/WARN/FAIL)."""
    marked = marked_codes(contract, df.schema, RuleOptions(strict_enums=strict_enums,
                                                           coerce_strings=coerce_strings))
    codes, result = verdict_columns(F.col("_sf_marked"))
    return (df.withColumn("_sf_marked", marked)
            .withColumn(codes_col, codes)
            .withColumn(result_col, result)
            .drop("_sf_marked"))


def validate_dataframe(df: DataFrame, contract: CompiledContract, *, dataset_urn: str, run_id: str,
                       job_name: str, strict_enums: bool = False, coerce_strings: bool = False,
                       key_column: str | None = None, input_dataset: str | None = None,
                       upstream_dataset: str | None = None, dag_run_id: str | None = None,
                       timestamp: datetime | None = None) -> SparkValidation:
    """Validate `df` against `contract` with native Spark expressions (no Python UDF).

    `strict_enums=True` makes unknown enum values FAIL even where the contract says WARN (Scenario 2:
    the batch job is stricter than the stream). Runs one Spark job (the summary aggregation).
    """
    if key_column is not None and key_column not in df.columns:
        raise ValueError(f"key_column {key_column!r} is not a column of the DataFrame; "
                         f"available: {', '.join(df.columns)}")
    for reserved in (RESULT_COL, CODES_COL):
        if reserved in df.columns:
            raise ValueError(f"the DataFrame already has a column {reserved!r}; rename or drop it first")
    at = timestamp or datetime.now(UTC)
    annotated = with_verdict(df, contract, strict_enums=strict_enums, coerce_strings=coerce_strings)
    valid_df = annotated.filter(F.col(RESULT_COL) != FAIL).select(*[F.col(f"`{c}`") for c in df.columns])
    flagged = annotated.filter(F.col(RESULT_COL) != "PASS")
    evidence_df = flagged.select(*_evidence_columns(
        at=at, dataset_urn=dataset_urn, run_id=run_id, job_name=job_name, key_column=key_column,
        input_dataset=input_dataset, upstream_dataset=upstream_dataset, dag_run_id=dag_run_id,
        all_columns=df.columns))
    counts = annotated.groupBy(RESULT_COL, CODES_COL).count().collect()
    summary = summarize([(row[RESULT_COL], list(row[CODES_COL]), int(row["count"])) for row in counts])
    return SparkValidation(valid_df=valid_df, evidence_df=evidence_df, summary=summary)


def summarize(groups: list[tuple[str, list[str], int]]) -> dict[str, Any]:
    """The facet summary from (result, reason codes, row count) groups.

    `records_passed` counts every row kept (PASS and WARN: WARN rows are written too) and
    `records_warned` the WARN part of it, so `compliance_rate` = passed / processed as Signal Factory's
    batch DQ signal computes it from the facet. `failure_signatures` counts FAIL rows per code,
    `warning_signatures` WARN rows per code.
    """
    processed = passed = warned = failed = 0
    failures: dict[str, int] = {}
    warnings: dict[str, int] = {}
    for result, codes, n in groups:
        processed += n
        if result == FAIL:
            failed += n
            target = failures
        elif result == WARN:
            warned += n
            passed += n
            target = warnings
        else:
            passed += n
            continue
        for code in codes:
            target[code] = target.get(code, 0) + n
    return {
        "records_processed": processed,
        "records_passed": passed,
        "records_warned": warned,
        "records_failed": failed,
        "compliance_rate": round(passed / processed, _ROUND) if processed else 1.0,
        "failure_signatures": dict(sorted(failures.items(), key=lambda kv: (-kv[1], kv[0]))),
        "warning_signatures": dict(sorted(warnings.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def _evidence_columns(*, at: datetime, dataset_urn: str, run_id: str, job_name: str, key_column: str | None,
                      input_dataset: str | None, upstream_dataset: str | None, dag_run_id: str | None,
                      all_columns: list[str]) -> list[Column]:
    at_ms = int(at.timestamp() * 1000)
    time_part = keyed_ulid(at_ms, b"")[:10]
    if key_column is not None:
        key = F.col(f"`{key_column}`").cast("string")
        record_id: Column = key
    else:
        key = F.sha2(F.to_json(F.struct(*[F.col(f"`{c}`") for c in all_columns])), 256)
        record_id = F.lit(None).cast("string")
    digest = F.sha2(F.concat_ws("|", F.lit(run_id), F.coalesce(key, F.lit(""))), 256)
    evidence_id = F.concat(F.lit(f"evd-{time_part}"), F.upper(F.substring(digest, 1, 16)))
    result = F.col(RESULT_COL)
    codes = F.col(CODES_COL)
    failed_gates = F.when(result == FAIL, F.array(F.lit(G4_CONTRACT))).otherwise(
        F.array().cast("array<string>"))
    gate = F.struct(F.lit(G4_CONTRACT).alias("gate"), result.alias("result"),
                    F.element_at(codes, 1).alias("reason_code"))
    text = F.lit  # literal strings, typed as string even when None
    return [
        evidence_id.alias("evidence_id"),
        F.lit(at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")).alias("timestamp"),
        F.lit(dataset_urn).alias("dataset_urn"),
        F.struct(F.lit(f"spark:{job_name}").alias("id"), F.lit("HIGH").alias("confidence"),
                 F.lit(run_id).alias("run_id")).alias("producer"),
        F.struct(result.alias("result"), F.array(gate).alias("gates"), failed_gates.alias("failed_gates"),
                 codes.alias("reason_codes")).alias("validation"),
        F.struct(text(input_dataset).cast("string").alias("input_dataset"),
                 record_id.alias("source_record_id")).alias("source"),
        F.struct(text(dag_run_id).cast("string").alias("dag_run_id"), F.lit(run_id).alias("spark_run_id"),
                 text(upstream_dataset).cast("string").alias("upstream_dataset")).alias("lineage"),
    ]
