"""Small pictures for table rows: JPEG bytes decoded once, fitted into one box size.

Rows carry the JPEG bytes (read with the rows, in a worker); a pixmap is made on the GUI
thread the first time a row is painted and kept by key, so scrolling decodes nothing twice.
Every picture is centred in the same box, so the text beside it lines up whatever the
picture's shape (a 16:9 source, a 9:16 Short) or when there is none.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPainterPath, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QStyle

from shorts_desktop.gui.palette import standard_icon

#: Pictures kept; a screenful needs a few dozen.
CACHE_LIMIT = 1500


class ThumbnailCache:
    """Pixmaps of one box size, by key (an upload or job id), least recently used dropped."""

    def __init__(self, box: QSize, limit: int = CACHE_LIMIT) -> None:
        self.box = box
        self.limit = limit
        self._pixmaps: OrderedDict[Hashable, QPixmap] = OrderedDict()
        self._placeholders: dict[str, QPixmap] = {}

    def get(self, key: Hashable, data: bytes | None) -> QPixmap | None:
        """The fitted picture of `data` (JPEG bytes); None when there is none or it is bad."""
        if not data:
            return None
        found = self._pixmaps.get(key)
        if found is not None:
            self._pixmaps.move_to_end(key)
            return found
        image = QImage.fromData(data)
        pixmap = self._fit(image) if not image.isNull() else None
        if pixmap is None:
            return None
        self._pixmaps[key] = pixmap
        if len(self._pixmaps) > self.limit:
            self._pixmaps.popitem(last=False)
        return pixmap

    def cached(self, key: Hashable) -> QPixmap | None:
        """The picture kept for `key`, if it is still kept."""
        found = self._pixmaps.get(key)
        if found is not None:
            self._pixmaps.move_to_end(key)
        return found

    def placeholder(self, kind: str) -> QPixmap:
        """A quiet frame with a glyph, in the box's size, for rows without a picture."""
        found = self._placeholders.get(kind)
        if found is None:
            found = self._placeholders[kind] = self._draw_placeholder(kind)
        return found

    def clear(self) -> None:
        self._pixmaps.clear()
        self._placeholders.clear()

    # -- drawing ----------------------------------------------------------------------------

    def _canvas(self) -> tuple[QPixmap, float]:
        app = QGuiApplication.instance()
        ratio = app.devicePixelRatio() if isinstance(app, QGuiApplication) else 1.0
        pixmap = QPixmap(round(self.box.width() * ratio), round(self.box.height() * ratio))
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(QColor(0, 0, 0, 0))
        return pixmap, ratio

    def _fit(self, image: QImage) -> QPixmap:
        pixmap, ratio = self._canvas()
        box_w, box_h = self.box.width(), self.box.height()
        scaled = image.size().scaled(QSize(round(box_w * ratio), round(box_h * ratio)),
                                     Qt.AspectRatioMode.KeepAspectRatio)
        w, h = scaled.width() / ratio, scaled.height() / ratio
        target = QRectF((box_w - w) / 2, (box_h - h) / 2, w, h)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        clip = QPainterPath()
        clip.addRoundedRect(target, 3, 3)
        painter.setClipPath(clip)
        painter.drawImage(target, image)
        painter.end()
        return pixmap

    def _draw_placeholder(self, kind: str) -> QPixmap:
        pixmap, _ratio = self._canvas()
        palette = QApplication.palette()
        frame = palette.color(QPalette.ColorRole.Mid)
        frame.setAlpha(90)
        box_w, box_h = self.box.width(), self.box.height()
        # The frame has the shape of what is missing: 16:9 for a video, a page for text.
        if kind == "transcript":
            h = float(box_h - 4)
            w = h * 0.75
        else:
            w = min(box_w - 2, (box_h - 2) * 16 / 9)
            h = w * 9 / 16
        target = QRectF((box_w - w) / 2, (box_h - h) / 2, w, h)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(frame)
        painter.drawRoundedRect(target, 3, 3)
        glyph = (QStyle.StandardPixmap.SP_FileIcon if kind == "transcript"
                 else QStyle.StandardPixmap.SP_MediaPlay)
        size = round(min(w, h) * 0.6)
        icon = standard_icon(QApplication.style(), glyph)
        painter.setOpacity(0.55)
        icon.paint(painter, round(target.center().x() - size / 2),
                   round(target.center().y() - size / 2), size, size)
        painter.end()
        return pixmap
