"""Shared fixtures: the shipped example control plane and small record builders."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from signal_factory.controlplane.loader import ControlPlane, load_control_plane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.model.records import RawRecord

pytest_plugins = ["tests.fixtures_db"]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "orders"
DATA = Path(__file__).parent / "data"

SEED_HEADERS = {
    "x-obs-trace-id": "ab91f3c2d4e5f6a7b8c9d0e1f2a3b4c5",
    "x-obs-producer-service": "orders-svc",
    "x-obs-producer-version": "v3.17",
    "x-obs-schema-id": "glue:orders.created:17",
}


@pytest.fixture(scope="session")
def control_plane() -> ControlPlane:
    return load_control_plane(EXAMPLE)


@pytest.fixture
def enforcer(control_plane: ControlPlane) -> Enforcer:
    return Enforcer(control_plane)


@pytest.fixture
def full_enforcer(control_plane: ControlPlane) -> Enforcer:
    """An enforcer that keeps every PASS evidence (no tier sampling)."""
    return Enforcer(without_sampling(control_plane))


def without_sampling(cp: ControlPlane) -> ControlPlane:
    evidence = msgspec.structs.replace(cp.settings.evidence, pass_sample_rates={1: 1.0, 2: 1.0, 3: 1.0})
    return dataclasses.replace(cp, settings=msgspec.structs.replace(cp.settings, evidence=evidence))


def order_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"order_id": "ORD-2024-0115-99123", "customer_id": "cust-98765",
                               "total_amount": 149.98, "currency": "USD",
                               "created_at": "2024-01-15T09:58:02.100Z"}
    for k, v in overrides.items():
        if v is None:
            payload.pop(k, None)
        else:
            payload[k] = v
    return payload


def envelope(payload: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {"event_id": "01HQX7YMKP3QR5ST6VW8XYZ123", "event_type": "orders.created.v1",
            "timestamp": "2024-01-15T09:58:02.127Z", "payload": payload, "metadata": meta}


def record(value: Any, *, topic: str = "raw.orders.events", headers: dict[str, str] | None = None,
           offset: int = 1, ts: int | None = 1705312682127) -> RawRecord:
    return RawRecord(topic=topic, partition=0, offset=offset, timestamp_ms=ts,
                     headers=dict(SEED_HEADERS if headers is None else headers),
                     value=json.dumps(value).encode())
