"""No narration: the original sound stays, and captions follow the transcript's own timing."""

from __future__ import annotations

from pathlib import Path

from shorts_desktop.core.render.transcript import spread_words
from shorts_desktop.core.render.types import CancelToken, Narration, Transcript


class OriginalAudioProvider:
    """`SHORTS_DESKTOP_TTS=none`: nobody speaks; an SRT/VTT keeps its cue times, plain text is
    spread over the Short's length (`max_seconds`, which the caller sets to that length)."""

    name = "none"

    def narrate(self, transcript: Transcript, voice: str, work_dir: Path, *,
                cancel: CancelToken, max_seconds: float) -> Narration:
        cancel.check()
        words = [w for w in spread_words(transcript.cues, max_seconds) if w.start < max_seconds]
        return Narration(audio=None, duration=0.0, words=words, provider=self.name,
                         voice=voice, synthetic=False)
