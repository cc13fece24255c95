"""The Bucket panel over a moto bucket: browse, enter and leave folders, add an object the
library does not know, copy s3:// URIs; and over the local library, file:// URIs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from shorts_desktop.gui.models.bucket_model import IN_LIBRARY, LIBRARY, NAME, NOT_IN_LIBRARY
from shorts_desktop.gui.panels.bucket import BucketPanel
from shorts_desktop.gui.tasks import TaskRunner
from tests.gui.conftest import GuiBucket

pytestmark = pytest.mark.gui

CLI_KEY = "videos/from-cli.mp4"


def cells(panel: BucketPanel, column: int) -> list[str]:
    model = panel.model
    return [model.index(r, column).data() for r in range(model.rowCount())]


def row_of(panel: BucketPanel, name: str) -> int:
    return cells(panel, NAME).index(name)


def select(panel: BucketPanel, name: str) -> None:
    panel.table.selectRow(row_of(panel, name))


def double_click(qtbot: Any, panel: BucketPanel, name: str) -> None:
    rect = panel.table.visualRect(panel.model.index(row_of(panel, name), NAME))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


@pytest.fixture
def s3_panel(panel_kit: Any, gui_s3_bucket: GuiBucket,
             media_files: Callable[..., Path]) -> tuple[BucketPanel, Any, Any]:
    """An upload made by the app, a video put there with another tool, a file at the top."""
    services = panel_kit.services(gui_s3_bucket.env)
    upload = panel_kit.upload(services, media_files("take-one.mp4"), "video")
    client = gui_s3_bucket.client
    client.put_object(Bucket=gui_s3_bucket.name, Key=CLI_KEY, Body=b"\x00" * 2048,
                      ContentType="video/mp4")
    client.put_object(Bucket=gui_s3_bucket.name, Key="notes.txt", Body=b"hello")
    panel = panel_kit.panel(BucketPanel, services)
    panel.activateWindow()  # shortcuts work in the active window only
    panel_kit.qtbot.waitUntil(panel.isActiveWindow)
    panel.refresh()
    return panel, services, upload


def test_browse_and_enter_folders(qtbot: Any, s3_panel: tuple[BucketPanel, Any, Any],
                                  gui_s3_bucket: GuiBucket) -> None:
    panel, _services, upload = s3_panel
    assert cells(panel, NAME) == ["temp/", "videos/", "notes.txt"]
    assert cells(panel, LIBRARY) == ["The app's temporary uploads",
                                     "The app's permanent videos", NOT_IN_LIBRARY]
    assert [c.text() for c in panel.crumbs] == [f"s3://{gui_s3_bucket.name}"]
    assert not panel.up_button.isEnabled()
    assert panel.count_label.text() == "2 folders, 1 file (1 not in library)"

    double_click(qtbot, panel, "temp/")
    assert panel.prefix == "temp/"
    assert cells(panel, NAME) == [f"{upload.id}/"]
    assert cells(panel, LIBRARY) == ["Upload “take-one.mp4”"]
    # Enter opens a folder too, and the path bar follows.
    panel.table.setFocus()
    panel.table.setCurrentIndex(panel.model.index(0, NAME))
    QTest.keyClick(panel.table, Qt.Key.Key_Return)
    assert panel.prefix == f"temp/{upload.id}/"
    assert cells(panel, NAME) == ["take-one.mp4"] and cells(panel, LIBRARY) == [IN_LIBRARY]
    assert panel.count_label.text() == "1 file"
    assert [c.text() for c in panel.crumbs] == [f"s3://{gui_s3_bucket.name}", "temp",
                                                upload.id]
    # Up (Backspace in the table) goes back, with the folder we came from selected.
    QTest.keyClick(panel.table, Qt.Key.Key_Backspace)
    assert panel.prefix == "temp/"
    assert [e.key for e in panel.selected_entries()] == [f"temp/{upload.id}/"]
    qtbot.mouseClick(panel.up_button, Qt.MouseButton.LeftButton)
    assert panel.prefix == "" and [e.name for e in panel.selected_entries()] == ["temp"]
    # A crumb jumps straight to its folder.
    panel.open_folder(f"temp/{upload.id}/")
    qtbot.mouseClick(panel.crumbs[0], Qt.MouseButton.LeftButton)
    assert panel.prefix == "" and panel.model.rowCount() == 3


def test_an_unknown_object_added_to_the_library_is_a_completed_upload(
    qtbot: Any, s3_panel: tuple[BucketPanel, Any, Any]
) -> None:
    panel, services, upload = s3_panel
    double_click(qtbot, panel, "videos/")
    assert cells(panel, NAME) == ["from-cli.mp4"]
    assert cells(panel, LIBRARY) == [NOT_IN_LIBRARY]
    assert not panel.add_button.isEnabled()  # nothing selected yet
    select(panel, "from-cli.mp4")
    assert panel.add_button.isEnabled()
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    assert "Added “from-cli.mp4” to the library as a completed upload." in panel.banner.text()
    rows = [u for u in services.uploads.list() if u.key == CLI_KEY]
    assert [(u.status, u.kind, u.size, u.is_temp, u.checksum) for u in rows] == [
        ("completed", "video", 2048, False, None)]
    assert rows[0].id != upload.id
    assert cells(panel, LIBRARY) == [IN_LIBRARY]
    assert not panel.add_button.isEnabled()  # still selected, now known


def test_adding_outside_the_app_folders_says_why(
    qtbot: Any, s3_panel: tuple[BucketPanel, Any, Any]
) -> None:
    panel, services, _upload = s3_panel
    select(panel, "notes.txt")
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    assert panel.banner.kind == "warning"
    assert panel.banner.text().startswith("Only files under temp/, videos/, transcripts/ can "
                                          "be added to the library")
    assert len(services.uploads.list()) == 1
    assert cells(panel, LIBRARY)[-1] == NOT_IN_LIBRARY


def test_copy_uri_puts_the_s3_address_on_the_clipboard(
    qtbot: Any, s3_panel: tuple[BucketPanel, Any, Any], gui_s3_bucket: GuiBucket
) -> None:
    panel, _services, _upload = s3_panel
    assert not panel.copy_button.isEnabled()
    select(panel, "notes.txt")
    qtbot.mouseClick(panel.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == f"s3://{gui_s3_bucket.name}/notes.txt"
    assert panel.banner.text() == f"Copied s3://{gui_s3_bucket.name}/notes.txt"
    # Several at once, folders too: one per line, and Ctrl+C in the table does the same.
    panel.table.selectAll()
    panel.table.setFocus()
    QGuiApplication.clipboard().clear()
    QTest.keyClick(panel.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    base = f"s3://{gui_s3_bucket.name}"
    assert QGuiApplication.clipboard().text().splitlines() == [
        f"{base}/temp/", f"{base}/videos/", f"{base}/notes.txt"]


def test_a_listing_that_fails_says_so(panel_kit: Any, gui_s3_bucket: GuiBucket) -> None:
    env = {**gui_s3_bucket.env, "S3_BUCKET_NAME": "no-such-bucket-here"}
    panel = panel_kit.panel(BucketPanel, panel_kit.services(env))
    panel.refresh()
    assert panel.banner.kind == "error"
    assert "does not exist" in panel.banner.text()
    assert panel.empty_label.text() == "This folder could not be listed."


def test_an_empty_local_library_is_called_that(panel_kit: Any, qtbot: Any) -> None:
    panel = panel_kit.panel(BucketPanel, panel_kit.services())
    panel.refresh()
    qtbot.waitUntil(lambda: panel.stack.currentWidget() is panel.empty_label, timeout=5000)
    assert panel.empty_label.text().startswith("The local library is empty.")


def test_the_local_library_copies_file_uris(panel_kit: Any, qtbot: Any,
                                            media_files: Callable[..., Path]) -> None:
    services = panel_kit.services()
    upload = panel_kit.upload(services, media_files("clip.mp4"), "video")
    panel = panel_kit.panel(BucketPanel, services)
    panel.refresh()
    assert [c.text() for c in panel.crumbs] == ["Local library"]
    assert cells(panel, NAME) == ["temp/"]
    panel.open_folder(f"temp/{upload.id}/")
    select(panel, "clip.mp4")
    qtbot.mouseClick(panel.copy_button, Qt.MouseButton.LeftButton)
    uri = QGuiApplication.clipboard().text()
    assert uri.startswith("file://")
    assert Path(unquote(urlparse(uri).path)).read_bytes() == media_files(
        "clip.mp4").read_bytes()


def test_a_listing_that_arrives_after_the_view_moved_on_is_not_shown(
    qtbot: Any, panel_kit: Any, gui_s3_bucket: GuiBucket
) -> None:
    gui_s3_bucket.client.put_object(Bucket=gui_s3_bucket.name, Key=CLI_KEY, Body=b"v")
    runner = TaskRunner()  # a real pool: listings arrive later, on the GUI thread
    panel = BucketPanel(panel_kit.services(gui_s3_bucket.env), runner)
    qtbot.addWidget(panel)
    shown: list[tuple[str, list[str]]] = []
    panel.model.modelReset.connect(
        lambda: shown.append((panel.prefix, [e.key for e in panel.model.entries()])))
    panel.open_folder("videos/")
    panel.open_folder("")  # before the videos/ listing came back
    qtbot.waitUntil(lambda: not panel.loading and runner.running == 0, timeout=10_000)
    assert cells(panel, NAME) == ["videos/"]
    # The videos/ listing was never shown as the top's.
    assert ("", [CLI_KEY]) not in shown
    runner.shutdown()
