"""The one writer of upload rows: what a send costs the database, and what it leaves."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import peewee
import pytest

from shorts_desktop.core.db.models import Upload
from shorts_desktop.core.db.upload_rows import UploadRows
from shorts_desktop.core.errors import UserError
from shorts_desktop.core.services.uploads import UploadService, find_upload
from shorts_desktop.core.storage.s3 import S3Storage
from shorts_desktop.core.transfers import EngineConfig
from shorts_desktop.core.transfers.store import Intent, PartRecord, SavedUpload
from tests.unit.conftest import BUCKET, CREDENTIALS, FAST_RETRIES, Media, s3_settings

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class CommitCounter:
    """Counts write transactions on the connections it watches (an autocommit write
    is one, a BEGIN ... COMMIT block is one)."""

    def __init__(self) -> None:
        self.commits = 0
        self.statements: list[str] = []
        self._open: set[int] = set()
        self._lock = threading.Lock()

    def watch(self, conn: sqlite3.Connection) -> None:
        ident = id(conn)

        def trace(sql: str) -> None:
            head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
            with self._lock:
                self.statements.append(sql)
                if head == "BEGIN":
                    self._open.add(ident)
                elif head in ("COMMIT", "END"):
                    self._open.discard(ident)
                    self.commits += 1
                elif head == "ROLLBACK":
                    self._open.discard(ident)
                elif head in WRITES and ident not in self._open:
                    self.commits += 1

        conn.set_trace_callback(trace)


@pytest.fixture
def sender(db: peewee.SqliteDatabase, aws: None,
           tmp_path: Path) -> Iterator[tuple[UploadService, UploadRows]]:
    settings = s3_settings(S3_MULTIPART_THRESHOLD=str(5 * 1024 * 1024))
    rows = UploadRows(tmp_path / "data" / "shorts-desktop.db")
    storage = S3Storage(settings, CREDENTIALS, rows,
                        engine_config=EngineConfig.from_settings(settings, retry=FAST_RETRIES))
    storage.client.create_bucket(Bucket=BUCKET)
    yield UploadService(settings, storage, tmp_path / "scratch", rows), rows
    storage.close()
    rows.close()


def test_a_small_file_costs_two_commits_and_reads_as_its_row(
    sender: tuple[UploadService, UploadRows], db: peewee.SqliteDatabase, media: Media,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uploads, rows = sender
    path = media.transcript()
    uploads.storage.warm_up()
    counter = CommitCounter()
    counter.watch(rows._db())
    counter.watch(db.connection())
    reads: list[tuple[str, ...]] = []
    real_read = UploadRows.read

    def read(self: UploadRows, upload_id: str, names: tuple[str, ...]) -> Any:
        reads.append(names)
        return real_read(self, upload_id, names)

    monkeypatch.setattr(UploadRows, "read", read)
    upload = uploads.upload_file(path, "transcript")
    # The row before the first byte, `completed` once verified: nothing in between; and
    # the service takes what that commit wrote instead of selecting it back.
    assert counter.commits == 2
    assert UploadService._COMPLETION not in reads
    # one PUT has no parts: its completion is one statement, not a transaction
    assert not [sql for sql in counter.statements if "transfer_part" in sql or "BEGIN" in sql]
    # a row this process just inserted has no parts to resume from: it is not read back
    assert not [sql for sql in counter.statements if sql.lstrip().upper().startswith("SELECT")]
    stored = find_upload(upload.id)
    assert stored.status == "completed"
    assert upload.to_dict() == stored.to_dict()  # what the caller gets is the row
    assert stored.bytes_done == path.stat().st_size
    assert stored.multipart_upload_id is None


def test_a_multipart_upload_forgets_its_parts_in_the_commit_that_completes_it(
    sender: tuple[UploadService, UploadRows], media: Media
) -> None:
    uploads, rows = sender
    path = media.mp4(size=11 * 1024 * 1024)
    upload = uploads.upload_file(path, "video")
    assert isinstance(uploads.storage, S3Storage)
    etag = uploads.storage.client.head_object(Bucket=BUCKET, Key=str(upload.key))["ETag"]
    assert etag.strip('"').endswith("-3")  # sent in three parts
    stored = find_upload(upload.id)
    assert stored.status == "completed" and stored.multipart_upload_id is None
    assert upload.to_dict() == stored.to_dict()
    assert rows.resume_point(upload.id) is None
    with sqlite3.connect(rows._path) as conn:
        parts = conn.execute("SELECT COUNT(*) FROM transfer_part WHERE upload_id = ?",
                             (upload.id,)).fetchone()[0]
    assert parts == 0


def test_completion_leaves_a_cancelled_row_cancelled(
    sender: tuple[UploadService, UploadRows], media: Media
) -> None:
    uploads, rows = sender
    upload, _sums = uploads.create(media.transcript(), "transcript")
    rows.update(upload.id, {"status": "cancelled"})  # `shorts-desktop cancel ID` meanwhile
    with pytest.raises(LookupError):
        rows.complete(upload.id, sha256=None, size=1)
    assert rows.status(upload.id) == "cancelled"


def test_a_new_row_resumes_from_what_was_written_after_it(
    sender: tuple[UploadService, UploadRows], media: Media
) -> None:
    """A row inserted here answers `resume_point` without a read only until the engine
    writes a multipart upload or an intent to it."""
    uploads, rows = sender
    begun, _ = uploads.create(media.transcript("begun.txt"), "transcript")
    saved = SavedUpload("mp-1", 10, 5, 8, None, "crc32",
                        {1: PartRecord(1, 8, '"e1"', "c1")})
    rows.begin(begun.id, saved)
    assert rows.resume_point(begun.id) == saved
    intended, _ = uploads.create(media.transcript("intended.txt"), "transcript")
    intent = Intent("video/k.mp4", datetime(2026, 12, 3, tzinfo=UTC), "token-1")
    rows.intend(intended.id, intent)
    assert rows.resume_point(intended.id) == intent
    fresh, _ = uploads.create(media.transcript("fresh.txt"), "transcript")
    assert rows.resume_point(fresh.id) is None
    rows.begin(fresh.id, saved)  # the engine began it after asking
    assert rows.resume_point(fresh.id) == saved


def _row(upload_id: str, name: str) -> Upload:
    return Upload(id=upload_id, kind="transcript", original_name=name, status="uploading")


def test_writes_that_wait_together_are_committed_together(
    sender: tuple[UploadService, UploadRows]
) -> None:
    """Group commit: rows written while another write holds the database share one
    commit; one that fails (an id already taken) fails alone and the others are stored."""
    _uploads, rows = sender
    rows.insert(_row("taken", "first.txt"))
    counter = CommitCounter()
    counter.watch(rows._db())
    ids = [f"row-{n}" for n in range(6)] + ["taken"]
    errors: dict[str, BaseException] = {}

    def write(upload_id: str) -> None:
        try:
            rows.insert(_row(upload_id, f"{upload_id}.txt"))
        except BaseException as exc:
            errors[upload_id] = exc

    with rows._lock:  # a write in progress: the others line up behind it
        threads = [threading.Thread(target=write, args=(i,)) for i in ids]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(rows._pending) < len(ids) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(rows._pending) == len(ids)
    for thread in threads:
        thread.join(10)
    assert set(errors) == {"taken"}
    assert isinstance(errors["taken"], sqlite3.IntegrityError)
    stored = {u.id: u.original_name for u in Upload.select()}
    assert stored == {"taken": "first.txt", **{i: f"{i}.txt" for i in ids[:-1]}}
    # the batch (rolled back by the duplicate), then each of the seven on its own
    assert counter.commits == len(ids)
    counter.commits = 0
    with rows._lock:
        threads = [threading.Thread(target=rows.complete, args=(i,),
                                    kwargs={"sha256": "ab" * 32, "size": 3, "parts": False})
                   for i in ids[:-1]]
        for thread in threads:
            thread.start()
        while len(rows._pending) < len(threads) and time.monotonic() < deadline:
            time.sleep(0.005)
    for thread in threads:
        thread.join(10)
    assert counter.commits == 1
    assert {u.status for u in Upload.select().where(Upload.id != "taken")} == {"completed"}
    assert all(rows.take_completion(i) is not None for i in ids[:-1])


def test_create_many_writes_a_drop_s_rows_in_one_commit_all_or_none(
    sender: tuple[UploadService, UploadRows], media: Media
) -> None:
    """The lane's rows: one commit for all; a file gone meanwhile gets its error in its
    place; a row the database refuses (an id taken) leaves none of the batch stored."""
    uploads, rows = sender
    paths = [media.transcript(f"part-{n}.txt") for n in range(4)]
    paths[2].unlink()
    counter = CommitCounter()
    counter.watch(rows._db())
    made = uploads.create_many([(p, "transcript", True, "text/plain") for p in paths])
    assert counter.commits == 1
    assert isinstance(made[2], UserError) and "does not exist" in str(made[2])
    stored = [m for m in made if not isinstance(m, UserError)]
    assert {find_upload(u.id).original_name for u, _ in stored} == {
        "part-0.txt", "part-1.txt", "part-3.txt"}
    assert rows.resume_point(stored[0][0].id) is None  # fresh: answered without a read
    before = Upload.select().count()
    with pytest.raises(sqlite3.IntegrityError):
        rows.insert_many([_row("new-one", "a.txt"), _row(stored[0][0].id, "b.txt")])
    assert Upload.select().count() == before  # rolled back: "new-one" is not stored either


def test_rows_read_and_write_as_the_models_do(
    sender: tuple[UploadService, UploadRows], media: Media
) -> None:
    uploads, rows = sender
    upload, _sums = uploads.create(media.transcript(), "transcript", is_temp=False)
    stored = find_upload(upload.id)
    assert stored.to_dict() == upload.to_dict()
    assert stored.is_temp is False and stored.created_at == upload.created_at
    assert rows.update(upload.id, {"status": "paused"}, status_in=("queued",)) == 0
    assert rows.update(upload.id, {"status": "paused"}, unless_status=("uploading",)) == 0
    assert rows.update(upload.id, {"status": "paused"}, status_in=("uploading",)) == 1
    assert Upload.get_by_id(upload.id).status == "paused"
    assert rows.read(upload.id, ("status", "created_at")) == {
        "status": "paused", "created_at": upload.created_at}
    assert rows.read("no-such-id", ("status",)) is None


def test_update_many_changes_only_the_rows_it_may_in_one_commit(
    sender: tuple[UploadService, UploadRows], media: Media
) -> None:
    uploads, rows = sender
    made = [uploads.create(media.transcript(f"t{i}.txt"), "transcript")[0].id for i in range(3)]
    rows.update(made[2], {"status": "cancelled"})
    counter = CommitCounter()
    counter.watch(rows._db())
    # more ids than one statement binds (unknown ones change nothing), in one transaction
    ids = [*made, *(f"nope-{i}" for i in range(1200))]
    assert rows.update_many(ids, {"status": "failed"}, unless_status=("cancelled",)) == 2
    assert counter.commits == 1
    assert [rows.status(i) for i in made] == ["failed", "failed", "cancelled"]
    assert rows.update(made[0], {"thumbnail": b"jpeg"}, while_null="thumbnail") == 1
    assert rows.update(made[0], {"thumbnail": b"other"}, while_null="thumbnail") == 0
    assert Upload.get_by_id(made[0]).thumbnail == b"jpeg"
    assert rows.update_many([], {"status": "failed"}) == 0


def test_services_write_upload_rows_only_through_the_bound_writer(
    db: peewee.SqliteDatabase, s3_env: Any, media: Media
) -> None:
    """Promote, delete, cleanup, sync: no `upload` row is written through peewee's own
    connections, so every writer waits on one lock over one connection."""
    from shorts_desktop.core.db.upload_rows import bound_rows
    from shorts_desktop.core.services.reconcile import ReconcileService

    writes: list[str] = []

    def trace(sql: str) -> None:
        head = " ".join(sql.split()[:3]).upper()
        if head.startswith(("UPDATE \"UPLOAD\"", "UPDATE UPLOAD", "INSERT INTO \"UPLOAD\"",
                            "INSERT INTO UPLOAD", "DELETE FROM \"UPLOAD\"")):
            writes.append(sql)

    db.connection().set_trace_callback(trace)
    uploads = s3_env.uploads
    assert uploads.rows is bound_rows()  # the service's writer is the process's one
    kept = uploads.upload_file(media.transcript("kept.txt"), "transcript")
    gone = uploads.upload_file(media.transcript("gone.txt"), "transcript")
    promoted, changed = uploads.promote(kept.id)
    assert changed and promoted.is_temp is False
    assert uploads.delete(gone.id).status == "deleted"
    s3_env.storage.delete(str(promoted.key))  # lost behind the app's back
    report = ReconcileService(s3_env.settings, s3_env.storage).run()
    assert kept.id in report.missing and find_upload(kept.id).status == "missing"
    s3_env.cleanup.run(hours=0)
    assert writes == []
