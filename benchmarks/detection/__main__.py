"""Detection quality: do the right pages come, on time, with the right root cause, and nothing else?

    python -m benchmarks.detection                   # --size full: every scenario at full length
    python -m benchmarks.detection --size small      # CI-sized (the same shapes, shorter), well under a minute
    python -m benchmarks.detection --json            # machine-readable scores on stdout (no table)
    python -m benchmarks.detection --only bad_deploy,world_40 --keep /tmp/detbench   # keep the inputs and DBs

Each scenario is generated (seeded, deterministic), written as the files `signal-factory replay` reads
(control plane, traffic JSON lines, deployment markers), run through the real pipeline into a fresh
SQLite database with notifications kept in the outbox, and scored against the generator's labels.
With --keep, `signal-factory replay --config DIR/<scenario>/control-plane --deployments ... --no-send`
reproduces any scenario by hand.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.detection.runner import run
from benchmarks.detection.scoring import ScenarioScore, Totals, percentile, score, totals
from benchmarks.detection.suite import SIZES, SUITE, scenarios

TARGETS = ("targets: 0 false SEV-1/SEV-2 pages, 100% top-1 root cause, SEV-1 p95 <= 10 s (fast breaches). "
           "PD: PagerDuty trigger/update notifications")


def run_suite(size: str, seed: int = 13, only: set[str] | None = None, keep: Path | None = None,
              progress: Any = None) -> list[ScenarioScore]:
    """Generate, run and score every scenario of `size`."""
    out = []
    with tempfile.TemporaryDirectory(prefix="detbench-") as tmp:
        root = keep or Path(tmp)
        for sc in scenarios(size, seed, only):
            sub = root / sc.name
            sub.mkdir(parents=True, exist_ok=True)
            outcome = run(sc, sub)
            rcas = {k: v.rca for k, v in outcome.incident_views.items()}
            scored = score(sc.name, sc.title, outcome.records, outcome.seconds, sc.clean_ms, sc.pages,
                           outcome.pages, rcas, outcome.notifications)
            scored.incidents = {k: {"dataset": v.dataset, "signature": v.signature, "history": v.history,
                                    "rca": vars(v.rca)} for k, v in outcome.incident_views.items()}
            out.append(scored)
            if progress is not None:
                progress(out[-1])
    return out


def _s(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "never"
    return f"{value:.1f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _lat(values: list[float]) -> str:
    return f"{_s(percentile(values, 50))} / {_s(percentile(values, 95))}" if values else "-"


def render(scores: list[ScenarioScore], size: str, console: Console) -> None:
    table = Table(title=f"Detection quality ({size})", caption=TARGETS)
    for col, just in (("scenario", "left"), ("records", "right"), ("labels", "right"), ("pages", "right"),
                      ("false", "right"), ("PD", "right"), ("precision", "right"), ("recall", "right"),
                      ("1st page s p50/p95", "right"), ("SEV-1 s p50/p95", "right"), ("top-1", "right"),
                      ("blast F1", "right"), ("run s", "right")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for s in scores:
        t = totals([s])
        table.add_row(s.name, f"{s.records:,}", str(len(s.labels)), str(s.pages), str(len(s.false_pages)),
                      str(s.pagerduty), _pct(s.precision), _pct(s.recall), _lat(t.first_page), _lat(t.sev1),
                      f"{t.top1}/{t.detected}" if t.detected else "-", _s(t.mean_blast_f1), f"{s.seconds:.1f}")
    t = totals(scores)
    table.add_section()
    table.add_row("total", f"{t.records:,}", str(t.labels), str(t.pages), str(t.false_pages),
                  str(sum(s.pagerduty for s in scores)), _pct(t.precision),
                  _pct(t.recall), _lat(t.first_page), _lat(t.sev1), _pct(t.top1_accuracy),
                  "-" if t.mean_blast_f1 is None else f"{t.mean_blast_f1:.2f}", f"{t.seconds:.1f}")
    console.print(table)
    console.print(f"false pages per 24 h of clean traffic: {t.false_per_24h:.1f} "
                  f"({t.false_pages} in {t.clean_hours:.1f} h; {t.false_sev1} of them SEV-1)")
    console.print(f"SEV-1 on fast breaches (>= 2 rec/s, >= 50% failing, tier 1): p50/p95 {_lat(t.sev1_fast)} s "
                  f"over {len(t.sev1_fast)} breaches")
    detail = Table(title="Labelled incidents", show_lines=False)
    for col in ("scenario", "dataset", "kind", "cause", "paged", "1st page s", "SEV-1 s", "RCA top-1", "blast F1"):
        detail.add_column(col)
    for s in scores:
        for ls in s.labels:
            lb = ls.label
            detail.add_row(s.name, lb.dataset.removeprefix("urn:dp:"), lb.kind,
                           f"{lb.cause.service} {lb.cause.version}", "yes" if ls.detected else "NO",
                           _s(ls.first_page_s), _s(ls.sev1_s),
                           ("ok " if ls.top1 else "WRONG ") + ls.rca if ls.detected else "-", _s(ls.blast_f1))
    console.print(detail)
    false = Table(title="False pages")
    for col in ("scenario", "incident", "severity", "dataset", "signal", "signature"):
        false.add_column(col)
    for s in scores:
        for p in s.false_pages:
            false.add_row(s.name, p.incident_id, p.severity + (" (escalation)" if p.escalation else ""),
                          p.dataset.removeprefix("urn:dp:"), p.signal_type, p.signature)
    console.print(false)


def as_json(scores: list[ScenarioScore], size: str) -> dict[str, Any]:
    def num(v: float | None) -> float | None:
        return None if v is None or math.isinf(v) else round(v, 3)

    def summary(t: Totals) -> dict[str, Any]:
        return {"records": t.records, "seconds": round(t.seconds, 2), "labels": t.labels, "detected": t.detected,
                "pages": t.pages, "true_pages": t.true_pages, "false_pages": t.false_pages,
                "false_sev1_pages": t.false_sev1, "clean_hours": round(t.clean_hours, 3),
                "false_pages_per_24h": round(t.false_per_24h, 3), "precision": num(t.precision),
                "recall": num(t.recall), "top1_accuracy": num(t.top1_accuracy), "blast_f1": num(t.mean_blast_f1),
                "first_page_s": {"p50": num(percentile(t.first_page, 50)), "p95": num(percentile(t.first_page, 95))},
                "sev1_s": {"p50": num(percentile(t.sev1, 50)), "p95": num(percentile(t.sev1, 95)),
                           "never": sum(1 for v in t.sev1 if math.isinf(v))},
                "sev1_fast_s": {"p50": num(percentile(t.sev1_fast, 50)), "p95": num(percentile(t.sev1_fast, 95)),
                                "n": len(t.sev1_fast), "never": sum(1 for v in t.sev1_fast if math.isinf(v))}}

    return {
        "size": size,
        "totals": summary(totals(scores)),
        "scenarios": [{
            "name": s.name, "title": s.title, **summary(totals([s])), "notifications": s.notifications,
            "incidents": s.incidents,
            "labels": [{"dataset": ls.label.dataset, "kind": ls.label.kind, "cause": vars(ls.label.cause),
                        "detected": ls.detected, "first_page_s": num(ls.first_page_s), "sev1_s": num(ls.sev1_s),
                        "sev1_expected": ls.label.expect_sev1, "fast": ls.label.fast, "top1": ls.top1,
                        "rca": ls.rca, "blast_f1": num(ls.blast_f1), "incident": ls.incident_id}
                       for ls in s.labels],
            "false_pages": [{"incident": p.incident_id, "severity": p.severity, "escalation": p.escalation,
                             "dataset": p.dataset, "signal_type": p.signal_type, "signature": p.signature,
                             "at_ms": p.at_ms} for p in s.false_pages],
        } for s in scores],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.detection", description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=SIZES, default="full")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--json", action="store_true", help="print the scores as JSON instead of tables")
    ap.add_argument("--only", help=f"comma-separated scenarios ({', '.join(n for n, _, _ in SUITE)})")
    ap.add_argument("--keep", type=Path, help="keep each scenario's inputs and database under this directory")
    args = ap.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    err = Console(stderr=True)
    scores = run_suite(args.size, args.seed, only, args.keep,
                       progress=lambda s: err.print(f"[dim]{s.name}: {s.records:,} records, {s.seconds:.1f} s[/dim]"))
    if args.json:
        sys.stdout.write(json.dumps(as_json(scores, args.size), indent=1) + "\n")
    else:
        out = Console()
        render(scores, args.size, out if out.is_terminal and out.width >= 150 else Console(width=170))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
