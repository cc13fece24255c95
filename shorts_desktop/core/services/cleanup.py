"""Cleanup of temporary files: preview and run are the same plan.

Deletes temp objects older than H hours in batches of up to 1,000 keys, never one
that an unfinished job references or that is still uploading; also removes temp
objects the database does not know (orphans) and aborts incomplete multipart
uploads older than H hours under every prefix the app owns, unless the ledger still
resumes them. Rows of deleted files become `deleted`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shorts_desktop.core.config import Settings
from shorts_desktop.core.db.models import Upload, utcnow
from shorts_desktop.core.db.upload_rows import bound_rows
from shorts_desktop.core.errors import UserError
from shorts_desktop.core.services.multipart import MultipartService
from shorts_desktop.core.services.uploads import (
    complete_promotion,
    copy_is_intact,
    permanent_key,
    unfinished_job_using,
)
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
    leftover: bool = False  # a second copy: its row lives at another key and is kept


@dataclass
class CleanupPlan:
    hours: float
    delete: list[CleanupItem] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    abort: list[MultipartInfo] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # rows whose object is already gone
    #: Rows whose object a killed run deleted after recording that it would: `deleted`.
    deleted_earlier: list[str] = field(default_factory=list)
    #: Rows whose temporary copy is gone but whose permanent copy is intact: re-linked.
    relink: dict[str, str] = field(default_factory=dict)

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
            "deleted_earlier": self.plan.deleted_earlier,
            "relinked": list(self.plan.relink),
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
            reason = self._keep_reason(row, obj.key)
            if reason:
                plan.skipped.append({"id": upload_id, "reason": reason})
                continue
            name = row.original_name if row else obj.key.rsplit("/", 1)[-1]
            hours_old = (now - obj.last_modified).total_seconds() / 3600
            plan.delete.append(CleanupItem(upload_id, obj.key, obj.size, name, hours_old,
                                           leftover=row is not None and row.key != obj.key))
        for gone in self._vanished_rows(cutoff, seen):
            if gone.deleting_at is not None:  # a run killed after its delete was sent
                plan.deleted_earlier.append(gone.id)
            elif (copy := self._permanent_copy(gone)) is not None:
                plan.relink[gone.id] = copy
            else:
                plan.missing.append(gone.id)
        for entry in MultipartService(self.settings, self.storage).pending():  # every app prefix
            if entry.info.initiated > cutoff:
                continue
            if entry.known is not None:  # the ledger resumes it: only the bucket's rule ends it
                plan.skipped.append({"id": entry.owner or entry.info.key, "reason": entry.known})
                continue
            plan.abort.append(entry.info)
        return plan

    def _keep_reason(self, row: Upload | None, key: str) -> str | None:
        if row is None:
            return None
        if row.promote_key and row.is_temp:
            return "it is being promoted; run promote again to finish"
        if row.key != key and row.status in ("completed", "missing") and (
            not row.key or self.storage.head(row.key) is None
        ):
            return "it is the only copy of its upload; sync links it again"
        if row.status in ACTIVE:
            return f"still {row.status}"
        job = unfinished_job_using(row)
        if job is not None:
            return f"needed by job {job.title!r} ({job.status})"
        return None

    def _permanent_copy(self, row: Upload) -> str | None:
        """The key of a vanished temp row's intact permanent copy (a promote made it)."""
        for key in dict.fromkeys((row.promote_key, permanent_key(self.settings, row))):
            if key and copy_is_intact(self.storage, row, key):
                return key
        return None

    def _vanished_rows(self, cutoff: datetime, listed: set[str]) -> list[Upload]:
        """Old completed temp rows of this storage whose object was not in the listing
        (and, whatever their age, those a delete was sent for)."""
        query = Upload.select().where(
            (Upload.is_temp == True)  # noqa: E712 - peewee expression
            & (Upload.status == "completed")
            & (Upload.backend == self.storage.backend)
            & (Upload.bucket.is_null(self.storage.bucket is None))
            & ((Upload.created_at <= cutoff.replace(tzinfo=None))
               | Upload.deleting_at.is_null(False))
            & (Upload.key.startswith(self.settings.temp_prefix))
        )
        if self.storage.bucket is not None:
            query = query.where(Upload.bucket == self.storage.bucket)
        return [row for row in query if row.id not in listed]

    def run(self, hours: float | None = None, dry_run: bool = False) -> CleanupResult:
        plan = self.plan(hours)
        result = CleanupResult(plan, dry_run)
        if dry_run:
            return result
        keys = [item.key for item in plan.delete]
        rows = [item.upload_id for item in plan.delete if not item.leftover]
        if rows:  # the intent first: a run killed after the request leaves `deleted`
            bound_rows().update_many(rows, {"deleting_at": utcnow()})
        failed = set(self.storage.delete_many(keys)) if keys else set()
        for item in plan.delete:
            if item.key in failed:
                result.failed.append({"id": item.upload_id, "reason": "the delete was refused"})
            else:
                result.deleted.append(item.upload_id)
        kept = [i.upload_id for i in plan.delete if not i.leftover and i.key in failed]
        if kept:
            bound_rows().update_many(kept, {"deleting_at": None})
        gone = [i.upload_id for i in plan.delete if not i.leftover and i.key not in failed]
        if gone or plan.deleted_earlier:
            bound_rows().update_many(gone + plan.deleted_earlier,
                                     {"status": "deleted", "updated_at": utcnow()})
        for upload_id, key in plan.relink.items():
            row = Upload.get_or_none(Upload.id == upload_id)
            if row is not None:
                complete_promotion(self.storage, row, key)
        if plan.missing:
            bound_rows().update_many(plan.missing, {"status": "missing", "updated_at": utcnow()})
        for mp in plan.abort:
            self.storage.abort_multipart(mp.key, mp.upload_id)
            result.aborted.append(mp)
        return result
