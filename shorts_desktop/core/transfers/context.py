"""What the upload and download jobs share: client, pools, limiter, store, and two helpers.

`call` retries one S3 request with backoff; `run_parts` feeds parts to the shared part
pool with at most `parts_in_flight` of this file's parts (and so buffers) at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import botocore.exceptions

from shorts_desktop.core.errors import ShortsError
from shorts_desktop.core.transfers.bandwidth import TokenBucket
from shorts_desktop.core.transfers.events import EventHub, EventKind, TransferEvent
from shorts_desktop.core.transfers.fastput import FastPut
from shorts_desktop.core.transfers.retry import (
    IntegrityError,
    RetryPolicy,
    error_code,
    is_retryable,
)
from shorts_desktop.core.transfers.state import Stop, Transfer
from shorts_desktop.core.transfers.store import TransferStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)
T = TypeVar("T")
DescribeError = Callable[[Exception, str], str]


class TransferFailed(ShortsError):
    """A transfer ended for good; the message is the sentence the user sees."""


def default_describe(exc: Exception, action: str) -> str:
    """One sentence for a failure; the app passes S3Storage.error's wording instead."""
    if isinstance(exc, ShortsError):
        return str(exc)
    if isinstance(exc, IntegrityError):
        return f"{exc} (checksum mismatch); nothing was kept."
    if isinstance(exc, botocore.exceptions.ClientError):
        code = error_code(exc) or "error"
        return f"S3 refused to {action} ({code})."
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return f"Could not {action}: the connection to S3 failed ({type(exc).__name__})."
    if isinstance(exc, OSError):
        return f"Could not {action}: {exc.strerror or exc}."
    return f"Could not {action}: unexpected error ({type(exc).__name__}), see log."


@dataclass
class Context:
    client: S3Client
    store: TransferStore
    limiter: TokenBucket
    hub: EventHub
    parts_pool: ThreadPoolExecutor
    retry: RetryPolicy
    describe: DescribeError
    part_size: int
    parts_in_flight: int
    multipart_threshold: int
    checksum_mode: str
    signs_payload: bool  # plain HTTP: botocore reads each body once to sign it
    fast_put: FastPut | None = None  # small PUTs without botocore's per-call work

    def event(self, t: Transfer, kind: EventKind, message: str | None = None) -> None:
        self.hub.post(TransferEvent(t.id, kind, t.direction, t.bytes_done, t.total,
                                    message=message))
        if kind == EventKind.STARTED:
            self.hub.track(t)  # progress only after "started", never before

    def call(self, t: Transfer, action: str, fn: Callable[..., T], **kwargs: Any) -> T:
        """One S3 request, retried on transient failures; Stop ends the wait early."""
        attempt = 0
        while True:
            attempt += 1
            t.check()
            try:
                return fn(**kwargs)
            except Exception as exc:
                if t.should_stop():
                    raise Stop() from None
                if not is_retryable(exc) or attempt >= self.retry.max_attempts:
                    raise
                self.backoff(t, attempt, exc, action)

    def backoff(self, t: Transfer, attempt: int, exc: Exception, action: str) -> None:
        t.retries += 1
        delay = self.retry.delay(attempt, exc)
        log.info("transfer %s: %s failed (%s), retry %d in %.1fs",
                 t.id, action, type(exc).__name__, attempt, delay)
        self.event(t, EventKind.RETRYING, f"{self.describe(exc, action)} Retrying.")
        t.sleep(delay)

    def run_parts(
        self, t: Transfer, numbers: Iterable[int], task: Callable[[int], T],
        on_done: Callable[[int, T], None],
    ) -> None:
        """Run `task(n)` for every part, `parts_in_flight` at a time; the first error wins.

        A part is only read into memory by its task, once it holds a slot, so buffers in
        flight never exceed the slots. Raises Stop or the first failure after every
        started part has finished.
        """
        slots = threading.Semaphore(self.parts_in_flight)
        errors: list[BaseException] = []
        lock = threading.Lock()

        def finished(n: int, fut: Future[T]) -> None:
            try:
                exc = fut.exception()
                if exc is None:
                    on_done(n, fut.result())
                else:
                    with lock:
                        errors.append(exc)
            except BaseException as err:  # a failing on_done must not lose the error
                with lock:
                    errors.append(err)
            finally:
                slots.release()

        for n in numbers:
            acquired = False
            while not acquired and not errors and not t.should_stop():
                acquired = slots.acquire(timeout=0.1)
            if not acquired:
                break
            if errors or t.should_stop():
                slots.release()
                break
            try:
                fut = self.parts_pool.submit(task, n)
            except RuntimeError:  # the pool is shutting down
                slots.release()
                raise Stop() from None
            fut.add_done_callback(lambda f, n=n: finished(n, f))  # type: ignore[misc]
        # Every started part releases its slot when it (and its on_done) is over.
        for _ in range(self.parts_in_flight):
            slots.acquire()
        if errors:
            real = [e for e in errors if not isinstance(e, Stop)]
            raise real[0] if real else errors[0]
        t.check()
