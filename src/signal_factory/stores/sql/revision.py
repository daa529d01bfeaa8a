"""Write the next Alembic revision: `python -m signal_factory.stores.sql.revision 0004 "what changed"`.

Autogenerates against a scratch SQLite database migrated to head (see `migrate.py`). Apart from
`migrate.py` so the migration runner does not import the store that runs it (no import cycle).
"""

from __future__ import annotations

import sys

from alembic import command

from signal_factory.stores.sql.database import create_store_engine
from signal_factory.stores.sql.migrate import alembic_config, upgrade


def _main(argv: list[str]) -> int:
    if len(argv) != 2:
        print('usage: python -m signal_factory.stores.sql.revision <rev_id> "<message>"', file=sys.stderr)
        return 2
    engine = create_store_engine("sqlite://")
    try:
        upgrade(engine)
        with engine.begin() as conn:
            command.revision(alembic_config(conn), message=argv[1], autogenerate=True, rev_id=argv[0])
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
