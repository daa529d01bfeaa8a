"""Rich renderings for the terminal: tables an on-call engineer can read at a glance."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:  # annotations only: importing the CLI must not load the loader or the enforcer
    from signal_factory.controlplane.loader import ControlPlane
    from signal_factory.service import EnforceSummary

_RESULT_STYLE = {"PASS": "green", "WARN": "yellow", "FAIL": "bold red"}


def enforce_summary_table(summary: EnforceSummary, cp: ControlPlane | None = None) -> Table:
    """Per dataset: records, PASS/WARN/FAIL, compliance coloured by the dataset's own SLO."""
    table = Table(title=f"Evidence summary — {summary.records:,} records in {summary.seconds:.2f}s "
                        f"({summary.records_per_s:,.0f} rec/s)", title_justify="left")
    table.add_column("dataset", style="bold", no_wrap=True)
    table.add_column("records", justify="right")
    table.add_column("PASS", justify="right", style="green")
    table.add_column("WARN", justify="right", style="yellow")
    table.add_column("FAIL", justify="right", style="red")
    table.add_column("compliance", justify="right")
    table.add_column("top reason codes")
    for urn, row in sorted(summary.datasets.items()):
        total = row.total
        compliance = row.passed / total if total else 1.0
        ds = cp.datasets.get(urn) if cp is not None else None
        ok, warn = (ds.slo.contract_compliance.threshold, ds.slo.contract_compliance.warning_threshold) \
            if ds is not None else (0.95, 0.80)
        style = "green" if compliance >= ok else "yellow" if compliance >= warn else "bold red"
        top = ", ".join(f"{escape(code)} ×{n:,}" for code, n in row.top_reasons(3)) or "—"
        table.add_row(urn, f"{total:,}", f"{row.passed:,}", f"{row.warned:,}", f"{row.failed:,}",
                      f"[{style}]{compliance:.1%}[/{style}]", top)
    if summary.sampled_out:
        table.caption = (f"{summary.sampled_out:,} PASS evidence sampled out by tier "
                         "(counted above, not written)")
    return table


def config_summary_table(cp: ControlPlane) -> Table:
    table = Table(title=f"Control plane {cp.root}", title_justify="left")
    table.add_column("dataset", style="bold", no_wrap=True)
    table.add_column("tier", justify="center")
    table.add_column("owner")
    table.add_column("topics / S3 locations")
    table.add_column("schema / contract")
    table.add_column("SLO ok/warn", justify="right")
    table.add_column("feeds")
    by_ds: dict[str, list[str]] = {}
    for t in cp.topics.values():
        by_ds.setdefault(t.dataset, []).append(t.topic)
    for r in cp.objects:
        by_ds.setdefault(r.dataset, []).append(r.route_key)
    for urn, ds in cp.datasets.items():
        slo = ds.slo.contract_compliance
        table.add_row(urn, str(ds.tier), ds.owner, ", ".join(by_ds.get(urn, [])) or "—",
                      "\n".join(x for x in (ds.schema, ds.contract) if x) or "—",
                      f"{slo.threshold:.2f}/{slo.warning_threshold:.2f}",
                      "\n".join(f"{e.to} ({e.type})" for e in ds.feeds) or "—")
    return table


def print_not_enforced(console: Console, cp: ControlPlane) -> None:
    """One line per contract clause that is stated but not enforced (`file:line: why (at key)`): `config check`,
    and `enforce` / `replay` / `serve` once at start, so nothing in a contract is skipped quietly."""
    for notice in cp.notices:
        console.print(f"[yellow]not enforced[/yellow] {escape(notice)}", highlight=False, soft_wrap=True)


def print_config_lists(console: Console, cp: ControlPlane) -> None:
    """`config check`'s two lists: gaps (what we cannot enforce or do not support), then the aggregate quality
    rules measured per window (informational)."""
    if cp.notices or cp.gaps:
        console.print(f"[bold]Gaps[/bold]: {len(cp.notices) + len(cp.gaps)} stated but not enforced", highlight=False)
        print_not_enforced(console, cp)
        for gap in cp.gaps:
            console.print(f"[bold yellow]gap[/bold yellow] {escape(str(gap))}", highlight=False, soft_wrap=True)
    if cp.window_rules:
        console.print(f"[bold]Enforced per window[/bold]: {len(cp.window_rules)} aggregate quality rules, judged when "
                      "each window closes (DQ_BREACH signals; informational)", highlight=False)
        for rule in cp.window_rules:
            console.print(f"[cyan]per window[/cyan] {escape(rule)}", highlight=False, soft_wrap=True)
