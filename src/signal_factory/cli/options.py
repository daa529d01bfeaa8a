"""Options shared by commands, and opening the store they name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from signal_factory.enforcer.timefmt import parse_iso_ms
from signal_factory.errors import SignalFactoryError
from signal_factory.settings import Settings
from signal_factory.stores.ports import Store

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Control-plane directory.",
                                         envvar="SIGNAL_FACTORY_CONFIG")]
DbOpt = Annotated[str | None, typer.Option(
    "--db", help="Database URL (sqlite:///path or postgresql://...). Default: SQLite under "
                 "$SIGNAL_FACTORY_HOME (.signal-factory/).", envvar="SIGNAL_FACTORY_DB_URL", show_envvar=True)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON lines instead of a table.")]


def open_cli_store(db: str | None) -> Store:
    from signal_factory.stores.sql.database import open_store

    settings = Settings.from_env(dict(os.environ))
    return open_store(db, home=settings.home)


def time_option_ms(text: str | None, flag: str) -> int | None:
    """An ISO-8601 option value as epoch ms (None if not given); a clear error naming the flag if malformed."""
    if text is None:
        return None
    ms = parse_iso_ms(text)
    if ms is None:
        raise SignalFactoryError(f"{flag} {text!r} is not an ISO-8601 time (e.g. 2024-01-15T09:55:00Z)")
    return ms
