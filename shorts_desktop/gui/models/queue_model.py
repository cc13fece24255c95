"""A table model over the upload queue's item snapshots, updated on the GUI thread only."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from shorts_desktop.core.services.upload_queue import QueueItem
from shorts_desktop.gui.format import human_duration, human_rate, human_size
from shorts_desktop.gui.models.uploads_model import STATUS_LABELS

Index = QModelIndex | QPersistentModelIndex

#: The QueueItem behind a row.
ITEM_ROLE = Qt.ItemDataRole.UserRole + 1
#: Progress as a float from 0.0 to 1.0 (the progress column's delegate paints it).
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 2

COLUMNS = ("Name", "Kind", "Size", "Progress", "Rate", "ETA", "State")
NAME, KIND, SIZE, PROGRESS, RATE, ETA, STATE = range(len(COLUMNS))

TRANSFERRING = ("queued", "uploading")
FINISHED = ("completed", "failed", "cancelled")
_ROLES = frozenset(int(r) for r in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
                                    Qt.ItemDataRole.TextAlignmentRole, ITEM_ROLE,
                                    PROGRESS_ROLE))
#: The columns a progress report changes.
_PROGRESS_COLUMNS = (PROGRESS, STATE)


def progress_of(item: QueueItem) -> float:
    if item.state == "completed":
        return 1.0
    if item.size <= 0:
        return 0.0
    return max(0.0, min(1.0, item.bytes_done / item.size))


class QueueModel(QAbstractTableModel):
    """One row per queued file, in the order they were added."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._items: list[QueueItem] = []
        self._rows: dict[int, int] = {}  # item id -> row

    # -- reading ----------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section in (SIZE, RATE, ETA):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # A view asks for a dozen roles per cell on every repaint: answer the ones this
        # model does not use before touching the index.
        if role not in _ROLES or not index.isValid():
            return None
        item = self._items[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(item, column)
        if role == ITEM_ROLE:
            return item
        if role == PROGRESS_ROLE:
            return progress_of(item)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(item, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (SIZE, RATE, ETA):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, item: QueueItem, column: int) -> str:
        if column == NAME:
            return item.name
        if column == KIND:
            return "Video" if item.kind == "video" else "Transcript"
        if column == SIZE:
            return human_size(item.size)
        if column == PROGRESS:
            return f"{progress_of(item) * 100:.0f}%"
        if column == RATE:
            return human_rate(item.rate) if item.state == "uploading" and item.rate else ""
        if column == ETA:
            return human_duration(item.eta) if item.state == "uploading" else ""
        if column == STATE:
            if item.state == "uploading" and item.bytes_done == 0 and not item.rate:
                return "Waiting"  # being checksummed, or waiting for a free upload slot
            return STATUS_LABELS.get(item.state, item.state.capitalize())
        return ""

    def _tooltip(self, item: QueueItem, column: int) -> str:
        if column == NAME:
            where = "temporary (cleaned up later)" if item.is_temp else "permanent"
            source = str(item.path) if item.path is not None else "pasted text"
            return f"{item.name}\nFrom: {source}\nKept as: {where}"
        if column == STATE and item.error:
            return item.error
        if column == STATE and self._display(item, column) == "Waiting":
            return "Checking the file, or waiting for a free upload slot"
        if column == PROGRESS:
            return f"{human_size(item.bytes_done)} of {human_size(item.size)}"
        return self._display(item, column)

    def item(self, row: int) -> QueueItem:
        return self._items[row]

    def items(self) -> list[QueueItem]:
        return list(self._items)

    def row_of(self, item_id: int) -> int | None:
        return self._rows.get(item_id)

    def find(self, item_id: int) -> QueueItem | None:
        row = self._rows.get(item_id)
        return None if row is None else self._items[row]

    # -- changing (GUI thread only) ---------------------------------------------------------

    def reset(self, items: list[QueueItem]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self._reindex()
        self.endResetModel()

    def put(self, item: QueueItem) -> QueueItem | None:
        """Add the item or replace its row with this newer snapshot; returns the old one."""
        return self.put_many([item]).get(item.item_id)

    def put_many(self, items: list[QueueItem]) -> dict[int, QueueItem | None]:
        """Add or replace several snapshots with one insert and one change notification.

        Returns the previous snapshot of each item (None for a new row).
        """
        olds: dict[int, QueueItem | None] = {}
        new: dict[int, QueueItem] = {}  # rows to add, in order; a later snapshot wins
        changed: list[int] = []
        for item in items:
            row = self._rows.get(item.item_id)
            if row is None:
                olds[item.item_id] = None
                new[item.item_id] = item
                continue
            olds.setdefault(item.item_id, self._items[row])
            self._items[row] = item
            changed.append(row)
        self._changed(changed)
        if new:
            first = len(self._items)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for offset, item in enumerate(new.values()):
                self._items.append(item)
                self._rows[item.item_id] = first + offset
            self.endInsertRows()
        return olds

    def progress(self, item: QueueItem) -> None:
        """Take the byte counts of a progress snapshot, if the row is still uploading."""
        self.progress_many([item])

    def progress_many(self, items: list[QueueItem]) -> None:
        """Take the byte counts of progress snapshots (one change notification for all)."""
        changed: list[int] = []
        for item in items:
            row = self._rows.get(item.item_id)
            if row is None:
                continue
            current = self._items[row]
            if current.state not in TRANSFERRING:
                continue  # a late progress report must not undo a pause, cancel or completion
            # "queued" here means the "uploading" state event is still on its way.
            self._items[row] = replace(current, state="uploading",
                                       bytes_done=max(current.bytes_done, item.bytes_done),
                                       rate=item.rate, eta=item.eta)
            changed.append(row)
        self._changed(changed, _PROGRESS_COLUMNS)

    def _changed(self, rows: list[int],
                 columns: tuple[int, int] = (0, len(COLUMNS) - 1)) -> None:
        """One dataChanged per run of adjacent rows, so a view repaints only those rows."""
        if not rows:
            return
        ordered = sorted(set(rows))
        start = previous = ordered[0]
        for row in [*ordered[1:], -1]:
            if row != previous + 1:
                self.dataChanged.emit(self.index(start, columns[0]),
                                      self.index(previous, columns[1]))
                start = row
            previous = row

    def remove_finished(self) -> None:
        keep = [i for i in self._items if i.state != "completed"]
        if len(keep) != len(self._items):
            self.reset(keep)

    def _reindex(self) -> None:
        self._rows = {item.item_id: row for row, item in enumerate(self._items)}

    # -- summaries --------------------------------------------------------------------------

    def transferring(self) -> tuple[int, float]:
        """How many files are queued or uploading, and their total rate."""
        count = 0
        rate = 0.0
        for item in self._items:
            if item.state in TRANSFERRING:
                count += 1
                if item.state == "uploading":
                    rate += item.rate
        return count, rate
