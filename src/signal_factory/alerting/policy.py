"""Alert policy: severity = signal state x dataset tier, which severities open incidents, auto-resolve,
the paging gate, figure updates, drift notices, notification routes and the retry policy. Loaded from
the optional `alerting.yaml` in the config dir (docs/signals-and-alerting.md, "Alerting", has the rules).

Secrets (PagerDuty routing keys, webhook URLs - Slack's carry a token in the path) are held as
`Secret`s: they print as `***` in `repr`, logs and errors, and are revealed only on the wire.
A route may name an environment variable instead (`routing_key_env`, `url_env`); if it is unset the
route's notifications stay PENDING (nothing is lost) until the process runs with it set; loading only
notes it (INFO), the dispatcher warns when it actually holds a notification back.
"""

from __future__ import annotations

import logging
import os
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

import msgspec

from signal_factory.controlplane.loader import ControlPlane, parse_duration
from signal_factory.controlplane.yamlsrc import YamlDoc
from signal_factory.model.incidents import NONE, SEV1, SEV2, SEV3, SEV4
from signal_factory.settings import Secret
from signal_factory.signals.model import CRITICAL, OK, UNKNOWN, WARNING

log = logging.getLogger(__name__)

FILE = "alerting.yaml"
EXAMPLE = "examples/orders/alerting.yaml"
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
ROUTE_TYPES = ("pagerduty", "slack", "webhook")
SEVERITIES = (SEV1, SEV2, SEV3, SEV4)
#: Lower rank = more severe. NONE ranks below everything.
SEVERITY_RANK = {SEV1: 1, SEV2: 2, SEV3: 3, SEV4: 4, NONE: 99}
_ROUTE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_AT = re.compile(r" - at (?:`key` in )?`(\$[^`]*)`$")

SeverityName = Literal["SEV-1", "SEV-2", "SEV-3", "SEV-4", "NONE"]
StateName = Literal["OK", "WARNING", "CRITICAL", "UNKNOWN"]


def default_matrix() -> dict[str, dict[int, str]]:
    """The documented default: CRITICAL x tier 1/2/3 = SEV-1/2/3, WARNING = SEV-2/3/4, OK and UNKNOWN = NONE."""
    return {CRITICAL: {1: SEV1, 2: SEV2, 3: SEV3}, WARNING: {1: SEV2, 2: SEV3, 3: SEV4},
            OK: {1: NONE, 2: NONE, 3: NONE}, UNKNOWN: {1: NONE, 2: NONE, 3: NONE}}


def more_severe(a: str, b: str) -> bool:
    """True if severity `a` is strictly more severe than `b` (SEV-1 > SEV-2 > ... > NONE)."""
    return SEVERITY_RANK.get(a, 99) < SEVERITY_RANK.get(b, 99)


@dataclass(frozen=True)
class Route:
    """Where notifications go. `url`/`routing_key` are secrets; logs and errors name the route only.

    `notices`: whether the route gets drift notices (default: every route but PagerDuty, which only pages).
    """

    name: str
    type: str  # pagerduty | slack | webhook
    url: Secret | None = None
    routing_key: Secret | None = None
    min_severity: str = SEV4
    url_env: str | None = None
    routing_key_env: str | None = None
    notices: bool | None = None

    def __post_init__(self) -> None:
        for attr in ("url", "routing_key"):
            value = getattr(self, attr)
            if value is not None and not isinstance(value, Secret):
                object.__setattr__(self, attr, Secret(value))

    @property
    def gets_notices(self) -> bool:
        return self.type != "pagerduty" and self.notices is not False

    def accepts(self, severity: str) -> bool:
        """Notify this route about incidents at `severity` or worse than its `min_severity`."""
        return severity != NONE and SEVERITY_RANK.get(severity, 99) <= SEVERITY_RANK[self.min_severity]

    def missing_secret(self) -> str | None:
        """Why this route cannot send now (an unset environment variable), or None."""
        if self.url is None:
            return f"environment variable {self.url_env} is not set (route {self.name!r} url_env)"
        if self.type == "pagerduty" and self.routing_key is None:
            return f"environment variable {self.routing_key_env} is not set (route {self.name!r} routing_key_env)"
        return None

    def secrets(self) -> list[str]:
        return [s.reveal() for s in (self.url, self.routing_key) if s is not None]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: base * 2**(attempt-1), capped at max, then spread by +/- jitter (a fraction)."""

    max_attempts: int = 8
    base_backoff_s: float = 1.0
    max_backoff_s: float = 300.0
    jitter: float = 0.2

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based). rng() = 0.5 means no jitter."""
        delay = min(self.max_backoff_s, self.base_backoff_s * 2 ** max(attempt - 1, 0))
        return max(0.0, delay * (1 + self.jitter * (2 * rng() - 1)))


@dataclass(frozen=True)
class PagingRules:
    """What it takes to page, and how many incidents one dataset can hold (see the docs' "Alerting").

    * `min_failing_records`: a CONTRACT_BREACH / DQ_BREACH signal with fewer FAIL records is at most SEV-3
      (never pages, never opens an incident), whatever its state says. It defaults to the signal engine's
      `EngineConfig.min_failing` (5), the FAILs the early test and a final window need for a level: equal,
      the gate is a floor that never delays a page the statistics support; set higher, it delays pages.
    * `dominant_share`: a failure signature keys its own incident only if it holds at least this share
      of the window's failures; otherwise the incident is the dataset's (keyed by the signal type).
    * `max_signature_incidents`: open signature-keyed incidents per (dataset, signal type); past it, new
      signatures go to the dataset's incident of that type (the overflow bucket).
    """

    min_failing_records: int = 5
    dominant_share: float = 0.5
    max_signature_incidents: int = 5


@dataclass(frozen=True)
class UpdateRules:
    """Figure updates of an open incident (PagerDuty: a `trigger` with the same dedup_key; Slack, webhooks):
    at most one per incident per `throttle_s` of event time, and only when the failure rate moved by at
    least `min_rate_change` (absolute) or the failing count at least doubled. Escalations are never held."""

    throttle_s: float = 60.0
    min_rate_change: float = 0.05


@dataclass(frozen=True)
class DriftRules:
    """Drift notices: new signatures of one dataset in one `group_window_s` window (by event time) make
    ONE notice listing at most `max_listed` signatures (the rest counted); its updates are throttled
    like incident updates. Notices go to routes with `notices` (never PagerDuty) and never page."""

    group_window_s: float = 300.0
    max_listed: int = 20
    severity: str = SEV4


@dataclass(frozen=True)
class AlertPolicy:
    """The validated alerting configuration. `AlertPolicy()` is the documented default."""

    severity_matrix: Mapping[str, Mapping[int, str]] = field(default_factory=default_matrix)
    open_incidents_for: frozenset[str] = frozenset({SEV1, SEV2})
    auto_resolve_after_ok_windows: int = 3
    rca_base_url: str = "http://127.0.0.1:8080/incidents"
    routes: tuple[Route, ...] = ()
    retry: RetryPolicy = RetryPolicy()
    source: str | None = None  # the file it came from, if any
    paging: PagingRules = PagingRules()
    updates: UpdateRules = UpdateRules()
    drift: DriftRules = DriftRules()
    ui_base_url: str = "http://127.0.0.1:8080"

    def severity_for(self, state: str, tier: int) -> str:
        return self.severity_matrix.get(state, {}).get(tier, NONE)

    def opens_incident(self, severity: str) -> bool:
        return severity in self.open_incidents_for

    def routes_for(self, severity: str) -> list[Route]:
        return [r for r in self.routes if r.accepts(severity)]

    def route(self, name: str) -> Route | None:
        return next((r for r in self.routes if r.name == name), None)

    def notice_routes(self) -> list[Route]:
        return [r for r in self.routes if r.gets_notices]

    def rca_link(self, incident_id: str) -> str:
        return f"{self.rca_base_url.rstrip('/')}/{incident_id}"

    def dataset_link(self, dataset_urn: str) -> str:
        return f"{self.ui_base_url.rstrip('/')}/datasets/{quote(dataset_urn, safe='')}"


# --- the file format (validated with msgspec; unknown keys are errors) ---------------------------------


class RouteSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: str
    type: Literal["pagerduty", "slack", "webhook"]
    url: str | None = None
    url_env: str | None = None
    routing_key: str | None = None
    routing_key_env: str | None = None
    min_severity: Literal["SEV-1", "SEV-2", "SEV-3", "SEV-4"] = "SEV-4"
    notices: bool | None = None


class PagingSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    min_failing_records: int = 5
    dominant_share: float = 0.5
    max_signature_incidents: int = 5


class UpdatesSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    throttle: str = "60s"
    min_rate_change: float = 0.05


class DriftSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    group_window: str = "5m"
    max_listed: int = 20
    severity: Literal["SEV-3", "SEV-4"] = "SEV-4"


class RetrySpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    max_attempts: int = 8
    base_backoff: str = "1s"
    max_backoff: str = "300s"
    jitter: float = 0.2


class AlertingFile(msgspec.Struct, forbid_unknown_fields=True):
    severity: dict[StateName, dict[int, SeverityName]] = {}
    open_incidents_for: list[Literal["SEV-1", "SEV-2", "SEV-3", "SEV-4"]] = msgspec.field(
        default_factory=lambda: ["SEV-1", "SEV-2"])
    auto_resolve_after_ok_windows: int = 3
    ui_base_url: str = "http://127.0.0.1:8080"
    rca_base_url: str | None = None  # default: <ui_base_url>/incidents
    paging: PagingSpec = PagingSpec()
    updates: UpdatesSpec = UpdatesSpec()
    drift: DriftSpec = DriftSpec()
    retry: RetrySpec = RetrySpec()
    routes: list[RouteSpec] = []


def load_alert_policy(cp: ControlPlane, env: Mapping[str, str] | None = None) -> AlertPolicy:
    """`<config>/alerting.yaml` validated into an `AlertPolicy`; the defaults if the file is absent.

    `env` (default: the process environment) resolves `routing_key_env` / `url_env`. Raises `ConfigError`.
    """
    path = cp.root / FILE
    if not path.exists():
        return AlertPolicy()
    return policy_from_doc(YamlDoc.load(path), os.environ if env is None else env)


def policy_from_doc(doc: YamlDoc, env: Mapping[str, str]) -> AlertPolicy:
    spec = _convert(doc)
    matrix = default_matrix()
    for state, row in spec.severity.items():
        for tier, severity in row.items():
            if tier not in (1, 2, 3):
                raise doc.error(f"severity.{state}: tier must be 1, 2 or 3, got {tier}", ("severity", state),
                                "use the tiers of datasets.yaml: 1, 2 or 3")
            matrix[state][tier] = severity
    if spec.auto_resolve_after_ok_windows < 1:
        raise doc.error("auto_resolve_after_ok_windows must be at least 1", ("auto_resolve_after_ok_windows",),
                        "e.g. 3: resolve after three consecutive OK windows")
    for key, example in (("ui_base_url", "http://127.0.0.1:8080"), ("rca_base_url", "http://127.0.0.1:8080/incidents")):
        value = getattr(spec, key)
        if value is not None and not value.startswith(("http://", "https://")):
            raise doc.error(f"{key} must be an http(s) URL", (key,), f"e.g. {example}")
    rca_base_url = spec.rca_base_url or f"{spec.ui_base_url.rstrip('/')}/incidents"
    retry = _retry(doc, spec.retry)
    paging, updates, drift = _paging(doc, spec)
    routes: list[Route] = []
    for i, r in enumerate(spec.routes):
        route = _route(doc, i, r, env)
        if any(x.name == route.name for x in routes):
            raise doc.error(f"route name {route.name!r} is used twice", ("routes", i, "name"),
                            "give each route a unique name")
        routes.append(route)
    return AlertPolicy(severity_matrix=matrix, open_incidents_for=frozenset(spec.open_incidents_for),
                       auto_resolve_after_ok_windows=spec.auto_resolve_after_ok_windows,
                       rca_base_url=rca_base_url, routes=tuple(routes), retry=retry, source=str(doc.path),
                       paging=paging, updates=updates, drift=drift, ui_base_url=spec.ui_base_url)


def _paging(doc: YamlDoc, spec: AlertingFile) -> tuple[PagingRules, UpdateRules, DriftRules]:
    p, u, d = spec.paging, spec.updates, spec.drift
    if p.min_failing_records < 1:
        raise doc.error("paging.min_failing_records must be at least 1", ("paging", "min_failing_records"),
                        "e.g. 5: a signal with fewer FAIL records never pages")
    if not 0 < p.dominant_share <= 1:
        raise doc.error("paging.dominant_share must be in (0, 1]", ("paging", "dominant_share"), "e.g. 0.5")
    if p.max_signature_incidents < 0:
        raise doc.error("paging.max_signature_incidents must be >= 0", ("paging", "max_signature_incidents"),
                        "e.g. 5 (0: one incident per dataset and signal type)")
    if not 0 <= u.min_rate_change <= 1:
        raise doc.error("updates.min_rate_change must be between 0 and 1", ("updates", "min_rate_change"),
                        "a fraction: 0.05 is five percentage points")
    if d.max_listed < 1:
        raise doc.error("drift.max_listed must be at least 1", ("drift", "max_listed"), "e.g. 20")
    seconds: dict[str, float] = {}
    for section, name, value in (("updates", "throttle", u.throttle), ("drift", "group_window", d.group_window)):
        try:
            seconds[name] = parse_duration(value)
        except ValueError as e:
            raise doc.error(str(e), (section, name), "write a number and a unit: 30s, 1m, 5m") from e
    if seconds["group_window"] <= 0:
        raise doc.error("drift.group_window must be longer than 0", ("drift", "group_window"), "e.g. 5m")
    return (PagingRules(p.min_failing_records, p.dominant_share, p.max_signature_incidents),
            UpdateRules(seconds["throttle"], u.min_rate_change),
            DriftRules(seconds["group_window"], d.max_listed, d.severity))


def _convert(doc: YamlDoc) -> AlertingFile:
    try:
        return msgspec.convert(doc.data if doc.data is not None else {}, AlertingFile, strict=False)
    except msgspec.ValidationError as e:
        text = str(e)
        m = _AT.search(text)
        key = m.group(1) if m else "$"
        message = _AT.sub("", text)
        unknown = re.match(r"^Object contains unknown field `([^`]+)`", message)
        if unknown:
            key = f"{key}.{unknown.group(1)}"
            fix = f"remove or rename that key; see {EXAMPLE} for the keys this file takes"
        elif message.startswith("Object missing required field"):
            fix = f"add the missing key; see {EXAMPLE}"
        elif message.startswith("Invalid enum value"):
            fix = ("use one of: route types " + ", ".join(ROUTE_TYPES) + "; severities "
                   + ", ".join((*SEVERITIES, NONE)) + "; states OK, WARNING, CRITICAL, UNKNOWN")
        else:
            fix = f"give it a value of the expected type; see {EXAMPLE}"
        raise doc.error(message, key, fix) from e


def _retry(doc: YamlDoc, spec: RetrySpec) -> RetryPolicy:
    backoff: dict[str, float] = {}
    for name in ("base_backoff", "max_backoff"):
        try:
            backoff[name] = parse_duration(getattr(spec, name))
        except ValueError as e:
            raise doc.error(str(e), ("retry", name), "write a number and a unit: 500ms, 1s, 5m") from e
    if spec.max_attempts < 1:
        raise doc.error("retry.max_attempts must be at least 1", ("retry", "max_attempts"), "e.g. 8")
    if backoff["base_backoff"] > backoff["max_backoff"]:
        raise doc.error("retry.base_backoff is longer than retry.max_backoff", ("retry", "base_backoff"),
                        "e.g. base_backoff: 1s, max_backoff: 300s")
    if not 0 <= spec.jitter <= 1:
        raise doc.error("retry.jitter must be between 0 and 1", ("retry", "jitter"),
                        "a fraction of the delay: 0.2 spreads retries by +/-20%")
    return RetryPolicy(max_attempts=spec.max_attempts, base_backoff_s=backoff["base_backoff"],
                       max_backoff_s=backoff["max_backoff"], jitter=spec.jitter)


def _route(doc: YamlDoc, i: int, r: RouteSpec, env: Mapping[str, str]) -> Route:
    at: tuple[str | int, ...] = ("routes", i)
    if not _ROUTE_NAME.match(r.name):
        raise doc.error(f"route name {r.name!r} is not a short lowercase identifier", (*at, "name"),
                        "use lowercase letters, digits, '-' and '_' (at most 64), e.g. data-platform-oncall")
    if r.url is not None and r.url_env is not None:
        raise doc.error(f"route {r.name!r} gives both url and url_env", (*at, "url_env"), "keep one of them")
    url = r.url
    if url is None and r.url_env is None:
        if r.type != "pagerduty":
            raise doc.error(f"route {r.name!r} ({r.type}) has no url", at,
                            "add `url:` or `url_env: NAME` (an environment variable holding the URL)")
        url = PAGERDUTY_URL
    if url is not None and not url.startswith(("http://", "https://")):  # never echo the URL: it may hold a token
        raise doc.error(f"route {r.name!r}: url must start with http:// or https://", (*at, "url"),
                        "write the full receiver URL, e.g. https://hooks.slack.com/services/...")
    if r.type == "pagerduty":
        if (r.routing_key is None) == (r.routing_key_env is None):
            raise doc.error(f"route {r.name!r} (pagerduty) needs exactly one of routing_key, routing_key_env",
                            at, "prefer `routing_key_env: SIGNAL_FACTORY_PAGERDUTY_KEY` to keep the key out of git")
        if r.notices:
            raise doc.error(f"route {r.name!r} (pagerduty) cannot take drift notices: PagerDuty only pages",
                            (*at, "notices"), "remove `notices: true`; send notices to a slack or webhook route")
    elif r.routing_key is not None or r.routing_key_env is not None:
        raise doc.error(f"route {r.name!r}: routing_key applies to pagerduty routes only", (*at, "type"),
                        "remove routing_key/routing_key_env, or set `type: pagerduty`")
    if r.url_env is not None:
        url = env.get(r.url_env) or None
        if url is None:
            log.info("alerting route %s: environment variable %s is not set; its notifications stay "
                        "PENDING until it is", r.name, r.url_env)
    key = r.routing_key
    if r.routing_key_env is not None:
        key = env.get(r.routing_key_env) or None
        if key is None:
            log.info("alerting route %s: environment variable %s is not set; its notifications stay "
                        "PENDING until it is", r.name, r.routing_key_env)
    return Route(name=r.name, type=r.type, url=Secret(url) if url else None,
                 routing_key=Secret(key) if key else None, min_severity=r.min_severity,
                 url_env=r.url_env, routing_key_env=r.routing_key_env, notices=r.notices)
