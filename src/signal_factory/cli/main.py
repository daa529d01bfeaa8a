"""`signal-factory` command line. Thin: parse flags, call the service, render with Rich."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from signal_factory.cli import pipeline as pipeline_cmds
from signal_factory.cli.evidence import evidence_app
from signal_factory.cli.graph import deploy, graph_app
from signal_factory.cli.ingest import ingest_app
from signal_factory.cli.lineage import lineage_app
from signal_factory.cli.mutes import mute_app
from signal_factory.cli.notices import notices_app
from signal_factory.cli.rca import rca
from signal_factory.cli.run import run_app
from signal_factory.cli.serve import serve
from signal_factory.cli.users import users_app
from signal_factory.errors import ConfigError, SignalFactoryError

# show_locals=False: a crash report must never print variables (they may hold secrets or record values).
app = typer.Typer(no_args_is_help=True, add_completion=True, rich_markup_mode="rich",
                  pretty_exceptions_show_locals=False,
                  help="Signal Factory: per-record evidence, signals, incidents and root cause for data.")
config_app = typer.Typer(no_args_is_help=True, help="Validate and inspect a control-plane directory.")
app.add_typer(config_app, name="config")
app.command()(pipeline_cmds.replay)
app.command()(pipeline_cmds.signals)
app.add_typer(pipeline_cmds.incidents_app, name="incidents")
app.add_typer(notices_app, name="notices")
app.add_typer(mute_app, name="mute")
app.add_typer(users_app, name="users")
app.add_typer(evidence_app, name="evidence")
app.add_typer(graph_app, name="graph")
app.command()(deploy)
app.command()(rca)
app.command()(serve)
app.add_typer(lineage_app, name="lineage")
app.add_typer(ingest_app, name="ingest")
app.add_typer(run_app, name="run")

# A pipe or CI log gets a readable fixed width instead of Rich's 80-column fallback.
# emoji=False: reason codes such as PII_DETECTED:notes:SSN must not turn into emoji.
err = Console(stderr=True, width=None if sys.stderr.isatty() else 132, emoji=False)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Control-plane directory.",
                                         envvar="SIGNAL_FACTORY_CONFIG")]


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            shown = version("signal-factory")
        except PackageNotFoundError:  # run from a source tree without `pip install -e .`
            shown = "unknown (not installed)"
        typer.echo(f"signal-factory {shown}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option(
        "--version", "-V", callback=_print_version, is_eager=True, help="Print the version and exit.")] = False,
          ) -> None:
    """Signal Factory: per-record evidence, signals, incidents and root cause for data."""


@app.command()
def enforce(
    files: Annotated[list[Path] | None, typer.Argument(
        metavar="FILE...", help="JSON-lines record files (kcat -J or plain form). `-` or none reads stdin.")] = None,
    config: ConfigOpt = Path("examples/orders"),
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write evidence JSON lines here (default: stdout; `-` is stdout).")] = None,
    topic: Annotated[str | None, typer.Option(help="Topic for lines that carry none.")] = None,
    batch_size: Annotated[int, typer.Option(help="Records per enforcer batch.")] = 1000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary table.")] = False,
) -> None:
    """Run records through the five gates; write evidence; print a per-dataset summary."""
    from signal_factory.cli.render import enforce_summary_table, print_not_enforced
    from signal_factory.service import EnforceService

    inputs = files or [Path("-")]
    missing = [str(p) for p in inputs if str(p) != "-" and not p.exists()]
    if missing:
        raise SignalFactoryError(f"input file not found: {', '.join(missing)}")
    service = EnforceService.from_config(config)
    print_not_enforced(err, service.cp)
    if out is not None and str(out) != "-":
        out.parent.mkdir(parents=True, exist_ok=True)
    sink = sys.stdout.buffer if out is None or str(out) == "-" else out.open("wb")
    try:
        summary = service.enforce_files(inputs, sink, default_topic=topic,
                                        batch_size=batch_size, console=err)
    finally:
        if sink is not sys.stdout.buffer:
            sink.close()
    if not quiet:
        err.print(enforce_summary_table(summary, service.cp))
        if out is not None and str(out) != "-":
            err.print(f"[dim]evidence written to {out}[/dim]")


@config_app.command("check")
def config_check(directory: Annotated[Path, typer.Argument(metavar="DIR", help="Control-plane directory.")]) -> None:
    """Load and validate every file; print what was found, or the first problem and its fix."""
    from signal_factory.cli.render import config_summary_table, print_config_lists
    from signal_factory.controlplane.loader import load_control_plane

    cp = load_control_plane(directory)
    err.print(config_summary_table(cp))
    print_config_lists(err, cp)
    err.print(f"[green]✓[/green] {directory} is valid")


def main() -> None:
    try:
        app()
    except ConfigError as e:
        err.print(f"[bold red]config error[/bold red] {e}", highlight=False)
        sys.exit(2)
    except SignalFactoryError as e:  # soft_wrap: one message stays one line in a log or a pipe
        err.print(f"[bold red]error[/bold red] {escape(str(e))}", highlight=False, soft_wrap=True)
        sys.exit(1)
