"""The transfer engine against moto's server over HTTP, including a kill -9 mid-upload."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from shorts_desktop.core.db import schema
from shorts_desktop.core.db.migrations import m001_legacy, m002_s3_support, m003_transfers
from shorts_desktop.core.db.upload_rows import UploadRows
from shorts_desktop.core.transfers import (
    DownloadRequest,
    EngineConfig,
    SavedUpload,
    TransferEngine,
    UploadRequest,
)
from shorts_desktop.core.transfers.parts import MIB
from shorts_desktop.core.transfers.retry import RetryPolicy

PART = 5 * MIB


def make_client(endpoint: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"},
                      request_checksum_calculation="when_required",
                      response_checksum_validation="when_required"),
    )


def config(**kw: Any) -> EngineConfig:
    values: dict[str, Any] = {
        "multipart_threshold": PART, "part_size": PART, "parts_in_flight": 3,
        "retry": RetryPolicy(max_attempts=5, base_delay=0.02, max_delay=0.1),
    }
    values.update(kw)
    return EngineConfig(**values)


@pytest.fixture
def env(s3_server: Any, s3_bucket: tuple[str, Any]) -> Iterator[tuple[str, Any, str]]:
    bucket, _ = s3_bucket
    yield bucket, make_client(s3_server.endpoint_url), s3_server.endpoint_url


@pytest.fixture
def video(tmp_path: Path) -> Path:
    path = tmp_path / "video.mp4"
    path.write_bytes(os.urandom(23 * MIB + 17))
    return path


def open_uploads(client: Any, bucket: str) -> list[Any]:
    return list(client.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def test_many_parts_over_http_then_download(env: Any, video: Path, tmp_path: Path) -> None:
    bucket, client, _ = env
    with TransferEngine(client, config()) as engine:
        assert engine.checksum_mode() == "md5"
        up = engine.upload(UploadRequest("e1", video, bucket, "temp/e1/video.mp4"))
        assert up.wait(60) == "completed", up.error
        head = client.head_object(Bucket=bucket, Key="temp/e1/video.mp4")
        assert head["ETag"].strip('"').endswith("-5")
        dest = tmp_path / "back.mp4"
        down = engine.download(DownloadRequest("e2", bucket, "temp/e1/video.mp4", dest))
        assert down.wait(60) == "completed", down.error
    assert dest.read_bytes() == video.read_bytes()
    assert open_uploads(client, bucket) == []


def test_retry_after_injected_failures_over_http(env: Any, video: Path) -> None:
    bucket, client, _ = env
    calls = {"n": 0}

    def drop(request: Any, **_: Any) -> None:
        calls["n"] += 1
        if calls["n"] in (1, 4):
            raise botocore.exceptions.ConnectionClosedError(endpoint_url=request.url)

    client.meta.events.register("before-send.s3.UploadPart", drop)
    with TransferEngine(client, config()) as engine:
        h = engine.upload(UploadRequest("e3", video, bucket, "k"))
        assert h.wait(60) == "completed", h.error
        assert h.retries == 2
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == video.read_bytes()


def test_pause_resume_and_cancel_over_http(env: Any, video: Path) -> None:
    bucket, client, _ = env
    with TransferEngine(client, config(bandwidth_limit=10 * MIB)) as engine:
        a = engine.upload(UploadRequest("e4", video, bucket, "a"))
        b = engine.upload(UploadRequest("e5", video, bucket, "b"))
        while a.bytes_done < 2 * MIB or b.bytes_done < MIB:
            time.sleep(0.02)
        engine.pause("e4")
        engine.cancel("e5")
        assert a.wait_for("paused", timeout=10) == "paused"
        assert b.wait(10) == "cancelled"
        assert [u["Key"] for u in open_uploads(client, bucket)] == ["a"]
        engine.set_bandwidth_limit(0)
        engine.resume("e4")
        assert a.wait(60) == "completed", a.error
    assert open_uploads(client, bucket) == []
    assert client.get_object(Bucket=bucket, Key="a")["Body"].read() == video.read_bytes()


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import boto3
    from botocore.config import Config
    from shorts_desktop.core.transfers import (
        EngineConfig, TransferEngine, UploadRequest)
    from shorts_desktop.core.db.upload_rows import UploadRows
    endpoint, bucket, db, path, uid = sys.argv[1:]
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"}))
    MIB = 1024 * 1024
    engine = TransferEngine(client, EngineConfig(multipart_threshold=5 * MIB,
        part_size=5 * MIB, parts_in_flight=2, bandwidth_limit=6 * MIB),
        UploadRows(Path(db)))
    engine.upload(UploadRequest(uid, Path(path), bucket, "killed")).wait()
    """
)


def test_kill_9_mid_upload_then_resume_from_another_process(
    env: Any, video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket, client, endpoint = env
    monkeypatch.setattr(schema, "MIGRATIONS", (m001_legacy, m002_s3_support, m003_transfers))
    monkeypatch.setattr(schema, "LATEST_VERSION", 3)
    db = tmp_path / "app.db"
    schema.migrate(db)
    uid = str(uuid.uuid4())
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=wal")
        conn.execute(
            "INSERT INTO upload (id, kind, original_name, status, created_at, updated_at)"
            " VALUES (?, 'video', 'video.mp4', 'queued', '2026-01-01', '2026-01-01')", (uid,))

    def recorded() -> int:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM transfer_part").fetchone()[0])

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, endpoint, bucket, str(db), str(video), uid],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        end = time.monotonic() + 30
        while recorded() < 2 and time.monotonic() < end and child.poll() is None:
            time.sleep(0.02)
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(10)
        if child.stderr:
            child.stderr.close()
    kept = recorded()
    assert 2 <= kept < 5
    sent: list[int] = []
    client.meta.events.register(
        "before-send.s3.UploadPart", lambda request, **_: sent.append(1)
    )
    store = UploadRows(db)
    saved = store.resume_point(uid)  # what the killed process left for the next one
    assert isinstance(saved, SavedUpload) and len(saved.parts) == kept
    with TransferEngine(client, config(parts_in_flight=2), store) as engine:
        h = engine.upload(UploadRequest(uid, video, bucket, "killed"))
        assert h.wait(60) == "completed", h.error
    # Re-sent at most what was in flight when killed: parts_in_flight x part size.
    assert len(sent) <= 5 - kept
    assert 5 - kept - len(sent) <= 2
    assert client.get_object(Bucket=bucket, Key="killed")["Body"].read() == video.read_bytes()
    assert open_uploads(client, bucket) == []
    store.close()
