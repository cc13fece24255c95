"""A token bucket shared by every transfer, so the user can keep bandwidth for other things.

The rate can change while transfers run (0 = unlimited). Senders take tokens per chunk
of body they hand to the socket; a sender that takes more than is there goes into debt
and waits it off, which keeps the long-run rate exact even with large chunks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Bytes per second across all transfers; `consume` blocks until the bytes may go."""

    def __init__(self, rate: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._rate = max(0, int(rate))
        self._tokens = 0.0
        self._stamp = clock()

    @property
    def rate(self) -> int:
        return self._rate

    def set_rate(self, rate: int) -> None:
        """Change the limit now; waiting senders recompute their wait."""
        with self._cond:
            self._refill()
            self._rate = max(0, int(rate))
            self._tokens = min(self._tokens, self._burst())
            self._cond.notify_all()

    def _burst(self) -> float:
        # A quarter second of traffic, at least one 256 KiB chunk: smooth but not chatty.
        return float(max(self._rate // 4, 256 * 1024))

    def _refill(self) -> None:
        now = self._clock()
        if self._rate > 0:
            self._tokens = min(self._burst(), self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def consume(self, n: int, should_stop: Callable[[], bool] | None = None) -> None:
        """Wait until `n` bytes may be sent; returns early when `should_stop()` turns true."""
        if self._rate <= 0 or n <= 0:
            return
        with self._cond:
            self._refill()
            self._tokens -= n
            while self._rate > 0 and self._tokens < 0:
                if should_stop is not None and should_stop():
                    return
                self._cond.wait(min(0.1, -self._tokens / self._rate))
                self._refill()
            if self._rate <= 0:
                self._tokens = 0.0
