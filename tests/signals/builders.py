"""Evidence builders for the signal-engine tests (times are epoch ms; the example control plane's datasets)."""

from __future__ import annotations

from typing import Any

from signal_factory.model.evidence import (
    FAIL,
    G4_CONTRACT,
    PASS,
    Evidence,
    GateResult,
    Lineage,
    Producer,
    Source,
    Validation,
)
from signal_factory.model.tally import PassTally
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.signals.host import SignalEngineHost

ORDERS = "urn:dp:orders:created"
BRONZE = "urn:dp:orders:bronze"
SILVER = "urn:dp:orders:silver"
MISSING = "MISSING_FIELD:customer_id"
FLASH = "UNKNOWN_ENUM:discount_type:FLASH_SALE"
DISCOUNTS = ["NONE", "PERCENTAGE", "FIXED_AMOUNT", "LOYALTY", "COUPON"]
MINUTE = 60_000
HOUR = 3_600_000
DAY = 86_400_000


def ms(text: str) -> int:
    value = parse_iso_ms(text)
    assert value is not None
    return value


def evidence(n: int, t_ms: int, result: str = PASS, signature: str | None = None, *, urn: str = ORDERS,
             producer: str = "orders-svc", version: str = "v3.17", expected: list[str] | None = None,
             lineage: Lineage | None = None) -> Evidence:
    """One evidence record; non-PASS ones carry `signature` as G4 reason code (with `expected` if given)."""
    gates: list[GateResult] = []
    codes: list[str] = []
    if result != PASS:
        sig = signature or MISSING
        rule: dict[str, Any] = {"field": sig.split(":")[1], "constraint": "enum" if expected else "required"}
        if expected:
            rule["expected"] = expected
        gates = [GateResult(G4_CONTRACT, result, sig, {"contract_id": "dc:orders.created:3", "violated_rule": rule})]
        codes = [sig]
    return Evidence(
        evidence_id=f"evd-{n:026d}", timestamp=iso_ms(t_ms + 150), dataset_urn=urn,
        producer=Producer(producer, "HIGH", version),
        validation=Validation(result, gates, [G4_CONTRACT] if codes else [], codes),
        source=Source("raw.orders.events", 0, n, "CREATE_TIME", iso_ms(t_ms)), lineage=lineage)


def spread(start_ms: int, end_ms: int, count: int, first_id: int, result: str = PASS, **kw: Any) -> list[Evidence]:
    """`count` evidence evenly spread over [start_ms, end_ms)."""
    step = (end_ms - start_ms) / count
    return [evidence(first_id + i, start_ms + int(i * step), result, **kw) for i in range(count)]


def tally(urn: str, minute_ms: int, count: int) -> PassTally:
    return PassTally(urn, iso_ms(minute_ms), count, "orders-svc", "v3.17")


def scenario1() -> list[Evidence]:
    """Scenario 1, 09:55-10:00: 127 PASS before 09:58:02, then 1,120 FAIL (orders-svc v3.17) from 09:58:02.312."""
    first_fail = ms("2024-01-15T09:58:02.312Z")
    passes = spread(ms("2024-01-15T09:55:00.000Z"), ms("2024-01-15T09:58:02.000Z"), 127, 0, version="v3.16")
    fails = spread(first_fail, ms("2024-01-15T09:59:59.900Z"), 1120, 1000, FAIL, signature=MISSING)
    return passes + fails


def feed(host: SignalEngineHost, items: list[Evidence], size: int = 100) -> list[Any]:
    out = []
    for i in range(0, len(items), size):
        out += host.add_evidence(items[i:i + size])
    return out


RUN = "spark-orders-silver-20240115-020005"
DAG_RUN = "scheduled__2024-01-15T02:00:00+00:00"


def batch_evidence(n: int, t_ms: int, result: str = FAIL, signature: str = FLASH, *, run_id: str = RUN,
                   urn: str = SILVER) -> Evidence:
    """One evidence as the Spark job writes it (seed Scenario 2 Step 4): run id, lineage, no Kafka source."""
    codes = [signature] if result != PASS else []
    gates = [GateResult(G4_CONTRACT, result, signature if codes else None)]
    return Evidence(
        evidence_id=f"evd-B{n:025d}", timestamp=iso_ms(t_ms), dataset_urn=urn,
        producer=Producer("spark:orders_silver_transform", "HIGH", run_id=run_id),
        validation=Validation(result, gates, [G4_CONTRACT] if result == FAIL else [], codes),
        source=Source(input_dataset="s3://data-lake-prod/bronze/orders/2024-01-14/", source_record_id=f"ORD-{n}"),
        lineage=Lineage(dag_run_id=DAG_RUN, spark_run_id=run_id, upstream_dataset=BRONZE))


def skewed(n: int, t_ms: int, code: str = "CLOCK_SKEW:future", *, urn: str = ORDERS) -> Evidence:
    """A PASS record the enforcer flagged for its event time: WARN with a clock-skew reason on G1."""
    return Evidence(
        evidence_id=f"evd-S{n:025d}", timestamp=iso_ms(ms("2024-01-15T10:00:00Z")), dataset_urn=urn,
        producer=Producer("orders-svc", "HIGH", "v3.17"),
        validation=Validation("WARN", [GateResult("G1_RESOLUTION", "WARN", code)], [], [code]),
        source=Source("raw.orders.events", 0, n, "CREATE_TIME", iso_ms(t_ms)))
