"""Terminal renderings of signals and incidents."""

from __future__ import annotations

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from signal_factory.model.incidents import Incident
from signal_factory.signals.model import Signal

STATE_STYLE = {"OK": "green", "WARNING": "yellow", "CRITICAL": "bold red", "UNKNOWN": "dim"}
SEV_STYLE = {"SEV-1": "bold white on red", "SEV-2": "bold red", "SEV-3": "yellow", "SEV-4": "cyan"}
STATUS_STYLE = {"OPEN": "bold red", "ACKNOWLEDGED": "yellow", "RESOLVED": "green"}


def _metric_summary(signal: Signal) -> str:
    m = signal.metrics
    if "recent_failure_rate" in m:  # an early signal: what tipped it is the rate since the change point
        return (f"{m['recent_failure_rate']:.0%} of the last {m.get('recent_evidence_count', 0):,} failing "
                f"(window {m.get('compliance_rate', 0):.3f})")
    if "compliance_rate" in m:
        count = m.get("evidence_count", m.get("records_processed", 0))
        return f"compliance {m['compliance_rate']:.3f} (SLO {m.get('slo_threshold', '?')}) of {count:,}"
    if "observed" in m:
        return f"observed {m['observed']:,} expected {m.get('expected_low', '?')}–{m.get('expected_high', '?')}"
    if "lag_s" in m:
        return f"lag {m['lag_s']:,.0f}s (expected every {m.get('expected_interval_s', '?')}s)"
    if signal.details and "new_value" in signal.details:
        return f"new value {signal.details['field']}={signal.details['new_value']}"
    return ", ".join(f"{k}={v}" for k, v in list(m.items())[:3])


def signals_table(signals: list[Signal], title: str = "Signals") -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("time (event)", "dataset", "signal", "state", "window", "measure", "top failure"):
        table.add_column(col, no_wrap=col in ("time (event)", "dataset", "state"))
    for s in signals:
        style = STATE_STYLE.get(s.state, "")
        state = f"[{style}]{s.state}[/{style}]" + (" [dim](early)[/dim]" if s.provisional else "")
        window = f"{s.window.type} {s.window.start[11:19]}–{s.window.end[11:19]}" if s.window else "—"
        top = s.top_failures[0] if s.top_failures else None
        table.add_row(s.timestamp[:23], s.dataset_urn, s.signal_type, state, window, _metric_summary(s),
                      escape(f"{top.signature} ×{top.count:,}") if top else "—")
    return table


def incidents_table(incidents: list[Incident]) -> Table:
    table = Table(title="Incidents", title_justify="left")
    for col in ("id", "sev", "status", "opened (event time)", "dataset", "title", "suspected"):
        table.add_column(col, no_wrap=col != "title")
    for i in incidents:
        sp = i.suspected_producer
        table.add_row(i.incident_id, f"[{SEV_STYLE.get(i.severity, '')}]{i.severity}[/]",
                      f"[{STATUS_STYLE.get(i.status, '')}]{i.status}[/]", i.created_at[:23], i.dataset_urn,
                      escape(i.title), f"{sp.service} {sp.version or ''}".strip() if sp else "—")
    return table


def incident_panel(i: Incident) -> Panel:
    lines = [f"[{SEV_STYLE.get(i.severity, '')}] {i.severity} [/]  [{STATUS_STYLE.get(i.status, '')}]{i.status}[/]"
             f"   opened {i.created_at}   updated {i.updated_at}",
             f"[bold]dataset[/bold]    {i.dataset_urn}",
             f"[bold]signature[/bold]  {escape(i.failure_signature)}   ({i.signal_type}, signal {i.signal_id})"]
    if i.new_signatures:
        more = f" (+{i.new_signatures_overflow:,} more)" if i.new_signatures_overflow else ""
        lines.append(f"[bold]new signatures[/bold] {escape(', '.join(i.new_signatures))}{more}")
    if i.suspected_producer:
        sp = i.suspected_producer
        lines.append(f"[bold]suspected[/bold]  {sp.service} {sp.version or ''} (confidence {sp.confidence})")
    if i.evidence_summary:
        es = i.evidence_summary
        lines.append(f"[bold]evidence[/bold]   {es.failed_events:,} of {es.total_events:,} failed "
                     f"([bold red]{es.failure_rate}[/bold red]), first failure {es.first_failure}")
    if i.impact:
        im = i.impact
        lines.append(f"[bold]impact[/bold]     tier {im.tier} {im.classification or ''}; consumers: "
                     f"{', '.join(im.downstream_consumers) or '—'}; feeds: {', '.join(im.downstream_datasets) or '—'}")
    lines.append(f"[bold]primary[/bold]    evidence {i.primary_evidence_id or '—'}  trace {i.primary_trace_id or '—'}")
    if i.acknowledged_at:
        lines.append(f"[bold]acked[/bold]      {i.acknowledged_at} by {i.acknowledged_by or '?'}")
    if i.resolved_at:
        lines.append(f"[bold]resolved[/bold]   {i.resolved_at} {escape(i.resolution or '')}")
    if i.rca_link:
        lines.append(f"[bold]RCA[/bold]        {i.rca_link}")
    return Panel(Group(*lines), title=f"[bold]{i.incident_id}[/bold]  {escape(i.title)}", title_align="left")
