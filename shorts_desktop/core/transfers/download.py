"""One object from S3 to a file: ranged GETs in parallel into a temporary file beside
the target, renamed into place only once complete and verified.

Each range is pinned to the ETag seen at the start (If-Match), so an object replaced
mid-download cannot produce a file stitched from two versions. A paused download keeps
its temporary file and finished ranges for this process; cancel and failure remove it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from shorts_desktop.core.errors import UserError
from shorts_desktop.core.transfers.context import Context
from shorts_desktop.core.transfers.events import EventKind
from shorts_desktop.core.transfers.parts import (
    looks_like_md5_etag,
    part_count,
    part_range,
    part_size_for,
)
from shorts_desktop.core.transfers.retry import IntegrityError, error_code, is_retryable
from shorts_desktop.core.transfers.state import Stop, Transfer

log = logging.getLogger(__name__)
READ_CHUNK = 256 * 1024


@dataclass(frozen=True)
class DownloadRequest:
    transfer_id: str
    bucket: str
    key: str
    dest: Path
    sha256: str | None = None  # expected SHA-256 (hex); else the object's `sha256` metadata
    overwrite: bool = False


class ObjectChanged(UserError):
    """The object in the bucket was replaced while it was being downloaded."""


def temp_path(t: Transfer) -> Path:
    req: DownloadRequest = t.request
    return req.dest.with_name(f".{req.dest.name}.{t.id[:12]}.part")


def discard(t: Transfer) -> None:
    temp_path(t).unlink(missing_ok=True)
    t.extra.pop("ranges_done", None)
    t.extra.pop("etag", None)


def run_download(ctx: Context, t: Transfer) -> None:
    req: DownloadRequest = t.request
    if req.dest.exists() and not req.overwrite:
        raise UserError(f"{req.dest} already exists.")
    if not req.dest.parent.is_dir():
        raise UserError(f"The folder {req.dest.parent} does not exist.")
    head = ctx.call(t, "read the file's details", ctx.client.head_object,
                    Bucket=req.bucket, Key=req.key)
    size = int(head["ContentLength"])
    etag = str(head["ETag"])
    if t.extra.get("etag") not in (None, etag):
        discard(t)  # replaced while paused: start over
    t.extra["etag"] = etag
    expected_sha = req.sha256 or dict(head.get("Metadata", {})).get("sha256")
    t.total = size
    part_size = part_size_for(size, ctx.part_size)
    done: set[int] = t.extra.setdefault("ranges_done", set())
    tmp = temp_path(t)
    flags = os.O_RDWR | os.O_CREAT
    fd = os.open(tmp, flags, 0o600)
    try:
        os.ftruncate(fd, size)
        t.set_bytes(sum(part_range(n, size, part_size)[1] for n in done))
        ctx.event(t, EventKind.STARTED)
        missing = [n for n in range(1, part_count(size, part_size) + 1) if n not in done]
        ctx.run_parts(
            t, missing,
            lambda n: _get_range(ctx, t, fd, etag, size, part_size, n),
            lambda n, _r: done.add(n),
        )
        os.fsync(fd)
        _verify(t, fd, size, etag, expected_sha)
    finally:
        os.close(fd)
    os.replace(tmp, req.dest)
    t.extra.pop("ranges_done", None)


def _get_range(
    ctx: Context, t: Transfer, fd: int, etag: str, size: int, part_size: int, n: int
) -> None:
    req: DownloadRequest = t.request
    offset, length = part_range(n, size, part_size)
    attempt = 0
    while True:
        attempt += 1
        t.check()
        credited = 0
        try:
            response = ctx.client.get_object(
                Bucket=req.bucket, Key=req.key, IfMatch=etag,
                Range=f"bytes={offset}-{offset + length - 1}",
            )
            stream = response["Body"]
            pos = offset
            try:
                while pos < offset + length:
                    t.check()
                    chunk = stream.read(min(READ_CHUNK, offset + length - pos))
                    if not chunk:
                        raise ConnectionError("the download stopped early")
                    ctx.limiter.consume(len(chunk), t.should_stop)
                    os.pwrite(fd, chunk, pos)
                    pos += len(chunk)
                    t.add_bytes(len(chunk))
                    credited += len(chunk)
            finally:
                stream.close()
            return
        except Stop:
            t.add_bytes(-credited)
            raise
        except Exception as exc:
            t.add_bytes(-credited)
            if t.should_stop():
                raise Stop() from None
            if error_code(exc) in ("PreconditionFailed", "412"):
                raise ObjectChanged(
                    "The file in the bucket was replaced during the download; download it again."
                ) from None
            if not is_retryable(exc) or attempt >= ctx.retry.max_attempts:
                raise
            ctx.backoff(t, attempt, exc, f"download part {n}")


def _verify(t: Transfer, fd: int, size: int, etag: str, expected_sha: str | None) -> None:
    """SHA-256 when known (our objects carry it), else the ETag when it is a plain MD5."""
    plain = etag.strip('"')
    if expected_sha is None and not looks_like_md5_etag(plain):
        return
    sha = hashlib.sha256() if expected_sha else None
    md5 = None if expected_sha else hashlib.md5()
    pos = 0
    while pos < size:
        t.check()
        chunk = os.pread(fd, min(4 * 1024 * 1024, size - pos), pos)
        if not chunk:
            break
        if sha is not None:
            sha.update(chunk)
        if md5 is not None:
            md5.update(chunk)
        pos += len(chunk)
    ok = sha.hexdigest() == expected_sha if sha is not None else (
        md5 is not None and md5.hexdigest() == plain
    )
    if not ok:
        raise IntegrityError("The downloaded copy does not match its checksum")
