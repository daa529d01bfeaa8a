"""Alert policy: the severity matrix, alerting.yaml validation, and secrets that never print."""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

import pytest

from signal_factory.alerting.policy import (
    PAGERDUTY_URL,
    AlertPolicy,
    PagingRules,
    PagingSpec,
    RetryPolicy,
    load_alert_policy,
)
from signal_factory.controlplane.loader import ControlPlane
from signal_factory.errors import ConfigError
from signal_factory.signals.config import EngineConfig
from tests.conftest import EXAMPLE

ENV = {"SIGNAL_FACTORY_PAGERDUTY_KEY": "pd-key-R0UT1NG-s3cret",
       "SIGNAL_FACTORY_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/XOXB-t0ken"}


def _with_file(cp: ControlPlane, tmp_path: Path, text: str) -> ControlPlane:
    (tmp_path / "alerting.yaml").write_text(text)
    return dataclasses.replace(cp, root=tmp_path)


@pytest.mark.parametrize(("state", "tier", "severity"), [
    ("CRITICAL", 1, "SEV-1"), ("CRITICAL", 2, "SEV-2"), ("CRITICAL", 3, "SEV-3"),
    ("WARNING", 1, "SEV-2"), ("WARNING", 2, "SEV-3"), ("WARNING", 3, "SEV-4"),
    ("OK", 1, "NONE"), ("OK", 3, "NONE"), ("UNKNOWN", 1, "NONE"), ("UNKNOWN", 2, "NONE"),
    ("CRITICAL", 7, "NONE"), ("BOGUS", 1, "NONE"),
])
def test_severity_matrix(control_plane: ControlPlane, state: str, tier: int, severity: str) -> None:
    """Severity = state x tier, the same in the built-in default and the shipped example file."""
    assert AlertPolicy().severity_for(state, tier) == severity
    assert load_alert_policy(control_plane, env=ENV).severity_for(state, tier) == severity


def test_defaults_when_file_absent(control_plane: ControlPlane, tmp_path: Path) -> None:
    """Without alerting.yaml: SEV-1/SEV-2 open incidents, 3 OK windows resolve, no routes, 8 attempts."""
    policy = load_alert_policy(dataclasses.replace(control_plane, root=tmp_path))
    assert policy == AlertPolicy()
    assert policy.opens_incident("SEV-1")
    assert policy.opens_incident("SEV-2")
    assert not policy.opens_incident("SEV-3")
    assert (policy.auto_resolve_after_ok_windows, policy.routes, policy.retry.max_attempts) == (3, (), 8)
    assert policy.rca_link("INC-1") == "http://127.0.0.1:8080/incidents/INC-1"


def test_paging_keys_and_links(control_plane: ControlPlane, tmp_path: Path) -> None:
    """paging/updates/drift override their defaults; ui_base_url moves the incident and dataset links;
    drift notices go to every route but PagerDuty unless a route says `notices: false`."""
    cp = _with_file(control_plane, tmp_path, (
        "ui_base_url: https://sf.example.com/\n"
        "paging: {min_failing_records: 25, dominant_share: 0.8, max_signature_incidents: 2}\n"
        "updates: {throttle: 5m, min_rate_change: 0.1}\n"
        "drift: {group_window: 15m, max_listed: 5, severity: SEV-3}\n"
        "routes:\n  - {name: pd, type: pagerduty, routing_key: k}\n"
        "  - {name: chat, type: slack, url: 'https://x.invalid/s'}\n"
        "  - {name: quiet, type: webhook, url: 'https://x.invalid/w', notices: false}\n"))
    policy = load_alert_policy(cp)
    assert (policy.paging.min_failing_records, policy.paging.dominant_share, policy.paging.max_signature_incidents) \
        == (25, 0.8, 2)
    assert (policy.updates.throttle_s, policy.updates.min_rate_change) == (300.0, 0.1)
    assert (policy.drift.group_window_s, policy.drift.max_listed, policy.drift.severity) == (900.0, 5, "SEV-3")
    assert policy.rca_link("INC-3") == "https://sf.example.com/incidents/INC-3"
    assert policy.dataset_link("urn:dp:orders:created") == "https://sf.example.com/datasets/urn%3Adp%3Aorders%3Acreated"
    assert [r.name for r in policy.notice_routes()] == ["chat"]


def test_example_routes(control_plane: ControlPlane) -> None:
    """The example declares PagerDuty (key from env, default URL), Slack (URL from env) and a webhook."""
    policy = load_alert_policy(control_plane, env=ENV)
    pd, slack, hook = policy.routes
    assert (pd.type, pd.url, pd.routing_key, pd.min_severity) == ("pagerduty", PAGERDUTY_URL,
                                                                  ENV["SIGNAL_FACTORY_PAGERDUTY_KEY"], "SEV-1")
    assert (slack.type, slack.url) == ("slack", ENV["SIGNAL_FACTORY_SLACK_WEBHOOK_URL"])
    assert hook.type == "webhook"
    assert [r.name for r in policy.routes_for("SEV-1")] == [pd.name, slack.name, hook.name]
    assert [r.name for r in policy.routes_for("SEV-2")] == [slack.name, hook.name]
    assert policy.routes_for("NONE") == []
    assert policy.retry == RetryPolicy(max_attempts=8, base_backoff_s=1.0, max_backoff_s=300.0, jitter=0.2)


def test_secrets_never_printed(control_plane: ControlPlane, caplog: pytest.LogCaptureFixture) -> None:
    """Routing keys and webhook URLs are absent from repr(policy), str(route) and the load logs."""
    caplog.set_level(logging.DEBUG)
    policy = load_alert_policy(control_plane, env=ENV)
    shown = repr(policy) + str(policy) + "".join(f"{r} {r.url} {r.routing_key}" for r in policy.routes) + caplog.text
    assert "data-platform-oncall" in shown  # route names are fine
    for secret in ENV.values():
        assert secret not in shown
    assert "XOXB" not in shown
    assert "s3cret" not in shown


def test_unset_env_keeps_route(control_plane: ControlPlane, caplog: pytest.LogCaptureFixture) -> None:
    """An unset key variable does not break loading: the route exists, says what is missing, and the log names it."""
    caplog.set_level(logging.INFO)
    pd = load_alert_policy(control_plane, env={}).routes[0]
    assert pd.routing_key is None
    assert "SIGNAL_FACTORY_PAGERDUTY_KEY" in (pd.missing_secret() or "")
    assert "SIGNAL_FACTORY_PAGERDUTY_KEY" in caplog.text


def test_matrix_cells_override(control_plane: ControlPlane, tmp_path: Path) -> None:
    """Cells given in the file override the defaults one by one; NONE silences a cell."""
    cp = _with_file(control_plane, tmp_path, "severity:\n  WARNING: {1: NONE}\n  UNKNOWN: {1: SEV-3}\n"
                                             "open_incidents_for: [SEV-1]\n")
    policy = load_alert_policy(cp)
    assert (policy.severity_for("WARNING", 1), policy.severity_for("WARNING", 2)) == ("NONE", "SEV-3")
    assert policy.severity_for("UNKNOWN", 1) == "SEV-3"
    assert policy.open_incidents_for == frozenset({"SEV-1"})


def test_backoff_grows_caps_and_jitters() -> None:
    """Backoff doubles from the base, stops at the cap, and jitter spreads it by at most +/- the fraction."""
    retry = RetryPolicy(base_backoff_s=1, max_backoff_s=300, jitter=0.2)
    assert [retry.backoff(a, lambda: 0.5) for a in (1, 2, 3, 4, 10, 20)] == [1, 2, 4, 8, 300, 300]
    assert retry.backoff(3, lambda: 0.0) == pytest.approx(3.2)
    assert retry.backoff(3, lambda: 1.0) == pytest.approx(4.8)


BAD = [
    ("routes:\n  - name: pd\n    type: pagerduty\n    routing_key: k\n    min_severty: SEV-1\n",
     "min_severty", "unknown field `min_severty`", "remove or rename"),
    ("routes:\n  - name: pd\n    type: pagerdutyy\n    routing_key: k\n",
     "type:", "Invalid enum value", "pagerduty, slack, webhook"),
    ("severity:\n  CRITICAL:\n    4: SEV-1\n", "4: SEV-1", "tier must be 1, 2 or 3", "1, 2 or 3"),
    ("severity:\n  CRITICAL: {1: SEV-0}\n", "CRITICAL:", "Invalid enum value 'SEV-0'", "SEV-1, SEV-2"),
    ("retry:\n  max_attempts: 8\n  base_backoff: soon\n", "base_backoff", "not a duration", "500ms"),
    ("retry:\n  max_attempts: 0\n", "max_attempts", "at least 1", "e.g. 8"),
    ("retry:\n  jitter: 2\n", "jitter", "between 0 and 1", "+/-20%"),
    ("retry:\n  max_attempts: many\n", "max_attempts", "Expected `int`", "expected type"),
    ("routes:\n  - name: pd\n    type: pagerduty\n", "- name: pd", "needs exactly one of routing_key",
     "routing_key_env"),
    ("routes:\n  - name: chat\n    type: slack\n", "- name: chat", "has no url", "url_env"),
    ("routes:\n  - name: chat\n    type: slack\n    url: https://x.invalid/a\n    routing_key: k\n",
     "type: slack", "pagerduty routes only", "remove routing_key"),
    ("routes:\n  - {name: a, type: webhook, url: 'https://x.invalid/1'}\n"
     "  - {name: a, type: webhook, url: 'https://x.invalid/2'}\n", "x.invalid/2", "used twice", "unique name"),
    ("routes:\n  - {name: Bad Name, type: webhook, url: 'https://x.invalid/1'}\n", "Bad Name",
     "not a short lowercase identifier", "data-platform-oncall"),
    ("auto_resolve_after_ok_windows: 0\n", "auto_resolve", "at least 1", "consecutive OK windows"),
    ("rca_base_url: observability.internal/rca\n", "rca_base_url", "http(s) URL", "http://"),
    ("routes:\n  - name: pd\n    type: pagerduty\n   routing_key: k\n", "routing_key", "invalid YAML", "indentation"),
    ("routes:\n  - name: pd\n    type: pagerduty\n    routing_key: k\n    notices: true\n", "notices: true",
     "cannot take drift notices", "slack or webhook"),
    ("paging:\n  min_failing_records: 0\n", "min_failing_records", "at least 1", "never pages"),
    ("paging:\n  dominant_share: 1.5\n", "dominant_share", "(0, 1]", "0.5"),
    ("updates:\n  throttle: often\n", "throttle", "not a duration", "30s"),
    ("updates:\n  min_rate_change: 5\n", "min_rate_change", "between 0 and 1", "percentage points"),
    ("drift:\n  severity: SEV-1\n", "severity:", "Invalid enum value 'SEV-1'", "SEV-1, SEV-2"),
    ("drift:\n  max_listed: 0\n", "max_listed", "at least 1", "e.g. 20"),
    ("ui_base_url: localhost:8080\n", "ui_base_url", "http(s) URL", "http://"),
]


@pytest.mark.parametrize(("text", "needle", "says", "fix"), BAD)
def test_bad_file_names_line_and_fix(control_plane: ControlPlane, tmp_path: Path, text: str, needle: str,
                                     says: str, fix: str) -> None:
    """A wrong alerting.yaml fails with a ConfigError naming the file, the offending line and the fix."""
    cp = _with_file(control_plane, tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_alert_policy(cp)
    err = exc.value
    line = next(i for i, t in enumerate(text.splitlines(), 1) if needle in t)
    assert err.file.endswith("alerting.yaml")
    assert err.line == line, str(err)
    assert says in err.reason
    assert fix in (err.fix or "")


def test_bad_url_error_hides_the_url(control_plane: ControlPlane, tmp_path: Path) -> None:
    """A malformed webhook URL is reported by route and line, never echoed (it may carry a token)."""
    cp = _with_file(control_plane, tmp_path,
                    "routes:\n  - name: chat\n    type: slack\n    url: hooks.slack.com/services/T0/B0/t0ken-XYZ\n")
    with pytest.raises(ConfigError) as exc:
        load_alert_policy(cp)
    assert exc.value.line == 4
    assert "t0ken-XYZ" not in str(exc.value)
    assert "http://" in str(exc.value)


def test_example_file_copy_loads(tmp_path: Path) -> None:
    """The shipped example alerting.yaml is valid as copied into a fresh config directory."""
    from signal_factory.controlplane.loader import load_control_plane

    target = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, target)
    policy = load_alert_policy(load_control_plane(target), env=ENV)
    assert policy.source == str(target / "alerting.yaml")
    assert len(policy.routes) == 3


def test_paging_gate_defaults_to_the_signal_engines_minimum() -> None:
    """The paging gate's default FAIL count equals the signal engine's `min_failing`: the gate never delays a
    provisional signal the early test backs, and never lets fewer FAILs page than the test needs."""
    assert PagingRules().min_failing_records == PagingSpec().min_failing_records == EngineConfig().min_failing
