"""`replay`, `signals` and `incidents` commands."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.console import Console

from signal_factory.cli.alerts_render import incident_panel, incidents_table, signals_table
from signal_factory.cli.options import ConfigOpt, DbOpt, JsonOpt, open_cli_store, time_option_ms
from signal_factory.cli.render import print_not_enforced
from signal_factory.errors import SignalFactoryError

IncidentArg = Annotated[str, typer.Argument(metavar="INCIDENT", help="Incident id, e.g. INC-1.")]

err = Console(stderr=True, width=None if sys.stderr.isatty() else 160, emoji=False)
out = Console(width=None if sys.stdout.isatty() else 160, emoji=False)
incidents_app = typer.Typer(no_args_is_help=True, help="List, show, acknowledge and resolve incidents.")


def replay(
    files: Annotated[list[Path], typer.Argument(
        metavar="FILE...", help="JSON-lines record files, replayed in event-time order.")],
    config: ConfigOpt = Path("examples/orders"),
    db: DbOpt = None,
    batch_size: Annotated[int, typer.Option(help="Records per transaction.")] = 1000,
    no_flush: Annotated[bool, typer.Option("--no-flush", help="Leave open windows open at the end.")] = False,
    send: Annotated[bool, typer.Option("--send/--no-send", help="Deliver notifications to configured routes.")] = True,
    deployments: Annotated[list[Path] | None, typer.Option(
        "--deployments", help="Deployment markers (JSON lines: service, version, at, commit) for RCA.")] = None,
) -> None:
    """Run enforce -> signals -> alerting over record files into the store; print what fired."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from signal_factory.alerting.dispatcher import OutboxDispatcher
    from signal_factory.alerting.mutes import MuteBook
    from signal_factory.controlplane.loader import load_control_plane
    from signal_factory.enforcer.factory import build_enforcer
    from signal_factory.runtime.replay import ReplayService

    missing = [str(p) for p in [*files, *(deployments or [])] if not p.exists()]
    if missing:
        raise SignalFactoryError(f"input file not found: {', '.join(missing)}")
    cp = load_control_plane(config)
    print_not_enforced(err, cp)
    store = open_cli_store(db, create=True)
    try:
        enforcer = build_enforcer(cp)
        service = ReplayService(cp, store, enforcer)
        if send:
            service.dispatcher = OutboxDispatcher(store.outbox, service.policy, mutes=MuteBook(store.checkpoints))
        with Progress(TextColumn("[bold]replaying[/bold]"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=err,
                      transient=True) as progress:
            task = progress.add_task("", total=None, rate="")
            started = time.perf_counter()

            def advance(n: int) -> None:
                done = progress.tasks[0].completed + n
                rate = (done - report_skipped[0]) / max(time.perf_counter() - started, 1e-9)
                progress.update(task, completed=done, rate=f"{rate:,.0f} records/s")

            def start(total: int, skipped: int) -> None:
                report_skipped[0] = skipped
                progress.update(task, total=total, completed=skipped)

            report_skipped = [0]
            report = service.replay(files, batch_size=batch_size, flush=not no_flush, deployments=deployments or [],
                                    on_progress=advance, on_start=start)
        if service.dispatcher is not None:
            service.dispatcher.close()
        fired = [s for s in report.signals if s.state in ("WARNING", "CRITICAL")]
        err.print(f"replayed {report.records:,} records ({report.skipped:,} already done) in {report.seconds:.2f}s; "
                  f"{report.new_evidence:,} new evidence, {len(report.signals):,} signals")
        if fired:
            out.print(signals_table(fired, "Signals fired"))
        created = {c.incident.incident_id: c.incident for c in report.changes}  # latest version of each
        if created:
            out.print(incidents_table(list(created.values())))
            for incident in created.values():
                out.print(incident_panel(incident))
        if report.first_failure_wall_s is not None and report.first_incident_wall_s is not None:
            lag = (report.first_incident_wall_s - report.first_failure_wall_s) * 1000
            err.print(f"first failing record -> incident: {max(lag, 0):.0f} ms of processing")
        if report.dispatch is not None and (report.dispatch.sent or report.dispatch.retrying or report.dispatch.dead):
            err.print(f"notifications: {report.dispatch.sent} sent, {report.dispatch.retrying} retrying, "
                      f"{report.dispatch.dead} failed permanently")
    finally:
        store.close()


def signals(
    db: DbOpt = None,
    dataset: Annotated[str | None, typer.Option(help="Only this dataset URN.")] = None,
    signal_type: Annotated[str | None, typer.Option("--type", help="Only this signal type.")] = None,
    since: Annotated[str | None, typer.Option(help="Only signals at or after this ISO time (event time).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The emitted signals, newest first."""
    since_ms = time_option_ms(since, "--since")
    store = open_cli_store(db)
    try:
        rows = store.signals.list(dataset_urn=dataset, signal_type=signal_type, since_ms=since_ms, limit=limit)
    finally:
        store.close()
    if as_json:
        for s in rows:
            sys.stdout.write(msgspec.json.encode(s).decode() + "\n")
    else:
        out.print(signals_table(rows))


@incidents_app.command("list")
def incidents_list(db: DbOpt = None,
                   status: Annotated[str | None, typer.Option(help="OPEN, ACKNOWLEDGED or RESOLVED.")] = None,
                   dataset: Annotated[str | None, typer.Option(help="Only this dataset URN.")] = None,
                   as_json: JsonOpt = False) -> None:
    """Incidents, newest first."""
    store = open_cli_store(db)
    try:
        rows = store.incidents.list(status=status.upper() if status else None, dataset_urn=dataset)
    finally:
        store.close()
    if as_json:
        for i in rows:
            sys.stdout.write(msgspec.json.encode(i).decode() + "\n")
    else:
        out.print(incidents_table(rows))


def _get(store: object, incident_id: str) -> object:
    incident = store.incidents.get(incident_id)  # type: ignore[attr-defined]
    if incident is None:
        raise SignalFactoryError(f"no incident {incident_id!r}; `signal-factory incidents list` shows the ids")
    return incident


@incidents_app.command("show")
def incidents_show(incident_id: IncidentArg, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """One incident in full."""
    store = open_cli_store(db)
    try:
        incident = _get(store, incident_id)
    finally:
        store.close()
    if as_json:
        sys.stdout.write(msgspec.json.encode(incident).decode() + "\n")
    else:
        out.print(incident_panel(incident))  # type: ignore[arg-type]


def _transition(incident_id: str, db: str | None, config: Path, action: str, by: str, note: str | None,
                as_json: bool) -> None:
    from signal_factory.alerting.dispatcher import OutboxDispatcher
    from signal_factory.alerting.engine import AlertingEngine
    from signal_factory.alerting.mutes import MuteBook
    from signal_factory.alerting.policy import load_alert_policy
    from signal_factory.controlplane.loader import load_control_plane

    cp = load_control_plane(config)
    policy = load_alert_policy(cp)
    store = open_cli_store(db)
    try:
        _get(store, incident_id)
        engine = AlertingEngine(cp, policy, store.incidents, store.outbox)
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        with store.transaction():
            if action == "ack":
                incident = engine.acknowledge(incident_id, by, at=now)
            else:
                incident = engine.resolve(incident_id, by, note, at=now)
        dispatcher = OutboxDispatcher(store.outbox, policy, mutes=MuteBook(store.checkpoints))
        dispatcher.run_once(datetime.now(UTC).timestamp())
        dispatcher.close()
    finally:
        store.close()
    if as_json:
        sys.stdout.write(msgspec.json.encode(incident).decode() + "\n")
    else:
        out.print(incident_panel(incident))


@incidents_app.command("ack")
def incidents_ack(incident_id: IncidentArg, db: DbOpt = None, config: ConfigOpt = Path("examples/orders"),
                  by: Annotated[str, typer.Option(help="Who acknowledges.", envvar="USER")] = "on-call",
                  as_json: JsonOpt = False) -> None:
    """Acknowledge: OPEN -> ACKNOWLEDGED (PagerDuty gets an acknowledge event)."""
    _transition(incident_id, db, config, "ack", by, None, as_json)


@incidents_app.command("resolve")
def incidents_resolve(incident_id: IncidentArg, db: DbOpt = None, config: ConfigOpt = Path("examples/orders"),
                      by: Annotated[str, typer.Option(help="Who resolves.", envvar="USER")] = "on-call",
                      note: Annotated[str | None, typer.Option(help="Resolution note.")] = None,
                      as_json: JsonOpt = False) -> None:
    """Resolve: OPEN/ACKNOWLEDGED -> RESOLVED (PagerDuty gets a resolve event)."""
    _transition(incident_id, db, config, "resolve", by, note, as_json)
