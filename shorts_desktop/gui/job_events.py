"""The job runner's events, from its worker thread to typed signals on the GUI thread.

The runner calls `JobEventBridge.attach`'s callback on its own thread; the callback only
appends to a list under a lock (it touches no Qt object, so it is harmless even after
the window has gone). A timer on the GUI thread drains the list ten times a second and
keeps only the newest progress of each job, so a row repaints at most ten times a second
however often ffmpeg reports.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from shorts_desktop.core.services.processing import RunnerEvent

if TYPE_CHECKING:
    from shorts_desktop.core.services.processing import JobRunner

DRAIN_INTERVAL_MS = 100
FINAL_KINDS = ("processed", "failed", "cancelled")


class _Inbox:
    """Thread-safe list of runner events; consecutive progress of one job is merged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[RunnerEvent] = []

    def put(self, event: RunnerEvent) -> None:
        with self._lock:
            last = self._events[-1] if self._events else None
            if (event.kind == "progress" and last is not None and last.kind == "progress"
                    and last.job_id == event.job_id):
                self._events[-1] = event
            else:
                self._events.append(event)

    def take(self) -> list[RunnerEvent]:
        with self._lock:
            events, self._events = self._events, []
        return events


def coalesce(events: list[RunnerEvent]) -> list[RunnerEvent]:
    """The events in order, with only the last progress of each job since its last other
    event (older progress would only be painted over)."""
    keep: list[RunnerEvent] = []
    last_progress: dict[str, int] = {}
    for event in events:
        if event.kind == "progress":
            index = last_progress.get(event.job_id)
            if index is not None:
                keep[index] = event
                continue
            last_progress[event.job_id] = len(keep)
        else:
            last_progress.pop(event.job_id, None)
        keep.append(event)
    return keep


class JobEventBridge(QObject):
    """Subscribes to job runners and re-emits what they say on the GUI thread."""

    #: A job joined the runner's queue: (job id).
    queued = Signal(str)
    #: The newest progress of a running job: (JobProgress).
    progress = Signal(object)
    #: A job ended: (job id, "processed" | "failed" | "cancelled", the sentence).
    finished = Signal(str, str, str)

    def __init__(self, parent: QObject | None = None,
                 interval_ms: int = DRAIN_INTERVAL_MS) -> None:
        super().__init__(parent)
        self._inbox = _Inbox()
        self._attached: weakref.WeakSet[JobRunner] = weakref.WeakSet()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.drain)
        self._timer.start()

    def attach(self, runner: JobRunner) -> None:
        """Listen to `runner` (once however often it is called)."""
        if runner in self._attached:
            return
        self._attached.add(runner)
        runner.subscribe(self._inbox.put)

    def post(self, event: RunnerEvent) -> None:
        """Deliver an event as if a runner had sent it (from any thread)."""
        self._inbox.put(event)

    def drain(self) -> None:
        for event in coalesce(self._inbox.take()):
            self._deliver(event)

    def _deliver(self, event: RunnerEvent) -> None:
        if event.kind == "queued":
            self.queued.emit(event.job_id)
        elif event.kind == "progress" and event.progress is not None:
            self.progress.emit(event.progress)
        elif event.kind in FINAL_KINDS:
            self.finished.emit(event.job_id, event.kind, event.message)

    def stop(self) -> None:
        self._timer.stop()
