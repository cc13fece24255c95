"""The Uploads panel: a drop zone, pasted transcripts, and the upload queue with its controls."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from shorts_desktop.core.errors import ShortsError
from shorts_desktop.core.services.intake import (
    TRANSCRIPT_EXTENSIONS,
    VIDEO_EXTENSIONS,
    Added,
    HeldFile,
    queue_held,
    queue_paths,
)
from shorts_desktop.core.services.upload_queue import (
    ACTIVE_STATES,
    QueueEvent,
    QueueItem,
    UploadQueue,
)
from shorts_desktop.core.units import plural
from shorts_desktop.gui.format import human_size, human_time
from shorts_desktop.gui.models.queue_model import (
    COLUMNS,
    ETA,
    FINISHED,
    KIND,
    NAME,
    PROGRESS,
    RATE,
    REASON_SPAN,
    SIZE,
    STATE,
    QueueModel,
    shows_reason,
)
from shorts_desktop.gui.panels.base import (
    MessageBanner,
    Panel,
    heading,
    list_table,
    make_action,
    standard_icon,
)

if TYPE_CHECKING:
    from shorts_desktop.app import Services
    from shorts_desktop.gui.tasks import TaskRunner

log = logging.getLogger(__name__)

MAX_REFUSED_SHOWN = 20
#: At most this often the other panels hear that uploads completed (they reload then).
CHANGED_INTERVAL_MS = 1000
FLUSH_BATCH = 40  # queue rows applied to the table per pass of the event loop


def duplicate_question(held: list[HeldFile]) -> str:
    """ “clip.mp4” is already in your library as “clip.mp4” (uploaded …); upload it again? """
    def where(item: HeldFile) -> str:
        first = item.same_as[0]
        when = human_time(first.get("completed_at") or first.get("created_at"))
        more = len(item.same_as) - 1
        also = f" and {plural(more, 'other upload')}" if more else ""
        return f"as “{first.get('original_name')}” (uploaded {when}){also}"

    if len(held) == 1:
        item = held[0]
        return f"“{item.name}” is already in your library {where(item)}; upload it again?"
    lines = [f"{len(held)} files are already in your library:"]
    lines.extend(f"• “{item.name}” {where(item)}" for item in held[:MAX_REFUSED_SHOWN])
    if len(held) > MAX_REFUSED_SHOWN:
        lines.append(f"… and {len(held) - MAX_REFUSED_SHOWN} more")
    lines.append("Upload them again?")
    return "\n".join(lines)


def cancel_question(sent: list[QueueItem], selected: int) -> str:
    """What cancelling uploads that have sent bytes throws away, as a question."""
    def what(item: QueueItem) -> str:
        return f"{human_size(item.bytes_done)} of {human_size(item.size)}"

    again = "Retry would start from the beginning."
    if selected == 1:
        item = sent[0]
        return (f"Cancel the upload of “{item.name}”? {what(item)} has been sent, and "
                f"cancelling throws it away. {again}")
    lines = [f"Cancel {selected} uploads? Cancelling throws away what "
             f"{'this one has' if len(sent) == 1 else f'these {len(sent)} have'} sent:"]
    lines.extend(f"• “{item.name}”: {what(item)}" for item in sent[:MAX_REFUSED_SHOWN])
    if len(sent) > MAX_REFUSED_SHOWN:
        lines.append(f"… and {len(sent) - MAX_REFUSED_SHOWN} more")
    lines.append(again)
    return "\n".join(lines)


def transcript_name(name: str) -> str:
    name = name.strip() or "transcript.txt"
    if not name.lower().endswith(TRANSCRIPT_EXTENSIONS):
        name += ".txt"
    return name



class PasteTranscriptDialog(QDialog):
    """A text editor and a file name for a transcript that is not in a file."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pasteTranscriptDialog")
        self.setWindowTitle("Paste transcript")
        self.setAccessibleName("Paste transcript")
        self.resize(560, 420)
        self.name_edit = QLineEdit("transcript.txt")
        self.name_edit.setAccessibleName("Transcript file name")
        self.name_edit.setToolTip("The name the transcript gets in storage; .txt is added "
                                  "unless it ends in .txt, .srt or .vtt.")
        self.text_edit = QPlainTextEdit()
        self.text_edit.setAccessibleName("Transcript text")
        self.text_edit.setPlaceholderText("Paste or type the transcript here.")
        self.text_edit.setTabChangesFocus(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Add to queue")
        ok.setAccessibleName("Add the transcript to the upload queue")
        ok.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.text_edit.textChanged.connect(
            lambda: ok.setEnabled(bool(self.text_edit.toPlainText().strip()))
        )
        form = QFormLayout()
        form.addRow("&Name:", self.name_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.text_edit, 1)
        layout.addWidget(self.buttons)
        self.text_edit.setFocus()

    def text(self) -> str:
        return self.text_edit.toPlainText()

    def name(self) -> str:
        return transcript_name(self.name_edit.text())


class UploadsPanel(Panel):
    """Adds files to the upload queue and shows what the queue is doing."""

    title = "Uploads"
    object_name = "uploadsPanel"

    #: An upload completed (the library, jobs, stats and cleanup panels reload).
    uploads_changed = Signal()
    #: Files queued or uploading, and their total rate in bytes per second.
    transfers_changed = Signal(int, float)
    #: The queue went idle: (title, message) for the tray.
    queue_finished = Signal(str, str)

    def __init__(self, services: Services, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(services, runner, parent)
        self.model = QueueModel(self)
        self.paste_dialog: PasteTranscriptDialog | None = None
        self._queue: UploadQueue | None = None
        self._finished_since: dict[int, str] = {}
        #: Rows that came back already finished (failed in an earlier run): the summary
        #: of this run does not count them unless they change again.
        self._arrived_finished: set[int] = set()
        self._last_transfers: tuple[int, float] = (0, 0.0)
        self._refused: list[tuple[str, str]] = []
        self._adding = 0
        #: Files held back because their content is in the library, waiting for an answer.
        self._held: list[HeldFile] = []
        self.duplicate_dialog: QMessageBox | None = None
        # Queue events wait here and reach the model in one batch per event-loop pass.
        self._pending_states: dict[int, QueueItem] = {}
        self._pending_progress: dict[int, QueueItem] = {}
        self._pending_finished = False
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(0)
        self._flush_timer.timeout.connect(self._flush)
        self._changed_timer = QTimer(self)
        self._changed_timer.setSingleShot(True)
        self._changed_timer.setInterval(CHANGED_INTERVAL_MS)
        self._changed_timer.timeout.connect(self.uploads_changed.emit)

        layout = self.page_layout()
        layout.addWidget(heading(self.title))
        layout.addWidget(self._build_drop_zone())
        refused_box = self._build_refused_box()
        layout.addLayout(self._build_toolbar())
        self.stack = QStackedWidget()
        self.stack.addWidget(self._build_table())
        self.empty_label = QLabel(
            "The queue is empty. Drop files on the window or use Add files…; "
            "each file then shows its progress here."
        )
        self.empty_label.setObjectName("queueEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setEnabled(False)
        self.stack.addWidget(self.empty_label)
        layout.addWidget(self.stack, 1)
        # Below the queue: the list coming or going never moves the rows under the pointer.
        layout.addWidget(refused_box)

        self.model.rowsInserted.connect(self._model_changed)
        self.model.rowsRemoved.connect(self._model_changed)
        self.model.modelReset.connect(self._model_changed)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        self._attach(services.upload_queue)
        self._model_changed()  # an empty queue says so from the start

    # -- construction -----------------------------------------------------------------------

    def _build_drop_zone(self) -> QFrame:
        zone = QFrame()
        zone.setObjectName("dropZone")
        zone.setAccessibleName("Drop zone for videos and transcripts")
        zone.setStyleSheet(
            "#dropZone { border: 2px dashed palette(mid); border-radius: 10px; }"
        )
        zone.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        icon = QLabel()
        size = self.fontMetrics().height() * 3
        icon.setPixmap(standard_icon(self.style(), QStyle.StandardPixmap.SP_ArrowUp).pixmap(size))
        icon.setAccessibleName("Upload icon")
        title = QLabel("Drop videos and transcripts here")
        title.setObjectName("dropZoneTitle")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        title.setFont(font)
        hint = QLabel("Videos: MP4, MOV, WebM, MKV or AVI · Transcripts: .txt, .srt or .vtt · "
                      "dropping anywhere on the window works too")
        hint.setWordWrap(True)
        hint.setEnabled(False)

        self.add_button = QPushButton("&Add files…")
        self.add_button.setObjectName("addFilesButton")
        self.add_button.setAccessibleName("Add files")
        self.add_button.setToolTip("Choose videos and transcripts to upload (Ctrl+O)")
        self.add_button.setDefault(True)
        self.add_button.clicked.connect(self.choose_files)
        self.paste_button = QPushButton("&Paste transcript…")
        self.paste_button.setObjectName("pasteTranscriptButton")
        self.paste_button.setAccessibleName("Paste transcript")
        self.paste_button.setToolTip("Type or paste a transcript that is not in a file")
        self.paste_button.clicked.connect(self.paste_transcript)
        self.temp_switch = QCheckBox("&Keep as temporary")
        self.temp_switch.setObjectName("keepTemporarySwitch")
        self.temp_switch.setAccessibleName("Keep new uploads as temporary")
        self.temp_switch.setChecked(True)
        self._update_temp_tooltip()

        text = QVBoxLayout()
        text.setSpacing(4)
        text.addWidget(title)
        text.addWidget(hint)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.paste_button)
        buttons.addSpacing(16)
        buttons.addWidget(self.temp_switch)
        buttons.addStretch(1)
        text.addSpacing(6)
        text.addLayout(buttons)
        row = QHBoxLayout(zone)
        row.setContentsMargins(20, 16, 20, 16)
        row.setSpacing(16)
        row.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(text, 1)
        return zone

    def _build_refused_box(self) -> MessageBanner:
        box = MessageBanner("refusedBox", "Files that were not added",
                            "Dismiss the list of files that were not added")
        box.dismissed.connect(self.clear_refused)
        self.refused_label = box.label
        self.refused_label.setObjectName("refusedFiles")
        self.refused_label.setAccessibleName("Why files were not added")
        self.refused_dismiss = box.dismiss_button
        self.refused_box = box
        return box

    def _build_toolbar(self) -> QHBoxLayout:
        sp = QStyle.StandardPixmap
        key = QKeySequence.StandardKey
        self.pause_action = make_action(
            self, "Pause", "Pause the selected uploads (Ctrl+P)", self.pause_selected,
            "Ctrl+P", sp.SP_MediaPause)
        self.resume_action = make_action(
            self, "Resume", "Resume the selected uploads (Ctrl+Shift+P)", self.resume_selected,
            "Ctrl+Shift+P", sp.SP_MediaPlay)
        self.cancel_action = make_action(
            self, "Cancel", "Cancel the selected uploads (Delete)", self.cancel_selected,
            key.Delete, sp.SP_DialogCancelButton)
        self.retry_action = make_action(
            self, "Retry", "Upload the selected failed or cancelled files again (Ctrl+R)",
            self.retry_selected, "Ctrl+R", sp.SP_BrowserReload)
        self.clear_action = make_action(
            self, "Clear completed",
            "Remove completed uploads from this list (they stay in the Library)",
            self.clear_completed)
        row = QHBoxLayout()
        row.setSpacing(6)
        label = QLabel("Queue")
        font = label.font()
        font.setBold(True)
        label.setFont(font)
        row.addWidget(label)
        row.addSpacing(8)
        self.action_buttons: dict[str, QToolButton] = {}
        for name, action in (("pause", self.pause_action), ("resume", self.resume_action),
                             ("cancel", self.cancel_action), ("retry", self.retry_action)):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setAccessibleName(f"{action.text()} selected uploads")
            self.action_buttons[name] = button
            row.addWidget(button)
        row.addStretch(1)
        self.pause_all_button = QPushButton("Pause all")
        self.pause_all_button.setObjectName("pauseAllButton")
        self.pause_all_button.setCheckable(True)
        self.pause_all_button.setAccessibleName("Pause all uploads")
        self.pause_all_button.setToolTip("Hold every upload, including files added later")
        self.pause_all_button.toggled.connect(self._toggle_pause_all)
        row.addWidget(self.pause_all_button)
        clear = QToolButton()
        clear.setDefaultAction(self.clear_action)
        clear.setAccessibleName("Clear completed uploads from the queue")
        self.action_buttons["clear"] = clear
        row.addWidget(clear)
        return row

    def _build_table(self) -> QTableView:
        samples = {KIND: "Transcript", SIZE: "999.9 MB", PROGRESS: "100%" + "M" * 6,
                   STATE: "Cancelled", RATE: "999.9 MB/s", ETA: "59 min 59 s"}
        table = list_table(self, self.model, COLUMNS, NAME, samples, row_padding=14, margin=20)
        table.setObjectName("uploadQueue")
        table.setAccessibleName("Upload queue")
        header = table.horizontalHeader()
        self.model.set_progress_width(header.sectionSize(PROGRESS))
        header.sectionResized.connect(self._section_resized)
        table.pressed.connect(self._pressed)
        table.customContextMenuRequested.connect(self._context_menu)
        for action in (self.pause_action, self.resume_action, self.cancel_action,
                       self.retry_action):
            table.addAction(action)
        self.table = table
        return table

    def _pressed(self, index: QModelIndex) -> None:
        """A press on the (unselectable) progress cell selects its row like any other."""
        if index.column() != PROGRESS:
            return
        toggle = QApplication.keyboardModifiers() & Qt.KeyboardModifier.ControlModifier
        command = (QItemSelectionModel.SelectionFlag.Toggle if toggle
                   else QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.table.selectionModel().setCurrentIndex(
            index.siblingAtColumn(NAME), command | QItemSelectionModel.SelectionFlag.Rows)

    def _section_resized(self, column: int, _old: int, new: int) -> None:
        if column == PROGRESS:
            self.model.set_progress_width(new)

    def _update_spans(self, rows: Iterable[int] | None = None) -> None:
        """A failed row's State cell spans the (empty) Rate and ETA cells, so that the
        reason it gives is read in the row; others are one cell. C++ does the painting."""
        table = self.table
        for row in range(self.model.rowCount()) if rows is None else rows:
            wanted = REASON_SPAN if shows_reason(self.model.queue_item(row)) else 1
            if table.columnSpan(row, STATE) != wanted:
                table.setSpan(row, STATE, 1, wanted)

    def _reset_spans(self) -> None:
        self.table.clearSpans()
        self._update_spans()

    # -- the queue --------------------------------------------------------------------------

    def _attach(self, queue: UploadQueue) -> None:
        """Follow `queue`; its events arrive on worker threads and are posted to the GUI."""
        self._queue = queue
        self._finished_since.clear()
        self._arrived_finished.clear()
        self._pending_states.clear()
        self._pending_progress.clear()
        self._pending_finished = False
        runner = self.runner

        def on_event(event: QueueEvent) -> None:  # any thread: no widgets here
            if event.kind == "progress" and event.item is not None:
                runner.report(f"item-{event.item.item_id}", self._on_progress, queue, event.item)
            else:
                runner.call_soon(self._on_event, queue, event)

        queue.subscribe(on_event)
        self.model.reset(queue.items())
        self._reset_spans()
        self.pause_all_button.blockSignals(True)
        self.pause_all_button.setChecked(queue.paused_all)
        self.pause_all_button.blockSignals(False)
        self._sync_pause_all_text()
        self._emit_transfers()

    @property
    def queue(self) -> UploadQueue:
        assert self._queue is not None
        return self._queue

    def _on_progress(self, queue: UploadQueue, item: QueueItem) -> None:
        if queue is self._queue:
            self._pending_progress[item.item_id] = item
            self._schedule_flush()

    def _on_event(self, queue: UploadQueue, event: QueueEvent) -> None:
        if queue is not self._queue:
            return
        if event.kind == "finished":
            self._pending_finished = True
        elif event.kind == "thumbnail":  # the library may show it: it reloads, unhurried
            if not self._changed_timer.isActive():
                self._changed_timer.start()
            return
        elif event.item is not None:
            if event.kind == "added" and event.item.state in FINISHED:
                self._arrived_finished.add(event.item.item_id)
            else:
                self._arrived_finished.discard(event.item.item_id)  # it moved on this run
            self._pending_states.pop(event.item.item_id, None)  # keep the order of arrival
            self._pending_states[event.item.item_id] = event.item
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _flush(self) -> None:
        """Apply the queue events of one pass: one model update, one summary, one signal.

        A file completes, fails or is cancelled in one batch or another; thousands of
        events a second reach the GUI thread as at most one repaint per pass.
        """
        # At most a batch of rows per pass, so that 200 dropped files reach the table
        # over a few passes with the event loop running in between.
        ids = list(itertools.islice(self._pending_states, FLUSH_BATCH))
        states = [self._pending_states.pop(item_id) for item_id in ids]
        progress = list(self._pending_progress.values())
        self._pending_progress.clear()
        finished = self._pending_finished and not self._pending_states
        if finished:
            self._pending_finished = False
        if self._pending_states:
            self._flush_timer.start()
        if states:
            olds = self.model.put_many(states)
            self._update_spans(row for row in (self.model.row_of(i.item_id) for i in states)
                               if row is not None)
            completed = False
            for item in states:
                old = olds.get(item.item_id)
                if item.item_id in self._arrived_finished:
                    self._arrived_finished.discard(item.item_id)
                    continue  # as an earlier run left it: not news of this one
                if item.state in FINISHED and (old is None or old.state != item.state):
                    self._finished_since[item.item_id] = item.state
                    completed = completed or item.state == "completed"
            if completed and not self._changed_timer.isActive():
                self._changed_timer.start()
        if progress:
            self.model.progress_many(progress)
        if finished:
            if self._changed_timer.isActive():  # the queue is idle: say so at once
                self._changed_timer.stop()
                self.uploads_changed.emit()
            self._notify_finished()
        if states or finished:
            self._update_actions()
        self._emit_transfers()

    def _notify_finished(self) -> None:
        states = list(self._finished_since.values())
        self._finished_since.clear()
        if not states or self.queue.active_count():
            return
        done = states.count("completed")
        failed = states.count("failed")
        cancelled = states.count("cancelled")
        parts = [f"{plural(done, 'file')} uploaded"]
        if failed:
            parts.append(f"{failed} failed")
        if cancelled:
            parts.append(f"{cancelled} cancelled")
        title = "Uploads finished" if not failed else "Uploads finished with errors"
        self.queue_finished.emit(title, ", ".join(parts))

    def _emit_transfers(self) -> None:
        now = self.model.transferring()
        if now != self._last_transfers:
            self._last_transfers = now
            self.transfers_changed.emit(*now)

    # -- adding -----------------------------------------------------------------------------

    def add_paths(self, paths: list[Path]) -> None:
        """Queue dropped or chosen files; the ones that cannot be uploaded are listed with why."""
        paths = [Path(p) for p in paths]
        if not paths:
            return
        queue = self.queue
        is_temp = self.temp_switch.isChecked()
        self._adding += 1
        self.runner.submit(
            lambda: queue_paths(queue, paths, is_temp),
            self._added,
            lambda message: self._added(([("", message)], [])),
            title="Could not add files",
        )

    def _added(self, result: Added) -> None:
        self._adding -= 1
        refused, held = result
        if refused:
            self.show_refused(refused)
        if held:
            self._held.extend(held)
            if self.duplicate_dialog is None:
                self._ask_about_duplicates()

    # -- duplicates -------------------------------------------------------------------------

    def _ask_about_duplicates(self) -> None:
        """Ask whether files whose content is already in the library go up again (a
        window-modal question; files held back meanwhile are asked about next)."""
        held, self._held = self._held, []
        if not held:
            return
        one = len(held) == 1
        box = QMessageBox(QMessageBox.Icon.Question, "Already in your library",
                          duplicate_question(held), QMessageBox.StandardButton.NoButton, self)
        box.setObjectName("duplicateDialog")
        box.setAccessibleName("Already in your library")
        again = box.addButton("&Upload again" if one else "&Upload them again",
                              QMessageBox.ButtonRole.AcceptRole)
        skip = box.addButton("&Skip" if one else "&Skip them", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(skip)
        box.setEscapeButton(skip)
        self.duplicate_again_button = again
        self.duplicate_skip_button = skip
        box.finished.connect(lambda _result: self._duplicates_answered(
            box, held, box.clickedButton() is again))
        self.duplicate_dialog = box
        box.open()

    def _duplicates_answered(self, box: QMessageBox, held: list[HeldFile],
                             again: bool) -> None:
        box.deleteLater()
        self.duplicate_dialog = None
        if again:
            queue = self.queue
            self._adding += 1
            self.runner.submit(lambda: queue_held(queue, held), self._added,
                               lambda message: self._added(([("", message)], [])),
                               title="Could not add files")
        if self._held:
            self._ask_about_duplicates()

    def choose_files(self) -> None:
        patterns = " ".join(f"*{e} *{e.upper()}" for e in VIDEO_EXTENSIONS + TRANSCRIPT_EXTENSIONS)
        names, _filter = QFileDialog.getOpenFileNames(
            self, "Add videos and transcripts", "",
            f"Videos and transcripts ({patterns});;All files (*)",
        )
        if names:
            self.add_paths([Path(n) for n in names])

    def paste_transcript(self) -> None:
        """Open the editor for a transcript that is not in a file (non-blocking)."""
        if self.paste_dialog is not None:
            self.paste_dialog.raise_()
            self.paste_dialog.activateWindow()
            return
        dialog = PasteTranscriptDialog(self)
        dialog.accepted.connect(lambda: self.add_text(dialog.text(), dialog.name()))
        dialog.finished.connect(self._paste_closed)
        self.paste_dialog = dialog
        dialog.open()

    def _paste_closed(self) -> None:
        if self.paste_dialog is not None:
            self.paste_dialog.deleteLater()
            self.paste_dialog = None

    def add_text(self, text: str, name: str = "transcript.txt") -> None:
        queue = self.queue
        is_temp = self.temp_switch.isChecked()
        name = transcript_name(name)

        def work() -> Added:
            try:
                same = queue.uploads.same_content_as_text(text)
                if same:
                    return [], [HeldFile(name, "transcript", is_temp,
                                         [u.to_dict() for u in same], text=text)]
                queue.add_text(text, name, is_temp)
            except ShortsError as exc:
                return [(name, str(exc))], []
            return [], []

        self._adding += 1
        self.runner.submit(work, self._added,
                           lambda message: self._added(([(name, message)], [])),
                           title="Could not add the transcript")

    def show_refused(self, refused: list[tuple[str, str]]) -> None:
        self._refused = (self._refused + refused)[-MAX_REFUSED_SHOWN:]
        count = len(self._refused)
        lines = [f"<b>{'This file was' if count == 1 else 'These files were'} not added:</b>"]
        for _name, reason in self._refused:
            lines.append(f"• {_escape(reason)}")
        self.refused_box.show_message("<br>".join(lines), "warning")

    def clear_refused(self) -> None:
        self._refused = []
        self.refused_label.clear()
        self.refused_box.hide()

    def refused(self) -> list[tuple[str, str]]:
        return list(self._refused)

    # -- controlling ------------------------------------------------------------------------

    def selected_items(self) -> list[QueueItem]:
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [self.model.queue_item(r) for r in rows]

    def _for_selected(self, states: tuple[str, ...], act: Callable[[int], None]) -> None:
        for item in self.selected_items():
            current = self.model.find(item.item_id)
            if current is not None and current.state in states:
                try:
                    act(item.item_id)
                except KeyError:
                    continue  # cleared from the queue meanwhile
        self._update_actions()

    def pause_selected(self) -> None:
        self._for_selected(("queued", "uploading"), self.queue.pause)

    def resume_selected(self) -> None:
        self._for_selected(("paused",), self.queue.resume)

    def cancel_selected(self) -> None:
        """Cancel the selected uploads; asks first when that throws away bytes already sent
        (No keeps them going). A file that has sent nothing yet goes without a question."""
        queue = self.queue
        now = {i.item_id: i for i in queue.items()}  # the queue's latest, not the last repaint
        items = [now[i.item_id] for i in self.selected_items()
                 if i.item_id in now and now[i.item_id].state in ACTIVE_STATES]
        sent = [i for i in items if i.bytes_done > 0]
        if sent:
            answer = QMessageBox.question(
                self, "Cancel upload?" if len(items) == 1 else "Cancel uploads?",
                cancel_question(sent, len(items)),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        for item in items:
            try:
                queue.cancel(item.item_id)  # one that finished meanwhile stays as it is
            except KeyError:
                continue  # cleared from the queue meanwhile
        self._update_actions()

    def retry_selected(self) -> None:
        self._for_selected(("failed", "cancelled"), self.queue.retry)

    def clear_completed(self) -> None:
        self.queue.clear_finished()
        self.model.remove_finished()
        self._reset_spans()

    def _toggle_pause_all(self, paused: bool) -> None:
        if paused:
            self.queue.pause_all()
        else:
            self.queue.resume_all()
        self._sync_pause_all_text()

    def _sync_pause_all_text(self) -> None:
        paused = self.pause_all_button.isChecked()
        self.pause_all_button.setText("Resume all" if paused else "Pause all")
        self.pause_all_button.setAccessibleName(
            "Resume all uploads" if paused else "Pause all uploads"
        )
        self.pause_all_button.setToolTip(
            "Let every held upload continue" if paused
            else "Hold every upload, including files added later"
        )

    def _update_actions(self) -> None:
        states = {i.state for i in self.selected_items()}
        self.pause_action.setEnabled(bool(states & {"queued", "uploading"}))
        self.resume_action.setEnabled("paused" in states)
        self.cancel_action.setEnabled(bool(states & set(ACTIVE_STATES)))
        self.retry_action.setEnabled(bool(states & {"failed", "cancelled"}))
        self.clear_action.setEnabled(any(i.state == "completed" for i in self.model.items()))

    def _model_changed(self) -> None:
        self.stack.setCurrentIndex(0 if self.model.rowCount() else 1)
        self._update_actions()

    def _context_menu(self, pos: QPoint) -> None:
        if not self.table.indexAt(pos).isValid():
            return
        menu = QMenu(self)
        for action in (self.pause_action, self.resume_action, self.cancel_action,
                       self.retry_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.clear_action)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def _update_temp_tooltip(self) -> None:
        settings = self.services.settings
        hours = f"{settings.cleanup_temp_hours:g}"
        self.temp_switch.setToolTip(
            f"On: new files go under the temporary prefix “{settings.temp_prefix}”, which "
            f"cleanup empties after {hours} hours (S3_CLEANUP_TEMP_HOURS). Make a file "
            "permanent later in the Library.\nOff: new files are kept permanently."
        )

    # -- panel ------------------------------------------------------------------------------

    def refresh(self) -> None:
        self._update_actions()

    def set_services(self, services: Services) -> None:
        self.services = services
        self._update_temp_tooltip()
        self._attach(services.upload_queue)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
