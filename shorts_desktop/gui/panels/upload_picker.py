"""The Jobs form's pickers of uploaded material: a video's picture and length, a transcript's
first words, uploads of one name told apart; files dropped on one join the upload queue."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QPaintEvent,
    QPalette,
)
from PySide6.QtWidgets import (
    QComboBox,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QWidget,
)

from shorts_desktop.gui.fonts import with_emoji
from shorts_desktop.gui.format import clock, human_size, human_time, resolution
from shorts_desktop.gui.thumbnails import ThumbnailCache

if TYPE_CHECKING:
    from shorts_desktop.core.db.models import Upload


def upload_row(upload: Upload) -> dict[str, Any]:
    """An upload as the pickers show it, with its thumbnail (read in the worker)."""
    row = upload.to_dict()
    if upload.thumbnail:
        row["thumbnail"] = bytes(upload.thumbnail)
    return row


#: Characters of a short id, as the command line accepts it.
SHORT_ID = 8


def picker_text(upload: dict[str, Any], *, same_name: bool = False,
                opening: str | None = None) -> str:
    """One entry of a picker: the name, the video's length or the transcript's first words,
    when it was uploaded, and a short id when another upload has the same name."""
    parts = [str(upload["original_name"])]
    if upload.get("kind") == "video":
        length = clock(upload.get("duration"))
        if length:
            parts.append(length)
    elif opening:
        parts.append(f"“{opening}”")
    parts.append(human_time(upload.get("completed_at") or upload.get("created_at")))
    if same_name:
        parts.append(str(upload["id"])[:SHORT_ID])
    return " · ".join(parts)


def picker_tooltip(upload: dict[str, Any], opening: str | None = None) -> str:
    """The whole story of a picker entry: what the row leaves out."""
    where = "temporary" if upload.get("is_temp") else "permanent"
    facts = [human_size(upload.get("size") or 0), where]
    if upload.get("kind") == "video":
        facts[1:1] = [x for x in (clock(upload.get("duration")),
                                  resolution(upload.get("width"), upload.get("height"))) if x]
    lines = [str(upload["original_name"]), " · ".join(facts),
             f"Uploaded {human_time(upload.get('completed_at') or upload.get('created_at'))}"]
    if opening:
        lines.append(f"“{opening}”")
    lines.append(f"id {upload['id']}")
    return "\n".join(lines)


class UploadPicker(QComboBox):
    """A combo box of completed uploads of one kind that also takes dropped files.

    A video shows its picture and length, a transcript its first words (once they are read,
    see `set_openings`); uploads of the same name are told apart by date and short id."""

    #: Emitted with the local paths of files dropped on the picker.
    files_dropped = Signal(list)

    def __init__(self, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setAcceptDrops(True)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(24)
        self.setPlaceholderText(f"Choose a {kind}, or drop a file here")
        self.setFont(with_emoji(self.font()))
        box = QSize(32, 18)
        self.setIconSize(box)
        self.thumbnails = ThumbnailCache(box, limit=200)
        self._uploads: list[dict[str, Any]] = []
        self._openings: dict[str, str] = {}
        self._same: set[str] = set()

    def set_uploads(self, uploads: list[dict[str, Any]], select: str | None = None) -> None:
        keep = select or self.upload_id()
        self._uploads = list(uploads)
        counts = Counter(str(u["original_name"]).casefold() for u in uploads)
        self._same = {str(u["id"]) for u in uploads
                      if counts[str(u["original_name"]).casefold()] > 1}
        self.blockSignals(True)
        self.clear()
        for upload in uploads:
            self.addItem(self._icon(upload), self._text(upload), upload["id"])
            self.setItemData(self.count() - 1, self._tooltip(upload),
                             Qt.ItemDataRole.ToolTipRole)
        index = self.findData(keep) if keep else -1
        self.setCurrentIndex(index)
        self.blockSignals(False)
        self.currentIndexChanged.emit(self.currentIndex())

    def set_openings(self, openings: dict[str, str]) -> None:
        """First words of transcripts by upload id; the entries show them (in place)."""
        self._openings = openings
        for row, upload in enumerate(self._uploads):
            if row < self.count() and self.itemData(row) == upload["id"]:
                self.setItemText(row, self._text(upload))
                self.setItemData(row, self._tooltip(upload), Qt.ItemDataRole.ToolTipRole)

    def uploads(self) -> list[dict[str, Any]]:
        return list(self._uploads)

    def paintEvent(self, event: QPaintEvent) -> None:
        """As QComboBox draws itself, with the chosen entry elided ("…") rather than cut."""
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        if self.currentIndex() < 0 and self.placeholderText():
            option.palette.setBrush(QPalette.ColorRole.ButtonText,
                                    option.palette.placeholderText())
            option.currentText = self.placeholderText()
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        field = self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                            QStyle.SubControl.SC_ComboBoxEditField, self)
        width = field.width() - 4
        if not option.currentIcon.isNull():
            width -= option.iconSize.width() + 4
        option.currentText = self.fontMetrics().elidedText(
            option.currentText, Qt.TextElideMode.ElideRight, max(0, width))
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)

    def _text(self, upload: dict[str, Any]) -> str:
        return picker_text(upload, same_name=str(upload["id"]) in self._same,
                           opening=self._openings.get(str(upload["id"])))

    def _tooltip(self, upload: dict[str, Any]) -> str:
        return picker_tooltip(upload, self._openings.get(str(upload["id"])))

    def _icon(self, upload: dict[str, Any]) -> QIcon:
        if self.kind != "video":
            return QIcon(self.thumbnails.placeholder("transcript"))
        pixmap = self.thumbnails.get(upload["id"], upload.get("thumbnail"))
        return QIcon(pixmap if pixmap is not None else self.thumbnails.placeholder("video"))

    def upload_id(self) -> str:
        data = self.currentData()
        return str(data) if data else ""

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)
        else:
            super().dropEvent(event)
