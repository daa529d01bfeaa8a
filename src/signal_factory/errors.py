"""One exception root. Expected bad *data* is a value (FAIL evidence); these are for bad *setup*."""

from __future__ import annotations


class SignalFactoryError(Exception):
    """Root of every error Signal Factory raises on purpose."""


class ConfigError(SignalFactoryError):
    """A control-plane file is missing or wrong. Message names file, line/key and the fix."""

    def __init__(self, file: str, message: str, *, line: int | None = None, key: str | None = None,
                 fix: str | None = None) -> None:
        self.file = file
        self.line = line
        self.key = key
        self.fix = fix
        self.reason = message
        where = file if line is None else f"{file}:{line}"
        text = f"{where}: {message}"
        if key:
            text += f" (at `{key}`)"
        if fix:
            text += f"\n  fix: {fix}"
        super().__init__(text)


class RegistryUnavailableError(SignalFactoryError):
    """A schema registry could not be reached or answered with a server error."""


class SchemaNotFoundError(SignalFactoryError):
    """The registry answered, and it has no schema under that id."""


class StoreFailedError(SignalFactoryError):
    """The database failed during a unit of work (server stopped, connection lost, a statement refused);
    that unit was rolled back. `reason` is the driver's first line: never SQL, never parameter values."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        self.reason = reason
        super().__init__(message or f"the database failed ({reason}); the transaction in hand was rolled back")
