"""The Library panel through its real widgets: filters, links, downloads, promote, delete."""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QHeaderView, QMessageBox, QTableView

from shorts_desktop.gui.main_window import MainWindow
from shorts_desktop.gui.models.uploads_model import (
    KEPT,
    NAME,
    SIZE,
    STATUS,
    LibraryFilter,
    UploadsModel,
)
from shorts_desktop.gui.panels.library import LibraryPanel

pytestmark = pytest.mark.gui

WAIT = 15_000


def library(window: MainWindow) -> LibraryPanel:
    panel = window.panels["library"]
    assert isinstance(panel, LibraryPanel)
    return panel


def upload(window: MainWindow, path: Path, kind: str, is_temp: bool = True) -> dict[str, Any]:
    """Store a file through the same service the GUI uses (test thread, before the panel loads)."""
    row: dict[str, Any] = window.services.uploads.upload_file(path, kind, is_temp=is_temp).to_dict()
    return row


def open_library(window: MainWindow, qtbot: Any, count: int) -> LibraryPanel:
    panel = library(window)
    window.show_panel("library")
    qtbot.waitUntil(lambda: not panel.loading and panel.model.total_count() == count,
                    timeout=WAIT)
    return panel


def names(panel: LibraryPanel) -> list[str]:
    return [r["original_name"] for r in panel.model.rows(range(panel.model.rowCount()))]


def select_names(panel: LibraryPanel, wanted: list[str]) -> None:
    ids = [r["id"] for r in panel.model.rows(range(panel.model.rowCount()))
           if r["original_name"] in wanted]
    assert len(ids) == len(wanted)
    panel.select_ids(ids)


@pytest.fixture
def stocked(main_window: MainWindow, media_files: Callable[..., Path]) -> MainWindow:
    upload(main_window, media_files("alpha beach.mp4"), "video")
    upload(main_window, media_files("bravo city.mp4"), "video", is_temp=False)
    upload(main_window, media_files("alpha notes.txt"), "transcript")
    return main_window


def test_empty_library_says_what_to_do(main_window: MainWindow, qtbot: Any) -> None:
    panel = open_library(main_window, qtbot, 0)
    assert panel.stack.currentWidget() is panel.empty_label
    assert "Drop videos and transcripts" in panel.empty_label.text()
    assert panel.count_label.text() == "0 uploads"
    assert not any(a.isEnabled() for a in panel.actions_list())


def test_filter_by_kind_kept_and_text(stocked: MainWindow, qtbot: Any) -> None:
    panel = open_library(stocked, qtbot, 3)
    assert panel.count_label.text() == "3 uploads"
    panel.kind_filter.setCurrentIndex(panel.kind_filter.findText("Videos"))
    assert sorted(names(panel)) == ["alpha beach.mp4", "bravo city.mp4"]
    assert panel.count_label.text() == "2 of 3 uploads shown"
    panel.kept_filter.setCurrentIndex(panel.kept_filter.findText("Permanent"))
    assert names(panel) == ["bravo city.mp4"]
    panel.kept_filter.setCurrentIndex(0)
    panel.kind_filter.setCurrentIndex(0)
    qtbot.keyClicks(panel.search, "ALPHA")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2)
    assert sorted(names(panel)) == ["alpha beach.mp4", "alpha notes.txt"]
    qtbot.keyClicks(panel.search, " notes")
    qtbot.waitUntil(lambda: names(panel) == ["alpha notes.txt"])
    panel.search.setText("nothing like this")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 0)
    assert panel.stack.currentWidget() is panel.empty_label
    assert "No uploads match" in panel.empty_label.text()
    panel.search.clear()
    panel.status_filter.setCurrentIndex(panel.status_filter.findText("Failed"))
    assert panel.model.rowCount() == 0
    panel.status_filter.setCurrentIndex(panel.status_filter.findText("Completed"))
    assert panel.model.rowCount() == 3


def test_sorting_by_clicking_headers_keeps_the_selection(stocked: MainWindow, qtbot: Any) -> None:
    panel = open_library(stocked, qtbot, 3)
    select_names(panel, ["bravo city.mp4"])
    panel.table.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
    assert names(panel) == ["alpha beach.mp4", "alpha notes.txt", "bravo city.mp4"]
    assert [r["original_name"] for r in panel.selected_rows()] == ["bravo city.mp4"]
    panel.table.sortByColumn(KEPT, Qt.SortOrder.AscendingOrder)
    assert names(panel)[0] == "bravo city.mp4"  # permanent sorts before temporary
    assert [r["original_name"] for r in panel.selected_rows()] == ["bravo city.mp4"]


def test_actions_follow_the_selection_and_links_need_s3(stocked: MainWindow, qtbot: Any) -> None:
    panel = open_library(stocked, qtbot, 3)
    assert not panel.promote_action.isEnabled()
    select_names(panel, ["bravo city.mp4"])  # already permanent
    assert not panel.promote_action.isEnabled()
    assert panel.download_action.isEnabled() and panel.delete_action.isEnabled()
    assert not panel.copy_action.isEnabled()  # the local library has no links
    assert "S3 bucket" in panel.copy_action.toolTip()
    select_names(panel, ["alpha beach.mp4", "bravo city.mp4"])
    assert panel.promote_action.isEnabled()
    assert panel.selection_label.text() == "2 uploads selected"
    for widget in (panel.search, panel.kind_filter, panel.kept_filter, panel.status_filter,
                   panel.refresh_button, panel.table, *panel.action_buttons.values()):
        assert widget.accessibleName(), widget.objectName()


def test_download_to_folder(stocked: MainWindow, qtbot: Any, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    panel = open_library(stocked, qtbot, 3)
    target = tmp_path / "downloads"
    target.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(target))
    select_names(panel, ["alpha beach.mp4", "alpha notes.txt"])
    panel.download_action.trigger()
    qtbot.waitUntil(lambda: panel.banner.isVisible(), timeout=WAIT)
    assert sorted(p.name for p in target.iterdir()) == ["alpha_beach.mp4", "alpha_notes.txt"]
    assert panel.banner.text() == f"Downloaded 2 files to {target}."
    # Again: the files exist now, which is said in one sentence.
    panel.banner.hide()
    panel.download_action.trigger()
    qtbot.waitUntil(lambda: panel.banner.isVisible(), timeout=WAIT)
    assert panel.banner.kind == "error"
    assert "already exists" in panel.banner.text()
    assert "Traceback" not in panel.banner.text()


def test_keyboard_shortcuts(stocked: MainWindow, qtbot: Any,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    panel = open_library(stocked, qtbot, 3)
    asked: list[str] = []

    def no(_parent: Any, _title: str, text: str, *args: Any) -> QMessageBox.StandardButton:
        asked.append(text)
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", no)
    stocked.activateWindow()
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert panel.search.hasFocus()
    qtbot.keyClick(panel.search, Qt.Key.Key_Delete)  # edits the search text, deletes nothing
    assert asked == []
    panel.table.setFocus()
    select_names(panel, ["alpha notes.txt"])
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    assert len(asked) == 1 and "alpha notes.txt" in asked[0]
    assert panel.model.total_count() == 3  # answered No


def test_library_reloads_when_an_upload_completes(
    main_window: MainWindow, media_files: Callable[..., Path], qtbot: Any
) -> None:
    panel = open_library(main_window, qtbot, 0)
    main_window.panels["uploads"].add_paths([media_files("fresh.mp4")])  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: names(panel) == ["fresh.mp4"], timeout=WAIT)


# -- against the moto S3 server ------------------------------------------------------------


def test_promote_moves_the_object_and_the_row_shows_permanent(
    s3_main_window: MainWindow, gui_s3_bucket: Any, media_files: Callable[..., Path],
    qtbot: Any,
) -> None:
    row = upload(s3_main_window, media_files("keeper.mp4"), "video")
    assert gui_s3_bucket.keys() == [row["key"]] and row["key"].startswith("temp/")
    panel = open_library(s3_main_window, qtbot, 1)
    assert panel.model.data(panel.model.index(0, KEPT)) == "Temporary"
    select_names(panel, ["keeper.mp4"])
    assert panel.promote_action.isEnabled()
    panel.promote_action.trigger()
    qtbot.waitUntil(lambda: panel.model.data(panel.model.index(0, KEPT)) == "Permanent",
                    timeout=WAIT)
    assert gui_s3_bucket.keys() == [f"videos/{row['id']}/keeper.mp4"]
    assert panel.banner.text() == "1 file made permanent."
    assert [r["original_name"] for r in panel.selected_rows()] == ["keeper.mp4"]
    assert not panel.promote_action.isEnabled()  # nothing temporary selected any more


def test_copy_link_puts_a_url_with_the_key_on_the_clipboard(
    s3_main_window: MainWindow, gui_s3_bucket: Any, media_files: Callable[..., Path],
    qtbot: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    row = upload(s3_main_window, media_files("share me.mp4"), "video")
    panel = open_library(s3_main_window, qtbot, 1)
    QGuiApplication.clipboard().setText("before")
    select_names(panel, ["share me.mp4"])
    assert panel.copy_action.isEnabled()
    s3_main_window.activateWindow()
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    dialog = panel.link_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.seconds() == s3_main_window.services.settings.presigned_url_expiry == 3600
    assert not dialog.warning.isVisible()
    dialog.spin.setValue(3 * 24 * 3600)
    assert dialog.warning.isVisible() and "3.0 days" in dialog.warning.text()
    dialog.spin.setValue(600)
    assert not dialog.warning.isVisible()
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: QGuiApplication.clipboard().text() != "before", timeout=WAIT)
    url = QGuiApplication.clipboard().text()
    assert url.startswith(gui_s3_bucket.env["S3_ENDPOINT_URL"])
    assert f"/{gui_s3_bucket.name}/{row['key']}?" in url
    assert "X-Amz-Expires=600" in url
    assert "10 min" in panel.banner.text() and url not in panel.banner.text()
    # The app never logs the link (botocore's own debug output is silenced by the app).
    signature = url.rsplit("X-Amz-Signature=", 1)[1]
    assert all(signature not in record.getMessage() for record in caplog.records
               if not record.name.startswith("botocore"))


def test_delete_asks_for_confirmation_and_removes_the_object(
    s3_main_window: MainWindow, gui_s3_bucket: Any, media_files: Callable[..., Path],
    qtbot: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    upload(s3_main_window, media_files("gone.mp4"), "video")
    upload(s3_main_window, media_files("stays.txt"), "transcript")
    panel = open_library(s3_main_window, qtbot, 2)
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked: list[str] = []

    def question(_parent: Any, title: str, text: str, *args: Any) -> QMessageBox.StandardButton:
        asked.append(f"{title}: {text}")
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    select_names(panel, ["gone.mp4"])
    panel.delete_action.trigger()
    assert "Delete 1 file from" in asked[0] and "gone.mp4" in asked[0]
    assert len(gui_s3_bucket.keys()) == 2  # answered No: nothing happened
    panel.delete_action.trigger()
    qtbot.waitUntil(lambda: names(panel) == ["stays.txt"], timeout=WAIT)
    assert len(gui_s3_bucket.keys()) == 1 and gui_s3_bucket.keys()[0].endswith("stays.txt")
    assert panel.banner.text() == "Deleted 1 file."
    # A reload agrees: the deleted upload is gone for good.
    panel.refresh()
    qtbot.waitUntil(lambda: not panel.loading, timeout=WAIT)
    assert names(panel) == ["stays.txt"]


# -- scale ---------------------------------------------------------------------------------


def fake_rows(count: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    words = ["beach", "city", "alps", "bike", "cat", "recipe", "vlog", "notes", "intro"]
    rows = []
    for n in range(count):
        kind = "video" if n % 3 else "transcript"
        upload_id = str(uuid.UUID(int=rng.getrandbits(128)))
        name = f"{rng.choice(words)}-{rng.choice(words)}-{n}.{'mp4' if kind == 'video' else 'txt'}"
        temp = n % 4 != 0
        rows.append({
            "id": upload_id, "kind": kind, "original_name": name, "size": rng.randrange(10**9),
            "content_type": "video/mp4", "checksum": None, "backend": "s3", "bucket": "b",
            "key": f"{'temp/' if temp else 'videos/'}{upload_id}/{name}", "is_temp": temp,
            "status": "completed" if n % 50 else "failed", "error": None, "file_path": None,
            "created_at": f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T10:00:00+00:00",
            "updated_at": None, "completed_at": None,
        })
    return rows


def test_a_hundred_thousand_rows_stay_fast(qtbot: Any) -> None:
    rows = fake_rows(100_000)
    model = UploadsModel()
    view = QTableView()
    qtbot.addWidget(view)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.verticalHeader().setDefaultSectionSize(24)
    view.setModel(model)
    view.setSortingEnabled(True)
    view.resize(1000, 600)
    view.show()
    timings: dict[str, float] = {}

    def timed(name: str, action: Callable[[], None]) -> None:
        started = time.perf_counter()
        action()
        qtbot.wait(1)  # let the view catch up (layout, paint)
        timings[name] = time.perf_counter() - started

    timed("load", lambda: model.set_rows(rows))
    assert model.rowCount() == 100_000
    timed("sort by size", lambda: view.sortByColumn(SIZE, Qt.SortOrder.DescendingOrder))
    sizes = [model.row_dict(r)["size"] for r in range(100)]
    assert sizes == sorted(sizes, reverse=True)
    timed("sort by name", lambda: view.sortByColumn(NAME, Qt.SortOrder.AscendingOrder))
    timed("filter kind", lambda: model.set_filter(LibraryFilter(kind="transcript")))
    assert model.rowCount() == 33_334
    timed("filter text", lambda: model.set_filter(LibraryFilter(kind="transcript",
                                                                text="beach notes")))
    assert 0 < model.rowCount() < 33_334
    assert all("beach" in n and "notes" in n
               for n in (model.row_dict(r)["original_name"] for r in range(model.rowCount())))
    timed("filter status", lambda: model.set_filter(LibraryFilter(status="failed")))
    assert model.rowCount() == 2_000
    assert all(model.data(model.index(r, STATUS)) == "Failed" for r in range(20))
    timed("clear filter", lambda: model.set_filter(LibraryFilter()))
    timed("scroll to end", view.scrollToBottom)
    print("\n100,000 rows: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in timings.items()))
    assert sum(timings.values()) < 10  # generous: a sanity bound, not a benchmark


def test_screenshot_of_the_library_panel(
    main_window: MainWindow, media_files: Callable[..., Path], qtbot: Any
) -> None:
    for name, kind, temp in (
        ("mountain biking in the alps – take 3 – a very long file name that elides.mp4",
         "video", True),
        ("city timelapse.mov", "video", False),
        ("city timelapse.srt", "transcript", False),
        ("voiceover notes.txt", "transcript", True),
    ):
        data = (b"1\n00:00:01,000 --> 00:00:02,000\nHi\n" if name.endswith(".srt") else None)
        upload(main_window, media_files(name, data), kind, is_temp=temp)
    panel = open_library(main_window, qtbot, 4)
    select_names(panel, ["city timelapse.mov"])
    panel.banner.show_message("1 file made permanent.")
    qtbot.wait(100)
    assert main_window.grab().save("/tmp/library.png")


def test_a_repaint_asks_the_model_once_per_cell(qtbot: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Each call from Qt into Python waits for the GIL while uploads run: the view gets a
    cell's text and alignment in one multiData call, not one data call per role, and
    its index without asking rowCount and columnCount each time."""
    from shorts_desktop.gui.models.uploads_model import COLUMNS, SIZE, UploadsModel

    model = UploadsModel()
    model.set_rows([{"id": f"id-{n}", "original_name": f"clip-{n}.mp4", "kind": "video",
                     "size": 2048 * n, "is_temp": n % 2 == 0, "status": "completed",
                     "created_at": "2026-11-20T10:00:00+00:00", "key": f"temp/clip-{n}.mp4"}
                    for n in range(40)])
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(900, 400)
    view.show()
    qtbot.waitExposed(view)
    calls = {"data": 0, "multi": 0, "rowCount": 0}
    data, multi, row_count = UploadsModel.data, UploadsModel.multiData, UploadsModel.rowCount

    def counted_rows(self: Any, *args: Any) -> int:
        calls["rowCount"] += 1
        return row_count(self, *args)

    def counted_data(self: Any, *args: Any) -> Any:
        calls["data"] += 1
        return data(self, *args)

    def counted_multi(self: Any, *args: Any) -> None:
        calls["multi"] += 1
        multi(self, *args)

    monkeypatch.setattr(UploadsModel, "data", counted_data)
    monkeypatch.setattr(UploadsModel, "multiData", counted_multi)
    monkeypatch.setattr(UploadsModel, "rowCount", counted_rows)
    image = view.viewport().grab().toImage()
    assert calls["multi"] >= len(COLUMNS) * 5 and calls["data"] == 0
    assert calls["rowCount"] < calls["multi"] // 4  # index() does not ask it per cell
    # And the cells say what data() says: text and the right-aligned size.
    rect = view.visualRect(model.index(0, SIZE))
    right = [x for x in range(rect.left(), rect.right())
             if image.pixelColor(x, rect.center().y()).lightness() < 128]
    assert right and right[-1] > rect.center().x()  # drawn, and on the right
    assert model.index(3, 0).data() == "clip-3.mp4"
