"""Runs work off the GUI thread and calls back on it.

Worker threads never touch widgets: they put results on a thread-safe queue that a
QTimer drains a few times a second on the GUI thread. Progress reports are coalesced
by key, so a row repaints at most once per tick (~10 times a second) however many
bytes arrive. Tests can pass `inline=True` to run the work synchronously.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from shorts_desktop.core.failures import explain

if TYPE_CHECKING:
    from shorts_desktop.core.config import AppPaths

log = logging.getLogger(__name__)

UNEXPECTED = "Unexpected error, see the log (Help ▸ Open log folder)."


def describe_error(exc: BaseException, paths: AppPaths | None = None) -> str:
    """The one sentence a user sees for an exception: a known condition of the world (a
    full disk, a damaged database under `paths`) in its own words; a bug is logged in full."""
    known = explain(exc, paths)
    if known is not None:
        return str(known)
    log.error("unexpected error in a background task", exc_info=exc)
    return UNEXPECTED


class TaskRunner(QObject):
    """A bounded pool for background work with results delivered on the GUI thread."""

    #: Emitted on the GUI thread when a task fails: (title, sentence).
    failed = Signal(str, str)
    #: Emitted when the number of running tasks changes.
    busy_changed = Signal(int)

    def __init__(self, parent: QObject | None = None, *, workers: int = 4,
                 inline: bool = False, interval_ms: int = 100) -> None:
        super().__init__(parent)
        self._inline = inline
        self._pool = None if inline else ThreadPoolExecutor(workers, "shorts-desktop-task")
        self._events: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]]] = (
            queue.SimpleQueue()
        )
        self._progress: dict[str, tuple[Callable[..., None], tuple[Any, ...]]] = {}
        self._lock = threading.Lock()
        self._running = 0
        self._closed = False
        #: The app's folders, so that a failure there is worded for them (set by the window).
        self.paths: AppPaths | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.drain)
        self._timer.start()

    @property
    def running(self) -> int:
        return self._running

    def submit(
        self,
        work: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        title: str = "",
    ) -> None:
        """Run `work()` in the pool; `on_done(result)` or `on_error(sentence)` run on the GUI.

        After `shutdown()` (the window is closing) new work is dropped.
        """
        if self._closed:
            return
        self._set_running(+1)

        def run() -> None:
            try:
                result = work()
            except BaseException as exc:
                message = describe_error(exc, self.paths)
                self._post(self._finish_error, (on_error, title, message))
            else:
                self._post(self._finish_ok, (on_done, result))

        if self._pool is None:
            run()
            self.drain()
        else:
            self._pool.submit(run)

    def report(self, key: str, callback: Callable[..., None], *args: Any) -> None:
        """From a worker: deliver `callback(*args)` on the GUI thread, keeping only the latest."""
        with self._lock:
            self._progress[key] = (callback, args)
        if self._pool is None:
            self.drain()

    def call_soon(self, callback: Callable[..., None], *args: Any) -> None:
        """From a worker: deliver `callback(*args)` on the GUI thread, in order."""
        self._post(callback, args)

    def _post(self, callback: Callable[..., None], args: tuple[Any, ...]) -> None:
        self._events.put((callback, args))

    def drain(self) -> None:
        with self._lock:
            progress, self._progress = self._progress, {}
        for callback, args in progress.values():
            callback(*args)
        while True:
            try:
                callback, args = self._events.get_nowait()
            except queue.Empty:
                break
            callback(*args)

    def _finish_ok(self, on_done: Callable[[Any], None] | None, result: Any) -> None:
        self._set_running(-1)
        if on_done is not None:
            on_done(result)

    def _finish_error(
        self, on_error: Callable[[str], None] | None, title: str, message: str
    ) -> None:
        self._set_running(-1)
        if on_error is not None:
            on_error(message)
        else:
            self.failed.emit(title or "Something went wrong", message)

    def _set_running(self, delta: int) -> None:
        self._running += delta
        self.busy_changed.emit(self._running)

    def shutdown(self) -> None:
        self._closed = True
        self._timer.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self.drain()
