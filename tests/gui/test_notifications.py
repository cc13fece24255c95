"""Notifications reach the freedesktop notification service on the session bus (a fake one
registered here on tests/run.sh's private bus), and the tray when there is none."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from PySide6.QtDBus import QDBusConnection, QDBusMessage, QDBusVirtualObject
from PySide6.QtWidgets import QSystemTrayIcon

from shorts_desktop.gui.main_window import MainWindow
from shorts_desktop.gui.notifications import (
    NOTIFY_SIGNATURE,
    OBJECT_PATH,
    SERVICE,
    VIA_DBUS,
    VIA_NOTHING,
    VIA_TRAY,
    Notifier,
)
from shorts_desktop.gui.tasks import TaskRunner

pytestmark = pytest.mark.gui

needs_session_bus = pytest.mark.skipif(
    not os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
    reason="no session bus: run the tests through tests/run.sh (a private dbus-run-session)",
)
WAIT = 10_000


@dataclass
class Received:
    """One Notify call as the service saw it."""

    signature: str
    app_name: str
    replaces_id: int
    icon: str
    summary: str
    body: str
    timeout: int


class FakeNotifications(QDBusVirtualObject):
    """org.freedesktop.Notifications as a daemon has it: Notify with the spec's signature
    (any other is refused, as GNOME's and KDE's daemons do) answers a notification id."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[Received] = []

    def handleMessage(self, message: QDBusMessage, connection: QDBusConnection) -> bool:
        if message.member() != "Notify":
            return False
        if message.signature() != NOTIFY_SIGNATURE:
            connection.send(message.createErrorReply(
                "org.freedesktop.DBus.Error.InvalidArgs",
                f"Notify takes ({NOTIFY_SIGNATURE}), not ({message.signature()})"))
            return True
        app_name, replaces_id, icon, summary, body, _actions, _hints, timeout = (
            message.arguments())
        self.received.append(Received(message.signature(), app_name, replaces_id, icon,
                                      summary, body, timeout))
        reply = message.createReply()
        reply.setArguments([len(self.received)])
        connection.send(reply)
        return True

    def introspect(self, _path: str) -> str:
        return ""


@dataclass
class FakeService:
    daemon: FakeNotifications
    connection: QDBusConnection
    names: list[str] = field(default_factory=list)


@pytest.fixture
def session_bus() -> QDBusConnection:
    """The private session bus of tests/run.sh, checked to be really there."""
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.skip("no session bus: run the tests through tests/run.sh")
    bus = QDBusConnection.sessionBus()
    assert bus.isConnected(), bus.lastError().message()
    return bus


@pytest.fixture
def notification_service(session_bus: QDBusConnection) -> Iterator[FakeService]:
    """A notification daemon on the session bus, on a connection of its own (so that the
    calls travel through the bus daemon as they would to a real one)."""
    owner = session_bus.interface().serviceOwner(SERVICE)
    if owner.isValid():
        pytest.skip(f"{SERVICE} is already on this bus: run the tests through tests/run.sh")
    name = "fake-notifications"
    connection = QDBusConnection.connectToBus(QDBusConnection.BusType.SessionBus, name)
    assert connection.isConnected(), connection.lastError().message()
    daemon = FakeNotifications()
    assert connection.registerVirtualObject(OBJECT_PATH, daemon)
    assert connection.registerService(SERVICE), connection.lastError().message()
    try:
        yield FakeService(daemon, connection)
    finally:
        connection.unregisterService(SERVICE)
        connection.unregisterObject(OBJECT_PATH)
        QDBusConnection.disconnectFromBus(name)


class RecordingTray(QSystemTrayIcon):
    """A real tray icon that remembers the balloons it was asked to show."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[tuple[str, str]] = []

    def showMessage(self, title: str, message: str, *_args: Any) -> None:  # type: ignore[override]
        self.shown.append((title, message))


@pytest.fixture
def runner() -> Iterator[TaskRunner]:
    runner = TaskRunner()  # a real pool: the D-Bus call waits for the fake on this thread
    yield runner
    runner.shutdown()
    runner.deleteLater()


def notifier(runner: TaskRunner, tray: QSystemTrayIcon | None) -> Notifier:
    return Notifier(runner, tray, app_name="Shorts Desktop", icon="shorts-desktop",
                    desktop_entry="shorts-desktop")


@needs_session_bus
def test_a_notification_goes_to_the_notification_service(
    qtbot: Any, runner: TaskRunner, notification_service: FakeService
) -> None:
    tray = RecordingTray()
    sender = notifier(runner, tray)
    with qtbot.waitSignal(sender.delivered, timeout=WAIT) as delivered:
        sender.notify("Uploads finished", "2 files uploaded")
    assert delivered.args == [VIA_DBUS, "Uploads finished", "2 files uploaded"]
    assert notification_service.daemon.received == [
        Received(NOTIFY_SIGNATURE, "Shorts Desktop", 0, "shorts-desktop", "Uploads finished",
                 "2 files uploaded", 5000)]
    assert tray.shown == []  # not twice


@needs_session_bus
def test_without_the_service_the_tray_shows_it(
    qtbot: Any, runner: TaskRunner, session_bus: QDBusConnection
) -> None:
    assert not session_bus.interface().isServiceRegistered(SERVICE).value()
    tray = RecordingTray()
    sender = notifier(runner, tray)
    with qtbot.waitSignal(sender.delivered, timeout=WAIT) as delivered:
        sender.notify("Short ready", "Beach walk")
    assert delivered.args == [VIA_TRAY, "Short ready", "Beach walk"]
    assert tray.shown == [("Short ready", "Beach walk")]


@needs_session_bus
def test_without_the_service_or_a_tray_nothing_is_shown(
    qtbot: Any, runner: TaskRunner, session_bus: QDBusConnection
) -> None:
    sender = notifier(runner, None)
    with qtbot.waitSignal(sender.delivered, timeout=WAIT) as delivered:
        sender.notify("Short ready", "Beach walk")
    assert delivered.args == [VIA_NOTHING, "Short ready", "Beach walk"]


def test_without_a_session_bus_the_tray_shows_it_at_once(
    qtbot: Any, runner: TaskRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    tray = RecordingTray()
    sender = notifier(runner, tray)
    with qtbot.waitSignal(sender.delivered, timeout=1) as delivered:
        sender.notify("Uploads finished", "1 file uploaded")
    assert delivered.args == [VIA_TRAY, "Uploads finished", "1 file uploaded"]
    assert runner.running == 0  # no worker was asked
    assert tray.shown == [("Uploads finished", "1 file uploaded")]


@needs_session_bus
def test_the_window_notifies_through_the_service(
    qtbot: Any, main_window: MainWindow, notification_service: FakeService
) -> None:
    """What the window says when uploads finish or a Short is ready reaches the desktop's
    notification service, and the status bar."""
    with qtbot.waitSignal(main_window.notifier.delivered, timeout=WAIT) as delivered:
        main_window.notify("Uploads finished", "3 files uploaded")
    assert delivered.args[0] == VIA_DBUS
    (received,) = notification_service.daemon.received
    assert (received.summary, received.body) == ("Uploads finished", "3 files uploaded")
    assert main_window.statusBar().currentMessage() == "3 files uploaded"
