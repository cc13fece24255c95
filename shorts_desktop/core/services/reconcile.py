"""Rebuilds the database from the bucket: rows for objects it does not know, `missing` for
rows whose object is gone. Every object carries its upload id, kind, original name and
checksum in its metadata, so a second computer (or a lost database) sees the same library.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shorts_desktop.core.config import Settings
from shorts_desktop.core.db.models import Upload, utcnow
from shorts_desktop.core.storage.base import Storage
from shorts_desktop.core.storage.keys import (
    media_from_metadata,
    read_metadata,
    upload_id_from_key,
)


@dataclass
class ReconcileReport:
    added: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)  # promoted elsewhere: key updated
    missing: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)  # objects without our metadata


class ReconcileService:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings = settings
        self.storage = storage

    def run(self) -> ReconcileReport:
        report = ReconcileReport()
        s = self.settings
        seen: set[str] = set()
        for prefix in (s.temp_prefix, s.videos_prefix, s.transcripts_prefix):
            for obj in self.storage.list_objects(prefix):
                upload_id = upload_id_from_key(prefix, obj.key)
                if upload_id is None:
                    report.foreign.append(obj.key)
                    continue
                seen.add(upload_id)
                row = Upload.get_or_none(Upload.id == upload_id)
                if row is not None:
                    if row.key != obj.key and row.status == "completed" and (
                        row.backend == self.storage.backend
                    ):
                        Upload.update(key=obj.key, is_temp=prefix == s.temp_prefix,
                                      updated_at=utcnow()).where(Upload.id == row.id).execute()
                        report.moved.append(row.id)
                    continue
                info = self.storage.head(obj.key)
                meta = read_metadata(info.metadata) if info else {}
                if info is None or meta.get("upload-id") != upload_id:
                    report.foreign.append(obj.key)
                    continue
                kind = meta.get("kind", "video")
                media = media_from_metadata(meta)
                Upload.create(
                    id=upload_id,
                    kind=kind if kind in ("video", "transcript") else "video",
                    original_name=meta.get("original-name") or obj.key.rsplit("/", 1)[-1],
                    size=info.size,
                    content_type=info.content_type or "application/octet-stream",
                    checksum=meta.get("sha256") or None,
                    backend=self.storage.backend,
                    bucket=self.storage.bucket,
                    key=obj.key,
                    is_temp=prefix == s.temp_prefix,
                    status="completed",
                    created_at=info.last_modified.replace(tzinfo=None),
                    updated_at=utcnow(),
                    completed_at=info.last_modified.replace(tzinfo=None),
                    duration=media[0] if media else None,
                    width=media[1] if media else None,
                    height=media[2] if media else None,
                )
                report.added.append(upload_id)
        query = Upload.select(Upload.id, Upload.key).where(
            (Upload.status == "completed") & (Upload.backend == self.storage.backend)
        )
        if self.storage.bucket is not None:
            query = query.where(Upload.bucket == self.storage.bucket)
        ours = (s.temp_prefix, s.videos_prefix, s.transcripts_prefix)
        for row in query:
            if row.key and row.key.startswith(ours) and row.id not in seen:
                report.missing.append(row.id)
        if report.missing:
            Upload.update(status="missing", updated_at=utcnow()).where(
                Upload.id.in_(report.missing)
            ).execute()
        return report
