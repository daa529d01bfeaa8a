"""Scenario 2's nightly job, with Signal Factory's Spark helper: bronze orders -> silver + evidence.

    pip install -e '.[spark]'
    python examples/spark/orders_silver_transform.py --out /tmp/orders_silver          # demo bronze data
    python examples/spark/orders_silver_transform.py --bronze path/to/bronze.parquet --out /tmp/silver \
        --evidence-url http://127.0.0.1:8000/api/v1/evidence   # token from SIGNAL_FACTORY_API_TOKEN

Rows that pass (or only warn) go to ``<out>/silver`` (parquet); FAIL/WARN evidence goes to the evidence
API when ``--evidence-url`` is given, else to ``<out>/evidence`` as JSON lines. The OpenLineage
``observability_evidence`` run facet is printed; with the OpenLineage Spark listener configured, attach it
to the run's COMPLETE event. In production use ``emit_evidence_kafka(...).save()`` with Spark's Kafka
connector on the classpath instead of the HTTP call.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the conventional alias

from signal_factory.controlplane.loader import load_control_plane
from signal_factory.integrations.spark import emit_evidence_http, observability_facet, validate_dataframe

EXAMPLE = Path(__file__).resolve().parents[1] / "orders"
CONTRACT_ID = "dc:orders.created:3"


def demo_bronze(spark: SparkSession, rows: int = 45_230, flash_sale: int = 380) -> DataFrame:
    """Scenario 2's bronze partition: `rows` orders, `flash_sale` of them with the new FLASH_SALE enum."""
    valid = F.array(*[F.lit(v) for v in ("NONE", "PERCENTAGE", "FIXED_AMOUNT", "LOYALTY", "COUPON")])
    n = F.col("id")
    step = max(rows // max(flash_sale, 1), 1)
    flash = (n % step == 0) & (n < flash_sale * step)
    return spark.range(rows).select(
        F.format_string("ORD-2024-0114-%05d", n).alias("order_id"),
        F.concat(F.lit("CUST-"), n.cast("string")).alias("customer_id"),
        ((n % 500) + F.lit(0.99)).alias("total_amount"),
        F.lit("USD").alias("currency"),
        F.lit("2024-01-14T14:30:00Z").alias("created_at"),
        F.when(flash, F.lit("FLASH_SALE")).otherwise(F.element_at(valid, (n % 5 + 1).cast("int")))
        .alias("discount_type"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bronze", help="bronze input (parquet); default: generated demo data")
    parser.add_argument("--out", required=True, help="output directory for silver rows (and evidence lines)")
    parser.add_argument("--evidence-url", help="Signal Factory POST /api/v1/evidence URL")
    parser.add_argument("--run-id", default="spark-orders-silver-20240115-020005")
    parser.add_argument("--dag-run-id", default="scheduled__2024-01-15T02:00:00+00:00")
    parser.add_argument("--lenient", action="store_true", help="keep the contract's enum WARN (stream behaviour)")
    args = parser.parse_args()

    spark = (SparkSession.builder.appName("orders_silver_transform").master("local[1]")
             .config("spark.ui.enabled", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    contract = load_control_plane(EXAMPLE).contracts[CONTRACT_ID]
    bronze = spark.read.parquet(args.bronze) if args.bronze else demo_bronze(spark)
    input_dataset = args.bronze or "s3://data-lake-prod/bronze/orders/2024-01-14/"

    result = validate_dataframe(
        bronze, contract, dataset_urn="urn:dp:orders:silver", run_id=args.run_id,
        job_name="orders_silver_transform", strict_enums=not args.lenient, key_column="order_id",
        input_dataset=input_dataset, upstream_dataset="urn:dp:orders:bronze", dag_run_id=args.dag_run_id)

    out = Path(args.out)
    result.valid_df.write.mode("overwrite").parquet(str(out / "silver"))
    if args.evidence_url:
        token = os.environ.get("SIGNAL_FACTORY_API_TOKEN", "")
        sent = emit_evidence_http(result.evidence_df, args.evidence_url, token)
        print(f"evidence sent: {sent}")
    else:
        result.evidence_df.write.mode("overwrite").json(str(out / "evidence"))
    print(json.dumps(observability_facet(result.summary), indent=2))
    spark.stop()


if __name__ == "__main__":
    main()
