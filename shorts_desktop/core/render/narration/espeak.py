"""The offline voice: libespeak-ng from espeakng-loader through ctypes, byte-for-byte repeatable.

libespeak-ng keeps synthesis state in process-wide statics (its pitch-flutter phase, gain,
a time-seeded random generator), so what it says depends on everything it said before. For
the same input to give the same WAV, every narration loads the library afresh (a few
milliseconds), seeds its generator, and unloads it afterwards; a module lock serializes all
use, since the library is neither reentrant nor thread-safe.
"""

from __future__ import annotations

import ctypes
import os
import threading
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shorts_desktop.core.errors import ShortsError
from shorts_desktop.core.render.narration import (
    SENTENCE_GAP,
    Timeline,
    Word,
    check_voice,
    pcm_from_le,
    plan_pieces,
    speakable,
    speech_end,
    words_of,
)
from shorts_desktop.core.render.types import CancelToken, Narration, Transcript, WordTiming


@dataclass(frozen=True)
class EspeakVoice:
    """An espeak voice: language voice (accent) + variant (timbre), pitch and pace."""

    name: str  # as espeak_SetVoiceByName takes it, e.g. "en-us+f3"
    pitch: int  # 0..100, 50 is the voice's own
    rate: int  # words a minute (espeak's default is 175)


#: The app's voice names mapped to distinct espeak voices, loosely after the OpenAI voice of
#: the same name (accent from espeak-ng-data/lang/gmw, timbre from the variants in
#: espeak-ng-data/voices/!v: f* female, m* male). Every entry differs in voice, pitch or rate,
#: so each name sounds different offline too.
ESPEAK_VOICES: dict[str, EspeakVoice] = {
    "alloy": EspeakVoice("en-us", 50, 175),  # neutral American
    "ash": EspeakVoice("en-us+m3", 42, 170),  # lower American male
    "ballad": EspeakVoice("en-gb-x-rp+m1", 45, 160),  # soft, slower British (RP) male
    "coral": EspeakVoice("en-us+f3", 58, 175),  # warm American female
    "echo": EspeakVoice("en-029+m2", 48, 180),  # Caribbean male
    "fable": EspeakVoice("en+m4", 52, 165),  # British storyteller
    "nova": EspeakVoice("en-us+f4", 65, 185),  # bright, quick American female
    "onyx": EspeakVoice("en-gb-x-rp+m7", 25, 160),  # deep male
    "sage": EspeakVoice("en-gb-scotland+f2", 55, 170),  # calm Scottish female
    "shimmer": EspeakVoice("en+f5", 62, 178),  # light British female
}

#: Longest text given to one espeak_Synth call, so cancelling stays quick on huge cues.
_MAX_PIECE_CHARS = 1000
_RAND_SEED = 1

# speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # report a missing data folder instead of calling exit()
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_POS_CHARACTER = 1
_CHARS_UTF8 = 1  # espeakSSML (0x10) stays off: the transcript is plain text
_RATE = 1
_PITCH = 3
_BUFFER_MS = 100


class _EventId(ctypes.Union):
    _fields_ = (("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8))


class _Event(ctypes.Structure):
    _fields_ = (
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character position in the input
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms, rounded down
        ("sample", ctypes.c_int),  # exact: samples produced since the start of espeak_Synth
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    )


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)

_lock = threading.Lock()


class EspeakUnavailable(ShortsError):
    """libespeak-ng or its voice data is missing or broken."""


def _unavailable(reason: str) -> EspeakUnavailable:
    reason = " ".join(reason.split()).rstrip(".") or "unknown error"
    return EspeakUnavailable(
        f"The offline voice (eSpeak NG) could not be loaded: {reason}; reinstall shorts-desktop."
    )


def espeak_voice(voice: str) -> EspeakVoice:
    check_voice(voice)
    return ESPEAK_VOICES[voice]


@dataclass(frozen=True)
class _Spoken:
    samples: array[int]  # trailing silence trimmed
    words: list[WordTiming]  # seconds from the first sample
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate


def _unload(handle: int) -> None:
    import _ctypes

    close: Callable[[int], Any] | None = getattr(_ctypes, "dlclose", None) or getattr(
        _ctypes, "FreeLibrary", None
    )
    if close is not None:
        close(handle)


class _Engine:
    """One load of libespeak-ng, used under the module lock and unloaded afterwards."""

    def __init__(self) -> None:
        try:
            import espeakng_loader

            lib_path = str(espeakng_loader.get_library_path())
            data_path = str(espeakng_loader.get_data_path())
            lib = ctypes.CDLL(lib_path)
        except (ImportError, OSError, RuntimeError) as exc:
            raise _unavailable(str(exc) or type(exc).__name__) from None
        self._lib: ctypes.CDLL | None = lib
        self._initialized = False
        self.rate = 0
        self._pcm = bytearray()
        self._events: list[tuple[int, int]] = []
        self._error: BaseException | None = None
        self._callback = _SynthCallback(self._on_synth)
        try:
            self._declare(lib)
            rate = lib.espeak_Initialize(
                _AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, os.fsencode(data_path),
                _INITIALIZE_DONT_EXIT,
            )
            if rate <= 0:
                raise _unavailable(f"its voice data in {data_path} could not be read")
            self._initialized = True
            self.rate = rate
            lib.espeak_SetSynthCallback(self._callback)
            seed = getattr(lib, "espeak_ng_SetRandSeed", None)  # eSpeak NG 1.52+
            if seed is not None:
                seed.argtypes = (ctypes.c_long,)
                seed(_RAND_SEED)
        except AttributeError as exc:  # a symbol is missing: not the library we know
            self.close()
            raise _unavailable(str(exc)) from None
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _declare(lib: ctypes.CDLL) -> None:
        lib.espeak_Initialize.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int)
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = (_SynthCallback,)
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = (ctypes.c_char_p,)
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int)
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = (
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
        )
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Terminate.argtypes = ()
        lib.espeak_Terminate.restype = ctypes.c_int

    def close(self) -> None:
        lib, self._lib = self._lib, None
        if lib is None:
            return
        try:
            if self._initialized:
                lib.espeak_Terminate()
        finally:
            _unload(lib._handle)

    def _on_synth(self, wav: Any, count: int, events: Any) -> int:
        # Called by espeak_Synth on this thread; an exception must not cross into C.
        try:
            if events:
                i = 0
                while events[i].type != _EVENT_LIST_TERMINATED:
                    if events[i].type == _EVENT_WORD:
                        self._events.append((events[i].text_position, events[i].sample))
                    i += 1
            if wav and count > 0:
                self._pcm += ctypes.string_at(wav, count * 2)  # little-endian, as espeak writes
            return 0
        except BaseException as exc:  # pragma: no cover - a bug, reported after the call
            self._error = exc
            return 1

    def synth(self, text: str, voice: EspeakVoice) -> _Spoken:
        lib = self._lib
        assert lib is not None
        if lib.espeak_SetVoiceByName(voice.name.encode("ascii")) != 0:
            raise _unavailable(f"its voice {voice.name} is missing")
        lib.espeak_SetParameter(_RATE, voice.rate, 0)
        lib.espeak_SetParameter(_PITCH, voice.pitch, 0)
        self._pcm = bytearray()
        self._events = []
        data = text.encode("utf-8") + b"\0"
        status = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if status != 0:
            raise ShortsError(
                f"The offline voice (eSpeak NG) failed to speak (error {status}); "
                "try again or use another voice."
            )
        return _timed_words(text, pcm_from_le(bytes(self._pcm)), self._events, self.rate)


def _fill(starts: list[int | None], words: list[Word], end: int) -> list[int]:
    """Give words espeak reported no event for a start, spread by length between neighbours."""
    known: list[int | None] = []
    last = -1
    for s in starts:  # keep only strictly increasing starts
        if s is not None and s > last:
            known.append(s)
            last = s
        else:
            known.append(None)
    out: list[int] = []
    i = 0
    while i < len(known):
        if known[i] is not None:
            out.append(known[i])  # type: ignore[arg-type]
            i += 1
            continue
        j = i
        while j < len(known) and known[j] is None:
            j += 1
        # words [first, j) share [left, right) by length; `first` keeps its start if it has one
        first = i - 1 if i > 0 else i
        left = out[i - 1] if i > 0 else 0
        after = known[j] if j < len(known) else None
        right = max(left, end if after is None else after)
        weights = [len(w.text) + 1 for w in words[first:j]]
        total = sum(weights)
        acc = weights[0] if i > 0 else 0
        for k in range(i, j):
            out.append(left + (right - left) * acc // total)
            acc += weights[k - first]
        i = j
    return out


def _timed_words(
    text: str, samples: array[int], events: list[tuple[int, int]], rate: int
) -> _Spoken:
    words = words_of(text)
    end = speech_end(samples, 0, len(samples), rate)
    if not words:
        return _Spoken(samples[:end], [], rate)
    offsets = [w.start for w in words]
    starts: list[int | None] = [None] * len(words)
    for position, sample in events:
        index = max(0, bisect_right(offsets, position - 1) - 1)
        if starts[index] is None:
            starts[index] = min(max(sample, 0), len(samples))
    filled = _fill(starts, words, end)
    if end <= filled[-1]:  # nothing audible after the last word's start: keep it all
        end = len(samples)
    timings: list[WordTiming] = []
    for k, word in enumerate(words):
        start = filled[k]
        following = filled[k + 1] if k + 1 < len(words) else end
        stop = speech_end(samples, start, following, rate)  # a pause after it is not the word
        if stop <= start:
            stop = following
        timings.append(WordTiming(word.text, start / rate, stop / rate))
    return _Spoken(samples[:end], timings, rate)


@contextmanager
def _engine() -> Iterator[_Engine]:
    with _lock:
        engine = _Engine()
        try:
            yield engine
        finally:
            engine.close()


def word_timings_for(text: str, voice: str) -> tuple[list[WordTiming], float]:
    """espeak's word timings for one sentence (seconds from its start) and its spoken length.

    The words are the text's words as written; the openai provider scales them to its audio.
    """
    text = " ".join(text.split())
    if not speakable(text):
        return [], 0.0
    spec = espeak_voice(voice)
    with _engine() as engine:
        spoken = engine.synth(text, spec)
    return spoken.words, spoken.seconds


class EspeakProvider:
    """Offline narration with eSpeak NG; each app voice name is a different espeak voice."""

    name = "espeak"

    def narrate(
        self,
        transcript: Transcript,
        voice: str,
        work_dir: Path,
        *,
        cancel: CancelToken,
        max_seconds: float,
    ) -> Narration:
        spec = espeak_voice(voice)
        pieces = plan_pieces(transcript, max_chars=_MAX_PIECE_CHARS)
        timeline = Timeline(pieces, max_seconds=max_seconds, gap=SENTENCE_GAP)
        cancel.check()
        with _engine() as engine:
            for piece in pieces:
                cancel.check()
                timeline.check_next()
                spoken = engine.synth(piece.text, spec)
                timeline.add(spoken.samples, engine.rate, spoken.words)
        cancel.check()
        return timeline.narration(
            work_dir, self.name, voice,
            {"espeak_voice": spec.name, "pitch": str(spec.pitch), "rate": str(spec.rate)},
        )
