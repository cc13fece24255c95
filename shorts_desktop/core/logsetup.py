"""Logging to a rotating file in the log dir, with secrets and link signatures redacted."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import re
import sys
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


class StderrFallback(logging.Handler):
    """Where warnings go when the log file cannot be written (a full or read-only disk): one
    line each on stderr, with no traceback, so a command still ends in its one sentence."""

    _shorts_desktop = True  # one of ours: `configure_logging` replaces it

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = redact(record.getMessage()).replace("\n", " ")
            sys.stderr.write(f"shorts-desktop {record.levelname.lower()}: {message}\n")
        except Exception:  # stderr itself is gone: there is nowhere left to say it
            pass

    def handleError(self, record: logging.LogRecord) -> None:
        pass


class LogFileHandler(logging.handlers.RotatingFileHandler):
    """The rotating log file. A record it cannot write goes to the stderr fallback instead of
    Python's "--- Logging error ---" report; the file is tried again for the next record."""

    _shorts_desktop = True

    def __init__(self, path: Path, fallback: logging.Handler) -> None:
        super().__init__(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
        self.fallback = fallback
        self.failed = False

    def emit(self, record: logging.LogRecord) -> None:
        self.failed = False
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        self.failed = True
        self._drop_stream()
        if record.levelno >= self.fallback.level:
            self.fallback.handle(record)

    def _drop_stream(self) -> None:
        """Let go of the file without writing what the disk refused: otherwise its buffer
        is tried again when the file is closed or collected, and Python reports that."""
        stream, self.stream = self.stream, None  # the next record opens the file afresh
        if stream is None:
            return
        raw = getattr(getattr(stream, "buffer", None), "raw", None)
        with contextlib.suppress(Exception):
            if raw is not None:
                raw.close()  # closed underneath, the buffers close without a write
        with contextlib.suppress(Exception):
            stream.close()

    def close(self) -> None:
        try:
            super().close()
        except OSError:  # the last lines did not fit on the disk
            self._drop_stream()


def _remove_ours(root: logging.Logger) -> None:
    for handler in list(root.handlers):
        if getattr(handler, "_shorts_desktop", False):
            root.removeHandler(handler)
            handler.close()


def configure_logging(log_dir: Path, level: int = logging.INFO) -> Path | None:
    """Send the app's log to `log_dir/shorts-desktop.log` (5 files of 2 MB) and return its
    path; None when the file cannot be opened, and warnings then go to stderr."""
    root = logging.getLogger()
    _remove_ours(root)
    path: Path | None = log_dir / "shorts-desktop.log"
    handler: logging.Handler
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        handler = LogFileHandler(log_dir / "shorts-desktop.log", StderrFallback())
    except OSError:
        handler, path = StderrFallback(), None
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "s3transfer", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path


def log_file_works() -> bool:
    """Whether the log file was opened and took its last record."""
    return any(
        isinstance(h, LogFileHandler) and not h.failed for h in logging.getLogger().handlers
    )
