"""Aggregate quality counts (`QualityTally`) from the enforcer stage to the signals stage, counted exactly once.

The same problem as PASS tallies (tallies.py) and the same answer: a quality tally has no id, but the
records it counts have offsets. The enforcer makes one tally per (dataset, minute, producer, source
partition) and records the offsets it counted: every row (`ranges`), and which rows are behind each bad
count (`bad_at`) and each duplicate digest (`digest_at`). It sends one batch's tallies of one (dataset,
source partition) as ONE message on the tally topic, keyed by the dataset, with the header
`sf-kind: quality` (PASS tallies have none). The signals stage keeps its own mark per (dataset, source
partition) (`quality:` checkpoints, committed with the counts) and keeps only what lies above it: an
exact re-send is dropped; a longer re-send counts only its new rows, bad records and digests.

Why the tally topic and not a topic of its own: it is already keyed by dataset URN with the evidence
topic's partition count, so partition p of it is owned with evidence partition p (scale-out), in order,
with no topic to create or configure. A signals stage older than this reads such a message as an
undecodable tally: logged and stepped over, never a blocked partition.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from signal_factory.contracts.aggregate import QualityTally
from signal_factory.transports.kafka.tallies import TallyMarks, count_above

KIND_HEADER = "sf-kind"
KIND = b"quality"

_decoder = msgspec.json.Decoder(list[QualityTally])
_encoder = msgspec.json.Encoder()


Headers = dict[str, str | bytes | None] | list[tuple[str, str | bytes | None]] | None


def is_quality(headers: Headers) -> bool:
    """Whether a tally-topic message (its headers) holds quality tallies."""
    if not headers:
        return False
    pairs = headers.items() if isinstance(headers, dict) else headers
    return any(k == KIND_HEADER and v == KIND for k, v in pairs)


def mark_key(dataset_urn: str, topic: str, partition: int) -> str:
    """Store checkpoint holding the highest source offset whose quality was counted (dataset, partition)."""
    return f"quality:{dataset_urn}|{topic}/{partition}"


def encode_quality_messages(tallies: Iterable[QualityTally]) -> list[tuple[str, bytes]]:
    """(key, value) per Kafka message: one JSON array per (dataset, source partition) of one batch."""
    groups: dict[tuple[str, str | None, int | None], list[QualityTally]] = {}
    for t in tallies:
        groups.setdefault((t.dataset_urn, t.topic, t.partition), []).append(t)
    return [(urn, _encoder.encode(items)) for (urn, _t, _p), items in groups.items()]


def decode_quality_message(value: bytes) -> list[QualityTally]:
    return _decoder.decode(value)


def _source(t: QualityTally) -> tuple[str, int] | None:
    if t.topic is None or t.partition is None or not t.ranges:
        return None
    return mark_key(t.dataset_urn, t.topic, t.partition), max(b for _a, b in t.ranges)


def above(t: QualityTally, mark: int) -> QualityTally | None:
    """`t` cut to the records whose offset is above `mark` (None when none is)."""
    if all(a > mark for a, _b in t.ranges):
        return t  # nothing counted yet: the common case
    ranges = count_above(t.ranges, mark)
    if not ranges:
        return None
    bad_at = {k: [o for o in offs if o > mark] for k, offs in t.bad_at.items()}
    digest_at: dict[str, list[int]] = {}
    digests: dict[str, list[int]] = {}
    for k, values in t.digests.items():
        kept = [(d, o) for d, o in zip(values, t.digest_at.get(k, ()), strict=True) if o > mark]
        digests[k] = [d for d, _o in kept]
        digest_at[k] = [o for _d, o in kept]
    return msgspec.structs.replace(
        t, rows=sum(b - a + 1 for a, b in ranges), ranges=list(ranges),
        bad={k: len(offs) for k, offs in bad_at.items() if offs}, bad_at={k: v for k, v in bad_at.items() if v},
        digests=digests, digest_at=digest_at)


def fresh_quality(marks: TallyMarks, message: list[QualityTally]) -> list[QualityTally]:
    """One message's quality tallies trimmed to what was not counted yet (marks pending until committed)."""
    return marks.trim(message, _source, above)
