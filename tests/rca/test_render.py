"""Rendering: the Rich box has the seed's sections and key lines; JSON and Markdown round-trip the facts."""

from __future__ import annotations

import msgspec
from rich.console import Console

from signal_factory.rca.render import flow_line, from_json, render_rich, to_json, to_markdown
from signal_factory.rca.report import RCAReport
from tests.rca import builders as b


def _text(report: RCAReport) -> str:
    console = Console(record=True, width=100, color_system="truecolor")
    console.print(render_rich(report))
    return console.export_text()


def test_rich_box_for_scenario1_has_the_seed_sections(scenario1_report: RCAReport) -> None:
    """Title bar, root cause with confidence, why, evidence chain, timeline, data flow, blast radius, actions,
    references and the timing footer, each where the on-call engineer looks for it."""
    text = _text(scenario1_report)
    lines = [line.strip("│ ").rstrip() for line in text.splitlines()]
    for expected in ["Incident: INC-7721 | Severity: SEV-1 | Status: OPEN", "ROOT CAUSE (Confidence: 95% - HIGH)",
                     "WHY THIS CONFIDENCE", "EVIDENCE CHAIN", "TIMELINE", "DATA FLOW", "BLAST RADIUS",
                     "RECOMMENDED ACTIONS", "EVIDENCE REFERENCES", "EXPLANATION (template)",
                     "orders-svc ──► raw.orders.events ──► bronze ──► silver ──► gold_daily",
                     "• Deployment: orders-svc v3.17 deployed at 09:57:45 UTC (marker, commit 9f3c2d1)",
                     "• First failure: 09:58:02 UTC (17 s after deployment)",
                     "• Failure pattern: 1,120 of 1,247 events (89.8%) missing customer_id",
                     "• All failures have identical signature: MISSING_FIELD:customer_id",
                     "• Producer attribution: HIGH confidence (explicit header match)",
                     "1. Roll back orders-svc to v3.16 (deployed 2024-01-12 16:20:00 UTC)",
                     f"Primary: {b.PRIMARY}", f"Trace:   {b.TRACE}", "Sample:  [+1,119 more evidence records]"]:
        assert expected in lines, expected
    assert "RCA COPILOT ANALYSIS" in lines[0]
    assert any(line.startswith("Analysis completed in ") and "| Graph traversal: " in line for line in lines)
    for name in ["sales.orders_silver", "Executive revenue dashboard", "Finance revenue pipeline"]:
        assert name in text
    assert "Tier-1" in text
    assert "delta_table" in text
    assert "dashboard" in text


def test_rich_colours_severity_and_level(scenario1_report: RCAReport) -> None:
    """SEV-1 is white on red and the HIGH root-cause heading green, so both read at a glance."""
    console = Console(record=True, width=100, color_system="truecolor")
    console.print(render_rich(scenario1_report))
    html = console.export_html(inline_styles=True)
    assert "background-color: #800000" in html or "background-color: #ff0000" in html
    assert "color: #008000" in html or "color: #00ff00" in html


def test_rich_box_for_scenario2_shows_runs_and_drift(scenario2_report: RCAReport) -> None:
    """The batch-drift box: query, affected run, real-time WARN and batch FAILs in the chain, four actions."""
    text = _text(scenario2_report)
    assert "RCA COPILOT ANALYSIS - BATCH DRIFT" in text
    assert "Query: Why did spark-orders-silver-20240115-020005 reject 380 records" in text
    assert "AFFECTED RUNS" in text
    assert "45,230" in text
    assert "• Batch FAILs: evd-01HQZA1234567890ABCDEFGH (+379 more)" in text
    assert "4. Add a contract test in CI for `discount_type` values in orders-svc" in text


def test_json_round_trip(scenario1_report: RCAReport, scenario2_report: RCAReport) -> None:
    """to_json then from_json gives an equal report; the JSON is plain msgspec (no custom types)."""
    for report in (scenario1_report, scenario2_report):
        data = to_json(report)
        assert from_json(data) == report
        assert msgspec.json.decode(data)["root_cause"]["kind"] in ("DEPLOYMENT", "UPSTREAM_DRIFT")


def test_markdown_carries_the_same_facts(scenario1_report: RCAReport, scenario2_report: RCAReport) -> None:
    """Markdown: the headings, the flow line, the blast radius table rows, numbered actions and the timing line."""
    md = to_markdown(scenario1_report)
    assert md.startswith("# RCA Copilot analysis\n\n**Incident: INC-7721 | Severity: SEV-1 | Status: OPEN**")
    assert "## ROOT CAUSE (Confidence: 95% - HIGH)" in md
    assert f"`{flow_line(scenario1_report)}`" in md
    assert "| Executive revenue dashboard | `urn:dp:dashboards:executive_revenue` | dashboard | 1 | 4 |" in md
    assert "1. Roll back orders-svc to v3.16 (deployed 2024-01-12 16:20:00 UTC)" in md
    assert "_Analysis completed in " in md
    md2 = to_markdown(scenario2_report)
    assert "## Affected runs" in md2
    assert f"| {b.RUN} | orders_silver_transform | 380 |" in md2
