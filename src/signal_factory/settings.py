"""Process settings: one frozen object, env prefix `SIGNAL_FACTORY_`. Precedence: flag > env > default.

Secrets (registry password, redaction key) are held as `SecretStr`-like values that never print.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "SIGNAL_FACTORY_"


class Secret(str):
    """A string that renders as *** in repr/str so it cannot reach logs by accident."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def reveal(self) -> str:
        return str.__str__(self)


@dataclass(frozen=True)
class Settings:
    home: Path = Path(".signal-factory")
    registry_user: str | None = None
    registry_password: Secret | None = field(default=None, repr=False)
    #: HMAC key for the stand-ins of guarded values (`privacy/guard.py`); None: the documented default.
    redaction_key: Secret | None = field(default=None, repr=False)
    #: Where large payloads are stored aside: a directory or `s3://bucket/prefix`; None: `<home>/payloads`.
    payload_store: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ) if env is None else env
        password = env.get(f"{PREFIX}REGISTRY_PASSWORD")
        redaction_key = env.get(f"{PREFIX}REDACTION_KEY")
        return cls(home=Path(env.get(f"{PREFIX}HOME", ".signal-factory")),
                   registry_user=env.get(f"{PREFIX}REGISTRY_USER"),
                   registry_password=Secret(password) if password else None,
                   redaction_key=Secret(redaction_key) if redaction_key else None,
                   payload_store=env.get(f"{PREFIX}PAYLOAD_STORE") or None)

    def registry_auth(self) -> tuple[str, str] | None:
        if self.registry_user and self.registry_password is not None:
            return self.registry_user, self.registry_password.reveal()
        return None
