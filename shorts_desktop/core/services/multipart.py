"""Unfinished multipart uploads under every prefix the app owns, and aborting them.

S3 bills the parts of an unfinished upload and lists it nowhere else, so the app looks
under its four prefixes (temp, videos, transcripts, processed), never elsewhere in the
bucket. An upload the ledger (the `upload` row) is still resuming or holds paused is
"known": cleanup and `--older-than` leave it alone unless told, because a pause must
survive until the bucket's own rule aborts it (lifecycle.ABORT_MULTIPART_DAYS). A job's
results are known while the job is processing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shorts_desktop.core.config import Settings
from shorts_desktop.core.db.models import Job, Upload
from shorts_desktop.core.errors import UserError
from shorts_desktop.core.storage.base import MultipartInfo, Storage
from shorts_desktop.core.transfers.store import parse_intent

#: Upload rows in these states may still resume their multipart upload.
RESUMABLE = ("queued", "uploading", "paused")
_CHUNK = 500  # keys per SQL IN (...), well below SQLite's variable limit


@dataclass(frozen=True)
class MultipartEntry:
    """One unfinished upload, with what the ledger says about it."""

    info: MultipartInfo
    prefix: str
    owner: str | None = None  # the id of the upload (or job) whose key it is
    known: str | None = None  # why it is kept, e.g. "still paused"; None: nobody resumes it
    owner_kind: str = "upload"  # or "job" (its results, under the processed prefix)

    @property
    def owner_text(self) -> str:
        return f"{self.owner_kind} {self.owner}" if self.owner else "no upload of this app"

    def age_hours(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(UTC)) - self.info.initiated).total_seconds() / 3600

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.info.key,
            "upload_id": self.info.upload_id,
            "initiated": self.info.initiated.isoformat(),
            "bytes": self.info.size,
            "prefix": self.prefix,
            "owner": self.owner,
            "owner_kind": self.owner_kind if self.owner else None,
            "known": self.known is not None,
            "reason": self.known,
        }


@dataclass
class AbortPlan:
    """What `abort --older-than` aborts and what it keeps because an upload resumes it."""

    hours: float
    abort: list[MultipartEntry] = field(default_factory=list)
    kept: list[MultipartEntry] = field(default_factory=list)
    dry_run: bool = False

    @property
    def freed_bytes(self) -> int:
        return sum(e.info.size for e in self.abort)

    def to_dict(self) -> dict[str, Any]:
        return {
            "hours": self.hours,
            "dry_run": self.dry_run,
            "aborted": [e.to_dict() for e in self.abort],
            "kept": [e.to_dict() for e in self.kept],
            "freed_bytes": self.freed_bytes,
        }


class MultipartService:
    """Lists and aborts unfinished multipart uploads across the app's prefixes."""

    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings = settings
        self.storage = storage

    def prefixes(self) -> list[str]:
        s = self.settings
        return sorted({s.temp_prefix, s.videos_prefix, s.transcripts_prefix,
                       s.processed_prefix})

    def pending(self) -> list[MultipartEntry]:
        """Every unfinished upload under the app's prefixes, oldest first."""
        found: list[tuple[str, MultipartInfo]] = []
        seen: set[str] = set()
        for prefix in self.prefixes():
            for mp in self.storage.list_multipart_uploads(prefix):
                if mp.upload_id not in seen:
                    seen.add(mp.upload_id)
                    found.append((prefix, mp))
        rows = self._rows_by_key({mp.key for _, mp in found})
        busy_jobs = self._processing_jobs()
        entries = [self._entry(prefix, mp, rows.get(mp.key), busy_jobs) for prefix, mp in found]
        return sorted(entries, key=lambda e: (e.info.initiated, e.info.key))

    def stale(self, hours: float, include_known: bool = False) -> AbortPlan:
        """Uploads started more than `hours` ago: those nobody resumes (or all, if told)
        to abort, the known ones to keep."""
        if not 0 <= hours <= 24 * 3650:
            raise UserError("The age must be between 0 and 87,600 hours.")
        cutoff = datetime.now(UTC) - timedelta(hours=hours)
        plan = AbortPlan(hours)
        for entry in self.pending():
            if entry.info.initiated > cutoff:
                continue
            (plan.abort if include_known or entry.known is None else plan.kept).append(entry)
        return plan

    def abort(self, upload_id: str) -> MultipartEntry:
        """Abort one upload by its S3 upload id, known or not (the caller asked for it)."""
        wanted = upload_id.strip()
        for entry in self.pending():
            if entry.info.upload_id == wanted:
                self.storage.abort_multipart(entry.info.key, entry.info.upload_id)
                return entry
        raise UserError(
            f"No unfinished upload with the id {wanted!r} is under the app's prefixes; "
            "`shorts-desktop multipart list` shows them."
        )

    def abort_older_than(self, hours: float, include_known: bool = False,
                         dry_run: bool = False) -> AbortPlan:
        """Abort what `stale` chose (nothing when `dry_run`)."""
        plan = self.stale(hours, include_known)
        plan.dry_run = dry_run
        if not dry_run:
            for entry in plan.abort:
                self.storage.abort_multipart(entry.info.key, entry.info.upload_id)
        return plan

    # -- the ledger ---------------------------------------------------------------------------

    def _rows_by_key(self, keys: set[str]) -> dict[str, Upload]:
        ordered = sorted(keys)
        out: dict[str, Upload] = {}
        for i in range(0, len(ordered), _CHUNK):
            query = Upload.select().where(
                Upload.key.in_(ordered[i:i + _CHUNK]) & (Upload.backend == "s3")
            )
            if self.storage.bucket is not None:
                query = query.where(Upload.bucket == self.storage.bucket)
            for row in query:
                out[str(row.key)] = row
        return out

    @staticmethod
    def _processing_jobs() -> set[str]:
        return {job.id for job in Job.select(Job.id).where(Job.status == "processing")}

    def _entry(self, prefix: str, mp: MultipartInfo, row: Upload | None,
               busy_jobs: set[str]) -> MultipartEntry:
        if row is not None:
            recorded = row.multipart_upload_id
            intent = parse_intent(recorded)
            mine = recorded == mp.upload_id or (intent is not None and intent.key == mp.key)
            known = f"still {row.status}" if mine and row.status in RESUMABLE else None
            return MultipartEntry(mp, prefix, row.id, known)
        if prefix == self.settings.processed_prefix:
            job_id = mp.key[len(prefix):].partition("/")[0]
            if job_id in busy_jobs:
                return MultipartEntry(mp, prefix, job_id, "its job is still processing", "job")
        return MultipartEntry(mp, prefix)
