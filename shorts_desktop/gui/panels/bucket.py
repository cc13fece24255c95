"""The Bucket panel: what the bucket really holds, a folder at a time, with "Add to library"
for objects the library does not know and "Copy URI" for any of them."""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, QPoint, Qt
from PySide6.QtGui import QAction, QFont, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QStackedWidget,
    QStyle,
    QTableView,
    QToolButton,
    QWidget,
)

from shorts_desktop.core.errors import ShortsError
from shorts_desktop.core.services.bucket import BucketEntry, BucketListing, BucketService
from shorts_desktop.core.units import plural
from shorts_desktop.gui.models.bucket_model import (
    COLUMNS,
    LIBRARY,
    MODIFIED,
    NAME,
    SIZE,
    BucketModel,
)
from shorts_desktop.gui.panels.base import (
    ElideRightDelegate,
    MessageBanner,
    Panel,
    list_table,
    make_action,
)

if TYPE_CHECKING:
    from shorts_desktop.app import Services
    from shorts_desktop.gui.tasks import TaskRunner

#: A deeper path shows its first and last folders with "…" between them.
MAX_CRUMBS = 5



class BucketPanel(Panel):
    """One folder level of the configured storage; nothing here writes to the bucket."""

    title = "Bucket"
    object_name = "bucketPanel"

    def __init__(self, services: Services, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(services, runner, parent)
        #: The folder shown: "" for the top, else a prefix ending in "/".
        self.prefix = ""
        self.listing: BucketListing | None = None
        self._loading = False
        self._reload = False
        self._busy = 0
        self._refocus_table = False
        self._select_after: set[str] = set()  # keys to select once the next listing is in
        style = self.style()
        sp = QStyle.StandardPixmap
        self.model = BucketModel(style.standardIcon(sp.SP_DirIcon),
                                 style.standardIcon(sp.SP_FileIcon), self)

        layout = self.page_layout()
        layout.addLayout(self.title_bar("bucket", "What this folder holds",
                                        "List this folder again",
                                        "List this folder of the bucket again (F5)"))
        layout.addLayout(self._build_path_bar())
        layout.addLayout(self._build_actions())
        self.stack = QStackedWidget()
        self.stack.addWidget(self._build_table())
        self.empty_label = QLabel()
        self.empty_label.setObjectName("bucketEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setEnabled(False)
        self.stack.addWidget(self.empty_label)
        layout.addWidget(self.stack, 1)
        # Below the table: a message coming or going never moves the rows under the pointer.
        self.banner = MessageBanner("bucketBanner", "Bucket message", "Dismiss the message")
        layout.addWidget(self.banner)

        refresh = QAction("Refresh", self)
        refresh.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
        refresh.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        refresh.triggered.connect(self.refresh)
        self.addAction(refresh)

        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        self.model.modelReset.connect(self._update_actions)
        self._show_path()
        self._show_state()

    # -- construction -----------------------------------------------------------------------

    def _build_path_bar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(2)
        self.up_action = make_action(
            self, "Up", "Go to the folder that holds this one (Backspace)", self.go_up,
            "Backspace", QStyle.StandardPixmap.SP_FileDialogToParent)
        self.up_action.setShortcuts([QKeySequence("Backspace"), QKeySequence("Alt+Up")])
        self.up_button = QToolButton()
        self.up_button.setObjectName("bucketUp")
        self.up_button.setDefaultAction(self.up_action)
        self.up_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.up_button.setAccessibleName("Up one folder")
        row.addWidget(self.up_button)
        row.addSpacing(8)
        self.crumb_bar = QWidget()
        self.crumb_bar.setObjectName("bucketPath")
        self.crumb_bar.setAccessibleName("Folder path")
        self.crumb_layout = QHBoxLayout(self.crumb_bar)
        self.crumb_layout.setContentsMargins(0, 0, 0, 0)
        self.crumb_layout.setSpacing(0)
        self.crumbs: list[QToolButton] = []
        row.addWidget(self.crumb_bar, 1)
        return row

    def _build_actions(self) -> QHBoxLayout:
        sp = QStyle.StandardPixmap
        context = Qt.ShortcutContext.WidgetShortcut  # while the table has focus
        self.add_action = make_action(
            self, "Add to library",
            "Make the selected files uploads of the library, as they are in the bucket",
            self.add_to_library, None, sp.SP_FileDialogNewFolder, context)
        self.copy_action = make_action(
            self, "Copy URI", "Copy the address of the selected files or folders (Ctrl+C)",
            self.copy_uri, QKeySequence.StandardKey.Copy, sp.SP_FileLinkIcon, context)
        self._tips = {a: a.toolTip() for a in (self.add_action, self.copy_action)}
        row = QHBoxLayout()
        row.setSpacing(6)
        self.add_button = QToolButton()
        self.add_button.setObjectName("bucketAddButton")
        self.copy_button = QToolButton()
        self.copy_button.setObjectName("bucketCopyButton")
        for button, action in ((self.add_button, self.add_action),
                               (self.copy_button, self.copy_action)):
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setAccessibleName(action.text())
            row.addWidget(button)
        row.addStretch(1)
        self.selection_label = QLabel()
        self.selection_label.setObjectName("bucketSelection")
        self.selection_label.setAccessibleName("Selection")
        self.selection_label.setEnabled(False)
        row.addWidget(self.selection_label)
        return row

    def _build_table(self) -> QTableView:
        samples = {SIZE: "999.9 MB", MODIFIED: "2026-12-31 23:59",
                   LIBRARY: "Upload “a-file-name-of-some-length.mp4”"}
        table = list_table(self, self.model, COLUMNS, NAME, samples)
        # A folder's owner reads from its start: 'Upload “clip…' (the tooltip has it all).
        table.setItemDelegateForColumn(LIBRARY, ElideRightDelegate(table))
        table.setObjectName("bucketTable")
        table.setAccessibleName("Folders and files in this folder of the bucket")
        table.activated.connect(self._activated)  # a double click, or Enter
        table.customContextMenuRequested.connect(self._context_menu)
        for action in (self.add_action, self.copy_action):
            table.addAction(action)
        table.addAction(self.up_action)
        self.table = table
        return table

    def bucket(self) -> BucketService:
        """The service over the storage in use now (the services change with the settings)."""
        return self.services.bucket()

    # -- the path ---------------------------------------------------------------------------

    def _root_label(self) -> str:
        storage = self.services.storage
        return f"s3://{storage.bucket}" if storage.bucket else "Local library"

    def _show_path(self) -> None:
        """One button per folder of the path; the last one is where the view is."""
        moving_focus = any(c.hasFocus() for c in self.crumbs)
        while self.crumb_layout.count():
            item = self.crumb_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        self.crumbs = []
        parts = [p for p in self.prefix.split("/") if p]
        targets = [(self._root_label(), "")]
        targets += [(part, "/".join(parts[: i + 1]) + "/") for i, part in enumerate(parts)]
        shown: list[tuple[str, str] | None] = list(targets)
        if len(targets) > MAX_CRUMBS:
            shown = [targets[0], None, *targets[-(MAX_CRUMBS - 2):]]
        for n, target in enumerate(shown):
            if n:
                arrow = QLabel("›")
                arrow.setEnabled(False)
                self.crumb_layout.addWidget(arrow)
            if target is None:
                self.crumb_layout.addWidget(QLabel("…"))
                continue
            text, prefix = target
            button = QToolButton()
            button.setObjectName("bucketCrumb")
            button.setText(text.replace("&", "&&"))
            button.setAutoRaise(True)
            where = prefix or ("the top of the bucket" if self.services.storage.bucket
                               else "the top of the library")
            button.setAccessibleName(f"Go to {where}")
            button.setToolTip(f"Show {where}")
            if prefix == self.prefix:
                font = QFont(button.font())
                font.setBold(True)
                button.setFont(font)
                button.setAccessibleDescription("The folder shown")
            button.clicked.connect(lambda _=False, p=prefix: self.open_folder(p))
            self.crumb_layout.addWidget(button)
            self.crumbs.append(button)
        self.crumb_layout.addStretch(1)
        # Tab goes Up, the path in order, then the actions (crumbs are made anew each time).
        chain: list[QWidget] = [self.up_button, *self.crumbs, self.add_button]
        for before, after in pairwise(chain):
            QWidget.setTabOrder(before, after)
        self.up_action.setEnabled(bool(self.prefix))
        if moving_focus:
            self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def open_folder(self, prefix: str, select: str | None = None) -> None:
        """Show the folder `prefix` ("" = the top); `select` the entry with that key."""
        self.prefix = prefix
        self._select_after = {select} if select else set()
        self.model.set_entries([])
        self.listing = None
        self.banner.hide()
        self._show_path()
        self.refresh()

    def go_up(self) -> None:
        if not self.prefix:
            return
        head, _, _ = self.prefix.rstrip("/").rpartition("/")
        self.open_folder(f"{head}/" if head else "", select=self.prefix)

    def _activated(self, index: QModelIndex) -> None:
        entries = self.model.entries([index.row()])
        if entries and entries[0].is_folder:
            self.open_folder(entries[0].key)

    # -- loading ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """List the folder in a worker; calls while one runs coalesce into one more."""
        if self._loading:
            self._reload = True
            return
        self._loading = True
        self._reload = False
        self.refresh_button.setEnabled(False)
        self._show_state()
        bucket, prefix = self.bucket(), self.prefix
        self.runner.submit(lambda: bucket.browse(prefix), self._loaded, self._load_failed,
                           title="Could not list the bucket")

    @property
    def loading(self) -> bool:
        return self._loading

    def _loaded(self, listing: BucketListing) -> None:
        self._loading = False
        self.refresh_button.setEnabled(True)
        if listing.prefix == self.prefix and not self._reload:
            keep = {e.key for e in self.selected_entries()} | self._select_after
            self._select_after = set()
            self.listing = listing
            self.model.set_entries(listing.entries)
            self._select_keys(keep)
            self._show_state()
        else:  # the view moved on meanwhile: list where it is now (loading from here on)
            self.refresh()

    def _load_failed(self, message: str) -> None:
        self._loading = False
        self.refresh_button.setEnabled(True)
        self.listing = None
        self.model.set_entries([])
        self.banner.show_message(f"This folder could not be listed: {message}", "error")
        self._show_state()
        if self._reload:
            self.refresh()

    def _show_state(self) -> None:
        entries = self.model.entries()
        folders = sum(1 for e in entries if e.is_folder)
        files = len(entries) - folders
        unknown = sum(1 for e in entries if not e.is_folder and not e.in_library)
        if self.listing is None:
            self.count_label.setText("")
        else:
            parts = [plural(n, word) for n, word in ((folders, "folder"), (files, "file")) if n]
            text = ", ".join(parts) or "Empty"
            self.count_label.setText(text + (f" ({unknown:,} not in library)" if unknown
                                             else ""))
        if entries:
            self._show_page(0)
            return
        self._show_page(1)
        if self.listing is None:
            self.empty_label.setText("Listing the folder…" if self._loading
                                     else "This folder could not be listed.")
        elif not self.prefix:
            where = "bucket" if self.services.storage.bucket else "local library"
            self.empty_label.setText(f"The {where} is empty.\nFiles you upload appear here "
                                     "in folders such as temp/ and videos/.")
        else:
            self.empty_label.setText("Nothing is stored under this folder any more.\n"
                                     "Use Up to go back.")

    def _show_page(self, page: int) -> None:
        """The table (0) or the empty-folder text (1). Hiding the table would drop the
        keyboard focus: it goes to Up meanwhile, and back to the table with the rows."""
        if page == self.stack.currentIndex():
            return
        if page == 1 and self.table.hasFocus():
            self._refocus_table = True
            target = self.up_button if self.up_action.isEnabled() else self.refresh_button
            self.stack.setCurrentIndex(page)
            target.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        self.stack.setCurrentIndex(page)
        if page == 0 and self._refocus_table:
            self._refocus_table = False
            if self.focusWidget() in (None, self.up_button, self.refresh_button):
                self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- selection --------------------------------------------------------------------------

    def selected_entries(self) -> list[BucketEntry]:
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return self.model.entries(rows)

    def _select_keys(self, keys: set[str]) -> None:
        selection = QItemSelection()
        last = self.model.columnCount() - 1
        current: int | None = None
        for key in keys:
            row = self.model.row_of(key)
            if row is not None:
                selection.select(self.model.index(row, 0), self.model.index(row, last))
                current = row if current is None else min(current, row)
        model = self.table.selectionModel()
        if current is None:
            if self.model.rowCount():  # the keyboard starts on the first row
                model.setCurrentIndex(self.model.index(0, 0),
                                      QItemSelectionModel.SelectionFlag.NoUpdate)
            return
        model.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        model.setCurrentIndex(self.model.index(current, 0),
                              QItemSelectionModel.SelectionFlag.NoUpdate)
        self.table.scrollTo(self.model.index(current, 0))

    def select_keys(self, keys: list[str]) -> None:
        """Select these entries of the folder shown."""
        self.table.clearSelection()
        self._select_keys(set(keys))

    @staticmethod
    def _addable(entries: list[BucketEntry]) -> list[BucketEntry]:
        return [e for e in entries if not e.is_folder and not e.in_library]

    def _update_actions(self) -> None:
        entries = self.selected_entries()
        addable = self._addable(entries)
        self.add_action.setEnabled(bool(addable) and self._busy == 0)
        self.copy_action.setEnabled(bool(entries))
        for action in (self.add_action, self.copy_action):
            tip = self._tips[action]
            if not entries:
                tip += " — select them first"
            elif action is self.add_action and not addable:
                tip += " — the selected files are in the library already"
            action.setToolTip(tip)
        folders = sum(1 for e in entries if e.is_folder)
        parts = [plural(folders, "folder")] if folders else []
        if len(entries) > folders:
            parts.append(plural(len(entries) - folders, "file"))
        self.selection_label.setText(f"{' and '.join(parts)} selected" if parts else "")

    def _context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        menu = QMenu(self)
        entries = self.model.entries([index.row()])
        if entries and entries[0].is_folder:
            menu.addAction("Open", lambda: self.open_folder(entries[0].key))
        menu.addAction(self.add_action)
        menu.addAction(self.copy_action)
        menu.addSeparator()
        menu.addAction("Refresh", self.refresh)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    # -- actions ----------------------------------------------------------------------------

    def copy_uri(self) -> None:
        """The selected entries' addresses, one per line: s3://bucket/key (a file:// URI in
        the local library), ready for the aws cli or a file manager."""
        entries = self.selected_entries()
        if not entries:
            return
        QGuiApplication.clipboard().setText("\n".join(e.uri for e in entries))
        if len(entries) == 1:
            self.banner.show_message(f"Copied {entries[0].uri}")
        else:
            self.banner.show_message(f"Copied {len(entries)} addresses, one per line.")

    def add_to_library(self) -> None:
        """Adopt the selected unknown objects in a worker; each refusal is one sentence."""
        entries = self._addable(self.selected_entries())
        if not entries:
            return
        bucket = self.bucket()
        keys = [e.key for e in entries]

        def work() -> tuple[list[str], list[str]]:
            added: list[str] = []
            errors: list[str] = []
            for key in keys:
                try:
                    row, _new = bucket.add_to_library(key)
                except ShortsError as exc:
                    errors.append(str(exc))
                else:
                    added.append(str(row.original_name))
            return added, errors

        self._busy += 1
        self._update_actions()
        self.runner.submit(work, self._added, self._add_failed,
                           title="Could not add to the library")

    def _added(self, result: tuple[list[str], list[str]]) -> None:
        added, errors = result
        self._busy -= 1
        self._update_actions()
        if len(added) == 1:
            done = f"Added “{added[0]}” to the library as a completed upload."
        else:
            done = f"Added {plural(len(added), 'file')} to the library." if added else ""
        if errors:
            more = (f" ({len(errors) - 1} more could not be added either.)"
                    if len(errors) > 1 else "")
            self.banner.show_message(" ".join(filter(None, [done, errors[0] + more])),
                                     "warning")
        else:
            self.banner.show_message(done)
        if added:
            self.refresh()

    def _add_failed(self, message: str) -> None:
        self._busy -= 1
        self._update_actions()
        self.banner.show_message(f"Nothing was added: {message}", "error")

    # -- panel ------------------------------------------------------------------------------

    def set_services(self, services: Services) -> None:
        """Another bucket (or the local library) from now on: start at its top."""
        self.services = services
        self.open_folder("")

