"""A local stand-in for OpenAI's speech endpoint: records requests, answers WAVs or failures.

Usage: `with OpenAIStub() as stub: OpenAIProvider(key, base_url=stub.base_url)`. Each request
gets a 16-bit mono sine WAV `seconds_per_char` long per input character, unless a failure
was queued with `fail`, `garbage` or `hang` (each used by one request, in order).
"""

from __future__ import annotations

import functools
import json
import math
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Recorded:
    """One request as the stub saw it."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]


@dataclass(frozen=True)
class _Action:
    kind: str  # error | garbage | hang
    status: int = 200
    payload: bytes = b""
    seconds: float = 0.0


@functools.cache
def _one_second(rate: int) -> bytes:
    # 220 whole cycles: a second of it tiles without a click.
    return b"".join(
        struct.pack("<h", round(8000 * math.sin(2 * math.pi * 220 * i / rate)))
        for i in range(rate)
    )


def sine_wav(samples: int, rate: int, *, streaming: bool = False) -> bytes:
    """A 220 Hz 16-bit mono WAV; `streaming` announces unknown sizes, as OpenAI's stream does."""
    second = _one_second(rate)
    pcm = (second * (samples // rate + 1))[: samples * 2]
    riff_size = 0xFFFFFFFF if streaming else 36 + len(pcm)
    data_size = 0xFFFFFFFF if streaming else len(pcm)
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF" + struct.pack("<I", riff_size) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", data_size) + pcm
    )


class OpenAIStub:
    """POST /v1/audio/speech on 127.0.0.1, on a free port, in a background thread."""

    def __init__(
        self, *, seconds_per_char: float = 0.06, rate: int = 24000, streaming: bool = True
    ) -> None:
        self.seconds_per_char = seconds_per_char
        self.rate = rate
        self.streaming = streaming
        #: When not empty, the sample rate of the next answers, one per request.
        self.rates: list[int] = []
        self.requests: list[Recorded] = []
        self._actions: list[_Action] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- what the tests use ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the stub is not running"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def samples_for(self, text: str) -> int:
        return round(len(text) * self.seconds_per_char * self.rate)

    def seconds_for(self, text: str) -> float:
        """Exact length of the WAV the stub answers for this input."""
        return self.samples_for(text) / self.rate

    def fail(self, status: int, *, code: str = "", message: str = "", times: int = 1) -> None:
        """Answer the next `times` requests with an OpenAI-style JSON error."""
        body = {"error": {"message": message or f"stub error {status}", "type": code or None,
                          "code": code or None}}
        self._queue(_Action("error", status, json.dumps(body).encode()), times)

    def garbage(self, times: int = 1) -> None:
        """Answer 200 with an HTML page instead of audio."""
        self._queue(_Action("garbage", 200, b"<html><body>Welcome!</body></html>"), times)

    def hang(self, seconds: float, times: int = 1) -> None:
        """Wait before answering (to trip a client timeout)."""
        self._queue(_Action("hang", seconds=seconds), times)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> OpenAIStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                with stub._lock:
                    stub.requests.append(Recorded(
                        "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                    ))
                    action = stub._actions.pop(0) if stub._actions else None
                    rate = stub.rates.pop(0) if stub.rates else stub.rate
                if self.path != "/v1/audio/speech":
                    return self._send(404, b'{"error": {"message": "no such route"}}',
                                      "application/json")
                if action is not None and action.kind == "hang":
                    time.sleep(action.seconds)
                elif action is not None and action.kind == "error":
                    return self._send(action.status, action.payload, "application/json")
                elif action is not None and action.kind == "garbage":
                    return self._send(200, action.payload, "text/html")
                samples = round(len(str(body.get("input", ""))) * stub.seconds_per_char * rate)
                wav = sine_wav(samples, rate, streaming=stub.streaming)
                self._send(200, wav, "audio/wav")

            def _send(self, status: int, payload: bytes, content_type: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="openai-stub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _queue(self, action: _Action, times: int) -> None:
        with self._lock:
            self._actions.extend([action] * times)
