"""Fixtures for the signal-engine tests (builders live in `tests.signals.builders`)."""

from __future__ import annotations

import pytest

from signal_factory.controlplane.loader import ControlPlane
from signal_factory.signals.host import SignalEngineHost


@pytest.fixture
def host(control_plane: ControlPlane) -> SignalEngineHost:
    return SignalEngineHost(control_plane)
