"""GUI test fixtures: the real main window over a temporary data dir, locally or against moto S3.

Helpers for other panels may be added below in their own clearly marked block.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from PySide6.QtCore import QEvent, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from shorts_desktop.app import build_services
from shorts_desktop.gui.main_window import MainWindow
from shorts_desktop.gui.tasks import TaskRunner

# ======================================================================================
# Main window and S3 server (uploads / library panels)
# ======================================================================================

GUI_REGION = "us-east-1"
_HERE = Path(__file__).parent
# The offscreen platform plugin says this whenever a window is shown; it means nothing here.
OFFSCREEN_NOISE = "This plugin does not support propagateSizeHints()"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: takes half a minute or more (deselect with -m 'not slow')"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.gui)
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))

MakeWindow = Callable[..., MainWindow]


@pytest.fixture
def make_main_window(qtbot: Any) -> Iterator[MakeWindow]:
    """Build (and show) main windows over `build_services(env)`; all are closed at the end."""
    windows: list[MainWindow] = []

    def make(env: dict[str, str] | None = None, *, show: bool = True) -> MainWindow:
        services = build_services(dict(os.environ) if env is None else env, interactive=True)
        window = MainWindow(services, runner=TaskRunner(inline=False))
        windows.append(window)
        if show:
            window.show()
            qtbot.waitExposed(window)
        # Start-up work done (storage set up, unfinished uploads restored), as a user would
        # find it; a test that writes to the database before then races the restore.
        qtbot.waitUntil(lambda: window.is_ready and window.runner.running == 0, timeout=15000)
        return window

    yield make
    for window in windows:
        # Let background work settle first, so that nothing is submitted while it shuts down.
        with contextlib.suppress(qtbot.TimeoutError):
            qtbot.waitUntil(lambda w=window: w.runner.running == 0, timeout=5000)
        window.close()  # closeEvent stops the runner and closes the services
        window.deleteLater()
    # Destroy the windows now, so no timer of theirs fires during the next test.
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()


@pytest.fixture
def main_window(make_main_window: MakeWindow) -> MainWindow:
    """The main window over the local library in this test's SHORTS_DESKTOP_HOME."""
    return make_main_window()


def answer_questions(monkeypatch: pytest.MonkeyPatch,
                     *replies: QMessageBox.StandardButton) -> list[str]:
    """Answer every QMessageBox.question with `replies` in turn, the last one from then on;
    returns the questions asked, in order."""
    asked: list[str] = []

    def answer(_parent: Any, _title: str, text: str, *_a: Any) -> QMessageBox.StandardButton:
        asked.append(text)
        return replies[min(len(asked), len(replies)) - 1]

    monkeypatch.setattr(QMessageBox, "question", staticmethod(answer))
    return asked


@dataclass(frozen=True)
class GuiS3Server:
    endpoint_url: str


@pytest.fixture(scope="session")
def gui_s3_server() -> Iterator[GuiS3Server]:
    """A moto S3 server over HTTP on a free port, for the whole session."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto ignores verbose=False here
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield GuiS3Server(endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()


@dataclass(frozen=True)
class GuiBucket:
    name: str
    client: Any  # a boto3 S3 client for checking what the app stored
    env: dict[str, str]  # the environment that points the app at this bucket

    def keys(self) -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.name)
        return sorted(o["Key"] for o in listing.get("Contents", []))


@pytest.fixture
def gui_s3_bucket(gui_s3_server: GuiS3Server) -> GuiBucket:
    """A fresh bucket on the moto server and the app environment that uses it."""
    client = boto3.client(
        "s3",
        endpoint_url=gui_s3_server.endpoint_url,
        region_name=GUI_REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    name = f"gui-{uuid.uuid4().hex[:20]}"
    client.create_bucket(Bucket=name)
    env = {
        **os.environ,
        "S3_BUCKET_NAME": name,
        "S3_ENDPOINT_URL": gui_s3_server.endpoint_url,
        "S3_ADDRESSING_STYLE": "path",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": GUI_REGION,
    }
    return GuiBucket(name, client, env)


@pytest.fixture
def s3_main_window(make_main_window: MakeWindow, gui_s3_bucket: GuiBucket) -> MainWindow:
    """The main window storing into a fresh bucket of the moto server."""
    return make_main_window(gui_s3_bucket.env)


@pytest.fixture
def media_files(tmp_path: Path) -> Callable[..., Path]:
    """Write small files: `media_files("a.mp4")` a valid MP4 header, `.txt` some text.

    Files of different names differ in content, as real ones do: the app asks before it
    uploads content that the library already holds.
    """
    folder = tmp_path / "media"
    folder.mkdir(exist_ok=True)

    def make(name: str, data: bytes | None = None) -> Path:
        path = folder / name
        if data is None:
            suffix = path.suffix.lower()
            if suffix in (".mp4", ".mov", ".m4v"):
                tag = name.encode()[:4000]
                data = (struct.pack(">I", 24) + b"ftypisom" + bytes(12) + tag
                        + bytes(4000 - len(tag)))
            elif suffix == ".png":
                data = b"\x89PNG\r\n\x1a\n" + bytes(100)
            else:
                data = f"Hello from {name}.\nA second line of transcript.\n".encode()
        path.write_bytes(data)
        return path

    return make


def send_drop(target: Any, paths: list[Path]) -> None:
    """Drag `paths` onto `target` (a widget) with synthetic enter and drop events."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    center = target.rect().center()
    enter = QDragEnterEvent(center, Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted(), "the window refused the drag"
    drop = QDropEvent(QPointF(center), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)
    assert drop.isAccepted(), "the window refused the drop"


@pytest.fixture
def drop_files() -> Callable[[Any, list[Path]], None]:
    """`drop_files(widget, paths)`: a synthetic drag and drop of local files."""
    return send_drop


# ======================================================================================
# (other panels' fixtures go below this line)
# ======================================================================================


# ======================================================================================
# Jobs, Cleanup, Stats and Settings panels: a panel on its own over fresh services
# ======================================================================================


@dataclass
class PanelKit:
    """Builds services and panels for one test; everything is closed at the end."""

    qtbot: Any
    runner: TaskRunner
    services_made: list[Any]

    def services(self, env: dict[str, str] | None = None) -> Any:
        services = build_services(dict(os.environ) if env is None else env, interactive=True)
        self.services_made.append(services)
        return services

    def panel(self, cls: type, services: Any = None) -> Any:
        panel = cls(services if services is not None else self.services(), self.runner)
        self.qtbot.addWidget(panel)
        panel.resize(1110, 760)
        panel.show()
        self.qtbot.waitExposed(panel)
        return panel

    def upload(self, services: Any, path: Path, kind: str, is_temp: bool = True) -> Any:
        """A completed upload made through the core, as the Uploads panel would."""
        return services.uploads.upload_file(path, kind, is_temp=is_temp)


@pytest.fixture
def panel_kit(qtbot: Any) -> Iterator[PanelKit]:
    """Panels over `build_services(env)` with a runner that works inline (deterministic)."""
    runner = TaskRunner(inline=True)
    kit = PanelKit(qtbot, runner, [])
    yield kit
    runner.shutdown()
    for services in reversed(kit.services_made):
        services.close()
    runner.deleteLater()
