"""Schema migrations: new files, the shipped legacy database, failures and refusals."""

from __future__ import annotations

import importlib.util
import random
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from types import ModuleType
from typing import Any

import peewee
import pytest

from shorts_desktop.core.db import schema
from shorts_desktop.core.db.connection import close_database, open_database
from shorts_desktop.core.db.migrations import LATEST_VERSION, MIGRATIONS, m002_s3_support
from shorts_desktop.core.db.models import ALL_MODELS, Job, Upload
from shorts_desktop.core.db.schema import migrate
from shorts_desktop.core.errors import DatabaseDamagedError, UserError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LEGACY_DB = FIXTURES / "legacy_v1.db"
LEGACY_UPLOAD_COLUMNS = {
    "id", "filename", "file_path", "file_size", "content_type", "upload_type", "created_at",
}  # fmt: skip
LEGACY_JOB_COLUMNS = {
    "id", "title", "description", "voice", "tags", "video_path", "transcript_path", "status",
    "created_at",
}  # fmt: skip
VIDEO_ID = "3f1c2a9e-5b7d-4e8f-9a10-2b3c4d5e6f70"
TRANSCRIPT_ID = "8a6e4b21-0c3d-4f5a-b6c7-d8e9f0a1b2c3"
GONE_VIDEO_ID = "c9d8e7f6-a5b4-4c3d-8e2f-1a0b9c8d7e6f"
COMPLETED_JOB_ID = "5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716"
PENDING_JOB_ID = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"


# --- helpers: raw sqlite3 only, so they see the file as it is -------------------------------


def _connect(path: Path) -> closing[sqlite3.Connection]:
    return closing(sqlite3.connect(path))


def _user_version(path: Path) -> int:
    with _connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _tables(path: Path) -> set[str]:
    with _connect(path) as conn:
        return {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite%'"
            )
        }


def _columns(path: Path, table: str) -> set[str]:
    with _connect(path) as conn:
        return {r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')}


def _rows(path: Path, table: str) -> dict[str, dict[str, Any]]:
    with _connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return {r["id"]: dict(r) for r in conn.execute(f'SELECT * FROM "{table}"')}


def _shape(path: Path) -> dict[str, Any]:
    """Every table's columns (name, type, not null, default, pk) and indexes."""
    shape: dict[str, Any] = {}
    with _connect(path) as conn:
        for table in sorted(_tables(path)):
            cols = [tuple(r[1:]) for r in conn.execute(f'PRAGMA table_info("{table}")')]
            fks = sorted(tuple(r[2:]) for r in conn.execute(f'PRAGMA foreign_key_list("{table}")'))
            indexes = {
                r[1]: [c[2] for c in conn.execute(f'PRAGMA index_info("{r[1]}")')]
                for r in conn.execute(f'PRAGMA index_list("{table}")')
                if not r[1].startswith("sqlite_autoindex")
            }
            shape[table] = (cols, fks, indexes)
    return shape


def _backups(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.bak"))


def _load_fixture_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_legacy_db", FIXTURES / "make_legacy_db.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def legacy_db(tmp_path: Path) -> Path:
    """A private copy of the shipped legacy database."""
    target = tmp_path / "shorts-desktop.db"
    shutil.copyfile(LEGACY_DB, target)
    return target


@pytest.fixture
def opened() -> Iterator[Callable[[Path], tuple[peewee.SqliteDatabase, schema.MigrationResult]]]:
    """open_database, closing whatever was opened when the test ends."""
    dbs: list[peewee.SqliteDatabase] = []

    def _open(path: Path) -> tuple[peewee.SqliteDatabase, schema.MigrationResult]:
        db, result = open_database(path)
        dbs.append(db)
        return db, result

    yield _open
    for db in dbs:
        close_database(db)


# --- (a) a new file ---------------------------------------------------------------------------


def test_new_file_is_created_at_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "not-yet" / "app.db"

    result = migrate(path)

    assert (result.from_version, result.to_version, result.backup) == (0, LATEST_VERSION, None)
    assert result.changed
    assert _user_version(path) == LATEST_VERSION
    assert _tables(path) == {"upload", "job", "transfer_part"}
    assert _backups(path.parent) == []


def test_open_database_uses_wal_and_the_models_work(tmp_path: Path, opened: Any) -> None:
    db, result = opened(tmp_path / "app.db")

    assert result.to_version == LATEST_VERSION
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1

    video = Upload.create(id=str(uuid.uuid4()), kind="video", original_name="clip.mp4", size=10)
    text = Upload.create(id=str(uuid.uuid4()), kind="transcript", original_name="clip.txt")
    job = Job.create(
        id=str(uuid.uuid4()), title="A short", voice="nova", video_upload=video,
        transcript_upload=text, tags=["a", "b"],
    )  # fmt: skip

    again = Job.get_by_id(job.id)
    assert again.video_upload is not None and again.transcript_upload is not None
    assert again.video_upload.original_name == "clip.mp4"
    assert again.transcript_upload.kind == "transcript"
    assert again.tags == ["a", "b"]
    assert again.status == "created"
    assert Upload.get_by_id(video.id).to_dict()["is_temp"] is True
    # the schema's foreign key is enforced: a referenced upload cannot go
    with pytest.raises(peewee.IntegrityError):
        video.delete_instance()


def test_models_match_the_migrated_schema(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    migrate(path)
    for model in ALL_MODELS:
        table = model._meta.table_name
        expected = {f.column_name for f in model._meta.sorted_fields}
        assert _columns(path, table) == expected, table


# --- (b) the shipped legacy database ------------------------------------------------------------


def test_shipped_fixture_is_a_legacy_v1_database() -> None:
    assert LEGACY_DB.stat().st_size < 64 * 1024
    assert _user_version(LEGACY_DB) == 0
    assert _columns(LEGACY_DB, "upload") == LEGACY_UPLOAD_COLUMNS
    assert _columns(LEGACY_DB, "job") == LEGACY_JOB_COLUMNS
    assert len(_rows(LEGACY_DB, "upload")) == 3
    assert len(_rows(LEGACY_DB, "job")) == 2
    with _connect(LEGACY_DB) as conn:
        assert schema.detect_version(conn) == 1


def test_shipped_fixture_matches_its_script(tmp_path: Path) -> None:
    fresh = _load_fixture_script().build(tmp_path / "fresh.db")
    assert _shape(fresh) == _shape(LEGACY_DB)
    for table in ("upload", "job"):
        assert _rows(fresh, table) == _rows(LEGACY_DB, table), table


def test_legacy_database_migrates_and_keeps_everything(legacy_db: Path) -> None:
    legacy_uploads = _rows(LEGACY_DB, "upload")
    legacy_jobs = _rows(LEGACY_DB, "job")

    result = migrate(legacy_db)

    assert (result.from_version, result.to_version) == (1, LATEST_VERSION)
    assert _user_version(legacy_db) == LATEST_VERSION

    # the backup is the untouched version-1 database
    assert result.backup is not None
    assert _backups(legacy_db.parent) == [result.backup]
    assert result.backup.match("*.v1-*.bak")
    assert _user_version(result.backup) == 0
    assert _columns(result.backup, "upload") == LEGACY_UPLOAD_COLUMNS
    assert _columns(result.backup, "job") == LEGACY_JOB_COLUMNS
    assert _rows(result.backup, "upload") == legacy_uploads
    assert _rows(result.backup, "job") == legacy_jobs

    uploads = _rows(legacy_db, "upload")
    assert uploads.keys() == legacy_uploads.keys()
    for uid, old in legacy_uploads.items():
        new = uploads[uid]
        assert new["file_path"] == old["file_path"]
        assert new["original_name"] == old["filename"]
        assert new["kind"] == old["upload_type"]
        assert new["size"] == old["file_size"]
        assert new["content_type"] == (old["content_type"] or "application/octet-stream")
        assert new["backend"] == "local"
        assert new["status"] == "missing"  # nothing under /srv/shorts exists here
        assert new["is_temp"] == 0
        assert new["key"] is None and new["bucket"] is None
        assert new["completed_at"] is None
        assert new["created_at"] == old["created_at"]

    jobs = _rows(legacy_db, "job")
    assert jobs.keys() == legacy_jobs.keys()
    done, pending = jobs[COMPLETED_JOB_ID], jobs[PENDING_JOB_ID]
    assert (done["video_upload_id"], done["transcript_upload_id"]) == (VIDEO_ID, TRANSCRIPT_ID)
    assert done["status"] == "processed"
    assert done["video_path"] == legacy_jobs[COMPLETED_JOB_ID]["video_path"]
    assert done["transcript_path"] == legacy_jobs[COMPLETED_JOB_ID]["transcript_path"]
    assert (pending["video_upload_id"], pending["transcript_upload_id"]) == (None, None)
    assert pending["status"] == "created"
    assert pending["video_path"] == legacy_jobs[PENDING_JOB_ID]["video_path"]

    # and it has exactly the schema a new database has
    fresh = legacy_db.with_name("fresh.db")
    migrate(fresh)
    assert _shape(legacy_db) == _shape(fresh)


def test_migrated_legacy_rows_load_through_the_models(legacy_db: Path, opened: Any) -> None:
    migrate(legacy_db)
    _, result = opened(legacy_db)
    assert not result.changed

    assert {u.id: u.to_dict()["status"] for u in Upload.select()} == {
        VIDEO_ID: "missing", TRANSCRIPT_ID: "missing", GONE_VIDEO_ID: "missing",
    }  # fmt: skip
    job = Job.get_by_id(COMPLETED_JOB_ID)
    assert job.video_upload is not None and job.transcript_upload is not None
    assert job.video_upload.original_name == "Pasta Carbonara (final cut).mp4"
    assert job.transcript_upload.kind == "transcript"
    assert job.tags == ["cooking", "italian", "shorts"]
    assert job.voice == "nova"
    pending = Job.get_by_id(PENDING_JOB_ID).to_dict()
    assert pending["status"] == "created"
    assert pending["tags"] == []
    assert pending["description"] == ""
    assert pending["video_upload_id"] is None
    assert pending["created_at"] == "2024-03-06T12:00:00+00:00"


def test_legacy_file_that_still_exists_becomes_completed(legacy_db: Path, tmp_path: Path) -> None:
    real = tmp_path / "kept" / "carbonara.mp4"
    real.parent.mkdir()
    real.write_bytes(b"\x00" * 244)
    with _connect(legacy_db) as conn:
        query = "SELECT file_path FROM upload WHERE id=?"
        old_path = conn.execute(query, (VIDEO_ID,)).fetchone()[0]
        conn.execute("UPDATE upload SET file_path=? WHERE id=?", (str(real), VIDEO_ID))
        conn.execute("UPDATE job SET video_path=? WHERE video_path=?", (str(real), old_path))
        conn.commit()

    migrate(legacy_db)

    uploads = _rows(legacy_db, "upload")
    assert uploads[VIDEO_ID]["status"] == "completed"
    assert uploads[VIDEO_ID]["file_path"] == str(real)
    assert uploads[VIDEO_ID]["completed_at"] == uploads[VIDEO_ID]["created_at"]
    assert uploads[TRANSCRIPT_ID]["status"] == "missing"
    assert uploads[GONE_VIDEO_ID]["status"] == "missing"
    assert _rows(legacy_db, "job")[COMPLETED_JOB_ID]["video_upload_id"] == VIDEO_ID


def test_script_with_uploads_dir_gives_present_and_missing_files(tmp_path: Path) -> None:
    path = _load_fixture_script().build(tmp_path / "legacy.db", tmp_path / "uploads")

    migrate(path)

    status = {uid: row["status"] for uid, row in _rows(path, "upload").items()}
    assert status == {VIDEO_ID: "completed", TRANSCRIPT_ID: "completed", GONE_VIDEO_ID: "missing"}
    for row in _rows(path, "upload").values():
        assert row["file_path"].startswith(str(tmp_path / "uploads") + "/")
    done = _rows(path, "job")[COMPLETED_JOB_ID]
    assert (done["video_upload_id"], done["transcript_upload_id"]) == (VIDEO_ID, TRANSCRIPT_ID)


# --- (c) idempotence ----------------------------------------------------------------------------


def test_migrating_twice_is_a_no_op(legacy_db: Path, opened: Any) -> None:
    first = migrate(legacy_db)
    after_first = legacy_db.read_bytes()

    second = migrate(legacy_db)

    assert (second.from_version, second.to_version, second.backup) == (
        LATEST_VERSION, LATEST_VERSION, None,
    )  # fmt: skip
    assert not second.changed
    assert legacy_db.read_bytes() == after_first
    assert _backups(legacy_db.parent) == [first.backup]

    # opening it (which switches to WAL) and opening again still changes nothing
    _, third = opened(legacy_db)
    _, fourth = opened(legacy_db)
    assert not third.changed and not fourth.changed
    assert _backups(legacy_db.parent) == [first.backup]
    assert len(_rows(legacy_db, "upload")) == 3


# --- (d) a failure midway -----------------------------------------------------------------------


def _failing_apply(conn: sqlite3.Connection) -> None:
    """Does real damage the way m002 would, then fails."""
    conn.execute(m002_s3_support.UPLOAD_SQL)
    conn.execute(
        "INSERT INTO upload_v2 (id, kind, original_name, created_at, updated_at)"
        " SELECT id, upload_type, filename, created_at, created_at FROM upload"
    )
    conn.execute("DELETE FROM upload")
    conn.execute("DROP TABLE job")
    raise RuntimeError("boom in the middle of m002")


def test_failed_migration_rolls_back_completely(
    legacy_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = legacy_db.read_bytes()
    monkeypatch.setattr(m002_s3_support, "apply", _failing_apply)

    with pytest.raises(RuntimeError, match="boom"):
        migrate(legacy_db)

    assert legacy_db.read_bytes() == before
    assert _user_version(legacy_db) == 0
    assert _tables(legacy_db) == {"upload", "job"}
    assert _columns(legacy_db, "upload") == LEGACY_UPLOAD_COLUMNS
    assert _columns(legacy_db, "job") == LEGACY_JOB_COLUMNS
    assert _rows(legacy_db, "upload") == _rows(LEGACY_DB, "upload")
    assert _rows(legacy_db, "job") == _rows(LEGACY_DB, "job")
    assert not legacy_db.with_name(legacy_db.name + "-journal").exists()

    # once the bug is gone the same file migrates normally
    monkeypatch.undo()
    assert migrate(legacy_db).to_version == LATEST_VERSION


def test_failed_migration_of_a_new_file_leaves_it_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "app.db"
    monkeypatch.setattr(m002_s3_support, "apply", _failing_apply)

    with pytest.raises(RuntimeError):
        migrate(path)

    assert _user_version(path) == 0  # m001's version bump was rolled back with it
    assert _tables(path) == set()


# --- (e, f, g) files that are refused, untouched -----------------------------------------------


def _make_sqlite(path: Path, script: str, user_version: int = 0) -> Path:
    with _connect(path) as conn:
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version={user_version}")
        conn.commit()
    return path


def _assert_refused(path: Path, match: str) -> None:
    before = path.read_bytes()
    with pytest.raises(UserError, match=match) as caught:
        migrate(path)
    assert caught.value.__cause__ is None
    assert str(path) in str(caught.value) or "shorts-desktop" in str(caught.value)
    assert path.read_bytes() == before
    assert _backups(path.parent) == []
    with pytest.raises(UserError, match=match):
        open_database(path)
    assert path.read_bytes() == before


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = _make_sqlite(
        tmp_path / "future.db",
        "CREATE TABLE upload (id TEXT PRIMARY KEY, file_path TEXT, key TEXT, hologram TEXT);"
        "INSERT INTO upload VALUES ('u1', NULL, 'k', 'yes')",
        user_version=LATEST_VERSION + 1,
    )
    _assert_refused(path, r"newer shorts-desktop")
    assert _user_version(path) == LATEST_VERSION + 1


@pytest.mark.parametrize(
    "script",
    [
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'x')",
        "CREATE TABLE upload (id TEXT PRIMARY KEY, name TEXT)",
        "CREATE TABLE upload (id TEXT PRIMARY KEY, file_path TEXT, key TEXT)",
    ],
    ids=["unrelated-table", "upload-without-file-path", "current-looking-without-version"],
)
def test_foreign_sqlite_file_without_version_is_refused(tmp_path: Path, script: str) -> None:
    path = _make_sqlite(tmp_path / "other.db", script)
    _assert_refused(path, r"not made by shorts-desktop")


@pytest.mark.parametrize(
    "content",
    [
        random.Random(1234).randbytes(8192),
        b"just some notes, not a database\n" * 10,
    ],
    ids=["random-bytes", "text"],
)
def test_non_sqlite_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.db"
    path.write_bytes(content)
    _assert_refused(path, r"is not an SQLite file, so it is not a shorts-desktop database")


def test_truncated_sqlite_file_is_called_damaged_not_foreign(tmp_path: Path) -> None:
    """It is an SQLite file whose pages are gone: damaged, and left as it was."""
    path = tmp_path / "broken.db"
    path.write_bytes(LEGACY_DB.read_bytes()[:1024])
    before = path.read_bytes()
    with pytest.raises(DatabaseDamagedError, match=rf"^The database {path} is damaged"):
        migrate(path)
    assert path.read_bytes() == before
    assert _backups(path.parent) == []


# --- (h) every older version ---------------------------------------------------------------------


@pytest.mark.parametrize("version", range(LATEST_VERSION))
def test_every_older_version_migrates_to_latest(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for module in MIGRATIONS[:version]:
            module.apply(conn)
        conn.execute(f"PRAGMA user_version={version}")
    assert [m.VERSION for m in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))

    result = migrate(path)

    assert (result.from_version, result.to_version) == (version, LATEST_VERSION)
    assert _user_version(path) == LATEST_VERSION
    assert (result.backup is not None) == (version > 0)
    if result.backup is not None:
        assert result.backup.match(f"*.v{version}-*.bak")
        assert _user_version(result.backup) == version
    fresh = tmp_path / "fresh.db"
    migrate(fresh)
    assert _shape(path) == _shape(fresh)
