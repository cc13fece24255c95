"""The main window: a sidebar of six panels, a status bar, drop-anywhere, a tray icon."""

from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QColor,
    QDesktopServices,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDropEvent,
    QIcon,
    QPalette,
)
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QStyle,
    QSystemTrayIcon,
    QWidget,
)

from shorts_desktop import __version__
from shorts_desktop.core.errors import ShortsError
from shorts_desktop.gui.format import human_rate, tilde
from shorts_desktop.gui.notifications import Notifier
from shorts_desktop.gui.panels.base import Panel, standard_icon
from shorts_desktop.gui.panels.bucket import BucketPanel
from shorts_desktop.gui.panels.cleanup import CleanupPanel
from shorts_desktop.gui.panels.jobs import JobsPanel
from shorts_desktop.gui.panels.library import LibraryPanel
from shorts_desktop.gui.panels.settings import SettingsPanel
from shorts_desktop.gui.panels.stats import StatsPanel
from shorts_desktop.gui.panels.uploads import UploadsPanel
from shorts_desktop.gui.tasks import TaskRunner
from shorts_desktop.resources import APP_ID, app_icon

if TYPE_CHECKING:
    from shorts_desktop.app import Services

log = logging.getLogger(__name__)

GUI_SWITCH_INTERVAL = 0.001  # seconds; Python's default is 0.005
#: How long new settings wait for an upload to YouTube to stop between two chunks.
UPLOAD_STOP_WAIT = 120.0

# name, sidebar label, panel class, standard icon
PANELS: tuple[tuple[str, str, type[Panel], QStyle.StandardPixmap], ...] = (
    ("uploads", "Uploads", UploadsPanel, QStyle.StandardPixmap.SP_ArrowUp),
    ("library", "Library", LibraryPanel, QStyle.StandardPixmap.SP_DirIcon),
    ("bucket", "Bucket", BucketPanel, QStyle.StandardPixmap.SP_DriveNetIcon),
    ("jobs", "Jobs", JobsPanel, QStyle.StandardPixmap.SP_MediaPlay),
    ("cleanup", "Cleanup", CleanupPanel, QStyle.StandardPixmap.SP_TrashIcon),
    ("stats", "Stats", StatsPanel, QStyle.StandardPixmap.SP_FileDialogDetailedView),
    ("settings", "Settings", SettingsPanel, QStyle.StandardPixmap.SP_FileDialogContentsView),
)


class MainWindow(QMainWindow):
    """One window; panels talk to each other only through the signals wired here."""

    #: Emitted with the paths of files dropped anywhere on the window.
    files_dropped = Signal(list)
    #: Emitted when the storage's one-time set-up has finished (see `_warm_up`).
    ready = Signal()

    def __init__(self, services: Services, *, runner: TaskRunner | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("Shorts Desktop")
        self.setAccessibleName("Shorts Desktop main window")
        icon = app_icon()
        if not icon.isNull():
            self.setWindowIcon(icon)
        self.services = services
        self.runner = runner or TaskRunner(self)
        self.runner.paths = services.paths
        self.runner.failed.connect(self.show_error)
        self.setAcceptDrops(True)
        self.drop_overlay = self._build_drop_overlay()
        self.panels: dict[str, Panel] = {}

        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setAccessibleName("Panels")
        self.sidebar.setIconSize(QSize(20, 20))
        self.sidebar.setFixedWidth(170)
        self.stack = QStackedWidget()
        style = self.style()
        for name, title, panel_class, icon in PANELS:
            panel = panel_class(self.services, self.runner)
            self.panels[name] = panel
            self.stack.addWidget(panel)
            item = QListWidgetItem(standard_icon(style, icon), title)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setSizeHint(QSize(150, 40))
            item.setToolTip(f"Show the {title} panel")
            self.sidebar.addItem(item)
        self.sidebar.currentRowChanged.connect(self._show_row)

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.location_label = QLabel()
        self.location_label.setObjectName("storageLocation")
        self.transfer_label = QLabel()
        self.transfer_label.setObjectName("transferSummary")
        self.statusBar().addWidget(self.location_label, 1)
        self.statusBar().addPermanentWidget(self.transfer_label)
        self._build_menus()
        self._build_tray()
        self._wire_panels()
        self._update_location()
        self.set_transfer_summary(0, 0.0)
        self.sidebar.setCurrentRow(0)
        self.resize(1280, 800)
        self.is_ready = False
        # Every call from Qt into Python (a model's data, a slot) waits for the GIL; with
        # upload threads running, a waiting thread gets it after the switch interval.
        # 1 ms instead of 5 ms makes a table repaint under load several times faster.
        sys.setswitchinterval(GUI_SWITCH_INTERVAL)
        self._warm_up()
        self._restore_queue()

    def _warm_up(self) -> None:
        """Set up the storage in the background, then stop the garbage collector from
        walking everything built so far.

        Building an S3 client parses megabytes of JSON, and a full collection walks every
        object of Qt, boto3 and the models: each holds the GIL for 50-150 ms, so the GUI
        thread would stall if either happened while uploads run. Frozen objects are still
        freed when unreferenced; only cycles among them are left for good.
        """
        self.is_ready = False

        def settled(_result: object = None) -> None:
            gc.freeze()
            self._restore_jobs()
            self.is_ready = True
            self.ready.emit()

        self.runner.submit(self.services.warm_up, settled, lambda _message: settled())

    def _restore_jobs(self, again: list[str] | None = None) -> None:
        """Jobs queued by the command line, left by a crash, or stopped by new settings
        (`again`) are taken up by the window's job runner (off the GUI)."""
        services = self.services
        resubmit = list(again or [])

        def restore() -> list[str]:
            taken = services.job_runner.restore()
            for job_id in resubmit:
                try:
                    if services.job_runner.submit(job_id):
                        taken.append(job_id)
                except ShortsError as exc:
                    log.info("job %s not taken up again: %s", job_id, exc)
            return taken

        def restored(taken: list[str]) -> None:
            if taken:
                what = "Short" if len(taken) == 1 else "Shorts"
                self.statusBar().showMessage(
                    f"Making {len(taken)} unfinished {what} now: see the Jobs panel.", 8000)
                self.panels["jobs"].refresh_soon()

        def failed(message: str) -> None:  # said in the status bar: no dialog at start-up
            self.statusBar().showMessage(f"Unfinished jobs were not taken up: {message}", 15000)

        self.runner.submit(restore, restored, failed)

    def _restore_queue(self) -> None:
        """Uploads a previous run left unfinished come back into the queue (off the GUI)."""
        queue = self.services.upload_queue
        self.runner.submit(queue.restore, title="Could not restore the upload queue")

    # -- construction -----------------------------------------------------------------------

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        add = QAction("&Add files…", self)
        add.setShortcut("Ctrl+O")
        add.triggered.connect(self._add_files)
        file_menu.addAction(add)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut("Ctrl+Q")
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view = self.menuBar().addMenu("&View")
        for index, (_name, title, _class, _icon) in enumerate(PANELS):
            action = QAction(title, self)
            action.setShortcut(f"Ctrl+{index + 1}")
            action.triggered.connect(lambda _=False, row=index: self.sidebar.setCurrentRow(row))
            view.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        logs = QAction("Open &log folder", self)
        logs.triggered.connect(self._open_log_folder)
        help_menu.addAction(logs)
        about = QAction("&About Shorts Desktop", self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

    def _build_tray(self) -> None:
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(self.windowIcon() or self._app_icon(), self)
            self.tray.setToolTip("Shorts Desktop")
            self.tray.show()
        #: Notifications go to the desktop's notification service, else to the tray.
        self.notifier = Notifier(self.runner, self.tray, app_name="Shorts Desktop",
                                 icon=APP_ID, desktop_entry=APP_ID, parent=self)

    def _app_icon(self) -> QIcon:
        icon: QIcon = app_icon()
        if not icon.isNull():
            return icon
        return self.style().standardIcon(QStyle.StandardPixmap.SP_ArrowUp)

    def _wire_panels(self) -> None:
        """Connect the panels' documented signals; a missing one is simply not wired."""
        uploads = self.panels["uploads"]
        self.files_dropped.connect(getattr(uploads, "add_paths", lambda _paths: None))
        changed = getattr(uploads, "uploads_changed", None)
        if changed is not None:
            for name in ("library", "jobs", "stats", "cleanup"):
                changed.connect(self.panels[name].refresh_soon)
        for name, signal in (("jobs", "jobs_changed"), ("cleanup", "cleaned"),
                             ("stats", "synced")):
            source = getattr(self.panels[name], signal, None)
            if source is not None:
                for target in ("library", "stats", "jobs", "cleanup"):
                    if target != name:
                        source.connect(
                            lambda _value=None, t=target: self.panels[t].refresh_soon())
        transfers = getattr(uploads, "transfers_changed", None)
        if transfers is not None:
            transfers.connect(self.set_transfer_summary)
        finished = getattr(uploads, "queue_finished", None)
        if finished is not None:
            finished.connect(self.notify)
        notice = getattr(self.panels["jobs"], "notice", None)
        if notice is not None:
            notice.connect(self.notify)
        settings = self.panels["settings"]
        making = getattr(self.panels["jobs"], "making", None)
        if making is not None and hasattr(settings, "shorts_in_progress"):
            settings.shorts_in_progress = making
        saved = getattr(settings, "services_changed", None)
        if saved is not None:
            saved.connect(self.set_services)
        jobs = self.panels["jobs"]
        wanted = getattr(jobs, "connect_youtube_requested", None)
        if wanted is not None and hasattr(settings, "connect_youtube"):
            wanted.connect(self._connect_youtube)
        connected = getattr(settings, "youtube_connected", None)
        if connected is not None and hasattr(jobs, "resume_publish_after_connect"):
            connected.connect(self._youtube_connected)
        uploading = getattr(jobs, "uploads_in_progress", None)
        if uploading is not None and hasattr(settings, "youtube_uploads"):
            settings.youtube_uploads = uploading

    def _connect_youtube(self) -> None:
        """The Jobs panel asked for a YouTube account: Settings signs in."""
        self.show_panel("settings")
        settings: Any = self.panels["settings"]
        settings.connect_youtube()

    def _youtube_connected(self, _channel: str) -> None:
        """Connected after a Publish asked for it: back to that Publish."""
        jobs: Any = self.panels["jobs"]
        if jobs.wants_publish_after_connect():
            jobs.resume_publish_after_connect()
            self.show_panel("jobs")

    # -- behaviour --------------------------------------------------------------------------

    def _show_row(self, row: int) -> None:
        if row < 0:
            return
        self.stack.setCurrentIndex(row)
        panel = self.stack.currentWidget()
        if isinstance(panel, Panel):
            panel.setFocus()
            panel.refresh()

    def show_panel(self, name: str) -> None:
        names = [p[0] for p in PANELS]
        if name not in names:
            raise ValueError(f"unknown panel {name!r}; choose one of {', '.join(names)}")
        self.sidebar.setCurrentRow(names.index(name))

    def current_panel(self) -> Panel:
        widget = self.stack.currentWidget()
        assert isinstance(widget, Panel)
        return widget

    def set_services(self, services: Services) -> None:
        """Use rebuilt services (after the settings changed). Shorts the old job runner was
        making are stopped (in a worker, as stopping waits for ffmpeg to end) and start
        again, from the beginning, on the new runner with the new settings."""
        old = self.services
        making = [job_id for job_id in self._live_job_ids() if old.job_runner.is_busy(job_id)]
        # Uploads to YouTube use the old services: they stop between two chunks (and resume
        # on Resume upload) before those are closed.
        stop_uploads = getattr(self.panels.get("jobs"), "stop_all_uploads", None)
        uploads = list(stop_uploads()) if stop_uploads is not None and old is not services \
            else []
        self.services = services
        for panel in self.panels.values():
            panel.set_services(services)
        self._update_location()
        if old is services:
            return
        if not making and not uploads:
            old.close()
            self._warm_up()
            self._restore_queue()
            return

        def stop() -> None:
            for ended in uploads:
                ended.wait(UPLOAD_STOP_WAIT)
            if making:
                old.job_runner.shutdown()

        def stopped(_result: object = None) -> None:
            old.close()
            self._warm_up()
            self._restore_queue()
            if not making:
                return
            self._restore_jobs(making)
            self.statusBar().showMessage(
                f"{len(making)} {'Short starts' if len(making) == 1 else 'Shorts start'} "
                "again with the new settings.", 8000)

        self.runner.submit(stop, stopped, lambda _message: stopped())

    def _live_job_ids(self) -> list[str]:
        ids = getattr(self.panels.get("jobs"), "live_job_ids", None)
        return list(ids()) if ids is not None else []

    def _update_location(self) -> None:
        storage = self.services.storage
        if storage.backend == "s3":
            text = f"Files go to {storage.describe()}"
        else:
            text = f"Files go to the {tilde(storage.describe())} (no bucket set up yet)"
        self.location_label.setText(text)
        self.location_label.setToolTip(text)

    def set_transfer_summary(self, count: int, rate: float) -> None:
        if count == 0:
            self.transfer_label.setText("No transfers")
        else:
            self.transfer_label.setText(f"{count} transferring · {human_rate(rate)}")

    def notify(self, title: str, message: str) -> None:
        """Tell the user something finished: a desktop notification and the status bar."""
        self.notifier.notify(title, message)
        self.statusBar().showMessage(message, 8000)

    def show_error(self, title: str, message: str) -> None:
        QMessageBox.warning(self, title, message)

    def _add_files(self) -> None:
        self.show_panel("uploads")
        add = getattr(self.panels["uploads"], "choose_files", None)
        if add is not None:
            add()

    def _open_log_folder(self) -> None:
        folder = self.services.paths.log_dir
        self.runner.submit(lambda: folder.mkdir(parents=True, exist_ok=True),
                           lambda _r: self._open_url(QUrl.fromLocalFile(str(folder))))

    def _open_url(self, url: QUrl) -> None:
        QDesktopServices.openUrl(url)

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About Shorts Desktop",
            f"<b>Shorts Desktop {__version__}</b><p>Keeps the videos and transcripts of your "
            "YouTube Shorts in your own S3 bucket.</p>",
        )

    # -- drag and drop anywhere -------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        count = sum(1 for u in event.mimeData().urls() if u.isLocalFile())
        if count:
            event.acceptProposedAction()
            self._show_drop_overlay(count)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.drop_overlay.hide()
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_overlay.hide()
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.show_panel("uploads")
            self.files_dropped.emit(paths)

    def _build_drop_overlay(self) -> QLabel:
        """What a drag over the window shows: that letting go uploads the files."""
        overlay = QLabel(self)
        overlay.setObjectName("dropOverlay")
        overlay.setAlignment(Qt.AlignmentFlag.AlignCenter)
        overlay.setWordWrap(True)
        # Drops still reach the widget under it (the Jobs panel's pickers take their own).
        overlay.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        font = overlay.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        overlay.setFont(font)
        overlay.hide()
        return overlay

    def _show_drop_overlay(self, count: int) -> None:
        # The window's own colour, nearly opaque: the text stands alone, the panel shows
        # through just enough to see where one is.
        window = self.palette().color(QPalette.ColorRole.Window)
        self.drop_overlay.setStyleSheet(
            f"#dropOverlay {{ background: rgba({window.red()}, {window.green()}, "
            f"{window.blue()}, 225); border: 3px dashed palette(highlight); "
            "border-radius: 14px; color: palette(window-text); }"
        )
        what = "this file or folder" if count == 1 else f"these {count} files and folders"
        self.drop_overlay.setText(f"Drop to upload {what}")
        central = self.centralWidget()
        if central is not None:
            self.drop_overlay.setGeometry(central.geometry().adjusted(8, 8, -8, -8))
        self.drop_overlay.raise_()
        self.drop_overlay.show()

    def closeEvent(self, event: QCloseEvent) -> None:
        # Work that would keep the runner waiting stops first: uploads to YouTube (between
        # two chunks; they resume next time) and a Google sign-in waiting for the browser.
        for panel in self.panels.values():
            stop = getattr(panel, "shutdown", None)
            if stop is not None:
                stop()
        self.runner.shutdown()
        if self.tray is not None:
            self.tray.hide()
        self.services.close()  # a Short being made stays queued for the next start
        super().closeEvent(event)



def dark_palette() -> QPalette:
    """A dark palette for styles that do not derive one from the colour scheme."""
    palette = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    colours = {
        role.Window: "#2b2d31", role.WindowText: "#e8e8e8", role.Base: "#1e1f22",
        role.AlternateBase: "#26282c", role.ToolTipBase: "#3a3d42", role.ToolTipText: "#f0f0f0",
        role.PlaceholderText: "#8b8f96", role.Text: "#e8e8e8", role.Button: "#35373c",
        role.ButtonText: "#e8e8e8", role.BrightText: "#ff6b6b", role.Light: "#4a4d53",
        role.Midlight: "#3f4247", role.Mid: "#5a5d63", role.Dark: "#191a1c",
        role.Shadow: "#0d0d0e", role.Highlight: "#3d7bd9", role.HighlightedText: "#ffffff",
        role.Link: "#6aa7ff", role.LinkVisited: "#b48cff",
    }
    for colour_role, colour in colours.items():
        palette.setColor(colour_role, QColor(colour))
    for colour_role in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(group.Disabled, colour_role, QColor("#7d8087"))
    return palette


def apply_color_scheme(app: QApplication, scheme: str) -> None:
    """Follow SHORTS_DESKTOP_COLOR_SCHEME (light or dark) instead of the desktop's setting."""
    wanted = {"dark": Qt.ColorScheme.Dark, "light": Qt.ColorScheme.Light}.get(scheme.lower())
    if wanted is None:
        return
    app.styleHints().setColorScheme(wanted)
    is_dark = app.palette().color(QPalette.ColorRole.Window).lightness() < 128
    if wanted == Qt.ColorScheme.Dark and not is_dark:
        app.setPalette(dark_palette())
