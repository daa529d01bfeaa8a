"""The early test's promises at a small size (seeded): no fires on sub-budget noise, alpha held at the budget,
seconds to CRITICAL on a bad deploy, and the host firing on the record the statistics predict."""

from __future__ import annotations

import math
import random

import pytest
from benchmarks.bench_early_firing import (
    SLOS,
    clean_windows,
    deploy_events,
    engine_params,
    host_cross_check,
    quantile,
    time_to_critical,
)

from signal_factory.signals import significance as stats
from signal_factory.signals.model import CRITICAL, OK, WARNING

DEFAULT = SLOS["0.95/0.80"]
P = engine_params(DEFAULT)


@pytest.mark.parametrize(("volume", "windows"), [(0.1, 2000), (2.0, 500), (50.0, 100), (500.0, 20)])
def test_sub_budget_noise_never_fires(volume: float, windows: int) -> None:
    """0.3% sporadic FAILs (the budget is 5%) never alarm early nor leave a window non-OK, at 0.1 to 500 records/s."""
    out = clean_windows(random.Random(1), P, DEFAULT, volume, 0.003, windows)
    assert sum(o.fired for o in out) == 0
    assert {o.final for o in out} == {OK}


def test_half_the_budget_never_fires_on_a_strict_slo() -> None:
    """A 0.99 / 0.95 SLO with 0.5% FAILs at 50 records/s: no early alarm in 200 windows (83 hours)."""
    slo = SLOS["0.99/0.95"]
    out = clean_windows(random.Random(2), engine_params(slo), slo, 50.0, 0.005, 200)
    assert sum(o.fired for o in out) == 0


def test_false_fires_at_the_budget_stay_under_alpha() -> None:
    """At a FAIL rate equal to the budget, windows with an early alarm stay under alpha (1%) per window."""
    out = clean_windows(random.Random(3), P, DEFAULT, 2.0, P.budget, 2000)
    assert sum(o.fired for o in out) / len(out) <= P.alpha


def test_half_failing_at_two_records_per_second_is_critical_within_ten_seconds() -> None:
    """Poisson 2 records/s, deploy at a random instant after 0.3% noise, 50% FAIL: p95 to CRITICAL <= 10 s."""
    rng = random.Random(4)
    delays = [time_to_critical(deploy_events(rng, 2.0, 0.5), P) for _ in range(300)]
    got = [d for d in delays if d is not None]
    assert len(got) == len(delays)
    assert quantile(got, 0.95) <= 10.0


def test_the_host_fires_on_the_record_the_statistics_predict() -> None:
    """SignalEngineHost, fed the simulated records in batches, fires its first provisional CRITICAL where predicted."""
    same, trials = host_cross_check(20, seed=13)
    assert same == trials


def test_thresholds_spend_alpha_per_excursion_and_reset_per_epoch() -> None:
    """The k-th excursion of a 5-minute epoch needs ln(c'/b) + ln(k(k+1)/alpha); a new epoch starts at k = 1 again."""
    st = stats.EarlyStat()
    assert stats.failure(st, P, 0, "a") is None
    assert st.threshold == pytest.approx(P.fail_llr + math.log(2 / P.alpha))
    stats.passes(st, 100, P)
    stats.failure(st, P, 0, "b")
    assert st.threshold == pytest.approx(P.fail_llr + math.log(6 / P.alpha))
    stats.passes(st, 100, P)
    stats.failure(st, P, stats.EPOCH_MS, "c")
    assert (st.excursions, st.since) == (1, "c")
    states = [stats.failure(st, P, stats.EPOCH_MS, "d") for _ in range(4)]
    assert states == [None, None, None, CRITICAL]


def test_the_alarm_ends_soon_after_the_breach_does() -> None:
    """After 1,000 FAILs, a handful of compliant records bring the statistic back under its alarm level."""
    st = stats.EarlyStat()
    for _ in range(1000):
        stats.failure(st, P, 0, "t")
    stats.passes(st, 5, P)
    assert stats.failure(st, P, 0, "t") is not None  # one more FAIL right away still alarms
    stats.passes(st, 10, P)
    assert st.llr < st.threshold


@pytest.mark.parametrize(("failed", "n", "state"), [
    (1, 3, OK), (4, 4, OK), (5, 5, CRITICAL), (8, 100, OK), (100, 1000, WARNING), (1120, 1247, CRITICAL),
    (40, 160, WARNING), (0, 0, OK)])
def test_final_state_is_backed_by_the_wilson_bound(failed: int, n: int, state: str) -> None:
    """Final windows: >= 5 FAILs and the 95% lower bound above the budget (WARNING) or the critical rate (CRITICAL)."""
    assert stats.supported_state(failed, n, DEFAULT, P) == state
