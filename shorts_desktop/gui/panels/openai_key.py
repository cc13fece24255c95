"""The OpenAI API key in Settings: typed once, kept in the OS keyring for the profile.

The key is never shown again nor written to the settings file; what the row says is where
the key in use comes from (environment, `.env`, keyring, none). Reads and writes go through
the profiles service in a worker (a keyring may be slow to answer, or ask to be unlocked).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton

from shorts_desktop.core.credentials import KeyringUnavailable
from shorts_desktop.core.services.profiles import ProfileService
from shorts_desktop.gui.panels.base import name_clear_button, ok_style, problem_style

if TYPE_CHECKING:
    from shorts_desktop.app import Services
    from shorts_desktop.gui.tasks import TaskRunner


class OpenAIKey:
    """The key's widgets (`label`, `row`: the field with Save key and Clear, `message`),
    for a settings grid to place, and what they do."""

    def __init__(self, runner: TaskRunner, services: Callable[[], Services],
                 profiles: Callable[[], ProfileService]) -> None:
        self._runner = runner
        self._services = services  # the ones in use now: a profile switch changes them
        self._profiles = profiles
        #: Where the key comes from, as last read: environment, .env, keyring, none,
        #: no-keyring, problem ("" before the first read).
        self.state = ""

        self.edit = QLineEdit()
        self.edit.setPlaceholderText("sk-…")
        self.edit.setClearButtonEnabled(True)
        self.edit.setObjectName("openaiKey")
        self.edit.setAccessibleName("OpenAI API key")
        self.edit.setToolTip("The key for the OpenAI voice; it is saved in the OS keyring, "
                             "never in the settings file, and not shown again")
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        name_clear_button(self.edit)
        self.label = QLabel("OpenAI API key:")
        self.label.setBuddy(self.edit)
        self.save_button = QPushButton("Save key")
        self.save_button.setObjectName("saveOpenaiKey")
        self.save_button.setAccessibleName("Save the OpenAI API key to the keyring")
        self.save_button.setToolTip("Store the key in the OS keyring for this profile")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("clearOpenaiKey")
        self.clear_button.setAccessibleName("Remove the OpenAI API key from the keyring")
        self.clear_button.setToolTip("Remove the stored key from the OS keyring")
        self.clear_button.setEnabled(False)
        self.clear_button.clicked.connect(self.clear)
        self.edit.textChanged.connect(lambda text: self.save_button.setEnabled(bool(text.strip())))
        self.edit.returnPressed.connect(self.save)
        self.message = QLabel()
        self.message.setObjectName("openaiKeyMessage")
        self.message.setAccessibleName("Where the OpenAI API key is kept")
        self.message.setWordWrap(True)
        self.row = QHBoxLayout()
        self.row.addWidget(self.edit, 1)
        self.row.addWidget(self.save_button)
        self.row.addWidget(self.clear_button)

    def load(self) -> None:
        """Read where the key comes from for the profile in use (in a worker)."""
        profiles = self._profiles()
        profile = self._services().settings.profile

        def work() -> str:
            try:
                return profiles.openai_key_source(profile)
            except KeyringUnavailable:
                return "no-keyring"

        self._runner.submit(work, self._show, lambda message: self._show("problem", message))

    def _show(self, state: str, problem: str = "") -> None:
        self.state = state
        settings = self._services().settings
        wanted = settings.tts == "openai"
        style = ""
        if state == "environment":
            text = "OPENAI_API_KEY is set in the environment and is used; the keyring is not."
        elif state == ".env":
            text = "OPENAI_API_KEY is set in the .env file and is used; the keyring is not."
        elif state == "keyring":
            text = (f"A key is stored in the OS keyring for profile “{settings.profile}” "
                    "(not shown).")
            style = ok_style()
        elif state == "no-keyring":
            text = ("The OS keyring cannot be used here, so no key can be stored; set "
                    "OPENAI_API_KEY in the environment or a .env file instead.")
            style = problem_style() if wanted else ""
        elif state == "problem":
            text = problem
            style = problem_style()
        else:
            text = "No key is stored." + (" The OpenAI voice needs one." if wanted else "")
            style = problem_style() if wanted else ""
        self.message.setText(text)
        self.message.setStyleSheet(style)
        self.clear_button.setEnabled(state == "keyring")

    def save(self) -> None:
        key = self.edit.text().strip()
        if not key:
            return
        profiles = self._profiles()
        profile = self._services().settings.profile

        def work() -> str:
            try:
                profiles.save_openai_key(profile, key)
            except KeyringUnavailable:
                return "no-keyring"
            return "keyring"

        def done(state: str) -> None:
            if state == "keyring":
                self.edit.clear()
            self._show(state)

        self.message.setText("Saving…")
        self.message.setStyleSheet("")
        self._runner.submit(work, done, lambda message: self._show("problem", message))

    def clear(self) -> None:
        profiles = self._profiles()
        profile = self._services().settings.profile

        def work() -> str:
            try:
                profiles.clear_openai_key(profile)
            except KeyringUnavailable:
                return "no-keyring"
            return "none"

        self._runner.submit(work, self._show, lambda message: self._show("problem", message))
