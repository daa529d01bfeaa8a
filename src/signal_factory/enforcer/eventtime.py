"""Event time a producer cannot abuse: each record's time checked against a clock it does not control.

A record's event time is the producer's word (the Kafka CREATE_TIME timestamp, else the envelope's
`timestamp`). The reference is the enforcer's ingest clock (the instant the batch was processed, the
same instant as the evidence's `timestamp`). A record stamped more than `event_time.max_future_skew`
(default 5m) ahead of it, or before `event_time.min_event_time` (default 2000-01-01T00:00:00Z), is
flagged with the stable reason code `CLOCK_SKEW:future` / `CLOCK_SKEW:past`: a WARN on G1_RESOLUTION
(the gate that places the record, in its dataset and in time) when that gate passed, and always in
`validation.reason_codes`, so the overall result is at least WARN. The record is still exactly one
evidence; the signal engines keep it out of the dataset's watermark and freshness clock and count it
(`clock_skew_count`, see signals/routing.py).

The past bound is absolute: how far behind the watermark a record may be is the signal engines'
lateness rule, which counts such records as `late_dropped_count` and never lets them move a watermark.
"""

from __future__ import annotations

from datetime import UTC

import msgspec

from signal_factory.controlplane.loader import parse_duration
from signal_factory.controlplane.model import EventTimeSettings
from signal_factory.model.evidence import G1_RESOLUTION, PASS, WARN, Evidence, GateResult, Validation
from signal_factory.model.timefmt import parse_iso_ms
from signal_factory.privacy.guard import MAX_REASON_CODES

CLOCK_SKEW = "CLOCK_SKEW:"
CLOCK_SKEW_FUTURE = "CLOCK_SKEW:future"
CLOCK_SKEW_PAST = "CLOCK_SKEW:past"


class EventTimeGuard:
    """`check(...)` per record: the verdict with the clock-skew WARN added, or unchanged (the usual case)."""

    def __init__(self, settings: EventTimeSettings) -> None:
        self.max_future_ms = int(parse_duration(settings.max_future_skew) * 1000)
        floor = settings.min_event_time
        self.min_ms = int((floor if floor.tzinfo is not None else floor.replace(tzinfo=UTC)).timestamp() * 1000)
        self._stamp = ""
        self._stamp_ms = 0

    def code_for(self, event_ms: int | None, stamp: str) -> str | None:
        """`CLOCK_SKEW:future|past` if `event_ms` is outside the bounds around the ingest time `stamp`."""
        if event_ms is None:
            return None
        if stamp != self._stamp:  # one parse per batch: every record of a batch shares its stamp
            parsed = parse_iso_ms(stamp)
            self._stamp, self._stamp_ms = stamp, parsed if parsed is not None else 0
        if event_ms > self._stamp_ms + self.max_future_ms:
            return CLOCK_SKEW_FUTURE
        if event_ms < self.min_ms:
            return CLOCK_SKEW_PAST
        return None

    def apply(self, code: str, event_ms: int, stamp: str, result: str, gates: list[GateResult],
              codes: list[str]) -> tuple[str, list[GateResult], list[str]]:
        """The record's (result, gates, reason codes) with the clock-skew WARN added."""
        g1 = gates[0] if gates else None
        if g1 is not None and g1.gate == G1_RESOLUTION and g1.result == PASS:
            skew_s = (event_ms - self._stamp_ms) / 1000
            details = {**(g1.details or {}), "reference_time": stamp, "clock_skew_s": skew_s}
            gates = [GateResult(G1_RESOLUTION, WARN, code, details), *gates[1:]]
        if code not in codes:  # kept within the cap: the signal engines rely on seeing this code
            codes = [*codes[:MAX_REASON_CODES - 1], code]
        return (WARN if result == PASS else result), gates, codes


    def flag_made_elsewhere(self, ev: Evidence, received_at: str) -> Evidence:
        """Evidence another system made (`POST /api/v1/evidence`, the evidence topic's stream processors and
        Spark jobs): its event time is that system's word too, so it is checked against the instant we
        received it. A skewed one gets the same `CLOCK_SKEW:*` code (and at least WARN) as a record would,
        which keeps it out of watermarks and freshness; otherwise the evidence is returned unchanged."""
        v = ev.validation
        if any(c.startswith(CLOCK_SKEW) for c in v.reason_codes):
            return ev
        code = self.code_for(parse_iso_ms(ev.event_time()), received_at)
        if code is None:
            return ev
        codes = [*v.reason_codes[:MAX_REASON_CODES - 1], code]
        return msgspec.structs.replace(ev, validation=Validation(WARN if v.result == PASS else v.result, v.gates,
                                                                 v.failed_gates, codes))
