"""The transfer engine against moto in-process: sizing, retries, integrity, pause, resume."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.awsrequest
import botocore.exceptions
import pytest
from botocore.config import Config
from moto import mock_aws

from shorts_desktop.core.db import schema
from shorts_desktop.core.db.migrations import m001_legacy, m002_s3_support, m003_transfers
from shorts_desktop.core.db.upload_rows import UploadRows
from shorts_desktop.core.transfers import (
    DownloadRequest,
    EngineConfig,
    EventKind,
    MemoryTransferStore,
    TokenBucket,
    TransferEngine,
    TransferEvent,
    UploadRequest,
    part_size_for,
)
from shorts_desktop.core.transfers.events import EventHub
from shorts_desktop.core.transfers.parts import MAX_OBJECT_SIZE, MAX_PARTS, MIB
from shorts_desktop.core.transfers.retry import RetryPolicy, is_retryable
from shorts_desktop.core.transfers.store import Intent, SavedUpload

BUCKET = "transfer-tests"
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)


def cfg(**kw: Any) -> EngineConfig:
    base: dict[str, Any] = {
        "multipart_threshold": 5 * MIB,
        "part_size": 5 * MIB,
        "parts_in_flight": 3,
        "files_in_flight": 2,
        "retry": FAST_RETRY,
        "checksum": "md5",
    }
    base.update(kw)
    return EngineConfig(**base)


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client(
            "s3", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1})
        )
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def bigfile(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(os.urandom(23 * MIB + 4321))
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def open_uploads(client: Any) -> list[Any]:
    return list(client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))


def on_part(client: Any, handler: Callable[..., Any]) -> None:
    client.meta.events.register("before-send.s3.UploadPart", handler)


def error_response(status: int, code: str) -> botocore.awsrequest.AWSResponse:
    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()

    return botocore.awsrequest.AWSResponse("http://x", status, {}, Raw())


# -- pure logic ------------------------------------------------------------------------------


def test_part_size_fits_any_size_in_10000_parts() -> None:
    assert part_size_for(1) == 16 * MIB
    assert part_size_for(10 * MIB, preferred=5 * MIB) == 5 * MIB
    assert part_size_for(10 * MIB, preferred=1) == 5 * MIB  # S3's minimum
    for size in (50 * 1024 * MIB, 200 * 1024 * MIB, 1024 * 1024 * MIB, MAX_OBJECT_SIZE):
        part = part_size_for(size)
        assert part % MIB == 0 and part >= 5 * MIB
        assert -(-size // part) <= MAX_PARTS
    with pytest.raises(ValueError):
        part_size_for(MAX_OBJECT_SIZE + 1)


def test_retry_classification_and_backoff() -> None:
    def client_error(code: str, status: int) -> botocore.exceptions.ClientError:
        return botocore.exceptions.ClientError(
            {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "UploadPart"
        )

    assert is_retryable(client_error("SlowDown", 503))
    assert is_retryable(client_error("InternalError", 500))
    assert is_retryable(client_error("BadDigest", 400))
    assert is_retryable(botocore.exceptions.ConnectionClosedError(endpoint_url="http://x"))
    assert not is_retryable(client_error("AccessDenied", 403))
    assert not is_retryable(client_error("NoSuchBucket", 404))
    policy = RetryPolicy(base_delay=1, max_delay=8)
    delays = [policy.delay(a, client_error("InternalError", 500)) for a in range(1, 8)]
    assert all(0 < d <= 8 for d in delays) and delays[-1] >= 4  # grows, capped, jittered
    assert policy.delay(1, client_error("SlowDown", 503)) >= 1  # throttling waits longer


def test_token_bucket_limits_and_can_change_while_waiting() -> None:
    bucket = TokenBucket(4 * MIB)
    start = time.monotonic()
    for _ in range(8):
        bucket.consume(256 * 1024)  # 2 MiB in all, 1 MiB of burst
    assert 0.15 < time.monotonic() - start < 1.0
    bucket.set_rate(1000)
    done = threading.Event()
    threading.Thread(target=lambda: (bucket.consume(10**6), done.set()), daemon=True).start()
    time.sleep(0.2)
    assert not done.is_set()
    bucket.set_rate(0)  # unlimited: the waiter goes at once
    assert done.wait(1)


def test_event_hub_batches_posts_keeps_their_order_and_routes_by_transfer() -> None:
    """A busy hub wakes every BATCH_SECONDS, not per post; an event after a quiet spell
    goes out at once; a subscriber to one transfer hears only its events."""
    from shorts_desktop.core.transfers import events as events_module

    hub = EventHub(0.1)
    everything: list[TransferEvent] = []
    only_b: list[TransferEvent] = []
    hub.subscribe(everything.append)
    stop_b = hub.subscribe(only_b.append, "b")
    hub.start()
    waits = []
    for _ in range(3):  # out at once when it was idle (best of three: a loaded machine can
        time.sleep(0.05)  # hold a thread back for a tick once, but not three times)
        seen, first = len(everything), time.monotonic()
        hub.post(TransferEvent("a", EventKind.QUEUED, "upload", 0, 1))
        while len(everything) == seen:
            time.sleep(0.001)
        waits.append(time.monotonic() - first)
    assert min(waits) < events_module.BATCH_SECONDS, waits
    everything.clear()
    posted = [TransferEvent(t, EventKind.STARTED, "upload", n, 10)
              for n in range(200) for t in ("a", "b")]
    for event in posted:
        hub.post(event)
    while len(only_b) < 200:
        time.sleep(0.001)
    stop_b()
    hub.post(TransferEvent("b", EventKind.COMPLETED, "upload", 10, 10))
    hub.stop()
    assert everything[:-1] == posted and everything[-1].kind == EventKind.COMPLETED
    assert only_b == [e for e in posted if e.transfer_id == "b"]  # it had unsubscribed


def test_event_hub_coalesces_progress_to_about_ten_a_second() -> None:
    class Item:
        id, direction, total = "x", "upload", 10**9
        bytes_done = 0

    hub = EventHub(0.1)
    seen: list[TransferEvent] = []
    hub.subscribe(seen.append)
    hub.start()
    time.sleep(0.05)  # the hub is asleep, idle: tracking must wake it
    item = Item()
    hub.track(item)
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        item.bytes_done += 1000
        time.sleep(0.001)
    hub.post(TransferEvent("x", EventKind.COMPLETED, "upload", item.bytes_done, item.total))
    hub.untrack("x")
    hub.stop()
    progress = [e for e in seen if e.kind == EventKind.PROGRESS]
    assert 5 <= len(progress) <= 12
    assert progress[-1].rate > 0 and progress[-1].eta is not None
    assert seen[-1].kind == EventKind.COMPLETED


# -- uploads ---------------------------------------------------------------------------------


def test_the_crc_part_digests_are_the_standard_check_values() -> None:
    """CRC32 and CRC32C of "123456789" are the catalogued check values; S3's composite is
    the same CRC of the parts' raw CRCs, then the part count."""
    import base64

    from shorts_desktop.core.transfers.parts import composite_checksum, digest_part

    for mode, check in (("crc32", 0xCBF43926), ("crc32c", 0xE3069283)):
        digest = digest_part(b"123456789", mode)
        assert base64.b64decode(digest.extra or "") == check.to_bytes(4, "big")
        assert digest.md5_hex == ""  # no MD5 in a CRC mode
        halves = [digest_part(b"12345", mode).extra or "", digest_part(b"6789", mode).extra or ""]
        raw = b"".join(base64.b64decode(h) for h in halves)
        assert composite_checksum(mode, halves) == (
            f"{digest_part(raw, mode).extra}-2")


@pytest.mark.parametrize("mode", ["md5", "crc32", "crc32c", "sha256"])
def test_each_step_of_a_part_is_hashed_right_after_its_read(
    tmp_path: Path, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part is read a step at a time, each step checksummed before the next is read
    (still in the cache), and the checksums are those of the whole part at once."""
    from shorts_desktop.core.transfers import upload
    from shorts_desktop.core.transfers.parts import PartSums, digest_part

    step = upload.READ_STEP
    data = os.urandom(step * 3 + 12345)
    source = tmp_path / "part"
    source.write_bytes(b"x" * 100 + data)
    seen: list[tuple[str, int]] = []
    real_preadv = os.preadv

    def preadv(fd: int, buffers: Any, offset: int) -> int:
        n = real_preadv(fd, buffers, offset)
        seen.append(("read", n))
        return n

    class Witness:
        def update(self, piece: memoryview) -> None:
            seen.append(("hashed", len(piece)))

    monkeypatch.setattr(os, "preadv", preadv)
    sums, buffer = PartSums(mode), bytearray(len(data))
    fd = os.open(source, os.O_RDONLY)
    try:
        upload.read_summed(fd, memoryview(buffer), 100, sums, Witness())  # type: ignore[arg-type]
    finally:
        os.close(fd)
    assert buffer == data
    assert sums.digest() == digest_part(data, mode)
    assert seen == [e for n in (step, step, step, 12345) for e in (("read", n), ("hashed", n))]


@pytest.mark.parametrize("mode", ["md5", "crc32", "crc32c", "sha256"])
def test_multipart_upload_every_checksum_mode(s3: Any, bigfile: Path, mode: str) -> None:
    events: list[TransferEvent] = []
    store = MemoryTransferStore()
    with TransferEngine(s3, cfg(checksum=mode), store) as engine:
        engine.subscribe(events.append)
        handle = engine.upload(UploadRequest("u1", bigfile, BUCKET, "temp/u1/clip.mp4",
                                             content_type="video/mp4"))
        assert handle.wait(30) == "completed", handle.error
    obj = s3.get_object(Bucket=BUCKET, Key="temp/u1/clip.mp4")
    assert obj["Body"].read() == bigfile.read_bytes()
    # Hashed while its parts were read: known only at the end, so it is in the row, not in
    # the object's metadata (which is set when the upload is created).
    assert store.checksums["u1"] == sha(bigfile)
    assert "sha256" not in obj["Metadata"]
    assert obj["ContentType"] == "video/mp4"
    assert open_uploads(s3) == []
    kinds = [e.kind for e in events]
    assert kinds[:2] == [EventKind.QUEUED, EventKind.STARTED] and kinds[-1] == EventKind.COMPLETED
    assert events[-1].bytes_done == bigfile.stat().st_size


def test_a_multipart_file_is_read_once_and_its_sha256_is_the_files(
    s3: Any, bigfile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One read per file: the SHA-256 comes from the reads that fill the part buffers, in
    part order, even with parts finishing out of order and one of them sent twice."""
    read = [0]
    real_preadv, real_pread = os.preadv, os.pread

    def preadv(fd: int, buffers: Any, offset: int) -> int:
        n = real_preadv(fd, buffers, offset)
        read[0] += n
        return n

    def pread(fd: int, length: int, offset: int) -> bytes:
        data = real_pread(fd, length, offset)
        read[0] += len(data)
        return data

    monkeypatch.setattr(os, "preadv", preadv)
    monkeypatch.setattr(os, "pread", pread)
    failed: list[int] = []

    def flaky(request: Any, **_: Any) -> None:
        if "partNumber=1&" in request.url + "&" and not failed:
            failed.append(1)
            time.sleep(0.2)  # part 1 ends after the others have been read
            raise botocore.exceptions.ConnectionClosedError(endpoint_url=request.url)

    s3.meta.events.register("before-send.s3.UploadPart", flaky)
    store = MemoryTransferStore()
    with TransferEngine(s3, cfg(parts_in_flight=4), store) as engine:
        handle = engine.upload(UploadRequest("once", bigfile, BUCKET, "k"))
        assert handle.wait(30) == "completed", handle.error
    size = bigfile.stat().st_size
    assert failed == [1]
    assert read[0] == size + 5 * MIB  # every byte once, and part 1 again for its retry
    assert store.checksums["once"] == sha(bigfile)


def test_small_file_is_one_put_with_md5(s3: Any, tmp_path: Path) -> None:
    small = tmp_path / "a.txt"
    small.write_bytes(b"hello transcript\n")
    calls: list[str] = []
    s3.meta.events.register("before-send.s3", lambda request, **_: calls.append(request.method))
    with TransferEngine(s3, cfg()) as engine:
        handle = engine.upload(UploadRequest("s1", small, BUCKET, "t/a.txt",
                                             metadata={"kind": "transcript"}))
        assert handle.wait(10) == "completed"
    assert calls == ["PUT"]
    head = s3.head_object(Bucket=BUCKET, Key="t/a.txt")
    assert head["ETag"].strip('"') == hashlib.md5(b"hello transcript\n").hexdigest()
    assert head["Metadata"] == {"kind": "transcript", "sha256": sha(small)}


def test_a_source_from_the_callers_stat_spares_the_engine_its_own_and_is_checked(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller's (size, mtime) stands for the stat before the read (a system call, a
    GIL hand-over, less per small file); the stat after the read still checks the file
    against it, so a file that changed since the caller looked is refused, not stored."""
    small = tmp_path / "a.txt"
    small.write_bytes(b"as it was\n")
    st = small.stat()
    stats: list[Path] = []
    real_stat = Path.stat

    def counted(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == small:
            stats.append(self)
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", counted)
    source = (st.st_size, st.st_mtime_ns)
    with TransferEngine(s3, cfg()) as engine:
        handle = engine.upload_here(UploadRequest("src1", small, BUCKET, "t/a.txt",
                                                  source=source))
        assert handle.state == "completed", handle.error
        assert len(stats) == 1  # after the read only
        small.write_bytes(b"changed since\n")  # after the caller's stat, before the send
        handle = engine.upload_here(UploadRequest("src2", small, BUCKET, "t/b.txt",
                                                  source=source))
        assert handle.state == "failed"
        assert "changed" in (handle.error or "")
    assert s3.get_object(Bucket=BUCKET, Key="t/a.txt")["Body"].read() == b"as it was\n"
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="t/b.txt")


def test_transient_failures_are_retried_per_part(s3: Any, bigfile: Path) -> None:
    count = {"n": 0}

    def flaky(request: Any, **_: Any) -> Any:
        count["n"] += 1
        if count["n"] in (2, 3):
            return error_response(503, "SlowDown")
        if count["n"] == 5:
            raise botocore.exceptions.ConnectionClosedError(endpoint_url=request.url)
        return None

    on_part(s3, flaky)
    events: list[TransferEvent] = []
    with TransferEngine(s3, cfg()) as engine:
        engine.subscribe(events.append)
        handle = engine.upload(UploadRequest("r1", bigfile, BUCKET, "k"))
        assert handle.wait(30) == "completed", handle.error
        assert handle.retries == 3
    assert sum(e.kind == EventKind.RETRYING for e in events) == 3
    assert s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == bigfile.read_bytes()


def test_failure_after_retries_keeps_reason_and_leaves_nothing(s3: Any, bigfile: Path) -> None:
    on_part(s3, lambda **_: error_response(500, "InternalError"))
    store = MemoryTransferStore()
    with TransferEngine(s3, cfg(), store) as engine:
        handle = engine.upload(UploadRequest("f1", bigfile, BUCKET, "k"))
        assert handle.wait(30) == "failed"
    assert handle.error and "InternalError" in handle.error
    assert store.states["f1"] == ("failed", handle.error)
    assert open_uploads(s3) == []
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_access_denied_fails_at_once(s3: Any, bigfile: Path) -> None:
    on_part(s3, lambda **_: error_response(403, "AccessDenied"))
    with TransferEngine(s3, cfg()) as engine:
        handle = engine.upload(UploadRequest("f2", bigfile, BUCKET, "k"))
        assert handle.wait(30) == "failed"
        assert handle.retries == 0
    assert open_uploads(s3) == []


def corrupt_parts(client: Any, times: int) -> dict[str, int]:
    """Flip a byte of the part body after its MD5 was computed (damage in transit)."""
    seen = {"corrupted": 0}

    def corrupt(request: Any, **_: Any) -> None:
        if seen["corrupted"] >= times:
            return
        seen["corrupted"] += 1
        data = bytearray(request.body.read())
        request.body.seek(0)
        data[100] ^= 0xFF
        request.body = bytes(data)

    on_part(client, corrupt)
    return seen


def test_corrupted_part_is_detected_and_sent_again(s3: Any, bigfile: Path) -> None:
    seen = corrupt_parts(s3, times=1)
    with TransferEngine(s3, cfg()) as engine:
        handle = engine.upload(UploadRequest("c1", bigfile, BUCKET, "k"))
        assert handle.wait(30) == "completed", handle.error
        assert handle.retries == 1
    assert seen["corrupted"] == 1
    assert s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == bigfile.read_bytes()


def test_persistent_corruption_fails_and_aborts(s3: Any, bigfile: Path) -> None:
    corrupt_parts(s3, times=1000)
    with TransferEngine(s3, cfg()) as engine:
        handle = engine.upload(UploadRequest("c2", bigfile, BUCKET, "k"))
        assert handle.wait(30) == "failed"
    assert handle.error and "checksum mismatch" in handle.error
    assert open_uploads(s3) == []


# -- control ---------------------------------------------------------------------------------


def wait_bytes(handle: Any, at_least: int, timeout: float = 10) -> None:
    end = time.monotonic() + timeout
    while handle.bytes_done < at_least and time.monotonic() < end:
        time.sleep(0.01)
    assert handle.bytes_done >= at_least


def test_pause_resume_and_bandwidth_change(s3: Any, bigfile: Path) -> None:
    events: list[TransferEvent] = []
    with TransferEngine(s3, cfg(bandwidth_limit=8 * MIB)) as engine:
        engine.subscribe(events.append)
        handle = engine.upload(UploadRequest("p1", bigfile, BUCKET, "k"))
        wait_bytes(handle, 2 * MIB)
        engine.pause("p1")
        assert handle.wait_for("paused", timeout=5) == "paused"
        paused_at = handle.bytes_done
        time.sleep(0.3)
        assert handle.bytes_done == paused_at  # nothing moves while paused
        assert len(open_uploads(s3)) == 1
        engine.set_bandwidth_limit(0)
        engine.resume("p1")
        assert handle.wait(30) == "completed", handle.error
    kinds = [e.kind for e in events]
    assert EventKind.PAUSED in kinds and kinds.count(EventKind.QUEUED) == 2
    assert s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == bigfile.read_bytes()


def test_the_same_request_again_attaches_to_the_transfer(s3: Any, bigfile: Path) -> None:
    """A caller that stopped waiting at a pause submits again: it gets the same transfer,
    still paused (a pause just before a caller submits holds), and `resume` continues it
    from its sent parts; a different request under a busy id is refused."""
    request = UploadRequest("again", bigfile, BUCKET, "again")
    with TransferEngine(s3, cfg(bandwidth_limit=8 * MIB)) as engine:
        handle = engine.upload(request)
        wait_bytes(handle, 2 * MIB)
        engine.pause("again")
        assert handle.wait_for("paused", timeout=5) == "paused"
        sent = handle.bytes_done
        with pytest.raises(ValueError, match="already paused"):
            engine.upload(UploadRequest("again", bigfile, BUCKET, "elsewhere"))
        engine.set_bandwidth_limit(0)
        attached = engine.upload(request)
        assert attached.id == handle.id and attached.bytes_done >= sent
        assert attached.wait(0.5) == "paused"
        engine.resume("again")
        assert attached.wait(30) == "completed", attached.error
        assert handle.state == "completed"  # one transfer, not two
        assert engine.upload(request).wait(30) == "completed"  # a finished one starts anew
    assert s3.get_object(Bucket=BUCKET, Key="again")["Body"].read() == bigfile.read_bytes()
    assert open_uploads(s3) == []


def test_cancel_running_and_paused_aborts_the_multipart_upload(s3: Any, bigfile: Path) -> None:
    with TransferEngine(s3, cfg(bandwidth_limit=8 * MIB)) as engine:
        running = engine.upload(UploadRequest("x1", bigfile, BUCKET, "k1"))
        paused = engine.upload(UploadRequest("x2", bigfile, BUCKET, "k2"))
        wait_bytes(running, MIB)
        wait_bytes(paused, MIB)
        engine.pause("x2")
        assert paused.wait_for("paused", timeout=5) == "paused"
        engine.cancel("x1")
        engine.cancel("x2")
        assert running.wait(10) == "cancelled"
        assert paused.wait(10) == "cancelled"
    assert open_uploads(s3) == []
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_pause_all_holds_the_queue(s3: Any, tmp_path: Path) -> None:
    files = []
    for i in range(4):
        f = tmp_path / f"f{i}.bin"
        f.write_bytes(os.urandom(300_000))
        files.append(f)
    with TransferEngine(s3, cfg(files_in_flight=1)) as engine:
        engine.pause_all()
        handles = [engine.upload(UploadRequest(f"q{i}", f, BUCKET, f"q/{i}"))
                   for i, f in enumerate(files)]
        time.sleep(0.2)
        assert {h.state for h in handles} == {"paused"}
        engine.pause(handles[0].id)  # paused by the user: stays paused
        engine.resume_all()
        for h in handles[1:]:
            assert h.wait(10) == "completed"
        assert handles[0].state == "paused"
        engine.resume(handles[0].id)
        assert handles[0].wait(10) == "completed"


# -- persistence -----------------------------------------------------------------------------


def make_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upload_ids: list[str]) -> Path:
    """A schema-3 database (m003 registered here until the app registers it)."""
    monkeypatch.setattr(schema, "MIGRATIONS", (m001_legacy, m002_s3_support, m003_transfers))
    monkeypatch.setattr(schema, "LATEST_VERSION", 3)
    path = tmp_path / "app.db"
    schema.migrate(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("PRAGMA journal_mode=wal")
        for uid in upload_ids:
            conn.execute(
                "INSERT INTO upload (id, kind, original_name, status, created_at, updated_at)"
                " VALUES (?, 'video', 'clip.mp4', 'queued', '2026-01-01', '2026-01-01')",
                (uid,),
            )
    conn.close()
    return path


def row(path: Path, uid: str) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    r = dict(conn.execute("SELECT * FROM upload WHERE id = ?", (uid,)).fetchone())
    r["parts"] = conn.execute(
        "SELECT COUNT(*) FROM transfer_part WHERE upload_id = ?", (uid,)
    ).fetchone()[0]
    conn.close()
    return r


def count_parts(client: Any) -> list[int]:
    sent: list[int] = []
    on_part(client, lambda request, **_: sent.append(1))
    return sent


def test_resume_in_a_new_engine_sends_only_missing_parts(
    s3: Any, bigfile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uid = str(uuid.uuid4())
    db = make_db(tmp_path, monkeypatch, [uid])
    store = UploadRows(db)
    engine = TransferEngine(s3, cfg(parts_in_flight=1, bandwidth_limit=16 * MIB), store)
    handle = engine.upload(UploadRequest(uid, bigfile, BUCKET, "k"))
    end = time.monotonic() + 10
    while row(db, uid)["parts"] < 2 and time.monotonic() < end:
        time.sleep(0.02)
    engine.close()  # the app quits mid-upload
    assert handle.state == "queued"
    saved = row(db, uid)
    assert saved["status"] == "queued" and saved["multipart_upload_id"]
    assert saved["source_size"] == bigfile.stat().st_size and saved["part_size"] == 5 * MIB
    done_before = saved["parts"]
    assert 2 <= done_before < 5

    sent = count_parts(s3)
    store2 = UploadRows(db)
    assert isinstance(store2.resume_point(uid), SavedUpload)  # what a new process resumes from
    with TransferEngine(s3, cfg(), store2) as engine2:
        handle2 = engine2.upload(UploadRequest(uid, bigfile, BUCKET, "k"))
        assert handle2.wait(30) == "completed", handle2.error
        assert handle2.message is None
    assert len(sent) == 5 - done_before
    final = row(db, uid)
    assert final["status"] == "completed" and final["parts"] == 0
    assert final["checksum"] == sha(bigfile) and final["multipart_upload_id"] is None
    assert s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == bigfile.read_bytes()
    assert open_uploads(s3) == []
    store.close()
    store2.close()


def test_changed_source_starts_over_and_says_so(
    s3: Any, bigfile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uid = str(uuid.uuid4())
    db = make_db(tmp_path, monkeypatch, [uid])
    engine = TransferEngine(s3, cfg(parts_in_flight=1, bandwidth_limit=16 * MIB),
                            UploadRows(db))
    engine.upload(UploadRequest(uid, bigfile, BUCKET, "k"))
    end = time.monotonic() + 10
    while row(db, uid)["parts"] < 1 and time.monotonic() < end:
        time.sleep(0.02)
    engine.close()
    old_id = row(db, uid)["multipart_upload_id"]
    bigfile.write_bytes(os.urandom(12 * MIB))  # edited in between
    events: list[TransferEvent] = []
    with TransferEngine(s3, cfg(), UploadRows(db)) as engine2:
        engine2.subscribe(events.append)
        handle = engine2.upload(UploadRequest(uid, bigfile, BUCKET, "k"))
        assert handle.wait(30) == "completed", handle.error
        assert handle.message and "changed" in handle.message
    started = [e for e in events if e.kind == EventKind.STARTED]
    assert started[0].message and "starting over" in started[0].message
    assert old_id not in [u["UploadId"] for u in open_uploads(s3)]
    obj = s3.get_object(Bucket=BUCKET, Key="k")
    assert obj["Body"].read() == bigfile.read_bytes()
    assert row(db, uid)["checksum"] == sha(bigfile)  # of the file as it is now


def test_parts_s3_has_but_we_never_recorded_are_verified_and_kept(
    s3: Any, bigfile: Path
) -> None:
    store = MemoryTransferStore()
    lost = {"n": 0}
    original = store.add_part

    def forgetful(transfer_id: str, part: Any, bytes_done: int) -> None:
        lost["n"] += 1
        if lost["n"] > 2:
            raise sqlite3.OperationalError("database is locked")  # recorded nowhere
        original(transfer_id, part, bytes_done)

    store.add_part = forgetful  # type: ignore[method-assign]
    engine = TransferEngine(s3, cfg(parts_in_flight=1, bandwidth_limit=16 * MIB), store)
    h = engine.upload(UploadRequest("v1", bigfile, BUCKET, "k"))
    wait_bytes(h, 18 * MIB, timeout=15)
    engine.close()
    saved = store.resume_point("v1")
    assert isinstance(saved, SavedUpload) and len(saved.parts) == 2
    sent = count_parts(s3)
    store.add_part = original  # type: ignore[method-assign]
    with TransferEngine(s3, cfg(), store) as engine2:
        assert engine2.upload(UploadRequest("v1", bigfile, BUCKET, "k")).wait(30) == "completed"
    assert len(sent) <= 2  # parts 3 (and maybe 4) came from ListParts after an MD5 check
    assert s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == bigfile.read_bytes()


# -- downloads -------------------------------------------------------------------------------


def test_ranged_download_verifies_and_renames(s3: Any, bigfile: Path, tmp_path: Path) -> None:
    with TransferEngine(s3, cfg()) as engine:
        assert engine.upload(UploadRequest("d0", bigfile, BUCKET, "k")).wait(30) == "completed"
        dest = tmp_path / "out" / "clip.mp4"
        dest.parent.mkdir()
        handle = engine.download(DownloadRequest("d1", BUCKET, "k", dest))
        assert handle.wait(30) == "completed", handle.error
        assert dest.read_bytes() == bigfile.read_bytes()
        assert [p.name for p in dest.parent.iterdir()] == ["clip.mp4"]
        again = engine.download(DownloadRequest("d2", BUCKET, "k", dest))
        assert again.wait(10) == "failed" and again.error and "already exists" in again.error
        bad = tmp_path / "out" / "bad.mp4"
        wrong = engine.download(DownloadRequest("d3", BUCKET, "k", bad, sha256="0" * 64))
        assert wrong.wait(30) == "failed" and wrong.error and "checksum" in wrong.error
        assert [p.name for p in dest.parent.iterdir()] == ["clip.mp4"]


def test_download_cancel_removes_the_temp_file(s3: Any, bigfile: Path, tmp_path: Path) -> None:
    s3.put_object(Bucket=BUCKET, Key="k", Body=bigfile.read_bytes())
    dest = tmp_path / "d.bin"
    with TransferEngine(s3, cfg(bandwidth_limit=8 * MIB)) as engine:
        handle = engine.download(DownloadRequest("dc", BUCKET, "k", dest))
        wait_bytes(handle, MIB)
        engine.pause("dc")
        assert handle.wait_for("paused", timeout=5) == "paused"
        assert len(list(tmp_path.glob(".d.bin.*.part"))) == 1
        engine.cancel("dc")
        assert handle.wait(10) == "cancelled"
    assert list(tmp_path.glob("*d.bin*")) == []


# -- the fast PUT path -----------------------------------------------------------------------


class _Captured(Exception):
    pass


@pytest.mark.parametrize(
    ("endpoint", "style"),
    [("http://127.0.0.1:9/", "path"), ("https://s3.eu-west-1.amazonaws.com", "virtual"),
     ("https://minio.example:9443/", "path")],
)
def test_fast_put_url_and_signature_match_botocore(endpoint: str, style: str) -> None:
    """The fast path's URL and SigV4 signature are botocore's for the same request."""
    from shorts_desktop.core.transfers.fastput import FastPut

    client = boto3.client(
        "s3", region_name="eu-west-1", endpoint_url=endpoint, aws_access_key_id="AKID",
        aws_secret_access_key="SECRET/KEY", aws_session_token="TOKEN",
        config=Config(s3={"addressing_style": style}, request_checksum_calculation="when_required"),
    )
    seen: list[Any] = []

    def grab(request: Any, **_: Any) -> None:
        seen.append(request)
        raise _Captured()

    client.meta.events.register("before-send.s3.PutObject", grab)
    key = "dir/a b+c~d%é (1).mp4"
    with pytest.raises(_Captured):
        client.put_object(Bucket="my-bucket", Key=key, Body=b"hello",
                          ContentMD5="XUFAKrxLKna5cZ2REBfFkg==", Metadata={"sha256": "ab" * 32},
                          Tagging="shorts-desktop-expire=yes")
    request = seen[0]
    fast = FastPut(client, sign_payload=endpoint.startswith("http://"))
    found = fast._endpoint("my-bucket")
    assert found is not None
    prefix, host, region, service = found
    from urllib.parse import quote, urlsplit

    assert prefix + quote(f"/{key}".encode(), safe="/~") == request.url
    auth = request.headers["Authorization"].decode() if isinstance(
        request.headers["Authorization"], bytes) else request.headers["Authorization"]
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = {}
    for name in signed:
        if name == "host":
            continue
        value = request.headers[name]
        headers[name] = value.decode() if isinstance(value, bytes) else value
    amz_date = headers["x-amz-date"]
    payload = headers["x-amz-content-sha256"]
    mine = fast.authorization("PUT", urlsplit(request.url).path, host, headers, payload,
                              "AKID", "SECRET/KEY", region, service, amz_date)
    assert mine == auth
    assert headers["x-amz-tagging"] == "shorts-desktop-expire=yes"  # signed by botocore

    # The fast path's own request for the same call: the same signed headers and values
    # (the time aside), and with botocore's time the same signature.
    with pytest.raises(_Captured):
        fast.put("my-bucket", key, b"hello", {"Content-MD5": "XUFAKrxLKna5cZ2REBfFkg=="},
                 {"sha256": "ab" * 32}, {"Tagging": "shorts-desktop-expire=yes"})
    ours = seen[1]
    assert ours.url == request.url
    our_auth = ours.headers["Authorization"]
    our_signed = our_auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert our_signed == signed
    our_headers = {n: ours.headers[n] for n in our_signed if n != "host"}
    assert {**our_headers, "x-amz-date": amz_date} == headers
    again = fast.authorization("PUT", urlsplit(ours.url).path, host, our_headers, payload,
                               "AKID", "SECRET/KEY", region, service,
                               our_headers["x-amz-date"])
    assert again == our_auth


def test_fast_put_direct_send_fails_like_botocore() -> None:
    """Without before-send handlers the fast path sends straight through the session's
    pool; a refused connection is still botocore's EndpointConnectionError."""
    import socket

    from shorts_desktop.core.transfers.fastput import FastPut

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = boto3.client(
        "s3", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="AKID", aws_secret_access_key="SECRET",
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                      connect_timeout=2),
    )
    fast = FastPut(client, sign_payload=True)
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        fast.put("b", "k", b"x", {"Content-Length": "1"}, {}, {})
    assert fast._direct == {f"http://127.0.0.1:{port}/b": True}


def test_fast_put_is_used_and_stores_like_put_object(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shorts_desktop.core.transfers import fastput

    answers: list[Any] = []
    real = fastput.FastPut.put

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        answers.append(real(self, *args, **kwargs))
        return answers[-1]

    monkeypatch.setattr(fastput.FastPut, "put", spy)
    small = tmp_path / "a b.txt"
    small.write_bytes(b"fast path\n" * 100)
    with TransferEngine(s3, cfg()) as engine:
        handle = engine.upload(UploadRequest(
            "f1", small, BUCKET, "t/a b+é.txt", content_type="text/plain",
            metadata={"kind": "transcript"}, extra_args={"StorageClass": "STANDARD_IA"},
        ))
        assert handle.wait(10) == "completed", handle.error
    assert answers and answers[0] is not None  # served by the fast path, not botocore
    head = s3.head_object(Bucket=BUCKET, Key="t/a b+é.txt")
    assert head["ETag"].strip('"') == hashlib.md5(small.read_bytes()).hexdigest()
    assert head["Metadata"] == {"kind": "transcript", "sha256": sha(small)}
    assert head["ContentType"] == "text/plain"
    assert head["StorageClass"] == "STANDARD_IA"


def test_fast_put_steps_aside_for_foreign_handlers(s3: Any, tmp_path: Path) -> None:
    """A handler on the call's events (a test hook, a plugin) gets the botocore call."""
    calls: list[str] = []
    s3.meta.events.register("before-call.s3.PutObject", lambda model, **_: calls.append(model.name))
    small = tmp_path / "a.txt"
    small.write_bytes(b"x")
    with TransferEngine(s3, cfg()) as engine:
        assert engine.upload(UploadRequest("f2", small, BUCKET, "t/a")).wait(10) == "completed"
    assert calls == ["PutObject"]


def test_interactive_workers_lower_their_own_priority() -> None:
    import os
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from shorts_desktop.core.transfers.priority import lower_priority

    if not hasattr(os, "setpriority"):
        pytest.skip("no per-thread priority on this system")
    assert lower_priority(0) is None
    main = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    with ThreadPoolExecutor(1, initializer=lower_priority(5)) as pool:
        worker = pool.submit(
            lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        ).result()
    assert worker == min(19, main + 5)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main


# -- lost CreateMultipartUpload answers (issue 13) -------------------------------------------


class Crash(BaseException):
    """The process dies here: nothing in the engine catches it, nothing cleans up."""


def lose_create_answers(client: Any, times: int, error: Callable[[], BaseException]) -> list[str]:
    """The next `times` CreateMultipartUpload requests reach S3, but their answers are lost."""
    lost: list[str] = []

    def drop(parsed: dict[str, Any], **_: Any) -> None:
        if len(lost) < times:
            lost.append(parsed["UploadId"])
            raise error()

    client.meta.events.register("after-call.s3.CreateMultipartUpload", drop)
    return lost


def read_timeout() -> BaseException:
    return botocore.exceptions.ReadTimeoutError(endpoint_url="http://s3.test")


def test_a_retried_start_aborts_the_upload_whose_answer_was_lost(s3: Any, bigfile: Path) -> None:
    lost = lose_create_answers(s3, 1, read_timeout)
    with TransferEngine(s3, cfg()) as engine:
        handle = engine.upload(UploadRequest("v1", bigfile, BUCKET, "k"))
        assert handle.wait(30) == "completed", handle.error
    assert len(lost) == 1
    assert s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == bigfile.read_bytes()
    assert open_uploads(s3) == []


@pytest.mark.parametrize("shrinks", [False, True], ids=["same-file", "now-a-single-put"])
def test_restart_after_a_crash_before_the_create_answer_leaves_one_object(
    s3: Any, bigfile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shrinks: bool
) -> None:
    uid = str(uuid.uuid4())
    db = make_db(tmp_path, monkeypatch, [uid])
    key = f"videos/{uid}/clip.mp4"
    lost = lose_create_answers(s3, 1, Crash)
    engine = TransferEngine(s3, cfg(), UploadRows(db))
    engine.upload(UploadRequest(uid, bigfile, BUCKET, key))
    end = time.monotonic() + 10
    while not lost and time.monotonic() < end:
        time.sleep(0.02)
    engine.close()  # the process is gone; S3 has an upload nobody knows the id of
    assert [u["UploadId"] for u in open_uploads(s3)] == lost
    ledger = UploadRows(db)
    intent = ledger.resume_point(uid)  # an intent, not a multipart upload to go on with
    assert isinstance(intent, Intent) and intent.key == key
    assert row(db, uid)["multipart_upload_id"].startswith("intent:")
    if shrinks:
        bigfile.write_bytes(os.urandom(MIB))

    with TransferEngine(s3, cfg(), ledger) as engine2:
        handle = engine2.upload(UploadRequest(uid, bigfile, BUCKET, key))
        assert handle.wait(30) == "completed", handle.error
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == [key]
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == bigfile.read_bytes()
    assert open_uploads(s3) == []
    assert row(db, uid)["multipart_upload_id"] is None and ledger.resume_point(uid) is None
    ledger.close()


def test_a_start_that_never_got_an_answer_aborts_exactly_its_own_key(
    s3: Any, bigfile: Path
) -> None:
    neighbours = [s3.create_multipart_upload(Bucket=BUCKET, Key=k)["UploadId"]
                  for k in ("k-other", "k/x")]  # under the same prefix, but other keys
    lost = lose_create_answers(s3, 100, read_timeout)
    store = MemoryTransferStore()
    with TransferEngine(s3, cfg(), store) as engine:
        handle = engine.upload(UploadRequest("v1", bigfile, BUCKET, "k"))
        assert handle.wait(30) == "failed"
    assert len(lost) == FAST_RETRY.max_attempts  # each one created an upload in S3
    assert sorted(u["UploadId"] for u in open_uploads(s3)) == sorted(neighbours)
    assert store.resume_point("v1") is None


@pytest.mark.parametrize(
    ("setting", "endpoint", "mode"),
    [
        ("auto", None, "crc32c"),  # AWS checks CRC32C (in hardware here: the cheapest)
        ("auto", "http://127.0.0.1:9000", "md5"),  # a clone may not: its ETag is the MD5
        ("crc32", "http://127.0.0.1:9000", "crc32"),  # MinIO, R2: the creator says so
        ("crc32c", "http://127.0.0.1:9000", "crc32c"),
        ("md5", None, "md5"),
    ],
)
def test_the_part_checksum_setting_chooses_the_engines_mode(
    setting: str, endpoint: str | None, mode: str
) -> None:
    from shorts_desktop.core.config import Settings

    settings = Settings(bucket_name="b", endpoint_url=endpoint, part_checksum=setting)
    client = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint,
                          aws_access_key_id="k", aws_secret_access_key="s")
    with TransferEngine(client, EngineConfig.from_settings(settings)) as engine:
        assert engine.checksum_mode() == mode


def test_upload_here_runs_a_small_file_in_the_callers_thread(
    s3: Any, tmp_path: Path, bigfile: Path
) -> None:
    """No hand-over to a file worker for a single PUT; a file sent in parts still goes to
    the engine's workers (its caller keeps watching it), and pause/cancel reach both."""
    small = tmp_path / "a.txt"
    small.write_bytes(b"said here\n")
    threads: list[str] = []
    s3.meta.events.register("before-send.s3",
                            lambda **_: threads.append(threading.current_thread().name))
    with TransferEngine(s3, cfg()) as engine:
        handle = engine.upload_here(UploadRequest("h1", small, BUCKET, "t/a.txt"))
        assert handle.state == "completed"  # returned when done: it ran here
        assert threads == [threading.current_thread().name]
        threads.clear()
        engine.set_bandwidth_limit(2 * MIB)
        big = engine.upload_here(UploadRequest("h2", bigfile, BUCKET, "t/big"))
        assert big.state in ("queued", "running")  # handed to the workers: not done yet
        assert big.wait_for("running", timeout=10) == "running"
        engine.cancel("h2")
        assert big.wait(30) == "cancelled"
    assert threads and all(name.startswith("transfers-") for name in threads)
    assert s3.get_object(Bucket=BUCKET, Key="t/a.txt")["Body"].read() == b"said here\n"
    assert open_uploads(s3) == []


@pytest.mark.parametrize("mode", ["md5", "crc32", "crc32c"])
@pytest.mark.parametrize("path", ["fast", "botocore"])
def test_a_single_put_carries_the_part_checksum_s3_checks(
    s3: Any, tmp_path: Path, mode: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a CRC mode a small file's PUT carries x-amz-checksum-crc32 or -crc32c (which S3
    verifies) instead of Content-MD5, and no MD5 is computed; otherwise Content-MD5, as
    before. The same through botocore's put_object, where the fast path steps aside."""
    import base64
    import zlib

    import crc32c

    from shorts_desktop.core.transfers import fastput

    if path == "botocore":
        monkeypatch.setattr(fastput.FastPut, "put", lambda *_args, **_kw: None)
    sent: list[Any] = []
    s3.meta.events.register("before-send.s3.PutObject",
                            lambda request, **_: sent.append(dict(request.headers)))
    small = tmp_path / "t.srt"
    small.write_bytes(b"1\n00:00:00,000 --> 00:00:01,000\nhello\n" * 50)
    body = small.read_bytes()
    with TransferEngine(s3, cfg(checksum=mode)) as engine:
        handle = engine.upload(UploadRequest("s1", small, BUCKET, "temp/s1/t.srt"))
        assert handle.wait(10) == "completed", handle.error
    names = {k.lower() for k in sent[-1]}
    value = crc32c.crc32c(body) if mode == "crc32c" else zlib.crc32(body) & 0xFFFFFFFF
    crc = base64.b64encode(value.to_bytes(4, "big")).decode()
    if mode != "md5":
        assert "content-md5" not in names and f"x-amz-checksum-{mode}" in names
        head = s3.head_object(Bucket=BUCKET, Key="temp/s1/t.srt", ChecksumMode="ENABLED")
        assert head[f"Checksum{mode.upper()}"] == crc  # what S3 checked the body against
    else:
        assert "content-md5" in names
        assert not names & {"x-amz-checksum-crc32", "x-amz-checksum-crc32c"}
    assert s3.get_object(Bucket=BUCKET, Key="temp/s1/t.srt")["Body"].read() == body
    assert handle.sha256 == hashlib.sha256(body).hexdigest()


def test_a_single_put_whose_crc32_echo_differs_is_refused_and_removed(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shorts_desktop.core.transfers import fastput

    real = fastput.FastPut.put

    def wrong_echo(self: Any, *args: Any, **kwargs: Any) -> Any:
        answer = real(self, *args, **kwargs)
        return None if answer is None else {**answer, "ChecksumCRC32": "AAAAAA=="}

    monkeypatch.setattr(fastput.FastPut, "put", wrong_echo)
    small = tmp_path / "t.txt"
    small.write_bytes(b"some words\n" * 40)
    with TransferEngine(s3, cfg(checksum="crc32")) as engine:
        handle = engine.upload(UploadRequest("s2", small, BUCKET, "temp/s2/t.txt"))
        assert handle.wait(10) == "failed"
    assert "different" in (handle.error or "")
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=BUCKET, Key="temp/s2/t.txt")
