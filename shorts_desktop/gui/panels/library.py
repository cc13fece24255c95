"""The Library panel: every upload, filtered and sorted, with links, downloads, promote, delete."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QObject,
    QPoint,
    Qt,
    QTimer,
)
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QSpinBox,
    QStackedWidget,
    QStyle,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from shorts_desktop.core.config import MAX_PRESIGN_SECONDS
from shorts_desktop.core.units import plural
from shorts_desktop.gui.format import human_duration
from shorts_desktop.gui.models.uploads_model import (
    COLUMNS,
    KEPT,
    KEY,
    KIND,
    LENGTH,
    NAME,
    PICTURE,
    SIZE,
    STATUS,
    STATUS_LABELS,
    UPLOADED,
    LibraryFilter,
    Row,
    UploadsModel,
)
from shorts_desktop.gui.panels.base import (
    ElideRightDelegate,
    MessageBanner,
    Panel,
    list_table,
    make_action,
    name_clear_button,
)

if TYPE_CHECKING:
    from shorts_desktop.app import Services
    from shorts_desktop.gui.tasks import TaskRunner

log = logging.getLogger(__name__)

DAY = 24 * 3600
MAX_NAMES_LISTED = 10
BUSY_STATUSES = ("queued", "uploading", "paused")

#: The Name column keeps at least this share of the table's width (and NAME_MIN pixels):
#: columns in OPTIONAL_COLUMNS are left out, last first, until it does.
NAME_SHARE = 0.45
NAME_MIN = 180
#: Shown while there is room, most wanted first; the header's menu shows or hides them.
OPTIONAL_COLUMNS = (LENGTH, PICTURE, KIND, KEY)
REQUIRED_COLUMNS = (SIZE, KEPT, STATUS, UPLOADED)
#: A Status column with reasons in it (failures) starts this wide, wider than "Completed",
#: and takes room that is left over up to STATUS_SHARE of the table's width.
REASON_SAMPLE = "Failed: The connection"
STATUS_SHARE = 0.24
#: The Stored-at column's share of the table's width, within KEY_WIDTHS pixels.
KEY_SHARE = 0.22
KEY_WIDTHS = (150, 360)


def library_row(upload: Any) -> Row:
    """An upload as the library shows it: `to_dict()` and whether it has a thumbnail. The
    pictures are read apart, for the rows on screen (`UploadsModel.thumbnails_wanted`)."""
    row: Row = upload.to_dict()
    has = getattr(upload, "has_thumbnail", None)
    row["has_thumbnail"] = bool(upload.thumbnail) if has is None else bool(has)
    return row



def _names(rows: list[Row]) -> str:
    names = [f"• {r.get('original_name')}" for r in rows[:MAX_NAMES_LISTED]]
    if len(rows) > MAX_NAMES_LISTED:
        names.append(f"… and {len(rows) - MAX_NAMES_LISTED} more")
    return "\n".join(names)


class LinkExpiryDialog(QDialog):
    """Asks how long a share link stays valid; warns when that is more than a day."""

    def __init__(self, default_seconds: int, count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("linkExpiryDialog")
        self.setWindowTitle("Copy link")
        self.setAccessibleName("Copy link")
        intro = QLabel(
            f"Anyone with the link can download {'the file' if count == 1 else 'the files'} "
            "until it expires."
        )
        intro.setWordWrap(True)
        self.spin = QSpinBox()
        self.spin.setObjectName("linkExpirySeconds")
        self.spin.setAccessibleName("Link lifetime in seconds")
        self.spin.setToolTip("How long the link works: 1 second to 7 days (604,800 seconds)")
        self.spin.setRange(1, MAX_PRESIGN_SECONDS)
        self.spin.setSingleStep(60)
        self.spin.setSuffix(" seconds")
        self.spin.setGroupSeparatorShown(True)
        self.spin.setValue(max(1, min(default_seconds, MAX_PRESIGN_SECONDS)))
        self.human = QLabel()
        self.human.setAccessibleName("Link lifetime")
        self.warning = QLabel()
        self.warning.setObjectName("linkExpiryWarning")
        self.warning.setWordWrap(True)
        self.warning.setAccessibleName("Warning about long-lived links")
        self.spin.valueChanged.connect(self._update)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Copy link" if count == 1 else "Copy links")
        ok.setAccessibleName("Copy the link to the clipboard")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        form = QFormLayout()
        form.addRow("&Expires after:", self.spin)
        form.addRow("", self.human)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.warning)
        layout.addWidget(buttons)
        self._update()
        self.spin.setFocus()
        self.spin.selectAll()

    def seconds(self) -> int:
        return int(self.spin.value())

    def _update(self) -> None:
        seconds = self.seconds()
        self.human.setText(f"= {human_duration(seconds)}")
        long_lived = seconds > DAY
        self.warning.setText(
            f"⚠ This link works for {seconds / DAY:.1f} days. Links that live longer than a "
            "day are easily passed on; prefer a short one." if long_lived else ""
        )
        self.warning.setVisible(long_lived)


class _Batch:
    """Collects the results of one action run as several background tasks."""

    def __init__(self, total: int, done: Callable[[list[Any], list[str]], None]) -> None:
        self.total = total
        self.results: list[Any] = []
        self.errors: list[str] = []
        self._done = done

    def ok(self, result: Any) -> None:
        self.results.append(result)
        self._check()

    def error(self, message: str) -> None:
        self.errors.append(message)
        self._check()

    def _check(self) -> None:
        if len(self.results) + len(self.errors) == self.total:
            self._done(self.results, self.errors)


class LibraryPanel(Panel):
    """Every upload in one table; what can be done to the selected ones is a toolbar away."""

    title = "Library"
    object_name = "libraryPanel"

    def __init__(self, services: Services, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(services, runner, parent)
        self.model = UploadsModel(self)
        self.model.thumbnails_wanted.connect(self._read_thumbnails)
        self._to_make: list[str] = []  # videos without a picture, made one at a time
        self._making = False
        self.link_dialog: LinkExpiryDialog | None = None
        self._loading = False
        self._reload = False
        self._loaded_once = False
        self._busy = 0
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(150)
        self._filter_timer.timeout.connect(self.apply_filters)

        layout = self.page_layout()
        layout.addLayout(self.title_bar("library", "Number of uploads shown",
                                        "Reload the library", "Reload the list of uploads (F5)"))
        layout.addLayout(self._build_filters())
        layout.addLayout(self._build_actions())
        # Below the table: a message coming or going never moves the rows under the pointer.
        self.banner = MessageBanner("libraryBanner", "Library message",
                                    "Dismiss the message")
        self.stack = QStackedWidget()
        self.stack.addWidget(self._build_table())
        self.empty_label = QLabel()
        self.empty_label.setObjectName("libraryEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setEnabled(False)
        self.stack.addWidget(self.empty_label)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.banner)

        refresh = QAction("Refresh", self)
        refresh.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
        refresh.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        refresh.triggered.connect(self.refresh)
        self.addAction(refresh)
        find = QAction("Search", self)
        find.setShortcut(QKeySequence(QKeySequence.StandardKey.Find))
        find.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.triggered.connect(self.focus_search)
        self.addAction(find)

        self.model.modelReset.connect(self._model_changed)
        self.model.modelReset.connect(self._fit_columns)
        self.model.layoutChanged.connect(self._update_actions)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        self._model_changed()

    # -- construction -----------------------------------------------------------------------

    def _build_filters(self) -> QHBoxLayout:
        self.search = QLineEdit()
        self.search.setObjectName("librarySearch")
        self.search.setPlaceholderText("Search names, keys and ids  (Ctrl+F)")
        self.search.setAccessibleName("Search uploads")
        self.search.setToolTip("Shows uploads whose name, storage key or id contain every word")
        self.search.setClearButtonEnabled(True)
        name_clear_button(self.search)
        self.search.textChanged.connect(lambda _t: self._filter_timer.start())
        self.search.returnPressed.connect(self.apply_filters)

        # Item data are plain strings ("" = any): PySide mishandles the refcounts of
        # True/False/None stored in a QVariant.
        def combo(name: str, accessible: str, tip: str,
                  choices: list[tuple[str, str]]) -> QComboBox:
            box = QComboBox()
            box.setObjectName(name)
            box.setAccessibleName(accessible)
            box.setToolTip(tip)
            for label, value in choices:
                box.addItem(label, value)
            box.currentIndexChanged.connect(self.apply_filters)
            return box

        self.kind_filter = combo("libraryKindFilter", "Filter by kind",
                                 "Show videos, transcripts or both",
                                 [("All kinds", ""), ("Videos", "video"),
                                  ("Transcripts", "transcript")])
        self.kept_filter = combo("libraryKeptFilter", "Filter by temporary or permanent",
                                 "Temporary files are removed by cleanup; permanent ones stay",
                                 [("Temporary and permanent", ""), ("Temporary", "temp"),
                                  ("Permanent", "permanent")])
        statuses = [(label, key) for key, label in STATUS_LABELS.items() if key != "deleted"]
        self.status_filter = combo("libraryStatusFilter", "Filter by status",
                                   "Show only uploads with this status",
                                   [("Any status", ""), *statuses])
        self.duplicates_filter = QCheckBox("&Duplicates")
        self.duplicates_filter.setObjectName("libraryDuplicatesFilter")
        self.duplicates_filter.setAccessibleName("Show only duplicates")
        self.duplicates_filter.setToolTip(
            "Show only files whose content (SHA-256) is in the library more than once")
        self.duplicates_filter.toggled.connect(self.apply_filters)
        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(self.kind_filter)
        row.addWidget(self.kept_filter)
        row.addWidget(self.status_filter)
        row.addWidget(self.duplicates_filter)
        return row

    def _make_action(self, text: str, tip: str, slot: Callable[[], None],
                     shortcut: QKeySequence.StandardKey | str | None,
                     icon: QStyle.StandardPixmap) -> QAction:
        # Only while the table has focus: Delete and Ctrl+C in the search box stay text edits.
        return make_action(self, text, tip, slot, shortcut, icon,
                           context=Qt.ShortcutContext.WidgetShortcut)

    def _build_actions(self) -> QHBoxLayout:
        sp = QStyle.StandardPixmap
        key = QKeySequence.StandardKey
        self.copy_action = self._make_action(
            "Copy link", "Copy a download link to the clipboard (Ctrl+C)", self.copy_link,
            key.Copy, sp.SP_FileLinkIcon)
        self.download_action = self._make_action(
            "Download to folder…", "Save copies of the selected files in a folder (Ctrl+S)",
            self.download, key.Save, sp.SP_DialogSaveButton)
        self.promote_action = self._make_action(
            "Make permanent", "Move the selected temporary files to permanent storage, "
            "out of reach of cleanup", self.promote, None, sp.SP_DialogApplyButton)
        self.delete_action = self._make_action(
            "Delete…", "Delete the selected files from storage (Delete)", self.delete,
            key.Delete, sp.SP_TrashIcon)
        self._tips = {a: a.toolTip() for a in self.actions_list()}
        row = QHBoxLayout()
        row.setSpacing(6)
        self.action_buttons: dict[str, QToolButton] = {}
        for name, action in zip(("copy", "download", "promote", "delete"),
                                self.actions_list(), strict=True):
            button = QToolButton()
            button.setObjectName(f"library{name.capitalize()}Button")
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setAccessibleName(action.text().rstrip("…"))
            self.action_buttons[name] = button
            row.addWidget(button)
        row.addStretch(1)
        self.selection_label = QLabel()
        self.selection_label.setAccessibleName("Selection")
        self.selection_label.setEnabled(False)
        row.addWidget(self.selection_label)
        return row

    def actions_list(self) -> list[QAction]:
        return [self.copy_action, self.download_action, self.promote_action, self.delete_action]

    def _build_table(self) -> QTableView:
        samples = {KIND: "Transcript", LENGTH: "88:88", PICTURE: "3840×2160",
                   SIZE: "999.9 MB", KEPT: "Permanent", STATUS: "Completed",
                   UPLOADED: "2026-12-31 23:59", KEY: "M" * 12}
        box = self.model.thumbnails.box
        padding = max(10, box.height() + 6 - self.fontMetrics().height())
        table = list_table(self, self.model, COLUMNS, NAME, samples, row_padding=padding)
        table.setIconSize(box)
        # Names and keys elide in the middle (list_table): the extension and the file name
        # at the end of a key stay. Every column but Name is as wide as its content; Name
        # stretches over the rest, and what does not fit is left out (see _fit_columns).
        metrics = self.fontMetrics()
        self._content_widths = {
            column: max(metrics.horizontalAdvance(sample) + 18,
                        metrics.horizontalAdvance(COLUMNS[column]) + 24)
            for column, sample in samples.items() if column != KEY
        }
        self._user_widths: dict[int, int] = {}  # columns the user resized
        self._column_choice: dict[int, bool] = {}  # optional columns shown or hidden by hand
        self._fitting = False
        header = table.horizontalHeader()
        header.setMinimumSectionSize(24)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        header.sectionResized.connect(self._section_resized)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        header.setToolTip("Right-click to choose the columns")
        table.viewport().installEventFilter(self)
        # A reason reads from its start: "Failed: The connection was…" (the tooltip has it all).
        table.setItemDelegateForColumn(STATUS, ElideRightDelegate(table))
        self.header_menu: QMenu | None = None
        table.setObjectName("libraryTable")
        table.setAccessibleName("Uploads in the library")
        table.setSortingEnabled(True)
        table.customContextMenuRequested.connect(self._context_menu)
        table.sortByColumn(UPLOADED, Qt.SortOrder.DescendingOrder)
        for action in self.actions_list():
            table.addAction(action)
        self.table = table
        return table

    # -- columns ----------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self.table.viewport():
            self._fit_columns()
        return super().eventFilter(watched, event)

    def _status_widths(self, table_width: int) -> tuple[int, int]:
        """The Status column's (least, most) width: as wide as "Completed"; when rows say
        why they failed, wide enough for the start of a reason, and up to a share of the
        table for the rest of it."""
        base = self._content_widths[STATUS]
        samples = self.model.status_samples()
        if not samples:
            return base, base
        metrics = self.table.fontMetrics()
        wanted = max(metrics.horizontalAdvance(t) for t in samples) + 18
        least = max(base, min(wanted, metrics.horizontalAdvance(REASON_SAMPLE) + 18))
        return least, max(least, min(wanted, int(table_width * STATUS_SHARE)))

    def column_widths(self, table_width: int) -> dict[int, int]:
        """The width each column but Name wants in a table this wide (Status: its least)."""
        widths = dict(self._content_widths)
        widths[STATUS] = self._status_widths(table_width)[0]
        widths[KEY] = max(KEY_WIDTHS[0], min(KEY_WIDTHS[1], int(table_width * KEY_SHARE)))
        widths.update(self._user_widths)
        return widths

    def _fit_columns(self) -> None:
        """Size the columns to their content and leave out optional ones (last first) while
        the Name column would get less than NAME_SHARE of the width; room left over then
        goes to a Status column with reasons in it."""
        if self._fitting:
            return
        table_width = self.table.viewport().width()
        if table_width <= 0:
            return
        widths = self.column_widths(table_width)
        room = table_width - max(NAME_SHARE * table_width, NAME_MIN)
        used = sum(widths[c] for c in REQUIRED_COLUMNS)
        shown: set[int] = set()
        fits = True
        for column in OPTIONAL_COLUMNS:
            choice = self._column_choice.get(column)
            if choice is None:
                fits = fits and used + widths[column] <= room
                show = fits
            else:
                show = choice
            if show:
                used += widths[column]
                shown.add(column)
        if STATUS not in self._user_widths:
            most = self._status_widths(table_width)[1]
            widths[STATUS] += max(0, min(most - widths[STATUS], int(room - used)))
        header = self.table.horizontalHeader()
        self._fitting = True
        try:
            for column in OPTIONAL_COLUMNS:
                hidden = column not in shown
                if self.table.isColumnHidden(column) != hidden:
                    self.table.setColumnHidden(column, hidden)
            for column, width in widths.items():
                if not self.table.isColumnHidden(column) and header.sectionSize(column) != width:
                    header.resizeSection(column, width)
        finally:
            self._fitting = False

    def _section_resized(self, column: int, _old: int, new: int) -> None:
        if self._fitting or column == NAME or new <= 0:
            return
        self._user_widths[column] = new  # dragged by the user: kept from now on

    def visible_columns(self) -> list[int]:
        return [c for c in range(len(COLUMNS)) if not self.table.isColumnHidden(c)]

    def _header_menu(self, pos: QPoint) -> None:
        if self.header_menu is not None:
            self.header_menu.deleteLater()
        menu = QMenu(self)
        menu.setObjectName("libraryColumnsMenu")
        for column in OPTIONAL_COLUMNS:
            action = menu.addAction(COLUMNS[column])
            action.setCheckable(True)
            action.setChecked(not self.table.isColumnHidden(column))
            action.toggled.connect(functools.partial(self.show_column, column))
        menu.addSeparator()
        fit = menu.addAction("Fit columns to the window")
        fit.setToolTip("Forget column changes: show what fits, the name keeps the most room")
        fit.triggered.connect(self.fit_columns_to_window)
        self.header_menu = menu
        menu.popup(self.table.horizontalHeader().mapToGlobal(pos))

    def show_column(self, column: int, shown: bool) -> None:
        """Show or hide an optional column whatever the width (the header's menu)."""
        self._column_choice[column] = shown
        self._fit_columns()

    def fit_columns_to_window(self) -> None:
        self._column_choice.clear()
        self._user_widths.clear()
        self._fit_columns()

    # -- loading ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload every upload from the database in a worker; repeated calls coalesce."""
        if self._loading:
            self._reload = True
            return
        self._loading = True
        self._reload = False
        uploads = self.services.uploads
        self.refresh_button.setEnabled(False)
        if not self.model.total_count():
            self._model_changed()
        self.runner.submit(lambda: [library_row(u) for u in uploads.list(thumbnails=False)],
                           self._loaded,
                           self._load_failed, title="Could not load the library")

    def _read_thumbnails(self, ids: list[str]) -> None:
        """Pictures for rows on screen: the stored ones at once; a video that has none
        (rebuilt by Sync, added from the bucket) gets one made from storage, in turn."""
        uploads = self.services.uploads

        def read() -> dict[str, bytes]:
            return uploads.thumbnails(ids)

        def done(found: dict[str, bytes]) -> None:
            self.model.add_thumbnails(found)
            self._to_make += [i for i in ids if i not in found]
            self._make_next()

        self.runner.submit(read, done, self._thumbnail_failed)

    def _make_next(self) -> None:
        if self._making or not self._to_make:
            return
        upload_id = self._to_make.pop(0)
        uploads = self.services.uploads
        self._making = True

        def done(data: bytes | None) -> None:
            self._making = False
            if data:
                self.model.add_thumbnails({upload_id: data})
            self._make_next()

        def failed(message: str) -> None:
            self._making = False
            self._thumbnail_failed(message)
            self._make_next()

        self.runner.submit(lambda: uploads.make_thumbnail(upload_id), done, failed)

    @staticmethod
    def _thumbnail_failed(message: str) -> None:
        """A row without its picture keeps its placeholder; nothing to tell the creator."""
        log.info("thumbnails: %s", message)

    @property
    def loading(self) -> bool:
        return self._loading

    def _loaded(self, rows: list[Row]) -> None:
        selected = {str(r["id"]) for r in self.selected_rows()}
        self._loading = False
        self._loaded_once = True
        self.refresh_button.setEnabled(True)
        self.model.set_rows(rows)
        self._select_ids(selected)
        if self._reload:
            QTimer.singleShot(0, self, self.refresh)

    def _load_failed(self, message: str) -> None:
        self._loading = False
        self._loaded_once = True
        self.refresh_button.setEnabled(True)
        self.banner.show_message(f"The library could not be loaded: {message}", "error")
        self._model_changed()
        if self._reload:
            QTimer.singleShot(0, self, self.refresh)

    # -- filtering --------------------------------------------------------------------------

    def apply_filters(self) -> None:
        self._filter_timer.stop()
        selected = {str(r["id"]) for r in self.selected_rows()}
        kept = str(self.kept_filter.currentData() or "")
        self.model.set_filter(LibraryFilter(
            kind=str(self.kind_filter.currentData() or "") or None,
            is_temp=None if not kept else kept == "temp",
            status=str(self.status_filter.currentData() or "") or None,
            text=self.search.text(),
            duplicates=self.duplicates_filter.isChecked(),
        ))
        self._select_ids(selected)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _model_changed(self) -> None:
        total = self.model.total_count()
        shown = self.model.rowCount()
        if shown:
            self.stack.setCurrentIndex(0)
        else:
            self.stack.setCurrentIndex(1)
            if not self._loaded_once:
                text = "Loading the library…"
            elif total == 0:
                text = ("Nothing uploaded yet.\nDrop videos and transcripts anywhere on this "
                        "window, or use File ▸ Add files…, and they are listed here.")
            else:
                text = ("No uploads match these filters.\nClear the search or choose "
                        "“All kinds”, “Temporary and permanent” and “Any status”.")
                if self.duplicates_filter.isChecked():
                    text = ("No duplicates: no two files in the library have the same "
                            "content.\nUntick “Duplicates” to see every upload."
                            if not self.model.duplicate_count() else
                            text.replace("“Any status”", "“Any status”, and untick "
                                         "“Duplicates”"))
            self.empty_label.setText(text)
        duplicates = self.model.duplicate_count()
        self.duplicates_filter.setToolTip(
            "Show only files whose content (SHA-256) is in the library more than once"
            + (f" ({plural(duplicates, 'upload')} now)" if duplicates else " (none now)"))
        if total == shown:
            self.count_label.setText(plural(total, "upload"))
        else:
            self.count_label.setText(f"{shown:,} of {plural(total, 'upload')} shown")
        self._update_actions()

    # -- selection --------------------------------------------------------------------------

    def selected_rows(self) -> list[Row]:
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return self.model.rows(rows)

    def _select_ids(self, ids: set[str]) -> None:
        if not ids:
            return
        selection = QItemSelection()
        last = self.model.columnCount() - 1
        for row, upload_id in enumerate(self.model.visible_ids()):
            if upload_id in ids:
                selection.select(self.model.index(row, 0), self.model.index(row, last))
        self.table.selectionModel().select(
            selection, QItemSelectionModel.SelectionFlag.ClearAndSelect
        )

    def select_ids(self, ids: list[str]) -> None:
        """Select these uploads (those that are shown)."""
        self.table.clearSelection()
        self._select_ids(set(ids))

    def _linkable(self, rows: list[Row]) -> list[Row]:
        storage = self.services.storage
        if storage.backend != "s3":
            return []
        return [r for r in rows if r.get("status") == "completed" and r.get("key")
                and r.get("backend") == storage.backend and r.get("bucket") == storage.bucket]

    @staticmethod
    def _downloadable(rows: list[Row]) -> list[Row]:
        return [r for r in rows if r.get("status") == "completed"
                or (r.get("file_path") and not r.get("key"))]

    @staticmethod
    def _promotable(rows: list[Row]) -> list[Row]:
        return [r for r in rows if r.get("status") == "completed" and r.get("is_temp")]

    @staticmethod
    def _deletable(rows: list[Row]) -> list[Row]:
        return [r for r in rows if r.get("status") not in (*BUSY_STATUSES, "deleted")]

    def _update_actions(self) -> None:
        rows = self.selected_rows()
        checks = {
            self.copy_action: self._linkable(rows),
            self.download_action: self._downloadable(rows),
            self.promote_action: self._promotable(rows),
            self.delete_action: self._deletable(rows),
        }
        for action, usable in checks.items():
            enabled = bool(usable) and self._busy == 0
            action.setEnabled(enabled)
            tip = self._tips[action]
            if action is self.copy_action and self.services.storage.backend != "s3":
                tip = ("Share links need an S3 bucket; files in the local library have no web "
                       "address. Set up a bucket in Settings.")
            elif not rows:
                tip += " — select one or more uploads first"
            action.setToolTip(tip)
        self.selection_label.setText(f"{plural(len(rows), 'upload')} selected" if rows else "")

    def _context_menu(self, pos: QPoint) -> None:
        if not self.table.indexAt(pos).isValid():
            return
        menu = QMenu(self)
        for action in self.actions_list():
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction("Refresh", self.refresh)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    # -- actions ----------------------------------------------------------------------------

    def _run_batch(self, rows: list[Row], work: Callable[[Row], Any],
                   done: Callable[[list[Any], list[str]], None], title: str) -> None:
        """Run `work(row)` for every row in the pool; `done(results, errors)` at the end."""
        self._busy += 1
        self._update_actions()

        def finish(results: list[Any], errors: list[str]) -> None:
            self._busy -= 1
            done(results, errors)
            self._update_actions()

        batch = _Batch(len(rows), finish)
        for row in rows:
            self.runner.submit(functools.partial(work, row), batch.ok, batch.error, title=title)

    def _report(self, success: str, errors: list[str], what: str) -> None:
        if not errors:
            self.banner.show_message(success)
            return
        more = f" ({len(errors) - 1} more could not either)" if len(errors) > 1 else ""
        self.banner.show_message(f"{what}: {errors[0]}{more}", "error")

    def copy_link(self) -> None:
        """Ask for an expiry, then copy a presigned link of each selected file."""
        rows = self._linkable(self.selected_rows())
        if not rows:
            return
        if self.link_dialog is not None:
            self.link_dialog.deleteLater()
        dialog = LinkExpiryDialog(self.services.settings.presigned_url_expiry, len(rows), self)
        dialog.accepted.connect(lambda: self._copy_links(rows, dialog.seconds()))
        dialog.finished.connect(self._link_dialog_closed)
        self.link_dialog = dialog
        dialog.open()

    def _link_dialog_closed(self) -> None:
        if self.link_dialog is not None:
            self.link_dialog.deleteLater()
            self.link_dialog = None

    def _copy_links(self, rows: list[Row], seconds: int) -> None:
        uploads = self.services.uploads

        def done(urls: list[tuple[str, str]], errors: list[str]) -> None:
            if urls:
                by_id = dict(urls)
                ordered = [by_id[str(r["id"])] for r in rows if str(r["id"]) in by_id]
                clipboard = QGuiApplication.clipboard()
                clipboard.setText("\n".join(ordered))
            if len(urls) == 1:
                name = next(r["original_name"] for r in rows if str(r["id"]) == urls[0][0])
                success = f"Copied a link to {name}; it works for {human_duration(seconds)}."
            else:
                success = (f"Copied {len(urls)} links, one per line; they work for "
                           f"{human_duration(seconds)}.")
            self._report(success, errors, "A link could not be made")

        self._run_batch(
            rows,
            lambda r: (str(r["id"]), uploads.presigned_url(str(r["id"]), seconds)[0]),
            done, "Could not make a link",
        )

    def download(self) -> None:
        rows = self._downloadable(self.selected_rows())
        if not rows:
            return
        folder = QFileDialog.getExistingDirectory(self, "Download to folder")
        if not folder:
            return
        target = Path(folder)
        uploads = self.services.uploads

        def done(paths: list[Path], errors: list[str]) -> None:
            self._report(f"Downloaded {plural(len(paths), 'file')} to {target}.", errors,
                         "A download failed")

        self._run_batch(rows, lambda r: uploads.download(str(r["id"]), target), done,
                        "Could not download")

    def promote(self) -> None:
        rows = self._promotable(self.selected_rows())
        if not rows:
            return
        uploads = self.services.uploads

        def done(updated: list[Row], errors: list[str]) -> None:
            selected = {str(r["id"]) for r in self.selected_rows()}
            self.model.update_rows(updated)
            self._select_ids(selected)
            self._report(f"{plural(len(updated), 'file')} made permanent.", errors,
                         "A file could not be made permanent")

        self._run_batch(rows, lambda r: uploads.promote(str(r["id"]))[0].to_dict(), done,
                        "Could not make permanent")

    def delete(self) -> None:
        """Find the jobs that use the selected files (in a worker, one query), then ask."""
        rows = self._deletable(self.selected_rows())
        if not rows:
            return
        uploads = self.services.uploads
        ids = [str(r["id"]) for r in rows]
        self._busy += 1
        self._update_actions()

        def found(jobs: dict[str, list[dict[str, Any]]]) -> None:
            self._busy -= 1
            self._update_actions()
            self._confirm_delete(rows, jobs)

        def failed(message: str) -> None:
            self._busy -= 1
            self._update_actions()
            self.banner.show_message(f"Nothing was deleted: {message}", "error")

        self.runner.submit(lambda: uploads.jobs_using(ids), found, failed,
                           title="Could not check which jobs use the files")

    def _confirm_delete(self, rows: list[Row], jobs: dict[str, list[dict[str, Any]]]) -> None:
        """Say which jobs use the files before anything is deleted; files that a job still
        needs are kept (the service refuses them too)."""
        def uses(row: Row) -> list[dict[str, Any]]:
            return jobs.get(str(row["id"]), [])

        def job_names(found: list[dict[str, Any]]) -> str:
            return ", ".join(f"“{j.get('title')}” ({j.get('status')})" for j in found)

        blocked = [r for r in rows if any(j.get("needs_inputs") for j in uses(r))]
        blocked_ids = {str(r["id"]) for r in blocked}
        deletable = [r for r in rows if str(r["id"]) not in blocked_ids]
        kept_lines = [f"• {r.get('original_name')}: the job "
                      f"{job_names([j for j in uses(r) if j.get('needs_inputs')])} still "
                      "needs it" for r in blocked[:MAX_NAMES_LISTED]]
        if len(blocked) > MAX_NAMES_LISTED:
            kept_lines.append(f"… and {len(blocked) - MAX_NAMES_LISTED} more")
        if not deletable:
            one = len(blocked) == 1
            self.banner.show_message(
                f"Nothing was deleted: {'this file is' if one else 'these files are'} still "
                f"needed by a job (finish or cancel it first).\n" + "\n".join(kept_lines),
                "warning")
            return
        where = self.services.storage.describe()
        parts = [f"Delete {plural(len(deletable), 'file')} from {where}? This cannot be "
                 f"undone.\n\n{_names(deletable)}"]
        used = [r for r in deletable if uses(r)]
        if used:
            lines = [f"• {r.get('original_name')}: {job_names(uses(r))}"
                     for r in used[:MAX_NAMES_LISTED]]
            if len(used) > MAX_NAMES_LISTED:
                lines.append(f"… and {len(used) - MAX_NAMES_LISTED} more")
            jobs_word = "A job was" if len(used) == 1 else "Jobs were"
            parts.append(f"{jobs_word} made from "
                         f"{'it' if len(deletable) == 1 else 'some of them'}; the job stays, "
                         "without its input:\n" + "\n".join(lines))
        if blocked:
            why = ("is kept because a job still needs it (finish or cancel the job first)"
                   if len(blocked) == 1 else "are kept because jobs still need them (finish "
                   "or cancel those jobs first)")
            parts.append(f"{plural(len(blocked), 'file')} {why}:\n" + "\n".join(kept_lines))
        answer = QMessageBox.question(
            self,
            "Delete uploads",
            "\n\n".join(parts),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        uploads = self.services.uploads

        def done(deleted: list[Row], errors: list[str]) -> None:
            self.model.update_rows(deleted)
            self._report(f"Deleted {plural(len(deleted), 'file')}.", errors,
                         "A file could not be deleted")

        def work(row: Row) -> Row:
            deleted: Row = uploads.delete(str(row["id"])).to_dict()
            return deleted

        self._run_batch(deletable, work, done, "Could not delete")

    # -- panel ------------------------------------------------------------------------------

    def set_services(self, services: Services) -> None:
        self.services = services
        self.banner.hide()
        self.refresh()
