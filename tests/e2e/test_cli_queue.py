"""The persistent queue through the CLI: kill -9 mid-upload, then resume, cancel, retry."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.media import make_mp4

MIB = 1024 * 1024


def start_upload(cli_env: dict[str, str], path: Path, cwd: Path) -> subprocess.Popen[str]:
    env = {**cli_env, "S3_MULTIPART_THRESHOLD": str(5 * MIB),
           "SHORTS_DESKTOP_PARTS_IN_FLIGHT": "2", "SHORTS_DESKTOP_BANDWIDTH_LIMIT": str(4 * MIB)}
    return subprocess.Popen([sys.executable, "-m", "shorts_desktop", "upload", "video",
                             str(path), "--json"], env=env, cwd=cwd, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_after_first_part(child: subprocess.Popen[str], db: Path) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if db.exists():
            with sqlite3.connect(db) as conn:
                try:
                    (parts,) = conn.execute("SELECT COUNT(*) FROM transfer_part").fetchone()
                except sqlite3.OperationalError:
                    parts = 0
            if parts >= 1:
                os.kill(child.pid, signal.SIGKILL)
                child.wait(30)
                return int(parts)
        assert child.poll() is None, f"the upload ended early ({child.returncode})"
        time.sleep(0.05)
    raise AssertionError("no part was sent within a minute")


def test_kill_9_then_resume_sends_only_what_is_missing(run_cli, cli_env, s3_bucket, tmp_path,
                                                       shorts_home) -> None:
    bucket, s3 = s3_bucket
    video = make_mp4(tmp_path / "long.mp4", 26 * MIB)
    child = start_upload(cli_env, video, tmp_path)
    parts_before = kill_after_first_part(child, shorts_home / "data" / "shorts-desktop.db")
    waiting = json.loads(run_cli("queue", "--json").stdout)
    assert len(waiting) == 1 and waiting[0]["status"] == "uploading"
    assert waiting[0]["bytes_done"] >= 5 * MIB
    assert len(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 1

    resumed = run_cli("resume", waiting[0]["id"], "--json")
    assert resumed.returncode == 0, resumed.stderr
    row = json.loads(resumed.stdout)
    assert row["status"] == "completed" and row["id"] == waiting[0]["id"]
    body = s3.get_object(Bucket=bucket, Key=row["key"])["Body"].read()
    assert body == video.read_bytes()
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert parts_before >= 1
    assert json.loads(run_cli("queue", "--json").stdout) == []


def test_cancel_of_an_interrupted_upload_removes_its_parts(run_cli, cli_env, s3_bucket,
                                                           tmp_path, shorts_home) -> None:
    bucket, s3 = s3_bucket
    video = make_mp4(tmp_path / "third.mp4", 16 * MIB)
    child = start_upload(cli_env, video, tmp_path)
    kill_after_first_part(child, shorts_home / "data" / "shorts-desktop.db")
    (row,) = json.loads(run_cli("queue", "--json").stdout)
    cancelled = run_cli("cancel", row["id"])
    assert cancelled.returncode == 0, cancelled.stderr
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    (again,) = json.loads(run_cli("queue", "--json").stdout)
    assert again["status"] == "cancelled"
    refused = run_cli("resume", row["id"])
    assert refused.returncode == 2 and "retry" in refused.stderr
    retried = run_cli("retry", row["id"], "--json")
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout)["status"] == "completed"
    key = json.loads(retried.stdout)["key"]
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == video.read_bytes()


def test_resume_after_the_source_changed_starts_over_and_says_so(
    run_cli, cli_env, s3_bucket, tmp_path, shorts_home
) -> None:
    bucket, s3 = s3_bucket
    video = make_mp4(tmp_path / "edited.mp4", 16 * MIB)
    child = start_upload(cli_env, video, tmp_path)
    kill_after_first_part(child, shorts_home / "data" / "shorts-desktop.db")
    (row,) = json.loads(run_cli("queue", "--json").stdout)
    make_mp4(video, 16 * MIB + 7)  # the creator re-exported the clip
    resumed = run_cli("resume", row["id"], "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert "changed since" in resumed.stderr and "starting over" in resumed.stderr
    done = json.loads(resumed.stdout)
    assert done["size"] == 16 * MIB + 7
    body = s3.get_object(Bucket=bucket, Key=done["key"])["Body"].read()
    assert body == video.read_bytes()
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def _running_upload(cli_env: dict[str, str], path: Path, cwd: Path,
                    db: Path) -> tuple[subprocess.Popen[str], str]:
    """`upload video` sending in a child process (4 MiB/s), once its first part is stored."""
    env = {**cli_env, "S3_MULTIPART_THRESHOLD": str(5 * MIB),
           "SHORTS_DESKTOP_PARTS_IN_FLIGHT": "2", "SHORTS_DESKTOP_BANDWIDTH_LIMIT": str(4 * MIB)}
    child = subprocess.Popen([sys.executable, "-m", "shorts_desktop", "upload", "video",
                              str(path)], env=env, cwd=cwd, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert child.poll() is None, child.communicate()
        if db.exists():
            with sqlite3.connect(db) as conn:
                try:
                    row = conn.execute("SELECT u.id FROM upload u JOIN transfer_part p "
                                       "ON p.upload_id = u.id LIMIT 1").fetchone()
                except sqlite3.OperationalError:
                    row = None
            if row:
                return child, str(row[0])
        time.sleep(0.05)
    raise AssertionError("no part was sent within a minute")


def _sent_bytes(db: Path, upload_id: str) -> int:
    with sqlite3.connect(db) as conn:
        (total,) = conn.execute("SELECT COALESCE(SUM(size), 0) FROM transfer_part "
                                "WHERE upload_id = ?", (upload_id,)).fetchone()
    return int(total)


def test_pause_from_another_command_stops_the_bytes_and_resume_finishes(
    run_cli, cli_env, s3_bucket, tmp_path, shorts_home
) -> None:
    bucket, s3 = s3_bucket
    db = shorts_home / "data" / "shorts-desktop.db"
    video = make_mp4(tmp_path / "long.mp4", 30 * MIB)
    child, upload_id = _running_upload(cli_env, video, tmp_path, db)
    paused = run_cli("pause", upload_id[:8])
    assert paused.returncode == 0, paused.stderr
    _out, err = child.communicate(timeout=30)  # the sending process stops within a second
    assert child.returncode == 1 and f"shorts-desktop resume {upload_id}" in err, err
    (row,) = json.loads(run_cli("queue", "--json").stdout)
    assert row["status"] == "paused"
    sent = _sent_bytes(db, upload_id)
    time.sleep(1.5)
    assert _sent_bytes(db, upload_id) == sent < video.stat().st_size  # no byte goes on
    assert len(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 1  # kept
    resumed = run_cli("resume", upload_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    done = json.loads(resumed.stdout)
    assert done["status"] == "completed"
    assert s3.get_object(Bucket=bucket, Key=done["key"])["Body"].read() == video.read_bytes()


def test_cancel_from_another_command_ends_the_running_upload_cancelled(
    run_cli, cli_env, s3_bucket, tmp_path, shorts_home
) -> None:
    bucket, s3 = s3_bucket
    db = shorts_home / "data" / "shorts-desktop.db"
    video = make_mp4(tmp_path / "long.mp4", 30 * MIB)
    child, upload_id = _running_upload(cli_env, video, tmp_path, db)
    cancelled = run_cli("cancel", upload_id)
    assert cancelled.returncode == 0, cancelled.stderr
    _out, err = child.communicate(timeout=30)
    assert child.returncode == 1 and "cancelled" in err and "refused" not in err, err
    (row,) = json.loads(run_cli("queue", "--json").stdout)
    assert row["status"] == "cancelled", row
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
