"""Rebuilds the database from the bucket: rows for objects it does not know, `missing` for
rows whose object is gone. Every object carries its upload id, kind, original name and
checksum in its metadata, so a second computer (or a lost database) sees the same library.

An object with a known upload id is adopted by that upload's row wherever it is, temporary
or permanent, so that a promote or cleanup killed half way leaves no orphan, and a row is
never `missing` while its bytes are under another key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shorts_desktop.core.config import Settings
from shorts_desktop.core.db.models import Upload, utcnow
from shorts_desktop.core.db.upload_rows import bound_rows
from shorts_desktop.core.services.uploads import complete_promotion, record_stored_object
from shorts_desktop.core.storage.base import ObjectInfo, Storage
from shorts_desktop.core.storage.keys import (
    read_metadata,
    upload_id_from_key,
)

#: Rows whose object sync judges; the others are in flight (or failed) and keep their key.
SETTLED = ("completed", "missing", "deleted")


@dataclass
class ReconcileReport:
    added: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)  # completed row re-linked to its object
    promoted: list[str] = field(default_factory=list)  # an interrupted promote finished
    adopted: list[str] = field(default_factory=list)  # missing/deleted row: its object found
    deleted: list[str] = field(default_factory=list)  # object gone after a delete was sent
    missing: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)  # objects without our metadata


class ReconcileService:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings = settings
        self.storage = storage

    def run(self) -> ReconcileReport:
        report = ReconcileReport()
        s = self.settings
        found: dict[str, dict[str, ObjectInfo]] = {}
        listed: set[str] = set()
        for prefix in (s.temp_prefix, s.videos_prefix, s.transcripts_prefix):
            for obj in self.storage.list_objects(prefix):
                listed.add(obj.key)
                upload_id = upload_id_from_key(prefix, obj.key)
                if upload_id is None:
                    report.foreign.append(obj.key)
                    continue
                found.setdefault(upload_id, {})[obj.key] = obj
        accounted: set[str] = set()
        for upload_id, objects in found.items():
            row = Upload.get_or_none(Upload.id == upload_id)
            if row is None:
                if self._add(upload_id, objects, report):
                    accounted.add(upload_id)
            elif not self._ours(row) or self._settle(row, objects, report):
                accounted.add(upload_id)
        query = Upload.select(Upload.id, Upload.key, Upload.deleting_at).where(
            (Upload.status == "completed") & (Upload.backend == self.storage.backend)
        )
        if self.storage.bucket is not None:
            query = query.where(Upload.bucket == self.storage.bucket)
        ours = (s.temp_prefix, s.videos_prefix, s.transcripts_prefix)
        for row in query:
            # A row may own an object outside the app's layout (added from the Bucket
            # panel): its object is where the row says, so it is not missing.
            if row.key and row.key.startswith(ours) and row.id not in accounted and (
                row.key not in listed
            ):
                (report.deleted if row.deleting_at else report.missing).append(row.id)
        if report.foreign:  # objects a row owns are the library's, not foreign
            owned = {r.key for r in Upload.select(Upload.key).where(
                Upload.key.in_(report.foreign))}
            report.foreign = [k for k in report.foreign if k not in owned]
        for ids, status in ((report.missing, "missing"), (report.deleted, "deleted")):
            if ids:
                bound_rows().update_many(ids, {"status": status, "promote_key": None,
                                               "updated_at": utcnow()})
        return report

    def _ours(self, row: Upload) -> bool:
        return row.backend == self.storage.backend and row.bucket == self.storage.bucket

    def _permanent_first(self, keys: list[str]) -> list[str]:
        return sorted(keys, key=lambda k: k.startswith(self.settings.temp_prefix))

    def _intact(self, row: Upload, key: str, listed: ObjectInfo) -> bool:
        """Whether the object at `key` is this row's bytes (size, upload id, checksum)."""
        if row.size and listed.size != row.size:
            return False
        info = self.storage.head(key)
        if info is None:
            return False
        meta = read_metadata(info.metadata)
        return meta.get("upload-id") == row.id and (  # a file sent in parts has no SHA-256
            not row.checksum or meta.get("sha256") in (None, row.checksum)  # in the bucket
        )

    def _settle(self, row: Upload, objects: dict[str, ObjectInfo],
                report: ReconcileReport) -> bool:
        """Link a known row to its object; False when none of `objects` is its copy."""
        if row.status not in SETTLED:
            return True
        temp = self.settings.temp_prefix
        present = row.key in objects
        others = self._permanent_first([k for k in objects if k != row.key])
        if present and (row.status == "deleted" or not row.is_temp):
            others = []  # its own copy stands; a temporary duplicate is cleanup's
        elif present or row.status == "deleted":
            # Only a permanent copy outranks a temporary one (a promote got that far); a
            # deleted row takes back only that, a temporary leftover is cleanup's.
            others = [k for k in others if not k.startswith(temp)]
        for key in others:
            if not self._intact(row, key, objects[key]):
                continue
            if row.status != "completed":
                report.adopted.append(row.id)
            elif row.is_temp and not key.startswith(temp):
                report.promoted.append(row.id)
            else:
                report.moved.append(row.id)
            if row.is_temp and not key.startswith(temp):
                complete_promotion(self.storage, row, key)
            else:
                bound_rows().update(row.id, {
                    "key": key, "is_temp": key.startswith(temp), "status": "completed",
                    "promote_key": None, "deleting_at": None, "updated_at": utcnow()})
            return True
        if not present:
            return False
        if row.status == "missing":  # its object is back where the row says
            bound_rows().update(row.id, {"status": "completed", "updated_at": utcnow()})
            report.adopted.append(row.id)
        elif row.deleting_at is not None and row.status == "completed":
            bound_rows().update(row.id, {"deleting_at": None})  # never sent
        return True

    def _add(self, upload_id: str, objects: dict[str, ObjectInfo],
             report: ReconcileReport) -> bool:
        """A row for an upload the database does not know, from its permanent copy if it
        has one (a temporary duplicate is left for cleanup)."""
        s = self.settings
        for key in self._permanent_first(list(objects)):
            info = self.storage.head(key)
            meta = read_metadata(info.metadata) if info else {}
            if info is None or meta.get("upload-id") != upload_id:
                report.foreign.append(key)
                continue
            record_stored_object(self.storage, upload_id, info, meta,
                                 is_temp=key.startswith(s.temp_prefix))
            report.added.append(upload_id)
            return True
        return False
