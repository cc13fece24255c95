"""Narration by OpenAI's speech API over plain HTTP; word times come from espeak, rescaled.

OpenAI returns audio only, no word timings: each request's words are timed by espeak on the
same text and stretched onto the span of sound in OpenAI's answer.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shorts_desktop.core.errors import ShortsError, UserError
from shorts_desktop.core.render.narration import (
    Timeline,
    check_voice,
    pcm_from_le,
    plan_pieces,
    proportional_words,
    speech_end,
    speech_start,
    too_long,
)
from shorts_desktop.core.render.narration.espeak import EspeakUnavailable, word_timings_for
from shorts_desktop.core.render.types import CancelToken, Narration, Transcript, WordTiming
from shorts_desktop.core.units import plural

log = logging.getLogger(__name__)

#: The speech endpoint takes at most this many characters of input per request.
MAX_INPUT_CHARS = 4096
#: Refuse before paying for more requests when the estimate (espeak's lengths, scaled by
#: OpenAI's pace so far) is this far over the limit; the exact check runs as audio arrives.
_ESTIMATE_SLACK = 1.25
_MAX_ERROR_BODY = 64 * 1024
_KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_*\-]{4,}")

NO_KEY = (
    "No OpenAI API key is set; set one with `shorts-desktop credentials set --openai` "
    "or OPENAI_API_KEY."
)
KEY_REFUSED = (
    "OpenAI refused the API key; set a valid one with `shorts-desktop credentials set --openai` "
    "or OPENAI_API_KEY."
)


class OpenAIKeyRefused(UserError):
    """OpenAI answered 401: the key is wrong, revoked or for another project."""


class OpenAIError(ShortsError):
    """OpenAI could not be reached, refused the request or sent something unusable."""


class _Retry(Exception):
    """A failure worth another try (5xx, network); `error` is what to raise if none is left."""

    def __init__(self, why: str, error: ShortsError) -> None:
        super().__init__(why)
        self.why = why
        self.error = error


@dataclass(frozen=True)
class _Guide:
    words: list[WordTiming]
    seconds: float


class OpenAIProvider:
    """Narration with OpenAI text-to-speech: one request per sentence or cue."""

    name = "openai"

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://api.openai.com/v1",
        model: str = "gpt-4o-mini-tts",
        timeout: float = 60,
        *,
        retry_delays: Sequence[float] = (1.0, 3.0),
    ) -> None:
        self._api_key = api_key.strip()
        self._base_url = base_url.rstrip("/")
        self.model = model
        self._timeout = timeout
        self._retry_delays = tuple(retry_delays)

    def __repr__(self) -> str:  # never the key
        return f"OpenAIProvider(base_url={self._base_url!r}, model={self.model!r})"

    def narrate(
        self,
        transcript: Transcript,
        voice: str,
        work_dir: Path,
        *,
        cancel: CancelToken,
        max_seconds: float,
    ) -> Narration:
        if not self._api_key:
            raise UserError(NO_KEY)
        check_voice(voice)
        pieces = plan_pieces(transcript, max_chars=MAX_INPUT_CHARS)
        timeline = Timeline(pieces, max_seconds=max_seconds, gap=0.0)
        guides: list[_Guide] = []
        for piece in pieces:
            cancel.check()
            guides.append(_guide(piece.text, voice))
        estimate = timeline.estimate([g.seconds for g in guides])
        if estimate > max_seconds * _ESTIMATE_SLACK:
            raise too_long(estimate, max_seconds)
        heard = guessed = 0.0  # seconds OpenAI took so far, and what espeak guessed for them
        for i, (piece, guide) in enumerate(zip(pieces, guides, strict=True)):
            cancel.check()
            timeline.check_next()
            rate, samples = self._speech(piece.text, voice, cancel)
            if timeline.rate and rate != timeline.rate:
                raise OpenAIError(
                    f"OpenAI sent audio at {rate} Hz after {timeline.rate} Hz, which "
                    "shorts-desktop cannot join; try again."
                )
            timeline.add(samples, rate, _fit(guide, piece.text, samples, rate))
            heard += len(samples) / rate
            guessed += guide.seconds
            if guessed > 0:  # this voice's pace is known now: stop paying for a doomed track
                pace = heard / guessed
                estimate = timeline.estimate([g.seconds * pace for g in guides[i + 1 :]])
                if estimate > max_seconds * _ESTIMATE_SLACK:
                    raise too_long(estimate, max_seconds)
        cancel.check()
        return timeline.narration(work_dir, self.name, voice, {"model": self.model})

    # --- HTTP ---------------------------------------------------------------------------------

    def _speech(self, text: str, voice: str, cancel: CancelToken) -> tuple[int, array[int]]:
        """One speech request, retried on server and network failures."""
        last: _Retry | None = None
        for delay in (0.0, *self._retry_delays):
            if last is not None:
                log.warning("OpenAI speech request failed (%s); trying again in %g s",
                            last.why, delay)
                _sleep(delay, cancel)
            try:
                return self._request(text, voice)
            except _Retry as retry:
                last = retry
        assert last is not None
        raise last.error

    def _request(self, text: str, voice: str) -> tuple[int, array[int]]:
        body = json.dumps(
            {"model": self.model, "input": text, "voice": voice, "response_format": "wav"}
        ).encode("utf-8")
        request = urllib.request.Request(
            f"{self._base_url}/audio/speech",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {self._api_key}",
                "Content-Type": "application/json",
                "Accept": "audio/wav",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                content_type = response.headers.get("Content-Type", "")
                data = response.read()
        except urllib.error.HTTPError as exc:
            try:
                payload = exc.read(_MAX_ERROR_BODY)
            except (OSError, http.client.HTTPException):
                payload = b""
            finally:
                exc.close()
            raise self._http_error(exc.code, payload) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            why = self._scrub(_network_reason(exc))
            raise _Retry(why, OpenAIError(
                f"OpenAI could not be reached ({why}); check the network or OPENAI_BASE_URL."
            )) from None
        return _read_wav(data, content_type)

    def _http_error(self, status: int, payload: bytes) -> ShortsError | _Retry:
        code, message = _api_error(payload)
        if status == 401:
            return OpenAIKeyRefused(KEY_REFUSED)
        if status == 429:
            if code == "insufficient_quota":
                return OpenAIError(
                    "OpenAI says the account's quota is used up; add credit or raise the "
                    "budget at platform.openai.com (Settings → Billing), or narrate with the "
                    "offline espeak voice."
                )
            return OpenAIError(
                "OpenAI is rate limiting this API key (too many requests); wait a minute and "
                "try again, or narrate with the offline espeak voice."
            )
        if status >= 500:
            return _Retry(f"HTTP {status}", OpenAIError(
                f"OpenAI had a problem on its side (HTTP {status}); try again later."
            ))
        detail = f": {self._scrub(message)}" if message else ""
        return OpenAIError(
            f"OpenAI refused the speech request (HTTP {status}{detail}); check the model "
            "name and OPENAI_BASE_URL."
        )

    def _scrub(self, text: str) -> str:
        """Text fit for a message or a log: one line, short, and never the key."""
        if self._api_key:
            text = text.replace(self._api_key, "[API key]")
        text = _KEY_PATTERN.sub("[API key]", " ".join(text.split()))
        return text if len(text) <= 200 else text[:199] + "…"


def _guide(text: str, voice: str) -> _Guide:
    try:
        words, seconds = word_timings_for(text, voice)
    except EspeakUnavailable as exc:
        log.warning("Word timings fall back to word lengths: %s", exc)
        return _Guide([], 0.0)
    return _Guide(words, seconds)


def _fit(guide: _Guide, text: str, samples: array[int], rate: int) -> list[WordTiming]:
    """espeak's word times stretched onto the sound in OpenAI's audio for the same text."""
    first = speech_start(samples, rate)
    last = speech_end(samples, first, len(samples), rate)
    if last <= first:  # silent answer: spread over all of it
        first, last = 0, len(samples)
    start, end = first / rate, last / rate
    if not guide.words or guide.seconds <= 0:
        return proportional_words(text, start, end)
    scale = (end - start) / guide.seconds
    return [
        WordTiming(w.text, start + w.start * scale, min(end, start + w.end * scale))
        for w in guide.words
    ]


def _sleep(seconds: float, cancel: CancelToken) -> None:
    deadline = time.monotonic() + seconds
    while True:
        cancel.check()
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.1))


def _network_reason(exc: BaseException) -> str:
    reason: object = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "its address could not be resolved"
    if isinstance(reason, TimeoutError):
        return "no answer in time"
    if isinstance(reason, ssl.SSLError):
        return f"secure connection failed: {reason.reason or reason}"
    if isinstance(reason, ConnectionError | http.client.HTTPException):
        return "the connection was dropped"
    return str(reason) or type(reason).__name__


def _api_error(payload: bytes) -> tuple[str, str]:
    """OpenAI's error code (or type) and message from an error body, when it has them."""
    try:
        doc = json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        return "", ""
    error = doc.get("error") if isinstance(doc, dict) else None
    if not isinstance(error, dict):
        return "", ""
    code = error.get("code") or error.get("type") or ""
    if error.get("type") == "insufficient_quota":
        code = "insufficient_quota"
    return str(code), str(error.get("message") or "")


def _not_wav(content_type: str) -> OpenAIError:
    kind = f" (Content-Type {content_type})" if content_type else ""
    return OpenAIError(
        f"OpenAI answered with something that is not a WAV file{kind}; check OPENAI_BASE_URL."
    )


def _read_wav(data: bytes, content_type: str = "") -> tuple[int, array[int]]:
    """Sample rate and samples of a 16-bit PCM mono WAV, streamed (unknown sizes) or not."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise _not_wav(content_type)
    pos = 12
    fmt: tuple[int, int, int, int] | None = None
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        pos += 8
        if chunk == b"fmt ":
            if size < 16 or pos + size > len(data):
                raise _not_wav(content_type)
            tag = int.from_bytes(data[pos : pos + 2], "little")
            channels = int.from_bytes(data[pos + 2 : pos + 4], "little")
            rate = int.from_bytes(data[pos + 4 : pos + 8], "little")
            bits = int.from_bytes(data[pos + 14 : pos + 16], "little")
            if tag == 0xFFFE and size >= 26:  # WAVE_FORMAT_EXTENSIBLE: the subformat says
                tag = int.from_bytes(data[pos + 24 : pos + 26], "little")
            fmt = (tag, channels, rate, bits)
        elif chunk == b"data":
            if fmt is None:
                raise _not_wav(content_type)
            tag, channels, rate, bits = fmt
            if tag != 1 or bits != 16 or channels != 1 or rate <= 0:
                raise OpenAIError(
                    "OpenAI sent a WAV that is not 16-bit mono PCM "
                    f"({plural(channels, 'channel')}, {bits}-bit, format {tag}); shorts-desktop "
                    "cannot use it."
                )
            # Streamed WAVs announce 0 or 0xFFFFFFFF bytes: the data runs to the end.
            stop = len(data) if size in (0, 0xFFFFFFFF) else min(len(data), pos + size)
            return rate, pcm_from_le(data[pos:stop])
        pos += size + (size & 1)
    raise _not_wav(content_type)
