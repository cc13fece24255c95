"""Small real-looking media files for end-to-end tests."""

from __future__ import annotations

import os
import struct
from pathlib import Path


def make_mp4(path: Path, size: int = 4096) -> Path:
    """A file that starts like an MP4 (ftyp box) followed by random bytes."""
    head = struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00isomiso2"
    path.write_bytes(head + os.urandom(max(0, size - len(head))))
    return path
