"""The Jobs panel's New job form: title, description, tags, voice, privacy, video, transcript.

The form is checked with the core's `JobDraft.problems()` on a short debounce in a worker
(the check reads the database). What is wrong is said under the Create button in plain
words once the user tried: pressed Create (the core checks again and refuses), or edited
a field and left it; a form seen for the first time shows no error. The pickers show a
video's picture and length and a transcript's first words (read in a worker, kept by
upload id). Files dropped on the video or transcript picker join the upload queue and are
picked once uploaded. Typed text falls back on a colour emoji font where the system has one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from shorts_desktop.core.errors import ShortsError
from shorts_desktop.core.services.jobs import (
    MAX_DESCRIPTION,
    MAX_TAGS_TOTAL,
    MAX_TITLE,
    PRIVACY,
    VOICES,
    JobDraft,
    clean_tags,
    tags_length,
)
from shorts_desktop.gui.fonts import with_emoji
from shorts_desktop.gui.models.jobs_table import job_row
from shorts_desktop.gui.panels.base import problem_style
from shorts_desktop.gui.panels.upload_picker import UploadPicker, upload_row

if TYPE_CHECKING:
    from shorts_desktop.app import Services
    from shorts_desktop.core.services.upload_queue import QueueEvent
    from shorts_desktop.gui.tasks import TaskRunner

VALIDATE_DELAY_MS = 200
#: Transcripts whose first words are read per reload of the pickers (the rest next time).
OPENINGS_PER_LOAD = 40


def problem_fields(problem: str) -> set[str]:
    """The form fields a problem of `JobDraft.problems()` is about."""
    words = problem.casefold()
    return {name for name in ("title", "description", "tags", "voice", "privacy", "video",
                              "transcript") if name in words}


def _counter(text: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    label.setMinimumWidth(72)
    return label


class JobForm(QGroupBox):
    """The form a job is made from, with its checks; Create makes the job in a worker."""

    #: Emitted with the new job's row (`job_row`, and "queue_problem" when it was made but
    #: could not be queued) once it was created.
    created = Signal(object)

    def __init__(self, services: Services, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__("New job", parent)
        self.setObjectName("newJobBox")
        self.services = services
        self.runner = runner
        self._generation = 0
        self._problems: list[str] = ["Checking the form…"]
        self._busy = False
        self._pending_drops: dict[int, str] = {}  # upload queue item -> the picker's kind
        self._subscribed: set[int] = set()
        # The form says what is wrong only once the user tried: pressed Create, or edited
        # a field and left it (`_touched`); `_dirty` are fields edited since they got focus.
        self._tried = False
        self._touched: set[str] = set()
        self._dirty: set[str] = set()
        #: First words of transcripts by upload id (an upload's content never changes).
        self._openings: dict[str, str] = {}
        self._reading_openings: set[str] = set()

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(VALIDATE_DELAY_MS)
        self._debounce.timeout.connect(self._validate)

        self.title_edit = QLineEdit()
        self.title_edit.setObjectName("jobTitle")
        self.title_edit.setAccessibleName("Job title")
        self.title_edit.setPlaceholderText("What the Short is called on YouTube")
        self.title_edit.setToolTip(f"The video title; YouTube allows {MAX_TITLE} characters.")
        self.title_edit.setFont(with_emoji(self.title_edit.font()))
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
        self.description_edit.setFont(with_emoji(self.description_edit.font()))
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
        self.tags_edit.setFont(with_emoji(self.tags_edit.font()))

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
        outer = QVBoxLayout(self)
        outer.addLayout(columns)
        outer.addLayout(actions)

        self.title_edit.textChanged.connect(self._form_changed)
        self.description_edit.textChanged.connect(self._form_changed)
        self.tags_edit.textChanged.connect(self._form_changed)
        self._fields: dict[QWidget, str] = {
            self.title_edit: "title", self.description_edit: "description",
            self.tags_edit: "tags", self.voice_combo: "voice", self.privacy_combo: "privacy",
            self.video_picker: "video", self.transcript_picker: "transcript",
        }
        for edit, name in ((self.title_edit, "title"), (self.tags_edit, "tags")):
            edit.textEdited.connect(lambda _t, n=name: self._dirty.add(n))
            edit.returnPressed.connect(lambda n=name: self._touch(n))
            edit.installEventFilter(self)
        self.description_edit.textChanged.connect(lambda: self._dirty.add("description"))
        self.description_edit.installEventFilter(self)
        for combo, name in ((self.voice_combo, "voice"), (self.privacy_combo, "privacy"),
                            (self.video_picker, "video"),
                            (self.transcript_picker, "transcript")):
            combo.activated.connect(lambda _i, n=name: self._touch(n))
        self.voice_combo.currentIndexChanged.connect(self._form_changed)
        self.privacy_combo.currentIndexChanged.connect(self._form_changed)
        self.video_picker.currentIndexChanged.connect(self._form_changed)
        self.transcript_picker.currentIndexChanged.connect(self._form_changed)
        self.video_picker.files_dropped.connect(lambda p: self.queue_dropped(p, "video"))
        self.transcript_picker.files_dropped.connect(
            lambda p: self.queue_dropped(p, "transcript")
        )

        self._subscribe()
        self._update_counters()
        self._schedule_validation()

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

    def _subscribe(self) -> None:
        queue = self.services.upload_queue
        if id(queue) not in self._subscribed:
            self._subscribed.add(id(queue))
            queue.subscribe(self._on_queue_event)

    def set_services(self, services: Services) -> None:
        self._pending_drops.clear()
        self.services = services
        self._subscribe()

    def set_uploads(self, videos: list[dict[str, Any]], transcripts: list[dict[str, Any]]
                    ) -> None:
        """The completed uploads to pick from (read by the panel's reload)."""
        self.video_picker.set_uploads(videos)
        self.transcript_picker.set_openings(self._openings)
        self.transcript_picker.set_uploads(transcripts)
        self._read_openings()
        self._schedule_validation()

    def _read_openings(self) -> None:
        """Read the first words of the transcripts in the picker that are not known yet, in
        a worker (from the file each was uploaded from, or from storage)."""
        wanted = [str(u["id"]) for u in self.transcript_picker.uploads()
                  if str(u["id"]) not in self._openings
                  and str(u["id"]) not in self._reading_openings][:OPENINGS_PER_LOAD]
        if not wanted:
            return
        self._reading_openings.update(wanted)
        jobs = self.services.jobs

        def work() -> dict[str, str]:
            found: dict[str, str] = {}
            for upload_id in wanted:
                try:
                    found[upload_id] = jobs.transcript_opening(upload_id)
                except (ShortsError, OSError):
                    continue  # not now (offline, say): the next reload tries again
            return found

        def done(found: dict[str, str]) -> None:
            self._reading_openings.difference_update(wanted)
            self._openings.update(found)
            self.transcript_picker.set_openings(self._openings)

        def failed(_message: str) -> None:
            self._reading_openings.difference_update(wanted)

        self.runner.submit(work, done, failed)

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
        self._update_problem()

    def shown_problem(self) -> str | None:
        """The problem the form shows now: the first one of a field the user edited and
        left, or any once Create was pressed; None before the user tried."""
        return next((p for p in self._problems
                     if self._tried or problem_fields(p) & self._touched), None)

    def _update_problem(self) -> None:
        self.create_button.setEnabled(not self._busy)
        shown = self.shown_problem()
        if not self._problems:
            self.problem_label.setText("Ready to create.")
            self.problem_label.setStyleSheet("")
            self.create_button.setToolTip("Create the job from this form")
        else:
            self.problem_label.setText(shown or "")
            self.problem_label.setStyleSheet(problem_style() if shown else "")
            self.create_button.setToolTip(f"Create the job from this form ({self._problems[0]})")

    def _touch(self, name: str) -> None:
        """The user is done with a field: its problems may be shown now."""
        if name not in self._touched:
            self._touched.add(name)
            self._update_problem()

    def eventFilter(self, watched: Any, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FocusOut and isinstance(watched, QWidget):
            name = self._fields.get(watched)
            if name is not None and name in self._dirty:
                self._dirty.discard(name)
                self._touch(name)
        return super().eventFilter(watched, event)

    def problems(self) -> list[str]:
        return list(self._problems)

    def create_job(self) -> None:
        """Create the job from the form (the core checks it again); what is wrong with the
        form is said from now on."""
        if self._busy:
            return
        self._tried = True
        self._update_problem()
        draft = self.draft()
        services = self.services
        auto = services.settings.auto_process

        def work() -> dict[str, Any]:
            job = services.jobs.create(draft)
            if auto:
                try:
                    services.job_runner.submit(job.id)
                except ShortsError as exc:  # created all the same; say why it waits
                    return {**job_row(services.jobs.get(job.id)), "queue_problem": str(exc)}
            return job_row(services.jobs.get(job.id))

        self._set_busy(True)
        self.runner.submit(work, self._created, self._create_failed)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.create_button.setEnabled(not busy)

    def _created(self, job: dict[str, Any]) -> None:
        self._set_busy(False)
        self.title_edit.clear()
        self.description_edit.clear()
        self.tags_edit.clear()
        # A fresh form: nothing is wrong with it until the user tries again.
        self._tried = False
        self._touched.clear()
        self._dirty.clear()
        self._problems = ["Checking the form…"]  # until the emptied form is checked
        self._update_problem()
        self.created.emit(job)

    def _create_failed(self, message: str) -> None:
        self._set_busy(False)
        self.problem_label.setText(message)
        self.problem_label.setStyleSheet(problem_style())
        for widget, name in self._fields.items():  # take the user to what needs fixing
            if name in problem_fields(message):
                widget.setFocus(Qt.FocusReason.OtherFocusReason)
                break

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
            completed = [upload_row(u) for u in services.uploads.list(kind=kind)
                         if u.status == "completed"]
            return {"uploads": completed}

        def loaded(data: dict[str, Any]) -> None:
            picker = self.video_picker if kind == "video" else self.transcript_picker
            picker.set_uploads(data["uploads"], upload_id)
            if kind == "transcript":
                self._read_openings()

        self.runner.submit(load, loaded)
