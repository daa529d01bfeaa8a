"""Counts of PASS records whose evidence was sampled out (the enforcer writes them, stores and engines read
them): a model type, so stores and signal engines depend on the model, not on the enforcer."""

from __future__ import annotations

import msgspec


class PassTally(msgspec.Struct, frozen=True):
    """PASS records whose evidence was sampled out: counted, per dataset and event-time minute.

    When the records came from a Kafka partition (`topic`, `partition` set), `ranges` lists the counted
    offsets as inclusive `(first, last)` runs, so `count == sum(last - first + 1)`. They are what lets a
    consumer drop a tally re-sent after an enforcer crash (see `transports/kafka/tallies.py`): a tally
    has no id of its own, but the offsets it counts do."""

    dataset_urn: str
    minute: str
    count: int
    producer: str | None = None
    producer_version: str | None = None
    topic: str | None = None
    partition: int | None = None
    ranges: tuple[tuple[int, int], ...] = ()
