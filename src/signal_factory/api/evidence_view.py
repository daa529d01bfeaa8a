"""The evidence browser's page: evidence matching a filter, newest (or oldest) first, paged by an opaque
keyset cursor, with the total count. Pure over the store's `EvidenceRepo`; the routes parse the query."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec

from signal_factory.api.problems import BadRequestError
from signal_factory.model.evidence import Evidence
from signal_factory.model.timefmt import parse_iso_ms
from signal_factory.stores.ports import BrowseCursor, EvidenceFilter, EvidenceRepo

RESULTS = ("PASS", "WARN", "FAIL")


def event_ms(ev: Evidence) -> int:
    """The event time the store orders by (as `stores.sql.documents.evidence_row` computes it)."""
    ms = parse_iso_ms(ev.event_time())
    return ms if ms is not None else (parse_iso_ms(ev.timestamp) or 0)


def encode_cursor(ev: Evidence) -> str:
    raw = f"{event_ms(ev)}:{ev.evidence_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> BrowseCursor:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        ms, evidence_id = raw.split(":", 1)
        return int(ms), evidence_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequestError(f"query parameter `cursor`: {text!r} is not a cursor this API gave; "
                              "pass the `next_cursor` of the previous page unchanged") from None


def check_result(result: str | None) -> str | None:
    if result is None:
        return None
    upper = result.strip().upper()
    if upper not in RESULTS:
        raise BadRequestError(f"query parameter `result`: {result!r} is not one of {', '.join(RESULTS)}")
    return upper


def page(repo: EvidenceRepo, where: EvidenceFilter, *, cursor: str | None, newest_first: bool,
         limit: int) -> dict[str, Any]:
    """`{"items", "total", "next_cursor", "order"}`: one more row than asked is read to know whether a next
    page exists, so `next_cursor` is null exactly on the last page."""
    after = decode_cursor(cursor) if cursor else None
    rows = repo.browse(where, after=after, newest_first=newest_first, limit=limit + 1)
    items = rows[:limit]
    more = len(rows) > limit
    return {"items": [msgspec.to_builtins(ev) for ev in items], "total": repo.count(where),
            "next_cursor": encode_cursor(items[-1]) if more and items else None,
            "order": "newest" if newest_first else "oldest"}
