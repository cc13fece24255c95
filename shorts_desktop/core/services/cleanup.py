"""Cleanup of temporary files: preview and run are the same plan.

Deletes temp objects older than H hours in batches of up to 1,000 keys, never one
that an unfinished job references or that is still uploading; also removes temp
objects the database does not know (orphans) and aborts incomplete multipart
uploads older than H hours. Rows of deleted files become `deleted`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shorts_desktop.core.config import Settings
from shorts_desktop.core.db.models import Upload, utcnow
from shorts_desktop.core.errors import UserError
from shorts_desktop.core.services.uploads import unfinished_job_using
from shorts_desktop.core.storage.base import MultipartInfo, Storage
from shorts_desktop.core.storage.keys import upload_id_from_key

ACTIVE = ("queued", "uploading", "paused")


@dataclass
class CleanupItem:
    upload_id: str
    key: str
    size: int
    name: str
    age_hours: float


@dataclass
class CleanupPlan:
    hours: float
    delete: list[CleanupItem] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    abort: list[MultipartInfo] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # rows whose object is already gone

    @property
    def freed_bytes(self) -> int:
        return sum(i.size for i in self.delete) + sum(m.size for m in self.abort)


@dataclass
class CleanupResult:
    plan: CleanupPlan
    dry_run: bool
    deleted: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    aborted: list[MultipartInfo] = field(default_factory=list)

    @property
    def freed_bytes(self) -> int:
        if self.dry_run:
            return self.plan.freed_bytes
        gone = set(self.deleted)
        return sum(i.size for i in self.plan.delete if i.upload_id in gone) + sum(
            m.size for m in self.aborted
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "hours": self.plan.hours,
            "deleted": [i.upload_id for i in self.plan.delete] if self.dry_run else self.deleted,
            "freed_bytes": self.freed_bytes,
            "skipped": self.plan.skipped + self.failed,
            "missing": self.plan.missing,
            "aborted_multipart_uploads": [
                {"key": m.key, "upload_id": m.upload_id, "bytes": m.size}
                for m in (self.plan.abort if self.dry_run else self.aborted)
            ],
        }


class CleanupService:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings = settings
        self.storage = storage

    def plan(self, hours: float | None = None) -> CleanupPlan:
        age = self.settings.cleanup_temp_hours if hours is None else hours
        if not 0 <= age <= 24 * 3650:
            raise UserError("The age must be between 0 and 87,600 hours.")
        now = datetime.now(UTC)
        cutoff = now - timedelta(hours=age)
        plan = CleanupPlan(hours=age)
        prefix = self.settings.temp_prefix
        seen: set[str] = set()
        for obj in self.storage.list_objects(prefix):
            upload_id = upload_id_from_key(prefix, obj.key)
            if upload_id is None:
                continue
            seen.add(upload_id)
            if obj.last_modified > cutoff:
                continue
            row = Upload.get_or_none(Upload.id == upload_id)
            reason = self._keep_reason(row)
            if reason:
                plan.skipped.append({"id": upload_id, "reason": reason})
                continue
            name = row.original_name if row else obj.key.rsplit("/", 1)[-1]
            hours_old = (now - obj.last_modified).total_seconds() / 3600
            plan.delete.append(CleanupItem(upload_id, obj.key, obj.size, name, hours_old))
        plan.missing = self._vanished_rows(cutoff, seen)
        for mp in self.storage.list_multipart_uploads(prefix):
            if mp.initiated > cutoff:
                continue
            upload_id = upload_id_from_key(prefix, mp.key)
            row = Upload.get_or_none(Upload.id == upload_id) if upload_id else None
            if row is not None and row.status in ACTIVE and row.multipart_upload_id == (
                mp.upload_id
            ):
                plan.skipped.append({"id": row.id, "reason": f"still {row.status}"})
                continue
            plan.abort.append(mp)
        return plan

    def _keep_reason(self, row: Upload | None) -> str | None:
        if row is None:
            return None
        if row.status in ACTIVE:
            return f"still {row.status}"
        job = unfinished_job_using(row)
        if job is not None:
            return f"needed by job {job.title!r} ({job.status})"
        return None

    def _vanished_rows(self, cutoff: datetime, listed: set[str]) -> list[str]:
        """Old completed temp rows of this storage whose object was not in the listing."""
        query = Upload.select(Upload.id).where(
            (Upload.is_temp == True)  # noqa: E712 - peewee expression
            & (Upload.status == "completed")
            & (Upload.backend == self.storage.backend)
            & (Upload.bucket.is_null(self.storage.bucket is None))
            & (Upload.created_at <= cutoff.replace(tzinfo=None))
            & (Upload.key.startswith(self.settings.temp_prefix))
        )
        if self.storage.bucket is not None:
            query = query.where(Upload.bucket == self.storage.bucket)
        return [row.id for row in query if row.id not in listed]

    def run(self, hours: float | None = None, dry_run: bool = False) -> CleanupResult:
        plan = self.plan(hours)
        result = CleanupResult(plan, dry_run)
        if dry_run:
            return result
        keys = [item.key for item in plan.delete]
        failed = set(self.storage.delete_many(keys)) if keys else set()
        for item in plan.delete:
            if item.key in failed:
                result.failed.append({"id": item.upload_id, "reason": "the delete was refused"})
            else:
                result.deleted.append(item.upload_id)
        if result.deleted:
            Upload.update(status="deleted", updated_at=utcnow()).where(
                Upload.id.in_(result.deleted)
            ).execute()
        if plan.missing:
            Upload.update(status="missing", updated_at=utcnow()).where(
                Upload.id.in_(plan.missing)
            ).execute()
        for mp in plan.abort:
            self.storage.abort_multipart(mp.key, mp.upload_id)
            result.aborted.append(mp)
        return result
