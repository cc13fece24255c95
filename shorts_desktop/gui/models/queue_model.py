"""A table model over the upload queue's item snapshots, updated on the GUI thread only.

The cells are C++ items (QStandardItemModel) that the model fills when a snapshot
arrives, about ten times a second. A repaint then runs no Python at all: while uploads
run, every call from Qt into Python waits for the GIL that the worker threads share,
and a table that asked Python for each cell and role stalled the window for tens of
milliseconds per frame. The progress column is a gradient behind the percentage, for
the same reason (a Python delegate would paint every visible row).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QLinearGradient,
    QPalette,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import QApplication

from shorts_desktop.core.services.upload_queue import QueueItem
from shorts_desktop.gui.format import human_duration, human_rate, human_size
from shorts_desktop.gui.models.uploads_model import STATUS_LABELS, reason_line

COLUMNS = ("Name", "Kind", "Size", "Progress", "State", "Rate", "ETA")
NAME, KIND, SIZE, PROGRESS, STATE, RATE, ETA = range(len(COLUMNS))
#: A failed row's State cell spans these columns (its Rate and ETA are empty), so that
#: the reason it gives has room.
REASON_SPAN = ETA - STATE + 1

TRANSFERRING = ("queued", "uploading")
FINISHED = ("completed", "failed", "cancelled")
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ALIGNMENT = {SIZE: _RIGHT, RATE: _RIGHT, ETA: _RIGHT,
              PROGRESS: int(Qt.AlignmentFlag.AlignCenter)}
_CELL_FLAGS = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
# The progress cell is not selectable: a selected row's highlight would hide its fill
# (selection models ignore it when they ask whether a whole row is selected).
_PROGRESS_FLAGS = Qt.ItemFlag.ItemIsEnabled
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
#: The columns a progress report changes (adjacent: one dataChanged covers them).
_PROGRESS_COLUMNS = (PROGRESS, STATE, RATE, ETA)


def shows_reason(item: QueueItem) -> bool:
    """True when the row says why it failed (its State cell then spans `REASON_SPAN`)."""
    return item.state == "failed" and bool(reason_line(item.error))


def progress_of(item: QueueItem) -> float:
    if item.state == "completed":
        return 1.0
    if item.size <= 0:
        return 0.0
    return max(0.0, min(1.0, item.bytes_done / item.size))


def progress_brush(fraction: float, width: int) -> QBrush | None:
    """The done part of a `width`-pixel cell filled in the highlight colour.

    Item views paint a cell's background with the brush origin at the cell's top-left,
    so a gradient in pixels from 0 to `width` spans exactly the cell.
    """
    if fraction <= 0.0:
        return None
    color = QColor(QApplication.palette().color(QPalette.ColorRole.Highlight))
    color.setAlpha(90)
    if fraction >= 1.0:
        return QBrush(color)
    clear = QColor(color)
    clear.setAlpha(0)
    gradient = QLinearGradient(0.0, 0.0, float(max(1, width)), 0.0)
    gradient.setColorAt(0.0, color)
    gradient.setColorAt(fraction, color)
    gradient.setColorAt(min(1.0, fraction + 1e-4), clear)
    gradient.setColorAt(1.0, clear)
    return QBrush(gradient)


class QueueModel(QStandardItemModel):
    """One row per queued file, in the order they were added."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        for column, alignment in _ALIGNMENT.items():
            if column != PROGRESS:
                self.setHeaderData(column, Qt.Orientation.Horizontal, alignment,
                                   Qt.ItemDataRole.TextAlignmentRole)
        self._items: list[QueueItem] = []
        self._rows: dict[int, int] = {}  # item id -> row
        self._progress_width = 120  # the view says how wide the progress column is

    def set_progress_width(self, width: int) -> None:
        """The progress column was resized: redraw the fills to its new width."""
        if width == self._progress_width or width <= 0:
            return
        self._progress_width = width
        with self._quietly():
            for row in range(len(self._items)):
                self._fill(row, (PROGRESS,))
        self._changed(list(range(len(self._items))), (PROGRESS, PROGRESS))

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
            label = STATUS_LABELS.get(item.state, item.state.capitalize())
            if shows_reason(item):
                return f"{label}: {reason_line(item.error)}"
            return label
        return ""

    def _tooltip(self, item: QueueItem, column: int) -> str:
        if column == NAME:
            where = "temporary (cleaned up later)" if item.is_temp else "permanent"
            source = str(item.path) if item.path is not None else "pasted text"
            return f"{item.name}\nFrom: {source}\nKept as: {where}"
        if column == STATE and item.error:
            label = STATUS_LABELS.get(item.state, item.state.capitalize())
            return f"{label}: {item.error.strip()}"
        if column == STATE and self._display(item, column) == "Waiting":
            return "Checking the file, or waiting for a free upload slot"
        if column == PROGRESS:
            return f"{human_size(item.bytes_done)} of {human_size(item.size)}"
        return self._display(item, column)

    def queue_item(self, row: int) -> QueueItem:
        return self._items[row]

    def items(self) -> list[QueueItem]:
        return list(self._items)

    def row_of(self, item_id: int) -> int | None:
        return self._rows.get(item_id)

    def find(self, item_id: int) -> QueueItem | None:
        row = self._rows.get(item_id)
        return None if row is None else self._items[row]

    # -- cells ------------------------------------------------------------------------------

    def _fill(self, row: int, columns: tuple[int, ...] | range = range(len(COLUMNS))) -> None:
        """Write one row's cells from its snapshot (signals are blocked by the caller)."""
        item = self._items[row]
        for column in columns:
            cell = super().item(row, column)
            if cell is None:
                cell = QStandardItem()
                cell.setFlags(_PROGRESS_FLAGS if column == PROGRESS else _CELL_FLAGS)
                if column in _ALIGNMENT:
                    cell.setData(_ALIGNMENT[column], Qt.ItemDataRole.TextAlignmentRole)
                self.setItem(row, column, cell)
            cell.setData(self._display(item, column), _DISPLAY)
            cell.setData(self._tooltip(item, column), _TOOLTIP)
            if column == PROGRESS:
                cell.setData(progress_brush(progress_of(item), self._progress_width),
                             _BACKGROUND)

    @contextlib.contextmanager
    def _quietly(self) -> Iterator[None]:
        """The model's signals off: the caller then says in one signal what changed."""
        blocked = self.blockSignals(True)
        try:
            yield
        finally:
            self.blockSignals(blocked)

    # -- changing (GUI thread only) ---------------------------------------------------------

    def reset(self, items: list[QueueItem]) -> None:
        self._items = []
        self._rows = {}
        self.setRowCount(0)
        self._append(list(items))

    def _append(self, items: list[QueueItem]) -> None:
        """New rows at the end: one insert notification, then their cells, then one change."""
        if not items:
            return
        first = len(self._items)
        for offset, item in enumerate(items):
            self._items.append(item)
            self._rows[item.item_id] = first + offset
        self.setRowCount(len(self._items))
        added = range(first, len(self._items))
        with self._quietly():
            for row in added:
                self._fill(row)
        self._changed(list(added))

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
        with self._quietly():
            for row in set(changed):
                self._fill(row)
        self._changed(changed)
        self._append(list(new.values()))
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
        with self._quietly():
            for row in set(changed):
                self._fill(row, _PROGRESS_COLUMNS)
        self._changed(changed, (PROGRESS, ETA))

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
