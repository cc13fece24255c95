"""The Jobs panel's list: plain job dicts (`Job.to_dict()`, its thumbnail, its inputs' names).

Live progress from the job runner, and of uploads to YouTube, is kept beside the rows, by
job id, and shown in the Status column (the view draws it as a bar, see
`JobStatusDelegate`). A full reload that was read from the database before a newer event
arrived keeps the newer row.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSize, Qt

from shorts_desktop.core.errors import ShortsError
from shorts_desktop.core.services.processing import JobProgress
from shorts_desktop.core.services.uploads import find_upload
from shorts_desktop.gui.format import clock, human_size, human_time
from shorts_desktop.gui.palette import ok_color, problem_color
from shorts_desktop.gui.thumbnails import ThumbnailCache

if TYPE_CHECKING:
    from shorts_desktop.core.db.models import Job, Upload

COLUMNS = ("Short", "Status", "Privacy", "Inputs", "Voice", "Created", "Processed")
TITLE, STATUS, PRIVACY, INPUTS, VOICE, CREATED, PROCESSED = range(len(COLUMNS))

#: The job dict behind a row.
JOB_ROLE = Qt.ItemDataRole.UserRole + 1
#: (fraction of the whole job 0..1, text) while the runner reports on it, else None.
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 2
#: The YouTube link of a published job (the Status cell shows it as a link), else None.
LINK_ROLE = Qt.ItemDataRole.UserRole + 3

STATUS_WORDS = {
    "created": "Created",
    "queued": "Queued",
    "processing": "Processing",
    "processed": "Processed",
    "publishing": "Publishing",
    "published": "Published",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
STAGE_WORDS = {
    "fetching": "Fetching the inputs",
    "narrating": "Narrating",
    "captioning": "Captioning",
    "rendering": "Rendering",
    "storing": "Storing the results",
}
#: Statuses in which the runner may still report on a job.
LIVE_STATUSES = ("queued", "processing")

_Index = QModelIndex | QPersistentModelIndex


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text and text.strip() else ""


def progress_text(progress: JobProgress) -> str:
    """Rendering… 42 % · about 0:35 left"""
    stage = STAGE_WORDS.get(progress.stage, progress.stage.capitalize())
    text = f"{stage}… {int(progress.fraction * 100)} %"
    if progress.eta_seconds is not None and progress.eta_seconds >= 1:
        text += f" · about {clock(progress.eta_seconds)} left"
    return text


def upload_text(sent: int, total: int) -> str:
    """Uploading to YouTube… 42 %"""
    if total <= 0:
        return "Getting the Short ready to upload…"
    return f"Uploading to YouTube… {min(100, sent * 100 // total)} %"


def short_link(url: str) -> str:
    """A YouTube link as a row shows it: without the scheme."""
    return url.split("://", 1)[-1]


#: Characters of an upload's id that tell same-named inputs apart.
SHORT_ID = 8


def input_name(job: dict[str, Any], kind: str, ambiguous: Collection[str] = ()) -> str:
    """The name of a job's video or transcript as the row shows it: "(deleted)" when gone,
    with a short id when its upload id is among `ambiguous` (another input has its name)."""
    upload_id = job.get(f"{kind}_upload_id")
    name = job.get(f"{kind}_name")
    if not name:
        return "—" if not upload_id else f"(unknown {kind})"
    text = str(name)
    if upload_id and str(upload_id) in ambiguous:
        text += f" · {str(upload_id)[:SHORT_ID]}"
    status = job.get(f"{kind}_status")
    return f"{text} ({status})" if status in ("deleted", "missing") else text


def inputs_text(job: dict[str, Any], ambiguous: Collection[str] = ()) -> str:
    """The Inputs cell: the video's name over the transcript's."""
    return (f"{input_name(job, 'video', ambiguous)}\n"
            f"{input_name(job, 'transcript', ambiguous)}")


def ambiguous_inputs(jobs: Iterable[dict[str, Any]]) -> set[str]:
    """Upload ids of inputs whose name another input of these jobs has too."""
    ids_by_name: dict[str, set[str]] = {}
    for job in jobs:
        for kind in ("video", "transcript"):
            name, upload_id = job.get(f"{kind}_name"), job.get(f"{kind}_upload_id")
            if name and upload_id:
                ids_by_name.setdefault(str(name).casefold(), set()).add(str(upload_id))
    return {i for ids in ids_by_name.values() if len(ids) > 1 for i in ids}


def status_text(job: dict[str, Any]) -> str:
    status = str(job.get("status") or "")
    if status == "processing":
        stage = job.get("stage")
        return f"{STAGE_WORDS.get(stage, 'Processing')}…" if stage else "Processing…"
    if status == "processed":
        reason = first_line(str(job.get("error") or ""))
        if reason:  # an upload to YouTube that failed or was stopped
            return f"Not published: {reason}"
        length = clock((job.get("render_info") or {}).get("duration"))
        return f"Ready · {length}" if length else "Ready"
    if status == "publishing":
        return "Upload interrupted"
    if status == "published" and job.get("published_video_url"):
        return f"Published · {short_link(str(job['published_video_url']))}"
    if status == "failed":
        reason = first_line(str(job.get("error") or ""))
        return f"Failed: {reason}" if reason else "Failed"
    return STATUS_WORDS.get(status, status.capitalize())


def job_row(job: Job, video_thumbnails: dict[str, bytes] | None = None,
            inputs: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    """A job as the list shows it: `to_dict()` plus the thumbnail, which is the Short's once
    it is made and the source video's until then, and the names (and statuses) of its
    inputs, from `inputs` (upload id -> (name, status)) or else the database. Runs in a
    worker."""
    row = job.to_dict()
    thumbnail: bytes | None = bytes(job.thumbnail) if job.thumbnail else None
    found: dict[str, Upload | None] = {}

    def upload(upload_id: str) -> Upload | None:
        if upload_id not in found:
            try:
                found[upload_id] = find_upload(upload_id)
            except ShortsError:
                found[upload_id] = None
        return found[upload_id]

    if thumbnail is None and row.get("video_upload_id"):
        if video_thumbnails is not None:
            thumbnail = video_thumbnails.get(str(row["video_upload_id"]))
        else:
            video = upload(str(row["video_upload_id"]))
            if video is not None and video.thumbnail:
                thumbnail = bytes(video.thumbnail)
    row["thumbnail"] = thumbnail
    for kind in ("video", "transcript"):
        upload_id = row.get(f"{kind}_upload_id")
        if not upload_id:
            continue
        known = inputs.get(str(upload_id)) if inputs is not None else None
        if known is None:
            source = upload(str(upload_id))
            known = (source.original_name, source.status) if source is not None else None
        if known is not None:
            row[f"{kind}_name"], row[f"{kind}_status"] = known
    # Whether an upload to YouTube was started and can continue (the session itself is a
    # capability and stays in the database).
    row["resumable"] = bool(getattr(job, "youtube_session_uri", None))
    return row


class JobsTableModel(QAbstractTableModel):
    """Rows are job dicts; the first column's UserRole is the job id and its decoration
    the thumbnail (the Short's once made, else the source video's)."""

    def __init__(self, thumbnail_box: QSize | None = None) -> None:
        super().__init__()
        self._rows: list[dict[str, Any]] = []
        self._progress: dict[str, JobProgress] = {}
        self._uploads: dict[str, tuple[int, int]] = {}  # job id -> (sent, total) to YouTube
        self._stamps: dict[str, float] = {}  # job id -> when a single-row update arrived
        self.thumbnails = ThumbnailCache(thumbnail_box or QSize(84, 48))
        self._ambiguous: set[str] = set()  # inputs shown with a short id (see input_name)

    # -- changing ---------------------------------------------------------------------------

    @staticmethod
    def now() -> float:
        return time.monotonic()

    def set_jobs(self, jobs: list[dict[str, Any]], read_at: float | None = None) -> None:
        """All rows, as read from the database at `read_at` (a `now()`); rows updated one by
        one since then are kept as they are, not replaced by the older reading."""
        newer: dict[str, dict[str, Any]] = {}
        if read_at is not None:
            newer = {str(r["id"]): r for r in self._rows
                     if self._stamps.get(str(r["id"]), -1.0) > read_at}
        rows = [newer.pop(str(j["id"]), j) for j in jobs]
        rows = list(newer.values()) + rows  # made since the reading: they are the newest
        self.beginResetModel()
        self._rows = rows
        ids = {str(r["id"]) for r in rows}
        self._progress = {k: v for k, v in self._progress.items() if k in ids}
        self._uploads = {k: v for k, v in self._uploads.items() if k in ids}
        self._drop_stale_progress()
        self._ambiguous = ambiguous_inputs(rows)
        self.endResetModel()

    def update_job(self, job: dict[str, Any]) -> None:
        """Replace one row by id (a new job goes to the top)."""
        job_id = str(job["id"])
        self._stamps[job_id] = self.now()
        row = self.row_of(job_id)
        if row is None:
            self.beginInsertRows(QModelIndex(), 0, 0)
            self._rows.insert(0, job)
            self.endInsertRows()
            self._inputs_changed()
            return
        old = self._rows[row]
        if job.get("thumbnail") is None and old.get("thumbnail") is not None \
                and "thumbnail" not in job:
            job = {**job, "thumbnail": old["thumbnail"]}
        self._rows[row] = job
        if job.get("status") not in LIVE_STATUSES:
            self._progress.pop(job_id, None)
        self._changed(row)
        self._inputs_changed()

    def set_status(self, job_id: str, status: str) -> None:
        """What the runner said before the database is read again (e.g. queued)."""
        row = self.row_of(job_id)
        if row is None:
            return
        self._stamps[job_id] = self.now()
        job = self._rows[row]
        self._rows[row] = {**job, "status": status, "error": None if status == "queued"
                           else job.get("error"), "stage": None}
        if status not in LIVE_STATUSES:
            self._progress.pop(job_id, None)
        self._changed(row)

    def set_progress(self, progress: JobProgress) -> None:
        row = self.row_of(progress.job_id)
        if row is None:
            return
        job = self._rows[row]
        self._progress[progress.job_id] = progress
        if job.get("status") != "processing" or job.get("stage") != progress.stage:
            self._stamps[progress.job_id] = self.now()
            self._rows[row] = {**job, "status": "processing", "stage": progress.stage,
                               "error": None}
        self._changed(row, STATUS, STATUS)

    def set_upload_progress(self, job_id: str, sent: int, total: int) -> None:
        """The window is uploading this job to YouTube: `sent` of `total` bytes confirmed
        (total 0: the Short is being got ready). Kept until `clear_upload_progress`."""
        row = self.row_of(job_id)
        if row is None:
            return
        self._uploads[job_id] = (sent, total)
        self._changed(row, STATUS, STATUS)

    def clear_upload_progress(self, job_id: str) -> None:
        if self._uploads.pop(job_id, None) is not None:
            row = self.row_of(job_id)
            if row is not None:
                self._changed(row, STATUS, STATUS)

    def upload_progress(self, job_id: str) -> tuple[int, int] | None:
        return self._uploads.get(job_id)

    def clear_progress(self, job_id: str) -> None:
        if self._progress.pop(job_id, None) is not None:
            row = self.row_of(job_id)
            if row is not None:
                self._changed(row, STATUS, STATUS)

    def _drop_stale_progress(self) -> None:
        live = {str(r["id"]) for r in self._rows if r.get("status") in LIVE_STATUSES}
        self._progress = {k: v for k, v in self._progress.items() if k in live}

    def _inputs_changed(self) -> None:
        """Names may be shared by more (or fewer) inputs now: repaint the Inputs column."""
        ambiguous = ambiguous_inputs(self._rows)
        if ambiguous != self._ambiguous:
            self._ambiguous = ambiguous
            if self._rows:
                self.dataChanged.emit(self.index(0, INPUTS),
                                      self.index(len(self._rows) - 1, INPUTS))

    def _changed(self, row: int, first: int = 0, last: int = len(COLUMNS) - 1) -> None:
        self.dataChanged.emit(self.index(row, first), self.index(row, last))

    # -- reading ----------------------------------------------------------------------------

    def job(self, row: int) -> dict[str, Any]:
        return self._rows[row]

    def jobs(self) -> list[dict[str, Any]]:
        return list(self._rows)

    def job_by_id(self, job_id: str) -> dict[str, Any] | None:
        row = self.row_of(job_id)
        return None if row is None else self._rows[row]

    def row_of(self, job_id: str) -> int | None:
        for row, job in enumerate(self._rows):
            if job["id"] == job_id:
                return row
        return None

    def progress(self, job_id: str) -> JobProgress | None:
        return self._progress.get(job_id)

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
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(job, column)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            bar = self._bar(job) if column == STATUS else None
            if bar is not None:
                return bar[1]
            if column == STATUS and job.get("status") == "published" \
                    and job.get("published_video_url"):
                return f"Published: {job['published_video_url']}"
            if column == INPUTS:
                return (f"Video {input_name(job, 'video', self._ambiguous)}, "
                        f"transcript {input_name(job, 'transcript', self._ambiguous)}")
            return self._display(job, column)
        if role == Qt.ItemDataRole.DecorationRole and column == TITLE:
            pixmap = self.thumbnails.get(self._thumb_key(job), job.get("thumbnail"))
            return pixmap if pixmap is not None else self.thumbnails.placeholder("video")
        if role == Qt.ItemDataRole.ForegroundRole and column == STATUS:
            status = job.get("status")
            if status == "failed":
                return problem_color()
            if status == "processed":
                if job.get("error"):  # not published; a stopped upload is no problem
                    return None if job.get("resumable") else problem_color()
                return ok_color()
            if status == "published":
                return ok_color()
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(job, column)
        if role == PROGRESS_ROLE and column == STATUS:
            return self._bar(job)
        if role == LINK_ROLE and column == STATUS:
            url = job.get("published_video_url")
            return str(url) if url and job.get("status") == "published" else None
        if role == JOB_ROLE:
            return job
        if role == Qt.ItemDataRole.UserRole:
            return job["id"]
        return None

    def _bar(self, job: dict[str, Any]) -> tuple[float, str] | None:
        """(fraction, text) of the Status cell's bar, or None when it shows no bar."""
        upload = self._uploads.get(str(job["id"]))
        if upload is not None:
            sent, total = upload
            return (sent / total if total > 0 else 0.0, upload_text(sent, total))
        progress = self._progress.get(job["id"])
        if progress is None or job.get("status") != "processing":
            return None
        return (progress.fraction, progress_text(progress))

    @staticmethod
    def _thumb_key(job: dict[str, Any]) -> tuple[str, int]:
        data = job.get("thumbnail")
        return (str(job["id"]), hash(data) if data else 0)

    def _display(self, job: dict[str, Any], column: int) -> str:
        if column == TITLE:
            return str(job["title"])
        if column == STATUS:
            return status_text(job)
        if column == PRIVACY:
            return str(job.get("privacy") or "private").capitalize()
        if column == INPUTS:
            return inputs_text(job, self._ambiguous)
        if column == VOICE:
            return str(job.get("voice") or "").capitalize()
        if column == CREATED:
            return human_time(job.get("created_at"))
        return human_time(job.get("processed_at")) if job.get("processed_at") else ""

    def _tooltip(self, job: dict[str, Any], column: int) -> str | None:
        if column == TITLE:
            tip = f"{job['title']}\nid {job['id']}"
            if job.get("tags"):
                tip += "\n#" + " #".join(str(t) for t in job["tags"])
            if job.get("published_video_url"):
                tip += f"\n{job['published_video_url']}"
            return tip
        if column == STATUS:
            status = job.get("status")
            if status == "failed":
                return str(job.get("error") or "Failed") + "\n\nRetry makes it again."
            bar = self._bar(job)
            if bar is not None:
                upload = self._uploads.get(str(job["id"]))
                if upload is not None and upload[1] > 0:
                    return (f"{bar[1]}\n{human_size(float(upload[0]))} of "
                            f"{human_size(float(upload[1]))} confirmed by YouTube")
                return bar[1]
            if status == "processed" and job.get("error"):
                again = ("Resume upload continues where it stopped." if job.get("resumable")
                         else "Publish… tries again.")
                return f"{job['error']}\n\n{again}"
            if status == "publishing":
                return ("The upload to YouTube stopped before it finished (or another Shorts "
                        "Desktop is uploading it).\nResume upload continues where it stopped.")
            if status == "published":
                url = job.get("published_video_url")
                when = f"Published {human_time(job.get('published_at'))}"
                return f"{when}\n{url}\nClick the link to watch it on YouTube." if url else when
            if status == "processed":
                info = job.get("render_info") or {}
                parts = [f"Made {human_time(job.get('processed_at'))}"]
                if info.get("duration"):
                    parts.append(clock(info["duration"]))
                if info.get("size"):
                    parts.append(human_size(float(info["size"])))
                if info.get("provider"):
                    parts.append(f"narration: {info['provider']}")
                return " · ".join(parts) + "\nDouble-click to watch it."
            return status_text(job)
        if column == INPUTS:
            lines = []
            for kind in ("video", "transcript"):
                upload_id = job.get(f"{kind}_upload_id")
                line = f"{kind.capitalize()}: {input_name(job, kind, self._ambiguous)}"
                lines.append(f"{line}\nid {upload_id}" if upload_id else line)
            return "\n".join(lines)
        if column == PRIVACY:
            return {"private": "Only you can see it on YouTube",
                    "unlisted": "Anyone with the link can see it; it is not listed",
                    "public": "Everyone can see it on YouTube"}.get(
                        str(job.get("privacy") or "private"), self._display(job, column))
        return self._display(job, column) or None
