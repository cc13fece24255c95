"""Desktop notifications: the freedesktop notification service first, the tray second.

Many Linux desktops (GNOME without extensions, most Wayland ones) have no system tray,
so a tray balloon is never seen there; their notification service is. `Notifier` sends
`org.freedesktop.Notifications.Notify` over the session bus when the service is there
(or can be started by the bus), else shows the tray's balloon, else nothing (the window
still writes the status bar).

The call goes through jeepney (installed with keyring on Linux), not QtDBus: from
PySide6 a Python int reaches D-Bus as an int32 and `QDBusArgument << int` writes a
uint16, so the spec's `replaces_id` (uint32) cannot be written, and the daemons check
the signature `susssasa{sv}i`. The call waits for the reply, so it runs in a worker.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QSystemTrayIcon

if TYPE_CHECKING:
    from shorts_desktop.gui.tasks import TaskRunner

log = logging.getLogger(__name__)

SERVICE = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
NOTIFY_SIGNATURE = "susssasa{sv}i"
#: How long a notification stays on screen, in milliseconds (the daemon may differ).
SHOW_MS = 5000
#: How long the worker waits for the bus to answer, in seconds.
CALL_TIMEOUT = 3.0

#: Ways a notification went out, as `Notifier.delivered` says.
VIA_DBUS, VIA_TRAY, VIA_NOTHING = "dbus", "tray", "none"


def session_bus_address() -> str:
    """The session bus to try, or "" where there is none (not Linux/BSD, or no session)."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return ""
    return os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")


def send_notification(app_name: str, summary: str, body: str, icon: str = "",
                      desktop_entry: str = "", show_ms: int = SHOW_MS) -> bool:
    """Notify through org.freedesktop.Notifications; False when the session bus has no
    such service or cannot be reached. Waits for the bus: call it from a worker."""
    if not session_bus_address():
        return False
    try:
        from jeepney import AuthenticationError, DBusAddress, MessageType, new_method_call
        from jeepney.io.blocking import open_dbus_connection
    except ImportError:  # pragma: no cover - jeepney comes with keyring on Linux
        return False
    hints = {"desktop-entry": ("s", desktop_entry)} if desktop_entry else {}
    call = new_method_call(
        DBusAddress(OBJECT_PATH, bus_name=SERVICE, interface=INTERFACE), "Notify",
        NOTIFY_SIGNATURE, (app_name, 0, icon, summary, body, [], hints, show_ms),
    )
    try:
        with open_dbus_connection(bus="SESSION") as connection:
            reply = connection.send_and_get_reply(call, timeout=CALL_TIMEOUT)
    except (OSError, ValueError, KeyError, AuthenticationError) as exc:
        # No bus at that address, refused, timed out: the tray takes over.
        log.info("the session bus could not be reached for a notification: %s", exc)
        return False
    if reply.header.message_type == MessageType.error:
        log.info("no notification service on the session bus: %s", reply.body[:1])
        return False
    return True


class Notifier(QObject):
    """Shows a notification the way the desktop shows them (see the module docstring)."""

    #: Emitted on the GUI thread once a notification went out: (way, title, message),
    #: way being "dbus", "tray" or "none".
    delivered = Signal(str, str, str)

    def __init__(self, runner: TaskRunner, tray: QSystemTrayIcon | None, *,
                 app_name: str, icon: str = "", desktop_entry: str = "",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.tray = tray
        self.app_name = app_name
        self.icon = icon
        self.desktop_entry = desktop_entry

    def notify(self, title: str, message: str) -> None:
        """Show `title` and `message`; returns at once (the D-Bus call runs in a worker)."""
        if not session_bus_address():
            self._fall_back(title, message)
            return
        app_name, icon, entry = self.app_name, self.icon, self.desktop_entry

        def sent(ok: bool) -> None:
            if ok:
                self.delivered.emit(VIA_DBUS, title, message)
            else:
                self._fall_back(title, message)

        self.runner.submit(
            lambda: send_notification(app_name, title, message, icon, entry),
            sent, lambda _sentence: self._fall_back(title, message),
        )

    def _fall_back(self, title: str, message: str) -> None:
        if self.tray is None:
            self.delivered.emit(VIA_NOTHING, title, message)
            return
        self.tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Information, SHOW_MS)
        self.delivered.emit(VIA_TRAY, title, message)
