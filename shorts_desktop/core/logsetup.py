"""Logging to a rotating file in the log dir, with secrets and link signatures redacted."""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

_REDACTIONS = (
    (re.compile(r"(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s\"']+", re.I), r"\1***"),
    (re.compile(r"(Signature=)[^&\s\"']+"), r"\1***"),
    (re.compile(r"(aws_secret_access_key|secret_access_key|SecretAccessKey)(['\"]?\s*[:=]\s*['\"]?)"
                r"[^\s'\",}]+", re.I), r"\1\2***"),
    (re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"), "***"),
)


def redact(text: str) -> str:
    """The text with presigned-link signatures and anything shaped like a secret key removed."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(log_dir: Path, level: int = logging.INFO) -> Path:
    """Send the app's log to `log_dir/shorts-desktop.log` (5 files of 2 MB); returns the path."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "shorts-desktop.log"
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_shorts_desktop", False):
            root.removeHandler(handler)
            handler.close()
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
    )
    handler._shorts_desktop = True  # type: ignore[attr-defined]
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "s3transfer", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
