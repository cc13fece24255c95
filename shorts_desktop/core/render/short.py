"""One Short from files in a work folder: narrate, caption, render, thumbnail.

The caller (services/processing.py) puts the inputs in the folder and stores what comes
out; nothing here knows S3 or the database.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from shorts_desktop.core.config import Settings
from shorts_desktop.core.errors import ShortsError, UserError
from shorts_desktop.core.render import captions as caption_files
from shorts_desktop.core.render.compose import ComposeSpec, render
from shorts_desktop.core.render.ffmpeg import ffmpeg_version
from shorts_desktop.core.render.probe import probe, thumbnail
from shorts_desktop.core.render.transcript import decode, parse_transcript
from shorts_desktop.core.render.types import CancelToken, Narration, Transcript

#: Seconds of picture after the last word, so the Short does not end mid-breath.
TAIL_SECONDS = 1.0
FONT_FILE = "DejaVuSans-Bold.ttf"
FONT_NAME = "DejaVu Sans"
OUTPUT_WIDTH, OUTPUT_HEIGHT = 1080, 1920
THUMBNAIL_WIDTH = 540
SMALL_THUMBNAIL_WIDTH = 108


class Narrator(Protocol):
    name: str

    def narrate(self, transcript: Transcript, voice: str, work_dir: Path, *,
                cancel: CancelToken, max_seconds: float) -> Narration: ...


@dataclass
class ShortResult:
    """The files made (bare names in the work folder, in storing order) and what they are."""

    outputs: dict[str, Path]
    durations: dict[str, float]
    manifest: dict[str, Any]
    thumbnail_small: bytes | None = None
    narration: Narration | None = field(default=None, repr=False)


def short_length(narration: Narration, source_seconds: float, max_seconds: float) -> float:
    """As long as the narration plus a tail (a shorter video loops, a longer one is cut);
    with the original audio kept, as long as the video; never over `max_seconds`."""
    if narration.audio is None:
        return round(min(source_seconds, max_seconds), 3)
    spoken = max([narration.duration, *(w.end for w in narration.words)])
    return round(min(spoken + TAIL_SECONDS, max_seconds), 3)


def make_short(*, work_dir: Path, video: str, video_name: str, transcript: bytes,
               transcript_name: str, voice: str, provider: Narrator, settings: Settings,
               fonts_dir: Path | None, on_stage: Callable[[str, float], None],
               cancel: CancelToken, nice: int = 0) -> ShortResult:
    """Make short.mp4 and its companions in `work_dir` from `video` (a bare name there;
    `video_name` is what the creator called it)."""
    del nice  # reserved: the window's ffmpeg priority
    timings: dict[str, float] = {}
    started = time.monotonic()
    on_stage("narrating", 0.0)
    try:
        info = probe(work_dir / video)
    except UserError as exc:  # name the creator's file, not the work folder's copy
        message = str(exc).replace(str(work_dir / video), video_name)
        raise UserError(message.replace(video, video_name)) from None
    parsed = parse_transcript(decode(transcript, transcript_name), transcript_name)
    cancel.check()
    budget = float(settings.max_seconds)
    if provider.name == "none":  # the original sound: captions fill the video's length
        budget = min(info.duration, budget)
    narration = provider.narrate(parsed, voice, work_dir, cancel=cancel, max_seconds=budget)
    length = short_length(narration, info.duration, float(settings.max_seconds))
    timings["narrating"] = time.monotonic() - started

    on_stage("captioning", 0.0)
    lines = caption_files.caption_lines(narration.words)
    caption_files.write_captions(lines, work_dir, OUTPUT_WIDTH, OUTPUT_HEIGHT, FONT_NAME)
    fonts = _copy_fonts(fonts_dir, work_dir) if settings.captions else None
    on_stage("captioning", 1.0)

    on_stage("rendering", 0.0)
    spec = ComposeSpec(
        source=video,
        info=info,
        output="short.mp4",
        duration=length,
        narration=narration.audio.name if narration.audio is not None else None,
        captions="captions.ass" if fonts else None,
        fonts_dir=fonts,
        reframe=settings.reframe,  # type: ignore[arg-type]
        width=OUTPUT_WIDTH,
        height=OUTPUT_HEIGHT,
    )
    render(spec, cwd=work_dir, on_progress=lambda f: on_stage("rendering", f), cancel=cancel)
    out_info = probe(work_dir / "short.mp4")
    thumb = thumbnail(work_dir / "short.mp4", work_dir / "thumbnail.jpg",
                      at=min(out_info.duration * 0.3, 3.0), width=THUMBNAIL_WIDTH)
    small = _small_thumbnail(work_dir, out_info.duration)
    on_stage("rendering", 1.0)

    outputs = {"short.mp4": work_dir / "short.mp4", "captions.srt": work_dir / "captions.srt",
               "captions.ass": work_dir / "captions.ass"}
    durations = {"short.mp4": round(out_info.duration, 3)}
    if narration.audio is not None:
        outputs["narration.wav"] = narration.audio
        durations["narration.wav"] = round(narration.duration, 3)
    outputs["thumbnail.jpg"] = thumb
    manifest: dict[str, Any] = {
        "narration": {
            "provider": narration.provider,
            "voice": narration.voice,
            "synthetic": narration.synthetic,
            "words": len(narration.words),
            "seconds": round(narration.duration, 3),
            **narration.detail,
        },
        "source": asdict(info),
        "render": {
            "width": OUTPUT_WIDTH, "height": OUTPUT_HEIGHT, "fps": spec.out_fps,
            "reframe": spec.reframe, "captions_burned_in": spec.captions is not None,
            "crf": spec.crf, "preset": spec.preset, "seconds": durations["short.mp4"],
            "caption_lines": len(lines),
        },
        "ffmpeg_version": ffmpeg_version(),
    }
    return ShortResult(outputs, durations, manifest, small, narration)


def _copy_fonts(fonts_dir: Path | None, work_dir: Path) -> str:
    """The caption font beside the render: with no font libass draws nothing, silently."""
    source = fonts_dir / FONT_FILE if fonts_dir is not None else None
    if source is None or not source.is_file():
        raise ShortsError(
            "The caption font is missing from this installation; reinstall shorts-desktop."
        )
    target = work_dir / "fonts"
    target.mkdir(exist_ok=True)
    shutil.copyfile(source, target / FONT_FILE)
    return target.name


def _small_thumbnail(work_dir: Path, seconds: float) -> bytes | None:
    path = work_dir / "thumbnail-small.jpg"
    try:
        thumbnail(work_dir / "short.mp4", path, at=min(seconds * 0.3, 3.0),
                  width=SMALL_THUMBNAIL_WIDTH)
        return path.read_bytes()
    except (ShortsError, OSError):
        return None
    finally:
        if path.exists():
            os.unlink(path)
