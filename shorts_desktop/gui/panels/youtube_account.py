"""The YouTube account in Settings: which channel Shorts are published to, and signing in.

Google's sign-in runs in a worker (it opens the browser and waits for Google's answer on
a loopback port) while this shows the sign-in address, with Cancel; Disconnect revokes the
sign-in. The OAuth client file is asked for the first time only (the keyring keeps it).
What it reads and changes goes through the publishing service; the window never waits.
"""

from __future__ import annotations

import contextlib
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QStandardPaths, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from shorts_desktop.core.errors import ShortsError
from shorts_desktop.gui.panels.base import ok_style, problem_style

if TYPE_CHECKING:
    from shorts_desktop.app import Services
    from shorts_desktop.gui.tasks import TaskRunner

#: Where a creator makes the OAuth client (type Desktop app) and downloads its JSON.
OAUTH_CLIENT_HELP = "https://console.cloud.google.com/apis/credentials"
#: How long the sign-in waits for Google's answer in the browser.
SIGN_IN_TIMEOUT = 300
WAITING_FOR_GOOGLE = "Waiting for Google sign-in in your browser…"


@dataclass
class _SignIn:
    """One Google sign-in the panel waits for; `cancelled` when the user stopped waiting."""

    cancelled: threading.Event = dataclass_field(default_factory=threading.Event)
    url: str = ""


def end_sign_in_wait(sign_in_url: str) -> None:
    """Answer a pending sign-in's own loopback redirect with "access denied", so the worker
    waiting for Google's answer ends now rather than after SIGN_IN_TIMEOUT (and frees its
    thread and port). Only ever talks to this computer; never on the GUI thread."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(sign_in_url).query)
    redirect = (query.get("redirect_uri") or [""])[0]
    state = (query.get("state") or [""])[0]
    parts = urllib.parse.urlsplit(redirect)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost") or not state:
        return
    answer = urllib.parse.urlencode({"error": "access_denied", "state": state})
    target = f"{redirect}{'&' if parts.query else '?'}{answer}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with contextlib.suppress(OSError, ValueError), opener.open(target, timeout=5) as response:
        response.read()


def _end_sign_in_soon(sign_in_url: str) -> None:
    threading.Thread(target=end_sign_in_wait, args=(sign_in_url,), name="sign-in-cancel",
                     daemon=True).start()


class YouTubeAccount(QWidget):
    """The connected channel (read when shown), Connect / another client file / Disconnect,
    and while a sign-in waits for the browser: its address, Copy and Cancel."""

    #: Emitted with the channel's name after an account was connected here.
    connected = Signal(str)

    def __init__(self, services: Services, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.runner = runner
        self.state: dict[str, Any] = {}  # what the last status read found
        self._loading = False
        self._again = False
        self._read_for: Services | None = None
        self._sign_in: _SignIn | None = None

        self.status = QLabel("Not checked yet.")
        self.status.setObjectName("youtubeStatus")
        self.status.setAccessibleName("YouTube account")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.connect_button = QPushButton("Connect YouTube account…")
        self.connect_button.setObjectName("connectYoutube")
        self.connect_button.setAccessibleName("Connect YouTube account")
        self.connect_button.clicked.connect(lambda: self.connect_account())
        self.client_button = QPushButton("Use another client file…")
        self.client_button.setObjectName("youtubeClientFile")
        self.client_button.setAccessibleName("Connect with another OAuth client file")
        self.client_button.setToolTip(
            "Choose a different OAuth client JSON (another Google Cloud project), then sign in")
        self.client_button.clicked.connect(lambda: self.connect_account(True))
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.setObjectName("disconnectYoutube")
        self.disconnect_button.setAccessibleName("Disconnect the YouTube account")
        self.disconnect_button.setToolTip(
            "Revoke this app's access at Google and forget the sign-in")
        self.disconnect_button.clicked.connect(self.disconnect_account)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.connect_button)
        buttons.addWidget(self.client_button)
        buttons.addWidget(self.disconnect_button)
        buttons.addStretch(1)

        self.hint = QLabel(
            "Connect asks for the OAuth client (Desktop app) JSON from your Google Cloud "
            "project the first time; it is remembered in the OS keyring.")
        self.hint.setObjectName("youtubeClientHint")
        self.hint.setWordWrap(True)
        self.help_button = QPushButton("How to get that file (Google Cloud Console) ↗")
        self.help_button.setObjectName("youtubeClientHelp")
        self.help_button.setAccessibleName(
            "Open Google Cloud Console to create the OAuth client file")
        self.help_button.setToolTip(
            "In Google Cloud Console: enable the YouTube Data API v3, then APIs & Services → "
            "Credentials → Create credentials → OAuth client ID → Desktop app, and download "
            f"its JSON\n{OAUTH_CLIENT_HELP}")
        self.help_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.help_button.setStyleSheet(
            "QPushButton { color: palette(link); text-decoration: underline; text-align: left;"
            " border: 1px solid transparent; padding: 0 1px; background: transparent; }"
            "QPushButton:focus { border: 1px dotted palette(link); }")
        self.help_button.clicked.connect(self.open_client_help)
        hint = QVBoxLayout()
        hint.setSpacing(2)
        hint.addWidget(self.hint)
        hint.addWidget(self.help_button, 0, Qt.AlignmentFlag.AlignLeft)

        # Shown while the sign-in waits for the browser.
        self.sign_in_box = QFrame()
        self.sign_in_box.setObjectName("signInBox")
        self.sign_in_box.setFrameShape(QFrame.Shape.StyledPanel)
        self.sign_in_label = QLabel(WAITING_FOR_GOOGLE)
        self.sign_in_label.setObjectName("signInWaiting")
        self.sign_in_label.setWordWrap(True)
        font = self.sign_in_label.font()
        font.setBold(True)
        self.sign_in_label.setFont(font)
        self.sign_in_cancel_button = QPushButton("Cancel")
        self.sign_in_cancel_button.setObjectName("cancelSignIn")
        self.sign_in_cancel_button.setAccessibleName("Stop waiting for the Google sign-in")
        self.sign_in_cancel_button.setToolTip("Stop waiting for Google's answer")
        self.sign_in_cancel_button.clicked.connect(self.cancel_sign_in)
        self.sign_in_hint = QLabel("If no browser opened, open this address in one:")
        self.sign_in_hint.setObjectName("signInHint")
        self.sign_in_hint.setWordWrap(True)
        self.sign_in_url_edit = QLineEdit()
        self.sign_in_url_edit.setObjectName("signInUrl")
        self.sign_in_url_edit.setAccessibleName("Google sign-in address")
        self.sign_in_url_edit.setToolTip("The address of Google's sign-in page for this app")
        self.sign_in_url_edit.setReadOnly(True)
        self.sign_in_url_edit.setPlaceholderText("Opening the browser…")
        self.sign_in_copy_button = QPushButton("Copy")
        self.sign_in_copy_button.setObjectName("copySignInUrl")
        self.sign_in_copy_button.setAccessibleName("Copy the sign-in address")
        self.sign_in_copy_button.setToolTip("Put the sign-in address on the clipboard")
        self.sign_in_copy_button.setEnabled(False)
        self.sign_in_copy_button.clicked.connect(self.copy_sign_in_url)
        waiting = QHBoxLayout()
        waiting.addWidget(self.sign_in_label, 1)
        waiting.addWidget(self.sign_in_cancel_button)
        address = QHBoxLayout()
        address.addWidget(self.sign_in_url_edit, 1)
        address.addWidget(self.sign_in_copy_button)
        inner = QVBoxLayout(self.sign_in_box)
        inner.setContentsMargins(10, 8, 10, 8)
        inner.addLayout(waiting)
        inner.addWidget(self.sign_in_hint)
        inner.addLayout(address)
        self.sign_in_box.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        layout.addLayout(hint)
        layout.addWidget(self.sign_in_box)
        self._show()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # Read once per services (asking YouTube costs a request); again after a problem.
        if self._read_for is not self.services or self.state.get("problem"):
            self.load_status()

    def set_services(self, services: Services) -> None:
        self.services = services
        if self.isVisible():
            self.load_status()

    def load_status(self) -> None:
        """Read (in a worker) whether an account is connected and its channel's name."""
        if self._sign_in is not None:
            return  # the sign-in says how it ends
        if self._loading:
            self._again = True
            return
        self._loading = True
        services = self.services
        publishing = services.publishing
        if not self.state:
            self.status.setText("Checking the YouTube account…")

        def work() -> dict[str, Any]:
            state: dict[str, Any] = {"has_client": publishing.has_client(),
                                     "connected": publishing.connected()}
            if state["connected"]:
                try:
                    channel = publishing.status()
                except ShortsError as exc:
                    state["problem"] = str(exc)
                else:
                    state["connected"] = channel is not None
                    state["channel"] = None if channel is None else channel.title
            return state

        def done(state: dict[str, Any]) -> None:
            self._loading = False
            if self._again:
                self._again = False
                self.load_status()
                return
            if self._sign_in is None:
                self._read_for = services
                self.state = state
                self._show()

        def failed(message: str) -> None:
            self._loading = False
            if self._sign_in is None:
                self.state = {"problem": message}
                self._show()

        self.runner.submit(work, done, failed)

    def _show(self, text: str | None = None, problem: bool = False) -> None:
        """Show the account as `state` has it (or `text`), and the buttons that fit."""
        state = self.state
        waiting = self._sign_in is not None
        connected = bool(state.get("connected"))
        channel = state.get("channel")
        style = ""
        if text is None:
            if state.get("problem"):
                text, style = str(state["problem"]), problem_style()
            elif connected:
                text = f"Connected to “{channel}”" if channel else "Connected"
                style = ok_style()
            elif state:
                text = "Not connected: connect the channel your Shorts are published to."
            else:
                text = self.status.text()
        elif problem:
            style = problem_style()
        self.status.setText(text)
        self.status.setStyleSheet(style)
        self.connect_button.setEnabled(not waiting)
        self.connect_button.setToolTip(
            "Sign in again, with this or another Google account; it replaces this sign-in"
            if connected else
            "Sign in with Google in your browser and allow uploads to your channel")
        has_client = bool(state.get("has_client"))
        self.client_button.setVisible(has_client)
        self.client_button.setEnabled(not waiting)
        self.disconnect_button.setEnabled(
            not waiting and (connected or bool(state.get("problem") and has_client)))
        self.sign_in_box.setVisible(waiting)

    def open_client_help(self) -> None:
        """Google Cloud Console's credentials page, where the OAuth client is made."""
        QDesktopServices.openUrl(QUrl(OAUTH_CLIENT_HELP))

    def choose_client_file(self) -> Path | None:
        """Ask for the OAuth client's JSON (a file dialog; tests replace it)."""
        folder = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DownloadLocation) or str(Path.home())
        chosen, _filter = QFileDialog.getOpenFileName(
            self, "Choose the OAuth client (Desktop app) JSON from your Google Cloud project",
            folder, "OAuth client JSON (*.json);;All files (*)")
        return Path(chosen) if chosen else None

    def connect_account(self, choose_file: bool = False) -> None:
        """Connect an account: the client file the first time (or when asked), then Google's
        sign-in in the browser, in a worker; this waits with the address and Cancel."""
        if self._sign_in is not None:
            return
        state = self.state
        if not choose_file and "has_client" not in state:
            publishing = self.services.publishing

            def known(has_client: bool) -> None:
                self.state = {**self.state, "has_client": bool(has_client)}
                self.connect_account()

            self.runner.submit(publishing.has_client, known,
                               lambda message: self._show(message, True))
            return
        path = None
        if choose_file or not state.get("has_client"):
            path = self.choose_client_file()
            if path is None:
                return
        sign_in = _SignIn()
        self._sign_in = sign_in
        self.sign_in_url_edit.clear()
        self.sign_in_copy_button.setEnabled(False)
        self.sign_in_hint.setText("If no browser opened, open this address in one:")
        self._show()
        publishing = self.services.publishing
        runner = self.runner

        def on_url(url: str) -> None:  # on the worker, once the loopback port listens
            sign_in.url = url
            if sign_in.cancelled.is_set():
                _end_sign_in_soon(url)
            else:
                runner.call_soon(self._sign_in_address, sign_in, url)

        def work() -> str:
            channel = publishing.connect(path, open_browser=True, on_url=on_url,
                                         timeout_seconds=SIGN_IN_TIMEOUT)
            return channel.title

        runner.submit(work, lambda title: self._signed_in(sign_in, title),
                      lambda message: self._sign_in_failed(sign_in, message))

    def _sign_in_address(self, sign_in: _SignIn, url: str) -> None:
        if sign_in is not self._sign_in:
            return
        self.sign_in_url_edit.setText(url)
        self.sign_in_url_edit.setCursorPosition(0)
        self.sign_in_copy_button.setEnabled(True)

    def copy_sign_in_url(self) -> None:
        text = self.sign_in_url_edit.text()
        if text:
            QGuiApplication.clipboard().setText(text)
            self.sign_in_hint.setText("Copied: paste the address into your browser's address "
                                      "bar.")

    def _signed_in(self, sign_in: _SignIn, title: str) -> None:
        if sign_in is not self._sign_in:  # cancelled here, but finished in the browser
            self.load_status()
            return
        self._sign_in = None
        self.state = {"has_client": True, "connected": True, "channel": title}
        self._show()
        self.connected.emit(title)

    def _sign_in_failed(self, sign_in: _SignIn, message: str) -> None:
        if sign_in is not self._sign_in:
            return  # the user cancelled: this is the wait ending
        self._sign_in = None
        self._show(message, True)

    def cancel_sign_in(self) -> None:
        """Stop waiting for the browser; the worker's wait is ended too (see end_sign_in_wait)."""
        sign_in = self._sign_in
        if sign_in is None:
            return
        self._sign_in = None
        sign_in.cancelled.set()
        if sign_in.url:
            _end_sign_in_soon(sign_in.url)
        state = self.state
        if state.get("connected") and state.get("channel"):
            text = f"Sign-in cancelled; still connected to “{state['channel']}”."
        elif state.get("connected"):
            text = "Sign-in cancelled; the account connected before stays connected."
        else:
            text = "Sign-in cancelled; no YouTube account is connected."
        self._show(text)

    def disconnect_account(self) -> None:
        channel = self.state.get("channel")
        what = f"the YouTube channel “{channel}”" if channel else "the YouTube account"
        answer = QMessageBox.question(
            self, "Disconnect YouTube",
            f"Disconnect {what}? Google is asked to revoke this app's access and the sign-in "
            "is forgotten; videos already published stay on YouTube. Publishing needs the "
            "account connected again.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        publishing = self.services.publishing
        self.disconnect_button.setEnabled(False)
        self.status.setText("Disconnecting…")
        self.status.setStyleSheet("")

        def done(note: str | None) -> None:
            self.state = {**self.state, "connected": False, "channel": None, "problem": None}
            self._show("Disconnected: no YouTube account is connected."
                       + (f" {note}" if note else ""))

        def failed(message: str) -> None:
            self._show(message, True)

        self.runner.submit(publishing.disconnect, done, failed)
