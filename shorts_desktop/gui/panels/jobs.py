"""The Jobs panel: the New job form (`job_form.py`) over the list of jobs.

The list shows each job's thumbnail, its privacy and inputs, its stage and, while the job
runner makes it, a progress bar with an estimate of the time left (the runner's events
reach the GUI thread through `JobEventBridge`, at most ten repaints a second). Process,
Cancel, Retry, Preview, Download and Copy link act on the selection; every one of them
runs its work (database, storage, disk) in a worker.

Publish… sends a processed Short to the connected YouTube channel after a small
confirmation (title, privacy, channel, an optional schedule); the upload runs in a worker
with its bar in the row, can be stopped between two chunks and resumed later from what
YouTube already holds. A published row shows its YouTube link, which opens on a click.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QDateTime,
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPoint,
    QSize,
    QStandardPaths,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from shorts_desktop.core.errors import ShortsError
from shorts_desktop.core.publish.errors import RECONNECT, ReconnectNeeded, UploadCancelled
from shorts_desktop.core.services.jobs import TRANSITIONS
from shorts_desktop.core.services.processing import JobProgress
from shorts_desktop.core.storage.keys import safe_name
from shorts_desktop.core.units import plural
from shorts_desktop.gui.fonts import with_emoji
from shorts_desktop.gui.format import lifetime
from shorts_desktop.gui.job_events import JobEventBridge
from shorts_desktop.gui.models.jobs_table import (
    COLUMNS,
    CREATED,
    INPUTS,
    LINK_ROLE,
    LIVE_STATUSES,
    PROCESSED,
    STATUS,
    TITLE,
    VOICE,
    JobsTableModel,
    job_row,
)
from shorts_desktop.gui.models.jobs_table import PRIVACY as PRIVACY_COLUMN
from shorts_desktop.gui.panels.base import (
    EmptyHint,
    MessageBanner,
    Panel,
    heading,
    list_table,
    make_action,
    problem_style,
)
from shorts_desktop.gui.panels.job_delegates import (
    JobStatusDelegate,
    JobTitleDelegate,
    NameDelegate,
)
from shorts_desktop.gui.panels.job_form import JobForm
from shorts_desktop.gui.panels.publish_dialog import PublishDialog
from shorts_desktop.gui.panels.upload_picker import upload_row

if TYPE_CHECKING:
    from shorts_desktop.app import Services
    from shorts_desktop.gui.tasks import TaskRunner

#: While a job the window's runner does not make (the command line's) is running, the list
#: is read again this often, so it shows when that job ends.
POLL_MS = 5000
#: A job in one of these may be made (again).
PROCESSABLE = ("created", "failed", "cancelled")
#: A job in one of these has a Short to watch, download or share.
HAS_SHORT = ("processed", "publishing", "published")
STOP_WARNING = "Stop making this Short? What was rendered so far is thrown away."
STOP_UPLOAD_WARNING = (
    "Stop uploading this Short to YouTube? The part being sent finishes first; what YouTube "
    "has received is kept, and Resume upload continues from there."
)
NO_ACCOUNT = (
    "No YouTube account is connected yet. Connect your channel in Settings (you sign in with "
    "Google in your browser), then publish."
)
AFTER_PUBLISH_WORDS = {
    "delete": "its temporary inputs are deleted",
    "promote": "its temporary inputs are made permanent",
    "keep": "its inputs are left as they are",
}


def cleanup_words(result: dict[str, Any]) -> list[str]:
    """What the cleanup after publishing did to the job's inputs, a clause each."""
    said = []
    if result["deleted"]:
        said.append(f"{plural(result['deleted'], 'temporary input')} deleted")
    if result["promoted"]:
        said.append(f"{plural(result['promoted'], 'input')} made permanent")
    if result["kept"]:
        them = "it" if result["kept"] == 1 else "them"
        said.append(f"{plural(result['kept'], 'input')} kept: another job needs {them}")
    return said


def open_url(url: QUrl) -> bool:
    """Open a file or link with the desktop's application for it (a seam for tests)."""
    return bool(QDesktopServices.openUrl(url))


def _titles(jobs: list[dict[str, Any]]) -> str:
    if len(jobs) == 1:
        return f"“{jobs[0]['title']}”"
    return f"{len(jobs)} jobs"


#: The Short column keeps at least this much of a narrow window (its title, its tags).
MIN_TITLE_WIDTH = 280


@dataclass
class _Upload:
    """A YouTube upload this window runs: how to stop it, and whether its worker ended."""

    title: str
    cancel: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)


class JobsPanel(Panel):
    """Make jobs from completed uploads; list them, make their Shorts and move them along."""

    title = "Jobs"
    object_name = "jobsPanel"

    #: Emitted with a job dict after a job was created, cancelled, made or published.
    jobs_changed = Signal(object)
    #: Emitted with (title, sentence) when a Short is ready or could not be made, or when
    #: it is on YouTube or could not be published.
    notice = Signal(str, str)
    #: Emitted when the user asks to connect a YouTube account (the window opens Settings).
    connect_youtube_requested = Signal()

    def __init__(self, services: Services, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(services, runner, parent)
        self._loading = False
        self._reload_again = False
        self._reloading_rows: set[str] = set()
        self._download_sizes: dict[str, int] = {}
        self._uploads: dict[str, _Upload] = {}  # job id -> the upload this window runs
        self._checking: set[str] = set()  # jobs whose account check runs before Publish
        self._publish_after_connect: str | None = None
        self.publish_dialog: PublishDialog | None = None
        self.events = JobEventBridge(self)
        self.events.queued.connect(self._job_queued)
        self.events.progress.connect(self._job_progress)
        self.events.finished.connect(self._job_finished)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._poll_elsewhere)
        self._poll.start()

        layout = self.page_layout()
        layout.addWidget(heading(self.title))
        self.form = JobForm(services, runner)
        self.form.created.connect(self._created)
        layout.addWidget(self.form)
        layout.addWidget(self._build_list(), 1)
        self._subscribe()

    # -- construction -----------------------------------------------------------------------

    def _build_list(self) -> QGroupBox:
        box = QGroupBox("Jobs")
        box.setObjectName("jobsBox")
        metrics = self.fontMetrics()
        row_height = max(56, metrics.height() * 2 + 16)
        thumb = QSize(round((row_height - 8) * 16 / 9), row_height - 8)
        self.jobs_model = JobsTableModel(thumb)
        samples = {STATUS: "Rendering… 100 % · about 10:00 left", PRIVACY_COLUMN: "Unlisted",
                   INPUTS: "holiday-clip-2026.mp4", VOICE: "Shimmer",
                   CREATED: "2026-12-31 23:59", PROCESSED: "2026-12-31 23:59"}
        view = list_table(self, self.jobs_model, COLUMNS, TITLE, samples)
        view.setObjectName("jobsTable")
        view.setAccessibleName("Jobs")
        view.setFont(with_emoji(view.font()))
        view.setIconSize(thumb)
        view.setTextElideMode(Qt.TextElideMode.ElideRight)
        view.verticalHeader().setDefaultSectionSize(row_height)
        view.setItemDelegateForColumn(STATUS, JobStatusDelegate(view))
        view.setItemDelegateForColumn(TITLE, JobTitleDelegate(view))
        view.setItemDelegateForColumn(INPUTS, NameDelegate(view))
        view.customContextMenuRequested.connect(self._context_menu)
        view.doubleClicked.connect(self._double_clicked)
        view.setMouseTracking(True)  # the pointer becomes a hand over a YouTube link
        view.entered.connect(self._hovered)
        self.status_delegate = view.itemDelegateForColumn(STATUS)
        assert isinstance(self.status_delegate, JobStatusDelegate)
        self.status_delegate.link_activated.connect(self.open_link)
        self.jobs_view = view
        self.empty_hint = EmptyHint(
            view, "No jobs yet. Fill in the form above and press Create job: each job becomes "
            "a Short (reframed to 9:16, narrated, captioned) to preview, download or publish "
            "from here.", "jobsEmpty")
        header = view.horizontalHeader()
        #: Column widths for a wide window; a narrow one takes from the elidable ones first,
        #: down to what still reads, so that the titles keep their room.
        self._column_widths = {column: header.sectionSize(column) for column in samples}
        self._column_floors = {
            STATUS: metrics.horizontalAdvance("Rendering… 100 %") + 16,
            INPUTS: metrics.horizontalAdvance("holiday….mp4") + 16,
            CREATED: metrics.horizontalAdvance(samples[CREATED]) + 12,
            PROCESSED: metrics.horizontalAdvance(samples[PROCESSED]) + 12,
        }
        view.viewport().installEventFilter(self)  # resized once the scroll bars are placed
        self.banner = MessageBanner("jobsBanner", "Jobs message", "Dismiss the jobs message")
        self._banner_offers_connect = False

        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self.process_action = make_action(
            self, "Proc&ess", "Make the Short of the selected jobs now: fetch, narrate, "
            "caption, render and store it (Ctrl+Enter)", self.process_jobs, "Ctrl+Return",
            context=context)
        self.retry_action = make_action(
            self, "Retr&y", "Make the Short of the selected failed jobs again",
            self.retry_jobs, None)
        self.cancel_action = make_action(
            self, "C&ancel job", "Stop the selected jobs; a Short being made is thrown away, "
            "and their inputs can then be cleaned up", self.cancel_job, None)
        self.preview_action = make_action(
            self, "Pre&view", "Watch the Short in your video player (double-click a row)",
            self.preview, None)
        self.download_action = make_action(
            self, "Do&wnload…", "Save the Short as an MP4 file on this computer",
            self.download, None)
        self.link_action = make_action(
            self, "Copy &link", "Put a link to the Short on the clipboard, to share or to "
            "open on a phone", self.copy_link, None)
        self.youtube_action = make_action(
            self, "&Publish…", "Upload the Short to your YouTube channel; then its temporary "
            "inputs are cleaned up as the settings say", self.publish, None)
        self.publish_action = make_action(
            self, "Mar&k published…", "Record that the Short is on YouTube (uploaded some "
            "other way); its temporary inputs are then cleaned up as the settings say",
            self.mark_published, None)
        self.watch_action = make_action(
            self, "Watch on &YouTube", "Open the published Short on YouTube in your browser",
            self.watch_on_youtube, None)
        for action in self.list_actions():
            view.addAction(action)
        self._tips = {a: a.toolTip() for a in self.list_actions()}

        self.process_button = self._button(self.process_action, "processJob",
                                           "Process the selected jobs")
        self.retry_button = self._button(self.retry_action, "retryJob",
                                         "Retry the selected failed jobs")
        self.cancel_button = self._button(self.cancel_action, "cancelJob",
                                          "Cancel the selected job")
        self.preview_button = self._button(self.preview_action, "previewJob",
                                           "Preview the Short of the selected job")
        self.download_button = self._button(self.download_action, "downloadJob",
                                            "Download the Short of the selected job")
        self.link_button = self._button(self.link_action, "copyJobLink",
                                        "Copy a link to the Short of the selected job")
        self.youtube_button = self._button(self.youtube_action, "publishJob",
                                           "Publish the selected job on YouTube")
        self.youtube_button.setMinimumWidth(max(
            self.youtube_button.fontMetrics().horizontalAdvance(text) for text in
            ("Publish…", "Resume upload…", "Stop upload")) + 28)
        self.publish_button = self._button(self.publish_action, "markPublished",
                                           "Mark the selected job published")
        self.list_note = QLabel()
        self.list_note.setObjectName("jobsNote")
        self.list_note.setAccessibleName("Jobs message")
        self.list_note.setWordWrap(True)
        self.list_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        buttons = QHBoxLayout()
        for button in (self.process_button, self.retry_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addSpacing(12)
        for button in (self.preview_button, self.download_button, self.link_button):
            buttons.addWidget(button)
        buttons.addSpacing(12)
        buttons.addWidget(self.youtube_button)
        buttons.addWidget(self.publish_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(box)
        layout.addWidget(self.banner)
        layout.addWidget(self.jobs_view, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.list_note)
        self.jobs_view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.jobs_model.modelReset.connect(self._selection_changed)
        self.jobs_model.dataChanged.connect(self._rows_changed)
        self._selection_changed()
        return box

    def _fit_columns(self) -> None:
        """Give the Short column at least `MIN_TITLE_WIDTH`, taking it from the columns that
        elide (in proportion to what each can give), or their full width when there is room."""
        header = self.jobs_view.horizontalHeader()
        spare = (self.jobs_view.viewport().width() - sum(self._column_widths.values())
                 - MIN_TITLE_WIDTH)
        room = {c: max(0, self._column_widths[c] - floor)
                for c, floor in self._column_floors.items()}
        share = 0.0 if spare >= 0 else min(1.0, -spare / max(1, sum(room.values())))
        for column, width in self._column_widths.items():
            header.resizeSection(column, round(width - room.get(column, 0) * share))

    def _button(self, action: QAction, name: str, accessible: str) -> QPushButton:
        """A push button that mirrors an action (its text keeps the mnemonic)."""
        button = QPushButton(action.text())
        button.setObjectName(name)
        button.setAccessibleName(accessible)
        button.setToolTip(action.toolTip())
        button.setEnabled(action.isEnabled())
        button.clicked.connect(action.trigger)

        def mirror() -> None:
            button.setEnabled(action.isEnabled())
            button.setToolTip(action.toolTip())
            button.setText(action.text())

        action.changed.connect(mirror)
        return button

    def list_actions(self) -> list[QAction]:
        return [self.process_action, self.retry_action, self.cancel_action,
                self.preview_action, self.download_action, self.link_action,
                self.youtube_action, self.publish_action, self.watch_action]

    # -- services ---------------------------------------------------------------------------

    def _subscribe(self) -> None:
        self.events.attach(self.services.job_runner)

    def set_services(self, services: Services) -> None:
        self.form.set_services(services)
        super().set_services(services)
        self._subscribe()

    def refresh(self) -> None:
        """Reload the pickers and the job list in a worker."""
        if self._loading:
            self._reload_again = True
            return
        self._loading = True
        services = self.services
        read_at = self.jobs_model.now()

        def load() -> dict[str, Any]:
            uploads = services.uploads.list(include_deleted=True)  # a job's input may be gone
            completed = [upload_row(u) for u in uploads if u.status == "completed"]
            thumbnails = {str(u.id): bytes(u.thumbnail) for u in uploads
                          if u.kind == "video" and u.thumbnail}
            inputs = {str(u.id): (str(u.original_name), str(u.status)) for u in uploads}
            return {
                "video": [u for u in completed if u["kind"] == "video"],
                "transcript": [u for u in completed if u["kind"] == "transcript"],
                "jobs": [job_row(job, thumbnails, inputs) for job in services.jobs.list()],
            }

        self.runner.submit(lambda: {**load(), "read_at": read_at}, self._loaded,
                           self._load_failed, "Jobs could not be loaded")

    def _loaded(self, data: dict[str, Any]) -> None:
        self._loading = False
        self.form.set_uploads(data["video"], data["transcript"])
        selected = {j["id"] for j in self.selected_jobs()}
        self.jobs_model.set_jobs(data["jobs"], data.get("read_at"))
        self._select_ids(selected)
        self._selection_changed()
        if self._reload_again:
            self._reload_again = False
            self.refresh()

    def _load_failed(self, message: str) -> None:
        self._loading = False
        self.list_note.setText(message)

    def _select_ids(self, ids: set[str]) -> None:
        if not ids:
            return
        model = self.jobs_model
        selection = QItemSelection()
        last = model.columnCount() - 1
        for row in range(model.rowCount()):
            if model.job(row)["id"] in ids:
                selection.select(model.index(row, 0), model.index(row, last))
        self.jobs_view.selectionModel().select(
            selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def reload_job(self, job_id: str, then: Any = None) -> None:
        """Read one job again (in a worker) and show it; `then(job dict)` afterwards."""
        jobs = self.services.jobs

        def loaded(row: dict[str, Any]) -> None:
            self._reloading_rows.discard(job_id)
            self.jobs_model.update_job(row)
            self._selection_changed()
            if then is not None:
                then(row)

        def failed(message: str) -> None:
            self._reloading_rows.discard(job_id)
            self.list_note.setText(message)

        self._reloading_rows.add(job_id)
        self.runner.submit(lambda: job_row(jobs.get(job_id)), loaded, failed)

    def live_job_ids(self) -> list[str]:
        """Jobs that are queued or being made, as the list shows them."""
        return [str(j["id"]) for j in self.jobs_model.jobs()
                if j.get("status") in LIVE_STATUSES]

    def making(self) -> list[str]:
        """Titles of the jobs the window's runner has queued or is making now."""
        runner = self.services.job_runner
        return [str(j["title"]) for j in self.jobs_model.jobs()
                if j.get("status") in LIVE_STATUSES and runner.is_busy(str(j["id"]))]

    # -- the runner's events (on the GUI thread) --------------------------------------------

    def _job_queued(self, job_id: str) -> None:
        model = self.jobs_model
        job = model.job_by_id(job_id)
        if job is None:
            if job_id not in self._reloading_rows:
                self.reload_job(job_id)
            return
        if job.get("status") == "processing" and model.progress(job_id) is not None:
            return  # already further along than this news
        model.set_status(job_id, "queued")

    def _job_progress(self, progress: JobProgress) -> None:
        if self.jobs_model.job_by_id(progress.job_id) is None:
            if progress.job_id not in self._reloading_rows:
                self.reload_job(progress.job_id)
            return
        self.jobs_model.set_progress(progress)

    def _job_finished(self, job_id: str, kind: str, message: str) -> None:
        # The bar stays until the row is read again (with its reason, its thumbnail), so
        # the row never shows a status without what goes with it.

        def reloaded(job: dict[str, Any]) -> None:
            self.jobs_model.clear_progress(job_id)
            title = str(job["title"])
            status = job.get("status")
            if kind == "processed" and status == "processed":
                self.list_note.setText(f"The Short “{title}” is ready: double-click it to "
                                       "watch it.")
                self.notice.emit("Short ready", f"Short ready: {title}")
            elif kind == "failed":
                reason = message or str(job.get("error") or "it failed")
                self.list_note.setText(f"“{title}” could not be made: {reason}")
                self.notice.emit("Short not made", f"“{title}” could not be made: {reason}")
            elif kind == "cancelled":
                self.list_note.setText(f"“{title}” is cancelled.")
            self.jobs_changed.emit(job)

        self.reload_job(job_id, reloaded)

    def _poll_elsewhere(self) -> None:
        """While a job that another process makes is shown as running, look again now and
        then (the window's own runner reports on its jobs)."""
        if not self.isVisible() or self._loading:
            return
        runner = self.services.job_runner
        if any(not runner.is_busy(job_id) for job_id in self.live_job_ids()):
            self.refresh()

    # -- a job created in the form -----------------------------------------------------------

    def _created(self, job: dict[str, Any]) -> None:
        problem = job.pop("queue_problem", None)
        self.jobs_model.update_job(job)
        if problem:
            self.list_note.setText(f"Job “{job['title']}” created, but not queued: {problem}")
        elif job.get("status") in LIVE_STATUSES:
            self.list_note.setText(f"Job “{job['title']}” created; its Short is being made.")
        else:
            self.list_note.setText(f"Job “{job['title']}” created. Process it to make its "
                                   "Short.")
        self._select_ids({str(job["id"])})
        self.jobs_changed.emit(job)
        self.refresh()

    def eventFilter(self, watched: Any, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self.jobs_view.viewport():
            self._fit_columns()
        return super().eventFilter(watched, event)

    # -- the job list -----------------------------------------------------------------------

    def selected_jobs(self) -> list[dict[str, Any]]:
        rows = sorted(i.row() for i in self.jobs_view.selectionModel().selectedRows())
        return [self.jobs_model.job(r) for r in rows]

    def selected_job(self) -> dict[str, Any] | None:
        jobs = self.selected_jobs()
        return jobs[0] if jobs else None

    def _rows_changed(self, top: QModelIndex, bottom: QModelIndex, *_roles: object) -> None:
        selected = self.jobs_view.selectionModel().selectedRows()
        if any(top.row() <= i.row() <= bottom.row() for i in selected):
            self._selection_changed()

    @staticmethod
    def _processable(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [j for j in jobs if j.get("status") in PROCESSABLE]

    @staticmethod
    def _retryable(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [j for j in jobs if j.get("status") == "failed"]

    @staticmethod
    def _cancellable(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [j for j in jobs if "cancelled" in TRANSITIONS.get(str(j.get("status")), set())]

    @staticmethod
    def _with_short(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [j for j in jobs if j.get("status") in HAS_SHORT and j.get("result_keys")]

    @staticmethod
    def _published_links(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [j for j in jobs if j.get("status") == "published" and j.get("published_video_url")]

    def _publishable(self, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Jobs Publish… (or Resume upload…) can send: a Short made, not on YouTube yet."""
        return [j for j in self._with_short(jobs) if j.get("status") in ("processed", "publishing")
                and str(j["id"]) not in self._uploads and str(j["id"]) not in self._checking]

    def uploading(self, job_id: str) -> bool:
        """Whether this window is uploading the job to YouTube now."""
        return job_id in self._uploads

    @staticmethod
    def _resumes(job: dict[str, Any]) -> bool:
        return job.get("status") == "publishing" or bool(job.get("resumable"))

    def _selection_changed(self, *_args: QItemSelection) -> None:
        jobs = self.selected_jobs()
        first = jobs[:1]
        local = self.services.storage.backend != "s3"
        links = self._published_links(jobs)
        checks = {
            self.process_action: self._processable(jobs),
            self.retry_action: self._retryable(jobs),
            self.cancel_action: self._cancellable(jobs),
            self.preview_action: self._with_short(first),
            self.download_action: self._with_short(first),
            self.link_action: links + ([] if local else self._with_short(jobs)),
            self.youtube_action: [j for j in first if self.uploading(str(j["id"]))]
            or self._publishable(first),
            # Not while the Short is being made: it is not finished, let alone on YouTube.
            self.publish_action: [j for j in first if j.get("status") not in LIVE_STATUSES
                                  and not self.uploading(str(j["id"]))
                                  and "published" in TRANSITIONS.get(str(j["status"]), set())],
            self.watch_action: self._published_links(first),
        }
        for action, usable in checks.items():
            action.setEnabled(bool(usable))
            tip = self._tips[action]
            if action is self.link_action and local and not links:
                tip = ("Links need an S3 bucket; the local library has no web address. Set "
                       "up a bucket in Settings, or use Download. A published Short's "
                       "YouTube link can be copied.")
            elif action is self.youtube_action and first:
                tip = self._youtube_tip(first[0])
            elif action is self.cancel_action and any(self.uploading(str(j["id"]))
                                                      for j in jobs):
                tip = ("Stop the upload to YouTube after the part being sent; Resume upload "
                       "continues from what YouTube has received")
            elif not jobs:
                tip += " — select a job first"
            action.setToolTip(tip)
        job = first[0] if first else None
        if job is not None and self.uploading(str(job["id"])):
            self.youtube_action.setText("&Stop upload")
        elif job is not None and job.get("status") in ("processed", "publishing") \
                and self._resumes(job):
            self.youtube_action.setText("Res&ume upload…")
        else:
            self.youtube_action.setText("&Publish…")

    def _youtube_tip(self, job: dict[str, Any]) -> str:
        job_id = str(job["id"])
        if self.uploading(job_id):
            return ("Stop the upload after the part being sent; Resume upload continues from "
                    "what YouTube has received")
        if job_id in self._checking:
            return "Checking the YouTube account…"
        status = job.get("status")
        if status == "published":
            return "This Short is on YouTube already"
        if status in ("processed", "publishing") and not job.get("result_keys"):
            return "The Short's files were removed; process the job again to publish it"
        if status not in ("processed", "publishing"):
            return "Only a processed job can be published: process it first"
        if self._resumes(job):
            return ("Continue the interrupted upload to YouTube from what YouTube has "
                    "received (no second video is made)")
        return self._tips[self.youtube_action]

    def _context_menu(self, pos: QPoint) -> None:
        index = self.jobs_view.indexAt(pos)
        if not index.isValid():
            return
        if not self.jobs_view.selectionModel().isRowSelected(index.row(), QModelIndex()):
            self.jobs_view.selectRow(index.row())
        menu = QMenu(self)
        menu.setObjectName("jobsMenu")
        for action in self.list_actions():
            if action is self.watch_action and not action.isEnabled():
                continue
            if action in (self.preview_action, self.youtube_action):
                menu.addSeparator()
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction("Refresh", self.refresh)
        menu.popup(self.jobs_view.viewport().mapToGlobal(pos))

    def _double_clicked(self, index: QModelIndex) -> None:
        job = self.jobs_model.job(index.row())
        if self._with_short([job]):
            self.preview()

    def _say(self, text: str, problem: bool = False) -> None:
        self.list_note.setText(text)
        self.list_note.setStyleSheet(problem_style() if problem else "")

    # -- making Shorts ----------------------------------------------------------------------

    def process_jobs(self) -> None:
        self._submit(self._processable(self.selected_jobs()))

    def retry_jobs(self) -> None:
        self._submit(self._retryable(self.selected_jobs()))

    def _submit(self, jobs: list[dict[str, Any]]) -> None:
        """Hand jobs to the window's runner (it writes `queued`, so in a worker)."""
        if not jobs:
            return
        job_runner = self.services.job_runner
        ids = [str(j["id"]) for j in jobs]
        for job_id in ids:
            self.jobs_model.set_status(job_id, "queued")

        def work() -> list[str]:
            errors = []
            for job_id in ids:
                try:
                    job_runner.submit(job_id)
                except ShortsError as exc:
                    errors.append(str(exc))
            return errors

        def done(errors: list[str]) -> None:
            if errors:
                self._say(errors[0], True)
                for job_id in ids:
                    self.reload_job(job_id)
            else:
                self._say(f"{_titles(jobs)} queued; the Short is made in the background."
                          if len(jobs) == 1 else f"{_titles(jobs)} queued; their Shorts are "
                          "made one after the other.")
            self._selection_changed()

        self.runner.submit(work, done, lambda message: self._submit_failed(ids, message))

    def _submit_failed(self, ids: list[str], message: str) -> None:
        self._say(message, True)
        for job_id in ids:
            self.reload_job(job_id)

    def cancel_job(self) -> None:
        uploading = [j for j in self.selected_jobs() if self.uploading(str(j["id"]))]
        if uploading:  # Cancel on a Short going to YouTube stops the upload, nothing more
            self.stop_upload([str(j["id"]) for j in uploading])
            return
        jobs = self._cancellable(self.selected_jobs())
        if not jobs:
            return
        running = [j for j in jobs if j.get("status") in LIVE_STATUSES]
        if running:
            question = STOP_WARNING if len(jobs) == 1 else (
                f"Stop making {plural(len(running), 'Short')} and cancel {_titles(jobs)}? What was "
                "rendered so far is thrown away.")
        else:
            question = (f"Cancel the job {_titles(jobs)}? Its inputs can then be cleaned up; "
                        "you can still process it again later.")
        answer = QMessageBox.question(self, "Cancel job", question)
        if answer != QMessageBox.StandardButton.Yes:
            return
        services = self.services

        def work() -> list[str]:
            errors = []
            for job in jobs:
                try:
                    if job.get("status") in LIVE_STATUSES:
                        services.job_runner.cancel(str(job["id"]))
                    else:
                        services.jobs.cancel(str(job["id"]))
                except ShortsError as exc:
                    errors.append(str(exc))
            return errors

        def done(errors: list[str]) -> None:
            if errors:
                self._say(errors[0], True)
            elif running:
                self._say(f"Stopping {_titles(jobs)}…")
            else:
                self._say(f"{_titles(jobs)} {'is' if len(jobs) == 1 else 'are'} cancelled.")
            for job in jobs:
                if job.get("status") not in LIVE_STATUSES:
                    self.reload_job(str(job["id"]), self.jobs_changed.emit)

        self.runner.submit(work, done, lambda message: self._say(message, True))

    # -- the Short --------------------------------------------------------------------------

    def open_local_file(self, path: Path) -> None:
        """Open a file with the desktop's player (tests replace this)."""
        if not open_url(QUrl.fromLocalFile(str(path))):
            self._say(f"No application opened {path.name}; it is in {path.parent}.", True)

    def preview(self) -> None:
        jobs = self._with_short(self.selected_jobs()[:1])
        if not jobs:
            return
        job = jobs[0]
        processing = self.services.processing
        job_id = str(job["id"])
        size = int((job.get("render_info") or {}).get("size") or 0)
        self._say(f"Getting “{job['title']}” ready to watch…")

        def work() -> Path:
            return processing.preview(job_id, self._byte_counter(job_id, size, "Fetching"))

        def done(path: Path) -> None:
            self._say(f"Playing “{job['title']}”.")
            self.open_local_file(path)

        self.runner.submit(work, done, lambda message: self._say(message, True))

    def _byte_counter(self, key: str, total: int, verb: str) -> Any:
        """A progress callback for a worker that says how far a transfer is (coalesced)."""
        done = [0]

        def on_bytes(delta: int) -> None:
            done[0] += delta
            if total > 0:
                self.runner.report(f"job-bytes:{key}", self._say,
                                   f"{verb} the Short… {min(100, done[0] * 100 // total)} %")

        return on_bytes

    def download(self) -> None:
        jobs = self._with_short(self.selected_jobs()[:1])
        if not jobs:
            return
        job = jobs[0]
        folder = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.MoviesLocation) or str(Path.home())
        suggested = str(Path(folder) / f"{safe_name(str(job['title']))}.mp4")
        chosen, _filter = QFileDialog.getSaveFileName(
            self, "Save the Short", suggested, "MP4 video (*.mp4)")
        if not chosen:
            return
        target = Path(chosen)
        if target.suffix.lower() != ".mp4":
            target = target.with_name(target.name + ".mp4")
        processing = self.services.processing
        job_id = str(job["id"])
        size = int((job.get("render_info") or {}).get("size") or 0)
        self._say(f"Saving “{job['title']}”…")

        def work() -> Path:
            # The dialog asked before replacing a file.
            return processing.save_short(job_id, target, overwrite=True,
                                         progress=self._byte_counter(job_id, size, "Saving"))

        def done(path: Path) -> None:
            self._say(f"Saved “{job['title']}” as {path}.")

        self.runner.submit(work, done, lambda message: self._say(message, True))

    def copy_link(self) -> None:
        """Copy the YouTube link of published jobs, and a shared link to the others' Short."""
        jobs = self.selected_jobs()
        youtube = {str(j["id"]): str(j["published_video_url"])
                   for j in self._published_links(jobs)}
        s3 = self.services.storage.backend == "s3"
        others = [j for j in self._with_short(jobs) if str(j["id"]) not in youtube] if s3 else []
        if not youtube and not others:
            return
        order = [str(j["id"]) for j in jobs if str(j["id"]) in youtube
                 or any(o["id"] == j["id"] for o in others)]
        if not others:
            urls = [youtube[job_id] for job_id in order]
            QGuiApplication.clipboard().setText("\n".join(urls))
            named = [j for j in jobs if str(j["id"]) in youtube]
            self._say(f"Copied the YouTube link of {_titles(named)}." if len(urls) == 1 else
                      f"Copied {len(urls)} YouTube links, one per line.")
            return
        processing = self.services.processing
        ids = [str(j["id"]) for j in others]

        def work() -> tuple[dict[str, str], int]:
            links = {job_id: processing.short_link(job_id) for job_id in ids}
            return {k: url for k, (url, _s) in links.items()}, links[ids[0]][1]

        def done(result: tuple[dict[str, str], int]) -> None:
            shared, seconds = result
            urls = [youtube.get(job_id) or shared[job_id] for job_id in order]
            QGuiApplication.clipboard().setText("\n".join(urls))
            if len(urls) == 1:
                self._say(f"Copied a link to {_titles(others)}; it works for "
                          f"{lifetime(seconds)}.")
            else:
                self._say(f"Copied {len(urls)} links, one per line; the links to Shorts not "
                          f"on YouTube work for {lifetime(seconds)}.")

        self.runner.submit(work, done, lambda message: self._say(message, True))

    # -- publishing -------------------------------------------------------------------------

    def mark_published(self) -> None:
        job = self.selected_job()
        if job is None:
            return
        url, ok = QInputDialog.getText(
            self, "Mark published",
            f"The Short “{job['title']}” is on YouTube.\nIts link (optional):",
        )
        if not ok:
            return
        services = self.services
        link = url.strip() or None

        def publish() -> dict[str, Any]:
            result = services.jobs.mark_published(job["id"], link)
            return {"job": result.job.to_dict(), "deleted": len(result.deleted),
                    "promoted": len(result.promoted), "kept": len(result.kept)}

        def done(result: dict[str, Any]) -> None:
            parts = [f"“{job['title']}” is marked published."]
            parts += [f"{said[0].upper()}{said[1:]}." for said in cleanup_words(result)]
            self._say(" ".join(parts))
            self.jobs_changed.emit(result["job"])
            self.refresh()

        self.runner.submit(publish, done, lambda message: self._say(message, True))

    # -- to YouTube -------------------------------------------------------------------------

    def open_link(self, url: str) -> None:
        """Open a YouTube link in the browser (through the same seam as local files)."""
        if not open_url(QUrl(url)):
            self._say(f"No browser opened {url}; Copy link puts it on the clipboard.", True)

    def watch_on_youtube(self) -> None:
        jobs = self._published_links(self.selected_jobs()[:1])
        if jobs:
            self.open_link(str(jobs[0]["published_video_url"]))

    def _hovered(self, index: QModelIndex) -> None:
        if index.column() != STATUS or not index.data(LINK_ROLE):
            self.jobs_view.viewport().unsetCursor()

    def _offer_connect(self, text: str, kind: str, job_id: str | None) -> None:
        """Say why nothing can go to YouTube yet, with a button that connects an account
        (and then carries on with `job_id`'s Publish)."""

        def connect() -> None:
            self._publish_after_connect = job_id
            self.connect_youtube_requested.emit()

        self.banner.show_message(text, kind, "Connect YouTube account…", connect,
                                 "Open Settings and sign in to YouTube with Google")
        self._banner_offers_connect = True

    def publish(self) -> None:
        """Publish… (or Resume upload…) the selected job; Stop upload while it uploads."""
        first = self.selected_jobs()[:1]
        if first and self.uploading(str(first[0]["id"])):
            self.stop_upload([str(first[0]["id"])])
            return
        jobs = self._publishable(first)
        if not jobs:
            return
        self.confirm_publish(str(jobs[0]["id"]))

    def confirm_publish(self, job_id: str) -> None:
        """Check the account (in a worker, it asks YouTube for the channel), then ask."""
        job = self.jobs_model.job_by_id(job_id)
        if job is None or not self._publishable([job]):
            return
        publishing = self.services.publishing
        self._checking.add(job_id)
        self._selection_changed()
        self._say("Checking the YouTube account…")

        def work() -> dict[str, Any]:
            try:
                channel = publishing.status()
            except ReconnectNeeded as exc:
                return {"reconnect": str(exc)}
            return {"channel": None if channel is None else channel.title}

        def done(result: dict[str, Any]) -> None:
            self._checking.discard(job_id)
            self._selection_changed()
            self._say("")
            if "reconnect" in result:
                self._offer_connect(result["reconnect"], "error", job_id)
            elif result["channel"] is None:
                self._offer_connect(NO_ACCOUNT, "warning", job_id)
            else:
                self._ask_publish(job_id, str(result["channel"]))

        def failed(message: str) -> None:
            self._checking.discard(job_id)
            self._selection_changed()
            self._say("")
            self._banner_offers_connect = False
            self.banner.show_message(f"The YouTube account could not be checked: {message}",
                                     "error")

        self.runner.submit(work, done, failed)

    def _ask_publish(self, job_id: str, channel: str) -> None:
        job = self.jobs_model.job_by_id(job_id)
        if job is None or not self._publishable([job]):
            return
        settings = self.services.settings
        after = AFTER_PUBLISH_WORDS.get(settings.after_publish, AFTER_PUBLISH_WORDS["keep"])
        after += ("" if settings.keep_processed
                  else ", and the processed files are removed from storage")
        if self.publish_dialog is not None:
            self.publish_dialog.deleteLater()
        dialog = PublishDialog(job, channel, after, resume=self._resumes(job), parent=self)
        self.publish_dialog = dialog

        def accepted() -> None:
            self.start_publish(job_id, dialog.publish_at())

        dialog.accepted.connect(accepted)
        dialog.open()

    def wants_publish_after_connect(self) -> bool:
        """Whether a Publish asked to connect an account first (and waits for it)."""
        return self._publish_after_connect is not None

    def showEvent(self, event: Any) -> None:
        # Back on the list by the user's own choice: a Publish that waited for the account
        # to be connected is no longer asked about by itself.
        self._publish_after_connect = None
        super().showEvent(event)

    def resume_publish_after_connect(self) -> bool:
        """After the account was connected from a Publish prompt: ask about that job again."""
        job_id, self._publish_after_connect = self._publish_after_connect, None
        if job_id is None or self.jobs_model.job_by_id(job_id) is None:
            return False
        self._select_ids({job_id})
        self.confirm_publish(job_id)
        return True

    def start_publish(self, job_id: str, publish_at: datetime | None = None) -> None:
        """Upload the job's Short in a worker, its bar in the row; see `stop_upload`."""
        job = self.jobs_model.job_by_id(job_id)
        if job is None or self.uploading(job_id):
            return
        title = str(job["title"])
        upload = _Upload(title)
        self._uploads[job_id] = upload
        if self._banner_offers_connect:
            self.banner.hide()
        self.jobs_model.set_upload_progress(job_id, 0, 0)
        self._selection_changed()
        resumed = self._resumes(job)
        self._say(f"{'Resuming the upload of' if resumed else 'Uploading'} “{title}” to "
                  "YouTube…")
        services = self.services
        publishing = services.publishing
        runner = self.runner

        def progress(sent: int, total: int) -> None:  # on the worker: coalesced for the GUI
            runner.report(f"youtube:{job_id}", self._upload_progress, job_id, sent, total)

        def notice(text: str) -> None:
            runner.call_soon(self._say, text)

        def work() -> dict[str, Any]:
            try:
                try:
                    outcome = publishing.publish(job_id, progress=progress, notice=notice,
                                                 cancel=upload.cancel, publish_at=publish_at)
                except ReconnectNeeded as exc:
                    return {"reconnect": str(exc), "job": job_row(services.jobs.get(job_id))}
                except UploadCancelled as exc:
                    return {"stopped": str(exc), "job": job_row(services.jobs.get(job_id))}
                result = outcome.result
                return {
                    "job": job_row(result.job),
                    "url": outcome.url,
                    "forced_private": outcome.forced_private,
                    "notes": list(outcome.notes),
                    "deleted": len(result.deleted),
                    "promoted": len(result.promoted),
                    "kept": len(result.kept),
                    "results_removed": outcome.results_removed,
                }
            finally:
                upload.ended.set()

        self.runner.submit(work, lambda result: self._publish_done(job_id, title, publish_at,
                                                                   result),
                           lambda message: self._publish_failed(job_id, title, message))

    def _upload_progress(self, job_id: str, sent: int, total: int) -> None:
        if self.uploading(job_id):
            self.jobs_model.set_upload_progress(job_id, sent, total)

    def _upload_ended(self, job_id: str) -> None:
        self._uploads.pop(job_id, None)
        self.jobs_model.clear_upload_progress(job_id)
        self._selection_changed()

    def _publish_done(self, job_id: str, title: str, publish_at: datetime | None,
                      result: dict[str, Any]) -> None:
        self._upload_ended(job_id)
        job = result["job"]
        self.jobs_model.update_job(job)
        self._selection_changed()
        if "reconnect" in result:
            self._say("")
            reason = result["reconnect"]
            self._offer_connect(f"“{title}” was not published: {reason}", "error", job_id)
            self.notice.emit("Not published", f"“{title}” was not published: {reason}")
            return
        if "stopped" in result:
            self._say(f"The upload of “{title}” is stopped; Resume upload continues from what "
                      "YouTube has received.")
            return
        url = str(result["url"])
        parts = [f"“{title}” is on YouTube: {url}."]
        if publish_at is not None:
            when = QDateTime.fromSecsSinceEpoch(int(publish_at.timestamp()))
            parts.append(f"It stays private until {when.toString('yyyy-MM-dd HH:mm')}, then "
                         "YouTube makes it public.")
        cleaned = cleanup_words(result)
        if result["results_removed"]:
            cleaned.append("the processed files removed")
        if cleaned:
            said = " · ".join(cleaned)
            parts.append(f"{said[0].upper()}{said[1:]}.")
        parts += [str(note) for note in result["notes"]]
        kind = "warning" if result["forced_private"] or result["kept"] else "info"
        self._banner_offers_connect = False
        self.banner.show_message(" ".join(parts), kind, "Watch on YouTube",
                                 lambda: self.open_link(url), "Open the video in your browser")
        self._say("")
        self.notice.emit("Published on YouTube", f"Published on YouTube: {title}")
        self.jobs_changed.emit(job)
        self.refresh()  # the pickers: the inputs may be gone or permanent now

    def _publish_failed(self, job_id: str, title: str, message: str) -> None:
        self._upload_ended(job_id)
        self._say("")
        text = f"“{title}” was not published: {message}"
        if message == RECONNECT:
            self._offer_connect(text, "error", job_id)
        else:
            self._banner_offers_connect = False
            self.banner.show_message(text, "error")
        self.notice.emit("Not published", text)
        self.reload_job(job_id, self.jobs_changed.emit)

    def stop_upload(self, job_ids: list[str], ask: bool = True) -> None:
        """Stop uploads this window runs, after the chunk being sent (the session stays, so
        Resume upload continues from what YouTube has received)."""
        running = [job_id for job_id in job_ids if self.uploading(job_id)]
        if not running:
            return
        if ask:
            answer = QMessageBox.question(self, "Stop upload", STOP_UPLOAD_WARNING)
            if answer != QMessageBox.StandardButton.Yes:
                return
        for job_id in running:
            upload = self._uploads.get(job_id)
            if upload is not None:
                upload.cancel.set()
        titles = [self._uploads[j].title for j in running if j in self._uploads]
        self._say(f"Stopping the upload of “{'”, “'.join(titles)}” after the part being sent…")

    def uploads_in_progress(self) -> list[str]:
        """Titles of the Shorts this window is uploading to YouTube now."""
        return [u.title for u in self._uploads.values() if not u.cancel.is_set()]

    def stop_all_uploads(self) -> list[threading.Event]:
        """Stop every upload (new settings, the window closes); each event is set once its
        worker has stopped using the services."""
        for upload in self._uploads.values():
            upload.cancel.set()
        return [u.ended for u in self._uploads.values()]

    def shutdown(self) -> None:
        """The window closes: uploads stop between two chunks and resume next time."""
        self.stop_all_uploads()
