"""What a local file is: video container sniffing, transcript decoding, checksums.

Extensions lie; the first bytes do not. A "video" must start like an MP4/MOV, a
WebM/Matroska or an AVI file; a transcript must be text we can decode.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from shorts_desktop.core.errors import UserError
from shorts_desktop.core.render.transcript import MAX_TRANSCRIPT_BYTES, encoding_of
from shorts_desktop.core.render.transcript import check as check_transcript
from shorts_desktop.core.render.transcript import decode as decode_transcript

__all__ = ["decode_transcript"]  # the one decoder, shared with the render

TRANSCRIPT_EXTENSIONS = {".txt": "text/plain", ".srt": "application/x-subrip", ".vtt": "text/vtt"}
_MP4_BOXES = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot", b"uuid"}


@dataclass(frozen=True)
class Digests:
    sha256: str | None  # None: the S3 engine hashes it in the read that sends it
    md5: str | None  # only where a single PUT sends it (Content-MD5)
    size: int
    #: The stat the size came from, when it was made just before (saves the send its own).
    stat: os.stat_result | None = None

    @property
    def source(self) -> tuple[int, int] | None:
        """(size, mtime_ns) of that stat, as a send takes it (`UploadRequest.source`)."""
        return None if self.stat is None else (self.size, self.stat.st_mtime_ns)


def digests(path: Path, chunk: int = 8 * 1024 * 1024, *, md5: bool = True) -> Digests:
    """SHA-256 (stored, verified on download) and, with `md5`, MD5 (S3's own check of a
    single PUT) in one read. MD5 runs at a third of SHA-256's speed here, and a file sent
    in parts never needs it: each part carries its own checksum."""
    sha, md5_sum, size = hashlib.sha256(), hashlib.md5() if md5 else None, 0
    with path.open("rb") as f:
        while block := f.read(chunk):
            sha.update(block)
            if md5_sum is not None:
                md5_sum.update(block)
            size += len(block)
    return Digests(sha.hexdigest(), md5_sum.hexdigest() if md5_sum else None, size)


def regular_file_stat(path: Path, st: os.stat_result | None = None) -> os.stat_result:
    """The stat of a non-empty regular file, or a UserError saying why it is not one;
    `st`: the path's stat, made already."""
    if st is None:
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            raise UserError(f"{path} does not exist.") from None
    # Any other OSError (a folder on the way that cannot be entered, a name too long) goes
    # up as it is: `failures.explain` words each of those.
    if stat.S_ISDIR(st.st_mode):
        raise UserError(f"{path} is a folder, not a file.")
    if not stat.S_ISREG(st.st_mode):
        raise UserError(f"{path} is not a regular file.")
    if st.st_size == 0:
        raise UserError(f"{path} is empty.")
    return st


def unreadable(path: Path, exc: OSError) -> UserError:
    """The sentence for a file that exists but cannot be opened or read."""
    if isinstance(exc, PermissionError):
        return UserError(f"{path} cannot be read (permission denied).")
    return UserError(f"{path} cannot be read: {exc.strerror or exc}.")


def check_readable_file(path: Path) -> int:
    """The file's size, or a UserError saying why it cannot be uploaded. One stat and one
    open: every call is a system call that hands the GIL to another upload thread."""
    st = regular_file_stat(path)
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as exc:
        raise unreadable(path, exc) from None
    return st.st_size


def sniff_video(path: Path) -> str:
    """The content type of a video container, or a UserError when it is not one."""
    with path.open("rb") as f:
        head = f.read(64)
    if len(head) >= 12 and head[4:8] in _MP4_BOXES:
        brand = head[8:12]
        if head[4:8] == b"ftyp" and brand == b"qt  ":
            return "video/quicktime"
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in head else "video/x-matroska"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    raise UserError(
        f"{path.name} is not a video this app knows (MP4/MOV, WebM/MKV or AVI expected)."
    )


def read_head(path: Path, limit: int, size: int | None = None) -> bytes:
    """The file's first `limit` bytes (fewer when it is shorter). With its `size` from a
    stat made already, one open, one read and one close: each is a system call that hands
    the GIL to another upload thread (`read_bytes` makes five, and reads it all)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        want = limit if size is None else min(limit, size)
        data = os.read(fd, want)
        if size is not None and len(data) == want:
            return data
        parts, got = [data], len(data)  # a short read, or no size: on to the end
        while got < limit and data:
            data = os.read(fd, limit - got)
            parts.append(data)
            got += len(data)
        return b"".join(parts)
    finally:
        os.close(fd)


def check_transcript_file(path: Path, size: int | None = None) -> str:
    """The content type of a .txt/.srt/.vtt transcript, or a UserError saying what is wrong;
    `size` as `read_head` takes it."""
    ext = path.suffix.lower()
    if ext not in TRANSCRIPT_EXTENSIONS:
        raise UserError(f"{path.name} is not a transcript: use a .txt, .srt or .vtt file.")
    data = read_head(path, MAX_TRANSCRIPT_BYTES + 1, size)
    utf16 = encoding_of(data) == "utf-16"
    timed = ext in (".srt", ".vtt")
    if timed and utf16:  # checked and decoded in one go: its cues are searched as text
        text = decode_transcript(data, path.name).encode()
    else:  # UTF-8 is searched as bytes: no text built for it
        check_transcript(data, path.name)
        text = data
    if timed:
        if ext == ".vtt" and not text.removeprefix(b"\xef\xbb\xbf").startswith(b"WEBVTT"):
            raise UserError(f"{path.name} is not a WebVTT file (it must start with WEBVTT).")
        if b"-->" not in text:
            raise UserError(f"{path.name} has no subtitle timings (no '-->' lines).")
    return f"{TRANSCRIPT_EXTENSIONS[ext]}; charset={'utf-16' if utf16 else 'utf-8'}"
