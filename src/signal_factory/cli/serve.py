"""`serve`: the HTTP API and web UI on uvicorn.

    signal-factory serve --config examples/orders                       # read-only, http://127.0.0.1:8080
    SIGNAL_FACTORY_API_TOKEN=... signal-factory serve --host 0.0.0.0      # accepts writes with that bearer token
    SIGNAL_FACTORY_API_READ_TOKEN=... signal-factory serve                 # serves stored payloads to that token

The tokens are read from the environment only (a flag would show in `ps`), and never printed.
    signal-factory serve --users users.yaml     # named users sign in to the web UI (api/session.py)
SIGTERM/SIGINT shut down gracefully: open event streams end, the store is closed. The control plane is
reloaded when its files change (`--no-watch` turns that off) and on SIGHUP; each reload, or rejected
change (with file, line and fix; the running config stays), is one line on stderr (docs/control-plane.md).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from signal_factory.cli.options import ConfigOpt, DbOpt
from signal_factory.errors import SignalFactoryError

TOKEN_ENV = "SIGNAL_FACTORY_API_TOKEN"
SESSION_KEY_ENV = "SIGNAL_FACTORY_SESSION_KEY"
READ_TOKEN_ENV = "SIGNAL_FACTORY_API_READ_TOKEN"  # readers of record content (stored payloads)


def serve(
    config: ConfigOpt = Path("examples/orders"),
    db: DbOpt = None,
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 for all).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0 picks a free one).")] = 8080,
    max_body_bytes: Annotated[int, typer.Option(
        help="Largest request body accepted, on the wire and after gzip/deflate decoding (413 above).",
        envvar="SIGNAL_FACTORY_MAX_BODY_BYTES", show_envvar=True)] = 10_000_000,
    users: Annotated[Path | None, typer.Option(
        "--users", help="users.yaml of named users (hashed passwords) who may sign in to the web UI.",
        envvar="SIGNAL_FACTORY_USERS_FILE", show_envvar=True)] = None,
    watch: Annotated[bool, typer.Option(
        help="Reload the control plane when its files change (SIGHUP reloads either way).")] = True,
) -> None:
    """Serve the JSON API (/api/v1, docs at /docs) and the web UI. Writes need $SIGNAL_FACTORY_API_TOKEN."""
    import uvicorn

    from signal_factory.api.app import create_app
    from signal_factory.api.server import ApiServer
    from signal_factory.api.session import load_users
    from signal_factory.cli.render import print_not_enforced
    from signal_factory.controlplane.loader import load_control_plane
    from signal_factory.runtime.reload import install_sighup
    from signal_factory.settings import Secret, Settings

    if not config.is_dir():
        raise SignalFactoryError(f"--config {config} is not a directory; point it at a control plane "
                                 "(e.g. examples/orders)")
    raw = os.environ.get(TOKEN_ENV, "").strip()
    token = Secret(raw) if raw else None
    raw_read = os.environ.get(READ_TOKEN_ENV, "").strip()
    settings = Settings.from_env()
    team = load_users(users) if users is not None else None
    key = os.environ.get(SESSION_KEY_ENV, "").encode() or None  # None: a random key, sessions end at restart
    app = create_app(config, db, token=token, max_body_bytes=max_body_bytes, home=settings.home, users=team,
                     session_key=key, read_token=Secret(raw_read) if raw_read else None, watch_config=watch)
    err = Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)
    print_not_enforced(err, load_control_plane(config))  # once at start; the app loads its own copy
    _log_reloads()
    install_sighup(lambda: getattr(getattr(app.state, "service", None), "reloader", None))
    mode = (f"writes enabled (bearer token from ${TOKEN_ENV})" if token
            else f"read-only (set ${TOKEN_ENV} to accept writes)")
    if team is not None:
        mode += f"; sign-in for {len(team.hashes)} user{'s' if len(team.hashes) != 1 else ''}"

    def started(bound: int) -> None:
        shown = f"[{host}]" if ":" in host else host
        err.print(f"Signal Factory on http://{shown}:{bound}/  (API /api/v1, docs /docs) - {mode}")

    server = ApiServer(uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5),
                       on_shutdown=app.state.feed.stop, on_started=started)
    server.run()
    if not server.started:
        sys.exit(1)


def _log_reloads() -> None:
    """Each control-plane reload (or rejected change) as one line on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log = logging.getLogger("signal_factory.config")
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
