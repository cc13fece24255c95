"""Core unit-test fixtures: a fresh database, S3 under moto (in-process) or a local library.

`s3_env` and `local_env` wire the same services over the two backends; `env` runs a test
once for each. `media` writes small files whose first bytes look like real containers.
"""

from __future__ import annotations

import os
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import peewee
import pytest
from moto import mock_aws

from shorts_desktop.core.config import Settings, build_settings
from shorts_desktop.core.credentials import AccessKey, ResolvedCredentials
from shorts_desktop.core.db.connection import close_database, open_database
from shorts_desktop.core.db.models import Upload
from shorts_desktop.core.services.cleanup import CleanupService
from shorts_desktop.core.services.jobs import JobService
from shorts_desktop.core.services.stats import StatsService
from shorts_desktop.core.services.uploads import UploadService
from shorts_desktop.core.storage.local import LocalStorage
from shorts_desktop.core.storage.s3 import S3Storage
from shorts_desktop.core.transfers import EngineConfig
from shorts_desktop.core.transfers.retry import RetryPolicy

BUCKET = "test-bucket"
MIB = 1024 * 1024
THRESHOLD = 5 * MIB
CREDENTIALS = ResolvedCredentials(AccessKey("testing", "testing"), "test")


def s3_settings(**variables: str) -> Settings:
    """Settings for the moto bucket, with a 5 MiB multipart threshold, plus `variables`."""
    return build_settings(
        [
            (
                "test",
                {
                    "S3_BUCKET_NAME": BUCKET,
                    "S3_MULTIPART_THRESHOLD": str(THRESHOLD),
                    **variables,
                },
            )
        ]
    )


def local_settings(**variables: str) -> Settings:
    return build_settings([("test", dict(variables))])


@dataclass
class Env:
    """Settings, storage and services over one backend, plus raw access to what it stores."""

    settings: Settings
    storage: S3Storage | LocalStorage
    uploads: UploadService
    jobs: JobService
    cleanup: CleanupService
    stats: StatsService
    tmp: Path

    @property
    def backend(self) -> str:
        return self.storage.backend

    def with_settings(self, **variables: str) -> Settings:
        """These settings with some variables changed (the storage stays the same)."""
        base = s3_settings if self.backend == "s3" else local_settings
        return base(**variables)

    # -- raw access, bypassing the services ------------------------------------------------

    def raw_put(self, key: str, data: bytes) -> None:
        if isinstance(self.storage, S3Storage):
            self.storage.client.put_object(Bucket=BUCKET, Key=key, Body=data)
        else:
            path = self.storage.root.joinpath(*key.split("/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def raw_get(self, key: str) -> bytes | None:
        if isinstance(self.storage, S3Storage):
            try:
                body = self.storage.client.get_object(Bucket=BUCKET, Key=key)["Body"]
            except self.storage.client.exceptions.NoSuchKey:
                return None
            data: bytes = body.read()
            return data
        path = self.storage.root.joinpath(*key.split("/"))
        return path.read_bytes() if path.is_file() else None

    def raw_delete(self, key: str) -> None:
        if isinstance(self.storage, S3Storage):
            self.storage.client.delete_object(Bucket=BUCKET, Key=key)
        else:
            self.storage.root.joinpath(*key.split("/")).unlink()

    def keys(self, prefix: str = "") -> list[str]:
        return sorted(obj.key for obj in self.storage.list_objects(prefix))

    def age(self, key: str, hours: float) -> None:
        """Make the object at `key` (and its row, if any) `hours` older than now."""
        then = datetime.now(UTC) - timedelta(hours=hours)
        if isinstance(self.storage, S3Storage):
            from moto.core import DEFAULT_ACCOUNT_ID
            from moto.s3.models import s3_backends

            fake = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_object(BUCKET, key)
            assert fake is not None, key
            fake.last_modified = then.replace(tzinfo=None)
        else:
            path = self.storage.root.joinpath(*key.split("/"))
            os.utime(path, (then.timestamp(), then.timestamp()))
        Upload.update(created_at=then.replace(tzinfo=None)).where(Upload.key == key).execute()


def _services(settings: Settings, storage: S3Storage | LocalStorage, tmp: Path) -> Env:
    uploads = UploadService(settings, storage, tmp / "scratch")
    return Env(
        settings=settings,
        storage=storage,
        uploads=uploads,
        jobs=JobService(settings, uploads),
        cleanup=CleanupService(settings, storage),
        stats=StatsService(settings, storage),
        tmp=tmp,
    )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[peewee.SqliteDatabase]:
    database, result = open_database(tmp_path / "data" / "shorts-desktop.db")
    assert result.to_version >= 1
    yield database
    close_database(database)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


FAST_RETRIES = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)


@pytest.fixture
def s3_storage(aws: None) -> Iterator[S3Storage]:
    settings = s3_settings()
    storage = S3Storage(settings, CREDENTIALS,
                        engine_config=EngineConfig.from_settings(settings, retry=FAST_RETRIES))
    storage.client.create_bucket(Bucket=BUCKET)
    yield storage
    storage.close()


@pytest.fixture
def s3_env(db: peewee.SqliteDatabase, s3_storage: S3Storage, tmp_path: Path) -> Env:
    return _services(s3_storage.settings, s3_storage, tmp_path)


@pytest.fixture
def local_env(db: peewee.SqliteDatabase, tmp_path: Path) -> Env:
    return _services(local_settings(), LocalStorage(tmp_path / "library"), tmp_path)


@pytest.fixture(params=["s3", "local"])
def env(request: pytest.FixtureRequest) -> Env:
    """The same test over S3 (moto) and over the local library."""
    result: Env = request.getfixturevalue(f"{request.param}_env")
    return result


# -- files ------------------------------------------------------------------------------------


class Media:
    """Writes small files that look like the real thing, each with random (unique) content."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def write(self, name: str, data: bytes) -> Path:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    @staticmethod
    def _fill(head: bytes, size: int) -> bytes:
        return head + os.urandom(max(0, size - len(head)))

    def mp4(self, name: str = "clip.mp4", size: int = 4096, brand: bytes = b"isom") -> Path:
        return self.write(name, self._fill(struct.pack(">I", 24) + b"ftyp" + brand, size))

    def webm(self, name: str = "clip.webm", size: int = 4096) -> Path:
        head = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm"
        return self.write(name, self._fill(head, size))

    def mkv(self, name: str = "clip.mkv", size: int = 4096) -> Path:
        head = b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska"
        return self.write(name, self._fill(head, size))

    def avi(self, name: str = "clip.avi", size: int = 4096) -> Path:
        head = b"RIFF" + struct.pack("<I", size - 8) + b"AVI LIST"
        return self.write(name, self._fill(head, size))

    def transcript(self, name: str = "transcript.txt", text: str | None = None) -> Path:
        ext = Path(name).suffix.lower()
        if text is None:
            text = {
                ".srt": "1\n00:00:00,000 --> 00:00:02,000\nHello there.\n",
                ".vtt": "WEBVTT\n\n00:00.000 --> 00:02.000\nHello there.\n",
            }.get(ext, f"Hello there, this is transcript {uuid.uuid4()}.\n")
        return self.write(name, text.encode("utf-8"))


@pytest.fixture
def media(tmp_path: Path) -> Media:
    return Media(tmp_path / "media")
