"""`mute add|list|cancel`: snooze pages for a dataset or a failure signature (incidents still open)."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Annotated

import msgspec
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from signal_factory.cli.options import DbOpt, JsonOpt, open_cli_store
from signal_factory.errors import SignalFactoryError

if TYPE_CHECKING:
    from signal_factory.alerting.mutes import Mute

out = Console(width=None if sys.stdout.isatty() else 160, emoji=False)
mute_app = typer.Typer(no_args_is_help=True, help="Mute (snooze) pages for a dataset or a failure signature.")
ByOpt = Annotated[str, typer.Option("--by", help="Who (recorded on the mute).", envvar="USER")]


def mutes_table(mutes: list[Mute], now_ms: int) -> Table:
    table = Table(title="Mutes", title_justify="left")
    for col in ("id", "what", "until (UTC)", "state", "by", "reason"):
        table.add_column(col, no_wrap=col != "reason")
    for m in mutes:
        state = "active" if m.active(now_ms) else "cancelled" if m.cancelled_at else "expired"
        table.add_row(m.mute_id, f"{m.kind} {escape(m.target)}", m.until[:19].replace("T", " "), state,
                      escape(m.created_by), escape(m.reason))
    return table


@mute_app.command("add")
def mute_add(
    duration: Annotated[str, typer.Option("--for", help="How long: 30m, 2h, 1d (at most 30d).")],
    reason: Annotated[str, typer.Option("--reason", help="Why; the incident page shows it.")],
    dataset: Annotated[str | None, typer.Option("--dataset", help="Mute this dataset URN.")] = None,
    signature: Annotated[str | None, typer.Option("--signature", help="Mute this failure signature.")] = None,
    by: ByOpt = "on-call",
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stop pages for a dataset or a signature until the time is up; incidents still open and show it."""
    from signal_factory.alerting.mutes import DATASET, SIGNATURE, MuteBook, parse_duration_ms

    if (dataset is None) == (signature is None):
        raise SignalFactoryError("give exactly one of --dataset URN or --signature SIG")
    kind, target = (DATASET, dataset) if dataset is not None else (SIGNATURE, signature or "")
    now = int(time.time() * 1000)
    until = now + parse_duration_ms(duration)
    store = open_cli_store(db)
    try:
        with store.transaction():
            mute = MuteBook(store.checkpoints).add(kind, target, until_ms=until, reason=reason, by=by, now_ms=now)
    finally:
        store.close()
    _show([mute], now, as_json)


@mute_app.command("list")
def mute_list(db: DbOpt = None, all_: Annotated[bool, typer.Option("--all", help="Include ended mutes.")] = False,
              as_json: JsonOpt = False) -> None:
    """Active mutes (with --all: expired and cancelled ones too), newest first."""
    from signal_factory.alerting.mutes import MuteBook

    now = int(time.time() * 1000)
    store = open_cli_store(db)
    try:
        book = MuteBook(store.checkpoints)
        mutes = book.all() if all_ else book.active(now)
    finally:
        store.close()
    _show(mutes, now, as_json)


@mute_app.command("cancel")
def mute_cancel(mute_id: Annotated[str, typer.Argument(metavar="MUTE", help="Mute id (mute-...).")],
                by: ByOpt = "on-call", db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """End a mute now: the incident's next change pages as usual."""
    from signal_factory.alerting.mutes import MuteBook

    now = int(time.time() * 1000)
    store = open_cli_store(db)
    try:
        with store.transaction():
            mute = MuteBook(store.checkpoints).cancel(mute_id, by=by, now_ms=now)
    finally:
        store.close()
    _show([mute], now, as_json)


def _show(mutes: list[Mute], now_ms: int, as_json: bool) -> None:
    if as_json:
        for m in mutes:
            sys.stdout.write(msgspec.json.encode(m).decode() + "\n")
    else:
        out.print(mutes_table(mutes, now_ms))
