"""What a local file is: container sniffing, transcript decoding, readability checks."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from shorts_desktop.core.errors import UserError
from shorts_desktop.core.services import files

if TYPE_CHECKING:
    from conftest import Media


# -- video sniffing ---------------------------------------------------------------------------


def test_sniffs_mp4(media: Media) -> None:
    assert files.sniff_video(media.mp4()) == "video/mp4"


def test_sniffs_quicktime_brand(media: Media) -> None:
    assert files.sniff_video(media.mp4("clip.mov", brand=b"qt  ")) == "video/quicktime"


def test_sniffs_mp4_starting_with_another_box(media: Media) -> None:
    path = media.write("old.mp4", b"\x00\x00\x00\x08free" + b"\x00\x00\x00\x10mdat" + b"\0" * 64)
    assert files.sniff_video(path) == "video/mp4"


def test_sniffs_webm(media: Media) -> None:
    assert files.sniff_video(media.webm()) == "video/webm"


def test_sniffs_matroska(media: Media) -> None:
    assert files.sniff_video(media.mkv()) == "video/x-matroska"


def test_sniffs_avi(media: Media) -> None:
    assert files.sniff_video(media.avi()) == "video/x-msvideo"


def test_extension_does_not_matter_bytes_do(media: Media) -> None:
    assert files.sniff_video(media.webm("really-webm.mp4")) == "video/webm"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes.mp4", b"These are my notes, not a video at all.\n" * 4),
        ("image.mp4", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\0" * 64),
        ("sound.avi", b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\0" * 64),
        ("tiny.mp4", b"\x00\x00\x00\x18ftyp"),  # too short to hold a brand
    ],
    ids=["text", "png", "riff-wave", "truncated"],
)
def test_refuses_what_is_not_a_video(media: Media, name: str, data: bytes) -> None:
    path = media.write(name, data)
    with pytest.raises(UserError, match=rf"{name} is not a video this app knows"):
        files.sniff_video(path)


# -- transcripts ------------------------------------------------------------------------------


def test_utf8_text(media: Media) -> None:
    path = media.write("t.txt", "Grüße aus Köln 👋\n".encode())
    assert files.check_transcript_file(path) == "text/plain; charset=utf-8"


def test_utf8_bom_is_accepted_and_stripped(media: Media) -> None:
    data = b"\xef\xbb\xbfHello\n"
    assert files.decode_transcript(data, "t.txt") == "Hello\n"
    assert files.check_transcript_file(media.write("t.txt", data)) == "text/plain; charset=utf-8"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(media: Media, encoding: str) -> None:
    bom = b"\xff\xfe" if encoding.endswith("le") else b"\xfe\xff"
    text = "1\n00:00:00,000 --> 00:00:01,500\nΚαλημέρα\n"
    path = media.write("t.srt", bom + text.encode(encoding))
    assert files.check_transcript_file(path) == "application/x-subrip; charset=utf-16"
    assert files.decode_transcript(path.read_bytes(), "t.srt") == text


def test_vtt_with_header(media: Media) -> None:
    assert files.check_transcript_file(media.transcript("t.vtt")) == "text/vtt; charset=utf-8"


def test_vtt_with_bom_and_header(media: Media) -> None:
    data = b"\xef\xbb\xbfWEBVTT\n\n00:00.000 --> 00:01.000\nHi\n"
    assert files.check_transcript_file(media.write("t.vtt", data)) == "text/vtt; charset=utf-8"


def test_srt_with_timings(media: Media) -> None:
    path = media.transcript("t.srt")
    assert files.check_transcript_file(path) == "application/x-subrip; charset=utf-8"


def test_uppercase_extension_is_fine(media: Media) -> None:
    assert files.check_transcript_file(media.transcript("T.TXT")).startswith("text/plain")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("bin.txt", b"text\x00with\x00nul", "contains binary data"),
        ("latin1.txt", "café crème".encode("latin-1"), "not UTF-8 or UTF-16"),
        ("ctrl.txt", b"bell \x07 inside", "control characters"),
        ("empty.txt", b"", "is empty"),
        ("blank.txt", b" \n\t\r\n  ", "is empty"),
        ("bom-only.txt", b"\xef\xbb\xbf", "has no text"),
        ("no-header.vtt", b"00:00.000 --> 00:01.000\nHi\n", "not a WebVTT file"),
        ("no-timings.srt", b"1\nJust some words\n", "no subtitle timings"),
        ("no-timings.vtt", b"WEBVTT\n\nJust words\n", "no subtitle timings"),
        ("notes.doc", b"A perfectly fine text", "use a .txt, .srt or .vtt file"),
        ("notes", b"A perfectly fine text", "use a .txt, .srt or .vtt file"),
        ("clip.mp4", b"A perfectly fine text", "use a .txt, .srt or .vtt file"),
    ],
)
def test_refuses_bad_transcripts(media: Media, name: str, data: bytes, message: str) -> None:
    path = media.write(name, data)
    with pytest.raises(UserError, match=message):
        files.check_transcript_file(path)


def test_refuses_transcript_over_10_mib(media: Media) -> None:
    path = media.write("huge.txt", b"a" * (files.MAX_TRANSCRIPT_BYTES + 1))
    with pytest.raises(UserError, match="larger than 10 MiB"):
        files.check_transcript_file(path)


def test_decode_transcript_names_the_source() -> None:
    with pytest.raises(UserError, match=r"^The transcript text is empty"):
        files.decode_transcript(b"   ", "The transcript text")


# -- readable files and digests ---------------------------------------------------------------


def test_readable_file_returns_its_size(media: Media) -> None:
    assert files.check_readable_file(media.mp4(size=1234)) == 1234


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        files.check_readable_file(tmp_path / "nope.mp4")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is a folder, not a file"):
        files.check_readable_file(tmp_path)


def test_empty_file(media: Media) -> None:
    with pytest.raises(UserError, match="is empty"):
        files.check_readable_file(media.write("empty.mp4", b""))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match="not a regular file"):
        files.check_readable_file(fifo)


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="root (or Windows) can read anything"
)
def test_unreadable_file(media: Media) -> None:
    path = media.mp4()
    path.chmod(0)
    try:
        with pytest.raises(UserError, match="cannot be read"):
            files.check_readable_file(path)
    finally:
        path.chmod(0o600)


def test_digests_match_hashlib_across_chunks(media: Media) -> None:
    path = media.mp4(size=10_000)
    data = path.read_bytes()
    sums = files.digests(path, chunk=1000)
    assert sums.sha256 == hashlib.sha256(data).hexdigest()
    assert sums.md5 == hashlib.md5(data).hexdigest()
    assert sums.size == 10_000


@pytest.mark.parametrize(("name", "data"), [
    ("t.srt", "\ufeff1\n00:00:00,000 --> 00:00:01,500\nΚαλημέρα\n".encode("utf-16-le")),
    ("t.vtt", "\ufeffWEBVTT\n\n00:00.000 --> 00:01.000\nHi\n".encode("utf-16-le")),
    ("t.txt", "\ufeffΚαλημέρα κόσμε\n".encode("utf-16-le")),
    ("t.srt", b"1\n00:00:00,000 --> 00:00:01,500\nHello\n"),
])
def test_a_transcript_is_checked_and_decoded_once(
    media: Media, monkeypatch: pytest.MonkeyPatch, name: str, data: bytes
) -> None:
    from shorts_desktop.core.render import transcript

    passes: list[bool] = []
    real = transcript._checked

    def counted(raw: bytes, label: str, want_text: bool) -> str | None:
        passes.append(want_text)
        return real(raw, label, want_text)

    monkeypatch.setattr(transcript, "_checked", counted)
    assert "charset=" in files.check_transcript_file(media.write(name, data))
    # one pass; it builds the text only where the cues must be searched as text (UTF-16
    # subtitles), and that text is what is searched, not a second decoding of the bytes
    utf16_subtitles = name != "t.txt" and data.startswith(b"\xff\xfe")
    assert passes == [utf16_subtitles]


def test_a_utf16_subtitle_file_with_control_characters_is_refused(media: Media) -> None:
    data = "\ufeff1\n00:00:00,000 --> 00:00:01,500\nbell \x07\n".encode("utf-16-le")
    with pytest.raises(UserError, match="control characters"):
        files.check_transcript_file(media.write("t.srt", data))


def test_read_head_reads_at_most_the_limit_whatever_the_stat_said(tmp_path: Path) -> None:
    """A transcript's check reads its head only, never a whole large file; a size from a
    stat made before the file changed still gives what the file holds now, up to it."""
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 100_000)
    assert files.read_head(big, 1_000) == b"a" * 1_000
    assert files.read_head(big, 1_000, size=100_000) == b"a" * 1_000
    assert files.read_head(big, 200_000) == b"a" * 100_000
    shrunk = tmp_path / "shrunk.txt"
    shrunk.write_bytes(b"short")
    assert files.read_head(shrunk, 1_000, size=4_000) == b"short"  # stat made when longer
    assert files.read_head(shrunk, 1_000, size=5) == b"short"
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert files.read_head(empty, 1_000) == b""
    with pytest.raises(FileNotFoundError):
        files.read_head(tmp_path / "gone.txt", 10)
