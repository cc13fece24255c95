"""The plain records passed between the render steps (no behaviour, no I/O)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shorts_desktop.core.errors import ShortsError

#: Stages a job goes through, in order, as the Jobs panel and the CLI name them.
STAGES = ("fetching", "narrating", "captioning", "rendering", "storing")

StageProgress = Callable[[str, float], None]
"""Called with (stage, fraction of that stage done, 0..1); from a worker thread."""


class RenderCancelled(ShortsError):
    """The user cancelled the job while it was being made."""


class CancelToken:
    """Set from any thread; long steps check it and stop (ffmpeg is killed)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise RenderCancelled("The job was cancelled.")


@dataclass(frozen=True)
class VideoInfo:
    """What ffmpeg says about a source video."""

    duration: float  # seconds
    width: int  # as displayed (rotation applied)
    height: int
    fps: float
    has_audio: bool
    video_codec: str = ""
    audio_codec: str = ""
    rotation: int = 0  # degrees, from the display matrix


@dataclass(frozen=True)
class Cue:
    """One timed piece of a transcript (an SRT/VTT cue, or a sentence of plain text)."""

    text: str
    start: float | None = None  # seconds; None for plain text (no timing of its own)
    end: float | None = None


@dataclass(frozen=True)
class Transcript:
    """A parsed transcript: what is to be said, and its own timings when it has them."""

    cues: list[Cue]
    timed: bool  # True for SRT/VTT: cue times are kept

    @property
    def text(self) -> str:
        return " ".join(c.text for c in self.cues)


@dataclass(frozen=True)
class WordTiming:
    """One spoken word and when it is heard in the Short (seconds from its start)."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Narration:
    """The voice track (None when the original audio is kept) and its word timings."""

    audio: Path | None  # a WAV in the work folder
    duration: float  # seconds of speech, from the first sample (0 for `none`)
    words: list[WordTiming]
    provider: str  # espeak | openai | none
    voice: str  # the job's voice name (alloy, ...)
    synthetic: bool  # True when a machine speaks (YouTube's containsSyntheticMedia)
    detail: dict[str, str] = field(default_factory=dict)  # e.g. the espeak voice used


@dataclass(frozen=True)
class CaptionLine:
    """At most three words shown together; each word highlighted while it is spoken."""

    words: list[WordTiming]

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)
