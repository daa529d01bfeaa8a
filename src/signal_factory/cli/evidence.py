"""`evidence` commands: look evidence up by id, dataset and time, signature or run; apply retention."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from signal_factory.cli.options import ConfigOpt, DbOpt, JsonOpt, open_cli_store, time_option_ms
from signal_factory.errors import SignalFactoryError
from signal_factory.model.evidence import Evidence
from signal_factory.model.timefmt import iso_ms

evidence_app = typer.Typer(no_args_is_help=True, help="Query stored evidence and apply retention.")
out = Console(width=None if sys.stdout.isatty() else 160, emoji=False)
_STYLE = {"PASS": "green", "WARN": "yellow", "FAIL": "bold red"}


def _table(rows: list[Evidence]) -> Table:
    table = Table(title=f"Evidence ({len(rows)})", title_justify="left")
    for col in ("event time", "evidence id", "dataset", "result", "reason codes", "producer", "source"):
        table.add_column(col, no_wrap=col in ("event time", "evidence id"))
    for ev in rows:
        style = _STYLE.get(ev.validation.result, "")
        prod = f"{ev.producer.id} {ev.producer.version or ''} ({ev.producer.confidence})" if ev.producer else "—"
        src = ev.source
        where = ("—" if src is None else f"{src.input_dataset}#{src.offset}" if src.input_dataset and src.offset
                 else f"{src.topic}/{src.partition}@{src.offset}" if src.offset is not None
                 else src.input_dataset or src.origin or "—")
        table.add_row(ev.event_time()[:23], ev.evidence_id, ev.dataset_urn, f"[{style}]{ev.validation.result}[/]",
                      escape(", ".join(ev.validation.reason_codes)) or "—", prod, where)
    return table


def _emit(rows: list[Evidence], as_json: bool) -> None:
    if as_json:
        for ev in rows:
            sys.stdout.write(msgspec.json.encode(ev).decode() + "\n")
    else:
        out.print(_table(rows))


def _stored(evidence_id: str, db: str | None) -> Evidence:
    """The stored evidence, or an error saying why there may be none."""
    store = open_cli_store(db)
    try:
        ev = store.evidence.get(evidence_id)
    finally:
        store.close()
    if ev is None:
        raise SignalFactoryError(f"no evidence {evidence_id!r} (FAIL/WARN are always kept; PASS may be sampled out)")
    return ev


@evidence_app.command("show")
def show(evidence_id: Annotated[str, typer.Argument(metavar="EVIDENCE", help="Evidence id (evd-...).")],
         db: DbOpt = None) -> None:
    """One evidence record, as stored (JSON)."""
    ev = _stored(evidence_id, db)
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(ev)).decode() + "\n")


@evidence_app.command("payload")
def payload(evidence_id: str, db: DbOpt = None) -> None:
    """The record's payload kept with an evidence (PII-redacted as stored), inline or from the payload store
    ($SIGNAL_FACTORY_PAYLOAD_STORE: a directory or s3://bucket/prefix), as JSON."""
    from signal_factory.payloads.files import PayloadMissingError
    from signal_factory.payloads.location import evidence_payload
    from signal_factory.settings import Settings

    ev = _stored(evidence_id, db)
    try:
        data = evidence_payload(ev, Settings.from_env())
    except PayloadMissingError as e:
        raise SignalFactoryError(str(e)) from e
    sys.stdout.write(msgspec.json.format(data).decode() + "\n")


@evidence_app.command("query")
def query(db: DbOpt = None,
          dataset: Annotated[str | None, typer.Option(help="Dataset URN (with --since/--until).")] = None,
          since: Annotated[str | None, typer.Option(help="Event time from (ISO).")] = None,
          until: Annotated[str | None, typer.Option(help="Event time until (ISO, exclusive).")] = None,
          result: Annotated[str | None, typer.Option(help="PASS, WARN or FAIL.")] = None,
          signature: Annotated[str | None, typer.Option(
              help="Failure signature, e.g. MISSING_FIELD:customer_id.")] = None,
          run: Annotated[str | None, typer.Option(help="Batch run id.")] = None,
          limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
          as_json: JsonOpt = False) -> None:
    """Evidence by dataset and time range, by signature (with first/last seen), or by run id."""
    if sum(x is not None for x in (dataset, signature, run)) != 1:
        raise SignalFactoryError("give exactly one of --dataset, --signature or --run")
    store = open_cli_store(db)
    try:
        if signature is not None:
            rows = store.evidence.by_signature(signature, dataset_urn=None, limit=limit)
            stats = store.evidence.signature_stats(signature)
        elif run is not None:
            rows, stats = store.evidence.by_run(run, limit=limit), []
        else:
            assert dataset is not None
            start, end = time_option_ms(since, "--since") or 0, time_option_ms(until, "--until") or 2**62
            rows = store.evidence.by_dataset(dataset, start, end, result=result.upper() if result else None,
                                             limit=limit)
            stats = []
    finally:
        store.close()
    _emit(rows, as_json)
    if not as_json:
        for s in stats:
            out.print(f"{escape(s.signature)} on {s.dataset_urn}: {s.count:,} times, first seen "
                      f"{iso_ms(s.first_seen_ms)} ({s.first_evidence_id}), last seen {iso_ms(s.last_seen_ms)}")


@evidence_app.command("purge")
def purge(db: DbOpt = None, config: ConfigOpt = Path("examples/orders"),
          older_than: Annotated[str | None, typer.Option(
              help="Delete evidence older than this (e.g. 30d); default: evidence.retention in the config.")] = None,
          before: Annotated[str | None, typer.Option(help="Delete evidence with event time before this ISO time.")]
          = None) -> None:
    """Retention: delete evidence (and PASS tallies) older than the configured window."""
    from signal_factory.controlplane.loader import load_control_plane, parse_duration
    from signal_factory.ingest.otlp.repo import span_repo

    if before is not None:
        cutoff = time_option_ms(before, "--before")
        assert cutoff is not None
    else:
        text = older_than or load_control_plane(config).settings.evidence.retention
        try:
            seconds = parse_duration(text)
        except ValueError as e:
            raise SignalFactoryError(f"--older-than: {e}") from e
        cutoff = int(datetime.now(UTC).timestamp() * 1000 - seconds * 1000)
    store = open_cli_store(db)
    try:
        with store.transaction():
            removed = store.evidence.purge_older_than(cutoff)
            spans = span_repo(store).purge_older_than(cutoff)  # spans live as long as the evidence they explain
    finally:
        store.close()
    Console(stderr=True, emoji=False).print(
        f"removed {removed:,} rows with event time before {iso_ms(cutoff)}, and {spans:,} "
        "OTLP spans that started before it")
