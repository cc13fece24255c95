"""The Library panel through its real widgets: filters, links, downloads, promote, delete."""

from __future__ import annotations

import logging
import os
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
from tests.gui.conftest import answer_questions

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
    asked = answer_questions(monkeypatch, QMessageBox.StandardButton.No)
    stocked.activateWindow()
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert panel.search.hasFocus()
    qtbot.keyClick(panel.search, Qt.Key.Key_Delete)  # edits the search text, deletes nothing
    assert asked == []
    panel.table.setFocus()
    select_names(panel, ["alpha notes.txt"])
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=WAIT)  # after a look at the jobs
    assert "alpha notes.txt" in asked[0]
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
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=WAIT)
    assert "Delete 1 file from" in asked[0] and "gone.mp4" in asked[0]
    assert "job" not in asked[0]  # no job uses it
    qtbot.waitUntil(panel.delete_action.isEnabled)
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


# -- names, reasons, banners, jobs and duplicates -------------------------------------------

LONG = "Mountain biking in the Alps - take 3 final FINAL export 1080x1920.mp4"
TYPICAL = "Street food tour - Bangkok night market part 2.mov"


def name_room(panel: LibraryPanel, row: int) -> int:
    """The pixels the Name cell of `row` has for its text: the cell, less the thumbnail
    and the margins the style puts around both."""
    table = panel.table
    rect = table.visualRect(panel.model.index(row, NAME))
    margin = table.style().pixelMetric(table.style().PixelMetric.PM_FocusFrameHMargin) + 1
    return rect.width() - table.iconSize().width() - 4 * margin


def shown_name(panel: LibraryPanel, row: int) -> str:
    """What the table paints of the name: the text elided as the view elides it."""
    table = panel.table
    text = panel.model.index(row, NAME).data()
    return table.fontMetrics().elidedText(text, table.textElideMode(), name_room(panel, row))


def row_of(panel: LibraryPanel, name: str) -> int:
    return names(panel).index(name)


@pytest.mark.parametrize("size", [(1024, 700), (1280, 800)])
def test_names_keep_most_of_the_width(
    main_window: MainWindow, media_files: Callable[..., Path], qtbot: Any,
    size: tuple[int, int],
) -> None:
    """Today's bug: at 1024 px every name collapsed to "…" behind eight other columns."""
    from shorts_desktop.gui.models.uploads_model import KEY, LENGTH, PICTURE, UPLOADED
    from shorts_desktop.gui.panels.library import NAME_SHARE

    upload(main_window, media_files(LONG), "video")
    upload(main_window, media_files(TYPICAL), "video", is_temp=False)
    upload(main_window, media_files("notes.txt"), "transcript")
    main_window.resize(*size)
    panel = open_library(main_window, qtbot, 3)
    table, header = panel.table, panel.table.horizontalHeader()
    qtbot.waitUntil(lambda: table.viewport().width() > size[0] // 2)
    qtbot.wait(50)
    width = table.viewport().width()
    share = header.sectionSize(NAME) / width
    assert share >= NAME_SHARE, f"the Name column has {share:.0%} of {width} px"
    assert header.sectionResizeMode(NAME) == QHeaderView.ResizeMode.Stretch
    # Every other shown column is as wide as its content, no more: they add up with Name.
    shown = panel.visible_columns()
    assert sum(header.sectionSize(c) for c in shown) <= width + 1
    assert {SIZE, KEPT, STATUS, UPLOADED} <= set(shown)  # never left out
    # The typical name is shown whole, left-aligned; a long one keeps its extension.
    typical = row_of(panel, TYPICAL)
    assert shown_name(panel, typical) == TYPICAL
    assert table.textElideMode() == Qt.TextElideMode.ElideMiddle
    long_text = shown_name(panel, row_of(panel, LONG))
    assert long_text.endswith("1080x1920.mp4") and long_text.startswith("Mountain biking")
    assert "…" in long_text or long_text == LONG
    alignment = panel.model.index(typical, NAME).data(Qt.ItemDataRole.TextAlignmentRole)
    assert not alignment or Qt.AlignmentFlag(alignment) & Qt.AlignmentFlag.AlignLeft
    if size[0] >= 1280:
        assert {LENGTH, PICTURE} <= set(shown)  # room for more at a larger window
    # The header's menu shows a left-out column; the key then elides in the middle too,
    # so that the file name at its end stays.
    panel.show_column(KEY, True)
    assert KEY in panel.visible_columns()
    key_index = panel.model.index(row_of(panel, LONG), KEY)
    key = key_index.data()
    key_text = table.fontMetrics().elidedText(
        key, table.textElideMode(), table.visualRect(key_index).width() - 8)
    assert key_text.endswith(".mp4") and key_text.startswith(key.split("/")[0])
    panel.fit_columns_to_window()
    assert header.sectionSize(NAME) / width >= NAME_SHARE


def stopped_upload(services: Any, path: Path, kind: str, status: str,
                   error: str | None) -> str:
    """A recorded upload that failed (or went missing) with this reason."""
    from shorts_desktop.core.db.models import Upload

    row, _sums = services.uploads.create(path, kind)
    Upload.update(status=status, error=error).where(Upload.id == row.id).execute()
    return str(row.id)


REASON = "The connection was reset; retry to continue."


def test_failure_reasons_are_read_in_the_row(
    make_main_window: Any, media_files: Callable[..., Path], qtbot: Any,
) -> None:
    from shorts_desktop.app import build_services
    from shorts_desktop.gui.models.queue_model import ETA, RATE, REASON_SPAN
    from shorts_desktop.gui.models.queue_model import STATE as QUEUE_STATE
    from shorts_desktop.gui.panels.uploads import UploadsPanel

    services = build_services(dict(os.environ), interactive=True)
    try:
        stopped_upload(services, media_files("voiceover.txt"), "transcript", "failed",
                       f"{REASON}\n(details for the log)")
        gone = services.uploads.upload_file(media_files("gone.mp4"), "video")
        stopped_upload(services, media_files("lost.mp4"), "video", "missing", None)
        from shorts_desktop.core.db.models import Upload

        Upload.update(status="missing").where(Upload.id == gone.id).execute()
    finally:
        services.close()
    window = make_main_window()
    window.resize(1024, 700)
    # The queue: the restored failed row says why in its State cell, spanning the empty
    # Rate and ETA cells; the whole message is in the tooltip.
    queue = window.panels["uploads"]
    assert isinstance(queue, UploadsPanel)
    window.show_panel("uploads")
    qtbot.waitUntil(lambda: queue.model.rowCount() == 1, timeout=WAIT)
    index = queue.model.index(0, QUEUE_STATE)
    assert index.data() == f"Failed: {REASON}"
    assert "details for the log" in index.data(Qt.ItemDataRole.ToolTipRole)
    assert queue.table.columnSpan(0, QUEUE_STATE) == REASON_SPAN == ETA - QUEUE_STATE + 1
    assert RATE < ETA
    span = queue.table.visualRect(index)
    assert span.width() >= queue.table.fontMetrics().horizontalAdvance(index.data()) * 0.8
    # Retried, the row is one cell again (its rate and ETA come back).
    queue.queue.retry(queue.model.queue_item(0).item_id)
    qtbot.waitUntil(lambda: queue.table.columnSpan(0, QUEUE_STATE) == 1, timeout=WAIT)
    qtbot.waitUntil(lambda: queue.model.queue_item(0).state == "completed", timeout=WAIT)

    # The library: failed and missing rows say why in the Status cell.
    panel = open_library(window, qtbot, 3)
    status = {r["original_name"]: panel.model.index(n, STATUS).data()
              for n, r in enumerate(panel.model.rows(range(3)))}
    assert status["gone.mp4"] == "Missing: no longer in storage"
    assert status["lost.mp4"] == "Missing: no longer in storage"
    assert status["voiceover.txt"] == "Completed"  # retried above
    # The Status column widened for the reasons, within its share.
    header = panel.table.horizontalHeader()
    assert header.sectionSize(STATUS) > panel.table.fontMetrics().horizontalAdvance(
        "Completed") + 30


def test_a_failed_row_in_the_library_says_why(
    main_window: MainWindow, media_files: Callable[..., Path], qtbot: Any,
) -> None:
    stopped_upload(main_window.services, media_files("broken.mp4"), "video", "failed",
                   "Access denied: the key may not write to the bucket.")
    panel = open_library(main_window, qtbot, 1)
    index = panel.model.index(0, STATUS)
    assert index.data() == "Failed: Access denied: the key may not write to the bucket."
    assert "Access denied" in index.data(Qt.ItemDataRole.ToolTipRole)
    # The cell cuts the reason at its end, so that it reads from its start.
    from PySide6.QtWidgets import QStyleOptionViewItem

    from shorts_desktop.gui.panels.base import ElideRightDelegate

    delegate = panel.table.itemDelegateForColumn(STATUS)
    assert isinstance(delegate, ElideRightDelegate)
    option = QStyleOptionViewItem()
    delegate.initStyleOption(option, index)
    assert option.text == index.data()
    assert option.textElideMode == Qt.TextElideMode.ElideRight


def test_banners_do_not_move_rows_and_go_away(
    stocked: MainWindow, qtbot: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shorts_desktop.gui.panels.base import MessageBanner

    monkeypatch.setattr(MessageBanner, "INFO_TIMEOUT_MS", 300)
    panel = open_library(stocked, qtbot, 3)
    table = panel.table

    def first_row_top() -> int:
        rect = table.visualRect(panel.model.index(0, NAME))
        return table.viewport().mapTo(panel, rect.topLeft()).y()

    before = first_row_top()
    panel.banner.show_message("1 file made permanent.")
    qtbot.waitUntil(panel.banner.isVisible)
    qtbot.wait(20)
    assert first_row_top() == before  # the banner sits below the table
    assert panel.banner.geometry().top() >= table.geometry().bottom()
    qtbot.waitUntil(lambda: not panel.banner.isVisible(), timeout=3000)  # went by itself
    assert first_row_top() == before
    # An error stays until it is dismissed.
    panel.banner.show_message("A file could not be deleted: access denied.", "error")
    qtbot.wait(600)
    assert panel.banner.isVisible() and not panel.banner.expires
    qtbot.mouseClick(panel.banner.dismiss_button, Qt.MouseButton.LeftButton)
    assert not panel.banner.isVisible()
    # A message with a button waits for it.
    panel.banner.show_message("Sync found 2 files.", "info", "Sync", lambda: None)
    assert not panel.banner.expires


def test_delete_names_the_job_that_uses_the_file(
    main_window: MainWindow, media_files: Callable[..., Path], qtbot: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shorts_desktop.core.services.jobs import JobDraft

    video = upload(main_window, media_files("beach.mp4"), "video")
    text = upload(main_window, media_files("beach.txt"), "transcript")
    old_video = upload(main_window, media_files("old.mp4"), "video")
    old_text = upload(main_window, media_files("old.txt"), "transcript")
    upload(main_window, media_files("free.txt"), "transcript")
    jobs = main_window.services.jobs
    jobs.create(JobDraft(title="Beach walk at dawn", voice="nova",
                         video_upload_id=video["id"], transcript_upload_id=text["id"]))
    done = jobs.create(JobDraft(title="Old town in 60 seconds", voice="nova",
                                video_upload_id=old_video["id"],
                                transcript_upload_id=old_text["id"]))
    jobs.cancel(done.id)
    panel = open_library(main_window, qtbot, 5)
    asked = answer_questions(monkeypatch, QMessageBox.StandardButton.No)
    ids = {r["original_name"]: r["id"] for r in panel.model.rows(range(5))}

    # A file an unfinished job needs: nothing is asked, the message names the job.
    select_names(panel, ["beach.mp4"])
    panel.delete_action.trigger()
    qtbot.waitUntil(panel.banner.isVisible, timeout=WAIT)
    assert asked == []
    assert "“Beach walk at dawn”" in panel.banner.text()
    assert "beach.mp4" in panel.banner.text() and ids["beach.mp4"] not in panel.banner.text()
    assert panel.banner.kind == "warning"

    # With other files: the question says which job uses what, by title, and what is kept.
    qtbot.waitUntil(panel.delete_action.isEnabled)
    select_names(panel, ["beach.mp4", "old.mp4", "free.txt"])
    panel.delete_action.trigger()
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=WAIT)
    text_asked = asked[0]
    assert text_asked.startswith("Delete 2 files from")
    assert "old.mp4: “Old town in 60 seconds” (cancelled)" in text_asked
    assert "beach.mp4: the job “Beach walk at dawn”" in text_asked and "kept" in text_asked
    assert not any(i in text_asked for i in ids.values())  # titles, not ids
    assert panel.model.total_count() == 5  # answered No


def test_the_job_lookup_is_one_query_in_a_worker(
    main_window: MainWindow, media_files: Callable[..., Path], qtbot: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from shorts_desktop.core.services.uploads import UploadService

    for n in range(3):
        upload(main_window, media_files(f"clip {n}.txt"), "transcript")
    panel = open_library(main_window, qtbot, 3)
    calls: list[tuple[list[str], bool]] = []
    real = UploadService.jobs_using

    def spy(self: Any, upload_ids: list[str]) -> Any:
        calls.append((list(upload_ids), threading.current_thread() is threading.main_thread()))
        return real(self, upload_ids)

    monkeypatch.setattr(UploadService, "jobs_using", spy)
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.No)
    panel.select_ids([r["id"] for r in panel.model.rows(range(3))])
    panel.delete_action.trigger()
    qtbot.waitUntil(lambda: bool(calls) and panel.delete_action.isEnabled(), timeout=WAIT)
    assert len(calls) == 1 and len(calls[0][0]) == 3 and calls[0][1] is False


def test_the_library_shows_duplicates(
    main_window: MainWindow, media_files: Callable[..., Path], qtbot: Any,
) -> None:
    data = b"1\n00:00:01,000 --> 00:00:02,000\nSame words\n"
    upload(main_window, media_files("first.srt", data), "transcript")
    upload(main_window, media_files("again.srt", data), "transcript")
    upload(main_window, media_files("other.srt", data + b"And more\n"), "transcript")
    panel = open_library(main_window, qtbot, 3)
    assert panel.model.duplicate_count() == 2
    panel.duplicates_filter.setChecked(True)
    assert sorted(names(panel)) == ["again.srt", "first.srt"]
    assert panel.count_label.text() == "2 of 3 uploads shown"
    row = row_of(panel, "again.srt")
    assert panel.model.index(row, STATUS).data() == "Duplicate"
    tip = panel.model.index(row, NAME).data(Qt.ItemDataRole.ToolTipRole)
    assert "same content" in tip and "first.srt" in tip
    panel.duplicates_filter.setChecked(False)
    assert panel.model.rowCount() == 3
    assert panel.model.index(row_of(panel, "other.srt"), STATUS).data() == "Completed"
