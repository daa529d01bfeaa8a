"""Signal state: current health per (dataset, engine), Scenario 1 Step 4's item, kept from the signals.

Rules: a signal updates the state unless it is about an older window than the one the state shows
(a late correction of a past window does not overwrite the present). CONTRACT_BREACH state follows
the dataset's window kind only (its `window:`, else the first configured contract window type).
`breach_start` is the first failure event time of the current breach (earliest `first_seen` of the
signal's top failures, else its window start or timestamp) and is kept while the state stays non-OK;
`ok_streak` counts consecutive final OK signals. `last_updated` is the signal's (event-time)
timestamp, so replays give identical states.
"""

from __future__ import annotations

from signal_factory.signals.model import (
    CONTRACT_BREACH,
    OK,
    STATE_KEYS,
    UNKNOWN,
    Signal,
    SignalState,
)


def apply(states: dict[str, dict[str, SignalState]], sig: Signal, contract_window: str, sample_size: int) -> None:
    """Fold one signal into the state table (in place)."""
    if sig.signal_type == CONTRACT_BREACH and sig.window is not None and sig.window.type != contract_window:
        return
    key = STATE_KEYS[sig.signal_type]
    per_urn = states.setdefault(sig.dataset_urn, {})
    prev = per_urn.get(key)
    window_end = sig.window.end if sig.window is not None else sig.timestamp
    if prev is not None and prev.window_end is not None and window_end < prev.window_end:
        return
    healthy = sig.state in (OK, UNKNOWN)
    breach_start = None
    if not healthy:
        if prev is not None and prev.state not in (OK, UNKNOWN) and prev.breach_start is not None:
            breach_start = prev.breach_start
        else:
            firsts = [tf.first_seen for tf in sig.top_failures if tf.first_seen]
            breach_start = min(firsts) if firsts else (sig.window.start if sig.window is not None else sig.timestamp)
    streak = prev.ok_streak if prev is not None else 0
    if not sig.provisional:
        streak = streak + 1 if sig.state == OK else 0 if not healthy else streak
    top = sig.top_failures[0] if sig.top_failures else None
    score, score_metric = _score(sig)
    per_urn[key] = SignalState(
        dataset_urn=sig.dataset_urn, state_key=key, signal_type=sig.signal_type, state=sig.state,
        score=score, score_metric=score_metric, breach_start=breach_start, last_updated=sig.timestamp,
        window_end=window_end,
        failure_signature=top.signature if top else None, top_producer=top.producer if top else None,
        top_producer_version=top.producer_version if top else None,
        evidence_sample=sig.evidence_refs[:sample_size], last_signal_id=sig.signal_id, ok_streak=streak)


SCORE_METRICS = ("compliance_rate", "observed_count", "cost_units", "duration_s", "lag_s", "count")


def _score(sig: Signal) -> tuple[float | None, str | None]:
    """The number the state is about and which metric it is: compliance, observed count, cost, run
    duration, freshness lag in seconds, or a count (new signatures)."""
    for name in SCORE_METRICS:
        value = sig.metrics.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value), name
    return None, None


def listing(states: dict[str, dict[str, SignalState]]) -> list[SignalState]:
    return [states[urn][key] for urn in sorted(states) for key in sorted(states[urn])]
