"""The bucket view's table model: one folder level of the bucket, folders first."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QIcon

from shorts_desktop.core.services.bucket import BucketEntry
from shorts_desktop.gui.format import human_size

Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("Name", "Size", "Modified", "Library")
NAME, SIZE, MODIFIED, LIBRARY = range(len(COLUMNS))
IN_LIBRARY = "In library"
NOT_IN_LIBRARY = "Not in library"
#: The BucketEntry behind a row.
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def library_text(entry: BucketEntry) -> str:
    """Whether the library knows an object; for a folder, whose it is (or nothing)."""
    if entry.is_folder:
        return entry.note
    return IN_LIBRARY if entry.in_library else NOT_IN_LIBRARY


class BucketModel(QAbstractTableModel):
    """The entries of one listing, in the order the service gives them."""

    def __init__(self, folder_icon: QIcon, file_icon: QIcon, parent: Any = None) -> None:
        super().__init__(parent)
        self._entries: list[BucketEntry] = []
        self._icons = (folder_icon, file_icon)

    def set_entries(self, entries: list[BucketEntry]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self.endResetModel()

    def entries(self, rows: list[int] | None = None) -> list[BucketEntry]:
        if rows is None:
            return list(self._entries)
        return [self._entries[r] for r in rows if 0 <= r < len(self._entries)]

    def row_of(self, key: str) -> int | None:
        return next((i for i, e in enumerate(self._entries) if e.key == key), None)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section == SIZE:
            return _RIGHT
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == NAME:
                return f"{entry.name}/" if entry.is_folder else entry.name
            if column == SIZE:
                return "" if entry.size is None else human_size(entry.size)
            if column == MODIFIED:
                if entry.modified is None:
                    return ""
                return entry.modified.astimezone().strftime("%Y-%m-%d %H:%M")
            return library_text(entry)
        if role == ENTRY_ROLE:
            return entry
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == SIZE and entry.size is not None:
                return f"{entry.size:,} bytes"
            if column == LIBRARY and entry.is_folder and entry.note:
                return f"{entry.note}: the folder the app made for it"
            if column == LIBRARY and not entry.is_folder and not entry.in_library:
                return "The library has no row for this file; “Add to library” adopts it"
            return entry.uri
        if role == Qt.ItemDataRole.DecorationRole and column == NAME:
            return self._icons[0 if entry.is_folder else 1]
        if role == Qt.ItemDataRole.TextAlignmentRole and column == SIZE:
            return _RIGHT
        return None
