"""Which engines an evidence feeds: batch-run evidence vs stream evidence, and clock-skewed records.

**Batch evidence** is evidence that names the batch run that produced it: `producer.run_id` (what
`integrations/spark` writes), else `lineage.spark_run_id`, else `lineage.dag_run_id` (the seed's
Scenario 2 Step 4 shape; the same key the evidence store indexes as `run_id`). Its time is when the job
ran, not when the records happened, and it usually holds only the failing rows, so it feeds the run's
BATCH_RUN signals (signals/runs.py, then DQ_BREACH when the run reports) and drift, never the dataset's
stream windows (CONTRACT_BREACH, VOLUME_ANOMALY), watermark or freshness clock.

**Clock-skewed evidence** carries a `CLOCK_SKEW:*` reason code (the enforcer found its event time too
far ahead of the ingest clock or before the sane past bound, enforcer/eventtime.py). It never moves a
watermark or the freshness clock: it is re-timed to its dataset's reference time, the latest event time
of that dataset's other evidence seen so far (in the engines' state, or earlier in the same batch), and
windowed there; with no reference yet it is counted only. Either way it is counted once per dataset and
reported as `clock_skew_count` on the dataset's next final CONTRACT_BREACH signal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from signal_factory.enforcer.eventtime import CLOCK_SKEW
from signal_factory.model.evidence import PASS, Evidence, Source
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.signals.intake import Failure, event_time


def batch_run_id(ev: Evidence) -> str | None:
    """The batch run an evidence belongs to, or None for stream evidence."""
    p = ev.producer
    if p is not None and p.run_id:
        return p.run_id
    lin = ev.lineage
    if lin is not None:
        return lin.spark_run_id or lin.dag_run_id or None
    return None


def is_clock_skewed(ev: Evidence) -> bool:
    return any(code.startswith(CLOCK_SKEW) for code in ev.validation.reason_codes)


def split(evidence: Sequence[Evidence]) -> tuple[Sequence[Evidence], list[Evidence]]:
    """(stream evidence, batch-run evidence). The stream part is the input itself when it holds no batch
    evidence (the usual case): hot path, two attribute reads per evidence."""
    for ev in evidence:
        p = ev.producer
        if ev.lineage is not None or (p is not None and p.run_id):
            break
    else:
        return evidence, []
    stream: list[Evidence] = []
    batch: list[Evidence] = []
    for ev in evidence:
        (stream if batch_run_id(ev) is None else batch).append(ev)
    return stream, batch


def any_skewed(failures: Sequence[Failure]) -> bool:
    """Whether a grouped batch holds clock-skewed evidence (only non-PASS evidence can: it is a WARN).
    Plain loops, not any(generator): this runs over every batch's failures."""
    for f in failures:
        for code in f.ev.validation.reason_codes:
            if code.startswith(CLOCK_SKEW):
                return True
    return False


def retime(stream: Sequence[Evidence], latest: Callable[[str], int | None]) -> tuple[list[Evidence], dict[str, int]]:
    """`stream` with each skewed evidence re-timed to its dataset's reference time (or left out when the
    dataset has none yet), and the skewed count per dataset. Arrival order decides the reference, so the
    result does not depend on where batch boundaries fall."""
    running: dict[str, str] = {}
    counts: dict[str, int] = {}
    out: list[Evidence] = []
    for ev in stream:
        urn = ev.dataset_urn
        if ev.validation.result == PASS or not is_clock_skewed(ev):
            t = event_time(ev)
            if t is not None and t > running.get(urn, ""):
                running[urn] = t
            out.append(ev)
            continue
        counts[urn] = counts.get(urn, 0) + 1
        known = latest(urn)
        here = running.get(urn)
        here_ms = parse_iso_ms(here) if here is not None else None
        ref = max((x for x in (known, here_ms) if x is not None), default=None)
        if ref is None:
            continue  # counted, not windowed: nothing trustworthy says when it happened
        source = msgspec.structs.replace(ev.source, timestamp=iso_ms(ref)) if ev.source is not None \
            else Source(timestamp=iso_ms(ref))
        out.append(msgspec.structs.replace(ev, source=source))
    return out, counts
