"""The log file: rotating, in the log dir, with link signatures and secrets redacted."""

from __future__ import annotations

import logging

from shorts_desktop.core.logsetup import configure_logging, redact

URL = (
    "https://b.s3.amazonaws.com/temp/x/v.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAEXAMPLE%2F20261126%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20261126T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_redact_removes_signatures_credentials_and_secret_shaped_strings() -> None:
    text = redact(f"link {URL} secret_access_key={SECRET} plain {SECRET}")
    assert "0123456789abcdef" not in text and "AKIAEXAMPLE" not in text
    assert SECRET not in text
    assert "X-Amz-Expires=3600" in text  # harmless parts stay readable


def test_log_file_is_written_redacted(tmp_path) -> None:
    path = configure_logging(tmp_path / "logs")
    try:
        logging.getLogger("shorts_desktop.test").warning("made %s with %s", URL, SECRET)
        for handler in logging.getLogger().handlers:
            handler.flush()
        content = path.read_text()
        assert "made https://b.s3.amazonaws.com/temp/x/v.mp4" in content
        assert SECRET not in content and "X-Amz-Signature=***" in content
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if getattr(handler, "_shorts_desktop", False):
                root.removeHandler(handler)
                handler.close()
