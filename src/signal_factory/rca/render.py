"""The report for people: a Rich panel laid out like the seed's RCA boxes, Markdown, and JSON.

    console.print(render_rich(report))      # title bar, ROOT CAUSE (Confidence: 95% - HIGH), WHY THIS
                                            # CONFIDENCE, EVIDENCE CHAIN, TIMELINE, DATA FLOW, BLAST RADIUS, ...
    text = to_markdown(report)
    data = to_json(report)                  # msgspec; `from_json` reads it back
"""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from signal_factory.rca.actions import failing_records
from signal_factory.rca.confidence import duration
from signal_factory.rca.lookups import clock, to_ms
from signal_factory.rca.report import DEPLOYMENT, UPSTREAM_DRIFT, RCAReport, from_json, to_json

__all__ = ["chain_lines", "flow_line", "from_json", "render_rich", "stream_lines", "timing_line", "to_json",
           "to_markdown"]

SEVERITY_STYLE = {"SEV-1": "bold white on red", "SEV-2": "bold black on dark_orange",
                  "SEV-3": "bold black on yellow", "SEV-4": "bold white on blue"}
LEVEL_STYLE = {"HIGH": "bold green", "MEDIUM": "bold yellow", "LOW": "bold red"}
ARROW = " ──► "


def _when(iso_text: str | None, *, with_date: bool = False) -> str:
    return f"{clock(to_ms(iso_text), with_date=with_date)} UTC" if iso_text else "?"


def heading(report: RCAReport) -> str:
    h = report.header
    if h.subject == "incident":
        return f"Incident: {h.incident_id} | Severity: {h.severity} | Status: {h.status}"
    return f"Query: {h.query}"


def root_title(report: RCAReport) -> str:
    c = report.confidence
    return f"ROOT CAUSE (Confidence: {c.score:.0%} - {c.level})"


def flow_line(report: RCAReport) -> str:
    """`orders-svc ──► raw.orders.events ──► bronze ──► silver ──► gold_daily`."""
    return ARROW.join(h.label for h in report.data_flow)


def _ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else f"{value:.0f} ms"


def timing_line(report: RCAReport) -> str:
    t = report.timing
    line = f"Analysis completed in {_ms(t.total_ms)} | Graph traversal: {_ms(t.graph_ms)} ({t.graph_calls} queries)"
    if t.llm_ms is not None:
        line += f" | LLM: {_ms(t.llm_ms)}"
    return line


def chain_lines(report: RCAReport) -> list[str]:
    """The evidence chain as the seed's bullets, from the report's facts."""
    rc, ev, out = report.root_cause, report.evidence, []
    if rc.kind == DEPLOYMENT:
        how = "inferred from evidence" if rc.inferred else "marker"
        commit = f", commit {rc.commit}" if rc.commit else ""
        out.append(f"Deployment: {rc.service} {rc.version} deployed at {_when(rc.deployed_at)} ({how}{commit})")
    if rc.kind == UPSTREAM_DRIFT and ev.realtime_warn_evidence_id:
        who = f"{ev.producer} {ev.producer_version or ''}".rstrip()
        out.append(f"Real-time WARN: {ev.realtime_warn_evidence_id} ({_when(ev.realtime_warn_at, with_date=True)}) "
                   f"from {who}")
    if ev.batch_fail_evidence_id:
        more = f" (+{ev.batch_fail_count - 1:,} more)" if ev.batch_fail_count and ev.batch_fail_count > 1 else ""
        out.append(f"Batch FAILs: {ev.batch_fail_evidence_id}{more}")
    if rc.onset:
        line = f"Breach onset: {_when(rc.onset, with_date=rc.kind != DEPLOYMENT)}"
        if rc.seconds_to_onset is not None:
            line += f" ({duration(rc.seconds_to_onset)} {'after' if rc.seconds_to_onset >= 0 else 'before'} deployment)"
        out.append(line + (f": {rc.onset_note}" if rc.onset_note else ""))
    if ev.first_failure or not rc.onset:
        first = f"First failure: {_when(ev.first_failure, with_date=rc.kind != DEPLOYMENT)}"
        if rc.seconds_to_first_failure is not None:
            since = "deployment" if rc.kind == DEPLOYMENT else "the first real-time evidence"
            first += f" ({duration(rc.seconds_to_first_failure)} after {since})"
        elif rc.onset:
            first += " (at a background rate, before the onset)"
        out.append(first)
    if ev.failed_events and ev.total_events:
        what = (f"failing {len(report.signatures)} different checks" if report.signatures
                else failing_records(report.header.failure_signature or ""))
        out.append(f"Failure pattern: {ev.failed_events:,} of {ev.total_events:,} events "
                   f"({ev.failed_events / ev.total_events:.1%}) {what}")
    share = next((r for r in report.confidence.reasons if r.factor == "signature_determinism"), None)
    if share is not None and report.signatures:
        out.append(f"Signatures: {share.text}")
    elif share is not None and share.value >= 0.999:
        out.append(f"All failures have identical signature: {report.header.failure_signature}")
    elif share is not None:
        out.append(f"Signature share: {share.text}")
    if ev.identity_confidence:
        out.append(f"Producer attribution: {ev.identity_confidence} confidence "
                   f"({_IDENTITY.get(ev.identity_confidence, 'unknown')})")
    if ev.producing_span is not None:
        sp = ev.producing_span
        out.append(f"Producing span: {sp.service} `{sp.operation}` {sp.status} in {sp.duration_ms:g} ms "
                   f"(trace {sp.trace_id})")
    for sp in ev.error_spans:
        why = f": {sp.status_message}" if sp.status_message else ""
        out.append(f"Error span: {sp.service} `{sp.operation}` at {_when(sp.started_at)}{why}")
    out += [f"OpenLineage run: {run_id}" for run_id in ev.run_ids]
    out += [f"DAG run: {dag}" for dag in ev.dag_run_ids]
    return out


_IDENTITY = {"HIGH": "explicit header match", "MEDIUM": "topic mapping only", "LOW": "payload hint"}
_ROLE = {"processor": "processor", "source_record": "source record", "deployment": "deploy"}


def stream_lines(report: RCAReport) -> list[str]:
    """A stream processor's failure back to its cause, one hop a line, each under the one it explains:

        processor enrichment-stream/enrich: FAIL MISSING_FIELD:customer_id on urn:dp:orders:enriched (evd-...)
          <- DERIVED_FROM source record raw.orders.events[0]@1201: FAIL MISSING_FIELD:customer_id ... orders-svc v3.17
          <- DEPLOYED deploy orders-svc v3.17 at 09:57:45 UTC
    """
    out = []
    for i, h in enumerate(report.stream_chain):
        head = f"{'  ' * i}<- {h.relation} " if i else ""
        if h.role == "deployment":
            out.append(f"{head}{_ROLE[h.role]} {h.label} at {_when(h.at)}")
            continue
        what = f"{h.result} {', '.join(h.reason_codes)}".rstrip() if h.result else "?"
        who = f", sent by {h.producer} {h.producer_version or ''}".rstrip() if h.role == "source_record" and \
            h.producer else ""
        out.append(f"{head}{_ROLE[h.role]} {h.label}: {what} on {h.dataset_urn}{who} ({h.evidence_id})")
    return out


def _stream(report: RCAReport) -> list[RenderableType]:
    if not report.stream_chain:
        return []
    return [*_section("STREAM CHAIN (processor -> source record -> producer deploy)"),
            *(Text(line) for line in stream_lines(report))]


def reference_lines(report: RCAReport) -> list[tuple[str, str]]:
    ev = report.evidence
    rows = []
    if ev.primary_evidence_id:
        rows.append(("Primary", ev.primary_evidence_id))
    if ev.primary_trace_id:
        rows.append(("Trace", ev.primary_trace_id))
    if ev.signature_count and ev.signature_count > 1 and not ev.batch_fail_evidence_id:
        rows.append(("Sample", f"[+{ev.signature_count - 1:,} more evidence records]"))
    return rows


def _section(title: str, style: str = "bold") -> list[RenderableType]:
    return [Text(""), Text(title, style=style), Text("─" * len(title), style="dim")]


def _grid(*headers: str) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    for h in headers:
        table.add_column(h, overflow="fold")
    return table


def _why(report: RCAReport) -> list[RenderableType]:
    conf = report.confidence
    why = _grid("factor", "score", "weight", "adds", "why")
    for r in conf.reasons:
        why.add_row(r.factor, f"{r.value:.2f}", f"{r.weight:.2f}", f"+{r.effect * 100:.1f}", r.text)
    note = Text(f"ceiling {conf.ceiling:.0%}: correlation in the graph is not proof", style="dim")
    return [*_section("WHY THIS CONFIDENCE"), why, note]


def _timeline(report: RCAReport) -> list[RenderableType]:
    tl = _grid("event time (UTC)", "actor", "event")
    for e in report.timeline:
        tl.add_row(e.time.replace("T", " ")[:19], e.actor, e.event)
    return [*_section("TIMELINE"), tl]


def _flow(report: RCAReport) -> list[RenderableType]:
    if not report.data_flow:
        return []
    notes = [Text(f"  [{hop.label}: {hop.note}]", style="dim") for hop in report.data_flow if hop.note]
    return [*_section("DATA FLOW"), Text(flow_line(report), style="bold cyan"), *notes]


def _blast(report: RCAReport) -> list[RenderableType]:
    if not report.blast_radius:
        return [*_section("BLAST RADIUS"), Text("No downstream datasets in the graph.")]
    tier1 = sum(1 for b in report.blast_radius if b.tier == 1)
    table = _grid("asset", "type", "tier", "hops", "impact")
    for b in report.blast_radius:
        hops = "run output" if b.via == "WROTE_TO" else str(b.hops)
        name = f"{b.name} - {b.status}" if b.status else b.name  # an Airflow DAG's last run: `x - FAILED`
        table.add_row(name, b.type or "?", f"Tier-{b.tier}" if b.tier is not None else "?", hops, b.impact or "",
                      style="bold" if b.tier == 1 else None)
    intro = Text(f"{len(report.blast_radius)} assets downstream ({tier1} tier 1), FEEDS up to 3 hops:")
    return [*_section("BLAST RADIUS"), intro, table]


def _runs(report: RCAReport) -> list[RenderableType]:
    if not report.affected_runs:
        return []
    table = _grid("run", "job", "records failed", "of", "DAG run")
    for r in report.affected_runs:
        table.add_row(r.run_id, r.job or "?", f"{r.records_failed:,}" if r.records_failed is not None else "?",
                      f"{r.records_processed:,}" if r.records_processed is not None else "?", r.dag_run_id or "")
    return [*_section("AFFECTED RUNS"), table]


def _signatures(report: RCAReport) -> list[RenderableType]:
    """Failures spread over many signatures: each one, and whether the root cause explains it."""
    if not report.signatures:
        return []
    table = _grid("signature", "failures", "first failure", "producer", "explained")
    table.columns[0].no_wrap = True
    for s in report.signatures:
        who = f"{s.producer} {s.producer_version or ''}".rstrip() if s.producer else "unknown"
        table.add_row(s.reason_code, f"{s.count:,}", _when(s.first_failure), who, "yes" if s.explained else "no",
                      style=None if s.explained else "yellow")
    return [*_section(f"SIGNATURES ({len(report.signatures)}, none dominant)"), table]


def _others(report: RCAReport) -> list[RenderableType]:
    out: list[RenderableType] = []
    if report.alternatives:
        out += _section("ALTERNATIVES CONSIDERED")
        for a in report.alternatives:
            when = f" (deployed {a.deployed_at})" if a.deployed_at else ""
            verdict = a.verdict.replace("_", " ")
            out.append(Text(f"• {a.service} {a.version or ''}".rstrip() + f"{when} - {verdict}: {a.why}"))
    if report.concurrent_signatures:
        out += _section("CONCURRENT SIGNATURES (analysed separately)")
        for c in report.concurrent_signatures:
            inc = f", incident {', '.join(c.incident_ids)}" if c.incident_ids else ""
            count = f", {c.count:,} failures" if c.count else ""
            out.append(Text(f"• {c.reason_code} on {c.dataset_urn}{count}{inc}"))
    return out


def _closing(report: RCAReport) -> list[RenderableType]:
    out: list[RenderableType] = [*_section("RECOMMENDED ACTIONS")]
    out += [Text(f"{i}. {a}") for i, a in enumerate(report.actions, 1)]
    refs = reference_lines(report)
    if refs:
        out += [*_section("EVIDENCE REFERENCES"), *(Text(f"{k + ':':<9}{v}") for k, v in refs)]
    out += [*_section(f"EXPLANATION ({report.explanation.source})"), Text(report.explanation.text)]
    if report.explanation.fallback_reason:
        out.append(Text(f"LLM not used: {report.explanation.fallback_reason}", style="dim"))
    return [*out, Text(""), Rule(style="dim"), Text(timing_line(report), style="dim")]


def render_rich(report: RCAReport) -> Panel:
    """The seed's RCA box: title bar, then each section; severity and confidence level in colour."""
    h, conf = report.header, report.confidence
    head = Text(heading(report))
    if h.severity:
        head.highlight_words([h.severity], SEVERITY_STYLE.get(h.severity, "bold"))
    parts: list[RenderableType] = [head, *_section(root_title(report), LEVEL_STYLE.get(conf.level, "bold")),
                                   Text(report.root_cause.statement)]
    parts += [*_stream(report), *_why(report), *_section("EVIDENCE CHAIN"),
              *(Text(f"• {line}") for line in chain_lines(report))]
    parts += [*_signatures(report), *_timeline(report), *_flow(report), *_blast(report), *_runs(report),
              *_others(report)]
    parts += _closing(report)
    title = "RCA COPILOT ANALYSIS" + ("" if h.subject == "incident" else f" - {h.title}")
    border = "red" if h.severity == "SEV-1" else LEVEL_STYLE.get(conf.level, "white").split()[-1]
    return Panel(Group(*parts), title=f"[bold]{title}[/bold]", title_align="left", border_style=border,
                 padding=(0, 1))


def to_markdown(report: RCAReport) -> str:
    h, rc, conf = report.header, report.root_cause, report.confidence
    title = "RCA Copilot analysis" + ("" if h.subject == "incident" else f" - {h.title.lower()}")
    lines = [f"# {title}", "", f"**{heading(report)}**", "", f"## {root_title(report)}", "", rc.statement, ""]
    if report.stream_chain:
        lines += ["## Stream chain (processor -> source record -> producer deploy)", "", "```",
                  *stream_lines(report), "```", ""]
    lines += ["## Why this confidence", "", "| factor | score | weight | adds | why |", "|---|---|---|---|---|"]
    lines += [f"| {r.factor} | {r.value:.2f} | {r.weight:.2f} | +{r.effect * 100:.1f} | {r.text} |"
              for r in conf.reasons]
    lines += ["", f"Ceiling {conf.ceiling:.0%}: correlation in the graph is not proof.", "", "## Evidence chain", ""]
    lines += [f"- {line}" for line in chain_lines(report)]
    if report.signatures:
        lines += ["", "## Signatures (none dominant)", "", "| signature | failures | first failure | producer | "
                  "explained by the cause |", "|---|---|---|---|---|"]
        lines += [f"| `{s.reason_code}` | {s.count:,} | {s.first_failure or '?'} | {s.producer or 'unknown'} "
                  f"{s.producer_version or ''} | {'yes' if s.explained else 'no'} |" for s in report.signatures]
    lines += ["", "## Timeline", "", "| event time (UTC) | actor | event |", "|---|---|---|"]
    lines += [f"| {e.time} | {e.actor} | {e.event} |" for e in report.timeline]
    if report.data_flow:
        lines += ["", "## Data flow", "", f"`{flow_line(report)}`", ""]
        lines += [f"- {hop.label}: {hop.note}" for hop in report.data_flow if hop.note]
    lines += ["", "## Blast radius", "", "| asset | urn | type | tier | hops | via | impact |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {b.name}{f' - {b.status}' if b.status else ''} | `{b.urn}` | {b.type or '?'} | "
              f"{b.tier if b.tier is not None else '?'} | {b.hops} | "
              f"{b.via}{f' ({b.job})' if b.job else ''} | {b.impact or ''} |" for b in report.blast_radius]
    if report.affected_runs:
        lines += ["", "## Affected runs", "", "| run | job | records failed | processed | DAG run |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r.run_id} | {r.job or '?'} | {r.records_failed} | {r.records_processed} | {r.dag_run_id or ''} |"
                  for r in report.affected_runs]
    if report.alternatives:
        lines += ["", "## Alternatives considered", ""]
        lines += [f"- {a.service} {a.version or ''} ({a.verdict.replace('_', ' ')}): {a.why}"
                  for a in report.alternatives]
    if report.concurrent_signatures:
        lines += ["", "## Concurrent signatures (analysed separately)", ""]
        lines += [f"- {c.reason_code} on `{c.dataset_urn}`" + (f" (incident {', '.join(c.incident_ids)})"
                                                                if c.incident_ids else "")
                  for c in report.concurrent_signatures]
    lines += ["", "## Recommended actions", ""] + [f"{i}. {a}" for i, a in enumerate(report.actions, 1)]
    refs = reference_lines(report)
    if refs:
        lines += ["", "## Evidence references", ""] + [f"- {k}: `{v}`" for k, v in refs]
    lines += ["", f"## Explanation ({report.explanation.source})", "", report.explanation.text, "", "---", "",
              f"_{timing_line(report)}_", ""]
    return "\n".join(lines)
