"""Notification bodies per channel, as stored in the outbox (pure; no secrets).

- PagerDuty Events API v2 (Scenario 1 Step 5, plus the optional payload fields `timestamp` (event time
  of the latest signal), `component` (the dataset), `group` (its domain), `class` (the signal type) and
  `links` to the incident page). The stored body has no `routing_key`: the sender puts it first on the
  wire (`notify.wire_body`), so keys never reach the database. Every trigger and update carries the
  incident's current figures (failure rate, failing and total records).
- Slack incoming webhook: `text` (fallback) + Block Kit `blocks` (no legacy attachments): headline,
  figures, a context line with the event time, and a button to the incident page.
- Generic webhook: `{"event", "source", "incident": <the incident JSON>}`.
- Drift notices (notices.py): Slack and webhook only, `{"event", "source", "notice": ...}` for webhooks.

Events: trigger | update (escalation or new figures) | acknowledge | resolve; notice | notice_update.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from signal_factory.alerting.describe import LABELS, short_name, summary_line, suspected_cause
from signal_factory.model.incidents import SEV1, SEV2, SEV3, Incident
from signal_factory.signals.model import DRIFT_DETECTED

if TYPE_CHECKING:
    from signal_factory.model.incidents import Notice

SOURCE = "signal-factory"
TRIGGER = "trigger"
UPDATE = "update"
ACKNOWLEDGE = "acknowledge"
RESOLVE = "resolve"
NOTICE = "notice"
NOTICE_UPDATE = "notice_update"
EVENTS = (TRIGGER, UPDATE, ACKNOWLEDGE, RESOLVE, NOTICE, NOTICE_UPDATE)

PAGERDUTY_SEVERITY = {SEV1: "critical", SEV2: "error", SEV3: "warning"}  # anything lower: info
SLACK_MARK = {SEV1: ":red_circle:", SEV2: ":large_orange_circle:", SEV3: ":large_yellow_circle:"}  # else white
RESOLVED_MARK = ":white_check_mark:"
ACKED_MARK = ":eyes:"
#: PagerDuty caps `payload.summary` at 1,024 characters; Slack a section's text at 3,000.
SUMMARY_MAX = 1024
SLACK_LISTED = 10
SIGNATURE_SHOWN = 120


def body_for(channel: str, incident: Incident, event: str, *, previous_severity: str | None = None) -> dict[str, Any]:
    if channel == "pagerduty":
        return pagerduty_body(incident, event)
    if channel == "slack":
        return slack_body(incident, event, previous_severity=previous_severity)
    return webhook_body(incident, event, previous_severity=previous_severity)


def _domain(dataset_urn: str) -> str:
    """`urn:dp:orders:created` -> `orders` (PagerDuty's `group`)."""
    return short_name(dataset_urn).split(":", 1)[0]


def pagerduty_body(incident: Incident, event: str) -> dict[str, Any]:
    """Events API v2. `update` is sent as a `trigger` with the same dedup_key: PagerDuty folds it into the
    open alert (no second page) and shows the new severity, summary and figures."""
    if event in (ACKNOWLEDGE, RESOLVE):
        return {"event_action": event, "dedup_key": incident.incident_id}
    details: dict[str, Any] = {"incident_id": incident.incident_id, "dataset": incident.dataset_urn,
                               "failure_signature": incident.failure_signature}
    cause = suspected_cause(incident)
    if cause:
        details["suspected_cause"] = cause
    if incident.rca_link:
        details["rca_link"] = incident.rca_link
    summary = incident.evidence_summary
    if summary is not None:
        details.update(failure_rate=summary.failure_rate, failed_events=summary.failed_events,
                       total_events=summary.total_events)
    if incident.new_signatures:
        details["new_signatures"] = incident.new_signatures[:SLACK_LISTED]
    body: dict[str, Any] = {
        "event_action": TRIGGER,
        "dedup_key": incident.incident_id,
        "payload": {
            "summary": summary_line(incident)[:SUMMARY_MAX],
            "severity": PAGERDUTY_SEVERITY.get(incident.severity, "info"),
            "source": SOURCE,
            "timestamp": incident.updated_at,
            "component": short_name(incident.dataset_urn),
            "group": _domain(incident.dataset_urn),
            "class": incident.signal_type,
            "custom_details": details,
        },
    }
    if incident.rca_link:
        body["links"] = [{"href": incident.rca_link, "text": f"Incident {incident.incident_id} and RCA"}]
    return body


def _headline(incident: Incident, event: str, previous_severity: str | None) -> str:
    base = f"[{incident.severity}] {incident.title}"
    if event == ACKNOWLEDGE:
        return f"Acknowledged by {incident.acknowledged_by}: {base}"
    if event == RESOLVE:
        return f"Resolved: {base}"
    if event == UPDATE and previous_severity:
        return f"Escalated {previous_severity} -> {incident.severity}: {base}"
    if event == UPDATE:
        return f"Updated: {base}"
    return base


def _mark(incident: Incident, event: str) -> str:
    return {RESOLVE: RESOLVED_MARK, ACKNOWLEDGE: ACKED_MARK}.get(event) or SLACK_MARK.get(incident.severity,
                                                                                         ":white_circle:")


def slack_body(incident: Incident, event: str, *, previous_severity: str | None = None) -> dict[str, Any]:
    headline = _headline(incident, event, previous_severity)
    fields = [f"*Incident*\n{incident.incident_id}", f"*Status*\n{incident.status}",
              f"*Dataset*\n`{incident.dataset_urn}`",
              f"*Failure signature*\n`{incident.failure_signature[:SIGNATURE_SHOWN]}`"]
    summary = incident.evidence_summary
    if summary is not None:
        fields.append(f"*Failure rate*\n{summary.failure_rate} ({summary.failed_events:,} of "
                      f"{summary.total_events:,} events)")
    cause = suspected_cause(incident)
    if cause:
        fields.append(f"*Suspected cause*\n{cause}")
    if incident.impact is not None and incident.impact.downstream_consumers:
        fields.append("*Downstream consumers*\n" + ", ".join(incident.impact.downstream_consumers))
    if incident.new_signatures:
        more = len(incident.new_signatures) - 3 + incident.new_signatures_overflow
        fields.append("*New signatures*\n" + ", ".join(f"`{s[:SIGNATURE_SHOWN]}`" for s in incident.new_signatures[:3])
                      + (f" and {more} more" if more > 0 else ""))
    if event == RESOLVE and incident.resolution:
        fields.append(f"*Resolution*\n{incident.resolution}")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{_mark(incident, event)} *{headline}*"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields[:10]]},
        {"type": "context", "elements": [{"type": "mrkdwn",
                                          "text": f"Figures as of {incident.updated_at} (event time) | {SOURCE}"}]},
    ]
    text = headline
    if incident.rca_link:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open incident"}, "url": incident.rca_link}]})
        text = f"{headline} <{incident.rca_link}|{incident.incident_id}>"
    return {"text": text, "blocks": blocks}


def notice_body(channel: str, notice: Notice, event: str) -> dict[str, Any]:
    """A drift notice for Slack (blocks) or a webhook (`{"event", "source", "notice"}`)."""
    if channel != "slack":
        doc = {"notice_id": notice.notice_id, "dataset_urn": notice.dataset_urn, "severity": notice.severity,
               "window_start": notice.window_start, "window_end": notice.window_end, "link": notice.link,
               "signatures": [{"signature": s.signature, "count": s.count, "first_seen": s.first_seen,
                               "drift_type": s.drift_type} for s in notice.signatures],
               "overflow": notice.overflow}
        return {"event": event, "source": SOURCE, "notice": doc}
    n = notice.total
    label = LABELS[DRIFT_DETECTED]
    headline = (f"[{notice.severity}] {label} - {short_name(notice.dataset_urn)} - {n} new failure "
                f"signature{'s' if n != 1 else ''} (no SLO at risk yet: not paging)")
    lines = [f"- `{s.signature[:SIGNATURE_SHOWN]}` ({s.drift_type}): {s.count:,} record{'s' if s.count != 1 else ''}, "
             f"first seen {s.first_seen}" for s in notice.signatures[:SLACK_LISTED]]
    rest = n - len(lines)
    if rest > 0:
        lines.append(f"- and {rest:,} more")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f":information_source: *{headline}*"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"New signatures between {notice.window_start} and {notice.window_end} (event time) | "
            f"{notice.notice_id} | {SOURCE}")}]},
        {"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open dataset"}, "url": notice.link}]},
    ]
    return {"text": f"{headline} <{notice.link}|{short_name(notice.dataset_urn)}>", "blocks": blocks}


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
