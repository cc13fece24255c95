"""Finds a database's schema version and brings it up to date, backing it up first.

The version lives in `PRAGMA user_version`. A file without one is inspected: no tables
means new; a legacy `upload` table with `file_path` and no `key` column is version 1;
anything else is refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from shorts_desktop.core.db.migrations import LATEST_VERSION, MIGRATIONS
from shorts_desktop.core.errors import ShortsError, StorageError, UserError
from shorts_desktop.core.failures import database_error, new_backup_path, os_error


@dataclass(frozen=True)
class MigrationResult:
    path: Path
    from_version: int
    to_version: int
    backup: Path | None

    @property
    def changed(self) -> bool:
        return self.from_version != self.to_version


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')}


def detect_version(conn: sqlite3.Connection) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version:
        return version
    tables = {
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    }
    if not tables:
        return 0
    upload = _columns(conn, "upload") if "upload" in tables else set()
    if "file_path" in upload and "key" not in upload:
        return 1
    raise UserError(
        "This database file was not made by shorts-desktop (unknown tables and no "
        "schema version), so it was left untouched."
    )


def _backup(conn: sqlite3.Connection, path: Path, version: int) -> Path:
    target = new_backup_path(path, version)
    try:
        dest = sqlite3.connect(target)
        try:
            conn.backup(dest)
        finally:
            dest.close()
    except BaseException:
        target.unlink(missing_ok=True)  # half a backup (a full disk) must not pass for one
        raise
    return target


def database_failure(exc: BaseException, path: Path) -> ShortsError:
    """The sentence for a failure of the database at `path`: what really went wrong (a full
    or read-only disk, a damaged page, not SQLite at all), never a guess."""
    if isinstance(exc, OSError):
        return os_error(exc, f"open the database {path}", path=path)
    return database_error(exc, path) or StorageError(f"The database {path} cannot be used: {exc}.")


def migrate(path: Path) -> MigrationResult:
    """Bring the database at `path` to the latest schema; a new file is created."""
    try:
        return _migrate(path)
    except (sqlite3.Error, OSError) as exc:
        raise database_failure(exc, path) from None


def _migrate(path: Path) -> MigrationResult:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        version = detect_version(conn)
        if version > LATEST_VERSION:
            raise UserError(
                f"The database {path} is from a newer shorts-desktop (schema {version}); "
                f"this version understands up to {LATEST_VERSION}. Update the app."
            )
        if version == LATEST_VERSION:
            return MigrationResult(path, version, version, None)
        backup = _backup(conn, path, version) if version > 0 else None
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("BEGIN IMMEDIATE")
        # Another process may have migrated while this one waited for the write lock.
        version = detect_version(conn)
        if version == LATEST_VERSION:
            conn.execute("COMMIT")
            if backup is not None:
                backup.unlink(missing_ok=True)
            return MigrationResult(path, version, version, None)
        try:
            for module in MIGRATIONS:
                if version < module.VERSION:
                    module.apply(conn)
                    conn.execute(f"PRAGMA user_version={int(module.VERSION)}")
            problems = conn.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise UserError(
                    f"The database {path} has {len(problems)} broken references; it was "
                    "left as it was."
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled back (disk full, I/O)
                conn.execute("ROLLBACK")
            raise
        return MigrationResult(path, version, LATEST_VERSION, backup)
    finally:
        conn.close()
