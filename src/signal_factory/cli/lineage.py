"""`lineage` commands: replay OpenLineage events (RunEvent, DatasetEvent, JobEvent JSON lines) into the
store (graph, runs, catalog, signals); show a run (state, timings, facets, the error of a failed run)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.console import Console

from signal_factory.cli.options import ConfigOpt, DbOpt, JsonOpt, open_cli_store
from signal_factory.errors import SignalFactoryError

lineage_app = typer.Typer(no_args_is_help=True, help="OpenLineage run events: lineage, run state, batch signals.")
err = Console(stderr=True, width=None if sys.stderr.isatty() else 132, emoji=False)


@lineage_app.callback()
def _group() -> None:
    """OpenLineage run events: lineage, run state, batch signals."""


@lineage_app.command("ingest")
def ingest(
    files: Annotated[list[Path], typer.Argument(
        metavar="FILE...", help="OpenLineage event JSON-lines files, replayed in file order.")],
    config: ConfigOpt = Path("examples/orders"),
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replay OpenLineage events (one JSON object per line) through the same path as POST /api/v1/lineage.

    Malformed lines are reported with file:line and skipped; the exit code is then 1."""
    from signal_factory.controlplane.loader import load_control_plane
    from signal_factory.enforcer.factory import build_enforcer
    from signal_factory.ingest.openlineage.mapping import load_mapping
    from signal_factory.ingest.openlineage.model import OpenLineageEventError, RunEvent, parse_event
    from signal_factory.ingest.openlineage.service import LineageIngest
    from signal_factory.runtime.replay import ReplayService

    missing = [str(p) for p in files if not p.exists()]
    if missing:
        raise SignalFactoryError(f"input file not found: {', '.join(missing)}")
    cp = load_control_plane(config)
    mapping = load_mapping(config)
    store = open_cli_store(db, create=True)
    bad = events = signals = duplicates = 0
    try:
        lineage = LineageIngest(ReplayService(cp, store, build_enforcer(cp)), mapping)
        for path in files:
            for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
                if not raw.strip():
                    continue
                try:
                    event = parse_event(raw, f"{path}:{number}")
                except OpenLineageEventError as e:
                    err.print(f"[red]skipped[/red] {e}", markup=True, highlight=False)
                    bad += 1
                    continue
                result = lineage.ingest(event)
                events += 1
                signals += len(result.signals)
                duplicates += result.duplicate
                if as_json:
                    sys.stdout.write(msgspec.json.encode(result).decode() + "\n")
                elif isinstance(event, RunEvent):
                    note = " (already stored)" if result.duplicate else ""
                    err.print(f"{event.eventType:<8} {event.job.namespace}/{event.job.name} run {event.run_id}: "
                              f"state {result.state}, {len(result.signals)} signals{note}", highlight=False)
                else:
                    note = " (already stored)" if result.duplicate else ""
                    err.print(f"{result.kind} {result.job or result.dataset}{note}", highlight=False)
    finally:
        store.close()
    err.print(f"{events} events ({duplicates} already stored), {signals} signals, {bad} malformed", highlight=False)
    if bad:
        raise typer.Exit(1)


@lineage_app.command("run")
def show_run(
    run_id: Annotated[str, typer.Argument(help="The OpenLineage runId.")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One run as GET /api/v1/lineage/runs/{id} shows it: state, timings, datasets, facets as received and,
    for a failed run, its errorMessage (message, language, stack trace)."""
    from signal_factory.ingest.openlineage.reads import LineageReader

    store = open_cli_store(db)
    try:
        view = LineageReader(store).run(run_id)
    finally:
        store.close()
    if view is None:
        raise SignalFactoryError(f"no OpenLineage run {run_id!r} in the store; replay its events with "
                                 "`signal-factory lineage ingest FILE` first")
    if as_json:
        sys.stdout.write(msgspec.json.encode(view).decode() + "\n")
        return
    out = Console(width=None if sys.stdout.isatty() else 132, emoji=False, highlight=False)
    out.print(f"run {view['run_id']}  {view['job_namespace']}/{view['job_name']}  state {view['state']} "
              f"({view['marquez_state']})", markup=False)
    out.print(f"  started {view.get('started_at') or '-'}  ended {view.get('ended_at') or '-'}", markup=False)
    for side in ("inputs", "outputs"):
        if view.get(side):
            out.print(f"  {side}: {', '.join(view[side])}", markup=False)
    error = view.get("error")
    if error:
        lang = f" ({error['programmingLanguage']})" if error.get("programmingLanguage") else ""
        out.print(f"  error{lang}: {error.get('message', '')}", markup=False)
        if error.get("stackTrace"):
            out.print("    " + str(error["stackTrace"]).replace("\n", "\n    "), markup=False)
    if view.get("facets"):
        out.print(f"  run facets: {', '.join(sorted(view['facets']))}", markup=False)
    out.print(f"  events: {', '.join(e['event_type'] + ' ' + e['event_time'] for e in view['events'])}", markup=False)
