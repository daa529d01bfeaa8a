"""Aggregate quality rules on a Spark DataFrame (a batch run is one window) give the stream's verdicts:
`aggregate_verdicts` (Spark aggregations) against `evaluate_window` (what the stream engines run) on the same
seeded rows, rule by rule, measured value and verdict."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from signal_factory.contracts.aggregate import evaluate_window
from signal_factory.contracts.compile import compile_contract
from tests.contracts.test_conformance_aggregate import CONTRACT, window

pytestmark = pytest.mark.slow
FIELDS = ("id", "email", "tier", "code", "sku", "ref")


def test_spark_aggregate_verdicts_equal_the_streams(spark: Any) -> None:
    """Eight seeded windows straddling every threshold: same count, measured value and verdict per rule."""
    from pyspark.sql.types import StringType, StructField, StructType

    from signal_factory.integrations.spark.aggregates import aggregate_verdicts

    raw = yaml.safe_load(CONTRACT)
    contract = compile_contract(OpenDataContractStandard.model_validate(raw), raw=raw)
    schema = StructType([StructField(f, StringType()) for f in FIELDS])
    breaches = 0
    for seed in range(8):
        rows = window(random.Random(100 + seed))
        stream = {v.rule.key: v for v in evaluate_window(contract.aggregates, rows)}
        df = spark.createDataFrame([tuple(r.get(f) for f in FIELDS) for r in rows], schema)
        table = {v.rule.key: v for v in aggregate_verdicts(df, contract)}
        assert table.keys() == stream.keys()
        for key, v in stream.items():
            got = table[key]
            assert (got.count, got.measured, got.ok) == (v.count, v.measured, v.ok), (seed, key)
            breaches += not v.ok
    assert 0 < breaches < 8 * len(contract.aggregates)
