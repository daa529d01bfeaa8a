"""Engine settings: which windows run, watermark and lateness, early firing and baseline tuning.

One frozen object with documented defaults; it travels inside a host snapshot so a restored host keeps
the settings it was started with unless the caller passes new ones.
"""

from __future__ import annotations

import msgspec

from signal_factory.errors import SignalFactoryError
from signal_factory.signals.model import SLIDING_15MIN, TUMBLING_1HR, TUMBLING_5MIN

MINUTE_MS = 60_000
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS


class EngineConfigError(SignalFactoryError):
    """An engine setting is out of range or names a window type that does not exist."""


class EngineConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Signal-engine settings (defaults are what the product ships with).

    * `contract_windows`: windows CONTRACT_BREACH runs on; the first one drives the signal state. A dataset
      with its own `window:` (datasets.yaml) runs on that kind alone.
    * `volume_window`: the window VOLUME_ANOMALY counts in.
    * `out_of_orderness_ms`: watermark = max event time seen for the dataset minus this.
    * `allowed_lateness_ms`: evidence for a closed window is still accepted (corrected signal) until
      the watermark passes window end + this; later evidence is counted as `late_dropped_count`.
    * `early_alpha`: expected false early alarms per dataset per 5 minutes at a failure rate equal to the
      SLO's budget (the sequential test's level, see significance.py); `min_failing`: FAILs a window or an
      excursion needs before it can be WARNING or CRITICAL; `confidence_z`: the one-sided Wilson bound
      that backs a level (1.645 = 95%); `early_update_step`: a provisional update needs the window's
      failure rate to have risen by this much and at least doubled since the last one.
    * `freshness_critical_factor`: lag beyond expected_interval is WARNING, beyond this many times it, CRITICAL.
    * `drift_lookback_ms`: a failure signature unseen for this long is drift again.
    * `drift_max_signals_per_window`, `drift_memory_max_signatures`: drift cardinality caps (see drift.py).
    * `volume_history_ms`: how much per-window count history volume baselines keep (bounded state).
    * `max_empty_windows`: empty volume windows filled in one step after a silence (older ones are skipped).
    * `cost_*`: COST_ANOMALY baseline (runs of the same job) and its MAD tolerance.
    * `batch_run_timeout_ms`, `batch_pending_runs`: batch-run evidence waits for its run's totals this
      long after its last evidence (by the freshness clock), and at most this many runs wait (runs.py).
    """

    contract_windows: tuple[str, ...] = (TUMBLING_5MIN,)
    volume_window: str = TUMBLING_1HR
    out_of_orderness_ms: int = 30_000
    allowed_lateness_ms: int = 5 * MINUTE_MS
    early_alpha: float = 0.01
    min_failing: int = 5
    confidence_z: float = 1.645
    early_update_step: float = 0.10
    freshness_critical_factor: float = 2.0
    drift_lookback_ms: int = 30 * DAY_MS
    drift_max_signals_per_window: int = 20
    drift_memory_max_signatures: int = 10_000
    volume_history_ms: int = 8 * WEEK_MS
    max_empty_windows: int = 168
    cost_min_history: int = 5
    cost_history_runs: int = 30
    cost_tolerance: float = 3.0
    evidence_sample_size: int = 3
    batch_run_timeout_ms: int = DAY_MS
    batch_pending_runs: int = 1000

    def __post_init__(self) -> None:
        known = (TUMBLING_5MIN, TUMBLING_1HR, SLIDING_15MIN)
        for name in (*self.contract_windows, self.volume_window):
            if name not in known:
                raise EngineConfigError(f"unknown window type {name!r}; expected one of {', '.join(known)}")
        if not self.contract_windows:
            raise EngineConfigError("contract_windows is empty; give at least one window type, e.g. TUMBLING_5MIN")
        if self.out_of_orderness_ms < 0 or self.allowed_lateness_ms < 0:
            raise EngineConfigError("out_of_orderness_ms and allowed_lateness_ms must be >= 0 (milliseconds)")
        if self.min_failing < 1 or self.cost_min_history < 1:
            raise EngineConfigError("min_failing and cost_min_history must be >= 1")
        if self.drift_max_signals_per_window < 1 or self.drift_memory_max_signatures < 1:
            raise EngineConfigError("drift_max_signals_per_window and drift_memory_max_signatures must be >= 1")
        if not 0 < self.early_alpha < 1 or self.confidence_z <= 0 or not 0 < self.early_update_step <= 1:
            raise EngineConfigError("early_alpha must be in (0, 1), confidence_z > 0 and early_update_step in (0, 1], "
                                    "e.g. 0.01, 1.645 and 0.10")
        if self.batch_pending_runs < 1:
            raise EngineConfigError("batch_pending_runs must be >= 1")
