"""When a contract failure rate is statistically a breach: the early sequential test and the final bound.

Records are modelled as independent trials that fail (a FAIL evidence; PASS and WARN are compliant) with
an unknown probability p. From the dataset's `slo.contract_compliance`:

* budget b = 1 - threshold (0.05 for 0.95): p <= b is a healthy stream (H0);
* critical c = 1 - warning_threshold (0.20 for 0.80): p > c is a CRITICAL one.

EARLY DECISION (provisional signals): a Bernoulli CUSUM (Page's test: a Wald sequential probability ratio
test that restarts whenever the evidence falls back to H0) of H0 p = b against H1 p = c', where
c' = min(2c, (1 + c) / 2), at least 2b: the change it detects fastest is a clear breach (0.40 for the
default SLO, 0.10 for 0.99 / 0.95), while any rate above about 0.9 c still drifts towards the alarm
(above 0.181 for the default SLO).
Per record it adds the log-likelihood ratio, ln(c'/b) for a FAIL and ln((1 - c')/(1 - b)) for a compliant
record, and never goes below 0: `llr` is the evidence, since the estimated change point, that the stream
has left its budget. Each rise from 0 is an *excursion*; the k-th excursion of a 5-minute epoch alarms
when `llr` >= ln(c'/b) + ln(k (k + 1) / alpha) and it holds at least `min_failing` FAILs.

Why that bounds false alarms: at p <= b the likelihood ratio after an excursion's first FAIL is a
non-negative supermartingale from 1, so by Ville's inequality it ever reaches 1 / a with probability
<= a; the excursion's first FAIL itself contributes ln(c'/b). Spending a_k = alpha / (k (k + 1)) on the
k-th excursion of an epoch sums to alpha, so the expected number of false alarms is at most alpha per
5-minute epoch, whatever the volume: busier streams see more excursions and their later ones need more
evidence, while a quiet stream's first excursion needs little. Defaults (EngineConfig): alpha = 0.01,
min_failing = 5. With the default SLO (0.95 / 0.80) the first excursion of an epoch alarms at llr >= 7.38
(ln 8 + ln 200): 5 FAILs among at most 11 records, 6 among 15 (`benchmarks/bench_early_firing` measures
false fires and delays).

Severity of an alarm: CRITICAL when the excursion's failure rate is above c with confidence (Wilson score
lower bound at z, 1.645 = 95% one-sided, above c), else WARNING (the stream is over budget, not yet
provably critical).

After an alarm `llr` is capped at threshold + ln(c'/b): a long breach cannot bank evidence that would keep
the alarm on for thousands of records after it ends (5 compliant records end it with the default SLO).

FINAL WINDOW STATE (`supported_state`): the compliance rule of the spec (>= threshold OK, >=
warning_threshold WARNING, else CRITICAL), but a level needs support: CRITICAL needs >= min_failing FAILs
and the Wilson lower bound of the failure rate above c; WARNING (or a CRITICAL without that support)
needs >= min_failing FAILs and the bound above b; otherwise the window is OK. "1 of 3 failed" is OK.

Hand-written rather than scipy: a few float operations per FAIL on the signal hot path, and the Wilson
bound is a closed formula.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import msgspec

from signal_factory.controlplane.model import ThresholdSlo
from signal_factory.signals.model import CRITICAL, OK, WARNING

EPOCH_MS = 300_000
_MIN_BUDGET = 1e-4
_MAX_RATE = 0.99


class Params(NamedTuple):
    """The test's constants for one SLO and engine settings."""

    budget: float  # b
    critical: float  # c
    fail_llr: float  # ln(c'/b) > 0
    pass_llr: float  # ln((1 - c')/(1 - b)) < 0
    alpha: float
    min_failing: int
    z: float
    score: float  # z^2 c (1 - c): the Wilson bound of f of n is above c iff f > n c and (f - n c)^2 > score n


@lru_cache(maxsize=1024)
def params(threshold: float, warning_threshold: float, alpha: float, min_failing: int, z: float) -> Params:
    """Constants for an SLO (cached: a handful of distinct SLOs per deployment)."""
    b = min(max(1.0 - threshold, _MIN_BUDGET), 0.5)
    c = min(max(1.0 - warning_threshold, b), _MAX_RATE)
    h1 = min(max(min(2.0 * c, (1.0 + c) / 2), 2.0 * b), _MAX_RATE)
    return Params(b, c, math.log(h1 / b), math.log((1.0 - h1) / (1.0 - b)), alpha, min_failing, z,
                  z * z * c * (1.0 - c))


def params_for(slo: ThresholdSlo, alpha: float, min_failing: int, z: float) -> Params:
    return params(slo.threshold, slo.warning_threshold, alpha, min_failing, z)


class EarlyStat(msgspec.Struct, array_like=True):
    """The CUSUM of one dataset's record stream (arrival order), with its current excursion's figures."""

    llr: float = 0.0
    threshold: float = 0.0  # alarm level of the current excursion
    seg_n: int = 0  # records since the excursion's first FAIL (that one included)
    seg_fail: int = 0
    since: str = ""  # event time of the excursion's first FAIL
    epoch: int = 0  # 5-minute epoch (ms) the excursion count belongs to
    excursions: int = 0


class Alarm(NamedTuple):
    """The test's verdict at one FAIL record while it alarms, with the figures a signal reports."""

    state: str
    seg_n: int
    seg_fail: int
    since: str
    llr: float
    threshold: float


def passes(st: EarlyStat, n: int, p: Params) -> None:
    """`n` compliant records (PASS or WARN) in a row."""
    if n > 0 and st.llr > 0.0:
        st.llr += n * p.pass_llr
        st.seg_n += n
        st.llr = max(st.llr, 0.0)


def failure(st: EarlyStat, p: Params, epoch: int, t: str) -> str | None:
    """One FAIL record at event time `t` (its 5-minute epoch `epoch`): the alarm's state if the test alarms now."""
    if epoch > st.epoch:
        st.epoch = epoch
        st.excursions = 0
    if st.llr <= 0.0:
        st.excursions += 1
        k = st.excursions
        st.threshold = p.fail_llr + math.log(k * (k + 1) / p.alpha)
        st.seg_n = st.seg_fail = 0
        st.since = t
    st.llr += p.fail_llr
    st.seg_n += 1
    st.seg_fail += 1
    if st.llr < st.threshold or st.seg_fail < p.min_failing:
        return None
    cap = st.threshold + p.fail_llr
    if st.llr > cap:  # noqa: PLR1730 - a comparison is cheaper than a min() call, once per FAIL record
        st.llr = cap
    excess = st.seg_fail - st.seg_n * p.critical
    return CRITICAL if excess > 0 and excess * excess > p.score * st.seg_n else WARNING


def alarm(st: EarlyStat, state: str) -> Alarm:
    """The figures of the alarm `failure` just raised."""
    return Alarm(state, st.seg_n, st.seg_fail, st.since, st.llr, st.threshold)


def wilson_lower(failed: int, n: int, z: float) -> float:
    """Wilson score lower bound of a proportion (one-sided, `z` standard deviations)."""
    if n <= 0:
        return 0.0
    phat = failed / n
    z2n = z * z / n
    low = (phat + z2n / 2 - z * math.sqrt(phat * (1 - phat) / n + z2n / (4 * n))) / (1 + z2n)
    return low if low > 0.0 else 0.0


def supported_state(failed: int, n: int, slo: ThresholdSlo, p: Params) -> str:
    """The window's final state: the spec's compliance rule, each level backed by the statistics."""
    if n <= 0:
        return OK
    compliance = 1 - failed / n
    if compliance >= slo.threshold or failed < p.min_failing:
        return OK
    low = wilson_lower(failed, n, p.z)
    if compliance < slo.warning_threshold and low > p.critical:
        return CRITICAL
    return WARNING if low > p.budget else OK
