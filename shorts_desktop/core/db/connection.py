"""Opens the app's SQLite database (WAL, foreign keys on) after migrating it."""

from __future__ import annotations

from pathlib import Path

import peewee

from shorts_desktop.core.db.models import database_proxy
from shorts_desktop.core.db.schema import MigrationResult, database_failure, migrate

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
    try:
        db.connect(reuse_if_open=True)
    except peewee.PeeweeException as exc:  # e.g. WAL mode on a disk that filled up since
        raise database_failure(exc, path) from None
    return db, result


def bound_database_path() -> Path | None:
    """The file the models are bound to now, so a failure of it can name it."""
    name = getattr(database_proxy.obj, "database", None)
    return Path(name) if isinstance(name, str) and name not in ("", ":memory:") else None


def close_database(db: peewee.SqliteDatabase) -> None:
    if not db.is_closed():
        db.close()
