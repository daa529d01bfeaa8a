"""Team sign-in for the web UI: named users with hashed passwords, and a signed session cookie.

    signal-factory users hash             # prompts for a password, prints `scrypt$...` for users.yaml
    signal-factory serve --users users.yaml

`users.yaml` is `users: [{name: alice, password_hash: "scrypt$..."}]` (kept beside the control plane, never a
plain password). A user who signs in gets an HttpOnly, SameSite=Strict cookie, signed with HMAC-SHA256 by a
key from $SIGNAL_FACTORY_SESSION_KEY (or a random one per process: sessions end at restart). Writes made
with the cookie must also carry the header `X-SF-Request: 1`, which a page on another origin cannot send
without a CORS preflight we never grant; they are recorded under the signed-in name, not a typed one.
The API token keeps working for machines.

Passwords are hashed with scrypt (Python's hashlib, OpenSSL's implementation; N=2^14, r=8, p=1) and
compared in constant time; the cookie and the hash are written by hand because each is a few lines over
the standard library (hmac, hashlib, secrets), which is what a session library would call anyway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from signal_factory.errors import ConfigError

COOKIE = "sf_session"
CSRF_HEADER = "x-sf-request"
SESSION_S = 12 * 3600
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(_unb64(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, _unb64(digest))


@dataclass(frozen=True)
class Users:
    """Who may sign in: name -> password hash."""

    hashes: dict[str, str]

    def check(self, name: str, password: str) -> bool:
        stored = self.hashes.get(name)
        if stored is None:
            check_password(password, _DUMMY)  # same work for an unknown name: no timing oracle on names
            return False
        return check_password(password, stored)


def load_users(path: Path) -> Users:
    """Read users.yaml; a clear error naming the file, the entry and the fix."""
    try:
        doc: Any = yaml.safe_load(path.read_text())
    except FileNotFoundError as e:
        raise ConfigError(str(path), "users file does not exist", fix="create it with a `users:` list") from e
    except yaml.YAMLError as e:
        raise ConfigError(str(path), f"not YAML: {e}", fix="check the indentation") from e
    entries = doc.get("users") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(str(path), "no `users:` list", fix="users: [{name: alice, password_hash: scrypt$...}]")
    hashes: dict[str, str] = {}
    for i, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        stored = entry.get("password_hash") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name.strip() or not isinstance(stored, str):
            raise ConfigError(str(path), f"users[{i}] needs `name` and `password_hash`",
                              fix="make a hash with `signal-factory users hash`")
        if not stored.startswith("scrypt$") or stored.count("$") != 5:
            raise ConfigError(str(path), f"users[{i}] ({name}): password_hash is not a scrypt hash",
                              fix="never store a plain password; make a hash with `signal-factory users hash`")
        hashes[name.strip()] = stored
    return Users(hashes)


class Sessions:
    """Signs and checks session cookies (`<payload>.<mac>`, payload = name and expiry)."""

    def __init__(self, key: bytes | None = None, *, clock: Any = time.time) -> None:
        self.key = key or secrets.token_bytes(32)
        self.clock = clock

    def issue(self, name: str) -> tuple[str, int]:
        expires = int(self.clock()) + SESSION_S
        payload = _b64(json.dumps({"u": name, "exp": expires}, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}", expires

    def user(self, cookie: str | None) -> str | None:
        """The signed-in name, or None for a missing, forged or expired cookie."""
        if not cookie or "." not in cookie:
            return None
        payload, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
        except ValueError:
            return None
        if not isinstance(data, dict) or int(data.get("exp", 0)) <= self.clock():
            return None
        name = data.get("u")
        return name if isinstance(name, str) else None

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self.key, payload.encode(), hashlib.sha256).digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_DUMMY = hash_password("not-a-user", salt=b"signal-factory-0")
