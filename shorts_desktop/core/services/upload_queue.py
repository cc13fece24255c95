"""A queue of uploads run on a bounded pool, with pause, resume, cancel and retry.

Subscribers get `QueueEvent`s from worker threads (never Qt); progress is coalesced to
at most ~10 events a second per item. Pausing holds a running upload at its next
chunk; cancelling stops it and removes what was stored. The transfer engine
(core/transfers) will take over the byte moving behind this same interface.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from shorts_desktop.core.errors import ShortsError, TransferCancelled
from shorts_desktop.core.services.uploads import UploadService

log = logging.getLogger(__name__)
PROGRESS_INTERVAL = 0.1
ACTIVE_STATES = ("queued", "uploading", "paused")


@dataclass(frozen=True)
class QueueItem:
    """A snapshot of one queued file, safe to hand to another thread."""

    item_id: int
    name: str
    kind: str
    is_temp: bool
    size: int
    state: str = "queued"  # queued, uploading, paused, completed, failed, cancelled
    bytes_done: int = 0
    rate: float = 0.0
    eta: float | None = None
    error: str | None = None
    upload: dict[str, Any] | None = None
    path: Path | None = None
    text: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class QueueEvent:
    kind: str  # added, state, progress, finished (the whole queue went idle)
    item: QueueItem | None = None


Subscriber = Callable[[QueueEvent], None]


class _Control:
    """Per-item switches the uploading thread looks at between chunks."""

    def __init__(self) -> None:
        self.running = threading.Event()
        self.running.set()
        self.cancelled = False


class UploadQueue:
    def __init__(self, uploads: UploadService, files_in_flight: int = 2) -> None:
        self.uploads = uploads
        self._pool = ThreadPoolExecutor(max(1, files_in_flight), "shorts-desktop-upload")
        self._lock = threading.Lock()
        self._items: dict[int, QueueItem] = {}
        self._controls: dict[int, _Control] = {}
        self._subscribers: list[Subscriber] = []
        self._ids = itertools.count(1)
        self._paused_all = False

    # -- observing --------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> None:
        self._subscribers.append(callback)

    def items(self) -> list[QueueItem]:
        with self._lock:
            return list(self._items.values())

    def active_count(self) -> int:
        return sum(1 for i in self.items() if i.state in ACTIVE_STATES)

    def _emit(self, event: QueueEvent) -> None:
        for callback in list(self._subscribers):
            callback(event)

    def _update(self, item_id: int, kind: str = "state", **changes: Any) -> QueueItem:
        with self._lock:
            item = replace(self._items[item_id], **changes)
            self._items[item_id] = item
        self._emit(QueueEvent(kind, item))
        return item

    # -- adding -----------------------------------------------------------------------------

    def add_file(self, path: Path, kind: str, is_temp: bool = True) -> QueueItem:
        """Validate and queue a file; raises UserError for a file that cannot be uploaded."""
        self.uploads.inspect(path, kind)
        item = QueueItem(next(self._ids), path.name, kind, is_temp, path.stat().st_size,
                         path=path)
        return self._enqueue(item)

    def add_text(self, text: str, name: str = "transcript.txt",
                 is_temp: bool = True) -> QueueItem:
        from shorts_desktop.core.services.files import decode_transcript

        decode_transcript(text.encode("utf-8"), "The transcript text")
        item = QueueItem(next(self._ids), name, "transcript", is_temp,
                         len(text.encode("utf-8")), text=text)
        return self._enqueue(item)

    def _enqueue(self, item: QueueItem) -> QueueItem:
        control = _Control()
        if self._paused_all:
            control.running.clear()
            item = replace(item, state="paused")
        with self._lock:
            self._items[item.item_id] = item
            self._controls[item.item_id] = control
        self._emit(QueueEvent("added", item))
        self._pool.submit(self._run, item.item_id)
        return item

    # -- controlling ------------------------------------------------------------------------

    def pause(self, item_id: int) -> None:
        item = self._items[item_id]
        if item.state in ("queued", "uploading"):
            self._controls[item_id].running.clear()
            self._update(item_id, state="paused", rate=0.0, eta=None)

    def resume(self, item_id: int) -> None:
        item = self._items[item_id]
        if item.state == "paused":
            started = item.bytes_done > 0 or item.upload is not None
            self._update(item_id, state="uploading" if started else "queued")
            self._controls[item_id].running.set()

    def cancel(self, item_id: int) -> None:
        item = self._items[item_id]
        if item.state in ACTIVE_STATES:
            control = self._controls[item_id]
            control.cancelled = True
            control.running.set()
            if item.state != "uploading":
                self._update(item_id, state="cancelled", rate=0.0, eta=None)

    def retry(self, item_id: int) -> None:
        item = self._items[item_id]
        if item.state in ("failed", "cancelled"):
            self._controls[item_id] = _Control()
            self._update(item_id, state="queued", bytes_done=0, error=None, rate=0.0, eta=None)
            self._pool.submit(self._run, item_id)

    def pause_all(self) -> None:
        self._paused_all = True
        for item in self.items():
            self.pause(item.item_id)

    def resume_all(self) -> None:
        self._paused_all = False
        for item in self.items():
            self.resume(item.item_id)

    @property
    def paused_all(self) -> bool:
        return self._paused_all

    def clear_finished(self) -> None:
        with self._lock:
            for item_id in [i for i, it in self._items.items() if it.state == "completed"]:
                del self._items[item_id]
                del self._controls[item_id]

    def shutdown(self) -> None:
        for item in self.items():
            if item.state in ACTIVE_STATES:
                self.cancel(item.item_id)
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- working ----------------------------------------------------------------------------

    def _run(self, item_id: int) -> None:
        control = self._controls[item_id]
        control.running.wait()
        if control.cancelled:
            self._finish(item_id)
            return
        item = self._update(item_id, state="uploading")
        started = time.monotonic()
        last = [0.0]
        done = [0]

        def progress(delta: int) -> None:
            if not control.running.is_set():
                control.running.wait()
            if control.cancelled:
                raise TransferCancelled("The upload was cancelled.")
            done[0] += delta
            now = time.monotonic()
            if now - last[0] >= PROGRESS_INTERVAL or done[0] >= item.size:
                last[0] = now
                rate = done[0] / max(now - started, 1e-6)
                eta = (item.size - done[0]) / rate if rate > 0 else None
                self._update(item_id, "progress", bytes_done=min(done[0], item.size),
                             rate=rate, eta=eta)

        try:
            if item.text is not None:
                upload = self.uploads.upload_transcript_text(
                    item.text, is_temp=item.is_temp, name=item.name
                )
            else:
                assert item.path is not None
                upload = self.uploads.upload_file(
                    item.path, item.kind, is_temp=item.is_temp, progress=progress
                )
        except TransferCancelled:
            self._update(item_id, state="cancelled", rate=0.0, eta=None)
        except ShortsError as exc:
            self._update(item_id, state="failed", error=str(exc), rate=0.0, eta=None)
        except Exception as exc:  # a bug: keep the queue alive, say so on the row
            log.exception("upload of %s failed", item.name)
            self._update(item_id, state="failed", error=f"Unexpected error ({type(exc).__name__})"
                         ", see the log.", rate=0.0, eta=None)
        else:
            self._update(item_id, state="completed", bytes_done=item.size, rate=0.0, eta=0.0,
                         upload=upload.to_dict())
        self._finish(item_id)

    def _finish(self, item_id: int) -> None:
        item = self._items[item_id]
        if item.state in ("queued", "paused"):
            self._update(item_id, state="cancelled")
        if self.active_count() == 0:
            self._emit(QueueEvent("finished"))
