"""Uploading, listing, sharing, downloading, promoting and deleting files.

S3 and the database stay consistent: a row is written as `uploading` before any byte
is sent and only becomes `completed` once the object is verified; a failed upload
leaves no object, no open multipart upload and no completed row.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import peewee

from shorts_desktop.core.config import MAX_PRESIGN_SECONDS, Settings
from shorts_desktop.core.db.connection import bound_database_path
from shorts_desktop.core.db.models import (
    INPUTS_RELEASED_STATUSES,
    Job,
    Upload,
    get_by_id_or_prefix,
    utcnow,
)
from shorts_desktop.core.db.upload_rows import UploadRows, bound_rows
from shorts_desktop.core.errors import (
    NotFoundError,
    ShortsError,
    SourceFileChanged,
    StorageError,
    TargetExistsError,
    TransferCancelled,
    TransferInterrupted,
    TransferPaused,
    UploadInterrupted,
    UserError,
)
from shorts_desktop.core.failures import explain, os_error
from shorts_desktop.core.render.types import VideoInfo
from shorts_desktop.core.services import files
from shorts_desktop.core.services.hash_ahead import HashAhead, KnownHashes
from shorts_desktop.core.storage.base import ObjectInfo, ProgressCallback, Storage
from shorts_desktop.core.storage.keys import (
    media_from_metadata,
    object_metadata,
    safe_name,
    upload_key,
)
from shorts_desktop.core.transfers.lane import LaneJob, PutLane

UPLOAD_KINDS = ("video", "transcript")
THUMBNAIL_WIDTH = 160
log = logging.getLogger(__name__)


def _source_state(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


#: Up to this size a failed upload's file is hashed again when its size and time look
#: unchanged (a rewrite within the clock's tick); a larger one is judged by those alone.
REHASH_AFTER_FAILURE_MAX = 64 * 1024 * 1024


def source_changed(path: Path, sums: files.Digests,
                   before: os.stat_result | None) -> SourceFileChanged | None:
    """Why an upload failed when its source file is not what it was when it was hashed
    (`sums`) and sent (`before`): removed, grown, shrunk or rewritten. That is the user's
    input, not a storage failure; None when the file is as it was."""
    now = _source_state(path)
    if now is None:
        return SourceFileChanged(f"{path} was removed or moved while it was being uploaded; "
                                 "upload it again once it is back.")
    if now.st_size != sums.size:
        verb = "grew" if now.st_size > sums.size else "shrank"
        return SourceFileChanged(
            f"{path} {verb} from {sums.size:,} to {now.st_size:,} bytes while it was being "
            "uploaded; upload it again once it is complete."
        )
    rewritten = before is not None and (now.st_mtime_ns, now.st_ino) != (before.st_mtime_ns,
                                                                          before.st_ino)
    if not rewritten and sums.sha256 is not None and now.st_size <= REHASH_AFTER_FAILURE_MAX:
        try:
            rewritten = files.digests(path, md5=False).sha256 != sums.sha256
        except OSError:
            rewritten = False  # unreadable now: the failure keeps its own words
    if rewritten:
        return SourceFileChanged(f"{path} was rewritten while it was being uploaded; upload "
                                 "it again once it is complete.")
    return None


def find_upload(upload_id: str, kind: str | None = None) -> Upload:
    """The upload with this id (a unique prefix of 8+ characters is enough)."""
    upload = get_by_id_or_prefix(Upload, upload_id)
    if upload is None:
        raise NotFoundError(f"No upload has the id {upload_id!r}.")
    if kind is not None and upload.kind != kind:
        raise UserError(f"Upload {upload.id} is a {upload.kind}, not a {kind}.")
    return upload


def media_of(upload: Upload) -> tuple[float, int, int] | None:
    if upload.duration is None or upload.width is None or upload.height is None:
        return None
    return float(upload.duration), int(upload.width), int(upload.height)


def unfinished_job_using(upload: Upload) -> Job | None:
    job: Job | None = (
        Job.select()
        .where(
            ((Job.video_upload == upload.id) | (Job.transcript_upload == upload.id))
            & (Job.status.not_in(INPUTS_RELEASED_STATUSES))
        )
        .first()
    )
    return job


class UploadService:
    def __init__(self, settings: Settings, storage: Storage, scratch_dir: Path,
                 rows: UploadRows | None = None) -> None:
        self.settings = settings
        self.storage = storage
        self.scratch_dir = scratch_dir
        self._rows = rows
        self._known = KnownHashes()

    @property
    def rows(self) -> UploadRows:
        """Where a send writes its row (the storage's engine keeps its parts there too)."""
        if self._rows is None:
            self._rows = bound_rows()
        return self._rows

    def _asked_of(self, upload_id: str) -> str | None:
        """"pause" or "cancel" when the upload's row says so: how `shorts-desktop pause ID`
        or `cancel ID` in another process reaches the process that is sending it."""
        return {"paused": "pause", "cancelled": "cancel"}.get(self.rows.status(upload_id) or "")

    # -- uploading --------------------------------------------------------------------------

    def inspect(self, path: Path, kind: str) -> str:
        """Validate a file for `kind`; returns its content type."""
        files.check_readable_file(path)
        return self._content_type(path, kind)

    @staticmethod
    def _content_type(path: Path, kind: str) -> str:
        """What the file's bytes say it is, for `kind` (a UserError when not that)."""
        if kind == "video":
            return files.sniff_video(path)
        if kind == "transcript":
            return files.check_transcript_file(path)
        raise UserError(f"Unknown upload kind {kind!r}; use video or transcript.")

    def upload_file(
        self,
        path: Path,
        kind: str,
        *,
        is_temp: bool = True,
        progress: ProgressCallback | None = None,
        original_name: str | None = None,
        content_type: str | None = None,
    ) -> Upload:
        """Validate (unless `content_type` says the intake did), record and upload a file,
        and wait until it is stored and verified."""
        upload, sums = self.create(Path(path), kind, is_temp=is_temp, original_name=original_name,
                                   content_type=content_type)
        return self.send(upload, Path(path), sums, progress)

    def open_lane(self, take: Callable[[int], list[LaneJob]],
                  in_flight: int) -> PutLane | None:
        """The storage's lane for small files (`Storage.open_put_lane`), or None."""
        return self.storage.open_put_lane(take, in_flight)

    def create(
        self, path: Path, kind: str, *, is_temp: bool = True, original_name: str | None = None,
        content_type: str | None = None,
    ) -> tuple[Upload, files.Digests]:
        """Validate a file and record it as `uploading`; nothing is sent or read yet (S3
        hashes while it sends). A `content_type` says the intake validated it already."""
        upload, sums = self._new_upload(path, kind, is_temp, original_name, content_type)
        self.rows.insert(upload)
        return upload, sums

    def create_many(
        self, checked: list[tuple[Path, str, bool, str]],
    ) -> list[tuple[Upload, files.Digests] | ShortsError]:
        """`create` for files the intake validated, (path, kind, is_temp, content_type)
        each: their rows in one commit. A file that cannot be recorded (gone since, say)
        gets its error in its place; a database that refuses fails them all."""
        made: list[tuple[Upload, files.Digests] | ShortsError] = []
        for path, kind, is_temp, content_type in checked:
            try:
                made.append(self._new_upload(path, kind, is_temp, None, content_type))
            except ShortsError as exc:
                made.append(exc)
        self.rows.insert_many([m[0] for m in made if not isinstance(m, ShortsError)])
        return made

    def _new_upload(
        self, path: Path, kind: str, is_temp: bool, original_name: str | None,
        content_type: str | None,
    ) -> tuple[Upload, files.Digests]:
        """The row of a new upload (not stored yet) and what its send needs."""
        st: os.stat_result | None = None
        if content_type is None:
            size = files.check_readable_file(path)
            content_type = self._content_type(path, kind)
        else:  # the intake read it moments ago; gone since, or changed, it says so here
            st = files.regular_file_stat(path)
            size = st.st_size
        name = original_name or path.name
        sums = self._digests(path, size, st)
        upload_id = str(uuid.uuid4())
        media = self._media(path) if kind == "video" else None
        upload = Upload(
            id=upload_id,
            kind=kind,
            original_name=name,
            size=sums.size,
            content_type=content_type,
            checksum=sums.sha256,
            backend=self.storage.backend,
            bucket=self.storage.bucket,
            key=upload_key(self.settings.prefix_for(kind, is_temp), upload_id, name),
            is_temp=is_temp,
            status="uploading",
            source_path=os.path.abspath(path),  # not resolve(): a stat per folder in it
            **(media or {}),
        )
        return upload, sums

    def _media(self, path: Path) -> dict[str, object] | None:
        """Duration and size of a video, from its header, read once here before its first
        byte (they go into its object's metadata); its thumbnail is made while it is sent
        (`send`). A video ffmpeg cannot read is still stored (the job that uses it says why
        it cannot be made)."""
        from shorts_desktop.core.render.probe import probe

        try:
            info = probe(path, decode=False)
        except ShortsError as exc:
            log.info("no media info for %s: %s", path.name, exc)
            return None
        return {"duration": round(info.duration, 3), "width": info.width,
                "height": info.height}

    def _thumbnail_beside(self, upload: Upload, path: Path,
                          made: Callable[[], None] | None) -> threading.Thread | None:
        """Make a probed video's thumbnail on a thread of its own while its bytes are sent
        (ffmpeg seeking and decoding a frame takes longer than the probe); it is in the
        row, and in `upload`, before `send` returns, and `made()` is told once it is in
        the row (the window's library shows it then, not only when the upload ends)."""
        if upload.kind != "video" or upload.thumbnail or not (
            upload.duration and upload.width and upload.height
        ):
            return None
        info = VideoInfo(duration=float(upload.duration), width=int(upload.width),
                         height=int(upload.height), fps=0.0, has_audio=False)
        making = threading.Thread(target=self._make_thumbnail, args=(upload, path, info, made),
                                  name="shorts-desktop-thumbnail", daemon=True)
        making.start()
        return making

    def _make_thumbnail(self, upload: Upload, path: Path, info: VideoInfo,
                        made: Callable[[], None] | None) -> None:
        from shorts_desktop.core.render.probe import thumbnail

        try:
            self.scratch_dir.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(suffix=".jpg", dir=self.scratch_dir)
            os.close(fd)
            out = Path(name)
            try:
                thumbnail(path, out, at=min(1.0, info.duration / 3), width=THUMBNAIL_WIDTH,
                          info=info)
                data = out.read_bytes()
            finally:
                out.unlink(missing_ok=True)
            stored = self.rows.update(upload.id, {"thumbnail": data}, while_null="thumbnail")
            upload.thumbnail = data
        except (ShortsError, OSError) as exc:
            log.info("no thumbnail for %s: %s", path.name, exc)
            return
        except Exception:  # a thread's error would otherwise vanish; the upload goes on
            log.exception("the thumbnail of %s could not be made", path.name)
            return
        if stored and made is not None:
            made()

    def continue_upload(
        self, upload_id: str, progress: ProgressCallback | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> Upload:
        """Resume an interrupted upload from its saved parts, or retry a failed or cancelled
        one from its source file; the upload keeps its id and key."""
        upload, path, sums = self.reopen(upload_id)
        return self.send(upload, path, sums, progress, notice)

    def reopen(self, upload_id: str) -> tuple[Upload, Path, files.Digests]:
        """Check an unfinished upload's source file again and mark it `uploading`."""
        upload = find_upload(upload_id)
        if upload.status not in ("queued", "uploading", "paused", "failed", "cancelled"):
            raise UserError(f"Upload {upload.id} is {upload.status}; it cannot be continued.")
        if not upload.source_path:
            raise UserError(
                f"Upload {upload.id} has no source file on this computer; upload it again."
            )
        if upload.backend != self.storage.backend or upload.bucket != self.storage.bucket:
            raise UserError(f"Upload {upload.id} was meant for another storage; upload it again.")
        path = Path(upload.source_path)
        self.inspect(path, upload.kind)
        sums = self._digests(path)
        self.rows.update(upload.id, {"status": "uploading", "size": sums.size,
                                     "checksum": sums.sha256, "error": None,
                                     "updated_at": utcnow()})
        return find_upload(upload.id), path, sums

    def _digests(self, path: Path, size: int | None = None,
                 st: os.stat_result | None = None) -> files.Digests:
        """What a send needs before it starts: the size and the stat it starts from, and
        the SHA-256 the duplicate check or a `HashAhead` computed if the file is still what
        it hashed. Otherwise both storages hash the file in the read that sends it."""
        try:
            if st is None:
                st = path.stat()
            sha256 = self._known.take(path, st)
            return files.Digests(sha256, None, st.st_size if size is None else size, st)
        except OSError as exc:
            raise UserError(f"{path} cannot be read: {exc.strerror or exc}.") from None

    def hash_ahead(self, ahead: HashAhead) -> None:
        """Sends from now on take their files' hashes from `ahead` where it made them
        (the newest few kept: an older one is stopped, its files hashed by their sends).
        A storage that hashes what it writes anyway has no use for it: it is stopped."""
        if not self.storage.takes_hashes:
            ahead.stop()
            return
        self._known.add(ahead)

    def mark_sending(self, upload_id: str) -> None:
        """A paused upload goes on: a restart now resumes it instead of holding it."""
        self.rows.update(upload_id, {"status": "uploading", "updated_at": utcnow()},
                         status_in=("paused",))

    def send(self, upload: Upload, path: Path, sums: files.Digests,
             progress: ProgressCallback | None = None,
             notice: Callable[[str], None] | None = None,
             held: Callable[[], bool] | None = None,
             thumbnail_made: Callable[[], None] | None = None) -> Upload:
        """Send a recorded upload's bytes and mark it completed once verified; `held` as
        in `Storage.put_file`; `thumbnail_made` as `made` in `_thumbnail_beside`."""
        making = self._thumbnail_beside(upload, path, thumbnail_made)
        try:
            return self._send(upload, path, sums, progress, notice, held)
        finally:
            if making is not None:
                making.join()

    def _send(self, upload: Upload, path: Path, sums: files.Digests,
              progress: ProgressCallback | None, notice: Callable[[str], None] | None,
              held: Callable[[], bool] | None) -> Upload:
        assert upload.key is not None
        before = sums.stat if sums.stat is not None else _source_state(path)
        try:
            stored_sha256 = self.storage.put_file(
                path,
                upload.key,
                content_type=upload.content_type,
                metadata=self._object_metadata(upload, sums),
                md5_hex=sums.md5,
                progress=progress,
                transfer_id=upload.id,
                sha256=sums.sha256,
                source=sums.source,
                notice=notice,
                held=held,
                control=lambda: self._asked_of(upload.id),
            )
        except KeyboardInterrupt:
            if not self.storage.resumable:
                self._fail(upload, KeyboardInterrupt())
                raise
            self.rows.update(upload.id, {"status": "paused", "updated_at": utcnow()})
            raise UploadInterrupted(
                f"Interrupted; `shorts-desktop resume {upload.id}` continues the upload."
            ) from None
        except TransferPaused:  # what was sent is kept; sending again continues it
            self.rows.update(upload.id, {"status": "paused", "updated_at": utcnow()})
            raise TransferPaused(f"Paused; `shorts-desktop resume {upload.id}` continues the "
                                 "upload.") from None
        except TransferInterrupted:  # the row stays uploading: the next start sends it on
            raise
        except BaseException as exc:
            if isinstance(exc, Exception) and self._asked_of(upload.id) == "cancel":
                # Cancelled from another process, which aborted the parts under us: that,
                # not the refusal of the next part, is what happened.
                exc = TransferCancelled("The upload was cancelled.")
            changed = None
            if isinstance(exc, Exception) and not isinstance(exc, TransferCancelled):
                changed = source_changed(path, sums, before)  # did the file change under us?
            self._fail(upload, changed or exc)
            if changed is not None:
                raise changed from None
            if isinstance(exc, TransferCancelled):
                raise exc from None
            raise
        return self.record_sent(upload, path, sums, stored_sha256)

    def _object_metadata(self, upload: Upload, sums: files.Digests) -> dict[str, str]:
        return object_metadata(upload.id, upload.kind, upload.original_name, sums.sha256,
                               bool(upload.is_temp), media_of(upload))

    def lane_job(self, upload: Upload, path: Path, sums: files.Digests,
                 done: Callable[[LaneJob, BaseException | None], None]) -> LaneJob:
        """A recorded upload as the storage's lane for small files sends it (`done` as in
        `LaneJob`); after `done(None)`, `record_sent` ends it as `send` does."""
        assert upload.key is not None and upload.content_type is not None
        return LaneJob(upload.id, path, upload.key, upload.content_type,
                       self._object_metadata(upload, sums), sums.source, done, sums.sha256)

    def record_sent(self, upload: Upload, path: Path, sums: files.Digests,
                    stored_sha256: str | None) -> Upload:
        """The upload's object is stored and verified: its row says so (`upload` then
        reads as the row does); a database that cannot record it leaves no object."""
        assert upload.key is not None
        upload.checksum = upload.checksum or stored_sha256
        try:
            self._record_completed(upload, sums.size)
            # Pasted text: its file was only a carrier (compared as text: a Path's == costs
            # more than the rest of this).
            if os.path.dirname(path) == os.fspath(self.scratch_dir):
                self.rows.update(upload.id, {"source_path": None})
                upload.source_path = None
                path.unlink(missing_ok=True)
        except (peewee.PeeweeException, sqlite3.Error, StorageError):
            self.storage.delete(upload.key)  # undo: no object without a completed row
            with contextlib.suppress(peewee.PeeweeException):
                self.rows.update(upload.id, {"status": "failed", "updated_at": utcnow(),
                                             "error": "The database could not record it."})
            raise
        return upload

    _COMPLETION = ("status", "completed_at", "updated_at", "checksum", "size")

    def _record_completed(self, upload: Upload, size: int) -> None:
        """Mark the row completed, unless the engine's store did in the commit that ended
        the transfer (one commit, not two); `upload` then reads as the row does."""
        done = self.rows.take_completion(upload.id) or self.rows.read(upload.id, self._COMPLETION)
        if done is None:
            raise StorageError("The upload's database row disappeared while it was stored.")
        if done["status"] != "completed":  # a store that keeps no rows: the local library
            now = utcnow()
            done = {"status": "completed", "completed_at": now, "updated_at": now,
                    "checksum": upload.checksum, "size": size}
            updated = self.rows.update(upload.id, {**done, "error": None, "bytes_done": size},
                                       unless_status=("cancelled",))
            if updated != 1 and self._asked_of(upload.id) == "cancel":  # by another process
                self._fail(upload, TransferCancelled("The upload was cancelled."))
                raise TransferCancelled("The upload was cancelled.")
            if updated != 1:
                raise StorageError("The upload's database row disappeared while it was stored.")
        for name, value in done.items():
            setattr(upload, name, value)
        upload.error = None
        upload.bytes_done = upload.size

    def pause(self, upload_id: str) -> Upload:
        """Pause a running upload (this process) or mark a stopped one not to resume."""
        upload = find_upload(upload_id)
        if self.storage.sending(upload.id):
            self.storage.pause_sending(upload.id)
        elif upload.status in ("queued", "uploading"):
            self.rows.update(upload.id, {"status": "paused", "updated_at": utcnow()})
        else:
            raise UserError(f"Upload {upload.id} is {upload.status}; only a running one pauses.")
        return find_upload(upload.id)

    def cancel(self, upload_id: str) -> Upload:
        """Stop an upload and throw away what it sent (its multipart upload is aborted)."""
        upload = find_upload(upload_id)
        if upload.status not in ("queued", "uploading", "paused", "failed"):
            raise UserError(f"Upload {upload.id} is {upload.status}; there is nothing to cancel.")
        if self.storage.sending(upload.id):
            self.storage.cancel_sending(upload.id, wait=60)
        else:
            self._fail(upload, TransferCancelled("The upload was cancelled."))
        self.rows.update(upload.id, {"status": "cancelled", "updated_at": utcnow()})
        return find_upload(upload.id)

    def unfinished(self) -> list[Upload]:
        """Uploads that stopped before completing, for the queue and `shorts-desktop queue`."""
        return list(
            Upload.select()
            .where(Upload.status.in_(("queued", "uploading", "paused", "failed", "cancelled")))
            .order_by(Upload.created_at)
        )

    def _fail(self, upload: Upload, exc: BaseException) -> None:
        """Record why an upload failed and make sure nothing of it stays in storage."""
        cancelled = isinstance(exc, KeyboardInterrupt | TransferCancelled)
        known = explain(exc, database=bound_database_path())
        if known is not None:
            reason = str(known)
        elif isinstance(exc, KeyboardInterrupt):
            reason = "interrupted"
        else:
            reason = f"unexpected error ({type(exc).__name__})"
        try:
            for leftover in self.storage.list_multipart_uploads(upload.key or ""):
                if leftover.key == upload.key:
                    self.storage.abort_multipart(leftover.key, leftover.upload_id)
            if upload.key and self.storage.head(upload.key) is not None:
                self.storage.delete(upload.key)
        except ShortsError:
            reason += " (its partial data could not be removed yet; cleanup will retry)"
        self.rows.update(upload.id, {"status": "cancelled" if cancelled else "failed",
                                     "error": reason, "updated_at": utcnow()})

    def upload_transcript_text(
        self, text: str, *, is_temp: bool = True, name: str = "transcript.txt",
        progress: ProgressCallback | None = None,
    ) -> Upload:
        upload, path, sums = self.create_from_text(text, is_temp=is_temp, name=name)
        return self.send(upload, path, sums, progress)

    def create_from_text(
        self, text: str, *, is_temp: bool = True, name: str = "transcript.txt"
    ) -> tuple[Upload, Path, files.Digests]:
        """Record typed or pasted transcript text; it is kept in the data folder until it is
        stored, so that an interrupted upload of it can resume too."""
        data = text.encode("utf-8")
        files.decode_transcript(data, "The transcript text")
        if not name.lower().endswith((".txt", ".srt", ".vtt")):
            name += ".txt"
        action = "keep the transcript text until it is uploaded"
        try:
            self.scratch_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(
                suffix=Path(safe_name(name)).suffix, dir=self.scratch_dir
            )
        except OSError as exc:
            raise os_error(exc, action, path=self.scratch_dir) from None
        path = Path(tmp_name)
        try:
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
            except OSError as exc:
                raise os_error(exc, action, path=path) from None
            upload, sums = self.create(path, "transcript", is_temp=is_temp, original_name=name)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return upload, path, sums

    # -- reading ----------------------------------------------------------------------------

    def find_same_content(self, sha256: str, size: int | None = None) -> list[Upload]:
        """Completed uploads whose content has this SHA-256 (and size), oldest first."""
        if not sha256:
            return []
        query = Upload.select().where((Upload.checksum == sha256.lower())
                                      & (Upload.status == "completed"))
        if size is not None:
            query = query.where(Upload.size == size)
        return list(query.order_by(Upload.completed_at, Upload.created_at))

    def same_content_as(self, path: Path, *, size_stored: bool = False) -> list[Upload]:
        """Completed uploads with the same bytes as the file at `path`, oldest first.

        The file is hashed only when a completed upload has its size, so most new files
        cost one query and no read; `size_stored`: the caller asked that already
        (`sizes_stored`, once for a whole drop). Reads the disk: call it from a worker
        thread.
        """
        before = os.stat(path)
        size = before.st_size
        if not size_stored and not Upload.select().where(
                (Upload.size == size) & (Upload.status == "completed")).exists():
            return []
        sha256 = (self._known.take(path, before)
                  or files.digests(Path(path), md5=False).sha256 or "")
        after = os.stat(path)
        if (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns):
            self._known.remember(path, after.st_size, after.st_mtime_ns, sha256)  # for its send
        return self.find_same_content(sha256, size)

    def sizes_stored(self, sizes: Iterable[int]) -> set[int]:
        """Which of these sizes a completed upload has: one query for a whole drop, so
        that only files of those sizes are hashed by `same_content_as`."""
        wanted = list(set(sizes))
        found: set[int] = set()
        for start in range(0, len(wanted), 500):  # SQLite's limit on bound parameters
            query = Upload.select(Upload.size).distinct().where(
                Upload.size.in_(wanted[start:start + 500]) & (Upload.status == "completed"))
            found.update(int(row.size) for row in query)
        return found

    def same_content_as_text(self, text: str) -> list[Upload]:
        """Completed uploads whose bytes are this transcript text (UTF-8), oldest first."""
        data = text.encode("utf-8")
        return self.find_same_content(hashlib.sha256(data).hexdigest(), len(data))

    def jobs_using(self, upload_ids: list[str]) -> dict[str, list[dict[str, object]]]:
        """The jobs made or to be made from each of these uploads, newest first, as
        {"id", "title", "status", "needs_inputs"} (one query per 400 uploads);
        `needs_inputs` is true while the job's status keeps its inputs from deletion."""
        used: dict[str, list[dict[str, object]]] = {}
        ids = list(dict.fromkeys(upload_ids))
        for start in range(0, len(ids), 400):
            chunk = ids[start:start + 400]
            wanted = set(chunk)
            jobs = (Job.select(Job.id, Job.title, Job.status, Job.video_upload,
                               Job.transcript_upload)
                    .where(Job.video_upload.in_(chunk) | Job.transcript_upload.in_(chunk))
                    .order_by(Job.created_at.desc()))
            for job in jobs:
                summary: dict[str, object] = {
                    "id": job.id, "title": job.title, "status": job.status,
                    "needs_inputs": job.status not in INPUTS_RELEASED_STATUSES,
                }
                inputs = (job.video_upload_id, job.transcript_upload_id)  # type: ignore[attr-defined]
                for upload_id in dict.fromkeys(inputs):
                    if upload_id in wanted:
                        used.setdefault(upload_id, []).append(summary)
        return used

    def list(
        self,
        kind: str | None = None,
        is_temp: bool | None = None,
        include_deleted: bool = False,
        *,
        thumbnails: bool = True,
    ) -> list[Upload]:
        """Newest first. `thumbnails=False` leaves the pictures out (`has_thumbnail` says
        whether there is one; `thumbnails()` reads them): a library of 100,000 rows would
        otherwise carry ~1 GB of JPEGs it never shows."""
        if thumbnails:
            query = Upload.select()
        else:
            fields = [f for f in Upload._meta.sorted_fields if f.name != "thumbnail"]
            query = Upload.select(*fields, Upload.thumbnail.is_null(False).alias("has_thumbnail"))
        query = query.order_by(Upload.created_at.desc())
        if kind is not None:
            query = query.where(Upload.kind == kind)
        if is_temp is not None:
            query = query.where(Upload.is_temp == is_temp)
        if not include_deleted:
            query = query.where(Upload.status != "deleted")
        return list(query)

    def thumbnails(self, upload_ids: Iterable[str]) -> dict[str, bytes]:
        """The stored thumbnails of these uploads, by id (those without one left out)."""
        ids = list(dict.fromkeys(upload_ids))
        found: dict[str, bytes] = {}
        for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
            query = Upload.select(Upload.id, Upload.thumbnail).where(
                Upload.id.in_(ids[start:start + 500]) & Upload.thumbnail.is_null(False))
            for row in query:
                found[row.id] = bytes(row.thumbnail or b"")
        return found

    def make_thumbnail(self, upload_id: str) -> bytes | None:
        """A thumbnail for a stored video that has none (its row rebuilt by `sync`, or its
        upload probed nothing), made from the stored object and kept; None when the video
        is not reachable here or ffmpeg can make nothing of it."""
        from shorts_desktop.core.render.probe import thumbnail_of_stored

        upload = find_upload(upload_id)
        if upload.thumbnail:
            return bytes(upload.thumbnail)
        if upload.kind != "video" or upload.status != "completed" or not upload.key or (
            upload.backend != self.storage.backend or upload.bucket != self.storage.bucket
        ):
            return None
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(suffix=".jpg", dir=self.scratch_dir)
        os.close(fd)
        out = Path(name)
        try:
            source = self.storage.media_source(upload.key, 900)
            at = min(1.0, (upload.duration or 0.0) / 3)
            data = thumbnail_of_stored(source, upload.original_name, out, at=at,
                                       width=THUMBNAIL_WIDTH).read_bytes()
        except (ShortsError, OSError) as exc:
            log.info("no thumbnail for %s: %s", upload.original_name, exc)
            return None
        finally:
            out.unlink(missing_ok=True)
        self.rows.update(upload.id, {"thumbnail": data}, while_null="thumbnail")
        return data

    def _stored(self, upload: Upload) -> Upload:
        """The upload, if its bytes are reachable through the configured storage."""
        if upload.status != "completed":
            raise UserError(f"Upload {upload.id} is {upload.status}, not a completed file.")
        if upload.backend != self.storage.backend or upload.bucket != self.storage.bucket:
            where = f"bucket {upload.bucket}" if upload.bucket else "the local library"
            now = (
                f"bucket {self.storage.bucket}" if self.storage.bucket else "the local library"
            )
            hint = " (run `shorts-desktop migrate-to-s3`)" if upload.backend == "local" else ""
            raise UserError(f"Upload {upload.id} is in {where}, but the app uses {now}{hint}.")
        return upload

    def presigned_url(self, upload_id: str, expires: int | None = None) -> tuple[str, int]:
        seconds = self.settings.presigned_url_expiry if expires is None else expires
        if not 1 <= seconds <= MAX_PRESIGN_SECONDS:
            raise UserError("A link must expire within 1 second to 7 days (604,800 seconds).")
        upload = self._stored(find_upload(upload_id))
        if upload.key is None:
            raise UserError(f"Upload {upload.id} is a legacy file with no storage key.")
        url = self.storage.presigned_url(
            upload.key, seconds, download_name=safe_name(upload.original_name)
        )
        return url, seconds

    def download(
        self,
        upload_id: str,
        dest: Path | None = None,
        *,
        overwrite: bool = False,
        progress: ProgressCallback | None = None,
    ) -> Path:
        upload = find_upload(upload_id)
        target = Path(dest) if dest is not None else Path.cwd()
        if target.is_dir():
            target = target / safe_name(upload.original_name)
        if target.exists() and not overwrite:
            raise TargetExistsError(f"{target} already exists.")
        if not target.parent.is_dir():
            raise UserError(f"The folder {target.parent} does not exist.")
        if upload.backend == "local" and upload.key is None and upload.file_path:
            return self._copy_legacy(upload, target)
        upload = self._stored(upload)
        assert upload.key is not None
        # Checked against the SHA-256 by the storage, in its own read: nothing is left at
        # `target` when it does not match.
        self.storage.download_file(upload.key, target, progress, sha256=upload.checksum)
        return target

    def _copy_legacy(self, upload: Upload, target: Path) -> Path:
        source = Path(str(upload.file_path))
        if not source.is_file():
            self.rows.update(upload.id, {"status": "missing", "updated_at": utcnow()})
            raise StorageError(f"The legacy file {source} no longer exists.")
        shutil.copyfile(source, target)
        return target

    # -- changing ---------------------------------------------------------------------------

    def promote(self, upload_id: str) -> tuple[Upload, bool]:
        """Move a temporary upload to permanent storage; returns (upload, changed).

        The target key is written down before the copy and the row is switched to it once
        the temporary copy is gone, so a run killed at any point is finished by the next
        (or by `recover` and `sync`): no copy is left unaccounted, no row wrongly `missing`.
        """
        upload = find_upload(upload_id)
        if not upload.is_temp:
            return upload, False
        target = upload.promote_key or permanent_key(self.settings, upload)
        if upload.status == "missing" and self._same_storage(upload) and copy_is_intact(
            self.storage, upload, target
        ):  # the temporary copy went after a promote had copied it
            return complete_promotion(self.storage, upload, target), True
        upload = self._stored(upload)
        assert upload.key is not None
        old_key = upload.key
        resuming = upload.promote_key is not None
        if resuming and copy_is_intact(self.storage, upload, target):
            return complete_promotion(self.storage, upload, target), True
        if self.storage.head(old_key) is None:
            if not resuming and copy_is_intact(self.storage, upload, target):
                return complete_promotion(self.storage, upload, target), True
            self.rows.update(upload.id, {"status": "missing", "promote_key": None,
                                         "updated_at": utcnow()})
            raise StorageError(
                f"{upload.original_name} is no longer in storage (a cleanup or lifecycle rule "
                "removed it) and has no permanent copy; upload it again."
            )
        if not resuming:  # the intent, before any byte is copied
            self.rows.update(upload.id, {"promote_key": target, "updated_at": utcnow()})
        metadata = object_metadata(
            upload.id, upload.kind, upload.original_name, upload.checksum, False,
            media_of(upload),  # the SHA-256 too: a file sent in parts had none in the bucket
        )
        self.storage.copy(old_key, target, content_type=upload.content_type, metadata=metadata)
        if not copy_is_intact(self.storage, upload, target):
            raise StorageError(
                f"The permanent copy of {upload.original_name} could not be verified; the "
                "temporary file was kept."
            )
        return complete_promotion(self.storage, upload, target), True

    def _same_storage(self, upload: Upload) -> bool:
        return upload.backend == self.storage.backend and upload.bucket == self.storage.bucket

    def recover(self) -> tuple[str, ...]:
        """Settle what a killed run left half done, copying nothing: a promotion whose
        permanent copy is made is finished, a sent delete marks its row `deleted`. Returns
        the ids it changed; it asks the storage, so call it off the GUI thread."""
        query = Upload.select().where(
            (Upload.backend == self.storage.backend)
            & (Upload.promote_key.is_null(False)
               | (Upload.deleting_at.is_null(False) & (Upload.status != "deleted")))
        )
        if self.storage.bucket is not None:
            query = query.where(Upload.bucket == self.storage.bucket)
        changed: list[str] = []
        for row in query:
            try:
                if settle_intent(self.storage, row):
                    changed.append(row.id)
            except ShortsError as exc:
                log.info("upload %s not settled yet: %s", row.id, exc)
        return tuple(changed)

    def delete(self, upload_id: str) -> Upload:
        upload = find_upload(upload_id)
        if upload.status == "deleted":
            return upload
        job = unfinished_job_using(upload)
        if job is not None:
            raise UserError(
                f"Upload {upload.id} is used by the job {job.title!r} ({job.status}); finish "
                "or cancel that job first."
            )
        if upload.status in ("uploading", "queued", "paused"):
            raise UserError(f"Upload {upload.id} is still {upload.status}; cancel it first.")
        if upload.key and upload.backend == self.storage.backend and (
            upload.bucket == self.storage.bucket
        ):
            # The intent first: a run killed after the request leaves `deleted`, not `missing`.
            self.rows.update(upload.id, {"deleting_at": utcnow()})
            self.storage.delete(upload.key)
            if upload.promote_key and upload.promote_key != upload.key:
                self.storage.delete(upload.promote_key)  # an interrupted promote's copy too
        elif upload.key:
            where = upload.bucket or "the local library"
            raise UserError(f"Upload {upload.id} is stored in {where}, which the app is not using.")
        self.rows.update(upload.id, {"status": "deleted", "promote_key": None,
                                     "updated_at": utcnow()})
        return find_upload(upload.id)


def record_stored_object(storage: Storage, upload_id: str, info: ObjectInfo,
                         meta: dict[str, str], *, is_temp: bool, kind: str | None = None,
                         content_type: str | None = None) -> Upload:
    """The row of an object that is already in storage (`sync`, the Bucket panel's Add to
    library): completed, described by its metadata (`meta`, read_metadata's), or by
    `kind` and `content_type` for an object another tool put there."""
    found = kind or meta.get("kind", "video")
    media = media_from_metadata(meta)
    when = info.last_modified.replace(tzinfo=None)
    created = Upload(
        id=upload_id,
        kind=found if found in UPLOAD_KINDS else "video",
        original_name=meta.get("original-name") or info.key.rstrip("/").rsplit("/", 1)[-1],
        size=info.size,
        content_type=content_type or info.content_type or "application/octet-stream",
        checksum=meta.get("sha256") or None,
        backend=storage.backend,
        bucket=storage.bucket,
        key=info.key,
        is_temp=is_temp,
        status="completed",
        created_at=when,
        updated_at=utcnow(),
        completed_at=when,
        duration=media[0] if media else None,
        width=media[1] if media else None,
        height=media[2] if media else None,
    )
    bound_rows().insert(created)
    return created


def permanent_key(settings: Settings, upload: Upload) -> str:
    """Where `promote` puts an upload's object."""
    return upload_key(settings.prefix_for(upload.kind, False), upload.id, upload.original_name)


def copy_is_intact(storage: Storage, upload: Upload, key: str) -> bool:
    """Whether `key` holds this upload's bytes (its size and the checksum in its metadata)."""
    info = storage.head(key)
    return info is not None and info.size == upload.size and (
        not upload.checksum or info.metadata.get("sha256") == upload.checksum
    )


def complete_promotion(storage: Storage, upload: Upload, key: str) -> Upload:
    """Point the row at its intact permanent copy at `key`, the temporary copy deleted
    first (a run killed in between leaves the row's intent, which the next one finishes)."""
    if upload.is_temp and upload.key and upload.key != key:
        storage.delete(upload.key)  # gone already is fine
    bound_rows().update(upload.id, {"key": key, "is_temp": False, "status": "completed",
                                    "promote_key": None, "deleting_at": None, "error": None,
                                    "updated_at": utcnow()})
    return find_upload(upload.id)


def settle_intent(storage: Storage, row: Upload) -> bool:
    """Finish what a killed run recorded for `row` without copying; True if it changed."""
    if row.promote_key and row.is_temp:
        if row.status in ("completed", "missing") and copy_is_intact(
            storage, row, row.promote_key
        ):
            complete_promotion(storage, row, row.promote_key)
            return True
        return False  # not copied yet: the next `promote` copies it
    if row.deleting_at is not None and row.status != "deleted":
        if row.key is None or storage.head(row.key) is None:
            bound_rows().update(row.id, {"status": "deleted", "promote_key": None,
                                         "updated_at": utcnow()})
            return True
        bound_rows().update(row.id, {"deleting_at": None})  # never sent
        return False
    if row.promote_key:  # a permanent row's intent is spent
        bound_rows().update(row.id, {"promote_key": None})
    return False
