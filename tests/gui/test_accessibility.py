"""Every panel: each visible control has an accessible name, Tab reaches every control
without getting stuck, and a 200-character file name elides in the tables."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableView,
    QTextEdit,
    QWidget,
)

from shorts_desktop.gui.main_window import PANELS, MainWindow
from shorts_desktop.gui.panels.library import LibraryPanel
from shorts_desktop.gui.panels.uploads import UploadsPanel

pytestmark = pytest.mark.gui

INTERACTIVE = (QAbstractButton, QLineEdit, QPlainTextEdit, QTextEdit, QComboBox,
               QAbstractSpinBox, QAbstractItemView, QCheckBox)
LONG_NAME = ("an-unreasonably-long-file-name-for-a-short-about-mountain-biking-in-the-alps-"
             "with-friends-on-a-sunny-day-in-late-september-take-three-final-final-really-"
             "final-v2-export-1080x1920-h264-") + "x" * 16 + ".mp4"
WAIT = 15_000


def is_internal(widget: QWidget) -> bool:
    """Parts of a compound widget that Qt names and focuses through their owner."""
    parent = widget.parentWidget()
    if isinstance(widget, QHeaderView):  # a table's header: the table carries the name
        return True
    if isinstance(parent, QAbstractSpinBox) or widget.focusProxy() is not None:
        return True
    return isinstance(parent, QAbstractScrollArea) and parent.viewport() is widget


def unnamed_controls(panel: QWidget) -> list[str]:
    buddies = {label.buddy() for label in panel.findChildren(QLabel) if label.buddy()}
    missing = []
    for widget in panel.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE) or not widget.isVisible() or is_internal(widget):
            continue
        if not widget.accessibleName().strip() and widget not in buddies:
            text = widget.text() if isinstance(widget, QAbstractButton) else ""
            missing.append(f"{type(widget).__name__} {widget.objectName()!r} {text!r}")
    return missing


def tab_stops(panel: QWidget) -> list[QWidget]:
    """The panel's visible, enabled widgets that Tab should reach, in focus-chain order."""
    stops = []
    widget = panel.nextInFocusChain()
    while widget is not panel and len(stops) < 500:
        if (panel.isAncestorOf(widget) and widget.isVisible() and widget.isEnabled()
                and widget.focusPolicy() & Qt.FocusPolicy.TabFocus and not is_internal(widget)
                and widget not in stops):
            stops.append(widget)
        widget = widget.nextInFocusChain()
    return stops


def walk_with_tab(first: QWidget, presses: int) -> list[QWidget | None]:
    first.setFocus(Qt.FocusReason.TabFocusReason)
    QApplication.processEvents()
    seen: list[QWidget | None] = [QApplication.focusWidget()]
    for _ in range(presses):
        current = QApplication.focusWidget()
        assert current is not None, "focus was lost"
        QTest.keyClick(current, Qt.Key.Key_Tab)
        QApplication.processEvents()
        seen.append(QApplication.focusWidget())
    return seen


@pytest.fixture
def populated_window(make_main_window: Callable[..., MainWindow],
                     media_files: Callable[..., Path], qtbot: Any) -> MainWindow:
    """The main window with a completed upload, a held one in the queue and a long name."""
    window = make_main_window()
    services = window.services
    services.uploads.upload_file(media_files(LONG_NAME), "video")
    services.uploads.upload_file(media_files("voiceover.srt",
                                             b"1\n00:00:00,000 --> 00:00:01,000\nHi\n"),
                                 "transcript", is_temp=False)
    uploads = window.panels["uploads"]
    assert isinstance(uploads, UploadsPanel)
    uploads.pause_all_button.setChecked(True)
    # Other bytes under the same name: the same content would first be asked about.
    held = media_files(LONG_NAME)
    held.write_bytes(held.read_bytes() + b"another take")
    uploads.add_paths([held])
    qtbot.waitUntil(lambda: uploads.model.rowCount() == 1, timeout=WAIT)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)
    return window


def check_panel(window: MainWindow, name: str, qtbot: Any) -> None:
    window.show_panel(name)
    panel = window.panels[name]
    qtbot.waitUntil(lambda: window.runner.running == 0, timeout=WAIT)
    QApplication.processEvents()

    assert panel.accessibleName()
    assert unnamed_controls(panel) == []

    stops = tab_stops(panel)
    assert len(stops) >= 2, [type(w).__name__ for w in stops]
    seen = walk_with_tab(stops[0], len(stops) + 2)
    # Tab never sticks: each press moves the focus while it is inside the panel ...
    for before, after in pairwise(seen):
        if before is not None and panel.isAncestorOf(before):
            assert after is not before, f"Tab is stuck on {type(before).__name__} " \
                                        f"{before.objectName()!r}"
    # ... and reaches every control of the panel.
    missed = [f"{type(w).__name__} {w.objectName()!r} {w.accessibleName()!r}"
              for w in stops if w not in seen]
    assert missed == []
    # Shift+Tab goes back.
    stops[1].setFocus(Qt.FocusReason.TabFocusReason)
    QTest.keyClick(stops[1], Qt.Key.Key_Backtab)
    assert QApplication.focusWidget() is stops[0]


@pytest.mark.parametrize("name", [p[0] for p in PANELS])
def test_every_control_has_a_name_and_a_tab_stop(populated_window: MainWindow, name: str,
                                                  qtbot: Any) -> None:
    check_panel(populated_window, name, qtbot)


@pytest.mark.parametrize("name", ["uploads", "cleanup", "stats", "settings"])
def test_every_control_has_a_name_and_a_tab_stop_over_s3(s3_main_window: MainWindow,
                                                         name: str, qtbot: Any) -> None:
    """Over a bucket the cleanup, stats and settings panels show more controls."""
    s3_main_window.activateWindow()
    qtbot.waitUntil(s3_main_window.isActiveWindow, timeout=WAIT)
    check_panel(s3_main_window, name, qtbot)


def test_the_sidebar_and_shortcuts_reach_every_panel(populated_window: MainWindow) -> None:
    window = populated_window
    window.sidebar.setFocus()
    window.sidebar.setCurrentRow(0)
    for row, (name, _title, _target, _icon) in enumerate(PANELS):
        assert window.current_panel() is window.panels[name]
        if row + 1 < len(PANELS):
            QTest.keyClick(window.sidebar, Qt.Key.Key_Down)
    for index, (name, _title, _target, _icon) in enumerate(PANELS):
        QTest.keyClick(window, Qt.Key(Qt.Key.Key_1 + index), Qt.KeyboardModifier.ControlModifier)
        assert window.current_panel() is window.panels[name]


def _elides(table: QTableView, column: int, text: str) -> None:
    assert table.textElideMode() != Qt.TextElideMode.ElideNone
    assert not table.wordWrap()
    row = next(r for r in range(table.model().rowCount())
               if table.model().index(r, column).data() == text)
    rect = table.visualRect(table.model().index(row, column))
    assert 0 < rect.width() < table.fontMetrics().horizontalAdvance(text)
    # One line: the row keeps its height however long the name is.
    assert rect.height() <= table.verticalHeader().defaultSectionSize()
    # What the delegate draws is the elided text, which fits the cell.
    elided = table.fontMetrics().elidedText(text, table.textElideMode(), rect.width() - 8)
    assert "…" in elided and len(elided) < len(text)


def test_long_file_names_elide_in_the_tables(populated_window: MainWindow, qtbot: Any) -> None:
    window = populated_window
    uploads = window.panels["uploads"]
    assert isinstance(uploads, UploadsPanel)
    window.show_panel("uploads")
    _elides(uploads.table, 0, LONG_NAME)
    library = window.panels["library"]
    assert isinstance(library, LibraryPanel)
    window.show_panel("library")
    qtbot.waitUntil(lambda: library.model.rowCount() == 2, timeout=WAIT)
    _elides(library.table, 0, LONG_NAME)
