"""`shorts-desktop job publish` end to end: the CLI against moto's S3 server and the local
YouTube stub, with the sign-in in the real OS keyring (tests/run.sh's Secret Service)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shorts_desktop.core.credentials import KeyringStore
from shorts_desktop.core.publish import auth
from tests import media_gen
from tests.e2e.conftest import RunCli
from tests.stubs.youtube_stub import YouTubeStub, stub_credentials

PROFILE = "default"


@pytest.fixture
def signed_in(stub: YouTubeStub) -> Iterator[KeyringStore]:
    """A sign-in the stub accepts, in the OS keyring, as `youtube login` leaves it."""
    store = KeyringStore()
    auth.save_credentials(store, stub_credentials(stub), PROFILE)
    yield store
    store.clear_secret(auth.TOKEN_SECRET, PROFILE)


@pytest.fixture
def env(cli_env: dict[str, str], stub: YouTubeStub) -> dict[str, str]:
    return {**cli_env, "SHORTS_DESKTOP_YOUTUBE_API_ROOT": stub.api_root,
            "SHORTS_DESKTOP_GOOGLE_TOKEN_URI": stub.token_uri}


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def processed_job(run_cli: RunCli, env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    clip = media_gen.small_clip(tmp_path / "clip.mp4", duration=1.5)
    script = tmp_path / "script.txt"
    script.write_text("Publishing works from the command line.\n", encoding="utf-8")
    video = json.loads(ok(run_cli("upload", "video", str(clip), "--json", env=env)))
    text = json.loads(ok(run_cli("upload", "transcript-file", str(script), "--json", env=env)))
    job = json.loads(ok(run_cli(
        "job", "create", "--title", "From the CLI", "--voice", "echo", "--tag", "cli",
        "--video", video["id"], "--transcript", text["id"], "--privacy", "public", "--json",
        env=env)))
    ok(run_cli("job", "process", job["id"], env=env, timeout=180))
    return job


def short_bytes(s3_bucket: tuple[str, Any], job_id: str) -> bytes:
    name, client = s3_bucket
    data: bytes = client.get_object(Bucket=name, Key=f"processed/{job_id}/short.mp4")["Body"].read()
    return data


def test_publish_uploads_the_short_and_cleans_up(
    run_cli: RunCli, env: dict[str, str], stub: YouTubeStub, signed_in: KeyringStore,
    s3_bucket: tuple[str, Any], tmp_path: Path,
) -> None:
    job = processed_job(run_cli, env, tmp_path)
    status = json.loads(ok(run_cli("youtube", "status", "--json", env=env)))
    assert status["connected"] is True and status["channel_title"]

    data = json.loads(ok(run_cli("job", "publish", job["id"], "--json", env=env)))
    session = stub.session()
    stub.assert_each_byte_once(session, short_bytes(s3_bucket, job["id"]))
    assert data["status"] == "published"
    assert data["youtube_url"] == f"https://youtube.com/shorts/{session.video_id}"
    assert session.metadata["status"]["privacyStatus"] == "public"
    assert session.metadata["snippet"]["description"].endswith("#Shorts")
    assert sorted(data["inputs_deleted"]) == sorted(
        [job["video_upload_id"], job["transcript_upload_id"]])
    name, client = s3_bucket
    assert client.list_objects_v2(Bucket=name, Prefix="temp/")["KeyCount"] == 0
    shown = json.loads(ok(run_cli("job", "show", job["id"], "--json", env=env)))
    assert shown["youtube_video_id"] == session.video_id
    # publishing again is refused in one sentence, and makes no second video
    again = run_cli("job", "publish", job["id"], env=env)
    assert again.returncode == 2 and again.stderr.startswith("error: Job ")
    assert "Traceback" not in again.stderr and len(stub.videos) == 1


def test_a_publish_killed_mid_upload_resumes_the_same_session(
    run_cli: RunCli, env: dict[str, str], stub: YouTubeStub, signed_in: KeyringStore,
    s3_bucket: tuple[str, Any], tmp_path: Path,
) -> None:
    job = processed_job(run_cli, env, tmp_path)
    stub.stall_after = 0  # the first chunk hangs: the session is open, nothing is kept
    proc = subprocess.Popen([sys.executable, "-m", "shorts_desktop", "job", "publish", job["id"]],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert stub.stalled.wait(60), "the upload never started"
        time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    stub.stall_after = None
    stub.release.set()
    left = json.loads(ok(run_cli("job", "show", job["id"], "--json", env=env)))
    assert left["status"] == "publishing" and left["youtube_video_id"] is None

    data = json.loads(ok(run_cli("job", "publish", job["id"], "--json", env=env)))
    assert data["status"] == "published"
    assert len(stub.sessions) == 1 and len(stub.videos) == 1  # the saved session, not a new one
    assert stub.status_queries >= 1  # it asked YouTube where the upload stood
    stub.assert_each_byte_once(stub.session(), short_bytes(s3_bucket, job["id"]))


def test_publish_without_an_account_or_before_processing_says_what_to_do(
    run_cli: RunCli, env: dict[str, str], stub: YouTubeStub, tmp_path: Path,
) -> None:
    job = processed_job(run_cli, env, tmp_path)
    result = run_cli("job", "publish", job["id"], env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("error: No YouTube account is connected")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert stub.sessions == {}
    shown = json.loads(ok(run_cli("job", "show", job["id"], "--json", env=env)))
    assert shown["status"] == "processed"
    status = ok(run_cli("youtube", "status", env=env))
    assert status.startswith("No YouTube account is connected")


def test_quota_exceeded_is_one_sentence_and_the_job_stays_processed(
    run_cli: RunCli, env: dict[str, str], stub: YouTubeStub, signed_in: KeyringStore,
    tmp_path: Path,
) -> None:
    job = processed_job(run_cli, env, tmp_path)
    stub.insert_error = "quotaExceeded"
    result = run_cli("job", "publish", job["id"], env=env)
    assert result.returncode == 1 and "quota" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    shown = json.loads(ok(run_cli("job", "show", job["id"], "--json", env=env)))
    assert shown["status"] == "processed" and "quota" in shown["error"]


def test_logout_revokes_and_forgets_the_sign_in(
    run_cli: RunCli, env: dict[str, str], stub: YouTubeStub, signed_in: KeyringStore,
) -> None:
    out = ok(run_cli("youtube", "logout", env=env))
    assert out.startswith("Disconnected the YouTube account")
    assert stub.revoked
    assert signed_in.get_secret(auth.TOKEN_SECRET, PROFILE) is None
