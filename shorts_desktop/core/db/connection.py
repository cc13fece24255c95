"""Opens the app's SQLite database (WAL, foreign keys on) after migrating it."""

from __future__ import annotations

from pathlib import Path

import peewee

from shorts_desktop.core.db.models import database_proxy
from shorts_desktop.core.db.schema import MigrationResult, migrate

PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "synchronous": "normal",
}


def open_database(path: Path) -> tuple[peewee.SqliteDatabase, MigrationResult]:
    """Migrate, then bind the models to the file; one connection per thread."""
    result = migrate(path)
    db = peewee.SqliteDatabase(str(path), pragmas=PRAGMAS, timeout=30)
    database_proxy.initialize(db)
    db.connect(reuse_if_open=True)
    return db, result


def close_database(db: peewee.SqliteDatabase) -> None:
    if not db.is_closed():
        db.close()
