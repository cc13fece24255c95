"""Small transcripts through the window's queue and the storage's lane, against moto's
server over HTTP: stored byte for byte with their rows, and what the lane gives back
(a refused request, a file changed since it was checked) ends as the regular path says."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shorts_desktop.core.config import build_settings
from shorts_desktop.core.credentials import AccessKey, ResolvedCredentials
from shorts_desktop.core.db.connection import close_database, open_database
from shorts_desktop.core.db.models import Upload
from shorts_desktop.core.db.upload_rows import bound_rows
from shorts_desktop.core.services.intake import queue_paths
from shorts_desktop.core.services.upload_queue import QueueItem, UploadQueue
from shorts_desktop.core.services.uploads import UploadService
from shorts_desktop.core.storage.s3 import S3Storage
from shorts_desktop.core.transfers.lane import PutLane
from tests.stubs.scripted_http import drop_send_hooks


@dataclass
class Window:
    queue: UploadQueue
    storage: S3Storage
    client: Any  # for looking at the bucket

    def drop(self, paths: list[Path], timeout: float = 30) -> list[QueueItem]:
        idle = threading.Event()
        self.queue.subscribe(lambda e: idle.set() if e.kind == "finished" else None)
        refused, held = queue_paths(self.queue, paths, is_temp=True)
        assert not refused and not held
        assert idle.wait(timeout), {i.name: i.state for i in self.queue.items()}
        return sorted(self.queue.items(), key=lambda i: i.name)

    @property
    def lane(self) -> PutLane:
        lane = self.queue._lane
        assert isinstance(lane, PutLane), "the queue opened no lane"
        return lane


def open_window(endpoint: str, bucket: str, home: Path) -> Window:
    settings = build_settings([("test", {
        "S3_BUCKET_NAME": bucket, "S3_ENDPOINT_URL": endpoint, "S3_ADDRESSING_STYLE": "path",
        "AWS_REGION": "us-east-1", "SHORTS_DESKTOP_FILES_IN_FLIGHT": "4",
    })])
    rows = bound_rows()  # as the app wires it: the engine's store is the rows' writer
    storage = S3Storage(settings, ResolvedCredentials(AccessKey("testing", "testing"), "test"),
                        transfer_store=rows)
    drop_send_hooks(storage.transfers.client)  # as in the app: nothing listens on before-send
    uploads = UploadService(settings, storage, home / "scratch", rows)
    return Window(UploadQueue(uploads, files_in_flight=4), storage, storage.client)


@pytest.fixture
def window(s3_server: Any, s3_bucket: tuple[str, Any], tmp_path: Path) -> Iterator[Window]:
    database, _ = open_database(tmp_path / "data" / "shorts-desktop.db")
    w = open_window(s3_server.endpoint_url, s3_bucket[0], tmp_path)
    yield w
    w.queue.shutdown()
    w.storage.close()
    close_database(database)


def transcripts(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"line-{i:02d}.txt"
        path.write_text(f"Transcript {i}: " + "words and more words " * (50 + i) + "\n")
        paths.append(path)
    return paths


def test_a_drop_of_small_transcripts_is_stored_through_the_lane(
    window: Window, tmp_path: Path,
) -> None:
    files = transcripts(tmp_path / "drop", 30)
    items = window.drop(files)
    assert [i.state for i in items] == ["completed"] * 30, [i.error for i in items]
    assert window.lane.sent == 30  # every one went the lane's way
    for item, path in zip(items, files, strict=True):
        row = Upload.get_by_id(item.upload_id)
        data = path.read_bytes()
        assert (row.status, row.size, row.checksum) == (
            "completed", len(data), hashlib.sha256(data).hexdigest())
        assert row.completed_at is not None and row.bytes_done == len(data)
        stored = window.client.get_object(Bucket=window.storage.bucket, Key=row.key)
        assert stored["Body"].read() == data
        assert stored["Metadata"]["sha256"] == row.checksum
        assert stored["Metadata"]["upload-id"] == row.id
        assert stored["ContentType"].startswith("text/plain")
        assert item.upload is not None and item.upload["status"] == "completed"


def test_a_refused_request_ends_as_the_regular_path_words_it(
    window: Window, tmp_path: Path, s3_bucket: tuple[str, Any],
) -> None:
    """The bucket is gone: the lane's PUT is answered 404, the regular path sends it again
    and says what is wrong, in one sentence."""
    files = transcripts(tmp_path / "drop", 3)
    _, admin = s3_bucket
    admin.delete_bucket(Bucket=window.storage.bucket)
    items = window.drop(files)
    assert [i.state for i in items] == ["failed"] * 3
    assert all("does not exist" in (i.error or "") for i in items), items[0].error
    assert window.lane.sent == 0
    assert {r.status for r in Upload.select()} == {"failed"}


def test_a_file_gone_before_its_turn_fails_alone_with_one_sentence(
    window: Window, tmp_path: Path,
) -> None:
    """Queued while paused; one file is deleted before the queue goes on: its row cannot
    be written, the regular path says why, and the others are stored through the lane."""
    files = transcripts(tmp_path / "drop", 4)
    window.queue.pause_all()
    refused, held = queue_paths(window.queue, files, is_temp=True)
    assert not refused and not held
    files[1].unlink()
    idle = threading.Event()
    window.queue.subscribe(lambda e: idle.set() if e.kind == "finished" else None)
    window.queue.resume_all()
    assert idle.wait(30)
    items = sorted(window.queue.items(), key=lambda i: i.name)
    assert [i.state for i in items] == ["completed", "failed", "completed", "completed"]
    assert items[1].error == f"{files[1]} does not exist.", items[1].error
    assert window.lane.sent == 3
    assert Upload.select().count() == 3  # no row for the file that is gone
