"""The in-memory life of one transfer: its state, counters and stop flags.

Pause, cancel and shutdown are requests that the worker threads notice at their next
check (between chunks of a body, before a part, during a backoff sleep), so a pause
takes effect within one chunk, not one part.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

ACTIVE_STATES = frozenset({"queued", "running"})
FINAL_STATES = frozenset({"completed", "failed", "cancelled"})


class Stop(BaseException):
    """Raised inside workers when their transfer must stop (pause, cancel, shutdown).

    A BaseException so that botocore and urllib3, which catch Exception around a send
    and retry it, let it through at once.
    """


class Transfer:
    """One upload or download known to the engine in this process."""

    def __init__(self, transfer_id: str, direction: str, request: Any, closing: threading.Event):
        self.id = transfer_id
        self.direction = direction
        self.request = request
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._closing = closing
        self._count_lock = threading.Lock()
        self._bytes = 0
        self.total = 0
        self.sha256: str | None = None  # of the bytes an upload stored, once it has
        self.state = "queued"
        self.error: str | None = None
        self.message: str | None = None
        self.pause_requested = False
        self.cancel_requested = False
        self.user_paused = False
        self.attempts = 0
        self.retries = 0
        self.future: Future[None] | None = None
        self.extra: dict[str, Any] = {}  # per-direction scratch (download ranges done, ...)

    @property
    def bytes_done(self) -> int:
        return self._bytes

    def add_bytes(self, n: int) -> None:
        with self._count_lock:
            self._bytes += n

    def set_bytes(self, n: int) -> None:
        with self._count_lock:
            self._bytes = n

    def should_stop(self) -> bool:
        return self.cancel_requested or self.pause_requested or self._closing.is_set()

    def check(self) -> None:
        if self.should_stop():
            raise Stop()

    def sleep(self, seconds: float) -> None:
        """Back off for `seconds`, but wake up (raising Stop) as soon as a stop is asked."""
        with self.changed:
            self.changed.wait_for(self.should_stop, timeout=seconds)
        self.check()

    def set_state(self, state: str) -> None:
        with self.changed:
            self.state = state
            self.changed.notify_all()

    def poke(self) -> None:
        """Wake sleepers so they re-check the stop flags."""
        with self.changed:
            self.changed.notify_all()

    def wait_for(self, states: Iterable[str], timeout: float | None = None) -> str:
        """Block until one of `states`; once the engine closes, also when the transfer will
        not move again in this process (it is then queued, or cancelling), so no waiter is
        left blocking the process's exit."""
        wanted = frozenset(states)

        def settled() -> bool:
            return self.state in wanted or (self._closing.is_set() and self.state != "running")

        with self.changed:
            self.changed.wait_for(settled, timeout=timeout)
            return self.state
