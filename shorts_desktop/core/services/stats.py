"""Storage statistics: what the database knows, and optionally what the bucket holds.

The bucket figures are listed, not taken from the database, and include the hidden
bytes of incomplete multipart uploads, which S3 bills but never lists as objects. The
listing is also compared with the upload rows: objects no row knows are what `sync`
(ReconcileService) would bring into the library.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from peewee import fn

from shorts_desktop.core.config import Settings
from shorts_desktop.core.db.models import JOB_STATUSES, Job, Upload
from shorts_desktop.core.storage.base import Storage
from shorts_desktop.core.storage.keys import upload_id_from_key

#: How many keys of unknown objects `bucket_usage` names (the counts cover them all).
UNKNOWN_KEYS_SHOWN = 20


def _rows(query: Any) -> list[tuple[Any, ...]]:
    return list(query.tuples())


def _bucket_of(query: Any) -> dict[str, int]:
    row = query.select(fn.COUNT(Upload.id), fn.COALESCE(fn.SUM(Upload.size), 0)).tuples().get()
    return {"count": int(row[0]), "bytes": int(row[1])}


class StatsService:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings = settings
        self.storage = storage

    def overview(self, include_bucket: bool = False) -> dict[str, Any]:
        stored = Upload.select().where(Upload.status == "completed")
        by_status = {
            str(status): int(n)
            for status, n in _rows(
                Upload.select(Upload.status, fn.COUNT(Upload.id)).group_by(Upload.status)
            )
        }
        jobs = {s: 0 for s in JOB_STATUSES}
        for status, count in _rows(Job.select(Job.status, fn.COUNT(Job.id)).group_by(Job.status)):
            jobs[str(status)] = int(count)
        out: dict[str, Any] = {
            "storage": self.storage.describe(),
            "uploads": _bucket_of(stored),
            "by_kind": {
                kind: _bucket_of(stored.where(Upload.kind == kind))
                for kind in ("video", "transcript")
            },
            "temp": _bucket_of(stored.where(Upload.is_temp == True)),  # noqa: E712
            "permanent": _bucket_of(stored.where(Upload.is_temp == False)),  # noqa: E712
            "uploads_by_status": dict(sorted(by_status.items())),
            "jobs_by_status": jobs,
            "uploads_per_day": self.uploads_per_day(),
        }
        if include_bucket:
            out["bucket"] = self.bucket_usage()
        return out

    def uploads_per_day(self, days: int = 30) -> list[dict[str, Any]]:
        """Uploads that completed on each day (UTC) of the last `days` days, oldest first.

        Counted by when they completed, not when they were queued: a file resumed the
        next day counts on the day it arrived. Failed and cancelled ones never completed
        and are left out; ones deleted (or gone missing) since did arrive and count.
        """
        today = datetime.now(UTC).date()
        start = today - timedelta(days=days - 1)
        counts: Counter[date] = Counter()
        sizes: Counter[date] = Counter()
        query = Upload.select(Upload.completed_at, Upload.size).where(
            Upload.completed_at.is_null(False)
            & (Upload.completed_at >= datetime(start.year, start.month, start.day))
            & Upload.status.in_(("completed", "deleted", "missing"))
        )
        for completed, size in _rows(query):
            counts[completed.date()] += 1
            sizes[completed.date()] += int(size)
        return [
            {"date": (start + timedelta(days=i)).isoformat(),
             "count": counts[start + timedelta(days=i)],
             "bytes": sizes[start + timedelta(days=i)]}
            for i in range(days)
        ]

    def bucket_usage(self) -> dict[str, Any]:
        """What the storage holds under each prefix, listed (call it from a worker).

        `unknown` counts the objects under the upload prefixes (temp, videos, transcripts)
        that no upload row has as its key: `ours` are laid out by this app (an upload id
        in the key), so a sync can bring them into the library; `other` are not, and a
        sync leaves them alone. Job results (processed) belong to jobs, not uploads.
        """
        s = self.settings
        prefixes = {
            "videos": s.videos_prefix,
            "transcripts": s.transcripts_prefix,
            "temp": s.temp_prefix,
            "processed": s.processed_prefix,
        }
        upload_prefixes = (s.temp_prefix, s.videos_prefix, s.transcripts_prefix)
        per_prefix: dict[str, dict[str, Any]] = {}
        classes: Counter[str] = Counter()
        listed: list[tuple[str, str, int]] = []  # (prefix, key, size) under upload prefixes
        for name, prefix in prefixes.items():
            count = size = 0
            for obj in self.storage.list_objects(prefix):
                count += 1
                size += obj.size
                classes[obj.storage_class] += obj.size
                if prefix in upload_prefixes:
                    listed.append((prefix, obj.key, obj.size))
            pending = self.storage.list_multipart_uploads(prefix)
            per_prefix[name] = {
                "prefix": prefix,
                "count": count,
                "bytes": size,
                "incomplete_multipart": {
                    "count": len(pending),
                    "bytes": sum(m.size for m in pending),
                },
            }
        return {
            "location": self.storage.describe(),
            "prefixes": per_prefix,
            "total_bytes": sum(p["bytes"] + p["incomplete_multipart"]["bytes"]
                               for p in per_prefix.values()),
            "bytes_by_storage_class": dict(classes),
            "unknown": self._unknown(listed),
        }

    def _unknown(self, listed: list[tuple[str, str, int]]) -> dict[str, Any]:
        """The listed objects whose key no upload row of this storage has."""
        query = Upload.select(Upload.key).where(
            Upload.key.is_null(False) & (Upload.backend == self.storage.backend)
        )
        if self.storage.bucket is not None:
            query = query.where(Upload.bucket == self.storage.bucket)
        known = {key for (key,) in _rows(query)}
        ours: dict[str, int] = {"count": 0, "bytes": 0}
        other: dict[str, int] = {"count": 0, "bytes": 0}
        keys: list[str] = []
        for prefix, key, size in listed:
            if key in known:
                continue
            bucket = ours if upload_id_from_key(prefix, key) is not None else other
            bucket["count"] += 1
            bucket["bytes"] += size
            if len(keys) < UNKNOWN_KEYS_SHOWN:
                keys.append(key)
        return {
            "count": ours["count"] + other["count"],
            "bytes": ours["bytes"] + other["bytes"],
            "ours": ours,
            "other": other,
            "keys": keys,
        }
