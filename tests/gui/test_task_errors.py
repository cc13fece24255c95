"""A background task that meets a known failure of the machine shows its own sentence, not
"Unexpected error"; the main window tells its runner where the app's files are."""

from __future__ import annotations

import os
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from shorts_desktop.core.config import AppPaths
from shorts_desktop.core.db.connection import close_database, open_database
from shorts_desktop.core.db.models import Upload
from shorts_desktop.gui.tasks import UNEXPECTED, TaskRunner, describe_error


def write_to_full_disk() -> None:
    with open("/dev/full", "wb") as f:
        f.write(b"x")
        f.flush()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_in_a_task_is_said_as_such(qtbot: Any) -> None:
    runner = TaskRunner(inline=True)
    errors: list[str] = []
    try:
        runner.submit(write_to_full_disk, on_error=errors.append)
    finally:
        runner.shutdown()
    assert len(errors) == 1 and errors[0].startswith("The disk is full")
    assert errors[0] != UNEXPECTED


def test_a_damaged_database_in_a_task_names_the_file(qtbot: Any, tmp_path: Path) -> None:
    paths = AppPaths(tmp_path / "data", tmp_path / "config", tmp_path / "logs")
    db, _ = open_database(paths.db_path)
    with db.atomic():
        for n in range(300):
            Upload.create(id=str(uuid.uuid4()), kind="transcript", status="completed",
                          original_name=f"n{n}-{'x' * 120}.txt", backend="local")
    close_database(db)
    with closing(sqlite3.connect(paths.db_path)) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        (page,) = conn.execute("SELECT max(pageno) FROM dbstat WHERE name = 'upload' AND "
                               "pagetype = 'leaf'").fetchone()
    with paths.db_path.open("r+b") as f:
        f.seek((page - 1) * size + 8)
        f.write(os.urandom(size - 16))

    def read_all() -> list[Any]:
        handle, _ = open_database(paths.db_path)
        try:
            return list(Upload.select())
        finally:
            close_database(handle)

    runner = TaskRunner(inline=True)
    runner.paths = paths
    errors: list[str] = []
    try:
        runner.submit(read_all, on_error=errors.append)
    finally:
        runner.shutdown()
    assert len(errors) == 1
    assert errors[0].startswith(f"The database {paths.db_path} is damaged at page {page}")
    assert "there is no backup of it" in errors[0]


def test_a_bug_is_still_unexpected() -> None:
    assert describe_error(KeyError("a bug")) == UNEXPECTED


def test_the_window_tells_its_runner_where_the_apps_files_are(make_main_window: Any) -> None:
    window = make_main_window(show=False)
    assert window.runner.paths == window.services.paths
