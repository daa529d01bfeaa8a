"""Deployment markers: loading marker files, their graph form, and deployments inferred from evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from signal_factory.graph.deployments import (
    DeploymentFileError,
    DeploymentMarker,
    infer_deployments,
    load_markers,
    markers_to_graph,
)
from signal_factory.graph.model import Edge
from signal_factory.model.evidence import PASS
from tests.conftest import EXAMPLE
from tests.signals.builders import evidence, ms


def test_loads_the_scenario1_markers() -> None:
    """The example file gives orders-svc v3.16 and v3.17 with commit and description."""
    markers = load_markers(EXAMPLE / "scenario1" / "deployments.jsonl")
    assert [(m.service, m.version, m.at, m.source) for m in markers] == [
        ("orders-svc", "v3.16", "2024-01-12T16:20:00.000Z", "marker"),
        ("orders-svc", "v3.17", "2024-01-15T09:57:45.000Z", "marker")]
    assert markers[1].commit == "9f3c2d1"
    assert markers[1].description == "hotfix: order totals rounding"


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "not a deployment marker"),
    ('{"service": "s", "version": "1"}', "missing required field `at`"),
    ('{"service": "s", "version": "1", "at": "yesterday"}', "`at` 'yesterday' is not an ISO-8601 time"),
    ('{"service": "s", "version": "1", "at": "2024-01-15T09:57:45Z", "sha": "x"}', "unknown field `sha`"),
    ('{"service": " ", "version": "1", "at": "2024-01-15T09:57:45Z"}', "`service` is empty"),
])
def test_a_bad_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    """Every kind of bad line is a DeploymentFileError naming file:line and what is wrong."""
    path = tmp_path / "deploys.jsonl"
    path.write_text('{"service": "s", "version": "0", "at": "2024-01-15T09:00:00Z"}\n\n' + line + "\n")
    with pytest.raises(DeploymentFileError, match=r"deploys\.jsonl:3: .*") as info:
        load_markers(path)
    assert message in str(info.value)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    """An unreadable marker file says which file."""
    with pytest.raises(DeploymentFileError, match=r"nope\.jsonl: cannot read"):
        load_markers(tmp_path / "nope.jsonl")


def test_markers_become_deployment_and_service_nodes() -> None:
    """A marker is a Deployment node at its deploy time, its Service, and Service-[DEPLOYED]->Deployment."""
    nodes, edges = markers_to_graph([DeploymentMarker(service="orders-svc", version="v3.17",
                                                      at="2024-01-15T09:57:45Z", commit="9f3c2d1")])
    dep = next(n for n in nodes if n.kind == "Deployment")
    assert dep.id == "Deployment:orders-svc:v3.17"
    assert dep.ts_ms == ms("2024-01-15T09:57:45Z")
    assert dep.props == {"service": "orders-svc", "version": "v3.17", "deployed_at": "2024-01-15T09:57:45Z",
                         "source": "marker", "inferred": False, "commit": "9f3c2d1"}
    assert edges == [Edge("Service:orders-svc", "DEPLOYED", dep.id, {"at": "2024-01-15T09:57:45Z"})]


T = ms("2024-01-15T09:58:00.000Z")


def test_a_new_version_after_a_known_one_is_inferred_at_its_first_evidence() -> None:
    """The earliest evidence of an unknown version (by event time, not input order) becomes the inferred marker."""
    batch = [evidence(3, T + 500, version="v3.17"), evidence(2, T + 100, "FAIL", version="v3.17"),
             evidence(1, T, version="v3.16")]
    (marker,) = infer_deployments(batch, {("orders-svc", "v3.16")})
    assert (marker.service, marker.version, marker.source) == ("orders-svc", "v3.17", "inferred")
    assert marker.at == marker.first_seen == "2024-01-15T09:58:00.100Z"
    assert marker.first_evidence == batch[1].evidence_id


def test_the_first_version_of_an_unknown_service_is_a_baseline() -> None:
    """With nothing known about a service, its earliest version is not a deploy; the next one is."""
    batch = [evidence(1, T, PASS, version="v3.16"), evidence(2, T + 1000, version="v3.17")]
    assert [m.version for m in infer_deployments(batch, set())] == ["v3.17"]
    assert infer_deployments(batch[:1], set()) == []


def test_untrusted_or_versionless_producers_are_not_inferred() -> None:
    """LOW or NONE confidence, or no version: no marker; known versions neither."""
    low = evidence(1, T, version="v9")
    assert low.producer is not None
    low.producer.confidence = "LOW"
    none = evidence(2, T, version="")
    known = evidence(3, T, version="v3.16")
    assert infer_deployments([low, none, known], {("orders-svc", "v3.16")}) == []
