"""The confidence model: documented weights, each factor's score, levels, and the Scenario 1 figure."""

from __future__ import annotations

import pytest

from signal_factory.rca import confidence as conf
from signal_factory.rca.confidence import CauseFacts, producer_match, score

BASE = {"kind": "DEPLOYMENT", "service": "orders-svc", "version": "v3.17", "producer": "orders-svc",
        "producer_version": "v3.17", "producer_match": "exact", "signature": "MISSING_FIELD:customer_id",
        "signature_count": 1120, "concurrent_failures": 1120, "identity": "HIGH", "marker": "marker"}


def _factor(name: str, **changes: object) -> float:
    facts = CauseFacts(**{**BASE, "seconds": 17.0, **changes})  # type: ignore[arg-type]
    return {r.factor: r for r in score(facts).reasons}[name].value


def test_weights_sum_to_one_under_a_ceiling() -> None:
    """Six weights summing to 1; the ceiling keeps 5% for causes the graph cannot see."""
    assert sum(conf.WEIGHTS.values()) == pytest.approx(1.0)
    assert conf.CEILING == 0.95
    perfect = CauseFacts(**{**BASE, "seconds": 0.0, "signature_count": 10**9, "concurrent_failures": 10**9})  # type: ignore[arg-type]
    assert score(perfect).score == pytest.approx(0.95, abs=1e-3)


@pytest.mark.parametrize(("name", "changes", "expected"), [
    ("temporal", {"seconds": 0.0}, 1.0),
    ("temporal", {"seconds": 17.0}, 0.9935),
    ("temporal", {"seconds": 300.0}, 0.8909),
    ("temporal", {"seconds": 1800.0}, 0.5),
    ("temporal", {"seconds": 3 * 3600.0}, 0.0156),
    ("temporal", {"seconds": -60.0}, 0.0),
    ("temporal", {"seconds": None}, 0.0),
    ("temporal", {"kind": "UPSTREAM_DRIFT", "seconds": 41730.0}, 1.0),
    ("temporal", {"kind": "UPSTREAM_DRIFT", "seconds": -5.0}, 0.0),
    ("temporal", {"kind": "UNKNOWN"}, 0.0),
    ("producer_match", {"producer_match": "exact"}, 1.0),
    ("producer_match", {"producer_match": "service"}, 0.6),
    ("producer_match", {"producer_match": "version_mismatch"}, 0.2),
    ("producer_match", {"producer_match": "other_service"}, 0.0),
    ("signature_determinism", {"signature_count": 1120, "concurrent_failures": 1500}, 0.7467),
    ("signature_determinism", {"signature_count": 0, "concurrent_failures": 0}, 0.0),
    ("sample_size", {"signature_count": 1, "concurrent_failures": 1}, 0.0385),
    ("sample_size", {"signature_count": 380, "concurrent_failures": 380}, 0.9383),
    ("identity", {"identity": "HIGH"}, 1.0),
    ("identity", {"identity": "MEDIUM"}, 0.5),
    ("identity", {"identity": "LOW"}, 0.25),
    ("identity", {"identity": None}, 0.0),
    ("cause_marker", {"marker": "inferred"}, 0.4),
    ("cause_marker", {"marker": "drift_edge"}, 0.6),
    ("cause_marker", {"marker": "none"}, 0.0),
])
def test_factor_scores(name: str, changes: dict[str, object], expected: float) -> None:
    """Each factor's 0..1 score for the documented cases."""
    assert _factor(name, **changes) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(("args", "expected"), [
    (("orders-svc", "v3.17", "orders-svc", "v3.17"), "exact"),
    (("orders-svc", "v3.17", "orders-svc", None), "service"),
    (("orders-svc", "v3.17", "orders-svc", "v3.16"), "version_mismatch"),
    (("payments-svc", "v1.2", "orders-svc", "v3.17"), "other_service"),
    (("orders-svc", "v3.17", None, None), "unknown"),
])
def test_producer_match(args: tuple[str, str | None, str | None, str | None], expected: str) -> None:
    """Service and version of the failing evidence against the deployment's."""
    assert producer_match(*args) == expected


@pytest.mark.parametrize(("value", "level"), [(0.946, "HIGH"), (0.8, "HIGH"), (0.79, "MEDIUM"), (0.5, "MEDIUM"),
                                              (0.49, "LOW")])
def test_levels(value: float, level: str) -> None:
    """HIGH from 0.80, MEDIUM from 0.50, LOW below."""
    assert conf.level_of(value) == level


@pytest.mark.parametrize(("seconds", "text"), [(17, "17 s"), (155, "2 min 35 s"), (120, "2 min"),
                                               (41730, "11 h 35 min"), (7200, "2 h"), (200000, "2 d 7 h")])
def test_duration_words(seconds: float, text: str) -> None:
    """Durations read as people say them."""
    assert conf.duration(seconds) == text


@pytest.mark.parametrize(("covered", "count", "value", "level"), [
    (8, 1920, 1.0, "HIGH"),  # all of a spread incident's signatures
    (6, 1440, 0.75, "HIGH"),
    (2, 480, 0.25, "MEDIUM"),  # scores above 0.80, but explains a quarter of the failures: at most MEDIUM
    (0, 0, 0.0, "LOW"),  # none of them is its service's: ruled out anyway
])
def test_spread_coverage(covered: int, count: int, value: float, level: str) -> None:
    """Failures spread over 8 signatures (1,920 failures): `signature_determinism` is the share the cause's
    signatures carry; under half caps the level at MEDIUM whatever the score."""
    facts = CauseFacts(**{**BASE, "seconds": 30.0, "signature_count": count, "concurrent_failures": 1920,  # type: ignore[arg-type]
                          "signatures_covered": covered, "signatures_total": 8,
                          **({"producer_match": "other_service"} if covered == 0 else {})})
    result = score(facts)
    reason = {r.factor: r for r in result.reasons}["signature_determinism"]
    assert reason.value == pytest.approx(value)
    assert result.level == level
    if level == "MEDIUM":
        assert result.score >= conf.HIGH_AT
        assert "at most MEDIUM" in reason.text
