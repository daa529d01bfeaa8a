"""The detection-quality benchmark: its labels, its scorer, its CLI, and the paging targets of issue 13."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import pytest
from benchmarks.detection.__main__ import main, run_suite
from benchmarks.detection.labels import CONTRACT, FRESHNESS, VOLUME, Cause, PageLabel
from benchmarks.detection.runner import Page, Rca
from benchmarks.detection.scoring import ScenarioScore, f1, percentile, score, totals
from benchmarks.detection.stream_scenarios import bad_deploy
from benchmarks.detection.suite import scenarios
from benchmarks.detection.world import big_world, shop_world

from signal_factory.controlplane.loader import load_control_plane

CLEAN = {"clean_24h", "sub_threshold"}


@pytest.fixture(scope="module")
def small() -> list:
    return list(scenarios("small"))


def test_generated_control_planes_load(tmp_path: Path) -> None:
    """Both generated worlds pass the real control-plane loader; the big one has 40 datasets and 15 services."""
    shop = load_control_plane(shop_world().write(tmp_path / "shop"))
    big = load_control_plane(big_world().write(tmp_path / "big"))
    assert len(shop.datasets) == 11
    assert len(big.datasets) == 40
    assert len({p for ds in big.datasets.values() for p in ds.producers}) == 15


def test_labels_agree_with_the_generated_records(small: list) -> None:
    """Every label names a real dataset, its onset is the first record its cause broke, its blast radius is the
    world's downstream set; clean scenarios carry no label."""
    names = {sc.name for sc in small}
    assert names >= CLEAN
    for sc in small:
        if sc.name in CLEAN:
            assert sc.pages == [], sc.name
            assert sc.clean_ms == sc.end_ms - sc.start_ms
            continue
        assert sc.pages, sc.name
        versions = {(m["service"], m["version"]) for m in sc.markers}
        for label in sc.pages:
            assert label.dataset in sc.world.datasets
            assert label.blast_radius == sc.world.downstream(label.dataset)
            assert label.blast_radius <= set(sc.world.datasets) - {label.dataset}
            assert (label.cause.service, label.cause.version) in versions, (sc.name, label.cause)
            topic = next((t for t in sc.world.topics.values() if t.urn == label.dataset), None)
            mine = [r for r in sc.records if topic is not None and r.topic == topic.name]
            if label.kind == CONTRACT:
                bad = [r for r in mine if r.faulty]
                assert min(r.event_ms for r in bad) == label.onset_ms
                assert {(r.service, r.version) for r in bad} == {(label.cause.service, label.cause.version)}
                assert all(not r.faulty for r in mine if r.event_ms < label.onset_ms)
            elif label.kind == FRESHNESS:
                assert not [r for r in mine if label.onset_ms <= r.event_ms < label.end_ms]
                assert [r for r in mine if r.event_ms < label.onset_ms]
            elif label.kind == VOLUME:
                hour = 3_600_000
                before = sum(1 for r in mine if label.onset_ms - hour <= r.event_ms < label.onset_ms)
                after = sum(1 for r in mine if label.onset_ms <= r.event_ms < label.onset_ms + hour)
                assert after < 0.2 * before
        assert sc.clean_ms < sc.end_ms - sc.start_ms or sc.batch is not None
        if sc.batch is None:  # a stream breakage's bad records all fall outside the clean ranges
            assert not [r for r in sc.records if r.faulty and any(lo <= r.event_ms < hi for lo, hi in sc.clean_ranges)]


def test_records_arrive_out_of_order_only_where_a_scenario_says_so(small: list) -> None:
    """The late scenario's arrival order differs from event order, with records later than the allowed lateness."""
    for sc in small:
        late = [r.arrival_ms - r.event_ms for r in sc.records]
        if sc.arrival_order:
            assert max(late) > 5 * 60_000
            assert [r.event_ms for r in sc.records] != sorted(r.event_ms for r in sc.records)
        else:
            assert max(late) < 1000


def test_generation_is_deterministic() -> None:
    """The same seed gives the same bytes; another seed gives other records."""
    a, b, c = bad_deploy("small", 1), bad_deploy("small", 1), bad_deploy("small", 2)
    assert [r.line for r in a.records] == [r.line for r in b.records]
    assert a.markers == b.markers
    assert [r.line for r in a.records] != [r.line for r in c.records]


def _page(incident: str, dataset: str, at: int, severity: str = "SEV-2") -> Page:
    return Page(incident, dataset, "CONTRACT_BREACH", "MISSING_FIELD:x", "t", at, severity)


def test_scorer_on_a_hand_made_example() -> None:
    """Precision, recall, false pages, latencies, top-1 and blast-radius F1 on pages whose answers are known."""
    a = PageLabel("urn:dp:a:x", CONTRACT, 1_000_000, 2_000_000, Cause("a-svc", "v2"),
                  frozenset({"urn:dp:a:b", "urn:dp:a:c"}), expect_sev1=True, fast=True)
    b = PageLabel("urn:dp:b:x", CONTRACT, 1_000_000, 2_000_000, Cause("b-svc", "v9"), frozenset(), expect_sev1=True)
    missed = PageLabel("urn:dp:c:x", CONTRACT, 1_000_000, 2_000_000, Cause("c-svc", "v1"), frozenset(),
                       expect_sev1=False)
    pages = [
        _page("INC-1", "urn:dp:a:x", 1_004_000),                       # a: first page after 4 s
        _page("INC-1", "urn:dp:a:x", 1_009_000, "SEV-1"),              # a: escalation after 9 s (true, extra)
        _page("INC-2", "urn:dp:b:x", 1_030_000),                       # b: SEV-2 only, wrong version
        _page("INC-3", "urn:dp:a:x", 999_000),                         # before a's onset: false
        _page("INC-4", "urn:dp:z:x", 1_500_000, "SEV-1"),              # no label on z: false
    ]
    rcas = {"INC-1": Rca("DEPLOYMENT", "a-svc", "v2", 0.9, ["urn:dp:a:b", "urn:dp:a:x"]),
            "INC-2": Rca("DEPLOYMENT", "b-svc", "v8", 0.9, []),
            "INC-3": Rca(error="boom"), "INC-4": Rca()}
    s = score("hand", "", 10, 1.0, 12 * 3_600_000, [a, b, missed], pages, rcas)
    assert (s.pages, s.true_pages, len(s.false_pages)) == (5, 3, 2)
    assert s.precision == pytest.approx(3 / 5)
    assert s.recall == pytest.approx(2 / 3)
    la, lb, lc = s.labels
    assert (la.first_page_s, la.sev1_s, la.top1) == (4.0, 9.0, True)
    assert la.blast_f1 == pytest.approx(2 * 0.5 * 1.0 / 1.5)  # predicted {b}, truth {b, c}
    assert (lb.first_page_s, lb.top1, lb.blast_f1) == (30.0, False, 1.0)
    assert math.isinf(lb.sev1_s or 0)
    assert (lc.detected, lc.sev1_s, lc.top1) == (False, None, None)
    t = totals([s])
    assert t.false_per_24h == pytest.approx(4.0)
    assert t.top1_accuracy == pytest.approx(0.5)
    assert t.sev1_fast == [9.0]
    assert t.false_sev1 == 1


def test_f1_and_percentile() -> None:
    """F1 of sets (both empty is perfect) and nearest-rank percentiles (infinite values sort last)."""
    assert f1(set(), set()) == 1.0
    assert f1({"a"}, set()) == 0.0
    assert f1({"a", "b"}, {"b", "c"}) == pytest.approx(0.5)
    assert percentile([], 95) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 21)], 95) == 19.0
    assert math.isinf(percentile([1.0, math.inf], 95) or 0)


def test_cli_json_scores_one_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    """`--json` prints totals and per-scenario labels that a tool can read back."""
    assert main(["--size", "small", "--json", "--only", "bad_deploy"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["size"] == "small"
    (sc,) = out["scenarios"]
    assert sc["name"] == "bad_deploy"
    (label,) = sc["labels"]
    assert label["cause"] == {"service": "orders-svc", "version": "v3.17", "kind": "deploy"}
    assert label["detected"] is True
    assert out["totals"]["records"] == sc["records"] > 1000


@pytest.fixture(scope="module")
def small_scores() -> list[ScenarioScore]:
    """The CI-sized suite, run once through the real pipeline for the three target tests."""
    return run_suite("small")


def test_no_false_pages_on_the_small_suite(small_scores: list[ScenarioScore]) -> None:
    """Issue 13 target: not one SEV-1/SEV-2 page that no labelled breakage explains."""
    false = defaultdict(list)
    for s in small_scores:
        for p in s.false_pages:
            false[s.name].append(f"{p.severity} {p.dataset} {p.signature}")
    assert totals(small_scores).false_pages == 0, dict(false)


def test_every_labelled_incident_pages_with_the_right_root_cause(small_scores: list[ScenarioScore]) -> None:
    """Issue 13 target: 100% top-1 root cause - every labelled incident paged, its RCA naming the cause."""
    wrong = [f"{s.name}: {ls.label.dataset} {ls.rca or 'not paged'}" for s in small_scores for ls in s.labels
             if not ls.top1]
    t = totals(small_scores)
    assert t.top1 == t.labels, wrong


def test_sev1_within_10_seconds_on_fast_breaches(small_scores: list[ScenarioScore]) -> None:
    """Issue 13 target: SEV-1 p95 <= 10 s of event time after the first failing record (>= 2 rec/s, >= 50%)."""
    t = totals(small_scores)
    p95 = percentile(t.sev1_fast, 95)
    assert p95 is not None
    assert p95 <= 10.0, t.sev1_fast
