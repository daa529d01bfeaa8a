"""What changed between two loaded control planes, in words a reload log line can carry.

    describe_changes(old, new)   # ["topics added: raw.payments.events", "datasets changed: urn:dp:orders:created"]

Pure: compares the loaded records (datasets, topics, producers, compiled contracts, S3 locations, schema
ids, settings); files the loader does not read (alerting.yaml, ...) are the reloader's to name.
"""

from __future__ import annotations

from collections.abc import Mapping

from signal_factory.controlplane.loader import ControlPlane


def _keyed(name: str, old: Mapping[str, object], new: Mapping[str, object]) -> list[str]:
    out: list[str] = []
    added = sorted(new.keys() - old.keys())
    removed = sorted(old.keys() - new.keys())
    changed = sorted(k for k in old.keys() & new.keys() if old[k] != new[k])
    for verb, keys in (("added", added), ("removed", removed), ("changed", changed)):
        if keys:
            out.append(f"{name} {verb}: {', '.join(keys)}")
    return out


def describe_changes(old: ControlPlane, new: ControlPlane) -> list[str]:
    """One phrase per kind of change, in a fixed order; empty when the two load the same."""
    out = _keyed("topics", old.topics, new.topics)
    out += _keyed("datasets", old.datasets, new.datasets)
    out += _keyed("producers", old.producers, new.producers)
    out += _keyed("contracts", old.contracts, new.contracts)
    out += _keyed("s3 locations", {r.route_key: r for r in old.objects}, {r.route_key: r for r in new.objects})
    old_ids, new_ids = set(old.schemas.ids()), set(new.schemas.ids())
    out += _keyed("schemas", dict.fromkeys(old_ids, 0), dict.fromkeys(new_ids, 0))
    if old.settings != new.settings:
        out.append("settings changed (signal-factory.yaml)")
    return out
