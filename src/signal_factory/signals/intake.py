"""One cheap pass over a batch of evidence, grouping it for every engine.

The engines never look at PASS evidence one by one: a batch becomes counts per (dataset, event-time
minute, result), the event-time span per dataset, and the list of non-PASS evidence (the only records
whose details matter: signatures, producers, ids). Windows hold whole minutes, so minute counts are
enough to window exactly.

Event times are compared as text: the enforcer writes canonical `YYYY-MM-DDTHH:MM:SS.mmmZ` (24
characters), which sorts like time. Anything else is parsed and rewritten in that form first.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

from signal_factory.model.evidence import PASS, WARN, Evidence
from signal_factory.model.tally import PassTally
from signal_factory.model.timefmt import iso_ms, parse_iso_ms

_minutes: dict[str, int] = {}


def minute_ms(prefix: str) -> int | None:
    """'2024-01-15T09:58' -> epoch ms of that UTC minute (cached; None if it is not a time)."""
    hit = _minutes.get(prefix)
    if hit is None:
        hit = parse_iso_ms(prefix + ":00+00:00")
        if hit is None:
            return None
        if len(_minutes) > 100_000:
            _minutes.clear()
        _minutes[prefix] = hit
    return hit


def canonical_time(text: str) -> str | None:
    """Any ISO-8601 time -> the canonical 24-character UTC form, or None if it is not a time."""
    if len(text) == 24:
        return text
    ms = parse_iso_ms(text)
    return iso_ms(ms) if ms is not None else None


def event_time(ev: Evidence) -> str | None:
    """The evidence's event time in canonical form (its record time, else when it was processed)."""
    t = canonical_time(ev.event_time())
    if t is None and ev.event_time() != ev.timestamp:
        t = canonical_time(ev.timestamp)
    return t


class Failure(NamedTuple):
    """A non-PASS evidence with its canonical event time, window minute, and place in its dataset's stream.

    `seq`: how many timed records of the same dataset came before it in the batch (arrival order), so
    the early test can count the compliant records between two failures without visiting them.
    """

    t: str
    minute: int
    ev: Evidence
    seq: int


class BatchView(NamedTuple):
    counts: dict[tuple[str, int], list[int]]  # (dataset, minute ms) -> [pass, warn, fail] evidence
    failures: list[Failure]  # non-PASS evidence, arrival order
    spans: dict[str, tuple[str, str]]  # dataset -> (min, max) canonical event time of its evidence
    tallies: dict[tuple[str, int], int]  # (dataset, minute ms) -> sampled-out PASS records
    untimed: dict[str, int]  # dataset -> evidence with no usable event time (counted as late-dropped)
    records: dict[str, int]  # dataset -> timed evidence in the batch (what `Failure.seq` counts)


def group(evidence: Sequence[Evidence], tallies: Sequence[PassTally] = ()) -> BatchView:
    """The batch, grouped. Per-evidence work is a handful of attribute reads and one dict update."""
    raw: dict[tuple[str, str, str], int] = {}
    failures: list[tuple[str, Evidence, int]] = []
    k = 0
    untimed: dict[str, int] = {}
    lo = "~"
    hi = ""
    for ev in evidence:
        src = ev.source
        t = src.timestamp if src is not None and src.timestamp else ev.timestamp
        if len(t) != 24:
            fixed = event_time(ev)
            if fixed is None:
                untimed[ev.dataset_urn] = untimed.get(ev.dataset_urn, 0) + 1
                continue
            t = fixed
        r = ev.validation.result
        key = (ev.dataset_urn, t[:16], r)
        raw[key] = raw.get(key, 0) + 1
        if r != PASS:
            failures.append((t, ev, k))
        k += 1
        if t > hi:  # noqa: PLR1730 - a comparison is cheaper than a max() call in this per-record loop
            hi = t
        if t < lo:  # noqa: PLR1730 - same
            lo = t
    counts: dict[tuple[str, int], list[int]] = {}
    urns: set[str] = set()
    for (urn, prefix, result), n in raw.items():
        minute = minute_ms(prefix)
        if minute is None:
            untimed[urn] = untimed.get(urn, 0) + n
            continue
        urns.add(urn)
        row = counts.get((urn, minute))
        if row is None:
            row = counts[(urn, minute)] = [0, 0, 0]
        row[0 if result == PASS else 1 if result == WARN else 2] += n
    spans, records, seqs = _streams(evidence, urns, (lo, hi), k, counts if not failures else None)
    out_failures = []
    for i, (t, ev, seq) in enumerate(failures):
        minute = minute_ms(t[:16])
        if minute is not None:
            out_failures.append(Failure(t, minute, ev, seq if seqs is None else seqs[i]))
    per_minute: dict[tuple[str, int], int] = {}
    for tally in tallies:
        minute = minute_ms(tally.minute[:16])
        if minute is None:
            untimed[tally.dataset_urn] = untimed.get(tally.dataset_urn, 0) + tally.count
            continue
        key2 = (tally.dataset_urn, minute)
        per_minute[key2] = per_minute.get(key2, 0) + tally.count
    return BatchView(counts, out_failures, spans, per_minute, untimed, records)


def _streams(evidence: Sequence[Evidence], urns: set[str], span: tuple[str, str], timed: int,
             counts: dict[tuple[str, int], list[int]] | None
             ) -> tuple[dict[str, tuple[str, str]], dict[str, int], list[int] | None]:
    """Per-dataset spans and record counts, and (batches that mix datasets) the failures' places.

    `counts`: the batch's minute counts when it has no failures (then per-dataset totals suffice).
    """
    if len(urns) == 1:
        urn = next(iter(urns))
        return {urn: span}, {urn: timed}, None
    if not urns:
        return {}, {}, None
    if counts is None:
        seqs, seen = _ordinals(evidence)
        return _spans(evidence), seen, seqs
    records: dict[str, int] = {}
    for (urn, _), row in counts.items():
        records[urn] = records.get(urn, 0) + row[0] + row[1] + row[2]
    return _spans(evidence), records, None


def _ordinals(evidence: Sequence[Evidence]) -> tuple[list[int], dict[str, int]]:
    """For a batch that mixes datasets: each timed non-PASS record's place in its own dataset's stream,
    and the timed records per dataset (the same timed test as `group`)."""
    seqs: list[int] = []
    seen: dict[str, int] = {}
    for ev in evidence:
        src = ev.source
        t = src.timestamp if src is not None and src.timestamp else ev.timestamp
        if len(t) != 24 and event_time(ev) is None:
            continue
        urn = ev.dataset_urn
        k = seen.get(urn, 0)
        if ev.validation.result != PASS:
            seqs.append(k)
        seen[urn] = k + 1
    return seqs, seen


def advances(evidence: Sequence[Evidence], urns: set[str]) -> dict[str, list[tuple[int, int]]]:
    """For each dataset in `urns`: (place in its stream, minute ms) of every record whose event minute is later
    than all of that dataset's records before it in the batch (the same timed test and places as `group`).

    Held PASS tallies enter the contract engine at these places (contract_engine.py): a tally of minute m
    counts just before the first record of its dataset, in arrival order, whose minute is after m."""
    out: dict[str, list[tuple[int, int]]] = {urn: [] for urn in urns}
    seen: dict[str, int] = {}
    top: dict[str, int] = {}
    for ev in evidence:
        src = ev.source
        t: str | None = src.timestamp if src is not None and src.timestamp else ev.timestamp
        if t is not None and len(t) != 24:
            t = event_time(ev)
        if t is None:
            continue
        urn = ev.dataset_urn
        k = seen.get(urn, 0)
        seen[urn] = k + 1
        rows = out.get(urn)
        minute = minute_ms(t[:16]) if rows is not None else None
        if rows is not None and minute is not None and minute > top.get(urn, -1):
            top[urn] = minute
            rows.append((k, minute))
    return out


def _spans(evidence: Sequence[Evidence]) -> dict[str, tuple[str, str]]:
    """Per-dataset event-time span, for batches that mix datasets (the slower, rarer case)."""
    spans: dict[str, list[str]] = {}
    for ev in evidence:
        t = event_time(ev)
        if t is None:
            continue
        span = spans.get(ev.dataset_urn)
        if span is None:
            spans[ev.dataset_urn] = [t, t]
        elif t < span[0]:
            span[0] = t
        elif t > span[1]:
            span[1] = t
    return {urn: (s[0], s[1]) for urn, s in spans.items()}



MINUTE_MS = 60_000


def silences(view: BatchView, evidence: Sequence[Evidence], urn: str, gap_ms: int) -> list[tuple[int, int]]:
    """Silences inside this batch on `urn`: (last record before, first record after) pairs of consecutive
    records more than `gap_ms` apart, in event-time order (ms). Usually none, found without a second pass.

    Grouping by minute tells where a silence may be without looking at a record: two consecutive minutes
    with records that can be further apart than `gap_ms`. Only then is the batch read again, for the exact
    last time before and first time after each. Sampled-out PASS records count at their minute's start,
    as the tallies the engines get from a one-record batch do."""
    minutes = sorted({m for u, m in view.counts if u == urn} | {m for u, m in view.tallies if u == urn})
    if gap_ms >= MINUTE_MS:
        pairs = [(a, b) for a, b in pairwise(minutes) if b + MINUTE_MS - 1 - a > gap_ms]
    else:  # a sub-minute interval (rare): any two neighbours may be too far apart, even in one minute
        pairs = [(m, m) for m in minutes]
    if not pairs:
        return []
    need = {m for pair in pairs for m in pair}
    times = _times(evidence, urn, need) + [m for u, m in view.tallies if u == urn and m in need]
    if gap_ms < MINUTE_MS:
        times.sort()
        return [(a, b) for a, b in pairwise(times) if b - a > gap_ms]
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for t in times:
        m = t - t % MINUTE_MS
        first[m] = min(first.get(m, t), t)
        last[m] = max(last.get(m, t), t)
    return [(last[a], first[b]) for a, b in pairs if a in last and b in first and first[b] - last[a] > gap_ms]


def _times(evidence: Sequence[Evidence], urn: str, minutes: set[int]) -> list[int]:
    """Event times (ms) of `urn`'s evidence that fall in `minutes`."""
    out = []
    for ev in evidence:
        if ev.dataset_urn != urn:
            continue
        t = event_time(ev)
        m = minute_ms(t[:16]) if t is not None else None
        if m is not None and m in minutes:
            ms = parse_iso_ms(t) if t is not None else None
            if ms is not None:
                out.append(ms)
    return out
