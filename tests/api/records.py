"""Plain-form records for ingest tests: Scenario 1's failing v3.17 orders, one hour later."""

from __future__ import annotations

from typing import Any

from signal_factory.model.timefmt import iso_ms

HOUR_MS = 3_600_000
BASE_MS = 1_705_312_500_000 + HOUR_MS  # 10:55:00Z, the hour after Scenario 1


def failing_orders(n: int, *, start_offset: int = 50_000_000) -> list[dict[str, Any]]:
    """`n` orders.created records missing `customer_id` (MISSING_FIELD:customer_id), 100 ms apart."""
    out = []
    for i in range(n):
        at = iso_ms(BASE_MS + i * 100)
        order = f"ORD-2024-0115-9{i:05d}"
        out.append({
            "topic": "raw.orders.events", "partition": 0, "offset": start_offset + i, "timestamp": at,
            "headers": {"x-obs-trace-id": f"{i:032x}", "x-obs-producer-service": "orders-svc",
                        "x-obs-producer-version": "v3.17", "x-obs-schema-id": "glue:orders.created:17"},
            "key": order,
            "value": {"event_id": f"01HQX9{i:020d}", "event_type": "orders.created.v1", "timestamp": at,
                      "payload": {"order_id": order, "total_amount": 10.5, "currency": "USD", "created_at": at},
                      "metadata": {"producer_service": "orders-svc", "producer_version": "v3.17"}},
        })
    return out
