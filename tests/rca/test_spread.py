"""RCA of incidents keyed by their signal type (failures spread over many codes, none dominant), replayed
through the real pipeline: the deployment common to the top failures is the cause, named top-1 with the
signatures it covers; coverage short of all of them lowers the confidence and is said; no deployment is UNKNOWN."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from signal_factory.api.service import ApiService
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.rca.analyze import analyze
from signal_factory.rca.render import chain_lines, to_markdown
from signal_factory.rca.report import RCAReport
from signal_factory.runtime.replay import ReplayService
from signal_factory.stores.memory import MemoryStore
from tests.cli.test_cli import _run
from tests.conftest import EXAMPLE
from tests.rca.spread_traffic import CODES, ORDERS, one_deploy_eight_codes

OTHER = {"OUT_OF_RANGE:total_amount": "checkout-svc", "TYPE_MISMATCH:total_amount": "checkout-svc"}


def _replay(cp: ControlPlane, folder: Path, *, other: dict[str, str] | None = None, deployments: bool = True,
            version: str = "v3.18") -> MemoryStore:
    folder.mkdir(exist_ok=True)
    traffic, markers = one_deploy_eight_codes(folder, other=other, version=version)
    store = MemoryStore()
    ReplayService(cp, store, Enforcer(cp)).replay([traffic], deployments=[markers] if deployments else [])
    return store


def _report(store: MemoryStore, cp: ControlPlane) -> RCAReport:
    [incident] = store.incidents.list()
    return analyze(store, incident_id=incident.incident_id, catalog=cp.datasets, now=0)


@pytest.fixture(scope="module")
def eight_codes(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> MemoryStore:
    """One deploy breaks orders:created eight ways, replayed with its deployment markers."""
    return _replay(control_plane, tmp_path_factory.mktemp("spread"))


def test_one_deploy_eight_codes_is_one_incident_keyed_by_type(eight_codes: MemoryStore) -> None:
    """No code holds half of the failures: one SEV-1 incident for the dataset, keyed CONTRACT_BREACH."""
    [incident] = eight_codes.incidents.list()
    assert (incident.incident_id, incident.severity, incident.failure_signature, incident.dataset_urn) == (
        "INC-1", "SEV-1", "CONTRACT_BREACH", ORDERS)


def test_rca_names_the_deploy_and_lists_the_eight_codes(eight_codes: MemoryStore, control_plane: ControlPlane) -> None:
    """Top-1 is orders-svc v3.18 (30 s before the first failure, its records carry every code), HIGH; the report
    lists the eight codes, each explained by it; the innocent inventory-svc deploy is ruled out."""
    report = _report(eight_codes, control_plane)
    rc = report.root_cause
    assert (rc.kind, rc.service, rc.version, rc.commit) == ("DEPLOYMENT", "orders-svc", "v3.18", "abc1234")
    assert rc.seconds_to_first_failure == 30.0
    assert sorted(rc.signatures) == sorted(CODES)
    assert sorted(s.reason_code for s in report.signatures) == sorted(CODES)
    assert all(s.explained and (s.producer, s.producer_version) == ("orders-svc", "v3.18") for s in report.signatures)
    assert sum(s.count for s in report.signatures) == 1920  # 80% of the 2,400 records after the deploy
    assert report.confidence.level == "HIGH"
    assert "introduced all 8 failure signatures of this incident on urn:dp:orders:created" in rc.statement
    assert "CONTRACT_BREACH" not in rc.statement  # the signal type is not a failure signature
    [alt] = report.alternatives
    assert (alt.service, alt.verdict) == ("inventory-svc", "ruled_out")
    assert report.actions[0].startswith("Roll back orders-svc to v3.17")
    assert "breaks 8 contract checks at once" in report.actions[2]
    assert report.concurrent_signatures == []  # its own codes are not "analysed separately"
    assert "Signatures: the cause covers all 8 signatures of the incident (1,920 failures)" in chain_lines(report)
    assert "| `MISSING_FIELD:customer_id` | 240 |" in to_markdown(report)


def test_partial_coverage_lowers_confidence_and_says_what_is_unexplained(control_plane: ControlPlane,
                                                                         tmp_path: Path) -> None:
    """Two of the eight codes come from another service (checkout-svc, no deploy): the deploy is still top-1, but
    covers 6 of 8 signatures, says which two it does not explain, and scores below the full-coverage case."""
    full = _report(_replay(control_plane, tmp_path / "full"), control_plane)
    report = _report(_replay(control_plane, tmp_path / "part", other=OTHER), control_plane)
    rc = report.root_cause
    assert (rc.service, rc.version) == ("orders-svc", "v3.18")
    assert sorted(rc.signatures) == sorted(c for c in CODES if c not in OTHER)
    unexplained = {s.reason_code: s for s in report.signatures if not s.explained}
    assert sorted(unexplained) == sorted(OTHER)
    assert all(s.producer == "checkout-svc" for s in unexplained.values())
    assert "introduced 6 of the 8 failure signatures" in rc.statement
    assert "It does not explain OUT_OF_RANGE:total_amount and TYPE_MISMATCH:total_amount." in rc.statement
    coverage = next(r for r in report.confidence.reasons if r.factor == "signature_determinism")
    assert 0.6 < coverage.value < 0.9
    assert "covers 6 of the incident's 8 signatures" in coverage.text
    assert report.confidence.score < full.confidence.score


def test_deploy_without_marker_is_inferred_from_the_new_version(control_plane: ControlPlane, tmp_path: Path) -> None:
    """Without deployment markers, the new version in the evidence is the deployment (inferred, said so)."""
    report = _report(_replay(control_plane, tmp_path, deployments=False), control_plane)
    rc = report.root_cause
    assert (rc.kind, rc.service, rc.version, rc.inferred) == ("DEPLOYMENT", "orders-svc", "v3.18", True)
    assert "inferred from the evidence, no deployment marker" in rc.statement
    assert sorted(rc.signatures) == sorted(CODES)


def test_no_deployment_is_unknown_and_low(control_plane: ControlPlane, tmp_path: Path) -> None:
    """The same breakage with no new version and no marker: cause UNKNOWN, LOW, the codes named, the producer
    of the failing records said, and coverage read as the largest code's share."""
    report = _report(_replay(control_plane, tmp_path, deployments=False, version="v3.17"), control_plane)
    rc = report.root_cause
    assert rc.kind == "UNKNOWN"
    assert report.confidence.level == "LOW"
    assert "No deployment in the graph explains the 8 failure signatures on urn:dp:orders:created" in rc.statement
    assert "the first failing records come from orders-svc v3.17 (HIGH identity)" in rc.statement
    assert not any(s.explained for s in report.signatures)
    coverage = next(r for r in report.confidence.reasons if r.factor == "signature_determinism")
    assert coverage.text.startswith("the failures are spread over 8 signatures; the largest")
    assert report.actions[0].startswith("Inspect the primary evidence")


def test_api_and_cli_give_the_same_report(eight_codes: MemoryStore, control_plane: ControlPlane,
                                          tmp_path: Path) -> None:
    """`GET /api/v1/rca/incidents/INC-1` (its service) and `signal-factory rca INC-1 --format json` name the deploy
    and the eight codes."""
    doc = msgspec.json.decode(ApiService(control_plane, eight_codes).rca(incident_id="INC-1"))
    assert (doc["root_cause"]["service"], doc["root_cause"]["version"]) == ("orders-svc", "v3.18")
    assert sorted(s["reason_code"] for s in doc["signatures"]) == sorted(CODES)

    traffic, markers = one_deploy_eight_codes(tmp_path)
    db = f"sqlite:///{tmp_path}/sf.db"
    replayed = _run(["replay", "--config", str(EXAMPLE), "--db", db, "--no-send", "--deployments", str(markers),
                     str(traffic)], cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr.decode()
    shown = _run(["rca", "INC-1", "--db", db, "--config", str(EXAMPLE), "--format", "json"], cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr.decode()
    cli = msgspec.json.decode(shown.stdout)
    assert (cli["root_cause"]["service"], cli["root_cause"]["version"]) == ("orders-svc", "v3.18")
    assert sorted(cli["root_cause"]["signatures"]) == sorted(CODES)
    text = _run(["rca", "INC-1", "--db", db, "--config", str(EXAMPLE)], cwd=tmp_path).stdout.decode()
    assert "SIGNATURES (8, none dominant)" in text
    assert "LENGTH_OUT_OF_RANGE:notes" in text
