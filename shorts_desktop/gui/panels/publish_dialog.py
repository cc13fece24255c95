"""The confirmation before a Short goes to YouTube: title, privacy, channel, a schedule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import (
    QDateTime,
    Qt,
)
from PySide6.QtGui import (
    QPixmap,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from shorts_desktop.gui.fonts import with_emoji

PUBLISH_PICTURE_HEIGHT = 112
#: How long a new schedule is ahead by default, and at least (the core checks it too).
SCHEDULE_AHEAD_SECONDS = 24 * 3600
SCHEDULE_MIN_SECONDS = 5 * 60


class PublishDialog(QDialog):
    """Asks before a Short goes to YouTube: its title, who may see it, the channel it goes
    to, and (for a private video) an optional time at which YouTube makes it public."""

    def __init__(self, job: dict[str, Any], channel: str, after: str, *, resume: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("publishDialog")
        self.setWindowTitle("Resume the upload to YouTube" if resume else "Publish on YouTube")
        self.job = job
        self.resume = resume
        privacy = str(job.get("privacy") or "private")

        def value(text: str, name: str, accessible: str) -> QLabel:
            label = QLabel(text)
            label.setObjectName(name)
            label.setAccessibleName(accessible)
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            return label

        self.title_label = value(str(job["title"]), "publishTitle", "Title on YouTube")
        font = with_emoji(self.title_label.font())
        font.setBold(True)
        self.title_label.setFont(font)
        self.privacy_label = value(privacy.capitalize(), "publishPrivacy", "Who can see it")
        self.channel_label = value(channel or "(a channel without a name)", "publishChannel",
                                   "YouTube channel")

        self.schedule_box = QCheckBox("Sc&hedule: make it public at", self)
        self.schedule_box.setObjectName("publishSchedule")
        self.schedule_box.setAccessibleName("Schedule the video")
        self.schedule_edit = QDateTimeEdit(self)
        self.schedule_edit.setObjectName("publishAt")
        self.schedule_edit.setAccessibleName("Time at which YouTube makes the video public")
        self.schedule_edit.setCalendarPopup(True)
        self.schedule_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        now = QDateTime.currentDateTime()
        ahead = now.addSecs(SCHEDULE_AHEAD_SECONDS)
        ahead.setTime(ahead.time().addSecs(-ahead.time().second()))
        self.schedule_edit.setMinimumDateTime(now.addSecs(SCHEDULE_MIN_SECONDS))
        self.schedule_edit.setDateTime(ahead)
        self.schedule_edit.setToolTip("Your computer's local time")
        self.schedule_edit.setEnabled(False)
        self.schedule_box.toggled.connect(self.schedule_edit.setEnabled)
        self.schedule_box.toggled.connect(self._update_button)
        if privacy == "private":
            self.schedule_box.setToolTip(
                "Upload it private now; YouTube makes it public at this time")
        else:
            self.schedule_box.setEnabled(False)
            self.schedule_box.setToolTip(
                f"Only a private video can be scheduled; this job is {privacy}, so it is "
                f"{privacy} as soon as it is uploaded")
        schedule_row = QHBoxLayout()
        schedule_row.addWidget(self.schedule_box)
        schedule_row.addWidget(self.schedule_edit, 1)

        form = QFormLayout()
        form.addRow("Title:", self.title_label)
        form.addRow("Privacy:", self.privacy_label)
        form.addRow("Channel:", self.channel_label)
        if not resume:
            form.addRow("", schedule_row)
        else:
            self.schedule_box.hide()
            self.schedule_edit.hide()
        self.note = QLabel(
            ("The upload continues from what YouTube already has. " if resume else "")
            + f"Once it is on YouTube, {after}."
        )
        self.note.setObjectName("publishNote")
        self.note.setWordWrap(True)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.publish_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.publish_button.setObjectName("publishConfirm")
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setAccessibleName("Do not publish")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._update_button()
        top = QHBoxLayout()
        self.picture = QLabel()
        self.picture.setObjectName("publishPicture")
        pixmap = QPixmap()
        if job.get("thumbnail") and pixmap.loadFromData(bytes(job["thumbnail"])):
            self.picture.setPixmap(pixmap.scaledToHeight(
                PUBLISH_PICTURE_HEIGHT, Qt.TransformationMode.SmoothTransformation))
            self.picture.setAccessibleName("Picture of the Short")
            top.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignTop)
            top.addSpacing(12)
        top.addLayout(form, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)
        self.setTabOrder(self.schedule_box, self.schedule_edit)
        self.setTabOrder(self.schedule_edit, self.publish_button)
        self.resize(460, self.sizeHint().height())

    def _update_button(self, *_args: object) -> None:
        if self.resume:
            text, name = "&Resume upload", "Resume the upload to YouTube"
        elif self.schedule_box.isChecked():
            text, name = "&Schedule", "Upload and schedule the video"
        else:
            text, name = "&Publish", "Publish on YouTube"
        self.publish_button.setText(text)
        self.publish_button.setAccessibleName(name)

    def publish_at(self) -> datetime | None:
        """The chosen publish time (aware, UTC), or None to publish at once."""
        if self.resume or not self.schedule_box.isChecked():
            return None
        return datetime.fromtimestamp(self.schedule_edit.dateTime().toSecsSinceEpoch(), UTC)
