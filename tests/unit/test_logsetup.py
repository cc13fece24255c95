"""The log file: rotating, in the log dir, with link signatures and secrets redacted."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from shorts_desktop.core.logsetup import configure_logging, log_file_works, redact

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


def _remove_our_handlers() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_shorts_desktop", False):
            root.removeHandler(handler)
            handler.close()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_log_file_that_cannot_be_written_falls_back_to_stderr_quietly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "shorts-desktop.log").symlink_to("/dev/full")  # every write: ENOSPC
    try:
        assert configure_logging(logs) == logs / "shorts-desktop.log"
        log = logging.getLogger("shorts_desktop.test")
        log.info("only for the file")
        log.warning("made %s with %s", URL, SECRET)
        try:
            raise ValueError("a bug")
        except ValueError:
            log.exception("something broke")
        assert not log_file_works()
    finally:
        _remove_our_handlers()
    err = capsys.readouterr().err
    assert "Logging error" not in err and "Traceback" not in err
    assert "only for the file" not in err
    lines = err.splitlines()
    assert lines[0].startswith("shorts-desktop warning: made https://b.s3.amazonaws.com/temp/")
    assert SECRET not in err and "X-Amz-Signature=***" in lines[0]
    assert lines[1:] == ["shorts-desktop error: something broke"]


def test_a_log_folder_that_cannot_be_made_falls_back_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "logs").write_text("a file where the folder should be")
    try:
        assert configure_logging(tmp_path / "logs") is None
        logging.getLogger("shorts_desktop.test").info("nowhere to go")
        logging.getLogger("shorts_desktop.test").error("said on stderr")
        assert not log_file_works()
    finally:
        _remove_our_handlers()
    assert capsys.readouterr().err == "shorts-desktop error: said on stderr\n"


def test_a_working_log_file_says_so(tmp_path: Path) -> None:
    try:
        configure_logging(tmp_path / "logs")
        logging.getLogger("shorts_desktop.test").info("fine")
        assert log_file_works()
    finally:
        _remove_our_handlers()
