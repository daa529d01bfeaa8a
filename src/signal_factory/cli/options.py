"""Options shared by commands, and opening the store they name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from signal_factory.errors import SignalFactoryError
from signal_factory.model.timefmt import parse_iso_ms
from signal_factory.settings import Settings

if TYPE_CHECKING:  # the store (SQLAlchemy, the enforcer's types) loads when a command opens one
    from signal_factory.stores.ports import Store

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Control-plane directory.",
                                         envvar="SIGNAL_FACTORY_CONFIG")]
DbOpt = Annotated[str | None, typer.Option(
    "--db", help="Database URL (sqlite:///path or postgresql://...). Default: SQLite under "
                 "$SIGNAL_FACTORY_HOME (.signal-factory/).", envvar="SIGNAL_FACTORY_DB_URL", show_envvar=True)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON lines instead of a table.")]


def open_cli_store(db: str | None, *, create: bool = False) -> Store:
    """The store `--db` names. Read commands (`create=False`) refuse a SQLite store that does not exist,
    so a mistyped path is an error with the fix instead of a new empty database and an empty table."""
    from signal_factory.stores.sql.database import DB_FILE, open_store

    settings = Settings.from_env(dict(os.environ))
    if not create:
        path = _sqlite_path(db, settings.home / DB_FILE)
        if path is not None and not path.exists():
            raise SignalFactoryError(
                f"no store at {path}; fix: pass --db (or set SIGNAL_FACTORY_DB_URL / SIGNAL_FACTORY_HOME) naming "
                "the store that `replay`, `serve` or `run signals` wrote, or run `signal-factory replay` first")
    return open_store(db, home=settings.home)


def _sqlite_path(db: str | None, default: Path) -> Path | None:
    """The file a SQLite URL names (None for other databases and in-memory SQLite)."""
    if db is None:
        return default
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(db)
    except ArgumentError:
        return None  # open_store reports the malformed URL with its own fix line
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def time_option_ms(text: str | None, flag: str) -> int | None:
    """An ISO-8601 option value as epoch ms (None if not given); a clear error naming the flag if malformed."""
    if text is None:
        return None
    ms = parse_iso_ms(text)
    if ms is None:
        raise SignalFactoryError(f"{flag} {text!r} is not an ISO-8601 time (e.g. 2024-01-15T09:55:00Z)")
    return ms
