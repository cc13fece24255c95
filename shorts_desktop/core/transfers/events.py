"""Progress and state events for subscribers, Qt-free and coalesced.

Workers only bump counters and post state changes; one dispatcher thread calls the
subscribers, so a slow subscriber never stalls a socket and subscribers never run
concurrently with each other. Progress is sampled (at most ~10 calls a second per
transfer); state events are delivered in order, within BATCH_SECONDS while busy.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

log = logging.getLogger(__name__)


class EventKind(StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    PROGRESS = "progress"
    RETRYING = "retrying"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_KINDS = frozenset({EventKind.COMPLETED, EventKind.FAILED, EventKind.CANCELLED})


@dataclass(frozen=True)
class TransferEvent:
    """One thing that happened to one transfer; `message` explains failures and restarts."""

    transfer_id: str
    kind: EventKind
    direction: str  # "upload" | "download"
    bytes_done: int
    total: int
    rate: float = 0.0  # bytes per second, smoothed
    eta: float | None = None  # seconds, when a rate is known
    message: str | None = None

    @property
    def fraction(self) -> float:
        return 1.0 if self.total <= 0 else min(1.0, self.bytes_done / self.total)


Subscriber = Callable[[TransferEvent], None]


class Progressing(Protocol):
    """What the hub needs to sample a running transfer."""

    @property
    def id(self) -> str: ...
    @property
    def direction(self) -> str: ...
    @property
    def total(self) -> int: ...
    @property
    def bytes_done(self) -> int: ...


@dataclass
class _Rate:
    stamp: float
    bytes: int
    rate: float = 0.0
    last_emit: float = 0.0
    last_bytes: int = -1


#: While transfers are busy the dispatcher delivers what was posted every this many
#: seconds instead of waking for each event (a small file posts four): 2,000 small files
#: cost ~100 wake-ups instead of ~8,000. An event after a quiet spell goes out at once.
BATCH_SECONDS = 0.02


class EventHub:
    """Fans events out to subscribers on its own thread."""

    def __init__(self, interval: float = 0.1, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._subscribers: dict[str | None, list[Subscriber]] = {}  # None: every transfer
        self._lock = threading.Lock()
        self._pending: list[TransferEvent] = []
        self._wake = threading.Event()
        self._asleep = False  # the dispatcher waits for a post to wake it
        self._active: dict[str, Progressing] = {}
        self._rates: dict[str, _Rate] = {}
        self._thread: threading.Thread | None = None
        self._stopping = False

    def subscribe(self, callback: Subscriber,
                  transfer_id: str | None = None) -> Callable[[], None]:
        """Add a subscriber (to one transfer's events only, with `transfer_id`: a caller
        waiting for its own file is not called for everyone else's); returns the function
        that removes it again."""
        with self._lock:
            self._subscribers.setdefault(transfer_id, []).append(callback)

        def unsubscribe() -> None:
            with self._lock:
                found = self._subscribers.get(transfer_id, [])
                if callback in found:
                    found.remove(callback)
                if not found and transfer_id is not None:
                    self._subscribers.pop(transfer_id, None)

        return unsubscribe

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._run, name="transfers-events", daemon=True
                )
                self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Deliver what is queued, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stopping = True
        self._wake.set()
        if thread is not None:
            thread.join(timeout)

    def post(self, event: TransferEvent) -> None:
        """Queue a state event (never dropped or merged)."""
        with self._lock:
            self._pending.append(event)
            wake, self._asleep = self._asleep, False
        if wake:
            self._wake.set()

    def track(self, item: Progressing) -> None:
        """Sample this transfer's progress until `untrack`."""
        with self._lock:
            self._active[item.id] = item
            done = item.bytes_done
            self._rates[item.id] = _Rate(self._clock(), done, last_bytes=done)
            wake, self._asleep = self._asleep, False  # idle, it sleeps until woken
        if wake:
            self._wake.set()

    def untrack(self, transfer_id: str) -> None:
        with self._lock:
            self._active.pop(transfer_id, None)
            self._rates.pop(transfer_id, None)

    def rate_of(self, transfer_id: str) -> float:
        with self._lock:
            r = self._rates.get(transfer_id)
            return r.rate if r else 0.0

    # -- dispatcher -------------------------------------------------------------------------

    def _run(self) -> None:
        next_sample = self._clock() + self.interval
        while True:
            self._deliver_pending()
            now = self._clock()
            if now >= next_sample:
                self._sample()
                next_sample = now + self.interval
            if self._stopping:
                self._deliver_pending()  # what was posted while it sampled
                return
            with self._lock:  # a post or stop after this sets the event again
                idle = not self._pending and not self._active
                self._asleep = idle
                self._wake.clear()
                if self._stopping:
                    continue
            if idle:  # nothing to sample: sleep until a post (or stop) wakes us
                self._wake.wait()
                next_sample = max(next_sample, self._clock())
            else:
                self._wake.wait(min(BATCH_SECONDS, max(0.0, next_sample - self._clock())))

    def _deliver_pending(self) -> None:
        with self._lock:
            events, self._pending = self._pending, []
        for event in events:
            self._deliver(self._with_rate(event))

    def _with_rate(self, event: TransferEvent) -> TransferEvent:
        if event.kind in FINAL_KINDS or event.kind == EventKind.QUEUED:
            return event
        rate = self.rate_of(event.transfer_id)
        if rate <= 0:
            return event
        eta = max(0.0, (event.total - event.bytes_done) / rate)
        return TransferEvent(
            event.transfer_id, event.kind, event.direction, event.bytes_done, event.total,
            rate, eta, event.message,
        )

    def _sample(self) -> None:
        now = self._clock()
        out: list[TransferEvent] = []
        with self._lock:
            for tid, item in self._active.items():
                r = self._rates.setdefault(tid, _Rate(now, item.bytes_done))
                done = item.bytes_done
                elapsed = now - r.stamp
                if elapsed > 0:
                    instant = max(0.0, (done - r.bytes) / elapsed)
                    r.rate = instant if r.rate == 0 else 0.3 * instant + 0.7 * r.rate
                    r.stamp, r.bytes = now, done
                if done == r.last_bytes or now - r.last_emit < self.interval * 0.9:
                    continue
                r.last_emit, r.last_bytes = now, done
                eta = (item.total - done) / r.rate if r.rate > 0 else None
                out.append(
                    TransferEvent(
                        tid, EventKind.PROGRESS, item.direction, done, item.total, r.rate, eta
                    )
                )
        for event in out:
            self._deliver(event)

    def _deliver(self, event: TransferEvent) -> None:
        with self._lock:
            subscribers = [*self._subscribers.get(None, ()),
                           *self._subscribers.get(event.transfer_id, ())]
        for callback in subscribers:
            try:
                callback(event)
            except Exception:  # a subscriber's bug must not stop the transfers
                log.exception("transfer event subscriber failed")
