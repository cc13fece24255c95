"""HashAhead: files hashed last first on a thread, each taken by its send once."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from shorts_desktop.core.services import hash_ahead
from shorts_desktop.core.services.hash_ahead import HashAhead, Head

KIB = 1024


def write(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def rest_of(head: Head, path: Path) -> str:
    """The file's SHA-256 continued from `head` over the bytes after it."""
    sha = head.sha.copy()
    sha.update(path.read_bytes()[head.length:])
    return str(sha.hexdigest())


class Gate:
    """Holds each SHA-256 update of the hashing thread until it is let through."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.permits = threading.Semaphore(0)
        self.updates = 0
        gate = self
        real = hashlib.sha256

        class Held:
            def __init__(self) -> None:
                self.sha = real()

            def update(self, data: Any) -> None:
                gate.permits.acquire()
                gate.updates += 1
                self.sha.update(data)

            def copy(self) -> Any:
                return self.sha.copy()

            def hexdigest(self) -> str:
                return str(self.sha.hexdigest())

        monkeypatch.setattr(hash_ahead, "hashlib", SimpleNamespace(sha256=Held))

    def let(self, n: int) -> None:
        for _ in range(n):
            self.permits.release()


def test_files_and_folders_are_hashed_last_first_and_claimed_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "clips"
    inside = [write(folder / f"{n}.txt", 3000 + n) for n in range(3)]
    write(folder / ".hidden.txt", 10)  # left out, as the intake leaves it out
    named = write(tmp_path / "talk.srt", 5000)
    order: list[str] = []
    real = HashAhead._hash

    def recorded(self: HashAhead, path: Path, buffer: memoryview) -> Any:
        order.append(path.name)
        return real(self, path, buffer)

    monkeypatch.setattr(HashAhead, "_hash", recorded)
    ahead = HashAhead([named, folder])
    ahead.join(10)
    assert ahead.ended
    assert order == ["2.txt", "1.txt", "0.txt", "talk.srt"]
    for path in [named, *inside]:
        head = ahead.claim(path, *stamp(path))
        assert head is not None and head.whole
        assert head.hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()
        assert ahead.claim(path, *stamp(path)) is None  # taken once


def test_a_file_claimed_before_its_turn_is_left_to_its_send(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, last = write(tmp_path / "a.txt", 4000), write(tmp_path / "b.txt", 4000)
    gate = Gate(monkeypatch)
    ahead = HashAhead([first, last])  # b first: its update waits at the gate
    assert ahead.claim(first, *stamp(first)) is None
    gate.let(10)
    ahead.join(10)
    assert gate.updates == 1  # b's only: a was its send's before its turn came
    head = ahead.claim(last, *stamp(last))
    assert head is not None and head.hexdigest() == hashlib.sha256(last.read_bytes()).hexdigest()


def test_a_file_changed_since_it_was_hashed_is_not_taken(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", 4000)
    ahead = HashAhead([path])
    ahead.join(10)
    _, mtime = stamp(path)
    path.write_bytes(os.urandom(4000))  # the same size
    os.utime(path, ns=(mtime + 1_000_000, mtime + 1_000_000))
    assert ahead.claim(path, *stamp(path)) is None
    assert ahead.claim(write(tmp_path / "never.txt", 10), 10, 0) is None  # never named


def test_a_hash_under_way_is_handed_over_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claimed while its file is being hashed, the hash stops after its chunk and the
    claim gets it: the send hashes only the rest."""
    path = write(tmp_path / "big.mp4", 64 * KIB * 16)
    gate = Gate(monkeypatch)
    ahead = HashAhead([path], chunk=64 * KIB)
    gate.let(1)
    got: list[Head | None] = []
    claiming = threading.Thread(target=lambda: got.append(ahead.claim(path, *stamp(path))))
    claiming.start()
    while claiming.is_alive():  # one chunk at a time, until the claim is answered
        gate.let(1)
        claiming.join(0.02)
    head = got[0]
    assert head is not None and not head.whole
    assert head.length % (64 * KIB) == 0 and head.length > 0
    assert rest_of(head, path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_stopped_it_hashes_no_more_and_keeps_what_it_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big, other = write(tmp_path / "b.mp4", 64 * KIB * 8), write(tmp_path / "a.txt", 100)
    gate = Gate(monkeypatch)
    ahead = HashAhead([other, big], chunk=64 * KIB)
    gate.let(3)
    while gate.updates < 3:
        threading.Event().wait(0.005)
    ahead.stop()
    gate.let(100)
    ahead.join(10)
    assert gate.updates in (3, 4)  # the chunk under way ends; no other file is begun
    head = ahead.claim(big, *stamp(big))
    assert head is not None and head.length == gate.updates * 64 * KIB
    assert rest_of(head, big) == hashlib.sha256(big.read_bytes()).hexdigest()
    assert ahead.claim(other, *stamp(other)) is None
