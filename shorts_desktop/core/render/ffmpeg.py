"""Runs the bundled ffmpeg: progress, cancelling, and its stderr turned into one sentence."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from shorts_desktop.core.errors import ShortsError, UserError
from shorts_desktop.core.render.types import CancelToken, RenderCancelled

_log = logging.getLogger(__name__)
_MISSING = "ffmpeg is missing from this installation; reinstall shorts-desktop."

#: Lines of ffmpeg's stderr kept for the error message and the log.
STDERR_TAIL = 40
#: At most this many progress callbacks a second.
PROGRESS_RATE = 10.0
#: How often a running ffmpeg is checked for cancelling (seconds).
_POLL = 0.05

# "[h264 @ 0x55d1550cf040] [error] " (possibly nested) before a message.
_PREFIX = re.compile(r"^(?:\[[^\]]*\]\s*)+")
_LEVEL = re.compile(r"\[(panic|fatal|error|warning|info|verbose|debug|trace)\]")
# "Error opening input: X" only says where X happened; the output form names the file.
_OPEN_INPUT = re.compile(r"^Error opening input: (.+)$", re.I)
_OPEN_OUTPUT = re.compile(r"^Error opening output (.+?): (.+)$", re.I)
# Lines that repeat an error already given, or only say that ffmpeg gave up.
_BOILERPLATE = (
    "conversion failed",
    "error opening input file",
    "error opening input files",
    "error opening output file",
    "error opening output files",
    "task finished with error code",
    "terminating thread with return code",
    "nothing was written into output file",
    "could not open encoder before eof",
    "no filtered frames for output stream",
    "cannot determine format of input",
    "exceeds maximum",
    "consider increasing the value",
    "exiting with exit code",
    "error while filtering",
    "error while decoding",
    "error closing file",
    "error reinitializing filters",
    "error initializing filters",
    "failed to configure input pad",
    "failed to configure output pad",
    "failed to evaluate filter params",
    "error selecting an encoder",
)
_DECODE_ERRORS = (
    "invalid data found when processing input",
    "moov atom not found",
    "error splitting the input into nal units",
    "decoding error",
    "error submitting packet to decoder",
)


#: One search at a time: imageio-ffmpeg runs the ffmpeg it finds once to vouch for it,
#: and a second caller waits for that answer instead of running it again.
_finding = threading.Lock()


def ffmpeg_exe() -> str:
    """The path of the ffmpeg that imageio-ffmpeg ships (or IMAGEIO_FFMPEG_EXE names)."""
    try:
        with _finding:
            return _find_exe()
    except ShortsError:
        raise
    except Exception as exc:  # imageio-ffmpeg raises RuntimeError, or fails to import
        raise ShortsError(_MISSING) from exc


def find_ffmpeg_ahead() -> None:
    """Find ffmpeg on a thread of its own: imageio-ffmpeg vouches for the ffmpeg it finds
    by running it once (a wait in which the GIL is free), which the first video's probe
    then does not wait for. A missing ffmpeg is left for that probe to say."""

    def find() -> None:
        try:
            ffmpeg_exe()
        except ShortsError as exc:
            _log.info("ffmpeg not found ahead: %s", exc)

    threading.Thread(target=find, daemon=True, name="shorts-desktop-ffmpeg").start()


@functools.cache
def _find_exe() -> str:
    import imageio_ffmpeg  # imported when first needed, so importing this module costs nothing

    exe = str(imageio_ffmpeg.get_ffmpeg_exe())
    if not os.path.isfile(exe) or not os.access(exe, os.X_OK):
        raise ShortsError(_MISSING)
    return exe


def _popen_flags() -> dict[str, Any]:
    """Keep a console window from flashing up for every ffmpeg run on Windows."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NO_WINDOW}
    return {}


def capture(args: list[str], *, cwd: Path | None = None, timeout: float = 120.0
            ) -> tuple[int, str]:
    """Run a short ffmpeg (probe, thumbnail): its exit code and its whole stderr."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    try:
        done = subprocess.run(
            cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, timeout=timeout, check=False, **_popen_flags(),
        )
    except subprocess.TimeoutExpired as exc:
        raise ShortsError(f"ffmpeg did not finish within {timeout:.0f} seconds.") from exc
    except OSError as exc:
        raise ShortsError(_MISSING) from exc
    return done.returncode, done.stderr.decode("utf-8", "replace")


@functools.cache
def ffmpeg_version() -> str:
    """The version ffmpeg reports, e.g. "n9.0.2-17-g2a571b6068-20260930"."""
    try:
        done = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-version"], stdin=subprocess.DEVNULL,
            capture_output=True, timeout=30, check=False, **_popen_flags(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ShortsError(_MISSING) from exc
    first = done.stdout.decode("utf-8", "replace").partition("\n")[0]
    match = re.match(r"ffmpeg version (\S+)", first)
    if done.returncode != 0 or match is None:
        raise ShortsError(_MISSING)
    return match.group(1)


def clean_line(line: str) -> str:
    """A stderr line without ffmpeg's "[component @ 0x...]" and "[error]" prefixes."""
    return _PREFIX.sub("", line.strip()).strip()


def _is_boilerplate(message: str) -> bool:
    low = message.lower()
    return (not message or low.startswith(("frame=", "size="))
            or any(b in low for b in _BOILERPLATE))


def _input_name(lines: Iterable[str]) -> str | None:
    for raw in lines:
        match = re.search(r"^Error opening input file (.+?)\.?$", clean_line(raw))
        if match:
            return match.group(1)
    return None


def _said(message: str, input_name: str | None) -> str:
    """An error line as a clause: the file it is about named, not the wrapper."""
    if (m := _OPEN_INPUT.match(message)) is not None:
        return f"{input_name}: {m.group(1)}" if input_name else m.group(1)
    if (m := _OPEN_OUTPUT.match(message)) is not None:
        return f"{m.group(1)}: {m.group(2)}"
    return message


def meaningful_line(lines: Iterable[str]) -> str:
    """What went wrong, from stderr lines ("" when they do not say).

    With `-loglevel level+...` (as run_ffmpeg asks) the first error-level line is the cause
    and later ones are consequences; without level tags the last non-boilerplate line is the
    best guess.
    """
    lines = list(lines)
    name = _input_name(lines)
    errors: list[str] = []
    others: list[str] = []
    for raw in lines:
        level = _LEVEL.search(raw)
        message = clean_line(raw)
        if _is_boilerplate(message):
            continue
        if level is not None and level.group(1) in ("panic", "fatal", "error"):
            errors.append(message)
        elif level is None:
            others.append(message)
    if errors:
        return _said(errors[0], name)
    return _said(others[-1], name) if others else ""


def error_from_stderr(lines: list[str], returncode: int | None = None) -> ShortsError:
    """One sentence for the user from a failed ffmpeg's stderr."""
    text = "\n".join(lines).lower()
    if "no space left on device" in text:
        return ShortsError("The disk is full: ffmpeg could not write the video; "
                           "free some space and try again.")
    reason = meaningful_line(lines).rstrip(".")
    if len(reason) > 160:
        reason = reason[:157] + "..."
    if any(marker in text for marker in _DECODE_ERRORS):
        name = _input_name(lines)
        if name and reason.startswith(f"{name}: "):
            reason = reason[len(name) + 2 :]
        detail = f" ({reason})" if reason else ""
        return UserError(f"{name or 'An input file'} does not decode as audio or video{detail}.")
    if not reason:
        code = f" (exit code {returncode})" if returncode is not None else ""
        return ShortsError(f"ffmpeg failed without saying why{code}.")
    return ShortsError(f"ffmpeg failed: {reason}.")


class _Progress:
    """What the stdout reader thread last read from `-progress pipe:1`."""

    def __init__(self) -> None:
        self.out_time: float | None = None  # seconds


def _read_progress(stream: IO[bytes], state: _Progress) -> None:
    for raw in stream:
        key, _, value = raw.decode("utf-8", "replace").strip().partition("=")
        if key == "out_time_us":
            with contextlib.suppress(ValueError):  # "N/A" before the first frame
                state.out_time = max(0.0, int(value) / 1_000_000)


class _Stderr:
    """The end of ffmpeg's stderr, and its first errors (the cause, before the consequences)."""

    def __init__(self) -> None:
        self.tail: deque[str] = deque(maxlen=STDERR_TAIL)
        self.first_errors: list[str] = []

    def lines(self) -> list[str]:
        tail = list(self.tail)
        return [e for e in self.first_errors if e not in tail] + tail


def _read_stderr(stream: IO[bytes], out: _Stderr) -> None:
    for raw in stream:
        # Stats lines end in \r; split so one line never holds a screenful.
        for part in raw.decode("utf-8", "replace").replace("\r", "\n").split("\n"):
            if not part.strip():
                continue
            out.tail.append(part.rstrip())
            if len(out.first_errors) < 10 and ("[error]" in part or "[fatal]" in part):
                out.first_errors.append(part.rstrip())


def run_ffmpeg(
    args: list[str],
    *,
    cwd: Path,
    duration: float | None = None,
    on_progress: Callable[[float], None] | None = None,
    cancel: CancelToken | None = None,
) -> None:
    """Run ffmpeg in `cwd` (the work folder: callers pass bare file names, nothing to escape).

    `on_progress` is called from this thread with the fraction of `duration` written,
    at most PROGRESS_RATE times a second, and with 1.0 once ffmpeg succeeds.
    """
    if cancel is not None:
        cancel.check()
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "level+info",
           "-progress", "pipe:1", "-stats_period", "0.25", "-nostats", *args]
    _log.debug("running %s in %s", subprocess.list2cmdline(cmd), cwd)
    try:
        proc = subprocess.Popen(
            cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, **_popen_flags(),
        )
    except OSError as exc:
        raise ShortsError(_MISSING) from exc
    assert proc.stdout is not None and proc.stderr is not None
    state = _Progress()
    stderr = _Stderr()
    readers = [
        threading.Thread(target=_read_progress, args=(proc.stdout, state), daemon=True,
                         name="ffmpeg-progress"),
        threading.Thread(target=_read_stderr, args=(proc.stderr, stderr), daemon=True,
                         name="ffmpeg-stderr"),
    ]
    for reader in readers:
        reader.start()
    last_sent = -1.0
    last_time = 0.0
    try:
        while True:
            try:
                proc.wait(timeout=_POLL)
                break
            except subprocess.TimeoutExpired:
                pass
            if cancel is not None and cancel.cancelled:
                raise RenderCancelled("The job was cancelled.")
            if on_progress is None or not duration or state.out_time is None:
                continue
            now = time.monotonic()
            fraction = min(1.0, state.out_time / duration)
            if fraction > last_sent and now - last_time >= 1.0 / PROGRESS_RATE:
                last_sent, last_time = fraction, now
                on_progress(fraction)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for reader in readers:
            reader.join(timeout=5)
        proc.stdout.close()
        proc.stderr.close()
    if proc.returncode != 0:
        lines = stderr.lines()
        _log.warning("ffmpeg exited with %s; its stderr ended:\n%s", proc.returncode,
                     "\n".join(lines))
        raise error_from_stderr(lines, proc.returncode)
    if on_progress is not None:
        on_progress(1.0)


def last_stderr_lines(text: str, count: int = STDERR_TAIL) -> list[str]:
    """The last non-empty lines of a captured stderr, stats lines split apart."""
    lines = [p.rstrip() for p in text.replace("\r", "\n").split("\n") if p.strip()]
    return lines[-count:]
