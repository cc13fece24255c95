"""The SHA-256 of files about to be uploaded, made ahead of their sends on a thread.

A send that must hash its file does so on its own critical path, and a process that
uploads spends its first tenths of a second on one core (imports, clients, the files'
checks, the GIL held) while the other idles. Reads and SHA-256 let the GIL go, so a
thread hashing the files meanwhile runs on the idle core. It starts from the last file
while the sends start from the first: they meet in the middle, and no byte is hashed
twice. A send takes what was hashed of its file (`claim`) only while the file is what
was hashed (size and modification time); a file sent in parts takes a hash begun, and
hashes the rest as it reads its parts.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shorts_desktop.core.services.intake import expand_folders

log = logging.getLogger(__name__)

#: One read and one hash update, each letting the GIL go; a claim waits for one at most.
CHUNK = 16 * 1024 * 1024


@dataclass(frozen=True)
class Head:
    """A file's SHA-256 over its first `length` bytes, as the file was (`size`,
    `mtime_ns`) when they were read; `whole` when that is all of it."""

    sha: Any  # hashlib's object, its type private; the one who claimed it owns it
    length: int
    size: int
    mtime_ns: int

    @property
    def whole(self) -> bool:
        return self.length == self.size

    def hexdigest(self) -> str:
        return str(self.sha.hexdigest())


class HashAhead:
    """Hashes the files named (folders expanded as the intake expands them), last first."""

    def __init__(self, paths: Iterable[Path], *, chunk: int = CHUNK) -> None:
        self._paths = list(paths)
        self.chunk = chunk  # a file of at most this is hashed in one read
        self._cond = threading.Condition()
        self._heads: dict[str, Head] = {}
        self._claimed: set[str] = set()
        self._current: str | None = None
        self._handing_over = False  # the file being hashed was claimed: stop, hand it over
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="shorts-desktop-hash-ahead",
                                        daemon=True)
        self._thread.start()

    def claim(self, path: Path | str, size: int, mtime_ns: int) -> Head | None:
        """What was hashed of the file, if it is still (`size`, `mtime_ns`) as hashed; from
        now on the file is its send's: a hash under way stops after its chunk and is
        handed over, and one not begun is not begun."""
        key = os.path.abspath(path)
        with self._cond:
            self._claimed.add(key)
            if self._current == key:
                self._handing_over = True
                while self._current == key:
                    self._cond.wait()
            head = self._heads.pop(key, None)
        if head is None or head.length == 0 or (head.size, head.mtime_ns) != (size, mtime_ns):
            return None
        return head

    def stop(self) -> None:
        """Hash nothing more (what was hashed can still be claimed)."""
        with self._cond:
            self._ended = True
            self._handing_over = True

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
            buffer = memoryview(bytearray())  # one for every file: no page faults each
            for path in reversed(found):
                key = os.path.abspath(path)
                with self._cond:
                    if self._ended:
                        return
                    if key in self._claimed:
                        continue
                    self._current, self._handing_over = key, False
                head: Head | None = None
                with contextlib.suppress(OSError):  # gone, unreadable: its check says so
                    head, buffer = self._hash(path, buffer)
                with self._cond:
                    self._current = None
                    if head is not None:
                        self._heads[key] = head
                    self._cond.notify_all()
        except Exception:  # only speed is lost: each send hashes its own file
            log.warning("hashing ahead stopped", exc_info=True)
        finally:
            with self._cond:
                self._current, self._ended = None, True
                self._cond.notify_all()

    def _hash(self, path: Path, buffer: memoryview) -> tuple[Head | None, memoryview]:
        """The file's head, and the buffer (grown to the file, up to a chunk)."""
        with open(path, "rb", buffering=0) as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                return None, buffer
            sha, length, size = hashlib.sha256(), 0, st.st_size
            if len(buffer) < min(size, self.chunk):
                buffer = memoryview(bytearray(min(size, self.chunk)))
            while length < size and not self._handing_over:
                got = f.readinto(buffer[:min(len(buffer), size - length)])
                if not got:
                    return None, buffer  # shorter than it was a moment ago: changing
                sha.update(buffer[:got])
                length += got
        if length == size:  # whole: only if nothing wrote to it while it was read
            after = os.stat(path)
            if (after.st_size, after.st_mtime_ns) != (size, st.st_mtime_ns):
                return None, buffer
        return Head(sha, length, size, st.st_mtime_ns), buffer
