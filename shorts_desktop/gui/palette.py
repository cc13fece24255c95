"""Colours and glyphs that stay readable on the light and the dark palette."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QStyle

__all__ = ["is_dark", "ok_color", "ok_style", "problem_color", "problem_style", "standard_icon"]


def is_dark() -> bool:
    """Whether the application's palette is dark (text lighter than the window)."""
    palette = QApplication.palette()
    return (palette.color(QPalette.ColorRole.WindowText).lightness()
            > palette.color(QPalette.ColorRole.Window).lightness())


# Text colours that keep a contrast of at least 4.5:1 on the light and the dark palette.
_PROBLEM = {False: "#c62828", True: "#ff8a80"}
_OK = {False: "#1b5e20", True: "#81c784"}


def problem_color() -> QColor:
    """The colour of text that says what is wrong, readable on the current palette."""
    return QColor(_PROBLEM[is_dark()])


def ok_color() -> QColor:
    """The colour of text that says something worked, readable on the current palette."""
    return QColor(_OK[is_dark()])


def problem_style(bold: bool = False) -> str:
    """The style sheet of a label that says what is wrong, for the current palette."""
    return f"color: {_PROBLEM[is_dark()]};" + (" font-weight: bold;" if bold else "")


def ok_style() -> str:
    """The style sheet of a label that says something worked, for the current palette."""
    return f"color: {_OK[is_dark()]};"


# Standard pixmaps that styles draw as black glyphs, which vanish on a dark palette.
_GLYPHS = (QStyle.StandardPixmap.SP_ArrowUp, QStyle.StandardPixmap.SP_MediaPlay)


def standard_icon(style: QStyle, pixmap: QStyle.StandardPixmap) -> QIcon:
    """A standard icon; the black glyphs are drawn in the palette's text colour."""
    icon = style.standardIcon(pixmap)
    if pixmap not in _GLYPHS or not is_dark():
        return icon
    colour = QApplication.palette().color(QPalette.ColorRole.WindowText)
    tinted = QIcon()
    for size in icon.availableSizes() or [QSize(64, 64)]:
        source = icon.pixmap(size)
        image = QPixmap(source.size())
        image.setDevicePixelRatio(source.devicePixelRatio())
        image.fill(QColor(0, 0, 0, 0))
        painter = QPainter(image)
        painter.drawPixmap(0, 0, source)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        painter.fillRect(image.rect(), colour)
        painter.end()
        tinted.addPixmap(image)
    return tinted
