"""Generated traffic for incidents keyed by their signal type: one deploy that breaks a dataset with eight
different reason codes, none dominant (written as JSON lines, replayed through the real pipeline)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from signal_factory.model.timefmt import iso_ms, parse_iso_ms

START = parse_iso_ms("2024-01-15T10:00:00.000Z") or 0
DEPLOY = START + 120_000  # orders-svc v3.18 goes out at 10:02:00
ORDERS = "urn:dp:orders:created"

#: Eight ways a bad build breaks orders.created, each its own reason code (contract clauses of the example).
BREAKS: dict[str, Any] = {
    "MISSING_FIELD:customer_id": lambda p: p.pop("customer_id"),
    "MISSING_FIELD:currency": lambda p: p.pop("currency"),
    "MISSING_FIELD:total_amount": lambda p: p.pop("total_amount"),
    "PATTERN_MISMATCH:currency": lambda p: p.update(currency="usd"),
    "PATTERN_MISMATCH:order_id": lambda p: p.update(order_id="ORDER-1"),
    "OUT_OF_RANGE:total_amount": lambda p: p.update(total_amount=-3.0),
    "TYPE_MISMATCH:total_amount": lambda p: p.update(total_amount="12.50"),
    "LENGTH_OUT_OF_RANGE:notes": lambda p: p.update(notes="x" * 1001),
}
CODES = list(BREAKS)


def record(i: int, ts: int, service: str, version: str, code: str | None = None) -> str:
    """One orders.created record on raw.orders.events with producer headers; `code` breaks it that way."""
    p: dict[str, Any] = {"order_id": f"ORD-2024-0115-{i:05d}", "customer_id": f"cust-{i % 977}",
                         "total_amount": 10.5 + i % 50, "currency": "USD", "discount_type": "COUPON"}
    if code is not None:
        BREAKS[code](p)
    body = {"event_id": f"01HQW9{i:020d}", "event_type": "orders.created.v1", "timestamp": iso_ms(ts), "payload": p,
            "metadata": {"producer_service": service, "producer_version": version}}
    return json.dumps({"topic": "raw.orders.events", "partition": 0, "offset": i, "tstype": "create", "ts": ts,
                       "headers": ["x-obs-trace-id", f"{i:032x}", "x-obs-producer-service", service,
                                   "x-obs-producer-version", version],
                       "key": f"ORD-2024-0115-{i:05d}", "payload": json.dumps(body)})


def one_deploy_eight_codes(folder: Path, *, other: dict[str, str] | None = None,
                           version: str = "v3.18") -> tuple[Path, Path]:
    """3,000 records at 5/s from 10:00; from 10:02:00 orders-svc v3.18 fails 80% of them, cycling over the eight
    codes (each 10% of the records, none dominant). `other` maps codes to a second service, checkout-svc v1.4,
    that starts sending records failing them at 10:03 (a breakage the deploy does not explain). Deployment
    markers: orders-svc v3.17 the day before, v3.18 30 s before the failures, inventory-svc v2.0 ten minutes
    before (another service: innocent). `version`: what orders-svc's records say after 10:02 (v3.17: the
    breakage came with no new version). Returns (traffic, deployments)."""
    lines = []
    for i in range(3000):
        ts = START + i * 200
        if ts < DEPLOY:
            lines.append(record(i, ts, "orders-svc", "v3.17"))
            continue
        code = CODES[i % 8] if i % 10 < 8 else None
        if code is not None and other and code in other:
            lines.append(record(i, ts, "checkout-svc", "v1.4", code) if ts >= DEPLOY + 60_000
                         else record(i, ts, "orders-svc", version))
        else:
            lines.append(record(i, ts, "orders-svc", version, code))
    traffic = folder / "traffic.jsonl"
    traffic.write_text("\n".join(lines) + "\n")
    deployments = folder / "deployments.jsonl"
    deployments.write_text("\n".join(json.dumps(d) for d in (
        {"service": "orders-svc", "version": "v3.17", "at": iso_ms(START - 86_400_000), "commit": "4be0a91"},
        {"service": "orders-svc", "version": "v3.18", "at": iso_ms(DEPLOY - 30_000), "commit": "abc1234"},
        {"service": "inventory-svc", "version": "v2.0", "at": iso_ms(DEPLOY - 600_000), "commit": "77aa001"},
    )) + "\n")
    return traffic, deployments
