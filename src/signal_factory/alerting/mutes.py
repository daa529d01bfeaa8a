"""Mute / snooze: stop pages for a dataset or a failure signature until a time, without hiding anything.

An on-call engineer who knows about a problem (a planned backfill, a fix rolling out) mutes its dataset or
its signature for a while. Incidents still open, update and show in the UI and API with the mute that
covers them; only delivery stops: the dispatcher marks a covered notification MUTED instead of sending
it (never DEAD, so delivery alerts stay meaningful), at the wall-clock time it would have been sent.
When the mute expires or is cancelled, the next change of the incident (escalation, figure update,
resolve) pages as usual.

Mutes live in the store's named-state blobs (`CheckpointRepo.save_state`, `mute:<id>`): one table for
the embedded and distributed paths alike, written in the caller's transaction, no schema change.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from signal_factory.controlplane.loader import parse_duration
from signal_factory.errors import SignalFactoryError
from signal_factory.model.ids import new_ulid
from signal_factory.model.timefmt import iso_ms, parse_iso_ms

DATASET = "dataset"
SIGNATURE = "signature"
KINDS = (DATASET, SIGNATURE)
PREFIX = "mute:"
MAX_DURATION_MS = 30 * 24 * 3600 * 1000  # a mute is a snooze, not a way to switch paging off for good


class Mute(msgspec.Struct, omit_defaults=True, kw_only=True):
    mute_id: str
    kind: str  # dataset | signature
    target: str  # a dataset URN, or a failure signature (MISSING_FIELD:customer_id)
    until: str
    reason: str
    created_by: str
    created_at: str
    cancelled_at: str | None = None
    cancelled_by: str | None = None

    def active(self, at_ms: int) -> bool:
        return self.cancelled_at is None and at_ms < (parse_iso_ms(self.until) or 0)

    def covers(self, dataset_urn: str | None, signature: str | None, at_ms: int) -> bool:
        if not self.active(at_ms):
            return False
        return self.target == (dataset_urn if self.kind == DATASET else signature)


class MuteError(SignalFactoryError):
    """A mute that cannot be made or cancelled; the message says why and what to do."""


class BlobStore(Protocol):
    """The store's named-state blobs (its `CheckpointRepo`)."""

    def load_state(self, name: str) -> bytes | None: ...

    def save_state(self, name: str, blob: bytes) -> None: ...

    def states_named(self, prefix: str) -> list[tuple[str, bytes]]: ...


class MuteBook:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    def add(self, kind: str, target: str, *, until_ms: int, reason: str, by: str, now_ms: int) -> Mute:
        if kind not in KINDS:
            raise MuteError(f"mute kind {kind!r} is not one of {', '.join(KINDS)}")
        if not target.strip():
            raise MuteError(f"a {kind} mute needs a target (a dataset URN or a failure signature)")
        if until_ms <= now_ms:
            raise MuteError(f"mute end {iso_ms(until_ms)} is not in the future; give a duration such as 2h")
        if until_ms - now_ms > MAX_DURATION_MS:
            raise MuteError("a mute lasts at most 30 days; to stop paging for good, change alerting.yaml routes")
        if not reason.strip():
            raise MuteError("say why (--reason): the incident page shows it to the next engineer")
        mute = Mute(mute_id=f"mute-{new_ulid(now_ms)}", kind=kind, target=target.strip(), until=iso_ms(until_ms),
                    reason=reason.strip(), created_by=by, created_at=iso_ms(now_ms))
        self.blobs.save_state(PREFIX + mute.mute_id, msgspec.json.encode(mute))
        return mute

    def cancel(self, mute_id: str, *, by: str, now_ms: int) -> Mute:
        blob = self.blobs.load_state(PREFIX + mute_id)
        if blob is None:
            raise MuteError(f"no mute {mute_id!r}; `signal-factory mute list` shows them")
        mute = msgspec.json.decode(blob, type=Mute)
        if mute.cancelled_at is not None:
            return mute
        mute = msgspec.structs.replace(mute, cancelled_at=iso_ms(now_ms), cancelled_by=by)
        self.blobs.save_state(PREFIX + mute_id, msgspec.json.encode(mute))
        return mute

    def all(self) -> list[Mute]:
        """Every mute, newest first."""
        mutes = [msgspec.json.decode(blob, type=Mute) for _, blob in self.blobs.states_named(PREFIX)]
        return sorted(mutes, key=lambda m: m.created_at, reverse=True)

    def active(self, at_ms: int) -> list[Mute]:
        return [m for m in self.all() if m.active(at_ms)]

    def covering(self, dataset_urn: str | None, signature: str | None, at_ms: int) -> Mute | None:
        """The active mute covering this dataset or signature (the one that ends last), or None."""
        return covering(self.active(at_ms), dataset_urn, signature, at_ms)


def covering(mutes: list[Mute], dataset_urn: str | None, signature: str | None, at_ms: int) -> Mute | None:
    """Of `mutes`, the one covering this dataset or signature at `at_ms` that ends last, or None (read the
    store once, then ask this per incident)."""
    found = [m for m in mutes if m.covers(dataset_urn, signature, at_ms)]
    return max(found, key=lambda m: m.until) if found else None



def parse_duration_ms(text: str) -> int:
    """`90s`, `45m`, `2h`, `1d` -> milliseconds (the control plane's duration form); a clear error otherwise."""
    try:
        return int(parse_duration(text) * 1000)
    except ValueError as e:
        raise MuteError(f"mute duration: {e}") from e
