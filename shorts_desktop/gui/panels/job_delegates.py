"""How the Jobs list draws a job: its stage with the progress bar and time left, its title
with the thumbnail, an upload's name."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QMouseEvent,
    QPainter,
    QPalette,
)
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
)

from shorts_desktop.gui.models.jobs_table import (
    JOB_ROLE,
    LINK_ROLE,
    PROGRESS_ROLE,
    short_link,
)

_Index = QModelIndex | QPersistentModelIndex


def job_detail(job: dict[str, Any]) -> str:
    """The quieter second line of a job's row: its tags (privacy has its own column)."""
    tags = [str(t) for t in job.get("tags") or []]
    return " ".join(f"#{t.replace(' ', '')}" for t in tags)


class JobStatusDelegate(QStyledItemDelegate):
    """Draws the Status cell of a running job (or one being uploaded) as a progress bar with
    its text, and that of a published job as "Published" over its YouTube link, which a
    click opens; other cells as usual."""

    #: Emitted with the YouTube link of a published row when its link is clicked.
    link_activated = Signal(str)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        value = index.data(PROGRESS_ROLE)
        if value is None:
            url = index.data(LINK_ROLE)
            if url:
                self._paint_published(painter, option, index, str(url))
            else:
                super().paint(painter, option, index)
            return
        fraction, text = value
        widget = option.widget
        style = self._draw_cell(painter, option, index)
        rect = option.rect
        metrics = option.fontMetrics
        height = min(rect.height() - 8, metrics.height() + 10)
        bar = QStyleOptionProgressBar()
        bar.rect = QRect(rect.left() + 4, rect.top() + (rect.height() - height) // 2,
                         rect.width() - 10, height)
        bar.minimum = 0
        bar.maximum = 1000
        bar.progress = round(max(0.0, min(1.0, fraction)) * 1000)
        bar.text = metrics.elidedText(
            text, Qt.TextElideMode.ElideRight, bar.rect.width() - 12)
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        bar.state = (option.state
                     | QStyle.StateFlag.State_Horizontal) & ~QStyle.StateFlag.State_Selected
        bar.palette = option.palette
        bar.fontMetrics = metrics
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, widget)

    # -- a published row: "Published" over the link -------------------------------------------

    @staticmethod
    def _lines(option: QStyleOptionViewItem) -> tuple[QRect, QRect]:
        """Where the status line and the link line go in the cell."""
        rect = option.rect.adjusted(6, 0, -6, 0)
        line = option.fontMetrics.height()
        top = rect.top() + (rect.height() - 2 * line) // 2
        return (QRect(rect.left(), top, rect.width(), line),
                QRect(rect.left(), top + line, rect.width(), line))

    def link_rect(self, option: QStyleOptionViewItem, url: str) -> QRect:
        """The area of the cell the link's text covers (what a click opens)."""
        _status, line = self._lines(option)
        text = option.fontMetrics.elidedText(short_link(url), Qt.TextElideMode.ElideRight,
                                             line.width())
        return QRect(line.left(), line.top(),
                     min(line.width(), option.fontMetrics.horizontalAdvance(text)), line.height())

    def _draw_cell(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index
                   ) -> QStyle:
        """The cell as the style draws it (selection, focus) without its text, which is
        drawn over it; returns that style."""
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        item.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, widget)
        return style

    def _paint_published(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index,
                         url: str) -> None:
        self._draw_cell(painter, option, index)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        status_line, link_line = self._lines(option)
        metrics = option.fontMetrics
        painter.save()
        painter.setFont(option.font)
        foreground = index.data(Qt.ItemDataRole.ForegroundRole)
        if selected:
            painter.setPen(palette.color(QPalette.ColorRole.HighlightedText))
        elif isinstance(foreground, QColor):
            painter.setPen(foreground)
        else:
            painter.setPen(palette.color(QPalette.ColorRole.Text))
        align = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        painter.drawText(status_line, align, "Published")
        font = QFont(option.font)
        font.setUnderline(True)
        painter.setFont(font)
        painter.setPen(palette.color(QPalette.ColorRole.HighlightedText if selected
                                     else QPalette.ColorRole.Link))
        painter.drawText(link_line, align, metrics.elidedText(
            short_link(url), Qt.TextElideMode.ElideRight, link_line.width()))
        painter.restore()

    def editorEvent(self, event: QEvent, model: Any, option: QStyleOptionViewItem,
                    index: _Index) -> bool:
        url = index.data(LINK_ROLE)
        if not url or not isinstance(event, QMouseEvent):
            return super().editorEvent(event, model, option, index)
        over = self.link_rect(option, str(url)).contains(event.position().toPoint())
        view = option.widget
        viewport = getattr(view, "viewport", None)
        if viewport is not None:
            if over:
                viewport().setCursor(Qt.CursorShape.PointingHandCursor)
            else:
                viewport().unsetCursor()
        if (over and event.type() == QEvent.Type.MouseButtonRelease
                and event.button() == Qt.MouseButton.LeftButton):
            self.link_activated.emit(str(url))
            return True
        return super().editorEvent(event, model, option, index)


class JobTitleDelegate(QStyledItemDelegate):
    """The Short cell: the thumbnail, the title and, quieter below it, privacy and tags."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        title = item.text
        item.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, widget)
        job = index.data(JOB_ROLE) or {}
        detail = job_detail(job)
        text_rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, item, widget)
        text_rect = text_rect.adjusted(4, 0, -4, 0)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        group = (QPalette.ColorGroup.Normal if option.state & QStyle.StateFlag.State_Enabled
                 else QPalette.ColorGroup.Disabled)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        colour = option.palette.color(group, role)
        metrics = option.fontMetrics
        painter.save()
        painter.setFont(option.font)
        line = metrics.height()
        top = text_rect.top() + (text_rect.height() - (line * 2 if detail else line)) // 2
        painter.setPen(colour)
        painter.drawText(QRect(text_rect.left(), top, text_rect.width(), line),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                         metrics.elidedText(title, Qt.TextElideMode.ElideRight,
                                            text_rect.width()))
        if detail:
            quiet = QColor(colour)
            quiet.setAlphaF(0.68)
            painter.setPen(quiet)
            painter.drawText(QRect(text_rect.left(), top + line, text_rect.width(), line),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                             metrics.elidedText(detail, Qt.TextElideMode.ElideRight,
                                                text_rect.width()))
        painter.restore()


class NameDelegate(QStyledItemDelegate):
    """File names elided in the middle, so that the extension stays in sight."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: _Index) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle
