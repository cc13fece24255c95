"""The bundled ffmpeg: finding it, running it, its failures as sentences, and probing files."""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from shorts_desktop.core.errors import ShortsError, UserError
from shorts_desktop.core.render import ffmpeg as ff
from shorts_desktop.core.render.probe import probe, thumbnail
from shorts_desktop.core.render.types import CancelToken, RenderCancelled
from tests import media_gen as mg

# An endless source: ffmpeg runs until it is stopped.
ENDLESS = ["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25", "-f", "null", "-"]


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


# --- finding ffmpeg ---------------------------------------------------------------------

def test_ffmpeg_exe_and_version() -> None:
    exe = ff.ffmpeg_exe()
    assert Path(exe).is_file() and os.access(exe, os.X_OK)
    version = ff.ffmpeg_version()
    assert version and " " not in version
    assert version[0].isalnum()


@pytest.fixture
def fresh_exe_cache() -> object:
    ff._find_exe.cache_clear()
    ff.ffmpeg_version.cache_clear()
    yield None
    ff._find_exe.cache_clear()
    ff.ffmpeg_version.cache_clear()


def test_missing_ffmpeg_is_one_sentence(monkeypatch: pytest.MonkeyPatch,
                                        fresh_exe_cache: object) -> None:
    import imageio_ffmpeg

    def gone() -> str:
        raise RuntimeError("No ffmpeg exe could be found. Install ffmpeg on your system.")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", gone)
    with pytest.raises(ShortsError) as caught:
        ff.ffmpeg_exe()
    assert not isinstance(caught.value, UserError)
    assert str(caught.value) == (
        "ffmpeg is missing from this installation; reinstall shorts-desktop.")
    with pytest.raises(ShortsError, match="ffmpeg is missing"):
        ff.run_ffmpeg(["-version"], cwd=Path.cwd())


def test_ffmpeg_is_searched_for_once_by_callers_at_the_same_time(
    monkeypatch: pytest.MonkeyPatch, fresh_exe_cache: object
) -> None:
    """The warm-up and the first probe may ask together: imageio-ffmpeg's search (which
    runs ffmpeg to vouch for it) is made once, the other caller waits for its answer."""
    import imageio_ffmpeg

    real = imageio_ffmpeg.get_ffmpeg_exe
    searches: list[int] = []

    def slow_search() -> str:
        searches.append(1)
        time.sleep(0.2)
        return str(real())

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", slow_search)
    found: list[str] = []
    callers = [threading.Thread(target=lambda: found.append(ff.ffmpeg_exe())) for _ in range(3)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(10)
    assert len(searches) == 1 and len(set(found)) == 1 and len(found) == 3


def test_ffmpeg_path_that_is_not_there(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                       fresh_exe_cache: object) -> None:
    import imageio_ffmpeg

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", lambda: str(tmp_path / "ffmpeg"))
    with pytest.raises(ShortsError, match="reinstall shorts-desktop"):
        ff.ffmpeg_exe()
    with pytest.raises(ShortsError, match="reinstall shorts-desktop"):
        ff.ffmpeg_version()


# --- stderr into one sentence -----------------------------------------------------------

def test_disk_full_is_a_world_failure() -> None:
    err = ff.error_from_stderr([
        "[out#0/mp4 @ 0x55d1] Error writing trailer: No space left on device",
        "[out#0/mp4 @ 0x55d1] Error closing file: No space left on device",
        "Conversion failed!",
    ])
    assert type(err) is ShortsError
    assert str(err).startswith("The disk is full")
    assert "free some space" in str(err)
    assert "\n" not in str(err)


def test_undecodable_input_is_the_users_file() -> None:
    err = ff.error_from_stderr([  # what ffmpeg 9 says with -loglevel level+info
        "[in#0 @ 0x55a2] [warning] Format mov,mp4,m4a,3gp,3g2,mj2 detected only with low score",
        "[in#0 @ 0x55a2] [error] moov atom not found",
        "[in#0 @ 0x55a2] [error] Error opening input: Invalid data found when processing input",
        "[error] Error opening input file clip.mp4.",
        "[fatal] Error opening input files: Invalid data found when processing input",
    ])
    assert isinstance(err, UserError)
    assert str(err) == "clip.mp4 does not decode as audio or video (moov atom not found)."


def test_the_first_error_is_the_cause() -> None:
    err = ff.error_from_stderr([
        "[info] Input #0, lavfi, from 'nullsrc=d=1':",
        "[Parsed_boxblur_1 @ 0x7f] [error] Invalid luma_param radius value 80, must be < 50",
        "[Parsed_boxblur_1 @ 0x7f] [error] Failed to evaluate filter params: -22.",
        "[vf#0:0 @ 0x55] [error] Error reinitializing filters!",
        "[vf#0:0 @ 0x55] [error] Task finished with error code: -22 (Invalid argument)",
        "[out#0/mp4 @ 0x55] [error] Nothing was written into output file",
        "[info] frame=    0 fps=0.0 q=0.0 Lsize=       0KiB time=N/A",
        "[fatal] Conversion failed!",
    ])
    assert type(err) is ShortsError
    assert str(err) == "ffmpeg failed: Invalid luma_param radius value 80, must be < 50."
    missing = ff.error_from_stderr([
        "[in#0 @ 0x56] [error] Error opening input: No such file or directory",
        "[error] Error opening input file source.mp4.",
        "[fatal] Error opening input files: No such file or directory",
    ])
    assert str(missing) == "ffmpeg failed: source.mp4: No such file or directory."


def test_untagged_stderr_falls_back_to_the_last_meaningful_line() -> None:
    err = ff.error_from_stderr([
        "Input #0, lavfi, from 'testsrc2':",
        "[vost#0:0 @ 0x5] Unknown encoder 'nope'",
        "[vost#0:0 @ 0x5] Error selecting an encoder",
        "Error opening output file out.mp4.",
        "Error opening output files: Encoder not found",
        "Conversion failed!",
    ])
    assert str(err) == "ffmpeg failed: Unknown encoder 'nope'."
    assert str(ff.error_from_stderr([])) == "ffmpeg failed without saying why."
    assert str(ff.error_from_stderr(["[info] frame=  1"], -9)) == (
        "ffmpeg failed without saying why (exit code -9).")
    assert ff.meaningful_line(["frame=  1 fps=0", "Conversion failed!"]) == ""


# --- running ffmpeg ---------------------------------------------------------------------

def test_run_ffmpeg_writes_in_cwd_and_reports_progress(tmp_path: Path) -> None:
    seen: list[float] = []
    ff.run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=3", "-c:v", "libx264",
                   "-preset", "ultrafast", "out.mp4"],
                  cwd=tmp_path, duration=3.0, on_progress=seen.append)
    assert (tmp_path / "out.mp4").stat().st_size > 0
    assert seen[-1] == 1.0
    assert seen == sorted(seen) and all(0.0 <= f <= 1.0 for f in seen)


def test_progress_is_throttled(tmp_path: Path) -> None:
    calls: list[float] = []
    started = time.monotonic()
    ff.run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=8", "-c:v", "libx264",
                   "-preset", "ultrafast", "-stats_period", "0.02", "out.mp4"],
                  cwd=tmp_path, duration=8.0, on_progress=lambda f: calls.append(time.monotonic()))
    elapsed = time.monotonic() - started
    assert len(calls) <= ff.PROGRESS_RATE * elapsed + 2
    gaps = [b - a for a, b in itertools.pairwise(calls[:-1])]  # the final 1.0 aside
    assert all(g >= 1 / ff.PROGRESS_RATE - 0.01 for g in gaps)


def test_failure_raises_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ShortsError) as caught:
        ff.run_ffmpeg(["-f", "lavfi", "-i", "nullsrc=d=1", "-c:v", "no_such_codec", "x.mp4"],
                      cwd=tmp_path)
    assert type(caught.value) is ShortsError
    message = str(caught.value)
    assert message == "ffmpeg failed: Unknown encoder 'no_such_codec'."


def test_garbage_input_is_a_user_error(tmp_path: Path) -> None:
    mg.garbage_mp4(tmp_path / "junk.mp4")
    with pytest.raises(UserError, match=r"^junk\.mp4 does not decode as audio or video \("):
        ff.run_ffmpeg(["-i", "junk.mp4", "-f", "null", "-"], cwd=tmp_path)


def test_a_missing_output_folder_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ShortsError) as caught:
        ff.run_ffmpeg(["-f", "lavfi", "-i", "nullsrc=d=1", "nowhere/x.mp4"], cwd=tmp_path)
    assert str(caught.value) == "ffmpeg failed: nowhere/x.mp4: No such file or directory."


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_recognised(tmp_path: Path) -> None:
    with pytest.raises(ShortsError, match=r"^The disk is full") as caught:
        ff.run_ffmpeg(["-f", "lavfi", "-i", "sine=d=5", "-f", "s16le", "/dev/full"],
                      cwd=tmp_path)
    assert not isinstance(caught.value, UserError)


@linux_only
def test_cancel_kills_ffmpeg_promptly(tmp_path: Path) -> None:
    token = CancelToken()
    timer = threading.Timer(0.5, token.cancel)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(RenderCancelled):
            ff.run_ffmpeg(ENDLESS, cwd=tmp_path, cancel=token)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 2.0
    assert mg.ffmpeg_children() == []


def test_cancelled_before_start_runs_nothing(tmp_path: Path) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(RenderCancelled):
        ff.run_ffmpeg(["-f", "lavfi", "-i", "nullsrc=d=1", "x.mp4"], cwd=tmp_path, cancel=token)
    assert not (tmp_path / "x.mp4").exists()


@linux_only
def test_a_failing_progress_callback_stops_ffmpeg(tmp_path: Path) -> None:
    def boom(fraction: float) -> None:
        raise KeyError("callback failed")

    with pytest.raises(KeyError):
        ff.run_ffmpeg([*ENDLESS[:-3], "-t", "600", "-f", "null", "-"], cwd=tmp_path,
                      duration=600.0, on_progress=boom)
    assert mg.ffmpeg_children() == []


def test_lots_of_stderr_does_not_block(tmp_path: Path) -> None:
    # -loglevel debug writes megabytes to stderr: the reader thread must drain it.
    ff.run_ffmpeg(["-loglevel", "debug", "-f", "lavfi", "-i", "testsrc2=s=160x120:d=2",
                   "-f", "null", "-"], cwd=tmp_path)


# --- probe ------------------------------------------------------------------------------

def test_probe_landscape(tmp_path: Path) -> None:
    info = probe(mg.small_clip(tmp_path / "land.mp4", duration=2.0))
    assert (info.width, info.height) == (640, 360)
    assert info.duration == pytest.approx(2.0, abs=0.05)
    assert info.fps == 25
    assert info.has_audio and info.audio_codec == "aac"
    assert info.video_codec == "h264" and info.rotation == 0


def test_probe_full_hd(tmp_path: Path) -> None:
    info = probe(mg.landscape_clip(tmp_path / "hd.mp4", duration=1.0))
    assert (info.width, info.height, info.fps) == (1920, 1080, 30)


def test_probe_applies_rotation(tmp_path: Path) -> None:
    info = probe(mg.rotated_clip(tmp_path / "phone.mp4"))
    assert (info.width, info.height) == (360, 640)
    assert abs(info.rotation) == 90


def test_probe_portrait_and_no_audio(tmp_path: Path) -> None:
    info = probe(mg.portrait_clip(tmp_path / "tall.mp4"))
    assert (info.width, info.height) == (360, 640) and info.rotation == 0
    silent = probe(mg.no_audio_clip(tmp_path / "mute.mp4"))
    assert not silent.has_audio and silent.audio_codec == ""


def test_probe_audio_only_has_no_video_stream(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        probe(mg.audio_only(tmp_path / "song.m4a"))
    assert str(caught.value) == "song.m4a has no video stream."


@pytest.mark.parametrize("make", [mg.garbage_mp4, mg.truncated_mp4], ids=["garbage", "truncated"])
def test_probe_undecodable(tmp_path: Path, make: object) -> None:
    path = make(tmp_path / "broken.mp4")  # type: ignore[operator]
    with pytest.raises(UserError) as caught:
        probe(path)
    message = str(caught.value)
    assert message.startswith("broken.mp4 does not decode as a video (")
    assert message.endswith(").") and "\n" not in message


def test_probe_catches_a_header_with_broken_pictures(tmp_path: Path) -> None:
    # A real MP4 index in front of random picture data: it opens, but no frame decodes.
    path = mg.small_clip(tmp_path / "sniffed.mp4")
    data = bytearray(path.read_bytes())
    start = data.find(b"mdat") + 4
    data[start:] = bytes(b ^ 0x5A for b in data[start:])
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match=r"^sniffed\.mp4 does not decode as a video"):
        probe(path)
    # An upload reads the header alone (no frame decoded): what it says is what it says.
    info = probe(path, decode=False)
    assert (info.width, info.height) == (640, 360) and info.duration == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize("make", [mg.small_clip, mg.rotated_clip, mg.no_audio_clip],
                         ids=["landscape", "rotated", "silent"])
def test_probe_of_the_header_alone_says_what_a_decoding_probe_says(
    tmp_path: Path, make: object
) -> None:
    path = make(tmp_path / "clip.mp4")  # type: ignore[operator]
    assert probe(path, decode=False) == probe(path)


def test_a_single_frame_is_decoded_on_one_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe's frame and a thumbnail's: ffmpeg's frame threads (one per core) would
    cost more to start than they save on one picture."""
    from shorts_desktop.core.render import probe as probe_module

    clip = mg.small_clip(tmp_path / "clip.mp4")
    commands: list[list[str]] = []
    real_capture = probe_module.capture

    def capture(args: list[str], **options: object) -> tuple[int, str]:
        commands.append(list(args))
        return real_capture(args, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(probe_module, "capture", capture)
    info = probe(clip)
    thumbnail(clip, tmp_path / "t.jpg", at=0.5, info=info)
    probe_module.thumbnail_of_stored(str(clip), "clip.mp4", tmp_path / "s.jpg", at=0.5)
    assert len(commands) == 3
    for args in commands:
        before_input = args[:args.index("-i")]
        assert before_input[before_input.index("-threads") + 1] == "1"


def test_probe_without_a_duration_in_the_header(tmp_path: Path) -> None:
    # Matroska written to a pipe has no duration: probe times it by decoding.
    data = mg.ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=1.6", "-c:v", "libx264",
                     "-preset", "ultrafast", "-f", "matroska", "-")
    path = tmp_path / "stream.mkv"
    path.write_bytes(data)
    assert "Duration: N/A" in mg.ffmpeg_dump(path)
    assert probe(path).duration == pytest.approx(1.6, abs=0.05)


def test_probe_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"^nothing\.mp4 was not found\.$"):
        probe(tmp_path / "nothing.mp4")


def test_thumbnail(tmp_path: Path) -> None:
    src = mg.small_clip(tmp_path / "land.mp4")
    out = thumbnail(src, tmp_path / "thumbs" / "t.jpg", at=1.0)
    data = out.read_bytes()
    assert data[:3] == b"\xff\xd8\xff"
    assert "320x180" in mg.ffmpeg_dump(out)
    # Past the end: moved into the video, still a picture; a rotated video stays upright.
    phone = mg.rotated_clip(tmp_path / "phone.mp4")
    late = thumbnail(phone, tmp_path / "late.jpg", at=99.0, width=180, info=probe(phone))
    assert "180x320" in mg.ffmpeg_dump(late)
    with pytest.raises(UserError, match="does not decode"):
        thumbnail(mg.garbage_mp4(tmp_path / "junk.mp4"), tmp_path / "junk.jpg", at=0)
