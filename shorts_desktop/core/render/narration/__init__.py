"""Narration providers: a voice track plus per-word timings, and the rules they share."""

from __future__ import annotations

import re
import sys
import wave
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from shorts_desktop.core.errors import UserError
from shorts_desktop.core.render.types import CancelToken, Narration, Transcript, WordTiming

#: The voice names a job can ask for (OpenAI's); the espeak provider maps each to its own voice.
VOICE_NAMES = (
    "alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer",
)

#: Pause between sentences of plain text and between the parts of one long cue (seconds).
SENTENCE_GAP = 0.25
#: |sample| at or below this is silence (about -44 dBFS); used to trim trailing silence.
SILENCE_LEVEL = 200
#: Speech kept after the last loud sample, so trimming never clips a fading consonant.
_TAIL_MARGIN = 0.03
#: Nobody speaks faster than this (25 characters a second): a transcript whose length at this
#: pace is already over the limit is refused before anything is synthesized.
_FASTEST_SECONDS_PER_CHAR = 0.04
#: A usual pace, to estimate the part not yet spoken when the limit is crossed.
_TYPICAL_SECONDS_PER_CHAR = 0.065

_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*$")
_ABBREVIATIONS = frozenset({
    "mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "sr.", "jr.", "vs.", "e.g.", "i.e.", "no.",
    "approx.", "fig.",
})
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class NarrationProvider(Protocol):
    """Makes the voice track of a Short; `narrate` runs in a worker thread."""

    name: str

    def narrate(
        self,
        transcript: Transcript,
        voice: str,
        work_dir: Path,
        *,
        cancel: CancelToken,
        max_seconds: float,
    ) -> Narration: ...


def check_voice(voice: str) -> None:
    if voice not in VOICE_NAMES:
        raise UserError(f"Unknown voice {voice!r}; choose one of {', '.join(VOICE_NAMES)}.")


# --- words and pieces -------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    """A caption word: its text as written and where it sits in its piece's text."""

    text: str
    start: int  # character offsets in the piece text
    end: int


def speakable(text: str) -> bool:
    return any(c.isalnum() for c in text)


def words_of(text: str) -> list[Word]:
    """Words as written, punctuation kept; a lone dash or ellipsis joins its neighbour.

    So "Hello — world," gives "Hello —" and "world,": every caption word has something to say.
    """
    words: list[Word] = []
    lead: int | None = None  # start of punctuation met before the first real word
    for m in re.finditer(r"\S+", text):
        if speakable(m.group()):
            start = m.start() if lead is None else lead
            lead = None
            words.append(Word(text[start : m.end()], start, m.end()))
        elif words:
            last = words[-1]
            words[-1] = Word(text[last.start : m.end()], last.start, m.end())
        elif lead is None:
            lead = m.start()
    return words


@dataclass(frozen=True)
class Piece:
    """What one synthesis call says: a sentence of plain text, or a cue of a timed transcript."""

    text: str  # words separated by single spaces
    cue_start: float | None  # the cue's start time, on the first piece of a timed cue only


def _clean(text: str) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())


def split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    current: list[str] = []
    for token in text.split():
        current.append(token)
        if _SENTENCE_END.search(token) and token.lower() not in _ABBREVIATIONS:
            sentences.append(" ".join(current))
            current = []
    if current:
        sentences.append(" ".join(current))
    return sentences


def _pack(units: list[str], max_chars: int) -> list[str]:
    """Join units with spaces into chunks of at most max_chars (a unit too long is cut)."""
    chunks: list[str] = []
    current = ""
    for unit in units:
        while len(unit) > max_chars:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(unit[:max_chars])
            unit = unit[max_chars:]
        if not current:
            current = unit
        elif len(current) + 1 + len(unit) <= max_chars:
            current = f"{current} {unit}"
        else:
            chunks.append(current)
            current = unit
    if current:
        chunks.append(current)
    return chunks


def limit_length(text: str, max_chars: int) -> list[str]:
    """Split text longer than max_chars at sentence ends, else between words."""
    if len(text) <= max_chars:
        return [text]
    chunks: list[str] = []
    for sentence in split_sentences(text):
        if len(sentence) <= max_chars:
            chunks.append(sentence)
        else:
            chunks.extend(_pack(sentence.split(), max_chars))
    return _pack(chunks, max_chars)


def plan_pieces(transcript: Transcript, *, max_chars: int) -> list[Piece]:
    """The pieces to synthesize, in order: plain text by sentence, a timed transcript by cue."""
    pieces: list[Piece] = []
    for cue in transcript.cues:
        text = _clean(cue.text)
        if not speakable(text):
            continue
        parts = [text] if transcript.timed else split_sentences(text)
        chunks = [c for part in parts for c in limit_length(part, max_chars) if speakable(c)]
        for i, chunk in enumerate(chunks):
            start = cue.start if transcript.timed and i == 0 else None
            pieces.append(Piece(chunk, start))
    if not pieces:
        raise UserError(
            "The transcript has nothing to say: it has no words, only blank lines, "
            "punctuation or symbols."
        )
    return pieces


def proportional_words(text: str, start: float, end: float) -> list[WordTiming]:
    """Word times spread over [start, end] by their length, when no better guide exists."""
    words = words_of(text)
    total = sum(len(w.text) + 1 for w in words)
    out: list[WordTiming] = []
    at = 0
    for w in words:
        a = start + (end - start) * at / total
        at += len(w.text) + 1
        out.append(WordTiming(w.text, a, start + (end - start) * at / total))
    return out


# --- audio ------------------------------------------------------------------------------------


def pcm_from_le(data: bytes) -> array[int]:
    """16-bit little-endian PCM bytes as samples (a trailing odd byte is dropped)."""
    samples = array("h")
    samples.frombytes(data[: len(data) // 2 * 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def pcm_to_le(samples: array[int]) -> bytes:
    if sys.byteorder == "big":
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def _loud(segment: array[int]) -> bool:
    return bool(segment) and (max(segment) > SILENCE_LEVEL or min(segment) < -SILENCE_LEVEL)


def speech_end(samples: array[int], lo: int, hi: int, rate: int) -> int:
    """End of the sound in samples[lo:hi], trailing silence trimmed (lo when all silent)."""
    window = max(1, rate // 200)  # 5 ms
    end = hi
    while end > lo:
        begin = max(lo, end - window)
        if _loud(samples[begin:end]):
            return min(hi, end + round(_TAIL_MARGIN * rate))
        end = begin
    return lo


def speech_start(samples: array[int], rate: int) -> int:
    """First sample of sound (len(samples) when all silent)."""
    window = max(1, rate // 200)
    for begin in range(0, len(samples), window):
        if _loud(samples[begin : begin + window]):
            return begin
    return len(samples)


# --- length -----------------------------------------------------------------------------------


def format_length(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def too_long(seconds: float, max_seconds: float) -> UserError:
    return UserError(
        f"The narration would be about {format_length(seconds)} long; a Short can be at most "
        f"{max_seconds:g} s — shorten the transcript."
    )


class Timeline:
    """The narration assembled piece by piece: where each piece goes, and the length limit.

    A piece starts `gap` after the previous one; the first piece of a timed cue starts at the
    cue's time, or right after the previous speech when that overruns it (never overlapping).
    """

    def __init__(self, pieces: Sequence[Piece], *, max_seconds: float, gap: float) -> None:
        self._pieces = list(pieces)
        self._max = max_seconds
        self._gap = gap
        self._rate = 0
        self._samples = array("h")
        self._words: list[WordTiming] = []
        self._next = 0
        self._spoken_chars = 0
        self._spoken_seconds = 0.0
        # Cheap, before any synthesis: even spoken very fast it would be too long.
        if self.estimate(None, per_char=_FASTEST_SECONDS_PER_CHAR) > max_seconds:
            raise too_long(self.estimate(None, per_char=_TYPICAL_SECONDS_PER_CHAR), max_seconds)

    @property
    def rate(self) -> int:
        """Sample rate of what was added so far (0 before the first piece)."""
        return self._rate

    @property
    def words(self) -> list[WordTiming]:
        return list(self._words)

    @property
    def end(self) -> float:
        return len(self._samples) / self._rate if self._rate else 0.0

    def _place(self, index: int, cursor: float) -> float:
        cue_start = self._pieces[index].cue_start
        if cue_start is not None:
            return max(cue_start, cursor)
        return cursor if index == 0 else cursor + self._gap

    def estimate(self, lengths: Sequence[float] | None, *, per_char: float = 0.0) -> float:
        """Projected total length: the pieces not yet added take `lengths` (or per_char each)."""
        cursor = self.end
        for offset, index in enumerate(range(self._next, len(self._pieces))):
            length = (
                lengths[offset] if lengths is not None
                else len(self._pieces[index].text) * per_char
            )
            cursor = self._place(index, cursor) + length
        return cursor

    def _pace(self) -> float:
        if self._spoken_chars and self._spoken_seconds:
            return self._spoken_seconds / self._spoken_chars
        return _TYPICAL_SECONDS_PER_CHAR

    def check_next(self) -> None:
        """Refuse before synthesizing a piece that would start past the limit."""
        if self._next < len(self._pieces) and self._place(self._next, self.end) > self._max:
            raise too_long(self.estimate(None, per_char=self._pace()), self._max)

    def add(self, samples: array[int], rate: int, words: Sequence[WordTiming]) -> None:
        """Place the next piece's audio; `words` are relative to the start of `samples`."""
        if self._next >= len(self._pieces):
            raise ValueError("every piece has been added already")
        if not self._rate:
            self._rate = rate
        elif rate != self._rate:
            raise ValueError(f"sample rate {rate} after {self._rate}")
        at = max(len(self._samples), round(self._place(self._next, self.end) * rate))
        if at > len(self._samples):
            self._samples.extend(array("h", [0]) * (at - len(self._samples)))
        offset = at / rate
        self._words.extend(
            WordTiming(w.text, offset + w.start, offset + w.end) for w in words
        )
        self._samples.extend(samples)
        self._spoken_chars += len(self._pieces[self._next].text)
        self._spoken_seconds += len(samples) / rate
        self._next += 1
        if self.end > self._max:
            raise too_long(max(self.end, self.estimate(None, per_char=self._pace())), self._max)

    def write(self, path: Path) -> float:
        """Write the narration as a 16-bit mono WAV; returns its length in seconds."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self._rate)
            out.writeframes(pcm_to_le(self._samples))
        return self.end

    def narration(self, work_dir: Path, provider: str, voice: str,
                  detail: dict[str, str]) -> Narration:
        """The finished track as `narration.wav` in the work folder, with its word timings."""
        path = work_dir / "narration.wav"
        duration = self.write(path)
        return Narration(audio=path, duration=duration, words=self.words, provider=provider,
                         voice=voice, synthetic=True, detail=detail)
