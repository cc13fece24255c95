"""The transfer engine: a bounded queue of uploads and downloads with pause, resume and cancel.

Threads: `files_in_flight` file workers, one shared pool of `files_in_flight x
parts_in_flight` part workers (each file may use `parts_in_flight` of them, and a part
is read into memory only by its worker), one thread for events, one for clean-up calls
(aborts) so that cancel() never blocks its caller on the network. Nothing starts until
the first transfer is submitted.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from shorts_desktop.core.errors import ShortsError
from shorts_desktop.core.transfers.bandwidth import TokenBucket
from shorts_desktop.core.transfers.context import (
    Context,
    DescribeError,
    TransferFailed,
    default_describe,
)
from shorts_desktop.core.transfers.download import DownloadRequest, discard, run_download
from shorts_desktop.core.transfers.events import EventHub, EventKind, Subscriber, TransferEvent
from shorts_desktop.core.transfers.fastput import FastPut
from shorts_desktop.core.transfers.lane import LaneJob, PutLane
from shorts_desktop.core.transfers.parts import CHECKSUM_MODES, DEFAULT_PART_SIZE, MIB
from shorts_desktop.core.transfers.priority import lower_priority
from shorts_desktop.core.transfers.retry import RetryPolicy
from shorts_desktop.core.transfers.state import FINAL_STATES, Stop, Transfer
from shorts_desktop.core.transfers.store import MemoryTransferStore, TransferStore
from shorts_desktop.core.transfers.upload import UploadRequest, abort_saved, run_upload

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from shorts_desktop.core.config import Settings

log = logging.getLogger(__name__)

__all__ = [
    "DownloadRequest",
    "EngineConfig",
    "TransferEngine",
    "TransferFailed",
    "TransferHandle",
    "UploadRequest",
]


@dataclass(frozen=True)
class EngineConfig:
    """Limits and policies; `from_settings` maps the app's settings onto it."""

    multipart_threshold: int = 100 * MIB
    files_in_flight: int = 2
    parts_in_flight: int = 4
    part_size: int = DEFAULT_PART_SIZE  # preferred; grows so a file fits in 10,000 parts
    bandwidth_limit: int = 0  # bytes/s, 0 = unlimited
    checksum: str = "auto"  # md5 | crc32 | crc32c | sha256 | auto (crc32c on AWS, md5 else)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    progress_interval: float = 0.1  # at most ~10 progress calls a second per transfer
    thread_nice: int = 0  # an interactive app's workers step back for its GUI thread
    fast_put: bool = True  # small PUTs signed and sent without botocore's per-call work

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> EngineConfig:
        values: dict[str, Any] = {
            "multipart_threshold": settings.multipart_threshold,
            "files_in_flight": settings.files_in_flight,
            "parts_in_flight": settings.parts_in_flight,
            "bandwidth_limit": settings.bandwidth_limit,
            "checksum": settings.part_checksum,
            "part_size": max(5 * MIB, min(settings.multipart_threshold, DEFAULT_PART_SIZE)),
        }
        values.update(overrides)
        return cls(**values)


class TransferHandle:
    """A caller's view of one transfer: its state and a way to wait for the end."""

    def __init__(self, transfer: Transfer) -> None:
        self._t = transfer

    @property
    def id(self) -> str:
        return self._t.id

    @property
    def direction(self) -> str:
        return self._t.direction

    @property
    def state(self) -> str:
        return self._t.state

    @property
    def bytes_done(self) -> int:
        return self._t.bytes_done

    @property
    def total(self) -> int:
        return self._t.total

    @property
    def error(self) -> str | None:
        return self._t.error

    @property
    def message(self) -> str | None:
        """A notice such as "the file changed since ...; starting over"."""
        return self._t.message

    @property
    def retries(self) -> int:
        return self._t.retries

    @property
    def sha256(self) -> str | None:
        """The SHA-256 (hex) of what a completed upload stored."""
        return self._t.sha256

    @property
    def closing(self) -> bool:
        """The engine is closing: a transfer that is not running will not move again here."""
        return self._t._closing.is_set()

    def wait(self, timeout: float | None = None) -> str:
        """Wait until completed, failed or cancelled (or the timeout); returns the state."""
        return self._t.wait_for(FINAL_STATES, timeout)

    def wait_for(self, *states: str, timeout: float | None = None) -> str:
        return self._t.wait_for(states, timeout)

    def result(self, timeout: float | None = None) -> None:
        """Return when completed; raise TransferFailed with the reason otherwise."""
        state = self.wait(timeout)
        if state != "completed":
            raise TransferFailed(self._t.error or f"The transfer is {state}.")


class TransferEngine:
    """Uploads and downloads through one boto3 S3 client, bounded in threads and memory."""

    def __init__(
        self,
        client: S3Client,
        config: EngineConfig | None = None,
        store: TransferStore | None = None,
        *,
        describe_error: DescribeError | None = None,
    ) -> None:
        self.config = config or EngineConfig()
        if self.config.checksum not in (*CHECKSUM_MODES, "auto"):
            raise ValueError(f"unknown checksum mode {self.config.checksum!r}")
        self.client = client
        self.store: TransferStore = store if store is not None else MemoryTransferStore()
        self.limiter = TokenBucket(self.config.bandwidth_limit)
        self.hub = EventHub(self.config.progress_interval)
        self._describe = describe_error or default_describe
        self._lock = threading.RLock()
        self._transfers: dict[str, Transfer] = {}
        self._closing = threading.Event()
        self._paused_all = False
        self._files: ThreadPoolExecutor | None = None
        self._parts: ThreadPoolExecutor | None = None
        self._chores: ThreadPoolExecutor | None = None
        self._ctx: Context | None = None
        self._lanes: list[PutLane] = []

    # -- set-up ------------------------------------------------------------------------------

    def _context(self) -> Context:
        with self._lock:
            if self._closing.is_set():
                raise RuntimeError("the transfer engine is closed")
            if self._ctx is None:
                c = self.config
                nice = lower_priority(c.thread_nice)
                self._files = ThreadPoolExecutor(c.files_in_flight, "transfers-file",
                                                 initializer=nice)
                self._parts = ThreadPoolExecutor(
                    c.files_in_flight * c.parts_in_flight, "transfers-part", initializer=nice
                )
                self._chores = ThreadPoolExecutor(1, "transfers-chores", initializer=nice)
                self.hub.start()
                endpoint = str(getattr(self.client.meta, "endpoint_url", "") or "")
                mode = c.checksum
                if mode == "auto":  # AWS checks flexible checksums; not every clone does
                    host = urlparse(endpoint).hostname or ""
                    mode = "crc32c" if host.endswith(".amazonaws.com") else "md5"
                # Over plain HTTP botocore signs a SHA-256 of every body unless the client's
                # s3 config says payload_signing_enabled=False; our parts carry a signed
                # Content-MD5 or x-amz-checksum-* header that S3 verifies either way.
                s3_options = getattr(self.client.meta.config, "s3", None) or {}
                explicit = s3_options.get("payload_signing_enabled")
                signs = endpoint.startswith("http://") if explicit is None else bool(explicit)
                self._ctx = Context(
                    client=self.client, store=self.store, limiter=self.limiter,
                    hub=self.hub, parts_pool=self._parts, retry=c.retry,
                    describe=self._describe, part_size=c.part_size,
                    parts_in_flight=c.parts_in_flight,
                    multipart_threshold=c.multipart_threshold, checksum_mode=mode,
                    signs_payload=signs,
                    fast_put=FastPut(self.client, signs) if c.fast_put else None,
                )
            return self._ctx

    def open_lane(self, bucket: str, extra_args: Callable[[str], dict[str, str]],
                  take: Callable[[int], list[LaneJob]], in_flight: int) -> PutLane | None:
        """A lane for small files to `bucket` (lane.py), closed with the engine; None when
        this engine leaves every PUT to botocore."""
        ctx = self._context()
        if ctx.fast_put is None or not ctx.fast_put.usable:
            return None
        lane = PutLane(ctx, bucket, extra_args, take, in_flight,
                       lower_priority(self.config.thread_nice))
        with self._lock:
            self._lanes.append(lane)
        return lane

    def checksum_mode(self) -> str:
        """The part checksum in use ("md5", "crc32", "crc32c" or "sha256"), "auto"
        resolved."""
        return self._context().checksum_mode

    def subscribe(self, callback: Subscriber,
                  transfer_id: str | None = None) -> Callable[[], None]:
        """Receive TransferEvents (of one transfer, with `transfer_id`) on the engine's
        event thread; returns an unsubscribe."""
        return self.hub.subscribe(callback, transfer_id)

    def set_bandwidth_limit(self, bytes_per_second: int) -> None:
        """Change the shared limit now, running transfers included (0 = unlimited)."""
        self.limiter.set_rate(bytes_per_second)

    # -- submitting --------------------------------------------------------------------------

    def upload(self, request: UploadRequest) -> TransferHandle:
        """Queue an upload; a saved multipart state for the same id is resumed, and the
        same request for a transfer this engine still has is that transfer, so a caller
        that stopped waiting can attach again. A paused one stays paused until `resume`:
        a pause that comes just before a caller submits again still holds."""
        return self._submit(request.transfer_id, "upload", request)

    def download(self, request: DownloadRequest) -> TransferHandle:
        return self._submit(request.transfer_id, "download", request)

    def upload_here(self, request: UploadRequest) -> TransferHandle:
        """Run a single-PUT upload in the calling thread (a caller that would only wait for
        it: no hand-over to a file worker and back, two thread wake-ups fewer per small
        file). Pause, cancel and `get` work as for `upload`; one resumed after a pause goes
        on in the engine's workers, and so does a file sent in parts (the caller keeps
        watching it). Returns once a file run here has ended, paused, or (the engine
        closing) not started."""
        return self._submit(request.transfer_id, "upload", request, here=True)

    def _submit(self, transfer_id: str, direction: str, request: Any,
                here: bool = False) -> TransferHandle:
        self._context()
        with self._lock:
            old = self._transfers.get(transfer_id)
            if old is not None and old.state not in FINAL_STATES:
                if old.direction != direction or old.request != request:
                    raise ValueError(f"transfer {transfer_id} is already {old.state}")
                return TransferHandle(old)
            t = Transfer(transfer_id, direction, request, self._closing)
            t.total = 0
            if direction == "upload":
                if request.source is not None:  # the caller's stat, made just before
                    t.total = request.source[0]
                else:
                    with contextlib.suppress(OSError):
                        t.total = request.path.stat().st_size
            self._transfers[transfer_id] = t
            hold = self._paused_all
        here = here and t.total < self.config.multipart_threshold
        if hold:
            self._set_paused(t)
        else:
            self._queue(t, here)
            if here:
                self._run(t)
        return TransferHandle(t)

    def _queue(self, t: Transfer, here: bool = False) -> None:
        with t.lock:
            t.set_state("queued")
            t.pause_requested = False
            t.error = None
            self._persist(t, "queued")
            self._post(t, EventKind.QUEUED)
            if not here:
                assert self._files is not None
                t.future = self._files.submit(self._run, t)

    def _set_paused(self, t: Transfer) -> None:
        t.set_state("paused")
        self._persist(t, "paused")
        self._post(t, EventKind.PAUSED)

    # -- control -----------------------------------------------------------------------------

    def get(self, transfer_id: str) -> TransferHandle | None:
        t = self._transfers.get(transfer_id)
        return None if t is None else TransferHandle(t)

    def transfers(self) -> list[TransferHandle]:
        with self._lock:
            return [TransferHandle(t) for t in self._transfers.values()]

    def _find(self, transfer_id: str) -> Transfer:
        t = self._transfers.get(transfer_id)
        if t is None:
            raise KeyError(transfer_id)
        return t

    def pause(self, transfer_id: str) -> None:
        """Stop sending (within a chunk); the parts already sent are kept."""
        t = self._find(transfer_id)
        with t.lock:
            t.user_paused = True
            self._pause(t)

    def _pause(self, t: Transfer) -> None:
        with t.lock:
            if t.state == "queued" and t.future is not None and t.future.cancel():
                self._set_paused(t)
            elif t.state in ("queued", "running"):
                t.pause_requested = True
                t.poke()

    def resume(self, transfer_id: str) -> None:
        t = self._find(transfer_id)
        with t.lock:
            t.user_paused = False
            self._resume(t)

    def _resume(self, t: Transfer) -> None:
        with t.lock:
            if t.state == "paused":
                self._queue(t)
            elif t.state in ("queued", "running"):
                t.pause_requested = False  # noticed by the worker when it stops

    def pause_all(self) -> None:
        """Hold the whole queue: running transfers pause, queued ones wait."""
        with self._lock:
            self._paused_all = True
            items = list(self._transfers.values())
        for t in items:
            self._pause(t)

    def resume_all(self) -> None:
        """Release the queue; transfers the user paused one by one stay paused."""
        with self._lock:
            self._paused_all = False
            items = list(self._transfers.values())
        for t in items:
            if not t.user_paused:
                self._resume(t)

    def cancel(self, transfer_id: str) -> None:
        """Stop and throw away: the multipart upload is aborted, a partial download deleted."""
        t = self._find(transfer_id)
        with t.lock:
            if t.state in FINAL_STATES:
                return
            t.cancel_requested = True
            t.poke()
            idle = t.state == "paused" or (
                t.state == "queued" and t.future is not None and t.future.cancel()
            )
            if idle:
                t.set_state("cancelling")
                assert self._chores is not None
                self._chores.submit(self._cleanup_cancelled, t)

    def retry(self, transfer_id: str) -> TransferHandle:
        """Queue a failed or cancelled transfer again, from its original request."""
        t = self._find(transfer_id)
        if t.state not in ("failed", "cancelled"):
            raise ValueError(f"transfer {transfer_id} is {t.state}, not failed or cancelled")
        return self._submit(t.id, t.direction, t.request)

    def close(self, timeout: float | None = 30.0) -> None:
        """Stop everything; running uploads keep their parts and stay queued for next time."""
        with self._lock:
            if self._closing.is_set():
                return
            self._closing.set()
            items = list(self._transfers.values())
        for t in items:
            t.poke()
            with t.lock:
                if t.state == "queued" and t.future is not None:
                    t.future.cancel()
        for lane in self._lanes:
            lane.close()
        for pool in (self._files, self._parts, self._chores):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self.hub.stop()

    def __enter__(self) -> TransferEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the file worker ---------------------------------------------------------------------

    def _run(self, t: Transfer) -> None:
        ctx = self._context_or_none()
        if ctx is None:
            return
        with t.lock:
            if t.cancel_requested:
                t.set_state("cancelling")
            elif t.pause_requested:
                self._set_paused(t)
                return
            else:
                t.set_state("running")
        if t.state == "cancelling":
            self._cleanup_cancelled(t)
            return
        t.attempts += 1
        self._persist(t, "running")
        try:
            if t.direction == "upload":
                run_upload(ctx, t)
            else:
                run_download(ctx, t)
        except Stop:
            self.hub.untrack(t.id)
            self._stopped(t)
            return
        except Exception as exc:
            self.hub.untrack(t.id)
            self._failed(ctx, t, exc)
            return
        self.hub.untrack(t.id)
        t.set_bytes(t.total)
        t.set_state("completed")  # uploads recorded it in the store already
        self._post(t, EventKind.COMPLETED)

    def _context_or_none(self) -> Context | None:
        return None if self._closing.is_set() else self._ctx

    def _stopped(self, t: Transfer) -> None:
        with t.lock:
            if t.cancel_requested:
                t.set_state("cancelling")
            elif self._closing.is_set():
                t.set_state("queued")  # picked up again on the next start
                self._persist(t, "queued")
                return
            elif t.pause_requested:
                self._set_paused(t)
                return
            else:  # resumed while it was stopping
                self._queue(t)
                return
        self._cleanup_cancelled(t)

    def _cleanup_cancelled(self, t: Transfer) -> None:
        ctx = self._ctx
        try:
            if ctx is not None and t.direction == "upload":
                abort_saved(ctx, t)
            elif t.direction == "download":
                discard(t)
        except Exception:
            log.warning("could not clean up after cancelling %s", t.id, exc_info=True)
        t.set_bytes(0)
        t.set_state("cancelled")
        self._persist(t, "cancelled")
        self._post(t, EventKind.CANCELLED)

    def _failed(self, ctx: Context, t: Transfer, exc: Exception) -> None:
        action = "upload the file" if t.direction == "upload" else "download the file"
        if not isinstance(exc, ShortsError):
            log.warning("transfer %s failed", t.id, exc_info=exc)
        reason = ctx.describe(exc, action)
        try:
            if t.direction == "upload":
                abort_saved(ctx, t)
            else:
                discard(t)
        except Exception:
            log.warning("could not clean up after %s failed", t.id, exc_info=True)
            reason += " (its partial data could not be removed yet; cleanup will retry)"
        t.error = reason
        t.set_state("failed")
        self._persist(t, "failed", error=reason)
        self._post(t, EventKind.FAILED, reason)

    # -- plumbing ----------------------------------------------------------------------------

    def _post(self, t: Transfer, kind: EventKind, message: str | None = None) -> None:
        self.hub.post(TransferEvent(t.id, kind, t.direction, t.bytes_done, t.total,
                                    message=message))

    def _persist(self, t: Transfer, state: str, error: str | None = None) -> None:
        if t.direction != "upload":
            return
        try:
            self.store.set_state(t.id, state, error=error, bytes_done=t.bytes_done,
                                 attempts=t.attempts)
        except Exception:
            log.warning("could not record the state of %s", t.id, exc_info=True)
