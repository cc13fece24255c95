"""Small files from one thread, over the session pool's kept-alive connections.

A worker per small file, each blocked on its own PUT, spends more CPU handing the GIL to
the others than on the request (~80 futex calls per 8 KiB file, on two cores). Here one
thread keeps up to `in_flight` PUTs out at once and reads the answers as they come
(select): per file one read of the file, its checksums, a signature, one write, one read
of the answer and the row marked completed.

Only the plain case is taken: a 200 whose checksum echo (or ETag) matches, the file
unchanged since it was read and its row still there. Anything else (an error answer, a
closed connection, a time-out, a bandwidth limit, a file that changed, a request botocore
must send) is handed back through the job's `done` with the reason; the caller's regular
path then sends the file again, retries as it retries and says what went wrong.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shorts_desktop.core.errors import ShortsError, TransferInterrupted
from shorts_desktop.core.transfers.context import Context
from shorts_desktop.core.transfers.fastput import (
    _FIRST_READ,
    AnswerHead,
    SignedPut,
    botocore_error,
    parse_head,
    stored_answer,
)
from shorts_desktop.core.transfers.retry import IntegrityError
from shorts_desktop.core.transfers.upload import body_checksum, body_digest, stored_differs

log = logging.getLogger(__name__)

#: The largest file the lane sends: a body written in one go (as the engine's raw PUTs).
LANE_MAX = 1024 * 1024


class Declined(Exception):
    """The lane leaves this file to the regular path (the reason is for the log)."""


@dataclass
class LaneJob:
    """One file for the lane; `done(job, None)` once stored, verified and its row
    completed, `done(job, reason)` when the regular path must send it. Called on the
    lane's thread."""

    transfer_id: str
    path: Path
    key: str
    content_type: str
    metadata: dict[str, str]
    source: tuple[int, int] | None  # (size, mtime_ns) of the caller's stat, made just before
    done: Callable[[LaneJob, BaseException | None], None]
    sha256: str | None = None  # the file's SHA-256: known before, or from the read that sent it


@dataclass
class _Out:
    """A request written, its answer awaited."""

    job: LaneJob
    fd: int  # the connection's socket, as the selector knows it
    signed: SignedPut
    pool: Any
    conn: Any
    size: int
    mtime: int
    md5: str | None
    crc: str | None
    deadline: float
    buffer: bytes = b""
    head: AnswerHead | None = None
    left: int = 0  # bytes of the answer's body still to come


class PutLane:
    """Sends the small files `take(n)` hands it, up to `in_flight` at a time."""

    def __init__(self, ctx: Context, bucket: str, extra_args: Callable[[str], dict[str, str]],
                 take: Callable[[int], list[LaneJob]], in_flight: int,
                 initializer: Callable[[], None] | None = None) -> None:
        assert ctx.fast_put is not None
        self._initializer = initializer  # run on the thread first (a lower priority)
        self._ctx = ctx
        self._fast = ctx.fast_put
        self._bucket = bucket
        self._extra_args = extra_args
        self._take = take
        self.in_flight = max(1, in_flight)
        self._out: dict[int, _Out] = {}  # socket fd -> its request
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._wanted = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._read_buffer = bytearray(LANE_MAX + 1)  # one more byte: a file that grew
        self.sent = 0  # files this lane stored (for tests and the log)
        self.handed_back = 0  # files it gave back to the regular path

    def wake(self) -> None:
        """There may be work: the lane asks `take` again (from any thread)."""
        if self._closed:
            return
        self._wanted.set()
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, daemon=True,
                                                name="shorts-desktop-lane")
                self._thread.start()
                return
        with contextlib.suppress(OSError):  # full: a wake-up is pending already
            self._wake_w.send(b"w")

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, timeout: float = 5.0) -> None:
        """Stop; requests still out are given back as interrupted (their rows stay
        `uploading`: the next start sends them again). Files not taken yet stay with the
        caller (the queue shuts down before its storage closes)."""
        self._closed = True
        with self._start_lock:
            thread = self._thread
        if thread is not None:
            with contextlib.suppress(OSError):
                self._wake_w.send(b"w")
            thread.join(timeout)
        if thread is None or not thread.is_alive():
            self._wake_r.close()
            self._wake_w.close()
        if self.sent or self.handed_back:
            log.info("the upload lane stored %d small files; %d went the regular way",
                     self.sent, self.handed_back)

    # -- the thread -------------------------------------------------------------------------

    def _loop(self) -> None:
        if self._initializer is not None:
            self._initializer()
        sel = selectors.DefaultSelector()
        sel.register(self._wake_r, selectors.EVENT_READ, None)
        try:
            while not self._closed:
                try:
                    self._turn(sel)
                except Exception as exc:  # a bug: what is out goes the regular way
                    log.exception("the upload lane failed")
                    for out in list(self._out.values()):
                        self._drop(sel, out, exc)
        finally:
            closing = TransferInterrupted("The app is closing; the upload goes on next time.")
            for out in list(self._out.values()):
                self._drop(sel, out, closing)
            sel.close()

    def _turn(self, sel: selectors.BaseSelector) -> None:
        """Take what there is room for, then read the answers that came (or time out)."""
        if self._wanted.is_set() and len(self._out) < self.in_flight:
            self._wanted.clear()
            try:
                jobs = self._take(self.in_flight - len(self._out))
            except Exception:
                log.exception("the lane could not take files")
                jobs = []
            for job in jobs:
                self._send(sel, job)
            if jobs:
                self._wanted.set()  # it gave: ask again once there is room
        timeout = None
        if self._out:
            timeout = max(0.0, min(o.deadline for o in self._out.values()) - time.monotonic())
        if self._wanted.is_set() and len(self._out) < self.in_flight:
            timeout = 0.0
        for key, _ in sel.select(timeout):
            if key.data is None:
                with contextlib.suppress(OSError):  # drained: nothing more waits
                    while self._wake_r.recv(4096):
                        pass
                continue
            self._receive(sel, key.data)
        now = time.monotonic()
        for out in [o for o in self._out.values() if o.deadline <= now]:
            self._drop(sel, out, TimeoutError("no answer in time"))

    def _send(self, sel: selectors.BaseSelector, job: LaneJob) -> None:
        """Read, checksum, sign and write one file's PUT; `done(reason)` when it cannot."""
        ctx = self._ctx
        conn: Any = None
        pool: Any = None
        try:
            if ctx.limiter.rate:
                raise Declined("a bandwidth limit is set")
            if job.source is not None:
                size, mtime = job.source
            else:
                st = os.stat(job.path)
                size, mtime = st.st_size, st.st_mtime_ns
            if size > LANE_MAX:
                raise Declined("too large for one write")
            with open(job.path, "rb", buffering=0) as f:
                # One buffer for every file: its request is written before the next is
                # read, and fresh memory per file costs a page fault per 4 KiB.
                data = memoryview(self._read_buffer)[:f.readinto(self._read_buffer)]
            if len(data) != size:
                raise Declined("the file's size changed")
            sha = job.sha256 or hashlib.sha256(data).hexdigest()
            md5, crc = body_digest(ctx.checksum_mode, data)
            _, headers = body_checksum(ctx.checksum_mode, crc, md5)
            headers = {"Content-Type": job.content_type, **headers,
                       "Content-Length": str(size)}
            metadata = dict(job.metadata)
            metadata.setdefault("sha256", sha)
            signed = self._fast.sign(self._bucket, job.key, data, headers, metadata,
                                     self._extra_args(job.key), payload_sha256=sha)
            if signed is None or not signed.direct:
                raise Declined("botocore sends this one")
            job.sha256 = sha
        except Exception as exc:  # the file, or a request botocore must make
            self._done(job, exc)
            return
        try:
            pool, conn, _reused = self._fast.connection(signed)
            signed.write_to(conn.sock)
            signed = dataclasses.replace(signed, data=b"")  # the buffer is the next file's
        except Exception as exc:  # on the wire: as botocore would say it
            if conn is not None:
                conn.close()
                pool._put_conn(conn)
            self._done(job, botocore_error(exc, signed))
            return
        timeout = conn.sock.gettimeout()
        out = _Out(job, conn.sock.fileno(), signed, pool, conn, size, mtime, md5, crc,
                   time.monotonic() + (timeout if timeout else 60.0))
        self._out[out.fd] = out
        sel.register(out.fd, selectors.EVENT_READ, out)

    def _receive(self, sel: selectors.BaseSelector, out: _Out) -> None:
        sock = out.conn.sock
        try:
            chunk = sock.recv(_FIRST_READ)
            pending = getattr(sock, "pending", None)
            while pending is not None and pending():  # TLS: what it decrypted already
                chunk += sock.recv(_FIRST_READ)
            if not chunk:
                raise ConnectionError("the server closed the connection in its answer")
            if out.head is None:
                out.buffer += chunk
                out.head = parse_head(out.buffer)
                if out.head is None:
                    return  # more of the head to come
                if not out.head.readable:
                    raise Declined(f"the answer was {out.head.status}")
                out.left = out.head.body_left
            else:  # a body to a PUT (rare): read to its end
                out.left -= len(chunk)
            if out.left > 0:
                return
            if out.left < 0:
                raise ConnectionError("the server sent more than it announced")
        except (BlockingIOError, InterruptedError):
            return
        except Exception as exc:
            self._drop(sel, out, exc)
            return
        self._finish(sel, out)

    def _finish(self, sel: selectors.BaseSelector, out: _Out) -> None:
        """The answer is in: check it, the file and the row; the connection goes back."""
        job, head = out.job, out.head
        assert head is not None
        sel.unregister(out.fd)
        del self._out[out.fd]
        if not head.keep:
            out.conn.close()
        out.pool._put_conn(out.conn)
        try:
            answer = stored_answer(head.fields)
            if answer is None:
                raise Declined("the answer has no ETag")
            if stored_differs(self._ctx.checksum_mode, answer, out.md5, out.crc):
                raise IntegrityError("The file arrived in the bucket different from the disk")
            st = os.stat(job.path)
            if (st.st_size, st.st_mtime_ns) != (out.size, out.mtime):
                raise Declined("the file changed while it was sent")
            self._ctx.store.complete(job.transfer_id, sha256=job.sha256, size=out.size,
                                     parts=False)
        except Exception as exc:
            self._done(job, exc)
            return
        self.sent += 1
        self._done(job, None)

    def _drop(self, sel: selectors.BaseSelector, out: _Out, exc: Exception) -> None:
        """A request that failed on the wire: its connection is closed, not reused."""
        self._close_conn(sel, out)
        if not isinstance(exc, Declined | IntegrityError | ShortsError):
            exc = botocore_error(exc, out.signed)
        self._done(out.job, exc)

    def _close_conn(self, sel: selectors.BaseSelector, out: _Out) -> None:
        if self._out.pop(out.fd, None) is not None:
            sel.unregister(out.fd)
        out.conn.close()
        out.pool._put_conn(out.conn)

    def _done(self, job: LaneJob, reason: BaseException | None) -> None:
        if reason is not None:
            self.handed_back += 1
            log.debug("lane: %s goes the regular way (%s)", job.path.name, reason)
        try:
            job.done(job, reason)
        except Exception:
            log.exception("the lane's caller failed on %s", job.path.name)
