"""The Short's ffmpeg run, checked on real renders: size, codecs, length, reframing, ducking,
captions, progress and cancelling."""

from __future__ import annotations

import dataclasses
import itertools
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from shorts_desktop.core.errors import ShortsError
from shorts_desktop.core.render.compose import ComposeSpec, build_command, output_fps, render
from shorts_desktop.core.render.probe import probe
from shorts_desktop.core.render.types import CancelToken, RenderCancelled, VideoInfo
from tests import media_gen as mg

FONT = Path(__file__).resolve().parents[2] / "resources" / "fonts" / "DejaVuSans-Bold.ttf"
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
SMALL = {"width": 360, "height": 640}  # 9:16 and quick; one test renders the real size

# One white caption near the bottom from 0.5 s to 1.5 s, in the style the captioner writes.
ASS = """[Script Info]
ScriptType: v4.00+
PlayResX: 1080
PlayResY: 1920

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, \
Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, \
Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,DejaVu Sans,110,&H00FFFFFF,&H00FFFFFF,&H00000000,&H00000000,-1,0,0,0,100,100,\
0,0,1,4,0,2,60,60,400,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:00.50,0:00:01.50,Default,,0,0,0,,HELLO THERE
"""


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("work")
    mg.small_clip(folder / "land.mp4", duration=2.0)
    mg.small_clip(folder / "long.mp4", duration=3.0)
    mg.rotated_clip(folder / "phone.mp4")
    mg.no_audio_clip(folder / "mute.mp4")
    mg.black_clip(folder / "loud.mp4", duration=3.0, tone=300, gain_db=12)  # -6 dBFS
    mg.black_clip(folder / "dark.mp4", duration=2.0, audio=False)
    mg.tone_wav(folder / "voice.wav", silence=1.0, duration=2.0, freq=3000, amplitude=0.3)
    (folder / "fonts").mkdir()
    shutil.copy(FONT, folder / "fonts")
    (folder / "cap.ass").write_text(ASS, encoding="utf-8")
    return folder


_infos: dict[str, VideoInfo] = {}


def spec(work: Path, source: str, output: str, duration: float, **kw: Any) -> ComposeSpec:
    key = str(work / source)
    if key not in _infos:
        _infos[key] = probe(work / source)
    return ComposeSpec(source=source, info=_infos[key], output=output, duration=duration, **kw)


def bright_pixels(frame: bytes, threshold: int = 200) -> int:
    return sum(1 for b in frame if b > threshold)


def sharpest_edge(frame: bytes, width: int, first: int, last: int) -> int:
    """The largest step between horizontal neighbours in rows first..last-1: small when blurred."""
    return max(max(abs(a - b) for a, b in itertools.pairwise(frame[y * width : (y + 1) * width]))
               for y in range(first, last))


# --- the real 1080x1920 Short -----------------------------------------------------------

@pytest.fixture(scope="module")
def short(work: Path) -> Path:
    """A 2 s landscape clip made into a 4 s Short (looped) with narration and captions."""
    render(spec(work, "land.mp4", "short.mp4", 4.0, narration="voice.wav", captions="cap.ass",
                fonts_dir="fonts"), cwd=work)
    return work / "short.mp4"


def test_the_short_is_1080x1920_h264_high_aac_stereo(short: Path) -> None:
    dump = mg.ffmpeg_dump(short)
    video = next(line for line in dump.splitlines() if "Video:" in line)
    audio = next(line for line in dump.splitlines() if "Audio:" in line)
    assert "h264 (High)" in video and "yuv420p" in video and "1080x1920" in video
    assert "SAR 1:1" in video
    assert "aac (LC)" in audio and "48000 Hz" in audio and "stereo" in audio
    info = probe(short)
    assert (info.width, info.height) == (1080, 1920)
    assert info.duration == pytest.approx(4.0, abs=0.1)
    assert info.fps == 25  # the source's rate


def test_the_short_starts_to_play_before_it_is_all_downloaded(short: Path) -> None:
    atoms = dict(mg.top_level_atoms(short))
    assert atoms["moov"] < atoms["mdat"]


def test_a_short_source_loops(work: Path, short: Path) -> None:
    assert "-stream_loop" in build_command(spec(work, "land.mp4", "x.mp4", 4.0))
    size = {"width": 108, "height": 192}
    first = mg.gray_frame(short, at=0.52, **size)
    again = mg.gray_frame(short, at=2.52, **size)  # the same moment of the second pass
    other = mg.gray_frame(short, at=1.52, **size)
    same = mg.mean([abs(a - b) for a, b in zip(first, again, strict=True)])
    differ = mg.mean([abs(a - b) for a, b in zip(first, other, strict=True)])
    assert same < 3 < differ


def test_a_long_source_is_cut(work: Path) -> None:
    job = spec(work, "long.mp4", "cut.mp4", 1.5, **SMALL)
    assert "-stream_loop" not in build_command(job)
    render(job, cwd=work)
    assert probe(work / "cut.mp4").duration == pytest.approx(1.5, abs=0.1)


# --- the command ------------------------------------------------------------------------

def test_captions_are_drawn_last_at_output_size(work: Path) -> None:
    args = build_command(spec(work, "land.mp4", "x.mp4", 3.0, captions="cap.ass",
                              fonts_dir="fonts"))
    graph = args[args.index("-filter_complex") + 1]
    assert graph.index("overlay=") < graph.index("ass=cap.ass:fontsdir=fonts") < graph.index(
        "format=yuv420p")
    assert args[args.index("-t") + 1] == "3"
    assert "-shortest" not in args
    assert args[-1] == "x.mp4"
    assert "-movflags" in args and args[args.index("-movflags") + 1] == "+faststart"
    assert args[args.index("-g") + 1] == "50"  # 2 s of 25 fps


def test_one_decoder_thread_for_hd_sources_and_ffmpegs_own_for_4k(work: Path) -> None:
    """Memory: one decoder thread holds fewer frames, and keeps up up to ~1080p; a 4K
    source needs more or the decoder would set the pace."""
    hd = spec(work, "land.mp4", "x.mp4", 3.0)
    uhd = dataclasses.replace(hd, info=dataclasses.replace(hd.info, width=3840, height=2160))
    hd_args, uhd_args = build_command(hd), build_command(uhd)
    assert hd_args[:2] == ["-threads", "1"]
    assert "-threads" not in uhd_args[: uhd_args.index("-i")]
    for args in (hd_args, uhd_args):  # the encoder's speed and memory settings stay
        assert args[args.index("-preset") + 1] == "veryfast"
        assert args[args.index("-rc-lookahead") + 1] == "5"


def test_bad_specs_are_refused(work: Path) -> None:
    with pytest.raises(ValueError, match="bare file name"):
        spec(work, "land.mp4", "out/x.mp4", 3.0)
    with pytest.raises(ValueError, match="plain bare name"):
        spec(work, "land.mp4", "x.mp4", 3.0, captions="my captions.ass")
    with pytest.raises(ValueError, match="reframe"):
        spec(work, "land.mp4", "x.mp4", 3.0, reframe="zoom")
    with pytest.raises(ValueError, match="even"):
        spec(work, "land.mp4", "x.mp4", 3.0, width=1081)
    with pytest.raises(ValueError, match="positive"):
        spec(work, "land.mp4", "x.mp4", 0.0)


@pytest.mark.parametrize(("fps", "expected"), [
    (29.97, 30), (23.976, 24), (25, 25), (59.94, 60), (120, 60), (0, 30), (1000, 30), (8, 30),
])
def test_output_fps(fps: float, expected: float) -> None:
    info = VideoInfo(duration=1, width=640, height=360, fps=fps, has_audio=False)
    assert output_fps(info) == expected


def test_a_missing_input_is_named(work: Path) -> None:
    job = spec(work, "land.mp4", "none.mp4", 1.0, narration="nobody.wav", **SMALL)
    with pytest.raises(ShortsError, match=r"^nobody\.wav is missing from the work folder"):
        render(job, cwd=work)


# --- reframing --------------------------------------------------------------------------

def _frame_of(work: Path, name: str, reframe: str, source: str = "land.mp4") -> bytes:
    """Render 1 s at 360x640 and return its middle frame's luma."""
    render(spec(work, source, name, 1.0, reframe=reframe, **SMALL), cwd=work)
    return mg.gray_frame(work / name, at=0.5, **SMALL)


def test_blur_fills_the_bars_with_a_soft_copy(work: Path) -> None:
    frame = _frame_of(work, "blur.mp4", "blur")
    # The picture is 360x202 in the middle (rows 219..420); rows 0..200 are background.
    band = mg.rows(frame, 360, 0, 200)
    assert mg.mean(band) > 40  # not black
    assert sharpest_edge(frame, 360, 0, 200) < 20  # blurred
    assert sharpest_edge(frame, 360, 230, 410) > 40  # the picture itself is sharp


def test_fit_gives_black_bars(work: Path) -> None:
    frame = _frame_of(work, "fit.mp4", "fit")
    assert max(mg.rows(frame, 360, 0, 200)) < 30
    assert max(mg.rows(frame, 360, 440, 640)) < 30
    assert mg.mean(mg.rows(frame, 360, 230, 410)) > 40


def test_crop_fills_the_frame_with_the_picture(work: Path) -> None:
    frame = _frame_of(work, "crop.mp4", "crop")
    assert mg.mean(mg.rows(frame, 360, 0, 200)) > 40
    assert mg.mean(mg.rows(frame, 360, 440, 640)) > 40
    assert sharpest_edge(frame, 360, 0, 200) > 40  # the picture, not a blur


def test_a_rotated_phone_video_fills_the_frame(work: Path) -> None:
    # Stored 640x360 with a 90° display matrix: shown as 360x640, so no bars even with "fit".
    frame = _frame_of(work, "phone-fit.mp4", "fit", source="phone.mp4")
    assert mg.mean(mg.rows(frame, 360, 0, 100)) > 40
    assert mg.mean(mg.rows(frame, 360, 540, 640)) > 40


# --- audio ------------------------------------------------------------------------------

def test_the_original_is_ducked_under_the_narration(work: Path) -> None:
    render(spec(work, "loud.mp4", "duck.mp4", 3.0, narration="voice.wav", **SMALL), cwd=work)
    render(spec(work, "loud.mp4", "plain.mp4", 3.0, **SMALL), cwd=work)
    mixed, plain = mg.pcm(work / "duck.mp4"), mg.pcm(work / "plain.mp4")
    before = mg.tone_level_db(mixed, 300, start=0.1, end=0.9)
    during = mg.tone_level_db(mixed, 300, start=1.5, end=2.9)
    assert before - during >= 6
    # Under a narration the original also sits lower overall.
    assert mg.tone_level_db(plain, 300, start=0.1, end=0.9) - before == pytest.approx(12, abs=2)
    # And the narration is heard, from its first sound on.
    assert mg.tone_level_db(mixed, 3000, start=0.1, end=0.9) < -60
    assert mg.tone_level_db(mixed, 3000, start=1.5, end=2.9) > -20


def test_narration_over_a_silent_video(work: Path) -> None:
    render(spec(work, "mute.mp4", "voiced.mp4", 3.0, narration="voice.wav", **SMALL), cwd=work)
    samples = mg.pcm(work / "voiced.mp4")
    # The mono voice (a 0.3 sine: -10.5 dBFS) reaches both channels at its own level.
    assert mg.tone_level_db(samples, 3000, start=1.3, end=2.9) == pytest.approx(-10.5, abs=1.5)
    assert max(abs(s) for s in samples[: 48000 * 9 // 10]) < 50  # silent before it


def test_no_audio_at_all_still_gives_a_silent_stereo_track(work: Path) -> None:
    render(spec(work, "mute.mp4", "quiet.mp4", 2.5, **SMALL), cwd=work)
    dump = mg.ffmpeg_dump(work / "quiet.mp4")
    assert "Audio: aac" in dump and "48000 Hz, stereo" in dump
    assert probe(work / "quiet.mp4").duration == pytest.approx(2.5, abs=0.1)
    assert max(abs(s) for s in mg.pcm(work / "quiet.mp4")) == 0


# --- captions ---------------------------------------------------------------------------

@pytest.fixture
def no_system_fonts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fontconfig that knows no fonts, as on a bare machine: only fontsdir= can help."""
    conf = tmp_path / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
                    f"<fontconfig><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>\n",
                    encoding="utf-8")
    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))


def _caption_pixels(work: Path, name: str, at: float, **kw: Any) -> int:
    render(spec(work, "dark.mp4", name, 2.0, **SMALL, **kw), cwd=work)
    return bright_pixels(mg.gray_frame(work / name, at=at, **SMALL))


def test_captions_are_drawn_with_the_bundled_font(work: Path, no_system_fonts: None) -> None:
    assert _caption_pixels(work, "cap.mp4", 1.0, captions="cap.ass", fonts_dir="fonts") > 300
    assert bright_pixels(mg.gray_frame(work / "cap.mp4", at=0.2, **SMALL)) == 0  # not yet
    assert _caption_pixels(work, "nocap.mp4", 1.0) == 0
    # Without the fonts folder libass finds no font, draws nothing, and ffmpeg still succeeds.
    assert _caption_pixels(work, "nofont.mp4", 1.0, captions="cap.ass") == 0


# --- progress and cancelling ------------------------------------------------------------

def test_progress_rises_to_one(work: Path) -> None:
    seen: list[float] = []
    render(spec(work, "land.mp4", "progress.mp4", 8.0, **SMALL), cwd=work,
           on_progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert any(0 < f < 1 for f in seen)  # heard while it ran, not only at the end


@linux_only
def test_cancel_stops_the_render_quickly(work: Path) -> None:
    token = CancelToken()
    cancelled_at: list[float] = []

    def on_progress(fraction: float) -> None:
        if not cancelled_at:
            cancelled_at.append(time.monotonic())
            threading.Thread(target=token.cancel).start()

    with pytest.raises(RenderCancelled):
        render(spec(work, "land.mp4", "cancel.mp4", 120.0), cwd=work, on_progress=on_progress,
               cancel=token)
    assert cancelled_at and time.monotonic() - cancelled_at[0] < 1.5
    assert not (work / "cancel.mp4").exists()  # no partial Short left behind
    assert mg.ffmpeg_children() == []
