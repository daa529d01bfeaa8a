"""RCA fixtures: the seed's two scenarios, analysed."""

from __future__ import annotations

import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.rca.analyze import analyze_incident, analyze_signature
from signal_factory.rca.report import RCAReport
from tests.rca import builders as b


@pytest.fixture
def scenario1_report(control_plane: ControlPlane) -> RCAReport:
    w = b.scenario1(control_plane)
    return analyze_incident("INC-7721", graph=w.graph, evidence=w.evidence, incidents=w.incidents, now=b.ms(b.NOW))


@pytest.fixture
def scenario2_report(control_plane: ControlPlane) -> RCAReport:
    w = b.scenario2(control_plane)
    return analyze_signature(b.FLASH, graph=w.graph, evidence=w.evidence, now=b.ms(b.NOW2))
