"""The Cleanup panel: preview and delete old temporary files, abort stale multipart
uploads, and apply the recommended bucket lifecycle rules.

The automatic cleanup switch runs the same cleanup every hour while the app is open;
it is saved in the settings file (SHORTS_DESKTOP_AUTO_CLEANUP), so it stays as left.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from shorts_desktop.core.config import save_settings_file
from shorts_desktop.core.errors import ShortsError
from shorts_desktop.core.services.cleanup import CleanupPlan, CleanupResult
from shorts_desktop.core.services.lifecycle import (
    apply_recommended,
    describe_rule,
    is_ours,
    recommended_rules,
)
from shorts_desktop.core.services.multipart import MultipartEntry
from shorts_desktop.core.services.uploads import find_upload
from shorts_desktop.core.units import human_age, plural
from shorts_desktop.gui.format import human_size
from shorts_desktop.gui.panels.base import Panel, heading, problem_style

if TYPE_CHECKING:
    from shorts_desktop.app import Services
    from shorts_desktop.gui.tasks import TaskRunner

AUTO_INTERVAL_MS = 3600 * 1000




def _item(text: str, tooltip: str | None = None, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setToolTip(tooltip or text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _table(name: str, columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    table.setWordWrap(False)
    table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move within
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    header = table.horizontalHeader()
    # Room for a typical value even while the table is empty ("36.5 h", "120.4 MB").
    header.setMinimumSectionSize(table.fontMetrics().horizontalAdvance("000.0 MB") + 24)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    for column in range(1, len(columns)):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
    return table


def _plan_rows(plan: CleanupPlan) -> list[dict[str, Any]]:
    """What the preview table shows, with names looked up for skipped uploads (worker side)."""
    rows: list[dict[str, Any]] = [
        {"name": i.name, "age": human_age(i.age_hours), "size": human_size(i.size),
         "what": "Delete", "tip": i.key, "delete": True}
        for i in plan.delete
    ]
    for mp in plan.abort:
        rows.append({"name": mp.key.rsplit("/", 1)[-1], "age": "—", "size": human_size(mp.size),
                     "what": "Abort unfinished upload", "tip": mp.key, "delete": True})
    now = datetime.now(UTC).replace(tzinfo=None)
    for skipped in plan.skipped:
        name, age, size = skipped["id"], "—", "—"
        try:
            upload = find_upload(skipped["id"])
        except ShortsError:  # the row vanished meanwhile: show its id
            pass
        else:
            name, size = upload.original_name, human_size(upload.size)
            age = human_age((now - upload.created_at).total_seconds() / 3600)
        rows.append({"name": name, "age": age, "size": size,
                     "what": f"Kept: {skipped['reason']}", "tip": skipped["id"], "delete": False})
    for upload_id in plan.missing:
        rows.append({"name": upload_id, "age": "—", "size": "—",
                     "what": "Already gone; marked missing", "tip": upload_id, "delete": False})
    return rows


class CleanupPanel(Panel):
    """Old temporary files, unfinished multipart uploads and lifecycle rules."""

    title = "Cleanup"
    object_name = "cleanupPanel"

    #: Emitted with the CleanupResult after files were deleted (manually or automatically).
    cleaned = Signal(object)

    def __init__(self, services: Services, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(services, runner, parent)
        self.plan: CleanupPlan | None = None
        self.last_result: CleanupResult | None = None
        self.rules: list[dict[str, Any]] = []
        self.multipart: list[MultipartEntry] = []
        self._busy = False

        self.auto_timer = QTimer(self)
        self.auto_timer.setInterval(AUTO_INTERVAL_MS)
        self.auto_timer.timeout.connect(self.run_automatic)

        layout = self.page_layout()
        layout.addWidget(heading(self.title))
        layout.addWidget(self._build_temp_box(), 3)
        self.lower_split = QSplitter(Qt.Orientation.Horizontal)
        self.lower_split.setChildrenCollapsible(False)
        self.lower_split.addWidget(self._build_multipart_box())
        self.lower_split.addWidget(self._build_lifecycle_box())
        layout.addWidget(self.lower_split, 2)
        self._layout = layout
        self.set_services(services)

    # -- construction -----------------------------------------------------------------------

    def _build_temp_box(self) -> QGroupBox:
        box = QGroupBox("Temporary files")
        self.hours_spin = QDoubleSpinBox()
        self.hours_spin.setObjectName("cleanupHours")
        self.hours_spin.setAccessibleName("Age in hours")
        self.hours_spin.setRange(0, 24 * 3650)
        self.hours_spin.setDecimals(1)
        self.hours_spin.setSuffix(" hours")
        self.hours_spin.setToolTip("Temporary files older than this are deleted")
        hours_label = QLabel("Older &than:")
        hours_label.setBuddy(self.hours_spin)

        self.preview_button = QPushButton("&Preview")
        self.preview_button.setObjectName("cleanupPreview")
        self.preview_button.setAccessibleName("Preview cleanup")
        self.preview_button.setToolTip("List what would be deleted, without deleting anything")
        self.preview_button.clicked.connect(self.preview)
        self.delete_button = QPushButton("&Delete now…")
        self.delete_button.setObjectName("cleanupDelete")
        self.delete_button.setAccessibleName("Delete old temporary files now")
        self.delete_button.setToolTip("Delete the temporary files older than the age, after "
                                      "asking")
        self.delete_button.clicked.connect(self.delete_now)
        self.auto_switch = QCheckBox("A&utomatic cleanup every hour")
        self.auto_switch.setObjectName("cleanupAuto")
        self.auto_switch.setAccessibleName("Automatic cleanup every hour")
        self.auto_switch.setToolTip(
            "While the app is open, delete temporary files older than the age every hour; "
            "the switch stays as you leave it (SHORTS_DESKTOP_AUTO_CLEANUP)"
        )
        self.auto_switch.toggled.connect(self.set_automatic)

        controls = QHBoxLayout()
        controls.addWidget(hours_label)
        controls.addWidget(self.hours_spin)
        controls.addWidget(self.preview_button)
        controls.addWidget(self.delete_button)
        controls.addStretch(1)
        controls.addWidget(self.auto_switch)

        self.summary_label = QLabel("Preview to see what would be deleted.")
        self.summary_label.setObjectName("cleanupSummary")
        self.summary_label.setWordWrap(True)
        self.auto_label = QLabel()
        self.auto_label.setObjectName("cleanupAutoStatus")
        self.auto_label.setWordWrap(True)
        self.preview_table = _table("cleanupPreviewTable", ("Name", "Age", "Size", "What happens"))
        self.preview_table.setAccessibleName("Cleanup preview")

        layout = QVBoxLayout(box)
        layout.addLayout(controls)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.preview_table, 1)
        layout.addWidget(self.auto_label)
        return box

    def _build_multipart_box(self) -> QGroupBox:
        box = QGroupBox("Unfinished multipart uploads")
        self.multipart_table = _table("multipartTable", ("Key", "Started", "Size", "Resumed by"))
        self.multipart_table.setAccessibleName("Unfinished multipart uploads")
        self.multipart_table.itemSelectionChanged.connect(self._update_buttons)
        self.abort_button = QPushButton("A&bort")
        self.abort_button.setObjectName("abortMultipart")
        self.abort_button.setAccessibleName("Abort the selected multipart uploads")
        self.abort_button.setToolTip("Abort the selected uploads; S3 bills their parts until then")
        self.abort_button.clicked.connect(self.abort_selected)
        self.multipart_note = QLabel()
        self.multipart_note.setObjectName("multipartNote")
        self.multipart_note.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.multipart_note, 1)
        row.addWidget(self.abort_button)
        layout = QVBoxLayout(box)
        layout.addWidget(self.multipart_table, 1)
        layout.addLayout(row)
        return box

    def _build_lifecycle_box(self) -> QGroupBox:
        box = QGroupBox("Bucket lifecycle rules")
        self.rules_list = QListWidget()
        self.rules_list.setObjectName("lifecycleRules")
        self.rules_list.setAccessibleName("Lifecycle rules of the bucket")
        self.rules_list.setWordWrap(True)
        self.apply_button = QPushButton("Apply &recommended rules")
        self.apply_button.setObjectName("applyLifecycle")
        self.apply_button.setAccessibleName("Apply the recommended lifecycle rules")
        self.apply_button.setToolTip(
            "Expire temporary files no job needs after S3_CLEANUP_TEMP_HOURS (in whole days), "
            "abort unfinished uploads after 7 days and move permanent files to Standard-IA "
            "after 30 days; the bucket's other rules are kept"
        )
        self.apply_button.clicked.connect(self.apply_recommended)
        self.lifecycle_note = QLabel()
        self.lifecycle_note.setObjectName("lifecycleNote")
        self.lifecycle_note.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.lifecycle_note, 1)
        row.addWidget(self.apply_button)
        layout = QVBoxLayout(box)
        layout.addWidget(self.rules_list, 1)
        layout.addLayout(row)
        return box

    # -- services ---------------------------------------------------------------------------

    @property
    def uses_bucket(self) -> bool:
        return self.services.storage.backend == "s3"

    def set_services(self, services: Services) -> None:
        self.services = services
        self.hours_spin.setValue(services.settings.cleanup_temp_hours)
        self._saved_automatic = services.settings.auto_cleanup
        self.set_automatic(services.settings.auto_cleanup)
        self.plan = None
        self.preview_table.setRowCount(0)
        self.summary_label.setText("Preview to see what would be deleted.")
        self.rules_list.clear()
        self.multipart_table.setRowCount(0)
        self.multipart_table.setVisible(self.uses_bucket)
        self.rules_list.setVisible(self.uses_bucket)
        self._layout.setStretchFactor(self.lower_split, 2 if self.uses_bucket else 0)
        if not self.uses_bucket:
            self.lifecycle_note.setText(
                "Lifecycle rules need an S3 bucket; the local library keeps files until they "
                "are cleaned up here. Set up a bucket in Settings."
            )
            self.multipart_note.setText("The local library has no unfinished uploads.")
        else:
            self.lifecycle_note.setText("")
            self.multipart_note.setText("")
        self._update_buttons()

    def refresh(self) -> None:
        """Reload the multipart uploads and the lifecycle rules (bucket only)."""
        if not self.uses_bucket:
            return
        services = self.services

        def load() -> dict[str, Any]:  # every prefix of the app, marked by the ledger
            pending = services.multipart().pending()
            return {"multipart": pending, "rules": services.storage.get_lifecycle_rules()}

        self.runner.submit(load, self._loaded, self._load_failed)

    def _loaded(self, data: dict[str, Any]) -> None:
        self._show_multipart(data["multipart"])
        self._show_rules(data["rules"])

    def _load_failed(self, message: str) -> None:
        self.lifecycle_note.setText(message)
        self.lifecycle_note.setStyleSheet(problem_style())

    def _show_multipart(self, pending: list[MultipartEntry]) -> None:
        self.multipart = list(pending)
        self.multipart_table.setRowCount(len(pending))
        for row, entry in enumerate(pending):
            mp = entry.info
            started = mp.initiated.astimezone().strftime("%Y-%m-%d %H:%M")
            self.multipart_table.setItem(row, 0, _item(mp.key))
            self.multipart_table.setItem(row, 1, _item(started))
            self.multipart_table.setItem(row, 2, _item(human_size(mp.size), align_right=True))
            owner = f"{entry.owner_text} ({entry.known})" if entry.known else "Nobody"
            self.multipart_table.setItem(row, 3, _item(owner))
        if self.uses_bucket:
            size = human_size(sum(e.info.size for e in pending))
            self.multipart_note.setText(
                f"{len(pending)} unfinished, {size} billed." if pending
                else "No unfinished multipart uploads."
            )
        self._update_buttons()

    def _show_rules(self, rules: list[dict[str, Any]]) -> None:
        self.rules = list(rules)
        self.rules_list.clear()
        for rule in rules:
            text = describe_rule(rule)
            if is_ours(rule):
                text += "  (recommended by this app)"
            item = QListWidgetItem(text)
            item.setToolTip(f"Rule ID: {rule.get('ID', '(none)')}")
            self.rules_list.addItem(item)
        if not rules:
            self.rules_list.addItem(QListWidgetItem("The bucket has no lifecycle rules."))
        self.lifecycle_note.setStyleSheet("")

    def _update_buttons(self) -> None:
        self.preview_button.setEnabled(not self._busy)
        self.delete_button.setEnabled(not self._busy)
        self.apply_button.setEnabled(self.uses_bucket and not self._busy)
        self.abort_button.setEnabled(
            self.uses_bucket and not self._busy
            and bool(self.multipart_table.selectionModel().selectedRows())
        )

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_buttons()

    # -- preview and delete -----------------------------------------------------------------

    def preview(self) -> None:
        hours = self.hours_spin.value()
        services = self.services
        self._set_busy(True)
        self.summary_label.setText("Looking for old temporary files…")
        self.summary_label.setStyleSheet("")

        def plan() -> tuple[CleanupPlan, list[dict[str, Any]]]:
            found = services.cleanup.plan(hours)
            return found, _plan_rows(found)

        self.runner.submit(plan, self._previewed, self._failed)

    def _previewed(self, result: tuple[CleanupPlan, list[dict[str, Any]]]) -> None:
        self._set_busy(False)
        self.plan, rows = result
        self._show_rows(rows)
        plan = self.plan
        count = len(plan.delete) + len(plan.abort)
        if count:
            text = f"{count} to delete, {human_size(plan.freed_bytes)} to free"
        else:
            text = f"Nothing older than {plan.hours:g} hours to delete"
        if plan.skipped:
            text += f"; {len(plan.skipped)} kept because they are still needed"
        self.summary_label.setText(text + ".")

    def _show_rows(self, rows: list[dict[str, Any]]) -> None:
        self.preview_table.setRowCount(len(rows))
        for row, entry in enumerate(rows):
            self.preview_table.setItem(row, 0, _item(entry["name"], entry["tip"]))
            self.preview_table.setItem(row, 1, _item(entry["age"], align_right=True))
            self.preview_table.setItem(row, 2, _item(entry["size"], align_right=True))
            what = _item(entry["what"])
            if not entry["delete"]:
                font = what.font()
                font.setItalic(True)
                what.setFont(font)
            self.preview_table.setItem(row, 3, what)

    def _failed(self, message: str) -> None:
        self._set_busy(False)
        self.summary_label.setText(message)
        self.summary_label.setStyleSheet(problem_style())

    def delete_now(self) -> None:
        hours = self.hours_spin.value()
        plan = self.plan if self.plan is not None and self.plan.hours == hours else None
        if plan is not None:
            count = len(plan.delete) + len(plan.abort)
            what = (f"Delete {plural(count, 'temporary file')} older than {hours:g} hours and "
                    f"free {human_size(plan.freed_bytes)}?")
        else:
            what = f"Delete every temporary file older than {hours:g} hours?"
        answer = QMessageBox.question(
            self, "Delete temporary files",
            f"{what}\n\nFiles that a job still needs are kept. Deleted files cannot be brought "
            "back.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self._run(hours, automatic=False)

    def _run(self, hours: float, automatic: bool) -> None:
        services = self.services
        if not automatic:
            self._set_busy(True)
            self.summary_label.setText("Deleting…")
            self.summary_label.setStyleSheet("")
        self.runner.submit(
            lambda: services.cleanup.run(hours),
            lambda result: self._ran(result, automatic),
            lambda message: self._run_failed(message, automatic),
        )

    def _ran(self, result: CleanupResult, automatic: bool) -> None:
        self.last_result = result
        text = (f"{len(result.deleted)} deleted, "
                f"{plural(len(result.aborted), 'unfinished upload')} aborted, "
                f"{human_size(result.freed_bytes)} freed")
        if result.failed:
            text += f"; {len(result.failed)} could not be deleted"
        if automatic:
            now = datetime.now().strftime("%H:%M")
            self.auto_label.setText(f"Automatic cleanup at {now}: {text}.")
        else:
            self._set_busy(False)
            self.summary_label.setText(f"Done: {text}.")
            self.preview_table.setRowCount(0)
            self.plan = None
        self.cleaned.emit(result)
        self.refresh()

    def _run_failed(self, message: str, automatic: bool) -> None:
        if automatic:
            self.auto_label.setText(f"Automatic cleanup failed: {message}")
        else:
            self._failed(message)

    # -- automatic cleanup ------------------------------------------------------------------

    def set_automatic(self, on: bool) -> None:
        if self.auto_switch.isChecked() != on:
            self.auto_switch.setChecked(on)  # re-enters through toggled
            return
        if on:
            self.auto_timer.start()
            next_run = datetime.now() + timedelta(milliseconds=AUTO_INTERVAL_MS)
            hours = self.services.settings.cleanup_temp_hours
            self.auto_label.setText(
                f"Automatic cleanup is on: temporary files older than {hours:g} hours "
                f"(S3_CLEANUP_TEMP_HOURS), every hour while the app is open, next at "
                f"{next_run:%H:%M}."
            )
        else:
            self.auto_timer.stop()
            self.auto_label.setText("")
        if on != self._saved_automatic:  # remembered for the next start
            self._saved_automatic = on
            paths, profile = self.services.paths, self.services.settings.profile
            variables = {"SHORTS_DESKTOP_AUTO_CLEANUP": "true" if on else "false"}
            self.runner.submit(
                lambda: save_settings_file(paths, variables, profile), None,
                lambda message: self.auto_label.setText(
                    f"The switch works for now but could not be saved: {message}"),
            )

    def run_automatic(self) -> None:
        """S3_CLEANUP_TEMP_HOURS, whatever is typed in the box for a manual run meanwhile."""
        self._run(self.services.settings.cleanup_temp_hours, automatic=True)

    # -- multipart uploads and lifecycle rules ----------------------------------------------

    def abort_selected(self) -> None:
        rows = sorted({i.row() for i in self.multipart_table.selectionModel().selectedRows()})
        chosen = [self.multipart[r] for r in rows if r < len(self.multipart)]
        if not chosen:
            return
        size = human_size(sum(e.info.size for e in chosen))
        names = "\n".join(f"  {e.info.key.rsplit('/', 1)[-1]}" for e in chosen[:10])
        more = f"\n  … and {len(chosen) - 10} more" if len(chosen) > 10 else ""
        resumable = sum(1 for e in chosen if e.known)
        after = (f"{resumable} of them belong to a paused or interrupted upload, which then "
                 "has to start again." if resumable else
                 "No upload of this app resumes them.")
        answer = QMessageBox.question(
            self, "Abort unfinished uploads",
            f"Abort {plural(len(chosen), 'unfinished upload')} and throw away the {size} "
            f"{'it' if len(chosen) == 1 else 'they'} sent?"
            f"\n\n{names}{more}\n\n{after}",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        storage = self.services.storage

        def abort() -> int:
            for entry in chosen:
                storage.abort_multipart(entry.info.key, entry.info.upload_id)
            return len(chosen)

        def done(count: int) -> None:
            self.multipart_note.setText(f"{plural(count, 'unfinished upload')} aborted.")
            self.refresh()

        self.runner.submit(abort, done, self.multipart_note.setText)

    def apply_recommended(self) -> None:
        if not self.uses_bucket:
            return
        services = self.services
        rules = "\n".join(f"• {describe_rule(r)}" for r in recommended_rules(services.settings))
        answer = QMessageBox.question(
            self, "Apply recommended rules",
            f"The bucket will then, by itself:\n\n{rules}\n\nA temporary file that an "
            "unfinished job uses is kept: the app marks it while the job needs it. Files "
            "uploaded by older versions of the app carry no mark and are left to the cleanup "
            "in this panel. The bucket's own rules are kept.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self._set_busy(True)
        self.lifecycle_note.setText("Saving the rules…")
        self.lifecycle_note.setStyleSheet("")

        def done(rules: list[dict[str, Any]]) -> None:
            self._set_busy(False)
            self._show_rules(rules)
            foreign = sum(1 for r in rules if not is_ours(r))
            self.lifecycle_note.setText(
                f"Recommended rules applied; {plural(foreign, 'rule')} of the bucket's own kept."
            )

        def failed(message: str) -> None:
            self._set_busy(False)
            self.lifecycle_note.setText(message)
            self.lifecycle_note.setStyleSheet(problem_style())

        self.runner.submit(lambda: apply_recommended(services.settings, services.storage),
                           done, failed)
