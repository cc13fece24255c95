"""Every bad input and failure through the real CLI: one sentence, the right exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.media import make_mp4


def assert_one_sentence(result, code: int, *fragments: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def bucket_keys(s3_bucket) -> list[str]:
    bucket, s3 = s3_bucket
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.fixture
def uploaded(run_cli, tmp_path):
    video = json.loads(run_cli("upload", "video", str(make_mp4(tmp_path / "v.mp4")),
                               "--json").stdout)
    text = json.loads(run_cli("upload", "transcript-text", "--text", "hi there", "--json").stdout)
    return video, text


def test_bad_files_are_refused(run_cli, s3_bucket, tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "notes.mp4").write_text("not a video at all")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02garbage")
    (tmp_path / "latin.txt").write_bytes("café".encode("latin-1") + b"\xff\xfe")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    (tmp_path / "folder").mkdir()
    cases = [
        (("upload", "video", str(tmp_path / "missing.mp4")), "does not exist"),
        (("upload", "video", str(tmp_path / "folder")), "is a folder"),
        (("upload", "video", str(tmp_path / "empty.mp4")), "is empty"),
        (("upload", "video", str(tmp_path / "notes.mp4")), "not a video"),
        (("upload", "transcript-file", str(tmp_path / "binary.txt")), "not text"),
        (("upload", "transcript-file", str(tmp_path / "latin.txt")), "UTF-8"),
        (("upload", "transcript-file", str(tmp_path / "image.png")), ".txt, .srt or .vtt"),
        (("upload", "transcript-text", "--text", "   "), "empty"),
        (("upload", "transcript-text"), "--text"),
    ]
    for args, fragment in cases:
        assert_one_sentence(run_cli(*args), 2, fragment)
    assert bucket_keys(s3_bucket) == []
    listing = run_cli("uploads", "--all", "--json")
    assert json.loads(listing.stdout) == []  # nothing was recorded for refused files


@pytest.mark.usefixtures("s3_bucket")
def test_bad_ids_and_options(run_cli, uploaded) -> None:
    video, text = uploaded
    assert_one_sentence(run_cli("promote", "0000dead-beef"), 2, "No upload has the id")
    assert_one_sentence(run_cli("url", "nope"), 2, "No upload")
    assert_one_sentence(run_cli("url", video["id"], "--expires", "0"), 2, "604800")
    assert_one_sentence(run_cli("url", video["id"], "--expires", "604801"), 2, "604800")
    assert_one_sentence(run_cli("cleanup-temp", "--hours", "-1"), 2, "hours")
    assert_one_sentence(run_cli("cleanup-temp", "--hours", "abc"), 2, "hours")
    assert_one_sentence(run_cli("job", "show", "missing-job"), 2, "No job")
    base = ["job", "create", "--title", "T", "--voice", "alloy"]
    assert_one_sentence(
        run_cli(*base, "--video", text["id"], "--transcript", text["id"]), 2, "not a video"
    )
    assert_one_sentence(
        run_cli(*base, "--video", video["id"], "--transcript", video["id"]),
        2, "not a transcript",
    )
    assert_one_sentence(
        run_cli("job", "create", "--title", "T", "--voice", "robot", "--video", video["id"],
                "--transcript", text["id"]), 2, "voice",
    )
    assert_one_sentence(
        run_cli("job", "create", "--title", "x" * 101, "--voice", "nova", "--video",
                video["id"], "--transcript", text["id"]), 2, "100",
    )
    assert_one_sentence(run_cli("frobnicate"), 2, "invalid choice")


def test_invalid_settings_name_the_variable(run_cli, cli_env) -> None:
    for name, value in [
        ("S3_TEMP_PREFIX", "tmp"),
        ("S3_CLEANUP_TEMP_HOURS", "-3"),
        ("S3_MULTIPART_THRESHOLD", "1000"),
        ("S3_PRESIGNED_URL_EXPIRY", "9999999"),
    ]:
        assert_one_sentence(run_cli("stats", env={**cli_env, name: value}), 2, name)


def test_storage_failures_exit_1_and_leave_no_completed_row(run_cli, cli_env, tmp_path) -> None:
    clip = make_mp4(tmp_path / "v.mp4")
    missing_bucket = {**cli_env, "S3_BUCKET_NAME": "bucket-that-is-not-there"}
    assert_one_sentence(run_cli("upload", "video", str(clip), env=missing_bucket), 1,
                        "does not exist")
    rows = json.loads(run_cli("uploads", "--all", "--json", env=missing_bucket).stdout)
    assert [r["status"] for r in rows] == ["failed"]
    assert "does not exist" in rows[0]["error"]

    offline = {**cli_env, "S3_ENDPOINT_URL": "http://127.0.0.1:9"}
    assert_one_sentence(run_cli("upload", "video", str(clip), env=offline), 1, "Cannot reach")
