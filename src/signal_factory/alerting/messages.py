"""Notification bodies per channel, as stored in the outbox (pure; no secrets).

- PagerDuty Events API v2 (Scenario 1 Step 5). The stored body has no `routing_key`: the sender puts it
  first on the wire (`notify.wire_body`), so keys never reach the database.
- Slack incoming webhook: `text` (fallback) + a colour bar holding Block Kit `blocks` (colour needs an
  attachment), with a button to the RCA link.
- Generic webhook: `{"event", "source", "incident": <the incident JSON>}`.

Events: trigger | update (severity escalated) | acknowledge | resolve.
"""

from __future__ import annotations

from typing import Any

import msgspec

from signal_factory.alerting.describe import summary_line, suspected_cause
from signal_factory.alerting.model import SEV1, SEV2, SEV3, Incident

SOURCE = "signal-factory"
TRIGGER = "trigger"
UPDATE = "update"
ACKNOWLEDGE = "acknowledge"
RESOLVE = "resolve"
EVENTS = (TRIGGER, UPDATE, ACKNOWLEDGE, RESOLVE)

PAGERDUTY_SEVERITY = {SEV1: "critical", SEV2: "error", SEV3: "warning"}  # anything lower: info
SLACK_COLOUR = {SEV1: "#D00000", SEV2: "#F97316", SEV3: "#EAB308"}  # anything lower: grey
RESOLVED_COLOUR = "#2EB67D"
ACKED_COLOUR = "#3B82F6"


def body_for(channel: str, incident: Incident, event: str, *, previous_severity: str | None = None) -> dict[str, Any]:
    if channel == "pagerduty":
        return pagerduty_body(incident, event)
    if channel == "slack":
        return slack_body(incident, event, previous_severity=previous_severity)
    return webhook_body(incident, event, previous_severity=previous_severity)


def pagerduty_body(incident: Incident, event: str) -> dict[str, Any]:
    """Events API v2. `update` is sent as a `trigger` with the same dedup_key: PagerDuty folds it into the
    open alert (no second page) and shows the new severity and summary."""
    if event in (ACKNOWLEDGE, RESOLVE):
        return {"event_action": event, "dedup_key": incident.incident_id}
    details: dict[str, Any] = {"incident_id": incident.incident_id, "dataset": incident.dataset_urn,
                               "failure_signature": incident.failure_signature}
    cause = suspected_cause(incident)
    if cause:
        details["suspected_cause"] = cause
    if incident.rca_link:
        details["rca_link"] = incident.rca_link
    return {
        "event_action": TRIGGER,
        "dedup_key": incident.incident_id,
        "payload": {
            "summary": summary_line(incident),
            "severity": PAGERDUTY_SEVERITY.get(incident.severity, "info"),
            "source": SOURCE,
            "custom_details": details,
        },
    }


def _headline(incident: Incident, event: str, previous_severity: str | None) -> str:
    base = f"[{incident.severity}] {incident.title}"
    if event == ACKNOWLEDGE:
        return f"Acknowledged by {incident.acknowledged_by}: {base}"
    if event == RESOLVE:
        return f"Resolved: {base}"
    if event == UPDATE and previous_severity:
        return f"Escalated {previous_severity} -> {incident.severity}: {base}"
    return base


def slack_body(incident: Incident, event: str, *, previous_severity: str | None = None) -> dict[str, Any]:
    headline = _headline(incident, event, previous_severity)
    colour = {RESOLVE: RESOLVED_COLOUR, ACKNOWLEDGE: ACKED_COLOUR}.get(event) \
        or SLACK_COLOUR.get(incident.severity, "#9CA3AF")
    fields = [f"*Incident*\n{incident.incident_id}", f"*Status*\n{incident.status}",
              f"*Dataset*\n`{incident.dataset_urn}`", f"*Failure signature*\n`{incident.failure_signature}`"]
    summary = incident.evidence_summary
    if summary is not None:
        fields.append(f"*Failure rate*\n{summary.failure_rate} ({summary.failed_events:,} of "
                      f"{summary.total_events:,} events)")
    cause = suspected_cause(incident)
    if cause:
        fields.append(f"*Suspected cause*\n{cause}")
    if incident.impact is not None and incident.impact.downstream_consumers:
        fields.append("*Downstream consumers*\n" + ", ".join(incident.impact.downstream_consumers))
    if event == RESOLVE and incident.resolution:
        fields.append(f"*Resolution*\n{incident.resolution}")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields[:10]]},
    ]
    text = headline
    if incident.rca_link:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open RCA"}, "url": incident.rca_link}]})
        text = f"{headline} <{incident.rca_link}|RCA>"
    return {"text": text, "attachments": [{"color": colour, "fallback": headline, "blocks": blocks}]}


def incident_json(incident: Incident) -> dict[str, Any]:
    """The incident as JSON, always with `status` (the model omits defaults, and OPEN is its default)."""
    doc: dict[str, Any] = msgspec.to_builtins(incident)
    if "status" in doc:
        return doc
    out: dict[str, Any] = {}
    for k, v in doc.items():
        out[k] = v
        if k == "title":
            out["status"] = incident.status
    return out


def webhook_body(incident: Incident, event: str, *, previous_severity: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"event": event, "source": SOURCE, "incident": incident_json(incident)}
    if previous_severity:
        body["previous_severity"] = previous_severity
    return body
