"""Without a display the window is not tried: one sentence and exit 2, not Qt's abort."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shorts_desktop.cli import missing_display


@pytest.mark.parametrize(("environ", "refused"), [
    ({}, True),
    ({"QT_QPA_PLATFORM": "xcb"}, True),
    ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, True),  # xcb needs X
    ({"DISPLAY": ":0"}, False),
    ({"WAYLAND_DISPLAY": "wayland-0"}, False),
    ({"QT_QPA_PLATFORM": "offscreen"}, False),
    ({"QT_QPA_PLATFORM": "wayland;xcb", "WAYLAND_DISPLAY": "wayland-1"}, False),
])
def test_which_sessions_have_a_display(environ: dict[str, str], refused: bool) -> None:
    assert (missing_display(environ, "linux") is not None) is refused


def test_other_systems_are_not_second_guessed() -> None:
    assert missing_display({}, "darwin") is None and missing_display({}, "win32") is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux session check")
def test_the_window_without_a_display_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["SHORTS_DESKTOP_HOME"] = str(tmp_path / "home")
    done = subprocess.run([sys.executable, "-m", "shorts_desktop"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert "no display to open the window on" in done.stderr
    assert "Traceback" not in done.stderr and "Reinstalling" not in done.stderr
