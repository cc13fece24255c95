"""The Jobs panel's list: plain job dicts (from `Job.to_dict()`) as a table model."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from shorts_desktop.gui.format import human_time

COLUMNS = ("Title", "Status", "Voice", "Created")

STATUS_WORDS = {
    "created": "Created",
    "queued": "Queued",
    "processing": "Processing",
    "processed": "Processed",
    "published": "Published",
    "failed": "Failed",
    "cancelled": "Cancelled",
}

_Index = QModelIndex | QPersistentModelIndex


class JobsTableModel(QAbstractTableModel):
    """Rows are job dicts; the first column's UserRole is the job id."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[dict[str, Any]] = []

    def set_jobs(self, jobs: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self._rows = list(jobs)
        self.endResetModel()

    def job(self, row: int) -> dict[str, Any]:
        return self._rows[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        job = self._rows[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if column == 0:
                return job["title"]
            if column == 1:
                return STATUS_WORDS.get(job["status"], job["status"])
            if column == 2:
                return str(job["voice"]).capitalize()
            return human_time(job.get("created_at"))
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0:
                tip = f"{job['title']}\nid {job['id']}"
                if job.get("published_video_url"):
                    tip += f"\n{job['published_video_url']}"
                return tip
            if column == 1 and job.get("error"):
                return str(job["error"])
        if role == Qt.ItemDataRole.UserRole:
            return job["id"]
        return None
