"""Peewee models for today's schema; migrations never use these (they speak SQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypeVar

import peewee

database_proxy = peewee.DatabaseProxy()

UPLOAD_KINDS = ("video", "transcript")
UPLOAD_STATUSES = (
    "queued",
    "uploading",
    "paused",
    "completed",
    "failed",
    "cancelled",
    "deleted",
    "missing",
)
JOB_STATUSES = (
    "created",
    "queued",
    "processing",
    "processed",
    "publishing",
    "published",
    "failed",
    "cancelled",
)
#: A job in one of these no longer needs its inputs (a failed job may be retried).
INPUTS_RELEASED_STATUSES = ("published", "cancelled")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class JSONField(peewee.TextField):
    """A JSON document in a TEXT column."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, sort_keys=True)

    def python_value(self, value: Any) -> Any:
        return None if value is None else json.loads(value)


class BaseModel(peewee.Model):
    class Meta:
        database = database_proxy


class Upload(BaseModel):
    """One file the user gave us, wherever it is stored now."""

    id = peewee.CharField(primary_key=True, max_length=36)
    kind = peewee.CharField(max_length=16)
    original_name = peewee.CharField(max_length=1024)
    size = peewee.BigIntegerField(default=0)
    content_type = peewee.CharField(max_length=255, default="application/octet-stream")
    checksum = peewee.CharField(max_length=64, null=True)  # SHA-256, hex
    backend = peewee.CharField(max_length=8, default="s3")  # s3 | local
    bucket = peewee.CharField(max_length=63, null=True)
    key = peewee.CharField(max_length=1024, null=True)
    is_temp = peewee.BooleanField(default=True)
    status = peewee.CharField(max_length=16, default="queued")
    error = peewee.TextField(null=True)
    multipart_upload_id = peewee.CharField(max_length=1024, null=True)
    done_parts = JSONField(null=True)  # schema 2; superseded by transfer_part (schema 3)
    source_path = peewee.TextField(null=True)
    source_size = peewee.BigIntegerField(null=True)  # when its multipart upload began
    source_mtime_ns = peewee.BigIntegerField(null=True)
    part_size = peewee.BigIntegerField(null=True)
    checksum_mode = peewee.CharField(max_length=8, null=True)
    bytes_done = peewee.BigIntegerField(default=0)
    attempts = peewee.IntegerField(default=0)
    file_path = peewee.TextField(null=True)  # legacy: where the file lived before S3
    duration = peewee.FloatField(null=True)  # schema 4: videos, probed at upload
    width = peewee.IntegerField(null=True)
    height = peewee.IntegerField(null=True)
    thumbnail = peewee.BlobField(null=True)  # a small JPEG
    # schema 5: intents, written before the request, so that a crash is finished, not lost
    promote_key = peewee.CharField(max_length=1024, null=True)  # where a promote copies to
    deleting_at = peewee.DateTimeField(null=True)  # a delete of the object was sent
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)
    completed_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "upload"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "original_name": self.original_name,
            "size": self.size,
            "content_type": self.content_type,
            "checksum": self.checksum,
            "backend": self.backend,
            "bucket": self.bucket,
            "key": self.key,
            "is_temp": bool(self.is_temp),
            "status": self.status,
            "error": self.error,
            "file_path": self.file_path,
            "duration": self.duration,
            "width": self.width,
            "height": self.height,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "completed_at": _iso(self.completed_at),
        }


class Job(BaseModel):
    """A YouTube Short to be made from one video and one transcript."""

    id = peewee.CharField(primary_key=True, max_length=36)
    title = peewee.CharField(max_length=100)
    description = peewee.TextField(default="")
    voice = peewee.CharField(max_length=16)
    tags = JSONField(default=list)
    privacy = peewee.CharField(max_length=16, default="private")
    video_upload = peewee.ForeignKeyField(
        Upload, null=True, column_name="video_upload_id", on_delete="RESTRICT"
    )
    transcript_upload = peewee.ForeignKeyField(
        Upload, null=True, column_name="transcript_upload_id", on_delete="RESTRICT"
    )
    status = peewee.CharField(max_length=16, default="created")
    result_keys = JSONField(default=list)
    published_video_url = peewee.TextField(null=True)
    error = peewee.TextField(null=True)
    video_path = peewee.TextField(null=True)  # legacy
    transcript_path = peewee.TextField(null=True)  # legacy
    stage = peewee.CharField(max_length=16, null=True)  # schema 4
    runner = peewee.CharField(max_length=128, null=True)  # "pid@host" while processing
    started_at = peewee.DateTimeField(null=True)
    processed_at = peewee.DateTimeField(null=True)
    render_info = JSONField(null=True)  # the manifest's summary: duration, voice, provider
    thumbnail = peewee.BlobField(null=True)  # a small JPEG of the Short
    youtube_video_id = peewee.CharField(max_length=32, null=True)
    youtube_session_uri = peewee.TextField(null=True)  # an unfinished resumable upload
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)
    published_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "job"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "voice": self.voice,
            "tags": list(self.tags or []),
            "privacy": self.privacy,
            "video_upload_id": self.video_upload_id,  # type: ignore[attr-defined]
            "transcript_upload_id": self.transcript_upload_id,  # type: ignore[attr-defined]
            "status": self.status,
            "result_keys": list(self.result_keys or []),
            "published_video_url": self.published_video_url,
            "youtube_video_id": self.youtube_video_id,
            "error": self.error,
            "stage": self.stage,
            "render_info": self.render_info,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "started_at": _iso(self.started_at),
            "processed_at": _iso(self.processed_at),
            "published_at": _iso(self.published_at),
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=UTC).isoformat()


ALL_MODELS: list[type[BaseModel]] = [Upload, Job]

M = TypeVar("M", Upload, Job)


def get_by_id_or_prefix(model: type[M], ident: str) -> M | None:
    """The row with this id, or the only one whose id starts with it (8+ characters)."""
    ident = ident.strip().lower()
    row: M | None = model.get_or_none(model.id == ident)
    if row is None and len(ident) >= 8:
        matches = list(model.select().where(model.id.startswith(ident)).limit(2))
        if len(matches) == 1:
            row = matches[0]
    return row
