"""The Settings panel's dialogs: a new profile's name, and the bucket's IAM policy to copy."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from shorts_desktop.core.config import Settings, check_profile_name
from shorts_desktop.core.errors import ShortsError
from shorts_desktop.core.services.policy import bucket_policy
from shorts_desktop.gui.panels.base import ok_style, problem_style


class NewProfileDialog(QDialog):
    """Asks the name of a new profile and whether it starts from the current one's settings."""

    def __init__(self, current: str, existing: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("newProfileDialog")
        self.setWindowTitle("New profile")
        self.existing = set(existing)
        intro = QLabel("A profile keeps its own bucket, endpoint, prefixes and access key, "
                       "for example a personal bucket and a client's R2 bucket.")
        intro.setWordWrap(True)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("client-r2")
        self.name_edit.setClearButtonEnabled(True)
        self.name_edit.setObjectName("newProfileName")
        self.name_edit.setAccessibleName("Name of the new profile")
        self.name_edit.setToolTip("1-40 letters, digits, '.', '_' or '-'")
        self.name_edit.setMaxLength(40)
        name_label = QLabel("&Name:")
        name_label.setBuddy(self.name_edit)
        self.copy_box = QCheckBox(f"Start from the settings of “{current}”")
        self.copy_box.setObjectName("newProfileCopy")
        self.copy_box.setAccessibleName(f"Copy the settings of profile {current}")
        self.copy_box.setToolTip("Copies the saved settings (bucket, endpoint, prefixes, …); "
                                 "the access key is not copied")
        self.problem = QLabel()
        self.problem.setObjectName("newProfileProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(problem_style())
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("&Create and use")
        ok.setAccessibleName("Create the profile and use it")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(name_label)
        row.addWidget(self.name_edit, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(row)
        layout.addWidget(self.copy_box)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.name_edit.textChanged.connect(self._validate)
        self._validate()
        self.resize(420, self.sizeHint().height())

    @property
    def name(self) -> str:
        return self.name_edit.text().strip()

    def problem_text(self) -> str:
        """Why the name cannot be used, or an empty string."""
        name = self.name
        if not name:
            return "Type a name for the profile."
        try:
            check_profile_name(name)
        except ShortsError as exc:
            return str(exc)
        if name in self.existing:
            return f"There is already a profile “{name}”."
        return ""

    def _validate(self) -> None:
        problem = self.problem_text()
        self.problem.setText(problem if self.name else "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)


class BucketPolicyDialog(QDialog):
    """The least-privilege IAM policy for the bucket in use, with a Copy button."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bucketPolicyDialog")
        self.setWindowTitle(f"Bucket policy for {settings.bucket_name}")
        self.policy_text = json.dumps(bucket_policy(settings), indent=2)
        where = (
            "In the AWS console open IAM ▸ Users, choose the user whose access key this app "
            "uses, then Add permissions ▸ Create inline policy ▸ JSON, and paste it there."
        )
        if not settings.is_aws_endpoint:
            where += (" On MinIO, save it to a file and add it with “mc admin policy create”; "
                      "other S3 services set permissions on their access tokens instead.")
        explain = QLabel(
            f"This IAM policy lets the app do only what it needs, and only under its prefixes "
            f"in the bucket “{settings.bucket_name}”. {where}"
        )
        explain.setObjectName("bucketPolicyExplanation")
        explain.setWordWrap(True)
        explain.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text_edit = QPlainTextEdit(self.policy_text)
        self.text_edit.setObjectName("bucketPolicyText")
        self.text_edit.setAccessibleName("Bucket policy JSON")
        self.text_edit.setReadOnly(True)
        self.text_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.copy_button = QPushButton("&Copy")
        self.copy_button.setObjectName("copyBucketPolicy")
        self.copy_button.setAccessibleName("Copy the policy to the clipboard")
        self.copy_button.setToolTip("Put the policy on the clipboard")
        self.copy_button.clicked.connect(self.copy)
        self.copied = QLabel()
        self.copied.setObjectName("bucketPolicyCopied")
        close = QPushButton("Close")
        close.setAccessibleName("Close the bucket policy")
        close.clicked.connect(self.accept)
        row = QHBoxLayout()
        row.addWidget(self.copy_button)
        row.addWidget(self.copied, 1)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(explain)
        layout.addWidget(self.text_edit, 1)
        layout.addLayout(row)
        self.resize(640, 560)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.policy_text)
        self.copied.setText("Copied to the clipboard.")
        self.copied.setStyleSheet(ok_style())
