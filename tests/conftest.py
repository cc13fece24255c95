"""Root test setup: offscreen Qt, and a private data dir and empty config for every test."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest

pytest_plugins = ["tests.stubs.youtube_stub"]  # the `stub` and `offline` fixtures

# Prefixes of variables that could carry the developer's real S3/AWS/app config into a test.
_LEAKY_PREFIXES = ("AWS_", "S3_", "SHORTS_DESKTOP_")


@pytest.fixture(autouse=True)
def shorts_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give each test its own SHORTS_DESKTOP_HOME, no AWS/S3 settings, and cwd without `.env`."""
    for name in list(os.environ):
        if name.startswith(_LEAKY_PREFIXES):
            monkeypatch.delenv(name)
    home = tmp_path / "shorts-home"
    monkeypatch.setenv("SHORTS_DESKTOP_HOME", str(home))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    # Never wait for an EC2 instance-metadata endpoint when the credential chain comes up empty.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)
    return home


# -- a run that cannot end --------------------------------------------------------------------

#: How long threads left running by the tests may take to finish after the last test.
_EXIT_GRACE_SECONDS = 30.0
_session_status = {"code": 0}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _session_status["code"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """A worker thread that never ends would hang the interpreter's exit (it joins them),
    and with it CI, silently: name the threads, print where they wait, and end the run."""
    import faulthandler
    import sys
    import threading
    import time

    deadline = time.monotonic() + _EXIT_GRACE_SECONDS
    while True:
        stuck = [t for t in threading.enumerate()
                 if t is not threading.main_thread() and not t.daemon and t.is_alive()]
        if not stuck or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if stuck:
        names = ", ".join(sorted(t.name for t in stuck))
        sys.stderr.write(f"\nThese threads were still running {_EXIT_GRACE_SECONDS:.0f} s after "
                         f"the last test and would hang the exit: {names}\n")
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(_session_status["code"] or 1)
