"""The library's table model: every upload as a plain dict, filtered and sorted in Python.

Filtering and sorting happen here rather than in a QSortFilterProxyModel: the proxy would
call back into Python for every comparison (millions of calls at 100,000 rows), while a
list of row numbers sorted with a key function takes a few tens of milliseconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QModelRoleData,
    QModelRoleDataSpan,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QPixmap

from shorts_desktop.gui.format import clock, human_size, human_time, resolution
from shorts_desktop.gui.thumbnails import ThumbnailCache

Index = QModelIndex | QPersistentModelIndex
Row = dict[str, Any]

#: The dict behind a row (Upload.to_dict()).
ROW_ROLE = Qt.ItemDataRole.UserRole + 1

_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

COLUMNS = ("Name", "Kind", "Length", "Picture", "Size", "Kept as", "Status", "Uploaded",
           "Stored at")
NAME, KIND, LENGTH, PICTURE, SIZE, KEPT, STATUS, UPLOADED, KEY = range(len(COLUMNS))
#: Columns whose numbers line up on the right.
_NUMERIC = frozenset({LENGTH, PICTURE, SIZE})
#: The thumbnail beside a name: 16:9, as high as a row allows.
THUMBNAIL_BOX = QSize(40, 22)

STATUS_LABELS = {
    "queued": "Queued",
    "uploading": "Uploading",
    "paused": "Paused",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "deleted": "Deleted",
    "missing": "Missing",
}

#: What a missing upload's row says when nothing more is known.
MISSING_REASON = "no longer in storage"
#: Statuses whose row says why (the reason is in the upload's `error`).
_EXPLAINED = ("failed", "missing")
#: At most this many different status texts are measured for the Status column's width.
_STATUS_SAMPLES = 200


def reason_line(text: object) -> str:
    """The first line of an error message: what a table cell shows of it."""
    stripped = str(text or "").strip()
    return stripped.splitlines()[0] if stripped else ""


def status_text(row: Row, duplicate: bool = False) -> str:
    """The Status cell: "Completed", "Failed: <why>", "Missing: <why>", or "Duplicate" for
    a completed upload whose content is in the library more than once."""
    status = str(row.get("status") or "")
    label = STATUS_LABELS.get(status, status.capitalize())
    if status in _EXPLAINED:
        reason = reason_line(row.get("error")) or (MISSING_REASON if status == "missing" else "")
        return f"{label}: {reason}" if reason else label
    if duplicate and status == "completed":
        return "Duplicate"
    return label


_SORT_KEYS: dict[int, Callable[[Row], Any]] = {
    NAME: lambda r: (r.get("original_name") or "").casefold(),
    KIND: lambda r: r.get("kind") or "",
    LENGTH: lambda r: r.get("duration") or -1.0,
    PICTURE: lambda r: (r.get("width") or 0) * (r.get("height") or 0),
    SIZE: lambda r: r.get("size") or 0,
    KEPT: lambda r: bool(r.get("is_temp")),
    STATUS: lambda r: r.get("status") or "",
    UPLOADED: lambda r: r.get("created_at") or "",
    KEY: lambda r: r.get("key") or r.get("file_path") or "",
}


@dataclass(frozen=True)
class LibraryFilter:
    """What the library shows: None means "any"."""

    kind: str | None = None
    is_temp: bool | None = None
    status: str | None = None
    text: str = ""
    #: Only uploads whose content (SHA-256) is in the library more than once.
    duplicates: bool = False

    def accepts(self, row: Row, haystack: str, words: list[str]) -> bool:
        if self.kind is not None and row.get("kind") != self.kind:
            return False
        if self.is_temp is not None and bool(row.get("is_temp")) != self.is_temp:
            return False
        if self.status is not None and row.get("status") != self.status:
            return False
        return all(word in haystack for word in words)


def _may_have_picture(row: Row) -> bool:
    """A stored picture, or a completed video one can be made of."""
    return bool(row.get("has_thumbnail")) or (
        row.get("kind") == "video" and row.get("status") == "completed")


def _haystack(row: Row) -> str:
    return "\n".join(
        str(row.get(k) or "") for k in ("original_name", "key", "id", "file_path")
    ).casefold()


class UploadsModel(QAbstractTableModel):
    """All uploads; `visible` rows are the ones that pass the filter, in sort order."""

    #: Upload ids whose pictures a painted row needs and the rows do not carry: rows are
    #: loaded without their JPEGs, which are read (or made) only for the rows on screen.
    thumbnails_wanted = Signal(list)

    def __init__(self, parent: Any = None, thumbnail_box: QSize = THUMBNAIL_BOX) -> None:
        super().__init__(parent)
        self.thumbnails = ThumbnailCache(thumbnail_box)
        self._asked: set[str] = set()  # wanted and not delivered (or none could be had)
        self._wanted: list[str] = []
        self._want_timer = QTimer(self)
        self._want_timer.setSingleShot(True)
        self._want_timer.setInterval(0)
        self._want_timer.timeout.connect(self._emit_wanted)
        self._all: list[Row] = []
        self._haystacks: list[str] = []
        self._visible: list[int] = []
        self._filter = LibraryFilter()
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._sort_keys: dict[int, list[Any]] = {}  # column -> key of every row, built lazily
        # upload id -> the other completed uploads with the same content, oldest first
        self._same: dict[str, list[Row]] = {}
        self._status_samples: list[str] = []

    # -- reading ----------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._visible)

    def index(self, row: int, column: int,
              parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        """One call per cell: Qt's own index() asks rowCount and columnCount each time."""
        if parent.isValid() or not (0 <= row < len(self._visible)
                                    and 0 <= column < len(COLUMNS)):
            return QModelIndex()
        return self.createIndex(row, column)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section in _NUMERIC:
            return _RIGHT
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._all[self._visible[index.row()]]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMERIC:
            return _RIGHT
        if role == Qt.ItemDataRole.DecorationRole and column == NAME:
            return self.thumbnail(row)
        return None

    def multiData(self, index: Index, span: QModelRoleDataSpan | QModelRoleData) -> None:
        """What a view paints a cell with, in one call instead of one per role: while
        uploads run, every call from Qt into Python waits its turn for the GIL."""
        if not index.isValid():
            return
        row = self._all[self._visible[index.row()]]
        column = index.column()
        # A span indexes like a sequence (its stubs do not say so).
        cells = ([span] if isinstance(span, QModelRoleData)
                 else cast("Sequence[QModelRoleData]", span))
        # The view reuses one span for every cell: a role this cell has no value for is
        # cleared, or it would keep the previous cell's (its picture, its alignment).
        for role_data in cells:
            role = role_data.role()
            if role == _DISPLAY:
                role_data.setData(self._display(row, column))
            elif role == _ALIGNMENT and column in _NUMERIC:
                role_data.setData(_RIGHT)
            elif role == _DECORATION and column == NAME:
                role_data.setData(self.thumbnail(row))
            else:
                role_data.clearData()

    def thumbnail(self, row: Row) -> QPixmap:
        """The video's picture (decoded once, kept by upload id), else a placeholder; a
        picture the row does not carry is asked for (`thumbnails_wanted`) once."""
        key = str(row.get("id"))
        data = row.get("thumbnail")
        pixmap = self.thumbnails.get(key, data) if data else self.thumbnails.cached(key)
        if pixmap is not None:
            return pixmap
        if not data and key not in self._asked and _may_have_picture(row):
            self._asked.add(key)
            self._wanted.append(key)
            self._want_timer.start()
        return self.thumbnails.placeholder("transcript" if row.get("kind") == "transcript"
                                           else "video")

    def _emit_wanted(self) -> None:
        wanted, self._wanted = self._wanted, []
        if wanted:
            self.thumbnails_wanted.emit(wanted)

    def add_thumbnails(self, pictures: dict[str, bytes]) -> None:
        """Pictures read or made for rows on screen: kept decoded (not as bytes in the
        rows), repainted. An id asked for and not given here is not asked for again."""
        if not pictures:
            return
        for key, data in pictures.items():
            if self.thumbnails.get(key, data) is not None:
                self._asked.discard(key)  # if the cache lets it go, it is read again
        if self._visible:  # the view repaints the cells on screen, not 100,000 rows
            self.dataChanged.emit(self.index(0, NAME), self.index(len(self._visible) - 1, NAME),
                                  [Qt.ItemDataRole.DecorationRole])

    def _display(self, row: Row, column: int) -> str:
        if column == NAME:
            return str(row.get("original_name") or "")
        if column == KIND:
            return "Video" if row.get("kind") == "video" else "Transcript"
        if column == LENGTH:
            return clock(row.get("duration"))
        if column == PICTURE:
            return resolution(row.get("width"), row.get("height"))
        if column == SIZE:
            return human_size(row.get("size") or 0)
        if column == KEPT:
            return "Temporary" if row.get("is_temp") else "Permanent"
        if column == STATUS:
            return status_text(row, bool(self._same) and str(row.get("id")) in self._same)
        if column == UPLOADED:
            return human_time(row.get("created_at"))
        if column == KEY:
            return str(row.get("key") or row.get("file_path") or "")
        return ""

    def _tooltip(self, row: Row, column: int) -> str:
        if column == NAME:
            lines = [str(row.get("original_name") or "")]
            where = row.get("key") or row.get("file_path")
            if where:
                lines.append(f"Stored at: {where}")
            lines.append(f"Upload id: {row.get('id')}")
            lines.extend(self._same_lines(row))
            return "\n".join(lines)
        if column == PICTURE and row.get("width") and row.get("height"):
            shape = "portrait" if row["height"] > row["width"] else "landscape"
            if row["height"] == row["width"]:
                shape = "square"
            return f"{self._display(row, column)} pixels, {shape}"
        if column == STATUS:
            status = str(row.get("status") or "")
            label = STATUS_LABELS.get(status, status.capitalize())
            if status in _EXPLAINED:  # the whole reason, not only its first line
                reason = str(row.get("error") or "").strip() or (
                    MISSING_REASON if status == "missing" else "")
                return f"{label}: {reason}" if reason else label
            if row.get("error") and status != "completed":
                return f"{label}: {row['error']}"
            same = self._same_lines(row)
            return "\n".join([label, *same]) if same else label
        if column == KEPT:
            if row.get("is_temp"):
                return "Temporary: removed by cleanup after a while; make it permanent to keep it."
            return "Permanent: kept until you delete it."
        if column == KEY:
            where = row.get("bucket") or "local library"
            return f"{self._display(row, column)}\nin {where}"
        return self._display(row, column)

    def _same_lines(self, row: Row) -> list[str]:
        others = self._same.get(str(row.get("id"))) if self._same else None
        if not others:
            return []
        lines = ["The same content is in the library as:"]
        lines.extend(f"• {o.get('original_name')} (uploaded "
                     f"{human_time(o.get('completed_at') or o.get('created_at'))})"
                     for o in others[:5])
        if len(others) > 5:
            lines.append(f"… and {len(others) - 5} more")
        return lines

    def same_content(self, upload_id: str) -> list[Row]:
        """The other completed uploads with the same content as this one, oldest first."""
        return list(self._same.get(upload_id, ()))

    def duplicate_count(self) -> int:
        """How many uploads share their content with another one."""
        return len(self._same)

    def status_samples(self) -> list[str]:
        """The Status texts longer than a plain status (reasons, duplicates), for sizing
        the column: a few hundred different ones at most."""
        return list(self._status_samples)

    def row_dict(self, row: int) -> Row:
        return self._all[self._visible[row]]

    def rows(self, visible_rows: Iterable[int]) -> list[Row]:
        return [self.row_dict(r) for r in visible_rows]

    def total_count(self) -> int:
        return len(self._all)

    def visible_ids(self) -> list[str]:
        return [str(self._all[i]["id"]) for i in self._visible]

    def visible_row_of(self, upload_id: str) -> int | None:
        for row, i in enumerate(self._visible):
            if self._all[i].get("id") == upload_id:
                return row
        return None

    @property
    def filter(self) -> LibraryFilter:
        return self._filter

    # -- changing ---------------------------------------------------------------------------

    def set_rows(self, rows: list[Row]) -> None:
        self.beginResetModel()
        self._all = list(rows)
        self._sort_keys = {}
        self._haystacks = [_haystack(r) for r in self._all]
        self._survey()
        self._visible = self._filtered()
        self.endResetModel()

    def set_filter(self, flt: LibraryFilter) -> None:
        if flt == self._filter:
            return
        self.beginResetModel()
        self._filter = flt
        self._visible = self._filtered()
        self.endResetModel()

    def update_rows(self, rows: Iterable[Row]) -> None:
        """Replace rows by id (e.g. after a promote); rows with status `deleted` leave."""
        changed = {str(r["id"]): r for r in rows}
        if not changed:
            return
        self.beginResetModel()
        kept: list[Row] = []
        for row in self._all:
            new = changed.get(str(row.get("id")), row)
            for key in ("thumbnail", "has_thumbnail"):  # the picture does not change
                if key not in new and row.get(key):
                    new = {**new, key: row[key]}
            if new.get("status") != "deleted":
                kept.append(new)
        self._all = kept
        self._sort_keys = {}
        self._haystacks = [_haystack(r) for r in self._all]
        self._survey()
        self._visible = self._filtered()
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if column not in _SORT_KEYS:
            return
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        sources = [self._visible[p.row()] if p.isValid() else -1 for p in persistent]
        self._sort_visible()
        if persistent:
            where = [-1] * len(self._all)  # index in _all -> row shown
            for row, i in enumerate(self._visible):
                where[i] = row
            new = [
                self.index(where[i], p.column()) if i >= 0 else QModelIndex()
                for p, i in zip(persistent, sources, strict=True)
            ]
            self.changePersistentIndexList(persistent, new)
        self.layoutChanged.emit()

    # -- internals --------------------------------------------------------------------------

    def _survey(self) -> None:
        """Find the uploads with the same content (completed, same SHA-256) and the
        status texts that say more than a status."""
        sums = [str(r.get("checksum") or "") if r.get("status") == "completed" else ""
                for r in self._all]
        counts = Counter(sums)
        counts.pop("", None)
        groups: dict[str, list[Row]] = {}
        for row, checksum in zip(self._all, sums, strict=True):
            if checksum and counts[checksum] > 1:
                groups.setdefault(checksum, []).append(row)
        same: dict[str, list[Row]] = {}
        for group in groups.values():
            group.sort(key=lambda r: r.get("completed_at") or r.get("created_at") or "")
            for row in group:
                same[str(row.get("id"))] = [o for o in group if o is not row]
        self._same = same
        samples: dict[str, None] = {}
        for row in self._all:
            if len(samples) >= _STATUS_SAMPLES:
                break
            if row.get("status") in _EXPLAINED or str(row.get("id")) in same:
                samples[self._display(row, STATUS)] = None
        self._status_samples = list(samples)

    def _filtered(self) -> list[int]:
        flt = self._filter
        words = flt.text.casefold().split()
        if flt == LibraryFilter(text=flt.text) and not words:
            visible = list(range(len(self._all)))
        else:
            rows, hay = self._all, self._haystacks
            same = self._same
            visible = [i for i in range(len(rows))
                       if (not flt.duplicates or str(rows[i].get("id")) in same)
                       and flt.accepts(rows[i], hay[i], words)]
        self._visible = visible
        self._sort_visible()
        return self._visible

    def _sort_visible(self) -> None:
        if self._sort is None:
            return
        column, order = self._sort
        keys = self._sort_keys.get(column)
        if keys is None:
            key = _SORT_KEYS[column]
            keys = self._sort_keys[column] = [key(r) for r in self._all]
        self._visible.sort(key=keys.__getitem__,
                           reverse=order == Qt.SortOrder.DescendingOrder)
