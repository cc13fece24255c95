"""What the bucket really holds, one folder at a time, and adopting what the library lacks.

Why: the library shows the database; a creator also wants to see the bucket itself (files
put there with the aws cli, leftovers, another computer's uploads) and to take such a file
into the library without uploading it again. Folders are S3's common prefixes; an object is
"in the library" when an upload row has its key (in this storage) or a job lists it among
its results.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from shorts_desktop.core.config import Settings
from shorts_desktop.core.db.models import Job, Upload, utcnow
from shorts_desktop.core.db.upload_rows import bound_rows
from shorts_desktop.core.errors import StorageError, UserError
from shorts_desktop.core.services.files import TRANSCRIPT_EXTENSIONS
from shorts_desktop.core.services.uploads import record_stored_object
from shorts_desktop.core.storage.base import ObjectInfo, Storage
from shorts_desktop.core.storage.keys import (
    read_metadata,
    upload_id_from_key,
)
from shorts_desktop.core.storage.local import LocalStorage

#: The containers `files.sniff_video` accepts, by extension, with the type it would give.
VIDEO_EXTENSIONS = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime",
                    ".webm": "video/webm", ".mkv": "video/x-matroska",
                    ".avi": "video/x-msvideo"}
#: Content types that say nothing (S3's and boto3's defaults for an untyped PUT).
_UNTYPED = ("", "binary/octet-stream", "application/octet-stream")
#: Rows in these states do not hold their object for the library any more.
_GONE = ("deleted", "missing")
#: SQLite binds at most this many values in one `IN (...)`, on old builds too.
_BATCH = 500


@dataclass(frozen=True)
class BucketEntry:
    """A row of the bucket view: a folder (key ends in "/") or an object."""

    key: str
    name: str
    is_folder: bool
    size: int | None
    modified: datetime | None  # aware, UTC; None for a folder
    in_library: bool
    uri: str
    upload_id: str | None = None  # the row that knows this object (or folder)
    note: str = ""  # a folder's owner in the library: 'Upload “clip.mp4”', 'Job “Title”'


@dataclass(frozen=True)
class BucketListing:
    prefix: str
    entries: list[BucketEntry]  # folders first, then objects, each sorted by key
    location: str  # the URI of the folder itself

    @property
    def parent(self) -> str | None:
        """The prefix one level up, or None at the top."""
        if not self.prefix:
            return None
        head, _, _ = self.prefix.rstrip("/").rpartition("/")
        return f"{head}/" if head else ""


def kind_of(name: str, content_type: str) -> tuple[str, str] | None:
    """(kind, content type) of an object the app did not upload, from its extension and
    type; None when it is neither a video nor a transcript. Without downloading it the
    first bytes cannot be checked, so this is what its name and type claim."""
    ext = PurePosixPath(name).suffix.lower()
    typed = content_type.strip().lower() not in _UNTYPED
    if ext in VIDEO_EXTENSIONS:
        video_type = content_type if content_type.lower().startswith("video/") else None
        return "video", video_type or VIDEO_EXTENSIONS[ext]
    if ext in TRANSCRIPT_EXTENSIONS:
        return "transcript", content_type if typed and not content_type.lower().startswith(
            "video/") else TRANSCRIPT_EXTENSIONS[ext]
    base = content_type.split(";")[0].strip().lower()
    if base.startswith("video/"):
        return "video", content_type
    if base in TRANSCRIPT_EXTENSIONS.values():
        return "transcript", content_type
    return None


def _name(key: str) -> str:
    """The last segment of a key or a folder's prefix, as a file manager shows it."""
    return key.rstrip("/").rsplit("/", 1)[-1] or key


class BucketService:
    """Browses the configured storage and adds its unknown objects to the library."""

    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings = settings
        self.storage = storage

    # -- addresses ------------------------------------------------------------------------

    def uri(self, key: str) -> str:
        """`s3://bucket/key`; in the local library the file's `file://` URI."""
        if isinstance(self.storage, LocalStorage):
            path = self.storage.root.joinpath(*[p for p in key.split("/") if p])
            return path.as_uri()
        return f"s3://{self.storage.bucket}/{key}"

    def upload_prefixes(self) -> tuple[str, str, str]:
        s = self.settings
        return s.temp_prefix, s.videos_prefix, s.transcripts_prefix

    # -- listing --------------------------------------------------------------------------

    def browse(self, prefix: str = "") -> BucketListing:
        """One level under `prefix` ("" is the top), each object marked known or not."""
        prefix = prefix.lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        if any(ord(c) < 32 for c in prefix):
            raise UserError("A folder name cannot contain control characters.")
        listing = self.storage.list_folder(prefix)
        # A console's "Create folder" leaves a zero-byte object named like the folder.
        objects = [o for o in listing.objects if o.key != prefix]
        rows = self._rows_by_key([o.key for o in objects])
        results = self._result_keys([o.key for o in objects])
        notes = self._folder_notes(listing.folders)
        roles = self._prefix_roles()
        entries = [
            BucketEntry(key=f, name=_name(f), is_folder=True, size=None, modified=None,
                        in_library=f in notes, uri=self.uri(f),
                        upload_id=notes.get(f, (None, ""))[0],
                        note=notes.get(f, (None, roles.get(f, "")))[1])
            for f in listing.folders
        ]
        for obj in objects:
            upload_id = rows.get(obj.key)
            entries.append(BucketEntry(
                key=obj.key, name=_name(obj.key), is_folder=False, size=obj.size,
                modified=obj.last_modified, in_library=upload_id is not None
                or obj.key in results, uri=self.uri(obj.key), upload_id=upload_id,
            ))
        return BucketListing(prefix, entries, self.uri(prefix))

    def _prefix_roles(self) -> dict[str, str]:
        """What the app keeps in each of its folders, for a creator who sees them first."""
        s = self.settings
        return {s.temp_prefix: "The app's temporary uploads",
                s.videos_prefix: "The app's permanent videos",
                s.transcripts_prefix: "The app's permanent transcripts",
                s.processed_prefix: "The app's finished Shorts"}

    def _mine(self) -> Any:
        """The condition for rows stored in this storage (backend and bucket)."""
        where = Upload.backend == self.storage.backend
        if self.storage.bucket is None:
            return where & Upload.bucket.is_null()
        return where & (Upload.bucket == self.storage.bucket)

    def _rows_by_key(self, keys: list[str]) -> dict[str, str]:
        """key -> upload id, for the rows that still hold these keys here."""
        found: dict[str, str] = {}
        for start in range(0, len(keys), _BATCH):
            batch = keys[start:start + _BATCH]
            query = Upload.select(Upload.id, Upload.key).where(
                self._mine() & Upload.key.in_(batch) & Upload.status.not_in(_GONE)
            )
            found.update({str(row.key): str(row.id) for row in query})
        return found

    def _result_keys(self, keys: list[str]) -> set[str]:
        """The keys among these that a job lists among its results."""
        prefix = self.settings.processed_prefix
        job_ids = {k[len(prefix):].split("/", 1)[0] for k in keys if k.startswith(prefix)}
        known: set[str] = set()
        ids = sorted(job_ids)
        for start in range(0, len(ids), _BATCH):
            for job in Job.select(Job.id, Job.result_keys).where(
                    Job.id.in_(ids[start:start + _BATCH])):
                known.update(job.result_keys or [])
        return known & set(keys)

    def _folder_notes(self, folders: list[str]) -> dict[str, tuple[str | None, str]]:
        """Folders named by an upload's or a job's id: whose they are, in the creator's words
        (a folder of uuids says nothing by itself)."""
        uploads: dict[str, str] = {}
        jobs: dict[str, str] = {}
        for folder in folders:
            ident = _name(folder)
            if any(folder == f"{p}{ident}/" for p in self.upload_prefixes()):
                uploads[ident] = folder
            elif folder == f"{self.settings.processed_prefix}{ident}/":
                jobs[ident] = folder
        notes: dict[str, tuple[str | None, str]] = {}
        ids = sorted(uploads)
        for start in range(0, len(ids), _BATCH):
            for row in Upload.select(Upload.id, Upload.original_name).where(
                    self._mine() & Upload.id.in_(ids[start:start + _BATCH])
                    & Upload.status.not_in(_GONE)):
                notes[uploads[row.id]] = (str(row.id), f"Upload “{row.original_name}”")
        ids = sorted(jobs)
        for start in range(0, len(ids), _BATCH):
            for job in Job.select(Job.id, Job.title).where(Job.id.in_(ids[start:start + _BATCH])):
                notes[jobs[job.id]] = (None, f"Job “{job.title}”")
        return notes

    # -- adding ---------------------------------------------------------------------------

    def add_to_library(self, key: str) -> tuple[Upload, bool]:
        """Make `key` an upload of the library without moving or rewriting the object;
        returns (row, added). An object the app stored (its metadata names its upload)
        comes back as `sync` would rebuild it; any other video or transcript becomes a
        completed upload whose checksum is unknown."""
        prefix = next((p for p in self.upload_prefixes() if key.startswith(p)), None)
        name = _name(key)
        if prefix is None:
            raise UserError(self._outside_sentence(key, name))
        live = Upload.select().where(self._mine() & (Upload.key == key)).order_by(
            Upload.status.in_(_GONE)).first()
        if live is not None and live.status not in _GONE:
            return live, False
        info = self.storage.head(key)
        if info is None:
            raise StorageError(f"{name} is no longer in storage; refresh the view.")
        if live is not None:  # a row that lost this very object: it is back
            return self._revive(live, info, prefix), True
        meta = read_metadata(info.metadata)
        upload_id = upload_id_from_key(prefix, key)
        if upload_id is not None and meta.get("upload-id") == upload_id:
            return self._adopt_ours(upload_id, meta, info, prefix)
        return self._adopt_foreign(upload_id, info, prefix), True

    def _outside_sentence(self, key: str, name: str) -> str:
        listed = ", ".join(self.upload_prefixes())
        if key.startswith(self.settings.processed_prefix):
            return (f"{name} is a result of a job ({self.settings.processed_prefix}), not an "
                    "upload, so it cannot be added to the library.")
        return (f"Only files under {listed} can be added to the library; move {name} into one "
                "of them first (the library keeps no files elsewhere).")

    def _adopt_ours(self, upload_id: str, meta: dict[str, str], info: ObjectInfo,
                    prefix: str) -> tuple[Upload, bool]:
        """An object with our metadata: the row `ReconcileService.run` would create."""
        row = Upload.get_or_none(Upload.id == upload_id)
        if row is not None:
            if row.status in _GONE:
                return self._revive(row, info, prefix), True
            raise UserError(
                f"{_name(info.key)} is a second copy of “{row.original_name}”, which the "
                f"library keeps at {row.key or 'another place'}, so it is not added again."
            )
        return record_stored_object(self.storage, upload_id, info, meta,
                                    is_temp=prefix == self.settings.temp_prefix), True

    def _adopt_foreign(self, key_id: str | None, info: ObjectInfo, prefix: str) -> Upload:
        """An object put there by another tool: a completed upload, checksum unknown. Its id
        is the one its key names when that is free (so that `sync` finds it), else new."""
        name = _name(info.key)
        found = kind_of(name, info.content_type)
        if found is None:
            raise UserError(f"{name} is neither a video nor a transcript (by its name and "
                            "type), so it cannot be added to the library.")
        kind, content_type = found
        upload_id = key_id if key_id and Upload.get_or_none(Upload.id == key_id) is None \
            else str(uuid.uuid4())
        return record_stored_object(self.storage, upload_id, info, {},
                                    is_temp=prefix == self.settings.temp_prefix, kind=kind,
                                    content_type=content_type)

    def _revive(self, row: Upload, info: ObjectInfo, prefix: str) -> Upload:
        """A deleted or missing row whose object is in storage (again)."""
        bound_rows().update(row.id, {
            "key": info.key, "size": info.size, "is_temp": prefix == self.settings.temp_prefix,
            "status": "completed", "error": None, "backend": self.storage.backend,
            "bucket": self.storage.bucket, "updated_at": utcnow(),
            "completed_at": row.completed_at or info.last_modified.replace(tzinfo=None),
        })
        revived: Upload = Upload.get_by_id(row.id)
        return revived
