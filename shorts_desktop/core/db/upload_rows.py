"""The one writer of `upload` rows and of their parts (`bound_rows()`: one per process).

Every write goes through one SQLite connection behind one lock. Worker threads wait on
the lock, where a wait costs nothing, instead of in SQLite's busy handler, whose sleeps
grow to 100 ms when two connections want to write at once (peewee opens a connection per
thread: twenty upload workers wrote on twenty-one). A small file costs two commits at
most: its row before the first byte, and `completed` once the object is verified; rows
written while another write holds the database are committed together with it (group
commit), so eight files finishing at once cost one commit.

It speaks table and column names (the models only describe the columns), so it works
from any thread, and it is the transfer engine's `TransferStore`: parts, multipart ids
and intents live in the same rows.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shorts_desktop.core.db.connection import bound_database_path
from shorts_desktop.core.db.models import Upload
from shorts_desktop.core.errors import StorageError
from shorts_desktop.core.transfers.store import (
    INTENT_MARK,
    ROW_STATUS,
    Intent,
    PartRecord,
    SavedUpload,
    parse_intent,
)

#: Engine states the row does not need: the upload service writes `uploading` before it
#: hands a file to the engine, and a restart treats `uploading` as queued.
_UNRECORDED_STATES = frozenset({"queued", "running"})
_COLUMNS = {f.name: f.column_name for f in Upload._meta.sorted_fields}
_COMPLETIONS_KEPT = 10_000
_IDS_PER_STATEMENT = 500  # well under SQLite's limit of bound parameters
_INSERTS: dict[tuple[str, ...], str] = {}  # the columns a new row fills -> its INSERT
_COMPLETE = (
    "UPDATE upload SET status = 'completed', error = NULL, checksum = COALESCE(?, checksum),"
    " multipart_upload_id = NULL, size = ?, bytes_done = ?, updated_at = ?, completed_at = ?"
    " WHERE id = ? AND status != 'cancelled'"
)


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")


def _sql_value(value: Any) -> Any:
    """A value as peewee stores it: naive UTC datetimes as text, booleans as integers."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, bool):
        return int(value)
    return value


def _insert(row: Upload) -> tuple[str, list[Any]]:
    """The INSERT of a new row and its values (its text made once per set of columns)."""
    data = row.__data__
    names = tuple(n for n in _COLUMNS if n in data)
    sql = _INSERTS.get(names)
    if sql is None:
        sql = _INSERTS[names] = (
            f"INSERT INTO upload ({', '.join(_COLUMNS[n] for n in names)})"
            f" VALUES ({', '.join('?' for _ in names)})"
        )
    return sql, [_sql_value(data[n]) for n in names]


class _Write:
    """One statement of a group commit, and what became of it."""

    __slots__ = ("done", "error", "params", "rowcount", "sql")

    def __init__(self, sql: str, params: Any) -> None:
        self.sql = sql
        self.params = params
        self.rowcount = 0
        self.error: BaseException | None = None
        self.done = False


class UploadRows:
    """Writes `upload` and `transfer_part` rows of the database at `path`; thread-safe."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        # What `complete` wrote, until the upload service takes it (saves it a read back);
        # a lock of its own: taking it must not wait behind the database's writes.
        self._completed: dict[str, dict[str, Any]] = {}
        self._completed_lock = threading.Lock()
        # Rows this writer inserted that the engine has not asked about: they have no parts
        # and no intent, so their resume point needs no read. Touched by single set
        # operations only (atomic): no lock, no wait behind a commit.
        self._fresh: set[str] = set()
        # Statements waiting to be committed together with whatever else is waiting
        # (group commit): eight workers finishing at once make one commit, not eight.
        self._pending: list[_Write] = []
        self._pending_lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._path

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(
                self._path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")  # as the app's other connections (WAL)
            self._conn = conn
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One writer at a time, all or nothing."""
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- rows -------------------------------------------------------------------------------

    def insert(self, row: Upload) -> None:
        """Store a new row (an unsaved `Upload`, its defaults filled in by the model)."""
        self._committed(*_insert(row))
        self._inserted([row])

    def insert_many(self, rows: list[Upload]) -> None:
        """Store new rows in one commit: all of them or, on an error, none."""
        if not rows:
            return
        with self._transaction() as db:
            for row in rows:
                db.execute(*_insert(row))
        self._inserted(rows)

    def _inserted(self, rows: list[Upload]) -> None:
        if len(self._fresh) >= _COMPLETIONS_KEPT:  # inserted, never sent: forget them
            self._fresh.clear()
        self._fresh.update(str(row.__data__["id"]) for row in rows
                           if not row.__data__.get("multipart_upload_id"))

    def _committed(self, sql: str, params: Any) -> int:
        """Run one statement and commit it, in one transaction with the statements other
        threads are waiting to commit meanwhile; its row count. Returns once committed."""
        write = _Write(sql, params)
        with self._pending_lock:
            self._pending.append(write)
        with self._lock:
            if not write.done:  # nobody took it along: commit what is waiting, it included
                self._commit_pending()
        if write.error is not None:
            raise write.error
        return write.rowcount

    def _commit_pending(self) -> None:
        """Commit every waiting statement (the caller holds the lock). One that fails
        fails alone: the others are committed without it."""
        with self._pending_lock:
            batch, self._pending = self._pending, []
        db = self._db()
        try:
            if len(batch) > 1:
                try:
                    db.execute("BEGIN IMMEDIATE")
                    for write in batch:
                        write.rowcount = db.execute(write.sql, write.params).rowcount
                    db.execute("COMMIT")
                except sqlite3.Error:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                else:
                    for write in batch:
                        write.done = True
                    return
            for write in batch:  # alone, or the batch failed: each in its own commit
                try:
                    write.rowcount = db.execute(write.sql, write.params).rowcount
                except sqlite3.Error as exc:
                    write.error = exc
                write.done = True
        finally:  # interrupted half-way: nothing left open, no writer waiting for nothing
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            for write in batch:
                if not write.done:
                    write.error = StorageError("The database write was interrupted.")
                    write.done = True

    def update(self, upload_id: str, values: Mapping[str, Any], *,
               status_in: tuple[str, ...] = (), unless_status: tuple[str, ...] = (),
               while_null: str | None = None) -> int:
        """Change these columns (by model field name); how many rows changed (0 or 1).
        Only a row whose status is in `status_in` (when given) and not in `unless_status`,
        and whose column `while_null` (when given) is still empty."""
        return self.update_many((upload_id,), values, status_in=status_in,
                                unless_status=unless_status, while_null=while_null)

    def update_many(self, upload_ids: Iterable[str], values: Mapping[str, Any], *,
                    status_in: tuple[str, ...] = (), unless_status: tuple[str, ...] = (),
                    while_null: str | None = None) -> int:
        """`update` for several rows in one commit; how many changed."""
        ids = list(upload_ids)
        sets = ", ".join(f"{_COLUMNS[n]} = ?" for n in values)
        statements = []
        for start in range(0, len(ids), _IDS_PER_STATEMENT):
            chunk = ids[start:start + _IDS_PER_STATEMENT]
            sql = f"UPDATE upload SET {sets} WHERE id IN ({', '.join('?' for _ in chunk)})"
            params = [_sql_value(v) for v in values.values()] + chunk
            for states, test in ((status_in, "IN"), (unless_status, "NOT IN")):
                if states:
                    sql += f" AND status {test} ({', '.join('?' for _ in states)})"
                    params += list(states)
            if while_null is not None:
                sql += f" AND {_COLUMNS[while_null]} IS NULL"
            statements.append((sql, params))
        if len(statements) <= 1:
            with self._lock:
                return sum(int(self._db().execute(*st).rowcount) for st in statements)
        with self._transaction() as db:
            return sum(int(db.execute(*st).rowcount) for st in statements)

    def read(self, upload_id: str, names: tuple[str, ...]) -> dict[str, Any] | None:
        """These columns of a row (by model field name, as the model reads them)."""
        fields = [Upload._meta.fields[n] for n in names]
        with self._lock:
            row = self._db().execute(
                f"SELECT {', '.join(f.column_name for f in fields)} FROM upload WHERE id = ?",
                (upload_id,),
            ).fetchone()
        if row is None:
            return None
        return {f.name: f.python_value(v) for f, v in zip(fields, row, strict=True)}

    def status(self, upload_id: str) -> str | None:
        found = self.read(upload_id, ("status",))
        return None if found is None else str(found["status"])

    # -- the engine's TransferStore ---------------------------------------------------------

    def resume_point(self, transfer_id: str) -> SavedUpload | Intent | None:
        try:
            self._fresh.remove(transfer_id)
            return None  # inserted here, nothing written to it since
        except KeyError:
            pass
        with self._lock:
            db = self._db()
            row = db.execute(
                "SELECT multipart_upload_id, source_size, source_mtime_ns, part_size, checksum,"
                " checksum_mode FROM upload WHERE id = ?",
                (transfer_id,),
            ).fetchone()
            if row is None or not row[0]:
                return None
            if str(row[0]).startswith(INTENT_MARK):
                return parse_intent(row[0])
            if row[1] is None or row[3] is None:
                return None
            parts = {
                n: PartRecord(n, size, etag, checksum)
                for n, size, etag, checksum in db.execute(
                    "SELECT part_number, size, etag, checksum FROM transfer_part"
                    " WHERE upload_id = ? ORDER BY part_number",
                    (transfer_id,),
                )
            }
        return SavedUpload(
            multipart_id=row[0],
            source_size=int(row[1]),
            source_mtime_ns=int(row[2] or 0),
            part_size=int(row[3]),
            sha256=row[4],
            checksum_mode=row[5] or "md5",
            parts=parts,
        )

    def begin(self, transfer_id: str, saved: SavedUpload) -> None:
        self._fresh.discard(transfer_id)
        with self._transaction() as db:
            db.execute("DELETE FROM transfer_part WHERE upload_id = ?", (transfer_id,))
            db.execute(
                "UPDATE upload SET multipart_upload_id = ?, source_size = ?,"
                " source_mtime_ns = ?, part_size = ?, checksum = COALESCE(?, checksum),"
                " checksum_mode = ?, bytes_done = 0, updated_at = ? WHERE id = ?",
                (
                    saved.multipart_id, saved.source_size, saved.source_mtime_ns,
                    saved.part_size, saved.sha256, saved.checksum_mode, _now(), transfer_id,
                ),
            )
            db.executemany(
                "INSERT INTO transfer_part (upload_id, part_number, size, etag, checksum)"
                " VALUES (?, ?, ?, ?, ?)",
                [(transfer_id, p.number, p.size, p.etag, p.checksum)
                 for p in saved.parts.values()],
            )

    def intend(self, transfer_id: str, intent: Intent) -> None:
        self._fresh.discard(transfer_id)
        with self._transaction() as db:
            db.execute("DELETE FROM transfer_part WHERE upload_id = ?", (transfer_id,))
            db.execute(
                "UPDATE upload SET multipart_upload_id = ?, part_size = NULL, bytes_done = 0,"
                " updated_at = ? WHERE id = ?",
                (intent.encode(), _now(), transfer_id),
            )

    def add_part(self, transfer_id: str, part: PartRecord, bytes_done: int) -> None:
        self._fresh.discard(transfer_id)
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO transfer_part"
                " (upload_id, part_number, size, etag, checksum) VALUES (?, ?, ?, ?, ?)",
                (transfer_id, part.number, part.size, part.etag, part.checksum),
            )
            db.execute(
                "UPDATE upload SET bytes_done = ? WHERE id = ?", (bytes_done, transfer_id)
            )

    def forget(self, transfer_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM transfer_part WHERE upload_id = ?", (transfer_id,))
            db.execute(
                "UPDATE upload SET multipart_upload_id = NULL, part_size = NULL,"
                " bytes_done = 0 WHERE id = ?",
                (transfer_id,),
            )

    def set_state(
        self, transfer_id: str, state: str, *, error: str | None = None,
        bytes_done: int | None = None, attempts: int | None = None,
    ) -> None:
        if state in _UNRECORDED_STATES:
            return
        with self._lock:
            self._db().execute(
                "UPDATE upload SET status = ?, error = ?, bytes_done = COALESCE(?, bytes_done),"
                " attempts = COALESCE(?, attempts), updated_at = ? WHERE id = ?",
                (ROW_STATUS.get(state, state), error, bytes_done, attempts, _now(), transfer_id),
            )

    def complete(self, transfer_id: str, *, sha256: str | None, size: int,
                 parts: bool = True) -> None:
        """The object is stored and verified: the row says so in the same commit that
        forgets its parts (a single PUT has none: one statement, committed with others'
        at the same moment). A row cancelled meanwhile (by another process) stays
        cancelled and the engine hears LookupError, like for a row that is gone."""
        now = _now()
        values = (sha256, size, size, now, now, transfer_id)
        gone = LookupError(f"upload row {transfer_id} is gone or cancelled")
        if parts:
            with self._transaction() as db:
                db.execute("DELETE FROM transfer_part WHERE upload_id = ?", (transfer_id,))
                if db.execute(_COMPLETE, values).rowcount != 1:
                    raise gone  # rolled back: its parts stay with it
        elif self._committed(_COMPLETE, values) != 1:
            raise gone
        checksum = sha256
        if checksum is None:
            found = self.read(transfer_id, ("checksum",))
            checksum = None if found is None else found["checksum"]
        stamp = datetime.fromisoformat(now)
        with self._completed_lock:  # kept for `take_completion`
            if len(self._completed) >= _COMPLETIONS_KEPT:  # nobody took them: not ours
                self._completed.clear()
            self._completed[transfer_id] = {"status": "completed", "completed_at": stamp,
                                            "updated_at": stamp, "checksum": checksum,
                                            "size": size}

    def take_completion(self, upload_id: str) -> dict[str, Any] | None:
        """The columns `complete` wrote for this upload (once), or None if it did not."""
        with self._completed_lock:
            return self._completed.pop(upload_id, None)


_bound: UploadRows | None = None
_bound_lock = threading.Lock()


def bound_rows() -> UploadRows:
    """The writer of the database the models are bound to: one per process, so that every
    service's row writes wait on one lock over one connection, not in SQLite's busy loop."""
    global _bound
    path = bound_database_path()
    if path is None:
        raise StorageError("The app's database is not open.")
    with _bound_lock:
        if _bound is None or _bound.path != path:
            if _bound is not None:
                _bound.close()  # the models moved to another file (tests, a new home)
            _bound = UploadRows(path)
        return _bound
