"""The Settings panel: profiles, every setting with where its value comes from, credentials
for the keyring, encryption and storage class, the bucket policy, and a connection test.

The YouTube group shows the channel Shorts are published to and signs in
(`youtube_account.py`); below it are the publish settings (category, language, made for
kids, what is kept afterwards).

Values set by the environment or `.env` win over the settings file, so those fields are
read-only here with a note. Saving validates through the core (`save_settings_file`),
writes only what changed to the active profile, rebuilds the services in a worker and
emits `services_changed`. Switching profile does the same through the profiles service
(core/services/profiles.py, which the CLI uses too), so bucket, endpoint and credentials
change together (its dialogs: `settings_dialogs.py`). Secrets never go to the settings
file: they go to the OS keyring, through that same service (the OpenAI key's row:
`openai_key.py`). The plain fields (text, numbers, switches, choices) are built from the
Settings metadata in core/config.py: labels, tooltips, placeholders and ranges live there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QIcon,
    QPainter,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from shorts_desktop.core.config import (
    STORAGE_CLASSES,
    Settings,
    save_settings_file,
    setting_info,
)
from shorts_desktop.core.errors import ShortsError
from shorts_desktop.core.services.profiles import DeletedProfile, ProfileService
from shorts_desktop.core.storage.base import CheckResult
from shorts_desktop.core.units import plural
from shorts_desktop.gui.format import tilde
from shorts_desktop.gui.panels.base import (
    EmptyHint,
    Panel,
    heading,
    name_clear_button,
    ok_style,
    problem_style,
)
from shorts_desktop.gui.panels.openai_key import OpenAIKey
from shorts_desktop.gui.panels.settings_dialogs import BucketPolicyDialog, NewProfileDialog
from shorts_desktop.gui.panels.youtube_account import YouTubeAccount

if TYPE_CHECKING:
    from shorts_desktop.app import Services
    from shorts_desktop.gui.tasks import TaskRunner

SOURCE_WORDS = {
    "environment": "environment",
    ".env": ".env file",
    "settings file": "settings file",
    "default": "default",
}
READ_ONLY_SOURCES = ("environment", ".env")
AFTER_PUBLISH_WORDS = (
    ("delete", "Temporary inputs are deleted"),
    ("promote", "Temporary inputs are made permanent"),
    ("keep", "Temporary inputs are kept"),
)
#: The common YouTube video categories (id, name); another id set elsewhere is shown too.
YOUTUBE_CATEGORIES = (
    ("1", "Film & Animation"),
    ("2", "Autos & Vehicles"),
    ("10", "Music"),
    ("15", "Pets & Animals"),
    ("17", "Sports"),
    ("19", "Travel & Events"),
    ("20", "Gaming"),
    ("22", "People & Blogs"),
    ("23", "Comedy"),
    ("24", "Entertainment"),
    ("25", "News & Politics"),
    ("26", "Howto & Style"),
    ("27", "Education"),
    ("28", "Science & Technology"),
)
ADDRESSING_WORDS = {
    "auto": "Automatic",
    "path": "Path style (MinIO, most local servers)",
    "virtual": "Virtual-hosted style (AWS)",
}
ENCRYPTION_WORDS = {
    "none": "None",
    "AES256": "SSE-S3 (AES256)",
    "aws:kms": "SSE-KMS (aws:kms)",
}
PART_CHECKSUM_WORDS = {
    "auto": "Automatic (CRC32C on AWS, MD5 elsewhere)",
    "crc32c": "CRC32C: fastest",
    "crc32": "CRC32: fast",
    "md5": "MD5: every S3 service",
    "sha256": "SHA-256",
}
STORAGE_CLASS_WORDS = {
    "STANDARD": "Standard: read often",
    "INTELLIGENT_TIERING": "Intelligent-Tiering: automatic",
    "STANDARD_IA": "Standard-IA: read rarely",
    "ONEZONE_IA": "One Zone-IA: read rarely, one site",
    "GLACIER_IR": "Glacier IR: archive, still instant",
}
STORAGE_CLASS_DETAILS = {
    "STANDARD": "The default: no minimum storage time, no fee per read.",
    "INTELLIGENT_TIERING": "S3 moves each file to a cheaper tier when it is not read for "
                           "a while, for a small monthly fee per file.",
    "STANDARD_IA": "Cheaper to keep, a fee per read; kept at least 30 days.",
    "ONEZONE_IA": "Cheaper still, kept in one availability zone only; a fee per read, "
                  "kept at least 30 days.",
    "GLACIER_IR": "Cheapest to keep and still read at once, with a higher fee per read; "
                  "kept at least 90 days.",
}
#: Settings that only matter when files go to S3 (disabled for the local library).
S3_ONLY = ("S3_BUCKET_NAME", "AWS_REGION", "S3_ENDPOINT_URL", "S3_ADDRESSING_STYLE",
           "S3_SERVER_SIDE_ENCRYPTION", "S3_STORAGE_CLASS")
PROFILE_VARIABLE = "SHORTS_DESKTOP_PROFILE"
TTS_WORDS = (
    ("espeak", "Offline voice (eSpeak NG)"),
    ("openai", "OpenAI voice"),
    ("none", "Keep the original audio"),
)
REFRAME_WORDS = (
    ("blur", "Blurred background"),
    ("fit", "Fit with black bars"),
    ("crop", "Crop to fill"),
)
#: Settings that take effect without rebuilding the services (nothing is restarted).
LIVE_VARIABLES = frozenset({"SHORTS_DESKTOP_BANDWIDTH_LIMIT", "SHORTS_DESKTOP_AUTO_PROCESS"})
_TRUE = ("1", "true", "yes", "on")


def _dot(color: str) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(QColor(color)))
    painter.drawEllipse(1, 1, 12, 12)
    painter.end()
    return QIcon(pixmap)


class Field:
    """One setting: its variable, its widget, how to read and show its value."""

    def __init__(self, variable: str, label: str, widget: QWidget,
                 read: Callable[[], str], show: Callable[[str], None], tooltip: str) -> None:
        self.variable = variable
        self.widget = widget
        self.read = read
        self.show = show
        self.label = QLabel(label)
        self.label.setBuddy(widget)
        self.source = QLabel()
        self.source.setObjectName(f"source_{variable}")
        self.source.setAccessibleName(f"Where {variable} comes from")
        widget.setObjectName(f"setting_{variable}")
        widget.setAccessibleName(label.replace("&", "").rstrip(":"))
        widget.setToolTip(f"{tooltip}\nVariable: {variable}")
        self.original = ""
        self.read_only = False

    def load(self, settings: Settings) -> None:
        self.original = settings.as_variables()[self.variable]
        self.show(self.original)
        source = settings.sources.get(self.variable, "default")
        self.read_only = source in READ_ONLY_SOURCES
        words = SOURCE_WORDS.get(source, source)
        if self.read_only:
            where = "the environment" if source == "environment" else "the .env file"
            self.source.setText(f"from {words} (read-only)")
            self.source.setToolTip(
                f"{self.variable} is set in {where}, which wins over this form; change it there."
            )
        else:
            self.source.setText(f"from {words}")
            self.source.setToolTip(f"The current value comes from the {words}.")
        self.source.setStyleSheet("font-style: italic;" if self.read_only else "")
        if isinstance(self.widget, QLineEdit):
            self.widget.setReadOnly(self.read_only)
            self.widget.setClearButtonEnabled(not self.read_only)
            name_clear_button(self.widget)
        else:
            self.widget.setEnabled(not self.read_only)

    def changed(self) -> bool:
        return not self.read_only and self.read() != self.original


def _line(placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setPlaceholderText(placeholder)
    edit.setClearButtonEnabled(True)
    return edit


def _combo() -> QComboBox:
    """A combo box that may shrink below its longest choice (then it elides), so the form fits."""
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(14)
    return combo


class _ResultsList(QListWidget):
    """The connection test's results: asks for little height, grows with the space it gets;
    before a test, says what the test checks (`EmptyHint`)."""

    def __init__(self) -> None:
        super().__init__()
        self._hint = EmptyHint(self, "", "checkResultsHint",
                               Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

    @property
    def placeholder(self) -> str:
        return self._hint.text()

    def set_placeholder(self, text: str) -> None:
        self._hint.setText(text)
        self.setAccessibleDescription(text)

    def sizeHint(self) -> QSize:
        return QSize(240, 110)


class SettingsPanel(Panel):
    """Storage, transfer and cleanup settings; credentials; connection test."""

    title = "Settings"
    object_name = "settingsPanel"

    #: Emitted with the rebuilt Services after settings or credentials were saved.
    services_changed = Signal(object)
    #: Emitted with the channel's name after a YouTube account was connected here.
    youtube_connected = Signal(str)

    def __init__(self, services: Services, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(services, runner, parent)
        self.fields: dict[str, Field] = {}
        self._busy = False
        self.check_results: list[CheckResult] = []
        self.profiles: list[str] = []
        self.policy_dialog: BucketPolicyDialog | None = None
        #: Titles of the Shorts the window is making (wired by the main window): saving
        #: settings starts them again, so the user is asked first.
        self.shorts_in_progress: Callable[[], list[str]] = list
        #: Titles of the Shorts the window is uploading to YouTube (wired by the main
        #: window): new services stop those uploads, so the user is asked first.
        self.youtube_uploads: Callable[[], list[str]] = list

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        body = QWidget()
        columns = QHBoxLayout(body)
        columns.setContentsMargins(0, 0, 0, 0)
        left = QVBoxLayout()
        left.addWidget(self._build_storage_box())
        left.addWidget(self._build_credentials_box())
        left.addWidget(self._build_shorts_box())
        left.addWidget(self._build_youtube_box())
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self._build_transfer_box())
        right.addWidget(self._build_security_box())
        right.addWidget(self._build_connection_box(), 1)
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)
        scroll.setWidget(body)

        self.save_button = QPushButton("&Save settings")
        self.save_button.setObjectName("saveSettings")
        self.save_button.setAccessibleName("Save settings")
        self.save_button.setToolTip("Check and save the changed settings, then use them")
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton("&Undo changes")
        self.revert_button.setObjectName("revertSettings")
        self.revert_button.setAccessibleName("Revert the form to the settings in use")
        self.revert_button.setToolTip("Show the settings in use again, dropping your changes")
        self.revert_button.clicked.connect(self.refresh)
        self.message = QLabel()
        self.message.setObjectName("settingsMessage")
        self.message.setAccessibleName("Settings message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.message, 1)

        self.env_note = QLabel()
        self.env_note.setObjectName("settingsEnvNote")
        self.env_note.setWordWrap(True)
        self.file_note = QLabel()
        self.file_note.setObjectName("settingsFileNote")
        self.file_note.setWordWrap(True)
        self.file_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = self.page_layout()
        layout.addWidget(heading(self.title))
        layout.addLayout(self._build_profile_row())
        layout.addWidget(self.file_note)
        layout.addWidget(self.env_note)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        self.refresh()

    # -- construction -----------------------------------------------------------------------

    def _add(self, grid: QGridLayout, field: Field) -> Field:
        row = grid.rowCount()
        grid.addWidget(field.label, row, 0)
        grid.addWidget(field.widget, row, 1)
        grid.addWidget(field.source, row, 2)
        self.fields[field.variable] = field
        return field

    @staticmethod
    def _grid(box: QGroupBox) -> QGridLayout:
        grid = QGridLayout(box)
        grid.setColumnStretch(1, 1)
        grid.setHorizontalSpacing(10)
        return grid

    # Labels, tooltips, placeholders, ranges and units come from the Settings metadata
    # (core/config.py `setting_info`), so the form and the validation never disagree.

    def _text_field(self, variable: str) -> Field:
        info = setting_info(variable)
        edit = _line(info.placeholder)
        return Field(variable, info.label, edit, lambda: edit.text().strip(), edit.setText,
                     info.help)

    def _text(self, grid: QGridLayout, variable: str) -> QLineEdit:
        field = self._add(grid, self._text_field(variable))
        assert isinstance(field.widget, QLineEdit)
        return field.widget

    def _choice(self, grid: QGridLayout, variable: str,
                words: Callable[[str], str] | tuple[tuple[str, str], ...]) -> QComboBox:
        """A choice of the setting's values, in its order, each shown in `words`."""
        info = setting_info(variable)
        combo = _combo()
        if callable(words):
            choices = tuple((value, words(value)) for value in info.choices)
        else:
            choices = words
            assert sorted(v for v, _ in choices) == sorted(info.choices), variable
        for value, text in choices:
            combo.addItem(text, value)

        def show(value: str) -> None:
            combo.setCurrentIndex(max(0, combo.findData(value)))

        self._add(grid, Field(variable, info.label, combo, lambda: str(combo.currentData()),
                              show, info.help))
        return combo

    def _int(self, grid: QGridLayout, variable: str) -> QSpinBox:
        """A whole number, shown in the unit its metadata names (MiB, KiB/s...)."""
        info = setting_info(variable)
        scale = info.scale
        spin = QSpinBox()
        spin.setRange(int(info.low) // scale, int(info.high) // scale)
        spin.setSuffix(info.unit)
        spin.setGroupSeparatorShown(True)
        spin.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)

        def show(value: str) -> None:
            spin.setValue(round(int(value) / scale))

        def read() -> str:
            field = self.fields[variable]
            if round(int(field.original or 0) / scale) == spin.value():
                return field.original  # unchanged (the stored value may not be whole units)
            return str(spin.value() * scale)

        self._add(grid, Field(variable, info.label, spin, read, show, info.help))
        return spin

    def _number(self, grid: QGridLayout, variable: str) -> QDoubleSpinBox:
        """A number with one decimal (the cleanup's hours)."""
        info = setting_info(variable)
        spin = QDoubleSpinBox()
        spin.setRange(info.low, info.high)
        spin.setDecimals(1)
        spin.setSuffix(info.unit)

        def read() -> str:
            field = self.fields[variable]
            try:
                if abs(float(field.original) - spin.value()) < 0.05:
                    return field.original  # unchanged (the stored spelling may be "24.0")
            except ValueError:
                pass
            return f"{spin.value():g}"

        self._add(grid, Field(variable, info.label, spin, read,
                              lambda value: spin.setValue(float(value)), info.help))
        return spin

    def _build_profile_row(self) -> QHBoxLayout:
        self.profile_combo = QComboBox()
        self.profile_combo.setObjectName("profileCombo")
        self.profile_combo.setAccessibleName("Active profile")
        self.profile_combo.setToolTip("Each profile has its own bucket, endpoint, settings and "
                                      "access key; choosing one uses it at once")
        self.profile_combo.setMinimumContentsLength(16)
        self.profile_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.profile_combo.currentIndexChanged.connect(self._profile_chosen)
        label = QLabel("Pro&file:")
        label.setBuddy(self.profile_combo)
        self.new_profile_button = QPushButton("&New profile…")
        self.new_profile_button.setObjectName("newProfile")
        self.new_profile_button.setAccessibleName("New profile")
        self.new_profile_button.setToolTip("Create a profile, optionally from this one's "
                                           "settings, and use it")
        self.new_profile_button.clicked.connect(self.new_profile)
        self.delete_profile_button = QPushButton("De&lete profile…")
        self.delete_profile_button.setObjectName("deleteProfile")
        self.delete_profile_button.setAccessibleName("Delete profile")
        self.delete_profile_button.setToolTip("Delete another profile, its settings and its "
                                              "access key in the keyring")
        self.delete_profile_button.clicked.connect(self.delete_profile)
        self.profile_note = QLabel()
        self.profile_note.setObjectName("profileNote")
        self.profile_note.setAccessibleName("Profile note")
        self.profile_note.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(label)
        row.addWidget(self.profile_combo)
        row.addWidget(self.new_profile_button)
        row.addWidget(self.delete_profile_button)
        row.addWidget(self.profile_note, 1)
        return row

    def _build_storage_box(self) -> QGroupBox:
        box = QGroupBox("Storage")
        grid = self._grid(box)
        self.mode_combo = _combo()
        self.mode_combo.setObjectName("storageMode")
        self.mode_combo.setAccessibleName("Where files are stored")
        self.mode_combo.setToolTip("Keep files in a folder on this computer, or in an S3 bucket")
        self.mode_combo.addItem("Local library on this computer", "local")
        self.mode_combo.addItem("S3 bucket", "s3")
        self.mode_combo.currentIndexChanged.connect(self._mode_changed)
        mode_label = QLabel("St&ore files in:")
        mode_label.setBuddy(self.mode_combo)
        self.mode_source = QLabel()
        self.mode_source.setObjectName("storageModeSource")
        grid.addWidget(mode_label, 0, 0)
        grid.addWidget(self.mode_combo, 0, 1)
        grid.addWidget(self.mode_source, 0, 2)

        self.bucket_edit = self._text(grid, "S3_BUCKET_NAME")
        for variable in ("AWS_REGION", "S3_ENDPOINT_URL"):
            self._text(grid, variable)
        self._choice(grid, "S3_ADDRESSING_STYLE", lambda s: ADDRESSING_WORDS.get(s, s))
        for variable in ("S3_TEMP_PREFIX", "S3_VIDEOS_PREFIX", "S3_TRANSCRIPTS_PREFIX",
                         "S3_PROCESSED_PREFIX"):
            self._text(grid, variable)
        return box

    def _build_transfer_box(self) -> QGroupBox:
        box = QGroupBox("Links, transfers and cleanup")
        grid = self._grid(box)
        self._int(grid, "S3_PRESIGNED_URL_EXPIRY")
        self._int(grid, "S3_MULTIPART_THRESHOLD")
        self._number(grid, "S3_CLEANUP_TEMP_HOURS")
        self._int(grid, "SHORTS_DESKTOP_FILES_IN_FLIGHT")
        self._int(grid, "SHORTS_DESKTOP_PARTS_IN_FLIGHT")
        self._choice(grid, "S3_PART_CHECKSUM", lambda c: PART_CHECKSUM_WORDS.get(c, c))
        bandwidth = self._int(grid, "SHORTS_DESKTOP_BANDWIDTH_LIMIT")
        bandwidth.setSpecialValueText("Unlimited")
        return box

    def _build_security_box(self) -> QGroupBox:
        box = QGroupBox("Encryption, storage class and permissions")
        box.setObjectName("securityBox")
        grid = self._grid(box)
        self.encryption_combo = self._choice(
            grid, "S3_SERVER_SIDE_ENCRYPTION", lambda c: ENCRYPTION_WORDS.get(c, c))
        self.encryption_combo.currentIndexChanged.connect(self._mode_changed)
        self.kms_edit = self._text(grid, "S3_SSE_KMS_KEY_ID")
        self.storage_class_combo = self._choice(
            grid, "S3_STORAGE_CLASS", lambda c: STORAGE_CLASS_WORDS.get(c, c))
        for index, value in enumerate(STORAGE_CLASSES):
            self.storage_class_combo.setItemData(index, STORAGE_CLASS_DETAILS.get(value, ""),
                                                 Qt.ItemDataRole.ToolTipRole)
        self.policy_button = QPushButton("Bucket &policy…")
        self.policy_button.setObjectName("bucketPolicy")
        self.policy_button.setAccessibleName("Show the bucket policy")
        self.policy_button.clicked.connect(self.show_bucket_policy)
        grid.addWidget(self.policy_button, grid.rowCount(), 1, Qt.AlignmentFlag.AlignLeft)
        return box

    def _build_credentials_box(self) -> QGroupBox:
        box = QGroupBox("Credentials")
        box.setObjectName("credentialsBox")
        grid = QGridLayout(box)
        grid.setColumnStretch(1, 1)
        self.credentials_label = QLabel()
        self.credentials_label.setObjectName("credentialsSource")
        self.credentials_label.setAccessibleName("Where the credentials in use come from")
        self.credentials_label.setWordWrap(True)
        self.key_id_edit = _line("AKIA…")
        self.key_id_edit.setObjectName("accessKeyId")
        self.key_id_edit.setAccessibleName("Access key id")
        self.key_id_edit.setToolTip("The AWS access key id; it is saved in the OS keyring")
        self.secret_edit = _line()
        self.secret_edit.setObjectName("secretAccessKey")
        self.secret_edit.setAccessibleName("Secret access key")
        self.secret_edit.setToolTip("The AWS secret access key; it is saved in the OS keyring "
                                    "and never shown again")
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        key_label = QLabel("Access key id:")
        key_label.setBuddy(self.key_id_edit)
        secret_label = QLabel("Secret access key:")
        secret_label.setBuddy(self.secret_edit)
        self.keyring_button = QPushButton("Save to &keyring")
        self.keyring_button.setObjectName("saveToKeyring")
        self.keyring_button.setAccessibleName("Save the access key to the keyring")
        self.keyring_button.setToolTip("Store the access key in the OS keyring, then use it")
        self.keyring_button.clicked.connect(self.save_credentials)
        self.keyring_message = QLabel()
        self.keyring_message.setObjectName("keyringMessage")
        self.keyring_message.setWordWrap(True)

        self.profile_field = self._text_field("AWS_PROFILE")
        self.fields["AWS_PROFILE"] = self.profile_field

        grid.addWidget(self.credentials_label, 0, 0, 1, 3)
        grid.addWidget(key_label, 1, 0)
        grid.addWidget(self.key_id_edit, 1, 1, 1, 2)
        grid.addWidget(secret_label, 2, 0)
        grid.addWidget(self.secret_edit, 2, 1, 1, 2)
        grid.addWidget(self.keyring_button, 3, 1, Qt.AlignmentFlag.AlignLeft)
        grid.addWidget(self.keyring_message, 4, 0, 1, 3)
        grid.addWidget(self.profile_field.label, 5, 0)
        grid.addWidget(self.profile_field.widget, 5, 1)
        grid.addWidget(self.profile_field.source, 5, 2)
        return box

    def _switch(self, grid: QGridLayout, variable: str) -> QCheckBox:
        """A true/false setting as a check box spanning the label and field columns."""
        info = setting_info(variable)
        text = info.label
        check = QCheckBox(text)

        def show(value: str) -> None:
            check.setChecked(value.strip().lower() in _TRUE)

        def read() -> str:
            field = self.fields[variable]
            if (field.original.strip().lower() in _TRUE) == check.isChecked():
                return field.original  # unchanged (the stored spelling may be "True", "1")
            return "true" if check.isChecked() else "false"

        field = Field(variable, "", check, read, show, info.help)
        check.setAccessibleName(text.replace("&", ""))
        row = grid.rowCount()
        grid.addWidget(check, row, 0, 1, 2)
        grid.addWidget(field.source, row, 2)
        self.fields[variable] = field
        return check

    def _build_shorts_box(self) -> QGroupBox:
        box = QGroupBox("Making Shorts")
        box.setObjectName("shortsBox")
        grid = self._grid(box)
        self.auto_process_box = self._switch(grid, "SHORTS_DESKTOP_AUTO_PROCESS")
        self.tts_combo = self._choice(grid, "SHORTS_DESKTOP_TTS", TTS_WORDS)
        self.captions_box = self._switch(grid, "SHORTS_DESKTOP_CAPTIONS")
        self.reframe_combo = self._choice(grid, "SHORTS_DESKTOP_REFRAME", REFRAME_WORDS)
        self.max_seconds_spin = self._int(grid, "SHORTS_DESKTOP_MAX_SECONDS")

        self.openai_key = OpenAIKey(self.runner, lambda: self.services, self.profile_service)
        row = grid.rowCount()
        grid.addWidget(self.openai_key.label, row, 0)
        grid.addLayout(self.openai_key.row, row, 1, 1, 2)
        grid.addWidget(self.openai_key.message, row + 1, 1, 1, 2)
        self.openai_url_edit = self._text(grid, "OPENAI_BASE_URL")
        return box

    def _build_youtube_box(self) -> QGroupBox:
        box = QGroupBox("YouTube")
        box.setObjectName("youtubeBox")
        grid = self._grid(box)
        self.youtube_account = YouTubeAccount(self.services, self.runner)
        self.youtube_account.connected.connect(self.youtube_connected)
        account_label = QLabel("Account:")
        account_label.setBuddy(self.youtube_account.status)
        grid.addWidget(account_label, 0, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.youtube_account, 0, 1, 1, 2)

        category = _combo()
        for value, words in YOUTUBE_CATEGORIES:
            category.addItem(words, value)

        def show_category(value: str) -> None:
            index = category.findData(value)
            if index < 0 and value:
                category.addItem(f"Category {value}", value)
                index = category.count() - 1
            category.setCurrentIndex(max(0, index))

        self.youtube_category_combo = category
        info = setting_info("SHORTS_DESKTOP_YOUTUBE_CATEGORY")
        self._add(grid, Field(info.variable, info.label, category,
                              lambda: str(category.currentData()), show_category, info.help))
        self.youtube_language_edit = self._text(grid, "SHORTS_DESKTOP_YOUTUBE_LANGUAGE")
        self.made_for_kids_box = self._switch(grid, "SHORTS_DESKTOP_MADE_FOR_KIDS")
        self.keep_processed_box = self._switch(grid, "SHORTS_DESKTOP_KEEP_PROCESSED")
        self.after_publish_combo = self._choice(grid, "SHORTS_DESKTOP_AFTER_PUBLISH",
                                                AFTER_PUBLISH_WORDS)
        return box

    # -- YouTube ----------------------------------------------------------------------------

    def set_services(self, services: Services) -> None:
        super().set_services(services)
        self.youtube_account.set_services(services)

    def connect_youtube(self) -> None:
        """Connect a YouTube account (the Jobs panel's Publish asked for one)."""
        self.youtube_account.connect_account()

    def shutdown(self) -> None:
        """The window closes: a sign-in waiting for the browser ends now."""
        self.youtube_account.cancel_sign_in()

    def _youtube_uploads_may_stop(self, what: str) -> bool:
        """Ask first when Shorts go to YouTube: new services stop those uploads."""
        uploading = self.youtube_uploads()
        if not uploading:
            return True
        names = "“" + "”, “".join(uploading[:3]) + "”" + (" and more" if len(uploading) > 3
                                                          else "")
        one = len(uploading) == 1
        answer = QMessageBox.question(
            self, "Uploading to YouTube",
            f"{names} {'is' if one else 'are'} being uploaded to YouTube. {what} stops "
            f"{'the upload' if one else 'the uploads'}; Resume upload in the Jobs panel "
            "continues from what YouTube has received.\n\nContinue?",
        )
        return answer == QMessageBox.StandardButton.Yes

    def _build_connection_box(self) -> QGroupBox:
        box = QGroupBox("Connection")
        self.test_button = QPushButton("&Test connection")
        self.test_button.setObjectName("testConnection")
        self.test_button.setAccessibleName("Test connection")
        self.test_button.setToolTip(
            "Check the credentials, the bucket, its region and each permission the app needs"
        )
        self.test_button.clicked.connect(self.test_connection)
        self.test_summary = QLabel("Not tested yet.")
        self.test_summary.setObjectName("testSummary")
        self.test_summary.setWordWrap(True)
        self.results_list = _ResultsList()
        self.results_list.setObjectName("checkResults")
        self.results_list.setAccessibleName("Connection test results")
        self.results_list.setWordWrap(True)
        self.results_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.test_summary, 1)
        layout = QVBoxLayout(box)
        layout.addLayout(row)
        layout.addWidget(self.results_list, 1)
        return box

    # -- showing the settings in use --------------------------------------------------------

    def refresh(self) -> None:
        """Show the settings and credentials the services use now (no disk access)."""
        settings = self.services.settings
        for field in self.fields.values():
            field.load(settings)
        bucket = self.fields["S3_BUCKET_NAME"]
        self.mode_combo.blockSignals(True)
        self.mode_combo.setCurrentIndex(1 if settings.uses_s3 else 0)
        self.results_list.set_placeholder(
            "The test checks the credentials, the bucket and its region, then lists, writes, "
            "reads, tags and deletes a small test object, and reads the bucket's encryption: "
            "a line each, here." if settings.uses_s3 else
            "The test checks the library folder and its free space, then writes, reads and "
            "deletes a small test file there: a line each, here.")
        self.mode_combo.blockSignals(False)
        self.mode_combo.setEnabled(not bucket.read_only)
        self.mode_source.setText(bucket.source.text())
        self._mode_changed()
        env_set = sorted(f.variable for f in self.fields.values() if f.read_only)
        self.env_note.setText(
            "Set outside this form and read-only here: " + ", ".join(env_set) + "."
            if env_set else ""
        )
        self.env_note.setVisible(bool(env_set))
        self.file_note.setText(
            f"The settings of profile “{settings.profile}” are saved in "
            f"{tilde(str(self.services.paths.settings_file))}"
        )
        credentials = self.services.credentials
        text = f"Credentials in use for profile “{settings.profile}”: {credentials.source}."
        if credentials.source.endswith("variables"):
            text += " Variables apply to every profile."
        if not settings.uses_s3:
            text += " The local library needs none; they are used once files go to S3."
        elif credentials.keyring_problem:
            text += f" {credentials.keyring_problem}"
        self.credentials_label.setText(text)
        self._show_profile(bool(credentials.keyring_problem or settings.aws_profile))
        if settings.bucket_name:
            self.policy_button.setEnabled(True)
            self.policy_button.setToolTip(
                f"The least-privilege IAM policy for {settings.bucket_name}, to copy")
        else:
            self.policy_button.setEnabled(False)
            self.policy_button.setToolTip(
                "No bucket is in use yet: save a bucket name first, the policy is written "
                "for one bucket")
        self._show_profiles([settings.profile])
        self._load_profiles()
        self.openai_key.load()

    def _show_profile(self, visible: bool) -> None:
        for widget in (self.profile_field.label, self.profile_field.widget,
                       self.profile_field.source):
            widget.setVisible(visible)

    def _mode_changed(self, *_args: object) -> None:
        s3 = self.mode_combo.currentData() == "s3"
        for variable in S3_ONLY:
            field = self.fields[variable]
            field.label.setEnabled(s3)
            if not field.read_only:
                field.widget.setEnabled(s3)
        kms = s3 and self.encryption_combo.currentData() == "aws:kms"
        kms_field = self.fields["S3_SSE_KMS_KEY_ID"]
        kms_field.label.setEnabled(kms)
        kms_field.widget.setEnabled(kms)

    # -- saving -----------------------------------------------------------------------------

    def changed_variables(self) -> dict[str, str]:
        variables = {f.variable: f.read() for f in self.fields.values() if f.changed()}
        bucket = self.fields["S3_BUCKET_NAME"]
        if not bucket.read_only and self.mode_combo.currentData() == "local":
            if bucket.original:
                variables["S3_BUCKET_NAME"] = ""
            else:
                variables.pop("S3_BUCKET_NAME", None)
        return variables

    def _say(self, text: str, problem: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(problem_style() if problem else "")

    def save(self) -> None:
        if self._busy:
            return
        if self.mode_combo.currentData() == "s3" and not self.bucket_edit.text().strip():
            self._say("Enter the bucket name (S3_BUCKET_NAME) to keep files in S3.", True)
            self.bucket_edit.setFocus()
            return
        variables = self.changed_variables()
        if not variables:
            self._say("Nothing has changed.")
            return
        paths = self.services.paths
        profile = self.services.settings.profile
        services = self.services
        live = set(variables) <= LIVE_VARIABLES
        if not live and not self._shorts_may_restart("Saving the settings"):
            return

        def work() -> Services:
            save_settings_file(paths, variables, profile)
            if live:  # running uploads and Shorts keep going (uploads at the new speed)
                services.apply_bandwidth_limit(services.rebuild_settings())
                return services
            return services.rebuild()

        self._set_busy(True)
        self._say("Saving…")
        self.runner.submit(work, lambda new: self._saved(new, "Settings saved and in use."),
                           self._failed)

    def _saved(self, services: Services, text: str) -> None:
        self._set_busy(False)
        self.services_changed.emit(services)
        if self.services is not services:  # not wired to a window: use them here
            self.set_services(services)
        self._say(text)

    def _failed(self, message: str) -> None:
        self._set_busy(False)
        self._say(message, True)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for button in (self.save_button, self.keyring_button, self.test_button,
                       self.revert_button):
            button.setEnabled(not busy)
        locked = self._profile_locked()
        for widget in (self.profile_combo, self.new_profile_button, self.delete_profile_button):
            widget.setEnabled(not busy and not locked)

    # -- profiles ---------------------------------------------------------------------------

    def _profile_locked(self) -> bool:
        return bool(self.services.environ.get(PROFILE_VARIABLE, "").strip())

    def profile_service(self) -> ProfileService:
        """Profiles and keys, as the services in use see them (their files, environment)."""
        services = self.services
        return ProfileService(services.paths, environ=services.environ, cwd=services.cwd)

    def _load_profiles(self) -> None:
        profiles = self.profile_service()

        def failed(message: str) -> None:
            self.profile_note.setText(message)
            self.profile_note.setStyleSheet(problem_style())

        self.runner.submit(lambda: profiles.profiles().names, self._show_profiles, failed)

    def _show_profiles(self, names: list[str]) -> None:
        """Fill the selector (the profile in use selected) and say why it is locked, if it is."""
        current = self.services.settings.profile
        self.profiles = sorted(set(names) | {current})
        self.profile_combo.blockSignals(True)
        self.profile_combo.clear()
        self.profile_combo.addItems(self.profiles)
        self.profile_combo.setCurrentIndex(self.profiles.index(current))
        self.profile_combo.blockSignals(False)
        locked = self._profile_locked()
        for widget in (self.profile_combo, self.new_profile_button, self.delete_profile_button):
            widget.setEnabled(not locked and not self._busy)
        self.profile_note.setStyleSheet("font-style: italic;" if locked else "")
        if locked:
            self.profile_note.setText(
                f"{PROFILE_VARIABLE} is set in the environment, so profile “{current}” is used "
                "(read-only); unset it to switch profiles here.")
        else:
            self.profile_note.setText("Bucket, endpoint, settings and access key switch "
                                      "together.")

    def _select_current_profile(self) -> None:
        self.profile_combo.blockSignals(True)
        self.profile_combo.setCurrentIndex(
            max(0, self.profile_combo.findText(self.services.settings.profile)))
        self.profile_combo.blockSignals(False)

    def _uploads_may_stop(self, what: str) -> bool:
        """Ask first when uploads are running: rebuilding the services stops them."""
        running = self.services.upload_queue.active_count()
        if running <= 0:
            return True
        answer = QMessageBox.question(
            self, "Uploads are running",
            f"{plural(running, 'upload')} {'is' if running == 1 else 'are'} running. {what} "
            f"stops {'it' if running == 1 else 'them'}; you can retry "
            f"{'it' if running == 1 else 'them'} afterwards.\n\nContinue?",
        )
        return answer == QMessageBox.StandardButton.Yes

    def _shorts_may_restart(self, what: str) -> bool:
        """Ask first when Shorts are being made: new services make them again from the start."""
        making = self.shorts_in_progress()
        if not making:
            return self._youtube_uploads_may_stop(what)
        names = "“" + "”, “".join(making[:3]) + "”" + (" and more" if len(making) > 3 else "")
        one = len(making) == 1
        answer = QMessageBox.question(
            self, "Shorts are being made",
            f"{names} {'is' if one else 'are'} being made. {what} stops "
            f"{'it' if one else 'them'}; {'it starts' if one else 'they start'} again from "
            "the beginning with the new settings.\n\nContinue?",
        )
        return answer == QMessageBox.StandardButton.Yes and self._youtube_uploads_may_stop(what)

    def _profile_chosen(self, index: int) -> None:
        name = self.profile_combo.itemText(index)
        if not name or name == self.services.settings.profile:
            return
        if self._busy or not self._uploads_may_stop(f"Switching to profile “{name}”") \
                or not self._shorts_may_restart(f"Switching to profile “{name}”"):
            self._select_current_profile()
            return
        self.switch_profile(name)

    def switch_profile(self, name: str, copy_from: str | None = None) -> None:
        """Make `name` active (created when new, from `copy_from`'s settings) and use it."""
        profiles = self.profile_service()
        rebuild = self.services.rebuild
        previous = self.services.settings.profile

        def work() -> Services:
            profiles.use(name, copy_from)
            try:
                return rebuild()
            except BaseException:
                profiles.use(previous)  # keep using what works; the sentence says why
                raise

        def done(services: Services) -> None:
            self.key_id_edit.clear()
            self.secret_edit.clear()
            self.keyring_message.clear()
            verb = "Created" if copy_from is not None or name not in self.profiles else "Using"
            self._saved(services, f"{verb} profile “{name}”: {services.storage.describe()}.")

        def failed(message: str) -> None:
            self._failed(message)
            self._select_current_profile()

        self._set_busy(True)
        self._say(f"Switching to profile “{name}”…")
        self.runner.submit(work, done, failed)

    def new_profile(self) -> None:
        if self._busy:
            return
        current = self.services.settings.profile
        dialog = NewProfileDialog(current, self.profiles, self)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.problem_text():
            return
        name = dialog.name
        if not self._uploads_may_stop(f"Switching to the new profile “{name}”") \
                or not self._shorts_may_restart(f"Switching to the new profile “{name}”"):
            return
        self.switch_profile(name, current if dialog.copy_box.isChecked() else None)

    def delete_profile(self) -> None:
        if self._busy:
            return
        current = self.services.settings.profile
        others = [p for p in self.profiles if p != current]
        if not others:
            self._say(f"There is no other profile to delete; the active profile “{current}” "
                      "cannot be deleted.", True)
            return
        name, ok = QInputDialog.getItem(
            self, "Delete profile",
            f"Profile to delete (the active profile “{current}” cannot be):", others, 0, False)
        if not ok or not name:
            return
        answer = QMessageBox.question(
            self, "Delete profile",
            f"Delete profile “{name}”, its settings and its access key in the OS keyring?"
            "\n\nThis cannot be undone; the files in its bucket are not touched.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        profiles = self.profile_service()

        def done(deleted: DeletedProfile) -> None:
            self._set_busy(False)
            problem = deleted.keyring_problem
            self._say(f"Profile “{name}” deleted." + (f" {problem}" if problem else ""),
                      bool(problem))
            self._load_profiles()

        self._set_busy(True)
        self._say(f"Deleting profile “{name}”…")
        self.runner.submit(lambda: profiles.delete(name), done, self._failed)

    # -- bucket policy ----------------------------------------------------------------------

    def show_bucket_policy(self) -> None:
        settings = self.services.settings
        try:
            dialog = BucketPolicyDialog(settings, self)
        except ShortsError as exc:
            self._say(str(exc), True)
            return
        if self.policy_dialog is not None:
            self.policy_dialog.deleteLater()
        self.policy_dialog = dialog
        dialog.open()

    # -- credentials ------------------------------------------------------------------------

    def save_credentials(self) -> None:
        if self._busy:
            return
        key_id = self.key_id_edit.text().strip()
        secret = self.secret_edit.text().strip()
        profiles = self.profile_service()
        profile = self.services.settings.profile
        rebuild = self.services.rebuild

        def work() -> Services:
            profiles.save_access_key(profile, key_id, secret)
            return rebuild()

        def done(services: Services) -> None:
            self.secret_edit.clear()
            self.keyring_message.setText("Saved in the OS keyring.")
            self.keyring_message.setStyleSheet(ok_style())
            self._saved(services, "Credentials saved and in use.")

        def failed(message: str) -> None:
            self._set_busy(False)
            self.keyring_message.setText(message)
            self.keyring_message.setStyleSheet(problem_style())
            if "keyring" in message.lower():
                self._show_profile(True)

        self._set_busy(True)
        self.keyring_message.setText("Saving…")
        self.keyring_message.setStyleSheet("")
        self.runner.submit(work, done, failed)

    # -- connection test --------------------------------------------------------------------

    def test_connection(self) -> None:
        if self._busy:
            return
        services = self.services
        self.test_button.setEnabled(False)
        self.results_list.clear()
        self.test_summary.setText(f"Testing {services.storage.describe()}…")
        self.test_summary.setStyleSheet("")
        self.runner.submit(services.check, self._tested, self._test_failed)

    def _tested(self, results: list[CheckResult]) -> None:
        self.test_button.setEnabled(not self._busy)
        self.check_results = list(results)
        passed, missing, warned = _dot("#2e7d32"), _dot("#d32f2f"), _dot("#ef6c00")
        for result in results:
            state = "Missing" if not result.ok else "Warning" if result.warning else "Passed"
            icon = missing if not result.ok else warned if result.warning else passed
            item = QListWidgetItem(icon, f"{state}: {result.name} — {result.detail}")
            item.setToolTip(result.detail)
            item.setData(Qt.ItemDataRole.AccessibleTextRole,
                         f"{result.name} {state.lower()}: {result.detail}")
            self.results_list.addItem(item)
        failures = [r for r in results if not r.ok]
        if failures:
            self.test_summary.setText(f"{len(failures)} of {len(results)} checks failed.")
            self.test_summary.setStyleSheet(problem_style())
        else:
            warnings = sum(r.warning for r in results)
            note = f" ({warnings} warning{'s' if warnings > 1 else ''})" if warnings else ""
            self.test_summary.setText(f"All {len(results)} checks passed{note}.")
            self.test_summary.setStyleSheet(ok_style())

    def _test_failed(self, message: str) -> None:
        self.test_button.setEnabled(not self._busy)
        self.test_summary.setText(message)
        self.test_summary.setStyleSheet(problem_style())

    def all_passed(self) -> bool:
        return bool(self.check_results) and all(r.ok for r in self.check_results)

    def current_variables(self) -> dict[str, Any]:
        return {f.variable: f.read() for f in self.fields.values()}
