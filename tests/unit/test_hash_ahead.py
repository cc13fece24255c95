"""HashAhead: small files hashed last first on a thread, each taken by its send once."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from shorts_desktop.core.services import hash_ahead
from shorts_desktop.core.services.hash_ahead import HashAhead


def write(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Gate:
    """Holds each hash the thread makes until it is let through; counts the hashes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.permits = threading.Semaphore(0)
        self.started = threading.Event()
        self.hashed: list[int] = []
        gate = self

        def sha256(data: Any) -> Any:
            gate.started.set()
            gate.permits.acquire()
            gate.hashed.append(len(data))
            return hashlib.sha256(data)

        monkeypatch.setattr(hash_ahead, "hashlib", SimpleNamespace(sha256=sha256))

    def let(self, n: int) -> None:
        for _ in range(n):
            self.permits.release()


def test_files_and_folders_are_hashed_last_first_and_claimed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "clips"
    inside = [write(folder / f"{n}.txt", 3000 + n) for n in range(3)]
    write(folder / ".hidden.txt", 10)  # left out, as the intake leaves it out
    named = write(tmp_path / "talk.srt", 5000)
    order: list[str] = []
    real = HashAhead._hash

    def recorded(self: HashAhead, path: Path) -> Any:
        order.append(path.name)
        return real(self, path)

    monkeypatch.setattr(HashAhead, "_hash", recorded)
    ahead = HashAhead([named, folder])
    ahead.join(10)
    assert ahead.ended
    assert order == ["2.txt", "1.txt", "0.txt", "talk.srt"]
    for path in [named, *inside]:
        assert ahead.claim(path, *stamp(path)) == sha(path)
        assert ahead.claim(path, *stamp(path)) is None  # taken once


def test_a_file_over_the_largest_size_is_left_to_its_send(tmp_path: Path) -> None:
    small, big = write(tmp_path / "a.txt", 4096), write(tmp_path / "b.mp4", 4097)
    ahead = HashAhead([small, big], largest=4096)
    ahead.join(10)
    assert ahead.claim(big, *stamp(big)) is None
    assert ahead.claim(small, *stamp(small)) == sha(small)


def test_a_file_claimed_before_its_turn_is_left_to_its_send(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, last = write(tmp_path / "a.txt", 4000), write(tmp_path / "b.txt", 4000)
    gate = Gate(monkeypatch)
    ahead = HashAhead([first, last])  # b first: its hash waits at the gate
    assert gate.started.wait(10)
    assert ahead.claim(first, *stamp(first)) is None
    gate.let(10)
    ahead.join(10)
    assert gate.hashed == [4000]  # b's only: a was its send's before its turn came
    assert ahead.claim(last, *stamp(last)) == sha(last)


def test_a_claim_while_its_file_is_hashed_waits_for_the_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "a.txt", 50_000)
    gate = Gate(monkeypatch)
    ahead = HashAhead([path])
    assert gate.started.wait(10)  # read, and being hashed
    got: list[str | None] = []
    claiming = threading.Thread(target=lambda: got.append(ahead.claim(path, *stamp(path))))
    claiming.start()
    claiming.join(0.05)
    assert claiming.is_alive() and got == []  # it waits for the hash under way
    gate.let(1)
    claiming.join(10)
    assert got == [sha(path)]


def test_a_file_changed_since_it_was_hashed_is_not_taken(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", 4000)
    ahead = HashAhead([path])
    ahead.join(10)
    _, mtime = stamp(path)
    path.write_bytes(os.urandom(4000))  # the same size
    os.utime(path, ns=(mtime + 1_000_000, mtime + 1_000_000))
    assert ahead.claim(path, *stamp(path)) is None
    assert ahead.claim(write(tmp_path / "never.txt", 10), 10, 0) is None  # never named


def test_stopped_it_begins_no_other_file_and_keeps_what_it_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, last = write(tmp_path / "a.txt", 100), write(tmp_path / "b.txt", 200)
    gate = Gate(monkeypatch)
    ahead = HashAhead([first, last])
    assert gate.started.wait(10)  # b is being hashed
    ahead.stop()
    gate.let(10)
    ahead.join(10)
    assert gate.hashed == [200]
    assert ahead.claim(last, *stamp(last)) == sha(last)
    assert ahead.claim(first, *stamp(first)) is None


def test_known_hashes_give_each_hash_once_and_only_for_the_file_hashed(tmp_path: Path) -> None:
    from shorts_desktop.core.services.hash_ahead import KnownHashes

    a, b = write(tmp_path / "a.txt", 5000), write(tmp_path / "b.txt", 6000)
    known = KnownHashes()
    known.remember(a, *stamp(a), "look-up's")
    ahead = HashAhead([a, b])
    ahead.join(10)
    known.add(ahead)
    # the look-up's hash comes first, once; then the one made ahead, once; then none
    assert known.take(a, a.stat()) == "look-up's"
    assert known.take(a, a.stat()) == sha(a)
    assert known.take(a, a.stat()) is None
    # a file written since it was hashed gets no hash: its send hashes what it reads
    known.remember(b, *stamp(b), "stale")
    b.write_bytes(os.urandom(6001))
    assert known.take(b, b.stat()) is None


def test_known_hashes_keep_the_newest_aheads_and_stop_the_older(tmp_path: Path) -> None:
    from shorts_desktop.core.services.hash_ahead import KnownHashes

    known = KnownHashes()
    aheads = [HashAhead([]) for _ in range(5)]
    for ahead in aheads:
        ahead.join(10)
    stopped = []
    for n, ahead in enumerate(aheads):
        ahead.stop = lambda n=n: stopped.append(n)  # type: ignore[method-assign]
        known.add(ahead)
    assert stopped == [0]  # four kept (three before the newest), the oldest stopped
    known.add(HashAhead([]))
    assert stopped == [0, 1]
