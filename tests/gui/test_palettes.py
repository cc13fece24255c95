"""The window under a dark palette: coloured labels stay readable, glyph icons are light."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel

from shorts_desktop.gui.main_window import MainWindow, dark_palette
from shorts_desktop.gui.panels.base import is_dark, ok_style, problem_style

pytestmark = pytest.mark.gui


def luminance(colour: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return (0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF())
            + 0.0722 * channel(colour.blueF()))


def contrast(a: QColor, b: QColor) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.fixture(params=["light", "dark"])
def palette(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[str]:
    app = qapp
    original = app.palette()
    if request.param == "dark":
        app.setPalette(dark_palette())
    yield request.param
    app.setPalette(original)


def test_status_colours_are_readable_on_either_palette(palette: str) -> None:
    assert is_dark() == (palette == "dark")
    window = QApplication.palette().color(QPalette.ColorRole.Window)
    for style in (problem_style(), problem_style(bold=True), ok_style()):
        colour = QColor(re.search(r"color: (#[0-9a-f]{6})", style).group(1))  # type: ignore[union-attr]
        assert contrast(colour, window) >= 4.5, (palette, style)


def test_coloured_labels_in_the_window_are_readable(
    palette: str, make_main_window: Callable[..., MainWindow], qtbot: Any
) -> None:
    window = make_main_window()
    for name in ("jobs", "cleanup", "settings"):
        window.show_panel(name)
    qtbot.waitUntil(lambda: window.runner.running == 0, timeout=10_000)

    def coloured() -> list[tuple[str, QColor]]:
        found = [(label.objectName(), re.search(r"color:\s*(#[0-9a-fA-F]{6})",
                                                label.styleSheet()))
                 for label in window.findChildren(QLabel)]
        return [(name, QColor(m.group(1))) for name, m in found if m]

    # The jobs form, tried empty, says in red why it cannot be created yet.
    window.show_panel("jobs")
    window.panels["jobs"].form.create_button.click()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: len(coloured()) >= 1, timeout=10_000)
    background = QApplication.palette().color(QPalette.ColorRole.Window)
    for name, colour in coloured():
        assert contrast(colour, background) >= 4.5, name
    # Text keeps its contrast with the window in either palette.
    text = QApplication.palette().color(QPalette.ColorRole.WindowText)
    assert contrast(text, background) >= 7
