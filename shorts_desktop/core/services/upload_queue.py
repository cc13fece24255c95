"""The upload queue the window shows: add, pause, resume, cancel, retry, pause all.

Files are sent `files_in_flight` at a time: an item waits in line, with no thread and no
database row, until a slot frees; then a worker records it and hands it to the storage
(so a file cancelled before its turn leaves no row). On S3 the transfer engine moves the
bytes (bounded threads, pause/resume within a part, saved parts across restarts), and a
new transcript of up to 1 MiB goes through the storage's lane instead of a worker: one
thread records and sends all of them (a worker per small file cost more in GIL hand-offs
than the request); what the lane hands back, a worker sends. In the local library a copy
runs in the worker; the storage pauses or cancels it between chunks. Unfinished uploads
are in the database, so `restore()` brings the queue back after a restart. Subscribers get
`QueueEvent`s on worker threads (never Qt); progress is coalesced to at most ~10 events a
second per item.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from shorts_desktop.core.db.connection import bound_database_path
from shorts_desktop.core.errors import (
    ShortsError,
    TransferCancelled,
    TransferInterrupted,
    TransferPaused,
)
from shorts_desktop.core.failures import explain
from shorts_desktop.core.services.uploads import UploadService, find_upload
from shorts_desktop.core.transfers.lane import LANE_MAX, LaneJob, PutLane
from shorts_desktop.core.transfers.priority import lower_priority

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
    upload_id: str | None = None
    content_type: str | None = None  # as the intake found it: not checked again
    exit_code: int | None = None  # of a failure: 2 for the user's input (ShortsError's)


_ITEM_FIELDS = frozenset(f.name for f in fields(QueueItem))


def _changed(item: QueueItem, changes: dict[str, Any]) -> QueueItem:
    """`dataclasses.replace` without its __init__ call: a few snapshots per file, four
    times faster (the fields are plain values, nothing to check or compute)."""
    unknown = changes.keys() - _ITEM_FIELDS
    if unknown:
        raise TypeError(f"QueueItem has no field {sorted(unknown)[0]!r}")
    new = object.__new__(QueueItem)
    new.__dict__.update(item.__dict__, **changes)
    return new


@dataclass(frozen=True)
class QueueEvent:
    # added, state, progress, thumbnail (a video's picture is stored while it is sent),
    # finished (the whole queue went idle)
    kind: str
    item: QueueItem | None = None


Subscriber = Callable[[QueueEvent], None]


class _Control:
    """Per-item switches and the worker's claim on the item.

    `attached`: a worker thread has the item, or will (it is in line for a slot, or in
    the pool). A paused item gives its thread back, so 200 paused files cost no thread;
    resuming it hands it to the line again. Both happen under the queue's lock, so that a
    resume racing a worker that is letting go never leaves an item with no worker or with
    two.
    """

    def __init__(self) -> None:
        self.running = threading.Event()
        self.running.set()
        self.cancelled = False
        self.attached = False
        self.prepared: tuple[Any, Path, Any] | None = None  # (upload row, path, digests)


class UploadQueue:
    def __init__(self, uploads: UploadService, files_in_flight: int = 2,
                 thread_nice: int = 0) -> None:
        self.uploads = uploads
        # A worker per slot, and a few for cancelling items that are waiting in line; few,
        # because every runnable Python thread competes with the window for the GIL.
        self.slots = max(1, files_in_flight)
        self.worker_threads = self.slots + 4
        self._pool = ThreadPoolExecutor(self.worker_threads, "shorts-desktop-upload",
                                        initializer=lower_priority(thread_nice))
        self._line: collections.deque[int] = collections.deque()  # waiting for a slot
        self._slots_taken = 0
        self._lock = threading.Lock()
        self._items: dict[int, QueueItem] = {}
        self._active: set[int] = set()  # ids of items in ACTIVE_STATES: counted per finish
        self._controls: dict[int, _Control] = {}
        self._subscribers: list[Subscriber] = []
        self._ids = itertools.count(1)
        self._paused_all = False
        self._closed = False
        # Small files go to the storage's lane (one thread, kept-alive connections) when it
        # has one: opened at the first such file; False once the storage said it has none.
        self._lane: PutLane | bool | None = None
        self._lane_ready: collections.deque[int] = collections.deque()  # slotted, for it

    # -- observing --------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> None:
        self._subscribers.append(callback)

    def items(self) -> list[QueueItem]:
        with self._lock:
            return list(self._items.values())

    def active_count(self) -> int:
        with self._lock:
            return len(self._active)

    def _put(self, item: QueueItem) -> None:
        """Store an item's new snapshot (the caller holds the lock)."""
        self._items[item.item_id] = item
        if item.state in ACTIVE_STATES:
            self._active.add(item.item_id)
        else:
            self._active.discard(item.item_id)

    def _emit(self, event: QueueEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                log.exception("a queue subscriber failed")

    def _update(self, item_id: int, kind: str = "state", unless_paused: bool = False,
                **changes: Any) -> QueueItem:
        with self._lock:
            item = self._items[item_id]
            if unless_paused and item.state == "paused":  # meanwhile: the worker lets go
                changes.pop("state", None)  # at its next look; the rest is news
                if not changes:
                    return item
            item = _changed(item, changes)
            self._put(item)
        self._emit(QueueEvent(kind, item))
        return item

    # -- adding -----------------------------------------------------------------------------

    def add_file(self, path: Path, kind: str, is_temp: bool = True,
                 content_type: str | None = None, size: int | None = None) -> QueueItem:
        """Validate and queue a file; raises UserError for a file that cannot be uploaded.
        A `content_type` (and `size`) says the intake has validated it already
        (`intake.check_file`)."""
        if content_type is None:
            content_type = self.uploads.inspect(path, kind)
            size = None  # a size comes with the intake's validation, not without it
        if size is None:
            size = path.stat().st_size
        item = QueueItem(next(self._ids), path.name, kind, is_temp, size,
                         path=path, content_type=content_type)
        return self._enqueue(item)

    def add_text(self, text: str, name: str = "transcript.txt",
                 is_temp: bool = True) -> QueueItem:
        from shorts_desktop.core.services.files import decode_transcript

        decode_transcript(text.encode("utf-8"), "The transcript text")
        item = QueueItem(next(self._ids), name, "transcript", is_temp,
                         len(text.encode("utf-8")), text=text)
        return self._enqueue(item)

    def restore(self) -> list[QueueItem]:
        """Bring back uploads that a previous run left unfinished; paused ones stay paused."""
        known = {i.upload_id for i in self.items()}
        restored = []
        for row in self.uploads.unfinished():
            if row.id in known or row.status == "cancelled" or not row.source_path:
                continue
            if row.backend != self.uploads.storage.backend:
                continue
            item = QueueItem(
                next(self._ids), row.original_name, row.kind, bool(row.is_temp), row.size,
                state="failed" if row.status == "failed" else "queued",
                bytes_done=int(row.bytes_done or 0), error=row.error,
                path=Path(row.source_path), upload_id=row.id,
            )
            if row.status == "failed":
                with self._lock:
                    self._put(item)
                    self._controls[item.item_id] = _Control()
                self._emit(QueueEvent("added", item))
            else:
                item = self._enqueue(item, hold=row.status == "paused")
            restored.append(item)
        return restored

    def _enqueue(self, item: QueueItem, hold: bool = False) -> QueueItem:
        control = _Control()
        if self._paused_all or hold:
            control.running.clear()
            item = _changed(item, {"state": "paused"})
        with self._lock:
            self._put(item)
            self._controls[item.item_id] = control
        self._emit(QueueEvent("added", item))
        if control.running.is_set():
            self._dispatch(item.item_id)
        return item

    def _dispatch(self, item_id: int, *, urgent: bool = False) -> None:
        """Hand the item to a worker when a slot is free, else put it in line (the caller
        made sure no worker has it). `urgent`: a cancelled item's recording, which sends
        nothing, goes to a worker at once."""
        with self._lock:
            self._controls[item_id].attached = True
            if self._closed:
                return
            slotted = not urgent
            if slotted and self._slots_taken >= self.slots:
                self._line.append(item_id)
                return
            self._slots_taken += slotted
        if slotted:
            self._start(item_id)
        else:
            self._pool.submit(self._run, item_id, False)

    def _start(self, item_id: int) -> None:
        """Send an item that holds a slot: through the lane when it is a small file the
        lane can take, else on a worker."""
        item = self._items.get(item_id)
        lane = self._lane_for(item) if item is not None else None
        if lane is None:
            self._to_worker(item_id)
            return
        with self._lock:
            self._lane_ready.append(item_id)
        lane.wake()

    def _lane_for(self, item: QueueItem) -> PutLane | None:
        """The lane, for a new small file from disk (a transcript: a video's row wants a
        probe, too slow for the one thread), else None."""
        if (item.kind != "transcript" or item.path is None or item.content_type is None
                or item.upload_id is not None or item.size > LANE_MAX
                or self._controls[item.item_id].prepared is not None):
            return None
        lane = self._lane
        if lane is None or (isinstance(lane, PutLane) and lane.closed):
            try:
                lane = self.uploads.open_lane(self._lane_take, self.slots) or False
            except Exception:  # no storage to open one for: the worker says why
                log.debug("no upload lane", exc_info=True)
                return None
            self._lane = lane
        return lane if isinstance(lane, PutLane) else None

    def _next_in_line(self) -> int | None:
        """The next item to take the slot just freed (the caller holds the lock)."""
        while self._line and self._slots_taken < self.slots and not self._closed:
            item_id = self._line.popleft()
            if item_id in self._controls:
                self._slots_taken += 1
                return item_id
        return None

    def _leave_line(self, item_id: int) -> bool:
        """Take a waiting item out of line (the caller holds the lock); False if it was
        not in it (a worker has it)."""
        try:
            self._line.remove(item_id)
        except ValueError:
            return False
        return True

    # -- controlling ------------------------------------------------------------------------

    def _sending(self, item: QueueItem) -> bool:
        """Whether the storage is sending the item's upload now (paused included)."""
        return bool(item.upload_id) and self.uploads.storage.sending(str(item.upload_id))

    def pause(self, item_id: int) -> None:
        with self._lock:
            item = self._items[item_id]
            if item.state not in ("queued", "uploading"):
                return
            self._controls[item_id].running.clear()
            if self._leave_line(item_id):  # nothing runs for it: resuming puts it back
                self._controls[item_id].attached = False
        if item.upload_id:  # held where it is; nothing happens if it is not being sent
            self.uploads.storage.pause_sending(item.upload_id)
        self._update(item_id, state="paused", rate=0.0, eta=None)

    def resume(self, item_id: int) -> None:
        with self._lock:
            item = self._items[item_id]
            if item.state != "paused":
                return
            control = self._controls[item_id]
            control.running.set()
            idle = not control.attached
        sending = self._sending(item)
        self._update(item_id, state="uploading" if sending or item.bytes_done else "queued")
        if sending:
            self.uploads.storage.resume_sending(str(item.upload_id))  # from the parts it sent
        if idle:
            self._dispatch(item_id)  # a worker attaches to it (or starts it) and waits

    def cancel(self, item_id: int) -> None:
        with self._lock:
            item = self._items[item_id]
            if item.state not in ACTIVE_STATES:
                return
            control = self._controls[item_id]
            control.cancelled = True
            control.running.set()
            idle = not control.attached or self._leave_line(item_id)
        if item.upload_id:
            self.uploads.storage.cancel_sending(item.upload_id)
        if idle:  # a worker records it: the row and the storage are not touched here
            self._dispatch(item_id, urgent=True)

    def retry(self, item_id: int) -> None:
        with self._lock:
            item = self._items[item_id]
            if item.state not in ("failed", "cancelled"):
                return
            self._controls[item_id] = _Control()
        self._update(item_id, state="queued", bytes_done=0, error=None, exit_code=None,
                     rate=0.0, eta=None)
        self._dispatch(item_id)

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
        """Stop taking work; uploads on S3 keep their parts and resume at the next start."""
        self._closed = True
        for control in list(self._controls.values()):
            control.running.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- working ----------------------------------------------------------------------------

    def _let_go_if_paused(self, item_id: int) -> bool:
        """True (and the item has no worker any more) when it is paused."""
        with self._lock:
            control = self._controls[item_id]
            if control.running.is_set() or control.cancelled or self._closed:
                return False
            control.attached = False
            return True

    def _run(self, item_id: int, slotted: bool) -> None:
        control = self._controls[item_id]
        let_go = False
        try:
            let_go = self._work(item_id, control)
        except BaseException:
            log.exception("the upload queue's worker failed")
            raise
        finally:  # ended; after letting go, a resume may have a new worker on it
            if slotted:
                self._release(control, detach=not let_go)
            elif not let_go:
                with self._lock:
                    control.attached = False

    def _release(self, control: _Control, detach: bool = True) -> None:
        """The item gives its slot back (and, `detach`, its claim); the next in line
        takes the slot."""
        with self._lock:
            if detach:
                control.attached = False
            self._slots_taken -= 1
            after = self._next_in_line()
        if after is not None:
            self._start(after)

    def _to_worker(self, item_id: int) -> None:
        """Hand an item that holds a slot to a worker; none once the queue is shut down
        (a row it has stays `uploading`: the next start sends it)."""
        with contextlib.suppress(RuntimeError):  # the pool is shut down
            self._pool.submit(self._run, item_id, True)

    def _work(self, item_id: int, control: _Control) -> bool:
        """Prepare and send one item; False when it ended, True when it was let go paused."""
        if self._let_go_if_paused(item_id):
            return True
        if control.cancelled or self._closed:
            if control.cancelled:
                self._cancel_row(item_id)
            self._finish(item_id, "cancelled")
            return False
        item = self._update(item_id, state="uploading", unless_paused=True)
        resumes = self.uploads.storage.resumable  # a local copy starts again from 0
        try:
            if control.prepared is None and item.upload_id is not None:
                row = find_upload(item.upload_id)
                if row.status == "completed":  # finished meanwhile, by another process
                    self._finish(item_id, "completed", bytes_done=int(row.size or item.size),
                                 upload=row.to_dict())
                    return False
            # The slot is this item's: its row is written now that its turn came.
            resumed = control.prepared is not None
            if control.prepared is None:
                control.prepared = self._prepare(item)
                upload, _path, sums = control.prepared
                item = self._update(item_id, upload_id=upload.id, size=sums.size)
            upload, path, sums = control.prepared
            while True:
                if self._let_go_if_paused(item_id):
                    return True
                if control.cancelled or self._closed:
                    raise TransferCancelled("The upload was cancelled.")
                if resumed:
                    self.uploads.mark_sending(upload.id)
                try:
                    progress = self._progress(
                        item_id, item.size, resumes and (resumed or item.bytes_done > 0))
                    row = self.uploads.send(
                        upload, path, sums, progress, held=lambda: not control.running.is_set(),
                        thumbnail_made=functools.partial(self._thumbnail_made, item_id))
                    break
                except TransferPaused:
                    resumed = True  # let go below, or resumed while it stopped
                    with self._lock:  # not paused here: `shorts-desktop pause ID` did
                        outside = control.running.is_set() and not control.cancelled
                        if outside:
                            control.running.clear()
                    if outside:
                        self._update(item_id, state="paused", rate=0.0, eta=None)
                    if not resumes:  # a paused copy kept nothing: it starts again from 0
                        self._update(item_id, bytes_done=0)
                    continue
        except Exception as exc:
            self._ended_by(item_id, item.name, exc)
        else:
            self._finish(item_id, "completed", bytes_done=item.size, upload=row.to_dict())
        return False

    def _ended_by(self, item_id: int, name: str, exc: Exception) -> None:
        """End an item that `exc` stopped, in the sentence it carries."""
        if isinstance(exc, TransferCancelled):
            self._cancel_row(item_id)
            self._finish(item_id, "cancelled")
        elif isinstance(exc, TransferInterrupted):
            pass  # closing: the row stays uploading for the next start
        elif isinstance(exc, ShortsError):
            self._finish(item_id, "failed", error=str(exc), exit_code=exc.exit_code)
        else:  # a full disk, a damaged database... or a bug
            known = explain(exc, database=bound_database_path())
            if known is None:
                log.error("upload of %s failed", name, exc_info=exc)
            self._finish(item_id, "failed", error=str(known) if known is not None else
                         f"Unexpected error ({type(exc).__name__}), see the log.")

    # -- the lane ---------------------------------------------------------------------------

    def _lane_take(self, n: int) -> list[LaneJob]:
        """Up to `n` items for the lane (on its thread), their rows written in one commit.
        An item paused or cancelled meanwhile, or one that cannot be recorded, goes to a
        worker, which lets it go, records the cancel or says what is wrong."""
        with self._lock:
            picked = [self._lane_ready.popleft() for _ in range(min(n, len(self._lane_ready)))]
        regular: list[int] = []
        taken: list[tuple[QueueItem, Path, str]] = []
        for item_id in picked:
            control = self._controls[item_id]
            item = self._items[item_id]
            if (not control.running.is_set() or control.cancelled or self._closed
                    or item.state == "paused" or item.path is None or item.content_type is None):
                regular.append(item_id)
            else:
                taken.append((item, item.path, item.content_type))
        jobs: list[LaneJob] = []
        try:
            made = self.uploads.create_many([
                (path, item.kind, item.is_temp, content_type) for item, path, content_type in taken
            ]) if taken else []
        except Exception:
            log.debug("the lane's rows could not be written", exc_info=True)
            regular += [item.item_id for item, _, _ in taken]
            made = []
        for (item, path, _), result in zip(taken, made, strict=False):
            if isinstance(result, ShortsError):
                regular.append(item.item_id)  # the worker records it again and says why
                continue
            upload, sums = result
            self._controls[item.item_id].prepared = (upload, path, sums)
            if self._update(item.item_id, state="uploading", upload_id=upload.id,
                            size=sums.size, unless_paused=True).state == "paused":
                with contextlib.suppress(ShortsError):  # paused just now: its row says so
                    self.uploads.pause(upload.id)  # (a restart holds it), a worker lets go
                regular.append(item.item_id)
                continue
            jobs.append(self.uploads.lane_job(
                upload, path, sums, functools.partial(self._lane_done, item.item_id)
            ))
        for item_id in regular:
            self._to_worker(item_id)
        return jobs

    def _thumbnail_made(self, item_id: int) -> None:
        """A video's picture is in its row, made while its bytes are sent (on the thumbnail's
        thread): news for the window's library."""
        item = self._items.get(item_id)
        if item is not None:
            self._emit(QueueEvent("thumbnail", item))

    def _lane_done(self, item_id: int, job: LaneJob, reason: BaseException | None) -> None:
        """The lane stored the item, or gave it back (`reason`): a worker then sends it as
        any other. A cancel that came while its one request was out came too late: it is
        stored."""
        control = self._controls[item_id]
        assert control.prepared is not None
        if reason is not None:
            self._to_worker(item_id)
            return
        upload, path, sums = control.prepared
        try:
            row = self.uploads.record_sent(upload, path, sums, job.sha256)
        except Exception as exc:  # the database refused: the object is removed again
            self._ended_by(item_id, path.name, exc)
        else:
            self._finish(item_id, "completed", bytes_done=row.size, upload=row.to_dict())
        self._release(control)

    def _progress(self, item_id: int, size: int, continued: bool) -> Callable[[int], None]:
        """A progress callback for one send: bytes, rate and ETA at most every 0.1 s.

        The first report of a `continued` upload is what was sent before (the engine
        resumes from its parts); the rate is measured from there.
        """
        done = 0
        base: int | None = None if continued else 0
        started = time.monotonic()
        last = 0.0

        def progress(delta: int) -> None:
            nonlocal done, base, started, last
            done += delta
            if not last and done >= size and not continued:
                return  # all of it in the first report: "completed" follows with the bytes
            now = time.monotonic()
            if base is None:
                base, started = done, now
            if now - last >= PROGRESS_INTERVAL or done >= size:
                last = now
                elapsed = now - started
                rate = (done - base) / elapsed if elapsed > 0 else 0.0
                eta = (size - done) / rate if rate > 0 else None
                current = self._items.get(item_id)
                if current is not None and current.state == "uploading":
                    self._update(item_id, "progress", bytes_done=min(done, size),
                                 rate=rate, eta=eta)

        return progress

    def _prepare(self, item: QueueItem) -> tuple[Any, Path, Any]:
        """Record the upload (or reopen the one the item already has) and checksum it."""
        if item.upload_id is not None:
            return self.uploads.reopen(item.upload_id)
        if item.text is not None:
            return self.uploads.create_from_text(item.text, is_temp=item.is_temp,
                                                 name=item.name)
        assert item.path is not None
        upload, sums = self.uploads.create(item.path, item.kind, is_temp=item.is_temp,
                                           content_type=item.content_type)
        return upload, item.path, sums

    def _cancel_row(self, item_id: int) -> None:
        item = self._items[item_id]
        if item.upload_id:
            with contextlib.suppress(ShortsError):
                self.uploads.cancel(item.upload_id)

    def _finish(self, item_id: int, state: str, **changes: Any) -> None:
        changes.setdefault("rate", 0.0)
        changes.setdefault("eta", None if state != "completed" else 0.0)
        self._update(item_id, state=state, **changes)
        if self.active_count() == 0:
            self._emit(QueueEvent("finished"))
