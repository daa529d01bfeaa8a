"""Event time a producer cannot abuse: records stamped too far ahead or before the sane past bound."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from signal_factory.controlplane.loader import ControlPlane, load_control_plane
from signal_factory.enforcer.eventtime import EventTimeGuard
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.errors import ConfigError
from signal_factory.model.evidence import G1_RESOLUTION, PASS, WARN, Evidence, GateResult
from signal_factory.model.records import MalformedInput, RawRecord
from signal_factory.model.timefmt import parse_iso_ms
from signal_factory.privacy.guard import MAX_REASON_CODES
from tests.conftest import EXAMPLE

NOW = "2024-01-15T10:00:00.000Z"


def record(ts: str | None, *, customer: bool = True, header_ts: bool = True) -> RawRecord:
    """An orders.created record (PASS when it has a customer_id); its time in the record or only in the body."""
    payload: dict[str, object] = {"order_id": "ORD-2024-0115-1", "total_amount": 1.5, "currency": "USD"}
    if customer:
        payload["customer_id"] = "cust-1"
    body = msgspec.json.encode({"event_id": "01HQX7YMKP3QR5ST6VW8XYZ123", "event_type": "orders.created.v1",
                                "timestamp": ts or NOW, "payload": payload})
    return RawRecord(topic="raw.orders.events", partition=0, offset=1,
                     timestamp_ms=parse_iso_ms(ts) if ts is not None and header_ts else None,
                     headers={"x-obs-producer-service": "orders-svc", "x-obs-producer-version": "v3.17"},
                     value=body)


def enforce(cp: ControlPlane, rec: RawRecord) -> Evidence:
    clock = (parse_iso_ms(NOW) or 0) / 1000
    (ev,) = Enforcer(cp, clock=lambda: clock).process([rec]).evidence
    return ev


@pytest.mark.parametrize(("ts", "header_ts", "code"), [
    ("2030-01-01T00:00:00.000Z", True, "CLOCK_SKEW:future"),
    ("2030-01-01T00:00:00.000Z", False, "CLOCK_SKEW:future"),  # the body's timestamp is checked the same way
    ("2024-01-15T10:05:01.000Z", True, "CLOCK_SKEW:future"),  # just over the default 5 minutes ahead
    ("1999-12-31T23:59:59.000Z", True, "CLOCK_SKEW:past"),
    ("1970-01-01T00:00:00.000Z", True, "CLOCK_SKEW:past"),
])
def test_a_skewed_record_is_one_warn_evidence_with_a_stable_code(control_plane: ControlPlane, ts: str,
                                                                 header_ts: bool, code: str) -> None:
    """Outside the bounds: WARN on G1 with CLOCK_SKEW:future|past in the reason codes; the time itself is kept."""
    ev = enforce(control_plane, record(ts, header_ts=header_ts))
    assert (ev.validation.result, ev.validation.reason_codes) == (WARN, [code])
    g1 = ev.validation.gates[0]
    assert (g1.gate, g1.result, g1.reason_code) == (G1_RESOLUTION, WARN, code)
    assert (g1.details or {}).get("reference_time") == NOW
    assert (ev.source.timestamp if ev.source else None) == ts


@pytest.mark.parametrize("ts", ["2024-01-15T10:05:00.000Z", "2024-01-15T09:00:00.000Z", "2000-01-01T00:00:00.000Z"])
def test_records_within_the_bounds_are_untouched(control_plane: ControlPlane, ts: str) -> None:
    """Up to 5 minutes ahead of the ingest clock, and any time since 2000, is a plain PASS."""
    ev = enforce(control_plane, record(ts))
    assert (ev.validation.result, ev.validation.reason_codes, ev.validation.gates[0].result) == (PASS, [], PASS)


def test_a_failing_skewed_record_keeps_its_fail_and_adds_the_code(control_plane: ControlPlane) -> None:
    """A FAIL stays FAIL; the clock-skew code joins its other reason codes."""
    ev = enforce(control_plane, record("2030-01-01T00:00:00.000Z", customer=False))
    assert ev.validation.result == "FAIL"
    assert ev.validation.reason_codes == ["MISSING_FIELD:customer_id", "CLOCK_SKEW:future"]


def test_the_bounds_come_from_signal_factory_yaml(tmp_path: Path) -> None:
    """`event_time.max_future_skew` and `min_event_time` move the bounds."""
    config = _config(tmp_path, "event_time:\n  max_future_skew: 1h\n  min_event_time: 2024-01-01T00:00:00Z\n")
    assert enforce(config, record("2024-01-15T10:30:00.000Z")).validation.result == PASS
    assert enforce(config, record("2023-12-31T00:00:00.000Z")).validation.reason_codes == ["CLOCK_SKEW:past"]


@pytest.mark.parametrize(("text", "message"), [
    ("event_time:\n  max_future_skew: soon\n", "'soon' is not a duration"),
    ("event_time:\n  min_event_time: yesterday\n", "Invalid RFC3339 encoded datetime"),
])
def test_bad_bounds_are_a_config_error(tmp_path: Path, text: str, message: str) -> None:
    """A bound that is not a duration / an instant is refused at load, naming the key."""
    with pytest.raises(ConfigError) as err:
        _config(tmp_path, text)
    assert message in str(err.value)
    assert "event_time" in str(err.value)


def _config(tmp_path: Path, settings: str) -> ControlPlane:
    root = tmp_path / "cp"
    root.mkdir()
    for path in EXAMPLE.iterdir():
        target = root / path.name
        if path.is_dir():
            target.symlink_to(path, target_is_directory=True)
        elif path.name != "signal-factory.yaml":
            target.write_bytes(path.read_bytes())
    (root / "signal-factory.yaml").write_text(settings)
    return load_control_plane(root)


def test_a_malformed_record_stamped_in_the_future_is_flagged_too(control_plane: ControlPlane) -> None:
    """A line that could not be parsed keeps its FAIL and carries CLOCK_SKEW:future for its transport time."""
    bad = MalformedInput(reason_code="MALFORMED_RECORD:value", message="not JSON", origin="test:1",
                         topic="raw.orders.events", partition=0, offset=2,
                         timestamp_ms=parse_iso_ms("2030-01-01T00:00:00Z"))
    clock = (parse_iso_ms(NOW) or 0) / 1000
    (ev,) = Enforcer(control_plane, clock=lambda: clock).process([bad]).evidence
    assert ev.validation.result == "FAIL"
    assert ev.validation.reason_codes == ["MALFORMED_RECORD:value", "CLOCK_SKEW:future"]
    assert ev.validation.gates[0].reason_code == "CLOCK_SKEW:future"


def test_the_clock_skew_code_survives_the_reason_code_cap(control_plane: ControlPlane) -> None:
    """A record already at the reason-code cap keeps the cap and still carries CLOCK_SKEW (the engines need it)."""
    guard = EventTimeGuard(control_plane.settings.event_time)
    codes = [f"MISSING_FIELD:f{i}" for i in range(MAX_REASON_CODES)]
    future = parse_iso_ms("2030-01-01T00:00:00Z")
    code = guard.code_for(future, NOW)
    assert code == "CLOCK_SKEW:future"
    _, _, out = guard.apply(code, future or 0, NOW, "FAIL", [GateResult(G1_RESOLUTION, PASS)], codes)
    assert (len(out), out[-1]) == (MAX_REASON_CODES, "CLOCK_SKEW:future")


def test_evidence_made_elsewhere_is_checked_against_when_we_received_it(control_plane: ControlPlane) -> None:
    """Evidence from a stream processor or Spark stamped beyond the skew gets CLOCK_SKEW:future (PASS becomes
    WARN, FAIL stays FAIL); in-bounds evidence and evidence already flagged come back unchanged."""
    guard = EventTimeGuard(control_plane.settings.event_time)
    ok = enforce(control_plane, record("2024-01-15T09:59:00.000Z"))
    assert guard.flag_made_elsewhere(ok, NOW) is ok
    ahead = msgspec.structs.replace(ok, source=msgspec.structs.replace(ok.source, timestamp="2030-01-01T00:00:00.000Z"))
    flagged = guard.flag_made_elsewhere(ahead, NOW)
    assert flagged.validation.result == WARN
    assert flagged.validation.reason_codes[-1] == "CLOCK_SKEW:future"
    assert guard.flag_made_elsewhere(flagged, NOW) is flagged
    failing = enforce(control_plane, record("2024-01-15T09:59:00.000Z", customer=False))
    failing_ahead = msgspec.structs.replace(
        failing, source=msgspec.structs.replace(failing.source, timestamp="2030-01-01T00:00:00.000Z"))
    out = guard.flag_made_elsewhere(failing_ahead, NOW)
    assert out.validation.result == "FAIL"
    assert "CLOCK_SKEW:future" in out.validation.reason_codes
