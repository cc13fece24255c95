"""The SHA-256 of small files about to be uploaded, made ahead of their sends on a thread.

A small file's send hashes it on the one thread that sends every small file (the lane),
and a process that uploads spends its first tenths of a second on one core (imports,
clients, the files' checks, the GIL held) while the other idles. Reads and SHA-256 let
the GIL go, so a thread hashing the files meanwhile runs on the idle core. It starts from
the last file while the sends start from the first: they meet in the middle, and no file
is hashed twice. A send takes a file's hash (`claim`) only while the file is what was
hashed (size and modification time). Files over `LARGEST` are left to their sends:
measured, hashing a 1 GiB video ahead while the app starts (the GIL taken in turns)
saved no time and cost CPU.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import threading
from collections.abc import Iterable
from pathlib import Path

from shorts_desktop.core.services.intake import expand_folders

log = logging.getLogger(__name__)

#: The largest file hashed ahead (in one read and one hash update).
LARGEST = 16 * 1024 * 1024


class HashAhead:
    """Hashes the small files named (folders expanded as the intake expands them), last
    first."""

    def __init__(self, paths: Iterable[Path], *, largest: int = LARGEST) -> None:
        self._paths = list(paths)
        self._largest = largest
        self._cond = threading.Condition()
        self._hashed: dict[str, tuple[int, int, str]] = {}  # path: (size, mtime_ns, hex)
        self._claimed: set[str] = set()
        self._current: str | None = None
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="shorts-desktop-hash-ahead",
                                        daemon=True)
        self._thread.start()

    def claim(self, path: Path | str, size: int, mtime_ns: int) -> str | None:
        """The file's SHA-256 (hex) if it was hashed and is still (`size`, `mtime_ns`);
        from now on the file is its send's: one being hashed is waited for (one small
        file's read and hash at most), one not begun is not begun."""
        key = os.path.abspath(path)
        with self._cond:
            self._claimed.add(key)
            while self._current == key:
                self._cond.wait()
            hashed = self._hashed.pop(key, None)
        if hashed is None or hashed[:2] != (size, mtime_ns):
            return None
        return hashed[2]

    def stop(self) -> None:
        """Begin no other file (what was hashed can still be claimed)."""
        with self._cond:
            self._ended = True

    @property
    def ended(self) -> bool:
        """The thread is done, or was stopped."""
        with self._cond:
            return self._ended

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            found, _notes = expand_folders(self._paths)
            for path in reversed(found):
                key = os.path.abspath(path)
                with self._cond:
                    if self._ended:
                        return
                    if key in self._claimed:
                        continue
                    self._current = key
                hashed: tuple[int, int, str] | None = None
                with contextlib.suppress(OSError):  # gone, unreadable: its check says so
                    hashed = self._hash(path)
                with self._cond:
                    self._current = None
                    if hashed is not None:
                        self._hashed[key] = hashed
                    self._cond.notify_all()
        except Exception:  # only speed is lost: each send hashes its own file
            log.warning("hashing ahead stopped", exc_info=True)
        finally:
            with self._cond:
                self._current, self._ended = None, True
                self._cond.notify_all()

    def _hash(self, path: Path) -> tuple[int, int, str] | None:
        """(size, mtime_ns, SHA-256) of a small file, as its stat before the read said it
        was: a write during the read changes that stat, and `claim` compares it with the
        send's. Five calls that each let the GIL go and take it back, no more: the main
        thread, busy starting, hands it over at each."""
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size > self._largest:
                return None
            data = os.read(fd, st.st_size)
        finally:
            os.close(fd)
        if len(data) != st.st_size:
            return None  # shorter than its stat said: changing; its send reads it as it is
        return st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest()


class KnownHashes:
    """The SHA-256s made for files before their sends, by the duplicate look-up or by a
    `HashAhead`: one place a send asks, so that no file is hashed twice. A hash is given
    once, and only while the file is still (size, mtime) what was hashed."""

    #: Hashes the look-up made for files never uploaded are forgotten past this many.
    KEPT = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made: dict[str, tuple[int, int, str]] = {}  # path: (size, mtime_ns, hex)
        self._aheads: list[HashAhead] = []  # the newest last

    def remember(self, path: Path | str, size: int, mtime_ns: int, sha256: str) -> None:
        """`sha256` was made of the file at `path` while it was (`size`, `mtime_ns`)."""
        with self._lock:
            if len(self._made) >= self.KEPT:
                self._made.clear()
            self._made[os.path.abspath(path)] = (size, mtime_ns, sha256)

    def add(self, ahead: HashAhead) -> None:
        """Take hashes from `ahead` too; the newest few are kept, an older one is stopped
        (its files are hashed by their sends)."""
        with self._lock:
            dropped, self._aheads = self._aheads[:-3], [*self._aheads[-3:], ahead]
        for old in dropped:
            old.stop()

    def take(self, path: Path | str, st: os.stat_result) -> str | None:
        """The file's SHA-256 if one was made while it was what `st` says (the look-up's
        first, then the newest `HashAhead`'s); None: its send hashes it."""
        key = os.path.abspath(path)
        stamp = (st.st_size, st.st_mtime_ns)
        with self._lock:
            made = self._made.pop(key, None)
            aheads = self._aheads[::-1]
        if made is not None and made[:2] == stamp:
            return made[2]
        for ahead in aheads:
            sha256 = ahead.claim(key, *stamp)
            if sha256 is not None:
                return sha256
        return None
