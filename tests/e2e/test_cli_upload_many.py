"""`upload video` / `upload transcript-file` with many files and folders, through the real CLI."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from shorts_desktop.core.units import human_size
from tests.e2e.media import make_mp4
from tests.e2e.test_cli_errors import assert_one_sentence, bucket_keys
from tests.e2e.test_cli_workflow import ok_json

MIB = 1024 * 1024
SRT = "1\n00:00:00,000 --> 00:00:02,000\nHello there.\n"


def stored(run_cli) -> list[dict]:
    return ok_json(run_cli("uploads", "--all", "--json"))


def test_two_files_and_a_folder_upload_in_one_command(run_cli, s3_bucket,
                                                      tmp_path: Path) -> None:
    bucket, s3 = s3_bucket
    a = make_mp4(tmp_path / "a.mp4", 3000)
    b = make_mp4(tmp_path / "b.mp4", 5000)
    clips = tmp_path / "clips"
    (clips / "day 2").mkdir(parents=True)
    c = make_mp4(clips / "c.mp4", 7000)
    d = make_mp4(clips / "day 2" / "d.mov", 9000)
    (clips / "script.srt").write_text(SRT)  # a transcript: not for `upload video`
    (clips / "notes.pdf").write_bytes(b"%PDF-1.4")

    result = run_cli("upload", "video", str(a), str(b), str(clips))
    assert result.returncode == 0, result.stderr
    total = human_size(3000 + 5000 + 7000 + 9000)
    assert result.stdout.splitlines()[-1] == f"Uploaded 4 files ({total}) to temporary storage."
    assert "note: 1 transcript in the folder clips was left out" in result.stderr
    assert "note: 1 other file in the folder clips" in result.stderr
    rows = stored(run_cli)
    assert sorted((r["original_name"], r["status"], r["size"], r["is_temp"]) for r in rows) == [
        ("a.mp4", "completed", 3000, True), ("b.mp4", "completed", 5000, True),
        ("c.mp4", "completed", 7000, True), ("d.mov", "completed", 9000, True)]
    for row in rows:
        assert row["id"] in result.stdout
        head = s3.head_object(Bucket=bucket, Key=row["key"])
        assert head["ContentLength"] == row["size"]
    assert sorted(bucket_keys(s3_bucket)) == sorted(r["key"] for r in rows)
    sent = {r["original_name"]: r for r in rows}
    for path in (a, b, c, d):
        body = s3.get_object(Bucket=bucket, Key=sent[path.name]["key"])["Body"].read()
        assert body == path.read_bytes()


def test_json_is_one_object_for_one_file_and_a_list_otherwise(run_cli, s3_bucket,
                                                             tmp_path: Path) -> None:
    one = ok_json(run_cli("upload", "video", str(make_mp4(tmp_path / "one.mp4")), "--json"))
    assert isinstance(one, dict) and one["status"] == "completed"

    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "a.srt").write_text(SRT)
    (texts / "b.txt").write_text("Hello there.\n")
    make_mp4(texts / "clip.mp4")  # a video: not for `upload transcript-file`
    folder = ok_json(run_cli("upload", "transcript-file", str(texts), "--json", "--permanent"))
    assert isinstance(folder, list)
    assert [(r["original_name"], r["kind"], r["is_temp"], r["status"]) for r in folder] == [
        ("a.srt", "transcript", False, "completed"), ("b.txt", "transcript", False, "completed")]

    two = ok_json(run_cli("upload", "video", str(make_mp4(tmp_path / "x.mp4")),
                          str(make_mp4(tmp_path / "y.mp4")), "--json"))
    assert [r["original_name"] for r in two] == ["x.mp4", "y.mp4"]
    assert {r["id"] for r in stored(run_cli)} == {one["id"], *(r["id"] for r in folder + two)}


def test_a_bad_file_named_among_good_ones_uploads_nothing(run_cli, s3_bucket,
                                                         tmp_path: Path) -> None:
    good = make_mp4(tmp_path / "good.mp4")
    clips = tmp_path / "clips"
    clips.mkdir()
    make_mp4(clips / "c.mp4")
    (clips / "broken.mp4").write_text("not a video")  # in a folder: left out with a note
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video at all")
    result = run_cli("upload", "video", str(good), str(clips), str(fake),
                     str(tmp_path / "missing.mp4"), "--json")
    assert_one_sentence(result, 2, "fake.mp4 is not a video", "1 more cannot be uploaded",
                        "nothing was uploaded")
    assert "note: broken.mp4 is not a video" in result.stderr
    assert "missing.mp4 does not exist" in result.stderr  # the other named one, as a note
    assert result.stdout == ""
    assert bucket_keys(s3_bucket) == []
    assert stored(run_cli) == []

    empty = tmp_path / "nothing"
    empty.mkdir()
    assert_one_sentence(run_cli("upload", "video", str(good), str(empty)), 2,
                        f"{empty} is a folder with no videos in it", "nothing was uploaded")
    assert bucket_keys(s3_bucket) == []


def test_one_failing_midway_keeps_what_was_stored_and_says_which(
    run_cli, cli_env, s3_bucket, tmp_path: Path, shorts_home: Path,
) -> None:
    first = make_mp4(tmp_path / "first.mp4", 12 * MIB)
    second = make_mp4(tmp_path / "second.mp4")
    third = make_mp4(tmp_path / "third.mp4")
    env = {**cli_env, "S3_MULTIPART_THRESHOLD": str(5 * MIB),
           "SHORTS_DESKTOP_FILES_IN_FLIGHT": "1",  # the others wait in line meanwhile
           "SHORTS_DESKTOP_BANDWIDTH_LIMIT": str(4 * MIB)}  # the first takes ~3 s
    child = subprocess.Popen(
        [sys.executable, "-m", "shorts_desktop", "upload", "video", str(first), str(second),
         str(third), "--json"],
        env=env, cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = shorts_home / "data" / "shorts-desktop.db"
    deadline = time.monotonic() + 60
    while True:  # every file was checked before this row was written: now take one away
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        if db.exists():
            with sqlite3.connect(db) as conn:
                try:
                    row = conn.execute("SELECT 1 FROM upload WHERE original_name = 'first.mp4'"
                                       ).fetchone()
                except sqlite3.OperationalError:
                    row = None
            if row:
                break
        time.sleep(0.05)
    second.unlink()
    out, err = child.communicate(timeout=120)
    result = subprocess.CompletedProcess(child.args, child.returncode, out, err)
    assert_one_sentence(result, 2, "second.mp4 does not exist")
    assert (f"Uploaded 1 of 3 files ({human_size(12 * MIB)}) before second.mp4 failed; "
            "1 file not tried.") in err
    (done,) = json.loads(out)  # what was stored, for a script to carry on from
    assert done["original_name"] == "first.mp4" and done["status"] == "completed"
    assert bucket_keys(s3_bucket) == [done["key"]]
    assert [(r["original_name"], r["status"]) for r in stored(run_cli)] == [
        ("first.mp4", "completed")]


def test_several_files_are_sent_at_once(
    run_cli, cli_env, s3_bucket, tmp_path: Path, shorts_home: Path,
) -> None:
    """As many files at once as SHORTS_DESKTOP_FILES_IN_FLIGHT says, under one bar."""
    clips = [make_mp4(tmp_path / f"clip-{n}.mp4", 6 * MIB) for n in range(4)]
    env = {**cli_env, "SHORTS_DESKTOP_FILES_IN_FLIGHT": "2",
           "SHORTS_DESKTOP_BANDWIDTH_LIMIT": str(8 * MIB)}  # ~3 s in all
    child = subprocess.Popen(
        [sys.executable, "-m", "shorts_desktop", "upload", "video", *map(str, clips), "--json"],
        env=env, cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = shorts_home / "data" / "shorts-desktop.db"
    most = 0
    while child.poll() is None:
        if db.exists():
            with contextlib.suppress(sqlite3.OperationalError), sqlite3.connect(db) as conn:
                (sending,) = conn.execute(
                    "SELECT COUNT(*) FROM upload WHERE status = 'uploading'").fetchone()
                most = max(most, sending)
        time.sleep(0.02)
    out, err = child.communicate()
    assert child.returncode == 0, err
    assert most == 2  # two at a time: never one after another, never more than the setting
    rows = json.loads(out)
    assert [r["original_name"] for r in rows] == [c.name for c in clips]  # in the order named
    assert sorted(bucket_keys(s3_bucket)) == sorted(r["key"] for r in rows)


def test_help_says_what_paths_and_json_do(run_cli) -> None:
    shown = run_cli("upload", "video", "--help")
    text = " ".join(shown.stdout.split())
    assert shown.returncode == 0
    assert "PATH [PATH ...]" in text
    assert "files or folders to upload; a folder adds every video in it" in text
    assert "one object when PATH is one file, else a list" in text


def test_ctrl_c_stops_the_command_and_resume_finishes_what_was_being_sent(
    run_cli, cli_env, s3_bucket, tmp_path: Path, shorts_home: Path,
) -> None:
    clips = [make_mp4(tmp_path / f"clip-{n}.mp4", 12 * MIB) for n in range(3)]
    env = {**cli_env, "S3_MULTIPART_THRESHOLD": str(5 * MIB),
           "SHORTS_DESKTOP_FILES_IN_FLIGHT": "2",
           "SHORTS_DESKTOP_BANDWIDTH_LIMIT": str(2 * MIB)}
    child = subprocess.Popen(  # Ctrl-C as a terminal sends it, even when these tests run
        # in the background, where the shell has the children ignore SIGINT
        [sys.executable, "-m", "shorts_desktop", "upload", "video", *map(str, clips)],
        env=env, cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    db = shorts_home / "data" / "shorts-desktop.db"
    deadline = time.monotonic() + 60
    while True:  # both slots are sending parts
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        with contextlib.suppress(sqlite3.OperationalError), sqlite3.connect(db) as conn:
            (parts,) = conn.execute("SELECT COUNT(DISTINCT upload_id) FROM transfer_part"
                                    ).fetchone()
            if parts == 2:
                break
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _out, err = child.communicate(timeout=30)  # it stops at once, not after the uploads
    assert child.returncode == 130, err
    assert err.strip().splitlines()[-1] == (
        "error: Interrupted; the files being sent keep what they sent: `shorts-desktop queue` "
        "lists them and `shorts-desktop resume ID` continues one.")
    waiting = ok_json(run_cli("queue", "--json"))
    assert sorted(r["original_name"] for r in waiting) == ["clip-0.mp4", "clip-1.mp4"]
    assert all(r["bytes_done"] > 0 for r in waiting)  # they kept their parts
    for row in waiting:
        assert run_cli("resume", row["id"]).returncode == 0
    assert sorted(r["original_name"] for r in stored(run_cli)) == ["clip-0.mp4", "clip-1.mp4"]
    assert len(bucket_keys(s3_bucket)) == 2  # clip-2 was never started: nothing of it


def test_a_command_closes_its_database_when_it_ends(run_cli, s3_bucket, shorts_home: Path,
                                                    tmp_path: Path) -> None:
    """Each command checkpoints and closes the database itself (the S3 client's build
    froze the objects holding it, out of the garbage collector's reach): no -wal or -shm
    file is left beside it, and nothing it wrote is lost."""
    data = shorts_home / "data"
    videos = [make_mp4(tmp_path / f"{n}.mp4", 3000 + n) for n in range(3)]
    for args in (("upload", "video", *map(str, videos)), ("uploads",),
                 ("upload", "video", str(tmp_path / "missing.mp4"))):
        run_cli(*args)
        assert sorted(p.name for p in data.iterdir() if p.name.startswith("shorts-desktop.db")
                      ) == ["shorts-desktop.db"], args
    with contextlib.closing(sqlite3.connect(data / "shorts-desktop.db")) as conn:
        assert conn.execute("SELECT count(*) FROM upload WHERE status = 'completed'"
                            ).fetchone() == (3,)
