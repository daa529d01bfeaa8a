"""`notices list`: drift notices, the first-seen failure signatures that went to Slack/webhooks and paged no one."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import msgspec
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from signal_factory.cli.options import DbOpt, JsonOpt, open_cli_store, time_option_ms
from signal_factory.model.timefmt import parse_iso_ms

if TYPE_CHECKING:  # alerting.notices pulls the stores' and the enforcer's types
    from signal_factory.model.incidents import Notice

out = Console(width=None if sys.stdout.isatty() else 160, emoji=False)
notices_app = typer.Typer(no_args_is_help=True, help="Drift notices: new failure signatures that paged no one.")


def notices_table(notices: list[Notice]) -> Table:
    table = Table(title="Notices", title_justify="left")
    for col in ("id", "dataset", "window (event time)", "new signatures (records when first seen)", "first seen (UTC)",
                "routes notified"):
        table.add_column(col, no_wrap=True)
    for n in notices:
        listed = [f"{escape(s.signature)} ×{s.count:,}" for s in n.signatures]
        if n.overflow:
            listed.append(f"[dim]+{n.overflow:,} more[/dim]")
        first = min((s.first_seen for s in n.signatures), key=lambda t: parse_iso_ms(t) or 0, default=None)
        window = f"{n.window_start[:10]} {n.window_start[11:19]}–{n.window_end[11:19]}"
        table.add_row(n.notice_id, n.dataset_urn, window,
                      "\n".join(listed) or "—", first[11:23] if first else "—",
                      "\n".join(n.routes) or "[dim]none (no route takes notices)[/dim]")
    return table


@notices_app.command("list")
def notices_list(db: DbOpt = None,
                 dataset: Annotated[str | None, typer.Option(help="Only this dataset URN.")] = None,
                 since: Annotated[str | None, typer.Option(
                     help="Only notices whose window ends after this ISO time (event time).")] = None,
                 limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
                 as_json: JsonOpt = False) -> None:
    """Drift notices, newest window first."""
    from signal_factory.alerting.notices import list_notices, notice_json

    since_ms = time_option_ms(since, "--since")
    store = open_cli_store(db)
    try:
        rows = list_notices(store.checkpoints, dataset_urn=dataset, since_ms=since_ms, limit=limit)
    finally:
        store.close()
    if as_json:
        for n in rows:
            sys.stdout.write(msgspec.json.encode(notice_json(n)).decode() + "\n")
    else:
        out.print(notices_table(rows))
