"""The object key layout: safe names, upload ids from keys, metadata round trips."""

from __future__ import annotations

import pytest

from shorts_desktop.core.storage.keys import (
    MAX_SAFE_NAME,
    object_metadata,
    read_metadata,
    safe_name,
    upload_id_from_key,
    upload_key,
)

UID = "0f8fad5b-d9cb-469f-a165-70867728950e"

NASTY_NAMES = [
    "../../etc/passwd",
    "..\\..\\windows\\system32\\cmd.exe",
    "/absolute/path/clip.mp4",
    "C:\\Users\\me\\Videos\\clip.mp4",
    "..",
    ".",
    "...",
    "",
    "   ",
    "a\x00b\x1f\x7f.mp4",
    "line\nbreak\r.mp4",
    "tab\there.mp4",
    "clip..mp4",
    "clip . . mp4",
    "évasion/../../x.mp4",
    "\u202egnp.mp4",  # right-to-left override
    "日本語のビデオ.mp4",
    "🎬🎥.mp4",
    "a" * 195 + "." + "b" * 10 + ".mp4",  # truncation lands right after a dot
    "x." * 150 + "mp4",
    "name" + "." * 300,
    "x" * 500,
]


@pytest.mark.parametrize("name", NASTY_NAMES)
def test_safe_name_is_always_safe(name: str) -> None:
    safe = safe_name(name)
    assert safe
    assert "/" not in safe and "\\" not in safe
    assert ".." not in safe
    assert not safe.startswith(".")
    assert not any(ord(c) < 32 or ord(c) == 127 for c in safe)
    assert safe.isascii()
    assert len(safe) <= MAX_SAFE_NAME
    assert safe_name(safe) == safe  # stable: a safe name stays as it is


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("clip.mp4", "clip.mp4"),
        ("My Holiday 2024.mp4", "My_Holiday_2024.mp4"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\clip.mov", "clip.mov"),
        ("Café déjà vu.mp4", "Cafe_deja_vu.mp4"),
        ("naïve résumé.srt", "naive_resume.srt"),
        ("clip..final...mp4", "clip.final.mp4"),
        ("", "file"),
        ("..", "file"),
        ("a\x00b.txt", "a_b.txt"),
    ],
)
def test_safe_name_examples(original: str, expected: str) -> None:
    assert safe_name(original) == expected


@pytest.mark.parametrize("original", ["日本語のビデオ.mp4", "🎬.mp4", "Видео.webm"])
def test_safe_name_keeps_the_extension_when_nothing_else_is_ascii(original: str) -> None:
    ext = original.rsplit(".", 1)[1]
    assert safe_name(original) == f"file.{ext}"


def test_long_name_keeps_its_extension() -> None:
    safe = safe_name("a" * 500 + ".mp4")
    assert len(safe) == MAX_SAFE_NAME
    assert safe == "a" * (MAX_SAFE_NAME - 4) + ".mp4"


def test_long_name_without_extension_is_cut() -> None:
    assert safe_name("b" * 500) == "b" * MAX_SAFE_NAME


def test_long_name_with_a_long_suffix_is_cut_whole() -> None:
    safe = safe_name("c" * 300 + ".thisisnotanextension")
    assert safe == "c" * MAX_SAFE_NAME


def test_upload_key_layout() -> None:
    assert upload_key("temp/", UID, "../My Clip.mp4") == f"temp/{UID}/My_Clip.mp4"
    assert upload_key("videos/", UID, "x.mp4") == f"videos/{UID}/x.mp4"


@pytest.mark.parametrize(
    ("prefix", "key", "expected"),
    [
        ("temp/", f"temp/{UID}/clip.mp4", UID),
        ("temp/", f"temp/{UID.replace('-', '')}/clip.mp4", UID.replace("-", "")),
        ("temp/", f"videos/{UID}/clip.mp4", None),  # another prefix
        ("temp/", f"temp/{UID}/", None),  # no name
        ("temp/", f"temp/{UID}", None),  # no slash after the id
        ("temp/", "temp/not-a-uuid/clip.mp4", None),
        ("temp/", f"temp/{UID.upper()}/clip.mp4", None),  # ours are lowercase
        ("temp/", "temp/readme.txt", None),
        ("temp/", "", None),
    ],
)
def test_upload_id_from_key(prefix: str, key: str, expected: str | None) -> None:
    assert upload_id_from_key(prefix, key) == expected


def test_metadata_is_ascii_and_round_trips_the_name() -> None:
    name = "Urlaub – Tag 1/2 (ÄÖÜ).mp4"
    meta = object_metadata(UID, "video", name, "ab" * 32, True)
    assert all(v.isascii() for v in meta.values())
    assert meta["original-name"] != name
    assert meta["is-temp"] == "true"
    assert object_metadata(UID, "video", name, "ab" * 32, False)["is-temp"] == "false"
    decoded = read_metadata(meta)
    assert decoded["original-name"] == name
    assert decoded["upload-id"] == UID and decoded["sha256"] == "ab" * 32
