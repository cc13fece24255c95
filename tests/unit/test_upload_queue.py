"""The upload queue: paused files hold no thread, and resuming continues where they were."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import peewee
import pytest

from shorts_desktop.core.db.models import Upload
from shorts_desktop.core.services.upload_queue import QueueEvent, QueueItem, UploadQueue
from tests import media_gen

if TYPE_CHECKING:
    from conftest import Env, Media

MIB = 1024 * 1024


@pytest.fixture
def make_queue() -> Iterator[Callable[[Env], UploadQueue]]:
    queues: list[UploadQueue] = []

    def make(env: Env) -> UploadQueue:
        queue = UploadQueue(env.uploads, files_in_flight=1)
        queues.append(queue)
        return queue

    yield make
    for queue in queues:
        queue.shutdown()


def wait_until(queue: UploadQueue, condition: Callable[[], bool],
               timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            held = {i.name: (i.state, i.bytes_done, i.error) for i in queue.items()}
            raise AssertionError(f"timed out; the queue holds {held}")
        time.sleep(0.01)


def states(queue: UploadQueue) -> dict[str, str]:
    return {item.name: item.state for item in queue.items()}


def by_name(queue: UploadQueue, name: str) -> QueueItem:
    return next(item for item in queue.items() if item.name == name)


def sending(queue: UploadQueue, name: str) -> bool:
    """The engine is sending the file (its parts wait on the bandwidth limit)."""
    upload_id = by_name(queue, name).upload_id
    engine = queue.uploads.storage.transfers
    handle = engine.get(upload_id) if engine is not None and upload_id else None
    return handle is not None and handle.state == "running"


def start_slow_upload(queue: UploadQueue, path: Path, rate: int) -> QueueItem:
    """Queue `path` with the engine held to `rate` bytes/s; returns once it is sending."""
    queue.uploads.storage.transfers.set_bandwidth_limit(rate)
    item = queue.add_file(path, "video")
    wait_until(queue, lambda: sending(queue, path.name))
    return item


def test_a_videos_thumbnail_is_news_while_it_is_still_being_sent(
    s3_env: Env, media: Media, make_queue: Callable[[Env], UploadQueue]
) -> None:
    """The picture is made beside the sending, stored at once and told as a `thumbnail`
    event (the window's library reloads on it), long before the upload ends."""
    queue = make_queue(s3_env)
    media.folder.mkdir(parents=True, exist_ok=True)
    clip = media_gen.small_clip(media.folder / "long take.mp4", duration=1.0)
    with clip.open("ab") as f:  # a free box (skipped by players) makes it slow to send
        f.write((8 + 6 * MIB).to_bytes(4, "big") + b"free" + os.urandom(6 * MIB))
    events: list[QueueEvent] = []
    queue.subscribe(events.append)
    start_slow_upload(queue, clip, 1 * MIB)
    wait_until(queue, lambda: any(e.kind == "thumbnail" for e in events))
    row = Upload.get_by_id(by_name(queue, clip.name).upload_id)
    assert row.status == "uploading" and bytes(row.thumbnail)[:2] == b"\xff\xd8"
    assert by_name(queue, clip.name).state == "uploading"
    s3_env.storage.transfers.set_bandwidth_limit(0)
    wait_until(queue, lambda: states(queue)[clip.name] == "completed")
    assert [e.kind for e in events].count("thumbnail") == 1


def test_paused_uploads_give_their_threads_back(
    s3_env: Env, media: Media, make_queue: Callable[[Env], UploadQueue]
) -> None:
    """More files paused mid-send than the queue has threads: a new file still goes through,
    and resuming them continues every one to a complete, correct object."""
    queue = make_queue(s3_env)
    engine = s3_env.storage.transfers
    engine.set_bandwidth_limit(1 * MIB)  # slow enough to pause them while they send
    big = [media.mp4(f"take-{n}.mp4", size=6 * MIB) for n in range(queue.worker_threads + 2)]
    for path in big:
        queue.add_file(path, "video")
    wait_until(queue, lambda: sending(queue, big[0].name))
    queue.pause_all()
    wait_until(queue, lambda: set(states(queue).values()) == {"paused"})
    # Every worker has let go of its paused file (none is parked waiting on it).
    wait_until(queue, lambda: not any(c.attached for c in queue._controls.values()))
    assert engine.get(by_name(queue, big[0].name).upload_id or "").state == "paused"

    note = media.write("note.txt", b"Said while the others wait.\n")
    queue.resume_all()
    queue.pause_all()  # and hold them again, at once
    queue.add_file(note, "transcript")  # added while everything is paused: it waits too
    queue.resume(by_name(queue, "note.txt").item_id)
    wait_until(queue, lambda: states(queue)["note.txt"] == "completed")
    assert all(state == "paused" for name, state in states(queue).items() if name != "note.txt")
    assert {row.status for row in Upload.select() if row.original_name != "note.txt"} <= {
        "paused", "uploading"}

    engine.set_bandwidth_limit(0)
    queue.resume_all()
    wait_until(queue, lambda: set(states(queue).values()) == {"completed"}, timeout=60)
    for path in big:
        item = by_name(queue, path.name)
        row = Upload.get_by_id(item.upload_id)
        assert row.status == "completed"
        assert item.bytes_done == path.stat().st_size
        assert s3_env.raw_get(row.key) == path.read_bytes()
    assert s3_env.storage.list_multipart_uploads("") == []


def test_resume_while_pausing_never_loses_the_upload(
    s3_env: Env, media: Media, make_queue: Callable[[Env], UploadQueue]
) -> None:
    """Pause and resume in quick succession, again and again: the file still completes once."""
    queue = make_queue(s3_env)
    rates: list[float] = []
    queue.subscribe(lambda e: rates.append(e.item.rate) if e.kind == "progress" and e.item
                    else None)
    path = media.mp4("flicker.mp4", size=8 * MIB)
    item = start_slow_upload(queue, path, 4 * MIB)
    for pause in range(20):
        queue.pause(item.item_id)
        if pause % 2:
            time.sleep(0.02)  # sometimes the worker has let go by now, sometimes not
        queue.resume(item.item_id)
    wait_until(queue, lambda: by_name(queue, path.name).bytes_done >= 5 * MIB)
    # The rate is what moves now, not what was sent before a resume counted as instant.
    assert rates and max(rates) < 16 * MIB
    s3_env.storage.transfers.set_bandwidth_limit(0)
    wait_until(queue, lambda: by_name(queue, path.name).state == "completed")
    row = Upload.get_by_id(by_name(queue, path.name).upload_id)
    assert row.status == "completed"
    assert s3_env.raw_get(row.key) == path.read_bytes()
    assert s3_env.storage.list_multipart_uploads("") == []


def test_cancelling_a_paused_upload_removes_what_it_sent(
    s3_env: Env, media: Media, make_queue: Callable[[Env], UploadQueue]
) -> None:
    queue = make_queue(s3_env)
    engine = s3_env.storage.transfers
    path = media.mp4("dropped.mp4", size=16 * MIB)
    item = start_slow_upload(queue, path, 1 * MIB)
    queue.pause(item.item_id)
    wait_until(queue, lambda: not queue._controls[item.item_id].attached)
    upload_id = by_name(queue, path.name).upload_id
    assert upload_id is not None and engine.get(upload_id).state == "paused"
    assert Upload.get_by_id(upload_id).status == "paused"
    queue.cancel(item.item_id)
    wait_until(queue, lambda: by_name(queue, path.name).state == "cancelled")
    row = Upload.get_by_id(by_name(queue, path.name).upload_id)
    wait_until(queue, lambda: Upload.get_by_id(row.id).status == "cancelled")
    wait_until(queue, lambda: s3_env.storage.list_multipart_uploads("") == [])
    assert s3_env.keys() == []


def test_pause_and_cancel_reach_a_copy_into_the_local_library(
    local_env: Env, media: Media, make_queue: Callable[[Env], UploadQueue],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The queue stops a local copy through the storage, as it does the engine: paused, it
    lets its worker go and leaves nothing; resumed, it copies again from the start;
    cancelled, it ends cancelled with nothing in the library."""
    from shorts_desktop.core.storage import local as local_storage

    copy_file = local_storage._copy_file

    def slow_copy(src: int, dst: int, size: int, progress: Any, digests: Any) -> int:
        def every_chunk(delta: int) -> None:
            time.sleep(0.02)  # a slow disk: long enough to pause mid-copy
            if progress is not None:
                progress(delta)
        return copy_file(src, dst, size, every_chunk, digests)

    monkeypatch.setattr(local_storage, "_copy_file", slow_copy)
    queue = make_queue(local_env)
    root = local_env.storage.root
    stored_files = lambda: [p for p in root.rglob("*") if p.is_file()]  # noqa: E731
    path = media.mp4("long take.mp4", size=24 * MIB)
    item = queue.add_file(path, "video")
    wait_until(queue, lambda: by_name(queue, path.name).bytes_done > 0)
    queue.pause(item.item_id)
    wait_until(queue, lambda: not queue._controls[item.item_id].attached)
    paused = by_name(queue, path.name)
    assert paused.state == "paused" and paused.bytes_done == 0  # what it copied is gone
    assert Upload.get_by_id(paused.upload_id).status == "paused"
    assert stored_files() == []
    queue.resume(item.item_id)
    wait_until(queue, lambda: by_name(queue, path.name).state == "completed", timeout=60)
    row = Upload.get_by_id(by_name(queue, path.name).upload_id)
    assert row.status == "completed" and local_env.raw_get(row.key) == path.read_bytes()

    other = media.mp4("second take.mp4", size=24 * MIB)
    item = queue.add_file(other, "video")
    wait_until(queue, lambda: by_name(queue, other.name).bytes_done > 0)
    queue.cancel(item.item_id)
    wait_until(queue, lambda: by_name(queue, other.name).state == "cancelled")
    assert Upload.get_by_id(by_name(queue, other.name).upload_id).status == "cancelled"
    name = Path(str(row.key)).name  # only the first take and its sidecar
    assert sorted(p.name for p in stored_files()) == [f".{name}.meta.json", name]


def test_files_added_while_paused_wait_without_threads_and_then_complete(
    env: Env, media: Media, make_queue: Callable[[Env], UploadQueue]
) -> None:
    queue = make_queue(env)
    queue.pause_all()
    paths = [media.mp4(f"clip-{n:02d}.mp4") for n in range(queue.worker_threads * 3)]
    for path in paths:
        queue.add_file(path, "video")
    assert set(states(queue).values()) == {"paused"}
    assert not any(c.attached for c in queue._controls.values())
    assert Upload.select().count() == 0  # nothing is recorded before it is let through
    queue.resume_all()
    wait_until(queue, lambda: set(states(queue).values()) == {"completed"})
    stored = {Upload.get_by_id(i.upload_id).original_name for i in queue.items()}
    assert stored == {p.name for p in paths}
    assert len(env.keys()) == len(paths)


def test_a_file_sent_in_one_go_completes_with_all_its_bytes_and_no_progress_in_between(
    env: Env, media: Media, make_queue: Callable[[Env], UploadQueue]
) -> None:
    """A small file's only progress report is the whole file: "completed" carries it."""
    path = media.mp4("short.mp4")
    queue = make_queue(env)
    seen: list[tuple[str, str, int]] = []
    queue.subscribe(lambda e: seen.append((e.kind, e.item.state, e.item.bytes_done))
                    if e.item is not None else None)
    queue.add_file(path, "video")
    wait_until(queue, lambda: states(queue) == {"short.mp4": "completed"})
    size = path.stat().st_size
    assert [kind for kind, _, _ in seen].count("progress") == 0
    assert seen[-1] == ("state", "completed", size)
    assert all(done <= size for _, _, done in seen)


def test_a_restored_upload_that_another_process_finished_is_completed(
    env: Env, media: Media, make_queue: Callable[[Env], UploadQueue]
) -> None:
    """The window restores an upload the CLI is still sending; the CLI finishes it first."""
    path = media.mp4("elsewhere.mp4")
    upload, sums = env.uploads.create(path, "video")  # another process began it
    queue = make_queue(env)
    queue.pause_all()
    (item,) = queue.restore()
    assert item.upload_id == upload.id
    env.uploads.send(upload, path, sums)  # ... and finished it
    queue.resume_all()
    wait_until(queue, lambda: by_name(queue, path.name).state == "completed")
    done = by_name(queue, path.name)
    assert done.error is None and done.upload is not None
    assert done.upload["status"] == "completed"
    assert len(env.keys()) == 1


@pytest.mark.parametrize("sent_before", [False, True], ids=["new", "resumed"])
def test_a_pause_just_before_the_worker_sends_still_holds_the_upload(
    s3_env: Env, media: Media, make_queue: Callable[[Env], UploadQueue], sent_before: bool
) -> None:
    """Paused in the instant before its worker hands the file to the engine (a new file, or
    one resumed after a pause): the engine must not send it while the queue shows it paused."""
    queue = make_queue(s3_env)
    engine = s3_env.storage.transfers
    engine.set_bandwidth_limit(1 * MIB)
    path = media.mp4("held.mp4", size=6 * MIB)
    about_to_send, paused = threading.Event(), threading.Event()
    real_send = queue.uploads.send

    def send_after_a_pause(*args: Any, **kwargs: Any) -> Upload:
        about_to_send.set()
        assert paused.wait(10)
        return real_send(*args, **kwargs)

    if sent_before:
        item = start_slow_upload(queue, path, 1 * MIB)
        queue.pause(item.item_id)
        wait_until(queue, lambda: not queue._controls[item.item_id].attached)
        queue.uploads.send = send_after_a_pause  # type: ignore[method-assign]
        queue.resume(item.item_id)
    else:
        queue.uploads.send = send_after_a_pause  # type: ignore[method-assign]
        item = queue.add_file(path, "video")
    assert about_to_send.wait(10)
    queue.pause(item.item_id)
    paused.set()
    wait_until(queue, lambda: not queue._controls[item.item_id].attached)
    upload_id = by_name(queue, path.name).upload_id or ""
    assert engine.get(upload_id).state == "paused"
    sent = engine.get(upload_id).bytes_done
    time.sleep(1.0)
    assert engine.get(upload_id).bytes_done == sent  # nothing moves while it shows paused
    assert by_name(queue, path.name).state == "paused"
    assert Upload.get_by_id(upload_id).status == "paused"
    queue.uploads.send = real_send  # type: ignore[method-assign]
    engine.set_bandwidth_limit(0)
    queue.resume(item.item_id)
    wait_until(queue, lambda: by_name(queue, path.name).state == "completed")
    assert s3_env.raw_get(Upload.get_by_id(upload_id).key) == path.read_bytes()


def test_closing_the_storage_mid_send_lets_every_worker_go(
    s3_env: Env, media: Media, make_queue: Callable[[Env], UploadQueue]
) -> None:
    """The window closes while a file is sending: the worker thread ends (the process can
    exit) and the upload stays resumable for the next start."""
    queue = make_queue(s3_env)
    path = media.mp4("closing.mp4", size=8 * MIB)
    item = start_slow_upload(queue, path, 1 * MIB)
    queue.shutdown()
    s3_env.storage.close()
    deadline = time.monotonic() + 10
    while any(t.name.startswith("shorts-desktop-upload") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "an upload worker is still waiting on the engine"
        time.sleep(0.05)
    row = Upload.get_by_id(by_name(queue, path.name).upload_id)
    assert row.status == "uploading"  # not paused: the next start sends it on by itself
    assert by_name(queue, path.name).state != "failed", item


def test_a_full_disk_reads_as_one_on_the_row(
    local_env: Env, media: Media, make_queue: Callable[[Env], UploadQueue],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database cannot grow while a file is recorded: the row says why, not "Unexpected"."""
    queue = make_queue(local_env)

    def full(*_a: Any, **_k: Any) -> Any:
        try:  # as peewee raises it: its own class, with SQLite's error as the context
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.OperationalError:
            raise peewee.OperationalError("database or disk is full")  # noqa: B904

    monkeypatch.setattr(queue.uploads, "create", full)
    path = media.mp4("full.mp4")
    queue.add_file(path, "video")
    wait_until(queue, lambda: states(queue)["full.mp4"] == "failed")
    error = by_name(queue, "full.mp4").error or ""
    assert "disk is full" in error and "Unexpected" not in error


def test_files_wait_in_line_without_a_thread_or_a_row_until_a_slot_frees(
    s3_env: Env, media: Media
) -> None:
    """Two slots: the others wait in line (no worker, no row); one cancelled or paused
    while it waits is handled at once, and the rest go through in the order added."""
    queue = UploadQueue(s3_env.uploads, files_in_flight=2)
    try:
        engine = s3_env.storage.transfers
        engine.set_bandwidth_limit(2 * MIB)
        paths = [media.mp4(f"clip-{n}.mp4", size=3 * MIB) for n in range(6)]
        for path in paths:
            queue.add_file(path, "video")
        wait_until(queue, lambda: sending(queue, "clip-0.mp4") and sending(queue, "clip-1.mp4"))
        assert {row.original_name for row in Upload.select()} == {"clip-0.mp4", "clip-1.mp4"}
        assert list(queue._line) == [by_name(queue, f"clip-{n}.mp4").item_id for n in (2, 3, 4, 5)]
        assert threading.active_count() < 30  # not a thread parked per waiting file

        queue.cancel(by_name(queue, "clip-3.mp4").item_id)
        wait_until(queue, lambda: states(queue)["clip-3.mp4"] == "cancelled")
        queue.pause(by_name(queue, "clip-4.mp4").item_id)
        assert states(queue)["clip-4.mp4"] == "paused"
        assert list(queue._line) == [by_name(queue, f"clip-{n}.mp4").item_id for n in (2, 5)]

        engine.set_bandwidth_limit(0)
        wait_until(queue, lambda: all(states(queue)[f"clip-{n}.mp4"] == "completed"
                                      for n in (0, 1, 2, 5)))
        assert states(queue)["clip-4.mp4"] == "paused"
        queue.resume(by_name(queue, "clip-4.mp4").item_id)
        wait_until(queue, lambda: states(queue)["clip-4.mp4"] == "completed")
        rows = {row.original_name: row.status for row in Upload.select()}
        assert rows == {f"clip-{n}.mp4": "completed" for n in (0, 1, 2, 4, 5)}  # 3: no row
        assert len(s3_env.keys()) == 5 and queue._slots_taken == 0
    finally:
        queue.shutdown()



def test_a_transcript_paused_as_the_lane_takes_it_is_held_and_its_row_says_so(
    s3_env: Env, media: Media, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pause lands between the lane writing the file's row and marking it uploading:
    the queue shows it paused, its row says paused (a restart holds it), and resuming
    sends it."""
    queue = UploadQueue(s3_env.uploads, files_in_flight=2)
    path = media.transcript("voiceover.txt")
    real = s3_env.uploads.create_many

    def create_then_pause(checked: list[Any]) -> list[Any]:
        made = real(checked)
        queue.pause(by_name(queue, path.name).item_id)
        return made

    monkeypatch.setattr(s3_env.uploads, "create_many", create_then_pause)
    try:
        item = queue.add_file(path, "transcript", content_type="text/plain",
                              size=path.stat().st_size)
        wait_until(queue, lambda: by_name(queue, path.name).upload_id is not None
                   and by_name(queue, path.name).state == "paused")
        upload_id = by_name(queue, path.name).upload_id
        assert Upload.get_by_id(upload_id).status == "paused"
        queue.resume(item.item_id)
        wait_until(queue, lambda: by_name(queue, path.name).state == "completed")
    finally:
        queue.shutdown()
    assert Upload.get_by_id(upload_id).status == "completed"
