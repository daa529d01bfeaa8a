"""The Spark integration against a real local SparkSession: same verdict as the stream enforcer,
Scenario 2 counts and evidence, the OpenLineage facet, no Python UDF, HTTP delivery."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from signal_factory.contracts.compile import compile_contract
from signal_factory.contracts.rules import FAIL, WARN, CompiledContract, FieldRule, check_payload
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.ingest.openlineage.facets import observability
from signal_factory.ingest.openlineage.model import event_from_obj
from signal_factory.model.evidence import decode_evidence

if importlib.util.find_spec("pyspark") is None:  # CI installs it: a missing pyspark is a failure, not a skip
    pytest.fail("pyspark is not installed; the Spark tests need it: pip install -e '.[dev,spark]'",
                pytrace=False)

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from signal_factory.integrations.spark import (
    emit_evidence_http,
    emit_evidence_kafka,
    observability_facet,
    validate_dataframe,
    with_verdict,
)
from signal_factory.integrations.spark.validate import CODES_COL, RESULT_COL

pytestmark = pytest.mark.slow

CONTRACT_ID = "dc:orders.created:3"
RUN_ID = "spark-orders-silver-20240115-020005"
DAG_RUN_ID = "scheduled__2024-01-15T02:00:00+00:00"
INPUT = "s3://data-lake-prod/bronze/orders/2024-01-14/"
RUN_AT = datetime(2024, 1, 15, 2, 5, 30, tzinfo=UTC)



@pytest.fixture(scope="module")
def orders(control_plane: ControlPlane) -> CompiledContract:
    return control_plane.contracts[CONTRACT_ID]


@pytest.fixture(scope="module")
def extended(orders: CompiledContract) -> CompiledContract:
    """The orders contract plus a nested object, a WARN length rule and an exclusive integer bound."""
    shipping = FieldRule(name="shipping_address", path=("shipping_address",), logical_type="object", children=(
        FieldRule(name="shipping_address.zip", path=("zip",), required=True, logical_type="string",
                  pattern=re.compile(r"^[0-9]{5}$")),
        FieldRule(name="shipping_address.country", path=("country",), logical_type="string",
                  enum=frozenset({"US", "CA"}), enum_values=("US", "CA")),
    ))
    coupon = FieldRule(name="coupon_code", path=("coupon_code",), logical_type="string", min_length=4,
                       max_length=8, options_severity=WARN)
    priority = FieldRule(name="priority", path=("priority",), logical_type="integer", exclusive_maximum=10.0)
    raw = yaml.safe_load(_QUALITY)
    quality = compile_contract(OpenDataContractStandard.model_validate(raw), raw=raw).rules
    return dataclasses.replace(orders, rules=(*orders.rules, shipping, coupon, priority, *quality))


# Per-record ODCS quality rules of both generations, compiled as a loaded contract would be.
_QUALITY = """
apiVersion: v3.0.2
kind: DataContract
id: dc:spark-quality:1
version: 1.0.0
status: active
schema:
  - name: extra
    properties:
      - {name: region, logicalType: string, quality: [{rule: validValues, validValues: [EU, US], severity: warning}]}
      - {name: ref, logicalType: string,
         quality: [{metric: invalidValues, arguments: {pattern: '^R-[0-9]+$'}, mustBe: 0, severity: warning}]}
      - {name: channel, logicalType: string,
         quality: [{metric: missingValues, arguments: {missingValues: [null, '', N/A]}, mustBeLessThan: 1}]}
      - {name: ship_date, logicalType: date}
      - {name: weight, logicalType: number, logicalTypeOptions: {minimum: 0, exclusiveMinimum: true}}
      - {name: owner, logicalType: string, quality: [{rule: nullCheck}]}
      - {name: seen_at, logicalType: string, logicalTypeOptions: {format: date-time}}
      - {name: flag, logicalType: boolean}
      - {name: memo, logicalType: string, quality: [{metric: nullValues, mustBe: 0, severity: warning}]}
"""


_ITEM = StructType([StructField("sku", StringType()), StructField("qty", LongType()),
                    StructField("price", DoubleType())])
SCHEMA = StructType([
    StructField("order_id", StringType()), StructField("customer_id", StringType()),
    StructField("total_amount", DoubleType()), StructField("currency", StringType()),
    StructField("created_at", StringType()), StructField("discount_type", StringType()),
    StructField("customer_email", StringType()), StructField("notes", StringType()),
    StructField("items", ArrayType(_ITEM)),
    StructField("shipping_address", StructType([StructField("zip", StringType()),
                                                StructField("country", StringType())])),
    StructField("coupon_code", StringType()), StructField("priority", LongType()),
    StructField("region", StringType()), StructField("ref", StringType()), StructField("channel", StringType()),
    StructField("ship_date", StringType()), StructField("weight", DoubleType()),
    StructField("owner", StringType()), StructField("seen_at", StringType()), StructField("flag", BooleanType()),
    StructField("memo", StringType()),
])

_GOOD: dict[str, Any] = {
    "order_id": "ORD-2024-0114-00001", "customer_id": "CUST-1", "total_amount": 99.5, "currency": "USD",
    "created_at": "2024-01-14T14:30:00Z", "discount_type": "NONE", "customer_email": "a@example.com",
    "notes": "leave at door", "items": [{"sku": "SKU-1", "qty": 2, "price": 10.0}],
    "shipping_address": {"zip": "94107", "country": "US"}, "coupon_code": "SAVE10", "priority": 3,
    "region": "EU", "ref": "R-1", "channel": "web", "ship_date": "2024-01-15", "weight": 1.5,
    "owner": "team", "seen_at": "2024-01-15T09:58:02.5+01:00", "flag": False, "memo": "m",
}

# (label, changes to the good record). Every rule kind appears; None means null / missing.
CASES: list[tuple[str, dict[str, Any]]] = [
    ("clean", {}),
    ("clean, optional fields null", {"created_at": None, "discount_type": None, "customer_email": None,
                                     "notes": None, "items": None, "shipping_address": None,
                                     "coupon_code": None, "priority": None}),
    ("missing required", {"customer_id": None}),
    ("all required missing", {"order_id": None, "customer_id": None, "total_amount": None, "currency": None}),
    ("pattern", {"order_id": "ORDER-1"}),
    ("pattern currency", {"currency": "usd"}),
    ("range", {"total_amount": -0.01}),
    ("range boundary ok", {"total_amount": 0.0}),
    ("enum unknown (WARN)", {"discount_type": "FLASH_SALE"}),
    ("enum unknown, long value", {"discount_type": "X" * 70}),
    ("enum unknown, email-looking", {"discount_type": "promo@example.com"}),
    ("format", {"customer_email": "not-an-email"}),
    ("length", {"notes": "n" * 1001}),
    ("timestamp string not ISO", {"created_at": "yesterday"}),
    ("timestamp date only", {"created_at": "2024-01-14"}),
    ("nested struct pattern", {"shipping_address": {"zip": "ABCDE", "country": "US"}}),
    ("nested struct missing", {"shipping_address": {"zip": None, "country": "CA"}}),
    ("nested enum", {"shipping_address": {"zip": "94107", "country": "MX"}}),
    ("array item range", {"items": [{"sku": "SKU-1", "qty": 0, "price": 1.0}]}),
    ("array item missing", {"items": [{"sku": None, "qty": 1, "price": 1.0}, {"sku": "S", "qty": None}]}),
    ("array item price", {"items": [{"sku": "S", "qty": 1, "price": -5.0}, {"sku": "T", "qty": 1}]}),
    ("array empty", {"items": []}),
    ("length WARN short", {"coupon_code": "AB"}),
    ("length WARN long", {"coupon_code": "ABCDEFGHIJ"}),
    ("exclusive max", {"priority": 10}),
    ("exclusive max ok", {"priority": 9}),
    ("v3.0 validValues (WARN)", {"region": "APAC"}),
    ("v3.1 invalidValues pattern (WARN)", {"ref": "X-1"}),
    ("missingValues listed value", {"channel": "N/A"}),
    ("missingValues empty string", {"channel": ""}),
    ("missingValues null", {"channel": None}),
    ("v3.0 date holding a timestamp", {"ship_date": "2024-01-15T09:58:02Z"}),
    ("v3.0 date not a date", {"ship_date": "soon"}),
    ("exclusiveMinimum: true boundary", {"weight": 0.0}),
    ("date that is no calendar date", {"ship_date": "2024-02-30"}),
    ("timestamp that is no calendar date", {"created_at": "2024-02-30T10:00:00Z"}),
    ("v3.0 nullCheck", {"owner": None}),
    ("format date-time without offset", {"seen_at": "2024-01-15T09:58:02"}),
    ("format date-time, a date", {"seen_at": "2024-01-15"}),
    ("boolean", {"flag": True}),
    ("v3.1 nullValues (WARN)", {"memo": None}),
    ("mixed FAIL and WARN", {"discount_type": "BOGO", "total_amount": -1.0, "coupon_code": "X",
                             "items": [{"sku": "S", "qty": -1}]}),
]


def _record(changes: dict[str, Any]) -> dict[str, Any]:
    record = {**_GOOD, **changes}
    items = record["items"]
    if items is not None:  # the Spark row has every struct field; a JSON record may just omit one
        record["items"] = [{"sku": None, "qty": None, "price": None, **item} for item in items]
    return record


def _stream_verdict(contract: CompiledContract, record: dict[str, Any]) -> tuple[str, set[str]]:
    violations = check_payload(contract, record)
    severities = {v.severity for v in violations}
    result = FAIL if FAIL in severities else WARN if severities else "PASS"
    return result, {v.reason_code for v in violations}


def _json_lines(df: DataFrame) -> list[str]:
    return [row[0] for row in df.select(F.to_json(F.struct(*df.columns))).collect()]


def _plan(df: DataFrame) -> str:
    return str(df._jdf.queryExecution().executedPlan().toString())


def test_same_verdict_as_stream_enforcer(spark: SparkSession, extended: CompiledContract) -> None:
    """Per row, Spark's result and reason-code set equal `check_payload`'s (strict_enums off)."""
    records = [_record(changes) for _, changes in CASES]
    df = spark.createDataFrame(
        [(i, *[r[f.name] for f in SCHEMA.fields]) for i, r in enumerate(records)],
        StructType([StructField("row_no", LongType()), *SCHEMA.fields]))
    rows = with_verdict(df, extended).select("row_no", RESULT_COL, CODES_COL).orderBy("row_no").collect()
    assert len(rows) == len(CASES) >= 20
    mismatches = []
    for (label, _), record, row in zip(CASES, records, rows, strict=True):
        expected = _stream_verdict(extended, record)
        got = (row[RESULT_COL], set(row[CODES_COL]))
        if got != expected:
            mismatches.append((label, expected, got))
    assert mismatches == []
    kinds = {code.split(":")[0] for row in rows for code in row[CODES_COL]}
    assert kinds >= {"MISSING_FIELD", "TYPE_MISMATCH", "UNKNOWN_ENUM", "PATTERN_MISMATCH", "INVALID_FORMAT",
                     "LENGTH_OUT_OF_RANGE", "OUT_OF_RANGE"}
    assert {row[RESULT_COL] for row in rows} == {"PASS", "WARN", FAIL}


def test_spark_types_that_cannot_hold_the_logical_type(spark: SparkSession, orders: CompiledContract) -> None:
    """A string column for a number rule is TYPE_MISMATCH; with coerce_strings it is try_cast and range-checked."""
    df = spark.createDataFrame([("ORD-2024-0114-1", "C", "12.5", "USD"), ("ORD-2024-0114-2", "C", "-3", "USD"),
                                ("ORD-2024-0114-3", "C", "abc", "USD")],
                               "order_id string, customer_id string, total_amount string, currency string")
    plain = [r[CODES_COL] for r in with_verdict(df, orders).orderBy("order_id").collect()]
    assert plain == [["TYPE_MISMATCH:total_amount"]] * 3
    coerced = [r[CODES_COL] for r in with_verdict(df, orders, coerce_strings=True).orderBy("order_id").collect()]
    assert coerced == [[], ["OUT_OF_RANGE:total_amount"], ["TYPE_MISMATCH:total_amount"]]


def _scenario2_bronze(spark: SparkSession) -> DataFrame:
    """45,230 bronze orders; every 119th of the first 45,220 (380 rows) has discount_type FLASH_SALE."""
    valid = F.array(*[F.lit(v) for v in ("NONE", "PERCENTAGE", "FIXED_AMOUNT", "LOYALTY", "COUPON")])
    n = F.col("id")
    flash = (n % 119 == 0) & (n < 380 * 119)
    return spark.range(45_230).select(
        F.format_string("ORD-2024-0114-%05d", n).alias("order_id"),
        F.concat(F.lit("CUST-"), n.cast("string")).alias("customer_id"),
        ((n % 500) + F.lit(0.99)).alias("total_amount"),
        F.lit("USD").alias("currency"),
        F.lit("2024-01-14T14:30:00Z").alias("created_at"),
        F.when(flash, F.lit("FLASH_SALE")).otherwise(F.element_at(valid, (n % 5 + 1).cast("int")))
        .alias("discount_type"),
        F.array(F.struct(F.lit("SKU-1").alias("sku"), F.lit(1).cast("bigint").alias("qty"),
                         F.lit(9.99).alias("price"))).alias("items"),
    )


@pytest.fixture(scope="module")
def scenario2(spark: SparkSession, orders: CompiledContract) -> Any:
    return validate_dataframe(
        _scenario2_bronze(spark), orders, dataset_urn="urn:dp:orders:silver", run_id=RUN_ID,
        job_name="orders_silver_transform", strict_enums=True, key_column="order_id", input_dataset=INPUT,
        upstream_dataset="urn:dp:orders:bronze", dag_run_id=DAG_RUN_ID, timestamp=RUN_AT)


def test_scenario2_strict_enums_counts(scenario2: Any) -> None:
    """strict_enums=True: 44,850 pass, 380 FAIL on FLASH_SALE, compliance 0.9916 (seed Step 4-5)."""
    assert scenario2.summary == {
        "records_processed": 45_230, "records_passed": 44_850, "records_warned": 0, "records_failed": 380,
        "compliance_rate": 0.9916,
        "failure_signatures": {"UNKNOWN_ENUM:discount_type:FLASH_SALE": 380}, "warning_signatures": {},
    }
    assert scenario2.valid_df.count() == 44_850
    assert scenario2.valid_df.columns == _scenario2_bronze(scenario2.valid_df.sparkSession).columns


def test_scenario2_without_strict_enums_warns(spark: SparkSession, orders: CompiledContract) -> None:
    """Without strict_enums the contract's WARN holds: nothing fails, 380 rows warn and are kept."""
    out = validate_dataframe(_scenario2_bronze(spark), orders, dataset_urn="urn:dp:orders:silver", run_id=RUN_ID,
                             job_name="orders_silver_transform", key_column="order_id")
    assert (out.summary["records_failed"], out.summary["records_warned"]) == (0, 380)
    assert out.summary["compliance_rate"] == 1.0
    assert out.summary["warning_signatures"] == {"UNKNOWN_ENUM:discount_type:FLASH_SALE": 380}


def test_scenario2_evidence_rows(scenario2: Any) -> None:
    """380 evidence rows with the seed's fields, decodable as Signal Factory evidence, stable unique ids."""
    rows = [json.loads(line) for line in _json_lines(scenario2.evidence_df)]
    assert len(rows) == 380
    first = rows[0]
    assert re.fullmatch(r"evd-[0-9A-HJKMNP-TV-Z]{26}", first["evidence_id"])
    assert first["timestamp"] == "2024-01-15T02:05:30.000Z"
    assert first["dataset_urn"] == "urn:dp:orders:silver"
    assert first["producer"] == {"id": "spark:orders_silver_transform", "confidence": "HIGH", "run_id": RUN_ID}
    assert first["validation"]["result"] == FAIL
    assert first["validation"]["failed_gates"] == ["G4_CONTRACT"]
    assert first["validation"]["reason_codes"] == ["UNKNOWN_ENUM:discount_type:FLASH_SALE"]
    assert first["source"] == {"input_dataset": INPUT, "source_record_id": "ORD-2024-0114-00000"}
    assert first["lineage"] == {"dag_run_id": DAG_RUN_ID, "spark_run_id": RUN_ID,
                                "upstream_dataset": "urn:dp:orders:bronze"}
    evidence = [decode_evidence(json.dumps(r)) for r in rows]
    assert len({e.evidence_id for e in evidence}) == 380
    again = [json.loads(line)["evidence_id"] for line in _json_lines(scenario2.evidence_df)]
    assert again == [r["evidence_id"] for r in rows]


def test_observability_facet_shape(scenario2: Any) -> None:
    """The facet is `observability_evidence` with OpenLineage custom-facet keys, and our ingest reads it back."""
    facet = observability_facet(scenario2.summary)
    assert list(facet) == ["observability_evidence"]
    body = facet["observability_evidence"]
    assert body["_producer"].startswith("https://")
    assert body["_schemaURL"] == "urn:schema:ol-obs-facet:1"
    assert body["summary"]["failure_signatures"] == [
        {"reason_code": "UNKNOWN_ENUM:discount_type:FLASH_SALE", "count": 380}]
    assert body["summary"]["compliance_rate"] == 0.9916
    assert (body["evidence_topic"], body["evidence_count"]) == ("signal_factory.evidence", 380)
    event = event_from_obj({
        "eventType": "COMPLETE", "eventTime": "2024-01-15T02:08:45.000Z",
        "run": {"runId": RUN_ID, "facets": facet},
        "job": {"namespace": "spark", "name": "orders_silver_transform"},
        "producer": "https://github.com/signal-factory/signal-factory", "inputs": [], "outputs": [],
    })
    parsed = observability(event)
    assert parsed is not None
    assert (parsed.records_processed, parsed.records_passed, parsed.records_failed) == (45_230, 44_850, 380)
    assert parsed.failure_signatures == {"UNKNOWN_ENUM:discount_type:FLASH_SALE": 380}


def test_no_python_udf_in_plans(scenario2: Any, spark: SparkSession, extended: CompiledContract) -> None:
    """Verdict, kept rows and evidence run as JVM expressions: no PythonUDF / BatchEvalPython in any plan."""
    df = spark.createDataFrame([tuple(_record({})[f.name] for f in SCHEMA.fields)], SCHEMA)
    for plan in (_plan(with_verdict(df, extended)), _plan(scenario2.valid_df), _plan(scenario2.evidence_df)):
        assert "PythonUDF" not in plan
        assert "BatchEvalPython" not in plan
        assert "ArrowEvalPython" not in plan


def test_kafka_writer_is_built(scenario2: Any) -> None:
    """The Kafka writer is configured without being run (the connector is not on this classpath)."""
    writer = emit_evidence_kafka(scenario2.evidence_df, "localhost:9092", **{"security.protocol": "PLAINTEXT"})
    assert writer is not None


class _Receiver(BaseHTTPRequestHandler):
    lines: list[str] = []
    auth: set[str] = set()
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        with self.lock:
            self.auth.add(self.headers.get("Authorization", ""))
            self.lines.extend(line for line in body.splitlines() if line)
        self.send_response(202)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_emit_evidence_http_delivers_every_line(scenario2: Any) -> None:
    """All 380 evidence lines reach a local HTTP receiver, with the bearer token, in batches."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/evidence"
        sent = emit_evidence_http(scenario2.evidence_df, url, "s3cret", batch_lines=100)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert sent == 380
    assert len(_Receiver.lines) == 380
    assert _Receiver.auth == {"Bearer s3cret"}
    assert {decode_evidence(line).validation.result for line in _Receiver.lines} == {FAIL}


def test_missing_pyspark_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pyspark the integration raises an ImportError that says `pip install signal-factory[spark]`."""
    from signal_factory.integrations.spark import requirement

    monkeypatch.setattr(requirement.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=re.escape("signal-factory[spark]")):
        requirement.require_pyspark()
