"""Moves files from the local library (and legacy paths) into the S3 bucket, resumably.

Each file is uploaded, verified, and only then is its row switched to the bucket, so
stopping half-way loses nothing: running it again carries on with what is left.
Legacy `file_path` values are kept, and legacy files themselves are never deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shorts_desktop.core.config import Settings
from shorts_desktop.core.db.models import Upload, utcnow
from shorts_desktop.core.db.upload_rows import bound_rows
from shorts_desktop.core.errors import ShortsError, UserError
from shorts_desktop.core.services.files import digests
from shorts_desktop.core.storage.base import Storage
from shorts_desktop.core.storage.keys import object_metadata, upload_key


@dataclass
class MigrationReport:
    moved: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    remaining: int = 0


class MigrateToS3Service:
    def __init__(self, settings: Settings, local: Storage, s3: Storage, library: Path) -> None:
        if s3.backend != "s3":
            raise UserError("Set S3_BUCKET_NAME first: there is no bucket to move files to.")
        self.settings = settings
        self.local = local
        self.s3 = s3
        self.library = library

    def pending(self) -> list[Upload]:
        return list(
            Upload.select()
            .where((Upload.backend == "local") & (Upload.status == "completed"))
            .order_by(Upload.created_at)
        )

    def run(self, on_file: Callable[[Upload], None] | None = None) -> MigrationReport:
        report = MigrationReport()
        for upload in self.pending():
            if on_file:
                on_file(upload)
            try:
                self._move(upload)
                report.moved.append(upload.id)
            except ShortsError as exc:
                report.failed.append({"id": upload.id, "reason": str(exc)})
        report.remaining = len(self.pending())
        return report

    def _move(self, upload: Upload) -> None:
        source = self.library / upload.key if upload.key else Path(str(upload.file_path))
        if not source.is_file():
            bound_rows().update(upload.id, {"status": "missing", "updated_at": utcnow()})
            raise UserError(f"{source} no longer exists.")
        sums = digests(source)
        key = upload.key or upload_key(
            self.settings.prefix_for(upload.kind, bool(upload.is_temp)),
            upload.id,
            upload.original_name,
        )
        self.s3.put_file(
            source,
            key,
            content_type=upload.content_type,
            metadata=object_metadata(
                upload.id, upload.kind, upload.original_name, sums.sha256, bool(upload.is_temp)
            ),
            md5_hex=sums.md5,
        )
        bound_rows().update(upload.id, {"backend": "s3", "bucket": self.s3.bucket, "key": key,
                                        "size": sums.size, "checksum": sums.sha256,
                                        "updated_at": utcnow()})
        if upload.key:  # a library copy: now redundant
            self.local.delete(upload.key)
