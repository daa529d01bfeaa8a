"""DRIFT_DETECTED: a failure signature the dataset has not shown in the last 30 days.

Checked for each (dataset, signature) of a batch at its first sighting there (earliest event time,
ties by evidence id), and for each signature a batch run reports (at the run's end). It is new unless
the engine's own memory or the store (`SignatureHistory`) has it for this dataset within
`drift_lookback_ms` before that instant. A new one gives a WARNING POINT signal timestamped at the
first sighting, with details:

* `drift_type`: ENUM_VALUE_DRIFT for `UNKNOWN_ENUM:field:value` (then `field`, `new_value`,
  `expected_values` - from the evidence's G4 `violated_rule.expected`, else the dataset's contract),
  SCHEMA_DRIFT for shape signatures (missing field, type or schema mismatch), else NEW_FAILURE_SIGNATURE;
* `first_seen_in_source`: earliest sighting in an upstream dataset (FEEDS, up to 3 hops back) the
  engine remembers, else this one; `upstream_dataset`: from the run or the evidence lineage, else the
  upstream dataset where it was first seen.

Memory per dataset: signature -> first and last sighting of the current episode; entries older than
the lookback are forgotten (the store still answers for them).

BOUNDED CARDINALITY (a producer chooses its reason codes, so it could choose 10,000 distinct ones):

* at most `drift_max_signals_per_window` (20) new-signature signals per dataset per five-minute group
  window (`DRIFT_GROUP_MS`, by first sighting); the first new signature past the cap gives ONE overflow
  signal (`signature` OTHER_NEW_SIGNATURES, `drift_type` SIGNATURE_OVERFLOW) and later ones in that window
  give none - so a dataset has at most 21 drift signals per five minutes, whatever it receives;
* at most `drift_memory_max_signatures` (10,000) remembered signatures per dataset: past that the ones
  seen longest ago are forgotten first (the store's history still answers for them).
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.model.evidence import G4_CONTRACT, Evidence
from signal_factory.model.timefmt import iso_ms, parse_iso_ms
from signal_factory.signals.config import EngineConfig
from signal_factory.signals.intake import Failure
from signal_factory.signals.model import (
    DRIFT_DETECTED,
    POINT,
    WARNING,
    BatchRunTotals,
    Signal,
    TopFailure,
    Window,
    signal_id_for,
)

ENUM_VALUE_DRIFT = "ENUM_VALUE_DRIFT"
SCHEMA_DRIFT = "SCHEMA_DRIFT"
NEW_FAILURE_SIGNATURE = "NEW_FAILURE_SIGNATURE"
_SCHEMA_KINDS = {"MISSING_FIELD", "TYPE_MISMATCH", "SCHEMA_MISMATCH", "UNKNOWN_SCHEMA"}
_UPSTREAM_HOPS = 3
#: New-signature drift is counted per dataset in tumbling windows of this length (by first sighting).
DRIFT_GROUP_MS = 5 * 60_000
SIGNATURE_OVERFLOW = "SIGNATURE_OVERFLOW"
OVERFLOW_SIGNATURE = "OTHER_NEW_SIGNATURES"


class SignatureHistory(Protocol):
    """What the drift engine needs from storage (the evidence store implements it)."""

    def last_seen(self, dataset_urn: str, signature: str, before_ms: int) -> int | None:
        """Latest event time (< before_ms) at which this dataset showed this signature, or None."""
        ...


class Seen(msgspec.Struct, array_like=True):
    first_ms: int
    last_ms: int


class DriftGroup(msgspec.Struct, array_like=True):
    """Drift signals of one dataset in its current group window: how many were given, and whether the
    overflow signal was."""

    start_ms: int
    emitted: int = 0
    overflowed: bool = False


class DriftState(msgspec.Struct):
    seen: dict[str, dict[str, Seen]] = msgspec.field(default_factory=dict)  # urn -> signature -> episode
    groups: dict[str, DriftGroup] = msgspec.field(default_factory=dict)  # urn -> current group window


class Sighting(msgspec.Struct, frozen=True):
    """A signature in a dataset: first and last instant in this input, count, and the first evidence."""

    urn: str
    signature: str
    first_ms: int
    last_ms: int
    count: int
    evidence: Evidence | None = None
    upstream_dataset: str | None = None


def sightings(failures: list[Failure]) -> list[Sighting]:
    """The batch's non-PASS evidence, per (dataset, signature), in a deterministic order."""
    firsts: dict[tuple[str, str], list[Any]] = {}
    for f in failures:
        ev = f.ev
        for code in ev.validation.reason_codes or ("UNSPECIFIED",):
            key = (ev.dataset_urn, code)
            hit = firsts.get(key)
            if hit is None:
                firsts[key] = [f.t, ev.evidence_id, ev, f.t, 1]
                continue
            hit[4] += 1
            if (f.t, ev.evidence_id) < (hit[0], hit[1]):
                hit[0], hit[1], hit[2] = f.t, ev.evidence_id, ev
            hit[3] = max(hit[3], f.t)
    out = []
    for (urn, code), (first, _, ev, last, n) in sorted(firsts.items(), key=lambda kv: (kv[1][0], kv[0])):
        first_ms, last_ms = parse_iso_ms(first), parse_iso_ms(last)
        if first_ms is None or last_ms is None:
            continue
        out.append(Sighting(urn, code, first_ms, last_ms, n, ev, _lineage_upstream(ev)))
    return out


def run_sightings(run: BatchRunTotals) -> list[Sighting]:
    at = parse_iso_ms(run.ended_at) or parse_iso_ms(run.started_at) or 0
    return [Sighting(run.dataset_urn, sig, at, at, n, None, run.upstream_dataset)
            for sig, n in sorted(run.failure_signatures.items())]


class DriftEngine:
    def __init__(self, cp: ControlPlane, cfg: EngineConfig, state: DriftState,
                 history: SignatureHistory | None = None) -> None:
        self.cp = cp
        self.cfg = cfg
        self.state = state
        self.history = history
        self.upstream: dict[str, list[str]] = {}
        for urn, ds in sorted(cp.datasets.items()):
            for edge in ds.feeds:
                self.upstream.setdefault(edge.to, []).append(urn)

    def is_new(self, urn: str, signature: str, at_ms: int) -> bool:
        """Not seen by this dataset within the lookback before `at_ms` (memory first, then the store)."""
        since = at_ms - self.cfg.drift_lookback_ms
        mem = self.state.seen.get(urn, {}).get(signature)
        if mem is not None and mem.last_ms >= since:
            return False
        if self.history is not None:
            last = self.history.last_seen(urn, signature, at_ms)
            if last is not None and last >= since:
                return False
        return True

    def observe(self, found: list[Sighting]) -> tuple[list[Signal], dict[tuple[str, str], bool]]:
        """Drift signals for new signatures, and is-new per (dataset, signature); remembers them all."""
        out: list[Signal] = []
        new: dict[tuple[str, str], bool] = {}
        for s in found:
            fresh = self.is_new(s.urn, s.signature, s.first_ms)
            new[(s.urn, s.signature)] = fresh
            if fresh:
                signal = self._admit(s)
                if signal is not None:
                    out.append(signal)
            memory = self.state.seen.setdefault(s.urn, {})
            mem = memory.get(s.signature)
            if fresh or mem is None:
                memory[s.signature] = Seen(s.first_ms, s.last_ms)
            elif s.last_ms > mem.last_ms:
                mem.last_ms = s.last_ms
        for urn in {s.urn for s in found}:
            memory = self.state.seen[urn]
            horizon = max(m.last_ms for m in memory.values()) - self.cfg.drift_lookback_ms
            for sig in [k for k, m in memory.items() if m.last_ms < horizon]:
                del memory[sig]
            cap = self.cfg.drift_memory_max_signatures
            if len(memory) > cap:  # forget the signatures seen longest ago; the store still knows them
                keep = sorted(memory.items(), key=lambda kv: (-kv[1].last_ms, kv[0]))[:cap]
                self.state.seen[urn] = dict(keep)
        return out, new

    def _admit(self, s: Sighting) -> Signal | None:
        """The drift signal of a new signature, the window's overflow signal, or None past the cap.
        A late sighting (of a window before the current one) counts against the current window."""
        start = s.first_ms - s.first_ms % DRIFT_GROUP_MS
        group = self.state.groups.get(s.urn)
        if group is None or start > group.start_ms:
            group = self.state.groups[s.urn] = DriftGroup(start)
        if group.emitted < self.cfg.drift_max_signals_per_window:
            group.emitted += 1
            return self._signal(s)
        if group.overflowed:
            return None
        group.overflowed = True
        return self._signal(msgspec.structs.replace(s, signature=OVERFLOW_SIGNATURE), group_start=group.start_ms)

    def _signal(self, s: Sighting, *, group_start: int | None = None) -> Signal:
        stamp = iso_ms(s.first_ms)
        source_urn, source_ms = self._first_upstream(s.urn, s.signature)
        ev = s.evidence
        producer = ev.producer if ev is not None else None
        details: dict[str, Any] = {"drift_type": _drift_type(s.signature), "signature": s.signature}
        if group_start is not None:  # the overflow signal of a group window
            details.update(drift_type=SIGNATURE_OVERFLOW, cap=self.cfg.drift_max_signals_per_window,
                           window_start=iso_ms(group_start))
        kind, _, rest = s.signature.partition(":")
        if kind == "UNKNOWN_ENUM":
            field, _, value = rest.partition(":")
            expected = _expected_from_evidence(ev, s.signature) or self._contract_enum(s.urn, field)
            details.update(field=field, new_value=value or None, expected_values=expected)
        details["first_seen_in_source"] = iso_ms(min(source_ms, s.first_ms) if source_ms is not None else s.first_ms)
        details["upstream_dataset"] = s.upstream_dataset or source_urn
        # A stream sighting's count depends on where the batch was cut: report only the first occurrence,
        # so signals do not depend on batch boundaries. A batch run's count is the run's own total.
        count = s.count if ev is None else 1
        return Signal(
            signal_id=signal_id_for(DRIFT_DETECTED, s.urn, POINT, f"{stamp}#{s.signature}", s.first_ms, 1),
            signal_type=DRIFT_DETECTED, dataset_urn=s.urn, state=WARNING, window=Window(stamp, stamp, POINT),
            timestamp=stamp, metrics={"count": count}, details=details, revision=1,
            top_failures=[TopFailure(s.signature, count, stamp, producer.id if producer else None,
                                     producer.version if producer else None, True)],
            evidence_refs=[ev.evidence_id] if ev is not None else [])

    def _first_upstream(self, urn: str, signature: str) -> tuple[str | None, int | None]:
        """The upstream dataset (up to 3 FEEDS hops back) that showed this signature first, and when."""
        best: tuple[int, str] | None = None
        frontier, visited = [urn], {urn}
        for _ in range(_UPSTREAM_HOPS):
            frontier = [u for d in frontier for u in self.upstream.get(d, ()) if u not in visited]
            visited.update(frontier)
            for up in frontier:
                mem = self.state.seen.get(up, {}).get(signature)
                if mem is not None and (best is None or (mem.first_ms, up) < best):
                    best = (mem.first_ms, up)
        return (best[1], best[0]) if best is not None else (None, None)

    def _contract_enum(self, urn: str, field: str) -> list[Any] | None:
        ds = self.cp.datasets.get(urn)
        contract = self.cp.contract_for(ds) if ds is not None else None
        if contract is None:
            return None
        for rule in contract.rules:
            for sub in rule.walk():
                if sub.name == field and sub.enum_values:
                    return list(sub.enum_values)
        return None


def _drift_type(signature: str) -> str:
    kind = signature.partition(":")[0]
    if kind == "UNKNOWN_ENUM":
        return ENUM_VALUE_DRIFT
    return SCHEMA_DRIFT if kind in _SCHEMA_KINDS else NEW_FAILURE_SIGNATURE


def _expected_from_evidence(ev: Evidence | None, signature: str) -> list[Any] | None:
    """`violated_rule.expected` of the G4 result (or its other violations) that carries this signature."""
    if ev is None:
        return None
    for gate in ev.validation.gates:
        if gate.gate != G4_CONTRACT or not gate.details:
            continue
        rules = [(gate.reason_code, gate.details.get("violated_rule"))]
        rules += [(o.get("reason_code"), o.get("rule")) for o in gate.details.get("other_violations") or ()
                  if isinstance(o, dict)]
        for code, rule in rules:
            if code == signature and isinstance(rule, dict) and isinstance(rule.get("expected"), list):
                return list(rule["expected"])
    return None


def _lineage_upstream(ev: Evidence | None) -> str | None:
    lin = ev.lineage if ev is not None else None
    if lin is None:
        return None
    return lin.upstream_dataset or (lin.upstream_urns[0] if lin.upstream_urns else None)
