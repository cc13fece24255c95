"""The local library backend: same contract as S3, kept in a folder."""

from __future__ import annotations

import errno
import hashlib
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shorts_desktop.core.errors import (
    StorageError,
    TransferCancelled,
    TransferPaused,
    UserError,
)
from shorts_desktop.core.storage import local as local_storage
from shorts_desktop.core.storage.base import Storage
from shorts_desktop.core.storage.local import CHUNK_SIZE, LocalStorage

UID = "0f8fad5b-d9cb-469f-a165-70867728950e"
KEY = f"temp/{UID}/clip.mp4"


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def make_file(tmp_path: Path, name: str, data: bytes) -> tuple[Path, str]:
    path = tmp_path / "src" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path, hashlib.md5(data).hexdigest()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "library"


@pytest.fixture(params=["hashed after", "hashed beside"])
def store(root: Path, request: pytest.FixtureRequest,
          monkeypatch: pytest.MonkeyPatch) -> LocalStorage:
    """Every test twice: the file hashed after its copy (small files), and by a thread
    beside it (large ones)."""
    if request.param == "hashed beside":
        monkeypatch.setattr(local_storage, "HASH_BESIDE_MIN", 0)
    return LocalStorage(root)


def put(store: LocalStorage, tmp_path: Path, key: str, data: bytes,
        meta: dict[str, str] | None = None) -> str:
    path, md5 = make_file(tmp_path, key.rsplit("/", 1)[-1], data)
    return store.put_file(path, key, content_type="video/mp4", metadata=meta or {},
                          md5_hex=md5)


def refused_as_changed(store: LocalStorage, root: Path, src: Path, **put: Any) -> None:
    """The put of `src` is refused as a file that changed, and leaves nothing behind."""
    with pytest.raises(StorageError, match="changed while it was being copied"):
        store.put_file(src, KEY, content_type="video/mp4", metadata={},
                       **{"md5_hex": None, **put})
    assert files_under(root) == []


def test_satisfies_protocol_and_creates_nothing_until_used(root: Path) -> None:
    s: Storage = LocalStorage(root)
    assert (s.backend, s.bucket) == ("local", None)
    assert s.describe() == f"local library at {root}"
    assert s.head(KEY) is None
    assert list(s.list_objects("")) == []
    assert not root.exists()


def test_round_trip_with_metadata_and_progress(store: LocalStorage, tmp_path: Path) -> None:
    data = os.urandom(2 * CHUNK_SIZE + 12345)
    src, md5 = make_file(tmp_path, "clip.mp4", data)
    meta = {"upload-id": UID, "kind": "video", "original-name": "My%20clip.mp4"}
    up: list[int] = []
    before = datetime.now(UTC) - timedelta(seconds=5)

    stored = store.put_file(src, KEY, content_type="video/mp4", metadata=meta,
                            md5_hex=md5, progress=up.append)

    sha = hashlib.sha256(data).hexdigest()
    assert stored == sha  # hashed in the read that copied it
    assert up == [CHUNK_SIZE, CHUNK_SIZE, 12345]
    info = store.head(KEY)
    assert info is not None
    assert (info.key, info.size, info.etag, info.metadata) == (
        KEY, len(data), sha, {**meta, "sha256": sha})
    assert info.last_modified.tzinfo is not None
    assert info.last_modified.utcoffset() == timedelta(0)
    assert before <= info.last_modified <= datetime.now(UTC) + timedelta(seconds=5)
    assert list(store.list_objects("temp/")) == [info]

    dest = tmp_path / "out" / "saved.mp4"
    down: list[int] = []
    store.download_file(KEY, dest, progress=down.append, sha256=sha)
    assert dest.read_bytes() == data
    assert sum(down) == len(data)
    assert [p.name for p in dest.parent.iterdir()] == ["saved.mp4"]  # no temp left beside


def test_md5_mismatch_leaves_nothing(store: LocalStorage, root: Path, tmp_path: Path) -> None:
    src, _ = make_file(tmp_path, "clip.mp4", b"the real bytes")
    with pytest.raises(StorageError, match="changed while it was being copied"):
        store.put_file(src, KEY, content_type="video/mp4", metadata={},
                       md5_hex=hashlib.md5(b"other bytes").hexdigest())
    assert store.head(KEY) is None
    assert files_under(root) == []
    assert not (root / "temp").exists()


def test_md5_mismatch_keeps_the_previous_object(store: LocalStorage, tmp_path: Path) -> None:
    put(store, tmp_path, KEY, b"version one", {"v": "1"})
    src, _ = make_file(tmp_path, "other.mp4", b"version two")
    with pytest.raises(StorageError):
        store.put_file(src, KEY, content_type="video/mp4", metadata={"v": "2"},
                       md5_hex="0" * 32)
    info = store.head(KEY)
    assert info is not None and info.metadata["v"] == "1"
    assert store._path(KEY).read_bytes() == b"version one"


def test_cancel_from_progress_leaves_nothing(store: LocalStorage, root: Path,
                                             tmp_path: Path) -> None:
    src, md5 = make_file(tmp_path, "clip.mp4", os.urandom(CHUNK_SIZE + 1))

    def cancel(_: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.put_file(src, KEY, content_type="video/mp4", metadata={}, md5_hex=md5,
                       progress=cancel)
    assert files_under(root) == []


def test_a_copy_is_checked_against_the_sha256_the_caller_knows(
    store: LocalStorage, root: Path, tmp_path: Path
) -> None:
    src, _ = make_file(tmp_path, "clip.mp4", b"the real bytes")
    refused_as_changed(store, root, src,
                       sha256=hashlib.sha256(b"what the duplicate check read").hexdigest())
    stored = store.put_file(src, KEY, content_type="video/mp4", metadata={}, md5_hex=None,
                            sha256=hashlib.sha256(b"the real bytes").hexdigest())
    assert stored == hashlib.sha256(b"the real bytes").hexdigest()


@pytest.mark.parametrize("change", ["rewritten", "cut short", "deleted"])
def test_a_file_changed_while_it_is_copied_is_refused(
    store: LocalStorage, root: Path, tmp_path: Path, change: str
) -> None:
    """Each after the first chunk, with the file's old time kept where it can be."""
    src, _ = make_file(tmp_path, "clip.mp4", os.urandom(4 * CHUNK_SIZE))
    st = src.stat()

    def meanwhile(_: int) -> None:
        if change == "deleted":
            src.unlink(missing_ok=True)
            return
        if change == "rewritten":  # same size, new bytes and time
            with open(src, "r+b") as fh:
                fh.write(b"x" * 16)
            os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
        else:
            os.truncate(src, CHUNK_SIZE + 10)
            os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))

    refused_as_changed(store, root, src, progress=meanwhile,
                       source=(st.st_size, st.st_mtime_ns))


def test_pause_and_cancel_reach_a_running_copy(store: LocalStorage, root: Path,
                                               tmp_path: Path) -> None:
    src, _ = make_file(tmp_path, "clip.mp4", os.urandom(4 * CHUNK_SIZE))
    seen: list[bool] = []

    def pause_after_first(_: int) -> None:
        seen.append(store.sending("tid-1"))
        store.pause_sending("tid-1")

    with pytest.raises(TransferPaused):
        store.put_file(src, KEY, content_type="video/mp4", metadata={}, md5_hex=None,
                       progress=pause_after_first, transfer_id="tid-1")
    assert seen == [True] and not store.sending("tid-1")
    assert files_under(root) == []
    assert not [t for t in threading.enumerate() if t.name == "shorts-desktop-hash"]

    def cancel_after_first(_: int) -> None:
        store.cancel_sending("tid-2")
        store.resume_sending("tid-2")  # a cancel is not undone by a resume

    with pytest.raises(TransferCancelled):
        store.put_file(src, KEY, content_type="video/mp4", metadata={}, md5_hex=None,
                       progress=cancel_after_first, transfer_id="tid-2")
    assert files_under(root) == []

    store.pause_sending("tid-3")  # nothing runs under that id: nothing to remember
    assert store.put_file(src, KEY, content_type="video/mp4", metadata={}, md5_hex=None,
                          transfer_id="tid-3") == hashlib.sha256(src.read_bytes()).hexdigest()


def test_held_and_another_process_asking_stop_a_copy(
    store: LocalStorage, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, _ = make_file(tmp_path, "clip.mp4", os.urandom(3 * CHUNK_SIZE))
    with pytest.raises(TransferPaused):
        store.put_file(src, KEY, content_type="video/mp4", metadata={}, md5_hex=None,
                       held=lambda: True)
    monkeypatch.setattr(local_storage, "CONTROL_POLL", 0.0)  # ask at every chunk
    for wanted, raised in (("pause", TransferPaused), ("cancel", TransferCancelled)):
        asked: list[str] = []

        def control(wanted: str = wanted, asked: list[str] = asked) -> str | None:
            asked.append(wanted)
            return wanted

        with pytest.raises(raised):
            store.put_file(src, KEY, content_type="video/mp4", metadata={}, md5_hex=None,
                           control=control)
        assert asked == [wanted]
    assert files_under(root) == []


def test_a_download_that_is_not_the_stored_file_saves_nothing(
    store: LocalStorage, tmp_path: Path
) -> None:
    put(store, tmp_path, KEY, b"stored bytes")
    dest = tmp_path / "out" / "saved.mp4"
    dest.parent.mkdir()
    with pytest.raises(StorageError, match="does not match its checksum"):
        store.download_file(KEY, dest, sha256="0" * 64)
    assert list(dest.parent.iterdir()) == []


@pytest.mark.parametrize(
    ("err", "message"),
    [(errno.ENOSPC, "The disk is full"), (errno.EACCES, "Permission denied")],
)
def test_os_errors_become_one_sentence(store: LocalStorage, root: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch, err: int,
                                       message: str) -> None:
    src, md5 = make_file(tmp_path, "clip.mp4", b"some bytes")

    def failing_fsync(fd: int) -> None:
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(os, "fsync", failing_fsync)  # the module calls os.fsync
    with pytest.raises(StorageError) as caught:
        store.put_file(src, KEY, content_type="video/mp4", metadata={}, md5_hex=md5)
    monkeypatch.undo()
    text = str(caught.value)
    assert text.startswith(message)
    assert text.endswith(".") and "\n" not in text
    assert files_under(root) == []


def test_a_disk_full_in_the_kernel_copy_is_one_sentence(
    store: LocalStorage, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, _ = make_file(tmp_path, "clip.mp4", os.urandom(3 * CHUNK_SIZE))

    def full(*_args: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "copy_file_range", full, raising=False)
    with pytest.raises(StorageError, match=r"^The disk is full"):
        store.put_file(src, KEY, content_type="video/mp4", metadata={}, md5_hex=None)
    assert files_under(root) == []


@pytest.mark.parametrize("kernel", ["refuses", "absent", "copies nothing"])
def test_where_the_kernel_cannot_copy_the_bytes_pass_through_the_app(
    store: LocalStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel: str
) -> None:
    """Another file system (EXDEV on older kernels) or no copy_file_range (macOS)."""
    data = os.urandom(2 * CHUNK_SIZE + 777)
    src, _ = make_file(tmp_path, "clip.mp4", data)
    if kernel == "absent":
        monkeypatch.delattr(os, "copy_file_range", raising=False)
    elif kernel == "copies nothing":  # as some kernels do for some file systems
        monkeypatch.setattr(os, "copy_file_range", lambda *_args: 0, raising=False)
    else:
        def refuse(*_args: object) -> int:
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

        monkeypatch.setattr(os, "copy_file_range", refuse, raising=False)
    progress: list[int] = []
    stored = store.put_file(src, KEY, content_type="video/mp4", metadata={}, md5_hex=None,
                            progress=progress.append)
    assert stored == hashlib.sha256(data).hexdigest()
    assert store._path(KEY).read_bytes() == data and sum(progress) == len(data)
    dest = tmp_path / "back.mp4"
    store.download_file(KEY, dest, sha256=stored)
    assert dest.read_bytes() == data


def test_missing_source_file_is_a_user_error(store: LocalStorage, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        store.put_file(tmp_path / "gone.mp4", KEY, content_type="video/mp4", metadata={},
                       md5_hex="0" * 32)


@pytest.mark.parametrize(
    "key",
    [
        "../escape.txt",
        f"temp/{UID}/../../../escape.txt",
        "/etc/passwd",
        "C:/Windows/escape.txt",
        "temp\\..\\..\\escape.txt",
        "temp/a\x00b.txt",
        "temp/a\nb.txt",
        "temp//escape.txt",
        "temp/.hidden",
        "temp/",
        "",
    ],
)
def test_keys_that_escape_the_root_are_refused(store: LocalStorage, root: Path,
                                               tmp_path: Path, key: str) -> None:
    src, md5 = make_file(tmp_path, "escape.txt", b"x")
    with pytest.raises(UserError):
        store.put_file(src, key, content_type="text/plain", metadata={}, md5_hex=md5)
    with pytest.raises(UserError):
        store.head(key)
    with pytest.raises(UserError):
        store.delete(key)
    with pytest.raises(UserError):
        store.download_file(key, tmp_path / "dest.txt")
    assert not (tmp_path / "escape.txt").exists()
    assert not root.exists()


def test_delete_is_idempotent_and_prunes_empty_folders(store: LocalStorage, root: Path,
                                                       tmp_path: Path) -> None:
    other = f"temp/{UID}/notes.txt"
    put(store, tmp_path, KEY, b"a")
    put(store, tmp_path, other, b"b")

    store.delete(KEY)
    assert store.head(KEY) is None
    assert (root / "temp" / UID).is_dir()  # still holds notes.txt
    store.delete(KEY)  # again: fine

    store.delete(other)
    assert not (root / "temp").exists()
    assert root.is_dir()  # the root itself stays
    assert list(root.iterdir()) == []
    store.delete("videos/never/existed.mp4")


def test_delete_many_reports_only_failures(store: LocalStorage, tmp_path: Path) -> None:
    a, b = f"temp/{UID}/a.mp4", f"videos/{UID}/b.mp4"
    put(store, tmp_path, a, b"a")
    put(store, tmp_path, b, b"b")
    failed = store.delete_many([a, b, "temp/missing/x.mp4", "../bad"])
    assert failed == ["../bad"]
    assert store.head(a) is None and store.head(b) is None


def test_copy_is_independent_of_the_source(store: LocalStorage, root: Path,
                                           tmp_path: Path) -> None:
    data = b"promote me" * 1000
    put(store, tmp_path, KEY, data, {"is-temp": "true"})
    dst = f"videos/{UID}/clip.mp4"

    store.copy(KEY, dst, content_type="video/mp4", metadata={"is-temp": "false"})

    src_info, dst_info = store.head(KEY), store.head(dst)
    assert src_info is not None and dst_info is not None
    sha = hashlib.sha256(data).hexdigest()
    assert src_info.metadata == {"is-temp": "true", "sha256": sha}
    assert dst_info.metadata == {"is-temp": "false", "sha256": sha}
    assert dst_info.etag == sha
    assert dst_info.size == len(data)
    assert os.stat(store._path(dst)).st_ino != os.stat(store._path(KEY)).st_ino
    store.delete(KEY)
    assert store._path(dst).read_bytes() == data
    assert [o.key for o in store.list_objects("")] == [dst]


def test_copy_and_download_of_missing_key_fail(store: LocalStorage, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="not in the local library"):
        store.copy(KEY, f"videos/{UID}/clip.mp4", content_type="video/mp4", metadata={})
    with pytest.raises(StorageError, match="not in the local library"):
        store.download_file(KEY, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_presigned_url_is_refused(store: LocalStorage, tmp_path: Path) -> None:
    put(store, tmp_path, KEY, b"x")
    with pytest.raises(UserError) as caught:
        store.presigned_url(KEY, 3600)
    assert str(caught.value) == (
        "Share links need an S3 bucket; files in the local library have no web address."
    )


def test_check_rows_all_ok_and_leave_nothing(store: LocalStorage, root: Path) -> None:
    rows = store.check("temp/")
    assert [r.name for r in rows] == ["folder", "write", "read", "delete"]
    assert all(r.ok for r in rows), rows
    assert all(r.detail for r in rows)
    assert root.is_dir()
    assert list(root.iterdir()) == []


def test_check_reports_an_unusable_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the library should be")
    rows = LocalStorage(blocker).check("temp/")
    assert [(r.name, r.ok) for r in rows] == [
        ("folder", False), ("write", False), ("read", False), ("delete", False)
    ]


def test_list_excludes_sidecars_and_temp_files(store: LocalStorage, root: Path,
                                               tmp_path: Path) -> None:
    keys = [f"temp/{UID}/b.mp4", f"temp/{UID}/a.txt", f"videos/{UID}/c.mp4",
            "processed/job-1/out.mp4"]
    for k in keys:
        put(store, tmp_path, k, k.encode())
    stray = root / "temp" / UID / ".b.mp4.1234.part"
    stray.write_bytes(b"half a file")

    on_disk = {p.name for p in files_under(root)}
    assert ".b.mp4.meta.json" in on_disk and stray.name in on_disk

    listed = list(store.list_objects(""))
    assert [o.key for o in listed] == sorted(keys)
    assert all(not o.key.rsplit("/", 1)[-1].startswith(".") for o in listed)
    assert [o.key for o in store.list_objects("temp/")] == sorted(keys[:2])
    assert [o.key for o in store.list_objects(f"temp/{UID}/a")] == [keys[1]]
    assert [o.key for o in store.list_objects("vid")] == [keys[2]]
    assert list(store.list_objects("nothing/here/")) == []
    assert {o.key: o.size for o in listed}[keys[0]] == len(keys[0])


def test_s3_only_features(store: LocalStorage, root: Path) -> None:
    assert store.list_multipart_uploads() == []
    store.abort_multipart(KEY, "upload-1")
    assert store.get_lifecycle_rules() == []
    with pytest.raises(UserError, match="S3"):
        store.put_lifecycle_rules([{"ID": "expire-temp"}])
    assert not root.exists()
