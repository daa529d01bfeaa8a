"""A deploy and its rollback as record files: orders-svc v3.16 (healthy), v3.17 (drops `customer_id`), then
v3.16 again. Without markers, v3.16 is the service's baseline and v3.17 an inferred deployment; the return
to v3.16 is no new deployment."""

from __future__ import annotations

import json
from pathlib import Path

START_MS = 1_705_312_500_000  # 2024-01-15T09:55:00Z
PHASES = ("v3.16", "v3.17", "v3.16")


def write_rollback_traffic(path: Path, per_phase: int = 200) -> Path:
    """`3 * per_phase` plain-form records, 100 ms apart, one phase per version in `PHASES`."""
    with path.open("w") as f:
        for i in range(3 * per_phase):
            version = PHASES[i // per_phase]
            payload = {"order_id": f"ORD-RB-{i:05d}", "total_amount": 10.0, "currency": "USD",
                       "created_at": "2024-01-15T09:55:00.000Z"}
            if version == "v3.16":
                payload["customer_id"] = f"cust-{i:05d}"
            f.write(json.dumps({
                "topic": "raw.orders.events", "partition": 0, "offset": i, "timestamp": START_MS + i * 100,
                "headers": {"x-obs-producer-service": "orders-svc", "x-obs-producer-version": version},
                "value": {"event_id": f"rb{i}", "event_type": "orders.created.v1",
                          "timestamp": "2024-01-15T09:55:00.000Z", "payload": payload}}) + "\n")
    return path
