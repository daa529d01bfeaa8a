"""`users hash`: a scrypt hash for users.yaml (the web UI's named sign-in); the password never leaves stdin."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

users_app = typer.Typer(no_args_is_help=True, help="Named users who may sign in to the web UI (serve --users).")


@users_app.command("hash")
def users_hash(stdin: Annotated[bool, typer.Option("--stdin", help="Read the password from stdin (scripts).")]
               = False) -> None:
    """Prompt for a password (twice) and print its scrypt hash for users.yaml's `password_hash`."""
    from signal_factory.api.session import hash_password
    from signal_factory.errors import SignalFactoryError

    password = sys.stdin.readline().rstrip("\n") if stdin else typer.prompt(
        "password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise SignalFactoryError("use a password of at least 12 characters")
    typer.echo(hash_password(password))
