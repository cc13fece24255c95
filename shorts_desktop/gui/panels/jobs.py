"""The Jobs panel: a form that makes a Shorts job from uploaded material, and the job list.

Create is enabled only when the core's `JobDraft.problems()` is empty; the form is
checked on a short debounce in a worker (the check reads the database), and the
first problem is shown under the button in plain words. Files dropped on the video
or transcript picker join the upload queue and are selected once uploaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from shorts_desktop.core.services.jobs import (
    MAX_DESCRIPTION,
    MAX_TAGS_TOTAL,
    MAX_TITLE,
    PRIVACY,
    TRANSITIONS,
    VOICES,
    JobDraft,
    clean_tags,
    tags_length,
)
from shorts_desktop.gui.format import human_size, human_time
from shorts_desktop.gui.models.jobs_table import JobsTableModel
from shorts_desktop.gui.panels.base import Panel, heading, problem_style

if TYPE_CHECKING:
    from shorts_desktop.app import Services
    from shorts_desktop.core.services.upload_queue import QueueEvent
    from shorts_desktop.gui.tasks import TaskRunner

VALIDATE_DELAY_MS = 200


class UploadPicker(QComboBox):
    """A combo box of completed uploads of one kind that also takes dropped files."""

    #: Emitted with the local paths of files dropped on the picker.
    files_dropped = Signal(list)

    def __init__(self, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setAcceptDrops(True)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(24)
        self.setPlaceholderText(f"Choose a {kind}, or drop a file here")

    def set_uploads(self, uploads: list[dict[str, Any]], select: str | None = None) -> None:
        keep = select or self.upload_id()
        self.blockSignals(True)
        self.clear()
        for upload in uploads:
            where = "temporary" if upload["is_temp"] else "permanent"
            text = (f"{upload['original_name']} · {human_size(upload['size'])} · {where} · "
                    f"{human_time(upload.get('created_at'))}")
            self.addItem(text, upload["id"])
            self.setItemData(self.count() - 1, f"{upload['original_name']}\nid {upload['id']}",
                             Qt.ItemDataRole.ToolTipRole)
        index = self.findData(keep) if keep else -1
        self.setCurrentIndex(index)
        self.blockSignals(False)
        self.currentIndexChanged.emit(self.currentIndex())

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


def _counter(text: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    label.setMinimumWidth(72)
    return label


class JobsPanel(Panel):
    """Make jobs from completed uploads; list them and move them along."""

    title = "Jobs"
    object_name = "jobsPanel"

    #: Emitted with a job dict after a job was created, cancelled or published.
    jobs_changed = Signal(object)

    def __init__(self, services: Services, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(services, runner, parent)
        self._generation = 0
        self._problems: list[str] = ["Checking the form…"]
        self._busy = False
        self._loading = False
        self._reload_again = False
        self._pending_drops: dict[int, str] = {}
        self._subscribed: set[int] = set()

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(VALIDATE_DELAY_MS)
        self._debounce.timeout.connect(self._validate)

        layout = self.page_layout()
        layout.addWidget(heading(self.title))
        layout.addWidget(self._build_form())
        layout.addWidget(self._build_list(), 1)
        self._subscribe()
        self._update_counters()
        self._schedule_validation()

    # -- construction -----------------------------------------------------------------------

    def _build_form(self) -> QGroupBox:
        box = QGroupBox("New job")
        box.setObjectName("newJobBox")

        self.title_edit = QLineEdit()
        self.title_edit.setObjectName("jobTitle")
        self.title_edit.setAccessibleName("Job title")
        self.title_edit.setPlaceholderText("What the Short is called on YouTube")
        self.title_edit.setToolTip(f"The video title; YouTube allows {MAX_TITLE} characters.")
        self.title_counter = _counter(f"0/{MAX_TITLE}")
        self.title_counter.setObjectName("titleCounter")

        self.description_edit = QPlainTextEdit()
        self.description_edit.setObjectName("jobDescription")
        self.description_edit.setAccessibleName("Job description")
        self.description_edit.setPlaceholderText("Optional description shown under the Short")
        self.description_edit.setToolTip(
            f"The video description; YouTube allows {MAX_DESCRIPTION:,} characters."
        )
        self.description_edit.setTabChangesFocus(True)
        self.description_edit.setFixedHeight(72)
        self.description_counter = _counter(f"0/{MAX_DESCRIPTION}")
        self.description_counter.setObjectName("descriptionCounter")

        self.tags_edit = QLineEdit()
        self.tags_edit.setObjectName("jobTags")
        self.tags_edit.setAccessibleName("Tags, separated by commas")
        self.tags_edit.setPlaceholderText("shorts, cooking, quick recipe")
        self.tags_edit.setToolTip(
            f"Comma-separated tags; together they may use {MAX_TAGS_TOTAL} characters "
            "(YouTube counts quotes around tags with spaces)."
        )
        self.tags_counter = _counter(f"0/{MAX_TAGS_TOTAL}")
        self.tags_counter.setObjectName("tagsCounter")

        self.voice_combo = QComboBox()
        self.voice_combo.setObjectName("jobVoice")
        self.voice_combo.setAccessibleName("Narration voice")
        self.voice_combo.setToolTip("The voice that reads the transcript")
        for voice in VOICES:
            self.voice_combo.addItem(voice.capitalize(), voice)

        self.privacy_combo = QComboBox()
        self.privacy_combo.setObjectName("jobPrivacy")
        self.privacy_combo.setAccessibleName("Privacy")
        self.privacy_combo.setToolTip("Who can see the Short once it is published")
        for privacy in PRIVACY:
            self.privacy_combo.addItem(privacy.capitalize(), privacy)

        self.video_picker = UploadPicker("video")
        self.video_picker.setObjectName("videoPicker")
        self.video_picker.setAccessibleName("Video")
        self.video_picker.setToolTip(
            "A completed video upload; drop a video file here to upload and pick it"
        )
        self.transcript_picker = UploadPicker("transcript")
        self.transcript_picker.setObjectName("transcriptPicker")
        self.transcript_picker.setAccessibleName("Transcript")
        self.transcript_picker.setToolTip(
            "A completed transcript upload; drop a .txt, .srt or .vtt file here to upload "
            "and pick it"
        )
        self.picker_note = QLabel()
        self.picker_note.setObjectName("pickerNote")
        self.picker_note.setWordWrap(True)

        left = QFormLayout()
        right = QFormLayout()
        for form in (left, right):
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        left.addRow(self._label("&Title:", self.title_edit),
                    self._with(self.title_edit, self.title_counter))
        left.addRow(self._label("&Description:", self.description_edit),
                    self._with(self.description_edit, self.description_counter))
        left.addRow(self._label("Ta&gs:", self.tags_edit),
                    self._with(self.tags_edit, self.tags_counter))
        right.addRow(self._label("V&oice:", self.voice_combo), self.voice_combo)
        right.addRow(self._label("P&rivacy:", self.privacy_combo), self.privacy_combo)
        right.addRow(self._label("V&ideo:", self.video_picker), self.video_picker)
        right.addRow(self._label("Tra&nscript:", self.transcript_picker), self.transcript_picker)
        right.addRow("", self.picker_note)

        self.create_button = QPushButton("&Create job")
        self.create_button.setObjectName("createJob")
        self.create_button.setAccessibleName("Create job")
        self.create_button.setToolTip("Create the job from this form")
        self.create_button.setEnabled(False)
        self.create_button.setDefault(True)
        self.create_button.clicked.connect(self.create_job)
        self.problem_label = QLabel()
        self.problem_label.setObjectName("jobProblem")
        self.problem_label.setAccessibleName("Why the job cannot be created yet")
        self.problem_label.setWordWrap(True)

        columns = QHBoxLayout()
        columns.addLayout(left, 3)
        columns.addSpacing(16)
        columns.addLayout(right, 2)
        actions = QHBoxLayout()
        actions.addWidget(self.create_button)
        actions.addWidget(self.problem_label, 1)
        outer = QVBoxLayout(box)
        outer.addLayout(columns)
        outer.addLayout(actions)

        self.title_edit.textChanged.connect(self._form_changed)
        self.description_edit.textChanged.connect(self._form_changed)
        self.tags_edit.textChanged.connect(self._form_changed)
        self.voice_combo.currentIndexChanged.connect(self._form_changed)
        self.privacy_combo.currentIndexChanged.connect(self._form_changed)
        self.video_picker.currentIndexChanged.connect(self._form_changed)
        self.transcript_picker.currentIndexChanged.connect(self._form_changed)
        self.video_picker.files_dropped.connect(lambda p: self.queue_dropped(p, "video"))
        self.transcript_picker.files_dropped.connect(
            lambda p: self.queue_dropped(p, "transcript")
        )
        return box

    def _build_list(self) -> QGroupBox:
        box = QGroupBox("Jobs")
        self.jobs_model = JobsTableModel()
        self.jobs_view = QTableView()
        self.jobs_view.setObjectName("jobsTable")
        self.jobs_view.setAccessibleName("Jobs")
        self.jobs_view.setModel(self.jobs_model)
        self.jobs_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.jobs_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.jobs_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.jobs_view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.jobs_view.setWordWrap(False)
        self.jobs_view.setTabKeyNavigation(False)  # Tab leaves the table
        self.jobs_view.verticalHeader().setVisible(False)
        self.jobs_view.setAlternatingRowColors(True)
        header = self.jobs_view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.jobs_view.selectionModel().selectionChanged.connect(self._selection_changed)

        self.publish_button = QPushButton("Mark &published…")
        self.publish_button.setObjectName("markPublished")
        self.publish_button.setAccessibleName("Mark the selected job published")
        self.publish_button.setToolTip(
            "Record that the Short is on YouTube; its temporary inputs are then cleaned up "
            "as the settings say"
        )
        self.publish_button.clicked.connect(self.mark_published)
        self.cancel_button = QPushButton("C&ancel job")
        self.cancel_button.setObjectName("cancelJob")
        self.cancel_button.setAccessibleName("Cancel the selected job")
        self.cancel_button.setToolTip("Stop the selected job; its inputs can then be cleaned up")
        self.cancel_button.clicked.connect(self.cancel_job)
        self.list_note = QLabel()
        self.list_note.setObjectName("jobsNote")
        self.list_note.setWordWrap(True)

        buttons = QHBoxLayout()
        buttons.addWidget(self.publish_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.list_note, 1)
        layout = QVBoxLayout(box)
        layout.addWidget(self.jobs_view, 1)
        layout.addLayout(buttons)
        self._selection_changed()
        return box

    @staticmethod
    def _label(text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text)
        label.setBuddy(buddy)
        return label

    @staticmethod
    def _with(field: QWidget, counter: QLabel) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(field, 1)
        top = isinstance(field, QPlainTextEdit)
        row.addWidget(counter, 0, Qt.AlignmentFlag.AlignTop if top
                      else Qt.AlignmentFlag.AlignVCenter)
        return row

    # -- services ---------------------------------------------------------------------------

    def _subscribe(self) -> None:
        queue = self.services.upload_queue
        if id(queue) not in self._subscribed:
            self._subscribed.add(id(queue))
            queue.subscribe(self._on_queue_event)

    def set_services(self, services: Services) -> None:
        self._pending_drops.clear()
        super().set_services(services)
        self._subscribe()

    def refresh(self) -> None:
        """Reload the pickers and the job list in a worker."""
        if self._loading:
            self._reload_again = True
            return
        self._loading = True
        services = self.services

        def load() -> dict[str, Any]:
            completed = [u.to_dict() for u in services.uploads.list()
                         if u.status == "completed"]
            return {
                "video": [u for u in completed if u["kind"] == "video"],
                "transcript": [u for u in completed if u["kind"] == "transcript"],
                "jobs": [job.to_dict() for job in services.jobs.list()],
            }

        self.runner.submit(load, self._loaded, self._load_failed, "Jobs could not be loaded")

    def _loaded(self, data: dict[str, Any], select: dict[str, str] | None = None) -> None:
        self._loading = False
        chosen = select or {}
        self.video_picker.set_uploads(data["video"], chosen.get("video"))
        self.transcript_picker.set_uploads(data["transcript"], chosen.get("transcript"))
        selected = self.selected_job()
        self.jobs_model.set_jobs(data["jobs"])
        if selected is not None:
            for row in range(self.jobs_model.rowCount()):
                if self.jobs_model.job(row)["id"] == selected["id"]:
                    self.jobs_view.selectRow(row)
        self._selection_changed()
        self._schedule_validation()
        if self._reload_again:
            self._reload_again = False
            self.refresh()

    def _load_failed(self, message: str) -> None:
        self._loading = False
        self.list_note.setText(message)

    # -- the form ---------------------------------------------------------------------------

    def draft(self) -> JobDraft:
        return JobDraft(
            title=self.title_edit.text(),
            description=self.description_edit.toPlainText(),
            voice=str(self.voice_combo.currentData() or ""),
            tags=[self.tags_edit.text()],
            video_upload_id=self.video_picker.upload_id(),
            transcript_upload_id=self.transcript_picker.upload_id(),
            privacy=str(self.privacy_combo.currentData() or ""),
        )

    def _form_changed(self, *_args: object) -> None:
        self._update_counters()
        self._schedule_validation()

    def _update_counters(self) -> None:
        title = len(self.title_edit.text().strip())
        description = len(self.description_edit.toPlainText())
        tags = tags_length(clean_tags([self.tags_edit.text()]))
        for label, used, limit in (
            (self.title_counter, title, MAX_TITLE),
            (self.description_counter, description, MAX_DESCRIPTION),
            (self.tags_counter, tags, MAX_TAGS_TOTAL),
        ):
            label.setText(f"{used}/{limit}")
            label.setStyleSheet(problem_style(bold=True) if used > limit else "")
            label.setAccessibleName(f"{used} of {limit} characters used")

    def _schedule_validation(self) -> None:
        self._generation += 1
        self._debounce.start()

    def _validate(self) -> None:
        generation = self._generation
        draft = self.draft()
        self.runner.submit(
            draft.problems,
            lambda problems: self._show_problems(generation, problems),
            lambda message: self._show_problems(generation, [message]),
        )

    def _show_problems(self, generation: int, problems: list[str]) -> None:
        if generation != self._generation:
            return  # the form changed since; a newer check is on its way
        self._problems = list(problems)
        self.create_button.setEnabled(not problems and not self._busy)
        if problems:
            self.problem_label.setText(problems[0])
            self.problem_label.setStyleSheet(problem_style())
            self.create_button.setToolTip(problems[0])
        else:
            self.problem_label.setText("Ready to create.")
            self.problem_label.setStyleSheet("")
            self.create_button.setToolTip("Create the job from this form")

    def problems(self) -> list[str]:
        return list(self._problems)

    def create_job(self) -> None:
        if self._busy:
            return
        draft = self.draft()
        services = self.services
        self._set_busy(True)
        self.runner.submit(lambda: services.jobs.create(draft).to_dict(),
                           self._created, self._create_failed)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.create_button.setEnabled(not busy and not self._problems)

    def _created(self, job: dict[str, Any]) -> None:
        self._set_busy(False)
        self.title_edit.clear()
        self.description_edit.clear()
        self.tags_edit.clear()
        self.list_note.setText(f"Job “{job['title']}” created.")
        self.jobs_changed.emit(job)
        self.refresh()

    def _create_failed(self, message: str) -> None:
        self._set_busy(False)
        self.problem_label.setText(message)
        self.problem_label.setStyleSheet(problem_style())

    # -- dropping files on a picker ---------------------------------------------------------

    def queue_dropped(self, paths: list[Path], kind: str) -> None:
        """Queue the first dropped file as an upload of `kind`; select it when it completes."""
        if not paths:
            return
        path = paths[0]
        queue = self.services.upload_queue
        self.picker_note.setText(f"Checking {path.name}…")
        self.picker_note.setStyleSheet("")

        def add() -> int:
            return queue.add_file(path, kind).item_id

        def queued(item_id: int) -> None:
            self._pending_drops[item_id] = kind
            self.picker_note.setText(f"Uploading {path.name}; it is picked when it completes.")

        def refused(message: str) -> None:
            self.picker_note.setText(message)
            self.picker_note.setStyleSheet(problem_style())

        self.runner.submit(add, queued, refused)

    def _on_queue_event(self, event: QueueEvent) -> None:
        """From an upload thread: hand the event to the GUI thread."""
        item = event.item
        if item is not None and item.state in ("completed", "failed", "cancelled"):
            self.runner.call_soon(self._queue_item_done, item)

    def _queue_item_done(self, item: Any) -> None:
        kind = self._pending_drops.pop(item.item_id, None)
        if kind is None:
            return
        if item.state != "completed" or not item.upload:
            reason = item.error or f"the upload was {item.state}"
            self.picker_note.setText(f"{item.name} was not uploaded: {reason}")
            self.picker_note.setStyleSheet(problem_style())
            return
        upload_id = str(item.upload["id"])
        self.picker_note.setText(f"{item.name} is uploaded and picked.")
        self.picker_note.setStyleSheet("")
        services = self.services

        def load() -> dict[str, Any]:
            completed = [u.to_dict() for u in services.uploads.list(kind=kind)
                         if u.status == "completed"]
            return {"uploads": completed}

        def loaded(data: dict[str, Any]) -> None:
            picker = self.video_picker if kind == "video" else self.transcript_picker
            picker.set_uploads(data["uploads"], upload_id)

        self.runner.submit(load, loaded)

    # -- the job list -----------------------------------------------------------------------

    def selected_job(self) -> dict[str, Any] | None:
        rows = self.jobs_view.selectionModel().selectedRows()
        if not rows:
            return None
        return self.jobs_model.job(rows[0].row())

    def _selection_changed(self, *_args: QItemSelection) -> None:
        job = self.selected_job()
        allowed = TRANSITIONS.get(job["status"], set()) if job else set()
        self.publish_button.setEnabled("published" in allowed)
        self.cancel_button.setEnabled("cancelled" in allowed)

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
            if result["deleted"]:
                parts.append(f"{result['deleted']} temporary input(s) deleted.")
            if result["promoted"]:
                parts.append(f"{result['promoted']} input(s) made permanent.")
            if result["kept"]:
                parts.append(f"{result['kept']} input(s) kept: another job needs them.")
            self.list_note.setText(" ".join(parts))
            self.jobs_changed.emit(result["job"])
            self.refresh()

        self.runner.submit(publish, done, self.list_note.setText)

    def cancel_job(self) -> None:
        job = self.selected_job()
        if job is None:
            return
        answer = QMessageBox.question(
            self, "Cancel job",
            f"Cancel the job “{job['title']}”? A cancelled job cannot be restarted.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        services = self.services

        def done(changed: dict[str, Any]) -> None:
            self.list_note.setText(f"“{job['title']}” is cancelled.")
            self.jobs_changed.emit(changed)
            self.refresh()

        self.runner.submit(lambda: services.jobs.cancel(job["id"]).to_dict(), done,
                           self.list_note.setText)
