"""One file to S3: a single PUT below the threshold, a resumable multipart upload above.

Resume trusts S3, not our notes: the parts we recorded are checked against ListParts,
and a part S3 has but we never recorded (a crash between its answer and our write) is
kept only if its ETag equals the MD5 of the same bytes on disk.

An upload whose CreateMultipartUpload answer was lost (crash, time-out, retry) would stay
open and billed for ever: the intent is recorded before the request, and a restart that
finds an intent without an id aborts every multipart upload of that exact key before it
starts a new one. Adopting one instead would save nothing, as no part can have been sent
to an upload whose id we never learned; the key holds the upload's own id, so nobody else
writes to it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import queue
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.exceptions

from shorts_desktop.core.errors import UserError
from shorts_desktop.core.transfers.bodies import SendBody
from shorts_desktop.core.transfers.context import Context
from shorts_desktop.core.transfers.events import EventKind
from shorts_desktop.core.transfers.parts import (
    CRC_MODES,
    PartSums,
    composite_checksum,
    digest_part,
    looks_like_md5_etag,
    multipart_etag,
    part_count,
    part_range,
    part_size_for,
)
from shorts_desktop.core.transfers.retry import IntegrityError, error_code, is_retryable
from shorts_desktop.core.transfers.state import Stop, Transfer
from shorts_desktop.core.transfers.store import Intent, PartRecord, SavedUpload

log = logging.getLogger(__name__)

RAW_BODY_MAX = 1024 * 1024  # below this a PUT body is plain bytes: no Expect: 100-continue
IN_MEMORY_PUT_MAX = 8 * 1024 * 1024
HASH_CHUNK = 4 * 1024 * 1024
CHECKSUM_FIELD = {"crc32": "ChecksumCRC32", "crc32c": "ChecksumCRC32C",
                  "sha256": "ChecksumSHA256"}
CHECKSUM_ALGORITHM = {"crc32": "CRC32", "crc32c": "CRC32C", "sha256": "SHA256"}


@dataclass(frozen=True)
class UploadRequest:
    """What to upload where; `transfer_id` is the upload row's id when a row exists."""

    transfer_id: str
    path: Path
    bucket: str
    key: str
    content_type: str = "application/octet-stream"
    metadata: dict[str, str] | None = None
    sha256: str | None = None  # whole-file SHA-256 (hex) when the caller already has it
    md5: str | None = None  # whole-file MD5 (hex), saves a pass for single PUTs
    extra_args: dict[str, str] | None = None  # ServerSideEncryption, StorageClass, ...
    #: (size, mtime_ns) of the caller's stat made just before: the first run of a new upload
    #: starts from it instead of a stat of its own (checked again after the read).
    source: tuple[int, int] | None = None


class SourceChanged(UserError):
    """The source file is not what it was when the upload began."""


class UploadGone(Exception):
    """S3 no longer knows the multipart upload (aborted by a cleanup or lifecycle rule)."""


def _stat(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise UserError(f"{path} no longer exists.") from None
    except OSError as exc:
        raise UserError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    return st.st_size, st.st_mtime_ns


def _pread(fd: int, length: int, offset: int) -> bytes:
    data = os.pread(fd, length, offset)
    if len(data) == length:
        return data
    chunks = [data]
    got = len(data)
    while got < length:
        more = os.pread(fd, length - got, offset + got)
        if not more:
            raise SourceChanged("The file became shorter while it was being uploaded.")
        chunks.append(more)
        got += len(more)
    return b"".join(chunks)


def _hash_file(t: Transfer, fd: int, size: int, want_md5: bool) -> tuple[str, str | None]:
    """SHA-256 (and MD5) of the whole file, interruptible between chunks."""
    sha = hashlib.sha256()
    md5 = hashlib.md5() if want_md5 else None
    pos = 0
    while pos < size:
        t.check()
        chunk = os.pread(fd, min(HASH_CHUNK, size - pos), pos)
        if not chunk:
            raise SourceChanged("The file became shorter while it was being read.")
        sha.update(chunk)
        if md5 is not None:
            md5.update(chunk)
        pos += len(chunk)
    return sha.hexdigest(), md5.hexdigest() if md5 is not None else None


def _metadata(req: UploadRequest, sha256: str | None) -> dict[str, str]:
    """The object's metadata; a multipart upload whose SHA-256 is only known at its end
    (computed while its parts are read) has none there: its row holds it."""
    meta = dict(req.metadata or {})
    if sha256 is not None:
        meta.setdefault("sha256", sha256)
    return meta


class InOrderSha256:
    """The file's SHA-256 fed by the part workers in part order, from the read that fills
    each part's buffer: one read of the file, and the first byte goes out before the
    whole file is hashed. A part's read waits for the part before it to be read and
    hashed (a few ms: reading and hashing outrun sending)."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._next = 1
        self._cond = threading.Condition()
        self._broken = False

    def turn(self, t: Transfer, n: int) -> bool:
        """Wait for part `n`'s turn; whether its bytes are to be hashed now (not for a
        part read again for a retry, hashed the first time, nor after a part failed).
        When they are, `update` them in order, then `passed(n)`."""
        with self._cond:
            while self._next < n and not self._broken:
                if t.should_stop():
                    raise Stop()
                self._cond.wait(0.05)
            return not self._broken and self._next == n

    def update(self, data: memoryview) -> None:
        self._sha.update(data)  # only the part whose turn it is gets here

    def passed(self, n: int) -> None:
        with self._cond:
            self._next = n + 1
            self._cond.notify_all()

    def give_up(self) -> None:
        """A part failed: the parts waiting for it stop waiting."""
        with self._cond:
            self._broken = True
            self._cond.notify_all()

    def hexdigest(self, count: int) -> str | None:
        """The digest once parts 1..count are all in, else None."""
        with self._cond:
            whole = not self._broken and self._next == count + 1
        return self._sha.hexdigest() if whole else None


def body_digest(mode: str, data: bytes | memoryview) -> tuple[str | None, str | None]:
    """(md5 hex, crc) of a PUT body: in a CRC mode its CRC (a few times cheaper than MD5,
    and S3 checks it instead of Content-MD5), else its MD5."""
    if mode in CRC_MODES:
        return None, digest_part(data, mode).extra
    return hashlib.md5(data).hexdigest(), None


def body_checksum(mode: str, crc: str | None, md5: str | None
                  ) -> tuple[dict[str, str], dict[str, str]]:
    """A PUT body's checksum as put_object arguments and as headers: the part checksum
    mode's `crc` when there is one, else Content-MD5 from `md5` (hex)."""
    if crc is not None:
        algorithm = CHECKSUM_ALGORITHM[mode]
        return ({"ChecksumAlgorithm": algorithm, CHECKSUM_FIELD[mode]: crc},
                {"x-amz-sdk-checksum-algorithm": algorithm, f"x-amz-checksum-{mode}": crc})
    assert md5 is not None
    content_md5 = base64.b64encode(bytes.fromhex(md5)).decode("ascii")
    return {"ContentMD5": content_md5}, {"Content-MD5": content_md5}


def stored_differs(mode: str, answer: dict[str, Any], md5: str | None,
                   crc: str | None) -> bool:
    """Whether a PUT's answer says S3 stored other bytes than the body sent: its ETag
    against the body's MD5 (not under SSE-KMS, whose ETag is no MD5), or, in a CRC mode,
    the CRC's echo (S3 refuses a body whose CRC is not the header's; an echo must match)."""
    if md5 is not None:
        etag = str(answer["ETag"]).strip('"')
        return looks_like_md5_etag(etag) and etag != md5 and not answer.get("SSEKMSKeyId")
    echo = answer.get(CHECKSUM_FIELD[mode])
    return echo is not None and echo != crc


def run_upload(ctx: Context, t: Transfer) -> None:
    """Upload `t.request`; returns when the object is stored and verified."""
    req: UploadRequest = t.request
    point = ctx.store.resume_point(t.id)
    saved = point if isinstance(point, SavedUpload) else None
    source = req.source if point is None and t.attempts <= 1 else None  # a new upload's
    size, mtime = source if source is not None else _stat(req.path)
    t.total = size
    try:
        fd = os.open(req.path, os.O_RDONLY)
    except OSError as exc:
        raise UserError(f"{req.path} cannot be read: {exc.strerror or exc}.") from None
    try:
        if saved is None and size < ctx.multipart_threshold:
            if isinstance(point, Intent):  # a multipart try lost its answer, then the file shrank
                _abort_unknown(ctx, t, point.key)
                ctx.store.forget(t.id)
            _single_put(ctx, t, fd, size, mtime)
        else:
            _multipart(ctx, t, fd, size, mtime, saved)
    finally:
        os.close(fd)


# -- single PUT ------------------------------------------------------------------------------


def _single_put(ctx: Context, t: Transfer, fd: int, size: int, mtime: int) -> None:
    req: UploadRequest = t.request
    ctx.event(t, EventKind.STARTED)
    data: bytes | None = None
    md5: str | None = None
    crc: str | None = None  # a CRC mode: S3 checks this instead of Content-MD5
    if size <= IN_MEMORY_PUT_MAX:
        data = _pread(fd, size, 0)
        sha = req.sha256 or hashlib.sha256(data).hexdigest()
        # the caller's MD5 asks for Content-MD5, checked against these bytes below
        md5, crc = body_digest("md5" if req.md5 else ctx.checksum_mode, data)
        if req.md5 and md5 != req.md5:  # the caller's checksums describe other bytes
            raise SourceChanged(
                f"{req.path.name} changed while it was being uploaded; upload it again."
            )
    elif req.sha256 and req.md5:
        sha, md5 = req.sha256, req.md5
    else:
        sha, md5 = _hash_file(t, fd, size, want_md5=True)
        sha = req.sha256 or sha
    check, headers = body_checksum(ctx.checksum_mode, crc, md5)
    kwargs: dict[str, Any] = {
        "Bucket": req.bucket,
        "Key": req.key,
        "ContentType": req.content_type,
        **check,
        "ContentLength": size,
        "Metadata": _metadata(req, sha),
        **(req.extra_args or {}),
    }
    attempt = 0
    while True:
        attempt += 1
        t.check()
        body: SendBody | None = None
        response: Any = None
        if data is not None and size <= RAW_BODY_MAX:
            ctx.limiter.consume(size, t.should_stop)
            t.check()
            kwargs["Body"] = data
        elif data is not None:
            body = SendBody(t, ctx.limiter, size, data=data, skip_first_pass=ctx.signs_payload)
            kwargs["Body"] = body
        else:
            body = SendBody(t, ctx.limiter, size, fd=fd, skip_first_pass=ctx.signs_payload)
            kwargs["Body"] = body
        try:
            if body is None and ctx.fast_put is not None:
                assert data is not None
                response = ctx.fast_put.put(
                    req.bucket, req.key, data,
                    {"Content-Type": req.content_type, **headers,
                     "Content-Length": str(size)},
                    kwargs["Metadata"], req.extra_args or {},
                )
            if response is None:
                response = ctx.client.put_object(**kwargs)
            if stored_differs(ctx.checksum_mode, response, md5, crc):
                raise IntegrityError("The file arrived in the bucket different from the disk")
        except Exception as exc:
            if body is not None:
                body.settle(False)
            if t.should_stop():
                raise Stop() from None
            if not is_retryable(exc) or attempt >= ctx.retry.max_attempts:
                if isinstance(exc, IntegrityError):
                    _delete_quietly(ctx, req)
                raise
            ctx.backoff(t, attempt, exc, "store the file")
            continue
        except Stop:
            if body is not None:
                body.settle(False)
            raise
        if body is not None:
            body.settle(True)
        else:
            t.add_bytes(size)
        break
    if _stat(req.path) != (size, mtime):
        _delete_quietly(ctx, req)
        raise SourceChanged("The file changed while it was being uploaded; upload it again.")
    _finish(ctx, t, sha, size, parts=False)  # one PUT: no parts rows


def _delete_quietly(ctx: Context, req: UploadRequest) -> None:
    try:
        ctx.client.delete_object(Bucket=req.bucket, Key=req.key)
    except Exception:
        log.warning("could not remove %s after a failed upload", req.key, exc_info=True)


def _finish(ctx: Context, t: Transfer, sha: str | None, size: int, parts: bool) -> None:
    """Record completion; if the database refuses, remove the object (no orphan)."""
    req: UploadRequest = t.request
    t.sha256 = sha
    try:
        ctx.store.complete(t.id, sha256=sha, size=size, parts=parts)
    except BaseException:
        _delete_quietly(ctx, req)
        raise


# -- multipart -------------------------------------------------------------------------------


def _list_parts(ctx: Context, t: Transfer, saved: SavedUpload) -> dict[int, dict[str, Any]] | None:
    """The parts S3 holds for the saved upload, or None when S3 no longer knows it."""
    req: UploadRequest = t.request
    out: dict[int, dict[str, Any]] = {}
    marker = 0
    while True:
        try:
            page = ctx.call(
                t, "check the unfinished upload", ctx.client.list_parts,
                Bucket=req.bucket, Key=req.key, UploadId=saved.multipart_id,
                PartNumberMarker=marker,
            )
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) in ("NoSuchUpload", "NoSuchKey", "404"):
                return None
            raise
        for p in page.get("Parts", []):
            out[int(p["PartNumber"])] = dict(p)
        if not page.get("IsTruncated"):
            return out
        marker = int(page.get("NextPartNumberMarker", 0))


def _reconcile(
    ctx: Context, t: Transfer, fd: int, saved: SavedUpload, size: int,
    server: dict[int, dict[str, Any]],
) -> dict[int, PartRecord]:
    """The parts that need not be sent again."""
    done: dict[int, PartRecord] = {}
    for n, info in server.items():
        if n > part_count(size, saved.part_size):
            continue
        offset, length = part_range(n, size, saved.part_size)
        etag = str(info.get("ETag", "")).strip('"')
        if int(info.get("Size", -1)) != length:
            continue
        mine = saved.parts.get(n)
        if mine is not None and mine.etag == etag:
            done[n] = mine
            continue
        # S3 has it but we never noted it: keep it only if it is the same bytes.
        t.check()
        digest = digest_part(_pread(fd, length, offset), saved.checksum_mode)
        field = CHECKSUM_FIELD.get(saved.checksum_mode)
        if (field is not None and info.get(field) == digest.extra) or (
            saved.checksum_mode not in CRC_MODES and etag == digest.md5_hex
        ):
            done[n] = PartRecord(n, length, etag, digest.extra or digest.md5_hex)
    return done


def _abort(ctx: Context, req: UploadRequest, multipart_id: str) -> None:
    try:
        ctx.client.abort_multipart_upload(Bucket=req.bucket, Key=req.key, UploadId=multipart_id)
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) != "NoSuchUpload":
            raise


def _abort_unknown(
    ctx: Context, t: Transfer, key: str, keep: str | None = None, retry: bool = True
) -> int:
    """Abort every multipart upload of exactly `key` except `keep`; returns how many.

    `retry=False` while cancelling or failing: `ctx.call` would stop at once then.
    """
    req: UploadRequest = t.request

    def call(action: str, fn: Any, **kwargs: Any) -> Any:
        return ctx.call(t, action, fn, **kwargs) if retry else fn(**kwargs)

    found: list[str] = []
    markers: dict[str, str] = {}
    while True:
        page = call("look for an unfinished upload", ctx.client.list_multipart_uploads,
                    Bucket=req.bucket, Prefix=key, **markers)
        found += [str(u["UploadId"]) for u in page.get("Uploads", [])
                  if u.get("Key") == key and u.get("UploadId") != keep]
        if not page.get("IsTruncated"):
            break
        markers = {"KeyMarker": str(page.get("NextKeyMarker", "")),
                   "UploadIdMarker": str(page.get("NextUploadIdMarker", ""))}
    for multipart_id in found:
        try:
            call("abort an unfinished upload", ctx.client.abort_multipart_upload,
                 Bucket=req.bucket, Key=key, UploadId=multipart_id)
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) != "NoSuchUpload":
                raise
    if found:
        log.info("transfer %s: aborted %d multipart upload(s) whose id was never recorded",
                 t.id, len(found))
    return len(found)


def abort_saved(ctx: Context, t: Transfer) -> None:
    """Abort the transfer's multipart upload (if any) and forget its parts; an intent
    without an id aborts whatever upload its lost answer may have created."""
    point = ctx.store.resume_point(t.id)
    if isinstance(point, SavedUpload):
        _abort(ctx, t.request, point.multipart_id)
    elif point is not None:
        _abort_unknown(ctx, t, point.key, retry=False)
    ctx.store.forget(t.id)


def _create(ctx: Context, t: Transfer, create: dict[str, Any]) -> str:
    """CreateMultipartUpload with its intent on record first; returns the upload id.

    A retried request may have created an upload whose answer was lost: after a retry,
    the others of this key are aborted (our key, nobody else's upload).
    """
    req: UploadRequest = t.request
    earlier = ctx.store.resume_point(t.id)
    if isinstance(earlier, Intent):  # a run before this one lost the answer
        _abort_unknown(ctx, t, earlier.key)
    ctx.store.intend(t.id, Intent(req.key, datetime.now(UTC), uuid.uuid4().hex))
    attempts = [0]

    def once(**kwargs: Any) -> Any:
        attempts[0] += 1
        return ctx.client.create_multipart_upload(**kwargs)

    created = ctx.call(t, "start the upload", once, **create)
    multipart_id = str(created["UploadId"])
    if attempts[0] > 1:
        try:
            _abort_unknown(ctx, t, req.key, keep=multipart_id)
        except Stop:
            raise
        except Exception:  # no longer in the ledger once `begin` runs: cleanup aborts them
            log.warning("could not abort the uploads of lost answers", exc_info=True)
    return multipart_id


def _multipart(
    ctx: Context, t: Transfer, fd: int, size: int, mtime: int, saved: SavedUpload | None
) -> None:
    req: UploadRequest = t.request
    notice: str | None = None
    done: dict[int, PartRecord] = {}
    if saved is not None:
        if (saved.source_size, saved.source_mtime_ns) != (size, mtime):
            notice = "The file changed since its upload was interrupted; starting over."
            try:
                _abort(ctx, req, saved.multipart_id)
            except Exception:
                log.warning("could not abort the old multipart upload", exc_info=True)
            ctx.store.forget(t.id)
            saved = None
        else:
            server = _list_parts(ctx, t, saved)
            if server is None:
                notice = "The unfinished upload was gone from the bucket; starting over."
                ctx.store.forget(t.id)
                saved = None
            else:
                done = _reconcile(ctx, t, fd, saved, size, server)
    if saved is None:
        sha = req.sha256  # None: hashed below, from the reads that fill the part buffers
        mode = ctx.checksum_mode
        create: dict[str, Any] = {
            "Bucket": req.bucket,
            "Key": req.key,
            "ContentType": req.content_type,
            "Metadata": _metadata(req, sha),
            **(req.extra_args or {}),
        }
        if mode in CHECKSUM_ALGORITHM:
            create["ChecksumAlgorithm"] = CHECKSUM_ALGORITHM[mode]
        saved = SavedUpload(
            multipart_id=_create(ctx, t, create), source_size=size, source_mtime_ns=mtime,
            part_size=part_size_for(size, ctx.part_size), sha256=sha, checksum_mode=mode,
        )
        ctx.store.begin(t.id, saved)
        hasher = None if sha is not None else InOrderSha256()
    else:  # parts sent before are not read again, so the SHA-256 needs a pass of its own
        sha = saved.sha256 or req.sha256 or _hash_file(t, fd, size, want_md5=False)[0]
        hasher = None
    t.extra["multipart_id"] = saved.multipart_id
    t.set_bytes(sum(p.size for p in done.values()))
    ctx.event(t, EventKind.STARTED, notice)
    t.message = notice
    count = part_count(size, saved.part_size)
    missing = [n for n in range(1, count + 1) if n not in done]
    current = saved

    buffers: queue.SimpleQueue[bytearray] = queue.SimpleQueue()  # one per part in flight

    def send(n: int) -> PartRecord:
        try:
            buffer = buffers.get_nowait()
        except queue.Empty:
            buffer = bytearray(current.part_size)
        try:
            return _send_part(ctx, t, fd, current, size, n, buffer, hasher)
        except BaseException:
            if hasher is not None:
                hasher.give_up()
            raise
        finally:
            buffers.put(buffer)

    def record(n: int, part: PartRecord) -> None:
        done[n] = part
        try:
            ctx.store.add_part(t.id, part, t.bytes_done)
        except Exception:  # ListParts will vouch for the part on resume
            log.warning("could not record part %d of %s", n, t.id, exc_info=True)

    try:
        ctx.run_parts(t, missing, send, record)
    except UploadGone:
        ctx.store.forget(t.id)
        raise UserError(
            "The unfinished upload was removed from the bucket while it ran; retry it."
        ) from None
    if _stat(req.path) != (size, mtime):
        raise SourceChanged("The file changed while it was being uploaded; upload it again.")
    if hasher is not None:
        sha = hasher.hexdigest(count)
        if sha is None:  # cannot be: every part was read in this run
            raise SourceChanged("The file could not be read in full; upload it again.")
    _complete(ctx, t, saved, size, [done[n] for n in range(1, count + 1)], sha)


#: How much of a part is read at a time and hashed straight after its read, while those
#: bytes are still in the core's cache: a whole part (16 MiB) read first and hashed after
#: would come back from memory for each of its checksums.
READ_STEP = 256 * 1024


def read_summed(fd: int, view: memoryview, offset: int, *sums: PartSums | InOrderSha256) -> None:
    """Fill `view` from the file at `offset`, each step fed to every one of `sums` right
    after its read."""
    for start in range(0, len(view), READ_STEP):
        step = view[start:start + READ_STEP]
        _pread_into(fd, step, offset + start)
        for s in sums:
            s.update(step)


def _pread_into(fd: int, view: memoryview, offset: int) -> None:
    """Fill `view` from the file at `offset` (no new buffer, no copy)."""
    got = 0
    while got < len(view):
        n = os.preadv(fd, [view[got:]], offset + got)
        if n <= 0:
            raise SourceChanged("The file became shorter while it was being read.")
        got += n


def _send_part(
    ctx: Context, t: Transfer, fd: int, saved: SavedUpload, size: int, n: int,
    buffer: bytearray, hasher: InOrderSha256 | None = None,
) -> PartRecord:
    """Send part `n` from `buffer` (reused across parts: no allocation per part)."""
    req: UploadRequest = t.request
    offset, length = part_range(n, size, saved.part_size)
    attempt = 0
    while True:
        attempt += 1
        t.check()
        data = memoryview(buffer)[:length]
        sums = PartSums(saved.checksum_mode)
        if hasher is not None and hasher.turn(t, n):
            read_summed(fd, data, offset, sums, hasher)
            hasher.passed(n)
        else:
            read_summed(fd, data, offset, sums)
        digest = sums.digest()
        body = SendBody(t, ctx.limiter, length, data=data, skip_first_pass=ctx.signs_payload)
        del data
        kwargs: dict[str, Any] = {
            "Bucket": req.bucket, "Key": req.key, "UploadId": saved.multipart_id,
            "PartNumber": n, "Body": body, "ContentLength": length,
        }
        if saved.checksum_mode not in CRC_MODES:
            kwargs["ContentMD5"] = digest.md5_b64
        field = CHECKSUM_FIELD.get(saved.checksum_mode)
        if field is not None:
            kwargs[field] = digest.extra
        try:
            response = ctx.client.upload_part(**kwargs)
            etag = response["ETag"].strip('"')
            if field is not None and response.get(field) not in (None, digest.extra):
                raise IntegrityError(f"Part {n} arrived in the bucket different from the disk")
            if (
                saved.checksum_mode not in CRC_MODES
                and looks_like_md5_etag(etag)
                and etag != digest.md5_hex
                and not response.get("SSEKMSKeyId")
            ):
                raise IntegrityError(f"Part {n} arrived in the bucket different from the disk")
        except Stop:
            body.settle(False)
            raise
        except Exception as exc:
            body.settle(False)
            if t.should_stop():
                raise Stop() from None
            if error_code(exc) == "NoSuchUpload":
                raise UploadGone() from None
            if not is_retryable(exc) or attempt >= ctx.retry.max_attempts:
                raise
            ctx.backoff(t, attempt, exc, f"send part {n}")
            continue
        body.settle(True)
        return PartRecord(n, length, etag, digest.extra or digest.md5_hex)


def _complete(
    ctx: Context, t: Transfer, saved: SavedUpload, size: int, parts: list[PartRecord],
    sha: str | None,
) -> None:
    req: UploadRequest = t.request
    field = CHECKSUM_FIELD.get(saved.checksum_mode)
    listed: list[dict[str, Any]] = []
    for p in parts:
        item: dict[str, Any] = {"PartNumber": p.number, "ETag": f'"{p.etag}"'}
        if field is not None and p.checksum:
            item[field] = p.checksum
        listed.append(item)
    if saved.checksum_mode in CRC_MODES:
        expected = composite_checksum(saved.checksum_mode, [p.checksum or "" for p in parts])
    else:
        expected = multipart_etag([bytes.fromhex(p.etag) for p in parts])
    attempt = 0
    while True:
        attempt += 1
        t.check()
        try:
            response: dict[str, Any] = dict(ctx.client.complete_multipart_upload(
                Bucket=req.bucket, Key=req.key, UploadId=saved.multipart_id,
                MultipartUpload={"Parts": listed},  # type: ignore[typeddict-item]
            ))
            break
        except Exception as exc:
            if error_code(exc) == "NoSuchUpload" and attempt > 1:
                # An earlier attempt completed it but its answer was lost: check the object.
                head = ctx.client.head_object(Bucket=req.bucket, Key=req.key)
                response = {"ETag": head["ETag"]}
                break
            if t.should_stop():
                raise Stop() from None
            if not is_retryable(exc) or attempt >= ctx.retry.max_attempts:
                raise
            ctx.backoff(t, attempt, exc, "finish the upload")
    ctx.store.forget(t.id)
    etag = str(response.get("ETag", "")).strip('"')
    if saved.checksum_mode in CRC_MODES:
        got = response.get(CHECKSUM_FIELD[saved.checksum_mode])
        ok = got is None or got == expected
    else:
        ok = etag == expected or not (len(etag.split("-")[0]) == 32 and "-" in etag)
    if not ok:
        _delete_quietly(ctx, req)
        raise IntegrityError("The stored file does not match what was read from disk")
    _finish(ctx, t, sha, size, parts=True)
