"""The SQL store (SQLAlchemy Core on SQLite or PostgreSQL): `open_store(url)` returns a `Store`.

The names below load `database` (SQLAlchemy, Alembic) on first use, so `stores.memory` can share
`stores.sql.documents` without importing a database stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signal_factory.stores.sql.database import SqlStore, StoreError, open_store

__all__ = ["SqlStore", "StoreError", "open_store"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from signal_factory.stores.sql import database  # noqa: PLC0415 - deferred on purpose (see above)

        return getattr(database, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
