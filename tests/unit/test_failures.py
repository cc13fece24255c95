"""One true sentence for each known failure of the machine, from real failures: /dev/full,
a read-only tmpfs, names too long for the file system, a database with a damaged page."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path

import peewee
import pytest

from shorts_desktop.core.config import AppPaths
from shorts_desktop.core.db.connection import close_database, open_database
from shorts_desktop.core.db.models import Upload
from shorts_desktop.core.db.schema import migrate
from shorts_desktop.core.errors import (
    DatabaseDamagedError,
    DiskFullError,
    NameTooLongError,
    NotADatabaseError,
    PermissionDeniedError,
    ReadOnlyError,
    StorageError,
    UserError,
)
from shorts_desktop.core.failures import (
    database_backups,
    database_error,
    explain,
    new_backup_path,
    os_error,
)

LEGACY_DB = Path(__file__).parents[1] / "fixtures" / "legacy_v1.db"


def raised(action, *args) -> BaseException:
    try:
        action(*args)
    except BaseException as exc:  # the real exception the system gave
        return exc
    raise AssertionError("nothing was raised")


def paths_under(root: Path) -> AppPaths:
    return AppPaths(root / "data", root / "config", root / "logs")


# -- the operating system -----------------------------------------------------------------------


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_names_where() -> None:
    def write_full() -> None:
        with open("/dev/full", "wb") as f:
            f.write(b"x" * 10)
            f.flush()

    exc = raised(write_full)
    assert isinstance(exc, OSError) and exc.errno == errno.ENOSPC
    error = os_error(exc, "save the transcript", path=Path("/dev/full"))
    assert isinstance(error, DiskFullError) and error.exit_code == 1
    assert str(error) == ("The disk is full: could not save the transcript (no space left on "
                          "the disk holding /dev); free some space and try again.")


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "ro"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(folder)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_read_only_disk_names_the_folder(read_only_folder: Path) -> None:
    exc = raised((read_only_folder / "notes.txt").write_text, "hello")
    assert isinstance(exc, OSError) and exc.errno == errno.EROFS
    error = explain(exc)
    assert isinstance(error, ReadOnlyError) and error.exit_code == 1
    assert str(error) == (f"The folder {read_only_folder} is read-only (its disk is mounted "
                          "read-only).")


def test_a_database_on_a_read_only_disk_is_not_called_damaged(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "shorts-desktop.db"
    close_database(open_database(db)[0])
    done = subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(folder)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot make a read-only bind mount here: {done.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=False)
        with pytest.raises(ReadOnlyError) as caught:
            migrate(db)
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
    assert str(caught.value).startswith(f"The folder {folder} is read-only")
    assert str(db) in str(caught.value)
    assert caught.value.__cause__ is None
    migrate(db)  # writable again, the same file is a good database


def test_a_name_too_long_is_the_users_input(tmp_path: Path) -> None:
    name = "a" * 296 + ".mp4"
    exc = raised((tmp_path / name).stat)
    assert isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG
    error = explain(exc)
    assert isinstance(error, NameTooLongError) and error.exit_code == 2
    assert str(error).startswith("The name 'aaaa")
    assert "is too long for the file system (300 characters; it allows 255 bytes)." in str(error)
    assert len(str(error)) < 200  # the name is shortened in the sentence


def test_a_path_too_long_is_the_users_input(tmp_path: Path) -> None:
    deep = Path(tmp_path, *(["d" * 100] * 60), "clip.mp4")
    exc = raised(deep.stat)
    assert isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG
    error = explain(exc)
    assert isinstance(error, NameTooLongError)
    assert f"is too long for the file system ({len(str(deep))} characters; it allows" in str(error)
    assert len(str(error)) < 200


def test_permission_is_the_users_for_their_files_and_the_storages_for_the_apps(
    tmp_path: Path,
) -> None:
    paths = paths_under(tmp_path / "home")
    theirs = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "clip.mp4"))
    ours = PermissionError(errno.EACCES, "Permission denied", str(paths.data_dir / "x.db"))
    users = explain(theirs, paths)
    assert isinstance(users, PermissionDeniedError) and users.exit_code == 2
    apps = explain(ours, paths)
    assert type(apps) is StorageError and apps.exit_code == 1


def test_bugs_are_not_explained_away(tmp_path: Path) -> None:
    assert explain(ValueError("a bug")) is None
    assert explain(FileNotFoundError(errno.ENOENT, "No such file", "x")) is None
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        conn.execute("INSERT INTO t VALUES (1)")
        exc = raised(conn.execute, "INSERT INTO t VALUES (1)")
        assert isinstance(exc, sqlite3.IntegrityError)
        assert explain(exc, database=tmp_path / "x.db") is None
        assert explain(raised(conn.execute, "SELECT * FROM nowhere")) is None


# -- the database -------------------------------------------------------------------------------


def make_database(path: Path, rows: int = 300) -> None:
    db, _ = open_database(path)
    try:
        with db.atomic():
            for n in range(rows):
                Upload.create(id=str(uuid.uuid4()), kind="transcript", status="completed",
                              original_name=f"notes-{n:04d}-{'x' * 120}.txt", backend="local",
                              key=f"temp/{n}/notes.txt")
    finally:
        close_database(db)


def damage_a_page(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = [p for (p,) in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = 'upload' AND pagetype = 'leaf' "
            "ORDER BY pageno")]
    page = pages[len(pages) // 2]
    with path.open("r+b") as f:
        f.seek((page - 1) * size + 8)
        f.write(os.urandom(size - 16))
    return page


def read_every_upload(path: Path) -> BaseException:
    db = peewee.SqliteDatabase(str(path))
    try:
        # An aggregate reads every page while peewee runs the statement (it wraps the error).
        return raised(db.execute_sql, "SELECT count(*), max(original_name) FROM upload")
    finally:
        db.close()


def test_a_damaged_page_is_named_with_the_backup(tmp_path: Path) -> None:
    path = tmp_path / "shorts-desktop.db"
    path.write_bytes(LEGACY_DB.read_bytes())
    backup = migrate(path).backup
    assert backup is not None
    make_database(path)
    page = damage_a_page(path)

    exc = read_every_upload(path)
    assert isinstance(exc, peewee.DatabaseError)  # peewee's wrapper of SQLite's error
    error = explain(exc, paths_under(tmp_path), database=path)
    assert isinstance(error, DatabaseDamagedError) and error.exit_code == 1
    (found,) = database_backups(path)
    assert found.path == backup and found.version == 1
    when = found.made.strftime("%Y-%m-%d %H:%M")
    assert str(error) == (
        f"The database {path} is damaged at page {page}; its newest backup is {backup}, made "
        f"on {when} before an upgrade: to restore it, quit shorts-desktop, move {path} and its "
        f"-wal and -shm files aside (keep them), copy the backup to {path} and start again "
        f"(what was recorded after {when} is not in it; `shorts-desktop sync` adds back the "
        "uploads that are in storage)."
    )


def test_a_damaged_page_without_a_backup_says_so(tmp_path: Path) -> None:
    path = tmp_path / "shorts-desktop.db"
    make_database(path)
    page = damage_a_page(path)
    error = database_error(read_every_upload(path), path)
    assert isinstance(error, DatabaseDamagedError)
    assert str(error).startswith(f"The database {path} is damaged at page {page} and there is "
                                 "no backup of it")
    assert "run `shorts-desktop sync`" in str(error)


def test_only_a_file_that_is_not_sqlite_is_called_not_a_database(tmp_path: Path) -> None:
    text = tmp_path / "text.db"
    text.write_text("not a database\n" * 100)
    with pytest.raises(NotADatabaseError, match="is not an SQLite file") as caught:
        migrate(text)
    assert isinstance(caught.value, UserError)

    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(LEGACY_DB.read_bytes()[:1024])  # SQLite's header, damaged pages
    with pytest.raises(DatabaseDamagedError, match=f"The database {truncated} is damaged"):
        migrate(truncated)


def test_backups_are_found_newest_first(tmp_path: Path) -> None:
    db = tmp_path / "shorts-desktop.db"
    older = new_backup_path(db, 1, datetime(2026, 1, 2, 3, 4, 5))
    older.write_bytes(b"")
    newer = new_backup_path(db, 3, datetime(2026, 5, 6, 7, 8, 9))
    newer.write_bytes(b"")
    again = new_backup_path(db, 3, datetime(2026, 5, 6, 7, 8, 9))
    assert again != newer  # never overwrites one
    (tmp_path / "shorts-desktop.db.vacation.bak").write_bytes(b"")  # not one of ours
    found = database_backups(db)
    assert [(b.path, b.version, b.made) for b in found] == [
        (newer, 3, datetime(2026, 5, 6, 7, 8, 9)), (older, 1, datetime(2026, 1, 2, 3, 4, 5)),
    ]
