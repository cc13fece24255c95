"""The Uploads panel through its real widgets: drops, refusals, pasted text, queue controls."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from shorts_desktop.app import build_services
from shorts_desktop.gui.format import human_size
from shorts_desktop.gui.main_window import MainWindow
from shorts_desktop.gui.models.queue_model import STATE
from shorts_desktop.gui.panels.library import LibraryPanel
from shorts_desktop.gui.panels.uploads import UploadsPanel
from tests.gui.conftest import answer_questions

pytestmark = pytest.mark.gui

WAIT = 15_000


def uploads_panel(window: MainWindow) -> UploadsPanel:
    panel = window.panels["uploads"]
    assert isinstance(panel, UploadsPanel)
    return panel


def library_panel(window: MainWindow) -> LibraryPanel:
    panel = window.panels["library"]
    assert isinstance(panel, LibraryPanel)
    return panel


def states(panel: UploadsPanel) -> dict[str, str]:
    return {item.name: item.state for item in panel.model.items()}


def select_rows(panel: UploadsPanel, rows: list[int]) -> None:
    selection = panel.table.selectionModel()
    selection.clearSelection()
    for row in rows:
        selection.select(panel.model.index(row, 0),
                         QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)


def test_drop_queues_and_completes_uploads_in_the_local_library(
    main_window: MainWindow, media_files: Callable[..., Path],
    drop_files: Callable[[Any, list[Path]], None], qtbot: Any,
) -> None:
    panel = uploads_panel(main_window)
    # A window that opens on an empty queue says how files get there.
    assert panel.stack.currentWidget() is panel.empty_label
    assert "Drop files on the window" in panel.empty_label.text()
    video, text = media_files("clip.mp4"), media_files("notes.txt")
    main_window.show_panel("library")
    with qtbot.waitSignal(panel.queue_finished, timeout=WAIT) as finished:
        drop_files(main_window, [video, text])
        assert main_window.current_panel() is panel  # a drop brings the queue into view
    qtbot.waitUntil(lambda: states(panel) == {"clip.mp4": "completed",
                                              "notes.txt": "completed"}, timeout=WAIT)
    assert finished.args == ["Uploads finished", "2 files uploaded"]
    kinds = {item.name: item.kind for item in panel.model.items()}
    assert kinds == {"clip.mp4": "video", "notes.txt": "transcript"}
    assert panel.stack.currentWidget() is panel.table
    assert panel.model.data(panel.model.index(0, STATE)) == "Completed"
    qtbot.waitUntil(lambda: main_window.transfer_label.text() == "No transfers")
    assert not panel.refused_box.isVisible()

    library = library_panel(main_window)
    main_window.show_panel("library")
    qtbot.waitUntil(lambda: library.model.rowCount() == 2, timeout=WAIT)
    rows = {r["original_name"]: r for r in library.model.rows(range(2))}
    assert rows["clip.mp4"]["is_temp"] and rows["clip.mp4"]["status"] == "completed"
    stored = main_window.services.paths.library_dir / rows["clip.mp4"]["key"]
    assert stored.read_bytes() == video.read_bytes()


def test_drop_uploads_to_s3(
    s3_main_window: MainWindow, gui_s3_bucket: Any, media_files: Callable[..., Path],
    drop_files: Callable[[Any, list[Path]], None], qtbot: Any,
) -> None:
    window = s3_main_window
    panel = uploads_panel(window)
    assert gui_s3_bucket.name in window.location_label.text()
    video, text = media_files("s3 clip.mp4"), media_files("s3 notes.txt")
    drop_files(window, [video, text])
    qtbot.waitUntil(lambda: states(panel) == {"s3 clip.mp4": "completed",
                                              "s3 notes.txt": "completed"}, timeout=WAIT)
    keys = gui_s3_bucket.keys()
    assert len(keys) == 2
    assert all(k.startswith("temp/") for k in keys)
    video_key = next(k for k in keys if k.endswith(".mp4"))
    body = gui_s3_bucket.client.get_object(Bucket=gui_s3_bucket.name, Key=video_key)["Body"]
    assert body.read() == video.read_bytes()

    library = library_panel(window)
    window.show_panel("library")
    qtbot.waitUntil(lambda: library.model.rowCount() == 2, timeout=WAIT)
    assert {r["key"] for r in library.model.rows(range(2))} == set(keys)


def test_unsupported_files_are_refused_with_a_reason(
    main_window: MainWindow, media_files: Callable[..., Path],
    drop_files: Callable[[Any, list[Path]], None], qtbot: Any,
) -> None:
    panel = uploads_panel(main_window)
    picture = media_files("holiday.png")
    fake = media_files("fake.mp4", b"this is not a video at all")
    good = media_files("good.srt", b"1\n00:00:01,000 --> 00:00:02,000\nHi\n")
    drop_files(main_window, [picture, fake, good])
    qtbot.waitUntil(lambda: panel.refused_box.isVisible(), timeout=WAIT)
    qtbot.waitUntil(lambda: states(panel).get("good.srt") == "completed", timeout=WAIT)
    assert set(states(panel)) == {"good.srt"}
    text = panel.refused_label.text()
    assert "holiday.png is neither a video" in text
    assert "fake.mp4 is not a video" in text
    assert [name for name, _ in panel.refused()] == ["holiday.png", "fake.mp4"]
    # Dismissing hides the message; the next refusal shows only the new file.
    qtbot.mouseClick(panel.refused_dismiss, Qt.MouseButton.LeftButton)
    assert not panel.refused_box.isVisible()
    panel.add_paths([media_files("empty.txt", b"")])
    qtbot.waitUntil(lambda: panel.refused_box.isVisible(), timeout=WAIT)
    assert "empty.txt" in panel.refused_label.text()
    assert "holiday.png" not in panel.refused_label.text()


def test_paste_transcript_uploads_the_text(
    main_window: MainWindow, qtbot: Any
) -> None:
    panel = uploads_panel(main_window)
    panel.temp_switch.setChecked(False)  # straight to permanent storage
    qtbot.mouseClick(panel.paste_button, Qt.MouseButton.LeftButton)
    dialog = panel.paste_dialog
    assert dialog is not None and dialog.isVisible()
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()  # nothing to add yet
    dialog.name_edit.setText("episode one")
    qtbot.keyClicks(dialog.text_edit, "Welcome to the show.")
    assert ok.isEnabled()
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert panel.paste_dialog is None
    qtbot.waitUntil(lambda: states(panel) == {"episode one.txt": "completed"}, timeout=WAIT)
    panel.paste_transcript()  # a second time opens a fresh editor; Cancel adds nothing
    second = panel.paste_dialog
    assert second is not None and second is not dialog and second.text() == ""
    qtbot.mouseClick(second.buttons.button(QDialogButtonBox.StandardButton.Cancel),
                     Qt.MouseButton.LeftButton)
    assert panel.paste_dialog is None
    item = panel.model.items()[0]
    assert item.kind == "transcript" and not item.is_temp
    assert item.upload is not None
    assert item.upload["key"].startswith("transcripts/")
    stored = main_window.services.paths.library_dir / item.upload["key"]
    assert stored.read_text() == "Welcome to the show."


def test_pasting_blank_or_binary_text_is_refused(main_window: MainWindow, qtbot: Any) -> None:
    panel = uploads_panel(main_window)
    panel.add_text("bad \x01 text", "weird")
    qtbot.waitUntil(lambda: panel.refused_box.isVisible(), timeout=WAIT)
    assert "control characters" in panel.refused_label.text()
    assert panel.model.rowCount() == 0


def test_cancel_of_a_paused_upload_stays_cancelled(
    main_window: MainWindow, media_files: Callable[..., Path], qtbot: Any
) -> None:
    panel = uploads_panel(main_window)
    qtbot.mouseClick(panel.pause_all_button, Qt.MouseButton.LeftButton)
    assert panel.pause_all_button.isChecked() and panel.pause_all_button.text() == "Resume all"
    panel.add_paths([media_files("held.mp4")])
    qtbot.waitUntil(lambda: states(panel) == {"held.mp4": "paused"}, timeout=WAIT)
    select_rows(panel, [0])
    assert panel.resume_action.isEnabled() and panel.cancel_action.isEnabled()
    assert not panel.pause_action.isEnabled() and not panel.retry_action.isEnabled()
    panel.cancel_action.trigger()
    qtbot.waitUntil(lambda: states(panel) == {"held.mp4": "cancelled"}, timeout=WAIT)
    qtbot.mouseClick(panel.pause_all_button, Qt.MouseButton.LeftButton)  # resume all
    assert panel.pause_all_button.text() == "Pause all"
    qtbot.wait(400)
    assert states(panel) == {"held.mp4": "cancelled"}
    assert main_window.services.uploads.list() == []  # nothing was stored
    # Retry brings it back and it completes.
    assert panel.retry_action.isEnabled()
    panel.retry_action.trigger()
    qtbot.waitUntil(lambda: states(panel) == {"held.mp4": "completed"}, timeout=WAIT)
    panel.clear_action.trigger()
    assert panel.model.rowCount() == 0
    assert panel.stack.currentWidget() is panel.empty_label


def test_pause_and_resume_selected_rows(
    main_window: MainWindow, media_files: Callable[..., Path], qtbot: Any
) -> None:
    panel = uploads_panel(main_window)
    panel.pause_all_button.setChecked(True)
    panel.add_paths([media_files("one.mp4"), media_files("two.txt")])
    qtbot.waitUntil(lambda: states(panel) == {"one.mp4": "paused", "two.txt": "paused"},
                    timeout=WAIT)
    select_rows(panel, [1])
    panel.resume_action.trigger()
    qtbot.waitUntil(lambda: states(panel)["two.txt"] == "completed", timeout=WAIT)
    assert states(panel)["one.mp4"] == "paused"
    with qtbot.waitSignal(panel.queue_finished, timeout=WAIT) as finished:
        panel.pause_all_button.setChecked(False)
    qtbot.waitUntil(lambda: states(panel)["one.mp4"] == "completed", timeout=WAIT)
    # The queue went idle only now: both files count.
    assert finished.args[1] == "2 files uploaded"


def test_controls_have_accessible_names(main_window: MainWindow) -> None:
    panel = uploads_panel(main_window)
    for widget in (panel.add_button, panel.paste_button, panel.temp_switch,
                   panel.pause_all_button, *panel.action_buttons.values()):
        assert widget.accessibleName(), widget
        action = getattr(widget, "defaultAction", lambda: None)()
        assert widget.toolTip() or (action is not None and action.toolTip()), widget
    assert panel.temp_switch.isChecked()
    assert "S3_CLEANUP_TEMP_HOURS" in panel.temp_switch.toolTip()
    assert "24 hours" in panel.temp_switch.toolTip()


def test_screenshot_of_the_uploads_panel(
    main_window: MainWindow, media_files: Callable[..., Path], qtbot: Any
) -> None:
    panel = uploads_panel(main_window)
    main_window.resize(1280, 800)
    panel.add_paths([media_files("a-very-long-file-name-for-a-short-about-mountain-biking-"
                                 "in-the-alps-take-3-final-final.mp4"),
                     media_files("voiceover.srt", b"1\n00:00:00,000 --> 00:00:01,000\nHi\n")])
    qtbot.waitUntil(lambda: len(states(panel)) == 2
                    and set(states(panel).values()) == {"completed"}, timeout=WAIT)
    panel.pause_all_button.setChecked(True)
    panel.add_paths([media_files("waiting.mov"), media_files("photo.png")])
    qtbot.waitUntil(lambda: len(states(panel)) == 3 and panel.refused_box.isVisible(),
                    timeout=WAIT)
    select_rows(panel, [2])
    panel.cancel_action.trigger()
    panel.add_paths([media_files("held back.mp4")])
    qtbot.waitUntil(lambda: len(states(panel)) == 4, timeout=WAIT)
    qtbot.wait(200)
    assert main_window.grab().save("/tmp/uploads.png")


def test_new_services_bring_a_new_queue(
    main_window: MainWindow, media_files: Callable[..., Path], qtbot: Any
) -> None:
    panel = uploads_panel(main_window)
    panel.add_paths([media_files("before.txt")])
    qtbot.waitUntil(lambda: states(panel) == {"before.txt": "completed"}, timeout=WAIT)
    main_window.set_services(build_services(dict(os.environ)))  # as after saving settings
    assert panel.model.rowCount() == 0
    assert panel.queue is main_window.services.upload_queue
    panel.add_paths([media_files("after.txt")])
    qtbot.waitUntil(lambda: states(panel) == {"after.txt": "completed"}, timeout=WAIT)


def test_unfinished_uploads_come_back_after_a_restart(make_main_window, media_files, qtbot):
    """An upload left paused by an earlier run is in the queue again, and resumes."""
    window = make_main_window()
    services = window.services
    clip = media_files("later.mp4")
    upload, _sums = services.uploads.create(clip, "video")
    type(upload).update(status="paused").where(type(upload).id == upload.id).execute()
    window.close()

    window = make_main_window()
    queue = window.services.upload_queue
    qtbot.waitUntil(lambda: any(i.upload_id == upload.id for i in queue.items()), timeout=10000)
    (item,) = [i for i in queue.items() if i.upload_id == upload.id]
    assert item.state == "paused"
    queue.resume(item.item_id)
    qtbot.waitUntil(
        lambda: next(i for i in queue.items() if i.upload_id == upload.id).state == "completed",
        timeout=20000,
    )


def test_a_file_not_yet_sending_says_waiting(qtbot):
    from shorts_desktop.core.services.upload_queue import QueueItem
    from shorts_desktop.gui.models.queue_model import STATE, QueueModel

    model = QueueModel()
    waiting = QueueItem(1, "a.mp4", "video", True, 100, state="uploading")
    sending = QueueItem(2, "b.mp4", "video", True, 100, state="uploading", bytes_done=10,
                        rate=5.0)
    model.reset([waiting, sending])
    assert model.data(model.index(0, STATE)) == "Waiting"
    assert "free upload slot" in model.data(model.index(0, STATE), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(1, STATE)) == "Uploading"


def test_queue_cells_are_cpp_items_so_a_repaint_runs_no_python(main_window: MainWindow,
                                                               qtbot: Any) -> None:
    """While uploads run, every call from Qt into Python waits for the GIL: the view must
    find each cell, its text and its progress fill without one."""
    from dataclasses import replace

    from PySide6.QtGui import QStandardItemModel

    from shorts_desktop.core.services.upload_queue import QueueItem
    from shorts_desktop.gui.models.queue_model import NAME, PROGRESS, QueueModel

    for name in ("data", "multiData", "rowCount", "columnCount", "index", "parent", "flags",
                 "headerData", "hasChildren"):
        assert getattr(QueueModel, name) is getattr(QStandardItemModel, name), name
    panel = uploads_panel(main_window)
    model = panel.model
    item = QueueItem(1, "quarter.mp4", "video", True, 1000, state="uploading",
                     bytes_done=250, rate=50.0)
    model.reset([item])
    progress = model.index(0, PROGRESS)
    assert model.data(progress) == "25%"
    assert model.data(progress, Qt.ItemDataRole.ToolTipRole) == "250 B of 1.0 KB"
    assert not model.flags(model.index(0, NAME)) & Qt.ItemFlag.ItemIsEditable
    gradient = model.data(progress, Qt.ItemDataRole.BackgroundRole).gradient()
    stops = gradient.stops()
    assert stops[1][0] == pytest.approx(0.25)
    assert stops[1][1].alpha() > 0 and stops[2][1].alpha() == 0

    # What a user sees: the done quarter of the cell is tinted, the rest is not, also when
    # the row is selected; and the fill follows the column when it is resized.
    qtbot.waitUntil(lambda: panel.table.isVisible(), timeout=WAIT)

    def edge() -> float:
        """Where the fill ends, as a fraction of the cell's width."""
        rect = panel.table.visualRect(progress)
        image = panel.table.viewport().grab().toImage()
        y = rect.top() + 3  # above the percentage text
        tinted = [image.pixelColor(x, y) != image.pixelColor(rect.right() - 1, y)
                  for x in range(rect.left(), rect.right())]
        return tinted.index(False) / rect.width()

    panel.table.clearSelection()
    assert edge() == pytest.approx(0.25, abs=0.02)
    select_rows(panel, [0])
    assert edge() == pytest.approx(0.25, abs=0.02)
    assert panel.selected_items() == [item]  # the row counts as selected all the same
    panel.table.clearSelection()
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton,
                     pos=panel.table.visualRect(progress).center())
    assert panel.selected_items() == [item]  # a click on the bar selects its row
    panel.table.horizontalHeader().resizeSection(PROGRESS, 300)
    assert edge() == pytest.approx(0.25, abs=0.02)

    model.progress(replace(item, bytes_done=1000))
    brush = model.data(progress, Qt.ItemDataRole.BackgroundRole)
    assert model.data(progress) == "100%" and brush.gradient() is None  # filled all over


def test_two_hundred_new_rows_reach_the_table_a_batch_per_pass(main_window: MainWindow,
                                                              qtbot: Any) -> None:
    from shorts_desktop.core.services.upload_queue import QueueEvent, QueueItem
    from shorts_desktop.gui.panels.uploads import FLUSH_BATCH

    panel = uploads_panel(main_window)
    items = [QueueItem(1000 + n, f"take-{n:03d}.mp4", "video", True, 10, state="paused")
             for n in range(200)]
    for item in items:
        panel._on_event(panel.queue, QueueEvent("added", item))
    panel._flush_timer.stop()
    panel._flush()  # one pass of the event loop
    assert panel.model.rowCount() == FLUSH_BATCH
    qtbot.waitUntil(lambda: panel.model.rowCount() == len(items), timeout=WAIT)
    assert [i.name for i in panel.model.items()] == [i.name for i in items]


def test_hidden_panels_reload_when_shown_not_for_every_upload(
    main_window: MainWindow, media_files: Callable[..., Path], qtbot: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    library = library_panel(main_window)
    panel = uploads_panel(main_window)
    reloads: list[int] = []
    reload = library.refresh
    monkeypatch.setattr(library, "refresh", lambda: (reloads.append(1), reload()))
    with qtbot.waitSignal(panel.uploads_changed, timeout=WAIT):
        panel.add_paths([media_files("first.mp4")])
    qtbot.wait(100)
    assert reloads == [] and library.model.rowCount() == 0  # told while hidden: no reload
    main_window.show_panel("library")
    qtbot.waitUntil(lambda: library.model.rowCount() == 1, timeout=WAIT)
    shown = len(reloads)
    assert shown >= 1
    panel.add_paths([media_files("second.mp4")])  # on screen: reloads at once
    qtbot.waitUntil(lambda: library.model.rowCount() == 2, timeout=WAIT)
    assert len(reloads) > shown


def test_a_videos_thumbnail_made_while_it_is_sent_reaches_the_library(
    main_window: MainWindow, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The picture is stored while the bytes are still on their way: the queue says so, the
    panel tells the window (coalesced, as for completions) and the library, on screen,
    shows the picture of the row that is still uploading."""
    import threading

    from shorts_desktop.core.services.uploads import UploadService
    from tests import media_gen

    library = library_panel(main_window)
    panel = uploads_panel(main_window)
    main_window.show_panel("library")
    clip = media_gen.small_clip(tmp_path / "long take.mp4", duration=1.0)
    release = threading.Event()
    real_send = UploadService._send

    def held_send(self: UploadService, *args: Any) -> Any:
        assert release.wait(WAIT / 1000), "the picture never reached the library"
        return real_send(self, *args)

    monkeypatch.setattr(UploadService, "_send", held_send)  # the bytes wait; the picture not
    try:
        with qtbot.waitSignal(panel.uploads_changed, timeout=WAIT):
            panel.add_paths([clip])
        qtbot.waitUntil(lambda: library.model.rowCount() == 1
                        and bool(library.model.row_dict(0).get("has_thumbnail")), timeout=WAIT)
        assert library.model.row_dict(0)["status"] == "uploading"
    finally:
        release.set()
    qtbot.waitUntil(lambda: states(panel) == {"long take.mp4": "completed"}, timeout=WAIT)


def test_the_window_sets_up_its_storage_in_the_background(s3_main_window: MainWindow,
                                                         qtbot: Any) -> None:
    import gc

    window = s3_main_window
    qtbot.waitUntil(lambda: window.is_ready, timeout=WAIT)
    storage = window.services.storage
    assert storage._engine is not None and storage._client is not None  # type: ignore
    assert gc.get_freeze_count() > 0  # what start-up built is out of the collector's way
    from shorts_desktop.gui.main_window import GUI_SWITCH_INTERVAL

    assert sys.getswitchinterval() == pytest.approx(GUI_SWITCH_INTERVAL)


def test_a_dropped_folder_brings_its_videos_and_transcripts(
    main_window: MainWindow, media_files: Callable[..., Path], tmp_path: Path,
    drop_files: Callable[[Any, list[Path]], None], qtbot: Any,
) -> None:
    panel = uploads_panel(main_window)
    folder = tmp_path / "Shoot day 2"
    (folder / "b-roll").mkdir(parents=True)
    (folder / ".cache").mkdir()
    for name in ("take-1.mp4", "b-roll/sunset.mov", ".cache/thumb.mp4"):
        (folder / name).write_bytes(media_files("clip.mp4").read_bytes())
    (folder / "script.txt").write_text("Hello there.\n")
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4")
    (folder / ".DS_Store").write_bytes(b"\0")
    empty = tmp_path / "nothing here"
    empty.mkdir()
    (empty / "photo.png").write_bytes(b"\x89PNG")

    drop_files(main_window, [folder, empty])
    qtbot.waitUntil(lambda: set(states(panel).values()) == {"completed"}
                    and len(states(panel)) == 3, timeout=WAIT)
    assert set(states(panel)) == {"take-1.mp4", "sunset.mov", "script.txt"}
    text = panel.refused_label.text()
    assert "1 other file in the folder Shoot day 2 (neither videos nor transcripts) was left out" \
        in text
    assert "The folder nothing here has no videos or transcripts." in text


def test_a_drag_over_the_window_says_what_letting_go_does(
    main_window: MainWindow, media_files: Callable[..., Path], qtbot: Any,
) -> None:
    from PySide6.QtCore import QMimeData, QPoint, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent
    from PySide6.QtWidgets import QApplication

    main_window.show_panel("library")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(media_files(n))) for n in ("a.mp4", "b.txt")])
    enter = QDragEnterEvent(QPoint(400, 300), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(main_window, enter)
    overlay = main_window.drop_overlay
    assert enter.isAccepted() and overlay.isVisible()
    assert overlay.text() == "Drop to upload these 2 files and folders"
    assert overlay.geometry().width() > main_window.width() // 2
    assert overlay.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    QApplication.sendEvent(main_window, QDragLeaveEvent())
    assert not overlay.isVisible()


def test_the_status_bar_shortens_the_home_folder(main_window: MainWindow,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    library = main_window.services.paths.library_dir
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: library.parent.parent))
    main_window._update_location()
    text = main_window.location_label.text()
    expected = f"~{os.sep}{library.parent.name}{os.sep}{library.name}"
    assert text == f"Files go to the local library at {expected} (no bucket set up yet)"


# -- the same content again --------------------------------------------------------------


def test_the_same_content_again_is_asked_about_first(
    main_window: MainWindow, media_files: Callable[..., Path], qtbot: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file whose bytes are a completed upload's is held back and the creator is asked,
    naming the upload it matches; the check (a hash) runs in a worker, never the GUI."""
    import threading

    from shorts_desktop.core.services.uploads import UploadService

    panel = uploads_panel(main_window)
    original = media_files("beach sunrise.mp4")
    stored = main_window.services.uploads.upload_file(original, "video").to_dict()
    copy = media_files("beach sunrise (copy).mp4", original.read_bytes())
    threads: list[bool] = []
    real = UploadService.same_content_as

    def spy(self: Any, path: Path, **options: Any) -> Any:
        threads.append(threading.current_thread() is threading.main_thread())
        return real(self, path, **options)

    monkeypatch.setattr(UploadService, "same_content_as", spy)
    fresh = media_files("new clip.mp4")
    panel.add_paths([copy, fresh])
    qtbot.waitUntil(lambda: panel.duplicate_dialog is not None, timeout=WAIT)
    dialog = panel.duplicate_dialog
    assert dialog is not None and dialog.isVisible()
    assert threads and not any(threads)
    assert dialog.text().startswith(
        "“beach sunrise (copy).mp4” is already in your library as “beach sunrise.mp4” "
        "(uploaded ")
    assert dialog.text().endswith("upload it again?")
    assert stored["id"] not in dialog.text()
    # The other file went on meanwhile; the copy waits for the answer.
    qtbot.waitUntil(lambda: states(panel) == {"new clip.mp4": "completed"}, timeout=WAIT)
    qtbot.mouseClick(panel.duplicate_skip_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.duplicate_dialog is None)
    qtbot.wait(100)
    assert set(states(panel)) == {"new clip.mp4"}  # skipped: not queued

    # Asked again, "Upload again" queues it.
    panel.add_paths([copy])
    qtbot.waitUntil(lambda: panel.duplicate_dialog is not None, timeout=WAIT)
    qtbot.mouseClick(panel.duplicate_again_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: states(panel).get("beach sunrise (copy).mp4") == "completed",
                    timeout=WAIT)
    assert not panel.refused_box.isVisible()


def test_pasted_text_already_in_the_library_is_asked_about(
    main_window: MainWindow, qtbot: Any,
) -> None:
    panel = uploads_panel(main_window)
    main_window.services.uploads.upload_transcript_text("Hello there.", name="hello.txt")
    panel.add_text("Hello there.", "greeting")
    qtbot.waitUntil(lambda: panel.duplicate_dialog is not None, timeout=WAIT)
    dialog = panel.duplicate_dialog
    assert dialog is not None
    assert "“greeting.txt” is already in your library as “hello.txt”" in dialog.text()
    qtbot.mouseClick(panel.duplicate_again_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: states(panel).get("greeting.txt") == "completed", timeout=WAIT)


def test_several_duplicates_are_asked_about_in_one_question(
    main_window: MainWindow, media_files: Callable[..., Path], qtbot: Any,
) -> None:
    panel = uploads_panel(main_window)
    services = main_window.services
    for name in ("one.txt", "two.txt"):
        services.uploads.upload_file(media_files(name), "transcript")
    # media_files writes "Hello from <name>." into a transcript: the same bytes again.
    copies = [media_files(f"copy of {n}",
                          f"Hello from {n}.\nA second line of transcript.\n".encode())
              for n in ("one.txt", "two.txt")]
    panel.add_paths(copies)
    qtbot.waitUntil(lambda: panel.duplicate_dialog is not None, timeout=WAIT)
    dialog = panel.duplicate_dialog
    assert dialog is not None
    text = dialog.text()
    assert text.startswith("2 files are already in your library:")
    assert "• “copy of one.txt” as “one.txt”" in text and "“two.txt”" in text
    assert text.endswith("Upload them again?")
    assert panel.duplicate_skip_button.text() == "&Skip them"
    dialog.reject()
    qtbot.waitUntil(lambda: panel.duplicate_dialog is None)
    assert states(panel) == {}


def row_of(panel: UploadsPanel, name: str) -> int:
    return [item.name for item in panel.model.items()].index(name)


def left_by_an_earlier_run(make_main_window: Any, path: Path, **row: Any) -> MainWindow:
    """A window started after an earlier run left an upload of `path` with `row` values."""
    window = make_main_window()
    upload, _sums = window.services.uploads.create(path, "video")
    type(upload).update(**row).where(type(upload).id == upload.id).execute()
    window.close()
    return make_main_window()


def test_cancel_asks_first_when_it_throws_away_what_was_sent(
    make_main_window: Any, media_files: Callable[..., Path], qtbot: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clip = media_files("half.mp4")
    window = left_by_an_earlier_run(make_main_window, clip, status="paused", bytes_done=2000)
    panel = uploads_panel(window)
    qtbot.waitUntil(lambda: states(panel) == {"half.mp4": "paused"}, timeout=WAIT)
    panel.pause_all_button.setChecked(True)
    panel.add_paths([media_files("fresh.mp4"), media_files("other.mp4")])
    qtbot.waitUntil(lambda: len(states(panel)) == 3, timeout=WAIT)
    asked = answer_questions(monkeypatch, QMessageBox.StandardButton.No,
                             QMessageBox.StandardButton.Yes)

    # A file that has sent nothing goes without a question.
    select_rows(panel, [row_of(panel, "fresh.mp4")])
    panel.cancel_action.trigger()
    qtbot.waitUntil(lambda: states(panel)["fresh.mp4"] == "cancelled", timeout=WAIT)
    assert asked == []

    # With one that has sent bytes: asked, naming it and how much; No keeps both.
    select_rows(panel, [row_of(panel, "half.mp4"), row_of(panel, "other.mp4")])
    panel.cancel_action.trigger()
    assert asked == [
        "Cancel 2 uploads? Cancelling throws away what this one has sent:\n"
        f"• “half.mp4”: 2.0 KB of {human_size(clip.stat().st_size)}\n"
        "Retry would start from the beginning."
    ]
    qtbot.wait(300)
    assert states(panel) == {"half.mp4": "paused", "fresh.mp4": "cancelled",
                             "other.mp4": "paused"}

    # Yes cancels them.
    panel.cancel_action.trigger()
    qtbot.waitUntil(lambda: set(states(panel).values()) == {"cancelled"}, timeout=WAIT)
    assert len(asked) == 2


def test_cancel_of_one_upload_asks_with_its_name_and_what_was_sent(
    make_main_window: Any, media_files: Callable[..., Path], qtbot: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clip = media_files("half.mp4")
    window = left_by_an_earlier_run(make_main_window, clip, status="paused", bytes_done=3000)
    panel = uploads_panel(window)
    qtbot.waitUntil(lambda: states(panel) == {"half.mp4": "paused"}, timeout=WAIT)
    asked = answer_questions(monkeypatch, QMessageBox.StandardButton.No)
    select_rows(panel, [0])
    panel.cancel_action.trigger()
    assert asked == [f"Cancel the upload of “half.mp4”? 3.0 KB of "
                     f"{human_size(clip.stat().st_size)} has been sent, and cancelling throws "
                     "it away. Retry would start from the beginning."]
    qtbot.wait(300)
    assert states(panel) == {"half.mp4": "paused"}


def test_the_summary_counts_this_run_not_rows_an_earlier_run_left_failed(
    make_main_window: Any, media_files: Callable[..., Path], qtbot: Any,
) -> None:
    window = left_by_an_earlier_run(make_main_window, media_files("old.mp4"),
                                    status="failed", error="The network is down.")
    panel = uploads_panel(window)
    qtbot.waitUntil(lambda: states(panel) == {"old.mp4": "failed"}, timeout=WAIT)
    with qtbot.waitSignal(panel.queue_finished, timeout=WAIT) as finished:
        panel.add_paths([media_files("new.txt")])
    assert finished.args == ["Uploads finished", "1 file uploaded"]
    assert window.statusBar().currentMessage() == "1 file uploaded"

    # Retried now, it is news of this run.
    with qtbot.waitSignal(panel.queue_finished, timeout=WAIT) as finished:
        select_rows(panel, [row_of(panel, "old.mp4")])
        panel.retry_action.trigger()
    assert finished.args == ["Uploads finished", "1 file uploaded"]
    assert states(panel) == {"old.mp4": "completed", "new.txt": "completed"}
