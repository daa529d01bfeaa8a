"""Scenario 1 traffic: orders-svc v3.17 (deployed 09:57:45) stops sending `customer_id`.

1,247 events on raw.orders.events between 09:55:00 and 10:00:00 on 2024-01-15: 127 good events
from v3.16, then 1,120 from v3.17 without `customer_id`, the first of them being exactly the seed's
Step 1 record (partition 4, offset 9918273, trace ab91f3c2..., 09:58:02.127). Deterministic.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime

from signal_factory.model.timefmt import iso_ms

TOPIC = "raw.orders.events"
DEPLOY_AT = "2024-01-15T09:57:45.000Z"
WINDOW_START_MS = int(datetime(2024, 1, 15, 9, 55, tzinfo=UTC).timestamp() * 1000)
FIRST_FAILURE_MS = int(datetime(2024, 1, 15, 9, 58, 2, 127000, tzinfo=UTC).timestamp() * 1000)
WINDOW_END_MS = WINDOW_START_MS + 5 * 60 * 1000
GOOD = 127
BAD = 1120
SEED_TRACE = "ab91f3c2d4e5f6a7b8c9d0e1f2a3b4c5"
SEED_OFFSET = 9918273
SEED_PARTITION = 4


def _line(ts_ms: int, partition: int, offset: int, version: str, trace: str, payload: dict[str, object],
          event_id: str) -> str:
    value = {"event_id": event_id, "event_type": "orders.created.v1", "timestamp": iso_ms(ts_ms),
             "payload": payload,
             "metadata": {"correlation_id": trace, "producer_service": "orders-svc", "producer_version": version}}
    headers = ["x-obs-trace-id", trace, "x-obs-producer-service", "orders-svc", "x-obs-producer-version", version,
               "x-obs-schema-id", "glue:orders.created:17"]
    return json.dumps({"topic": TOPIC, "partition": partition, "offset": offset, "tstype": "create", "ts": ts_ms,
                       "broker": 1, "headers": headers, "key": payload["order_id"],
                       "payload": json.dumps(value, separators=(",", ":"))}, separators=(",", ":"))


def lines(seed: int = 1247) -> Iterator[str]:
    """The 1,247 kcat -J lines, in event-time order."""
    rng = random.Random(seed)
    offsets = {p: 9_900_000 + p * 1000 for p in range(8)}
    good_step = (FIRST_FAILURE_MS - 200 - WINDOW_START_MS) / GOOD
    for i in range(GOOD):
        ts = WINDOW_START_MS + int(i * good_step)
        p = rng.randrange(8)
        offsets[p] += 1
        order = 99_000 + i
        payload = {"order_id": f"ORD-2024-0115-{order}", "customer_id": f"cust-{rng.randrange(10_000, 99_999)}",
                   "total_amount": round(rng.uniform(5, 400), 2), "currency": "USD", "created_at": iso_ms(ts - 27)}
        yield _line(ts, p, offsets[p], "v3.16", f"{rng.getrandbits(128):032x}", payload, f"01HQX7{order:020d}")
    bad_step = (WINDOW_END_MS - 100 - FIRST_FAILURE_MS) / (BAD - 1)
    for i in range(BAD):
        ts = FIRST_FAILURE_MS + int(i * bad_step)
        if i == 0:  # the seed's Step 1 record, exactly
            payload = {"order_id": "ORD-2024-0115-99123", "total_amount": 149.98, "currency": "USD",
                       "created_at": "2024-01-15T09:58:02.100Z"}
            yield _line(ts, SEED_PARTITION, SEED_OFFSET, "v3.17", SEED_TRACE, payload, "01HQX7YMKP3QR5ST6VW8XYZ123")
            continue
        p = rng.randrange(8)
        offsets[p] += 1
        order = 99_200 + i
        payload = {"order_id": f"ORD-2024-0115-{order}", "total_amount": round(rng.uniform(5, 400), 2),
                   "currency": "USD", "created_at": iso_ms(ts - 27)}
        yield _line(ts, p, offsets[p], "v3.17", f"{rng.getrandbits(128):032x}", payload, f"01HQX8{order:020d}")


def deployment_markers() -> list[dict[str, str]]:
    """The deploys around the incident (orders-svc v3.17 is the culprit)."""
    return [{"service": "orders-svc", "version": "v3.16", "at": "2024-01-12T16:20:00.000Z", "commit": "4be0a91"},
            {"service": "orders-svc", "version": "v3.17", "at": DEPLOY_AT, "commit": "9f3c2d1",
             "description": "hotfix: order totals rounding"}]


if __name__ == "__main__":
    for line in lines():
        print(line)
