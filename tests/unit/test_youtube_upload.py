"""Publishing to YouTube against the local stub: the body, resumable chunks, faults, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google.oauth2.credentials import Credentials

from shorts_desktop.core.errors import ShortsError, UserError
from shorts_desktop.core.publish.errors import (
    QUOTA,
    RECONNECT,
    UNVERIFIED_NOTE,
    UPLOAD_LIMIT,
    QuotaExceeded,
    ReconnectNeeded,
    UploadCancelled,
    UploadLimitExceeded,
    YouTubeUnavailable,
)
from shorts_desktop.core.publish.youtube import (
    SESSION_EXPIRED_NOTICE,
    Backoff,
    VideoMetadata,
    upload_video,
)
from tests.stubs.youtube_stub import YouTubeStub, stub_credentials

pytestmark = pytest.mark.usefixtures("offline")

KIB = 1024
CHUNK = 256 * KIB
REPO = Path(__file__).resolve().parents[2]
FAST = Backoff(attempts=4, base_delay=0.001, max_delay=0.01, jitter=False)


@pytest.fixture
def video(tmp_path: Path) -> Path:
    """A file that is not a whole number of chunks, so the last chunk is short."""
    path = tmp_path / "short.mp4"
    path.write_bytes(os.urandom(2 * CHUNK + 12_345))
    return path




class Calls:
    """What the callbacks saw, in order."""

    def __init__(self, stub: YouTubeStub) -> None:
        self.stub = stub
        self.sessions: list[tuple[str, int]] = []  # (uri, data PUTs the stub had seen then)
        self.progress: list[tuple[int, int]] = []
        self.notices: list[str] = []
        self.sleeps: list[float] = []

    def kwargs(self) -> dict[str, object]:
        return {
            "api_root": self.stub.api_root,
            "on_session": lambda uri: self.sessions.append((uri, self.stub.data_puts)),
            "on_progress": lambda sent, total: self.progress.append((sent, total)),
            "on_notice": self.notices.append,
            "chunk_size": CHUNK,
            "backoff": FAST,
            "sleep": self.sleeps.append,
        }


def upload(stub: YouTubeStub, path: Path, meta: VideoMetadata | None = None, **extra: object):
    calls = Calls(stub)
    kwargs = calls.kwargs() | extra
    result = upload_video(
        stub_credentials(stub), path, meta or VideoMetadata("A short", "About it", ["a"]), **kwargs
    )
    return result, calls


def test_a_whole_publish_sends_the_file_and_every_field(
    stub: YouTubeStub, video: Path
) -> None:
    meta = VideoMetadata(
        "My first Short",
        "Line one.\nLine two.",
        ["cats", "funny cats", " "],
        category_id="15",
        default_language="en",
        privacy="public",
        synthetic_media=True,
    )
    result, calls = upload(stub, video, meta)

    session = stub.session()
    stub.assert_each_byte_once(session, video.read_bytes())
    assert session.query["part"] == ["snippet,status"]
    assert session.metadata == {
        "snippet": {
            "title": "My first Short",
            "description": "Line one.\nLine two.\n#Shorts",
            "tags": ["cats", "funny cats"],
            "categoryId": "15",
            "defaultLanguage": "en",
        },
        "status": {
            "privacyStatus": "public",
            "selfDeclaredMadeForKids": False,
            "containsSyntheticMedia": True,
        },
    }
    assert result.video_id == session.video_id == "vid1"
    assert (result.privacy_asked, result.privacy_got, result.forced_private) == (
        "public", "public", False
    )
    assert result.url == "https://youtube.com/shorts/vid1"
    # The session URI reached the caller before the first byte went out.
    assert calls.sessions == [(calls.sessions[0][0], 0)]
    assert "upload_id=s1" in calls.sessions[0][0]
    total = video.stat().st_size
    assert calls.progress[0] == (0, total) and calls.progress[-1] == (total, total)
    assert [p for p, _ in calls.progress] == sorted(p for p, _ in calls.progress)
    assert stub.data_puts == 3 and calls.sleeps == [] and calls.notices == []


def test_privacy_is_always_sent_and_a_schedule_needs_private(
    stub: YouTubeStub, video: Path
) -> None:
    when = datetime.now(UTC) + timedelta(days=2)
    upload(stub, video, VideoMetadata("Later", "#shorts inside", publish_at=when))
    status = stub.session().metadata["status"]
    assert status["privacyStatus"] == "private"
    assert status["publishAt"] == when.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert status["selfDeclaredMadeForKids"] is False
    assert status["containsSyntheticMedia"] is False
    assert stub.session().metadata["snippet"]["description"] == "#shorts inside"

    with pytest.raises(UserError, match="set the privacy to private"):
        VideoMetadata("x", privacy="public", publish_at=when).body()
    with pytest.raises(UserError, match="in the past"):
        VideoMetadata("x", publish_at=datetime.now(UTC) - timedelta(minutes=1)).body()


@pytest.mark.parametrize(
    ("meta", "match"),
    [
        (VideoMetadata("x" * 101), "101 characters long; YouTube allows at most 100"),
        (VideoMetadata("a <b> title"), "< or > in a title"),
        (VideoMetadata("   "), "needs a title"),
        (VideoMetadata("ok", privacy="secret"), "not a YouTube privacy setting"),
        (VideoMetadata("ok", "d" * 4995), "bytes long; YouTube allows at most 5000"),
        (VideoMetadata("ok", tags=["t" * 250, "u" * 251]), "tags add up to 502"),
    ],
)
def test_metadata_youtube_would_refuse_is_caught_first(meta: VideoMetadata, match: str) -> None:
    with pytest.raises(UserError, match=match):
        meta.body()


def test_body_keeps_an_existing_shorts_tag_and_marks_an_empty_description() -> None:
    assert VideoMetadata("t", "Watch #SHORTS").body()["snippet"]["description"] == "Watch #SHORTS"
    assert VideoMetadata("t").body()["snippet"]["description"] == "#Shorts"
    assert "tags" not in VideoMetadata("t").body()["snippet"]
    assert "defaultLanguage" not in VideoMetadata("t").body()["snippet"]


def test_a_503_in_the_middle_is_retried_and_every_byte_arrives_once(
    stub: YouTubeStub, video: Path
) -> None:
    stub.fail_puts = {2}
    result, calls = upload(stub, video)
    stub.assert_each_byte_once(stub.session(), video.read_bytes())
    assert calls.sleeps == [FAST.base_delay]
    assert stub.status_queries == 1  # asked where the session stood before sending again
    assert result.video_id == "vid1" and len(stub.videos) == 1


def test_a_connection_cut_mid_chunk_resumes_from_what_youtube_kept(
    stub: YouTubeStub, video: Path
) -> None:
    stub.cut_put = 2  # half of the second chunk arrives, then the connection is reset
    _, calls = upload(stub, video)
    session = stub.session()
    stub.assert_each_byte_once(session, video.read_bytes())
    assert session.ranges[1] == (CHUNK, CHUNK + CHUNK // 2)
    assert session.ranges[2][0] == CHUNK + CHUNK // 2
    assert len(calls.sleeps) == 1 and len(stub.videos) == 1


def test_failures_that_do_not_stop_give_up_with_the_session_kept(
    stub: YouTubeStub, video: Path
) -> None:
    stub.fail_puts = {2, 3, 4, 5}
    with pytest.raises(YouTubeUnavailable, match=r"HTTP 503\) after 4 tries") as caught:
        upload(stub, video)
    assert "continues where it stopped" in str(caught.value)
    assert list(stub.sessions) == ["s1"] and stub.videos == {}

    stub.fail_puts = set()
    session_uri = f"{stub.url}upload/youtube/v3/videos?uploadType=resumable&upload_id=s1"
    result, calls = upload(stub, video, session_uri=session_uri)
    stub.assert_each_byte_once(stub.session(), video.read_bytes())
    assert calls.sessions == [] and calls.progress[0] == (CHUNK, video.stat().st_size)
    assert result.video_id == "vid1"


def test_a_killed_upload_resumes_and_sends_only_the_rest(
    stub: YouTubeStub, tmp_path: Path
) -> None:
    path = tmp_path / "big.mp4"
    data = os.urandom(2 * 1024 * KIB + 777)
    path.write_bytes(data)
    saved = tmp_path / "session.txt"
    stub.stall_after = 1  # the second chunk hangs, so the kill lands mid-upload
    script = (
        "import pathlib, sys\n"
        "from google.oauth2.credentials import Credentials\n"
        "from shorts_desktop.core.publish.youtube import VideoMetadata, upload_video\n"
        "root, video, saved, token = sys.argv[1:5]\n"
        "def on_session(uri):\n"
        "    tmp = pathlib.Path(saved + '.tmp'); tmp.write_text(uri); tmp.replace(saved)\n"
        "upload_video(Credentials(token=token), pathlib.Path(video), VideoMetadata('Killed'),\n"
        "             api_root=root, on_session=on_session, chunk_size=256 * 1024)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen(
        [sys.executable, "-c", script, stub.api_root, str(path), str(saved), stub.access_token],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert stub.stalled.wait(20), child.communicate(timeout=5)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    session = stub.session()
    assert session.ranges == [(0, CHUNK)] and session.video_id is None

    stub.stall_after = None
    stub.release.set()
    result, calls = upload(stub, path, VideoMetadata("Killed"), session_uri=saved.read_text())

    stub.assert_each_byte_once(session, data)
    assert session.ranges[1][0] == CHUNK  # the resumed run began where the dead one stopped
    assert calls.sessions == [] and calls.progress[0] == (CHUNK, len(data))
    assert len(stub.sessions) == 1 and list(stub.videos) == [result.video_id]


def test_an_expired_session_starts_a_new_one_and_says_so(stub: YouTubeStub, video: Path) -> None:
    cancel = threading.Event()
    first = Calls(stub)
    stop_after_a_chunk = {"on_progress": lambda sent, _: sent and cancel.set(), "cancel": cancel}
    kwargs = first.kwargs() | stop_after_a_chunk
    with pytest.raises(UploadCancelled):
        upload_video(stub_credentials(stub), video, VideoMetadata("t"), **kwargs)
    stub.expire_sessions()

    result, calls = upload(stub, video, session_uri=first.sessions[0][0])
    assert calls.notices == [SESSION_EXPIRED_NOTICE]
    assert len(calls.sessions) == 1 and "upload_id=s2" in calls.sessions[0][0]
    stub.assert_each_byte_once(stub.sessions["s2"], video.read_bytes())
    assert stub.sessions["s1"].video_id is None and list(stub.videos) == [result.video_id]


def test_a_finished_session_returns_its_video_without_sending_again(
    stub: YouTubeStub, video: Path
) -> None:
    first, calls = upload(stub, video)
    puts = stub.data_puts
    again, calls_again = upload(stub, video, session_uri=calls.sessions[0][0])
    assert again.video_id == first.video_id and stub.data_puts == puts
    assert len(stub.videos) == 1 and calls_again.notices == []


def test_an_expired_access_token_mid_upload_is_refreshed_and_the_chunk_resent(
    stub: YouTubeStub, video: Path
) -> None:
    stub.unauthorized_put = 2
    creds = stub_credentials(stub)
    calls = Calls(stub)
    upload_video(creds, video, VideoMetadata("t"), **calls.kwargs())
    stub.assert_each_byte_once(stub.session(), video.read_bytes())
    assert [r["grant_type"] for r in stub.token_requests] == ["refresh_token"]
    assert creds.token == stub.access_token != "access-1"
    assert calls.sleeps == []


@pytest.mark.parametrize(
    ("error", "kind", "sentence"),
    [
        ("quotaExceeded", QuotaExceeded, QUOTA),
        ("uploadLimitExceeded", UploadLimitExceeded, UPLOAD_LIMIT),
    ],
)
def test_quota_and_upload_limit_are_sentences(
    stub: YouTubeStub, video: Path, error: str, kind: type[ShortsError], sentence: str
) -> None:
    stub.insert_error = error
    with pytest.raises(kind) as caught:
        upload(stub, video)
    assert str(caught.value) == sentence
    assert caught.value.__cause__ is None and stub.sessions == {}


def test_another_refusal_quotes_youtube(stub: YouTubeStub, video: Path) -> None:
    stub.insert_error = "forbidden"
    with pytest.raises(ShortsError, match=r"^YouTube refused the request: Access forbidden\.$"):
        upload(stub, video)


def test_a_revoked_sign_in_asks_to_reconnect(stub: YouTubeStub, video: Path) -> None:
    stub.refresh_error = "invalid_grant"
    creds = stub_credentials(stub, expired=True)
    with pytest.raises(ReconnectNeeded) as caught:
        upload_video(creds, video, VideoMetadata("t"), api_root=stub.api_root)
    assert str(caught.value) == RECONNECT
    for secret in ("refresh-1", "access-1", "client-secret-value"):
        assert secret not in str(caught.value)
    assert stub.sessions == {}


def test_a_rejected_token_with_no_way_to_refresh_asks_to_reconnect(
    stub: YouTubeStub, video: Path
) -> None:
    stub.expire_tokens()
    stub.refresh_error = "invalid_grant"
    with pytest.raises(ReconnectNeeded, match="connect the account again"):
        upload_video(stub_credentials(stub), video, VideoMetadata("t"), api_root=stub.api_root)


def test_offline_is_a_sentence_and_nothing_reaches_google(video: Path) -> None:
    sleeps: list[float] = []
    creds = Credentials(token="access-1")
    with pytest.raises(YouTubeUnavailable) as caught:
        upload_video(creds, video, VideoMetadata("t"), backoff=FAST, sleep=sleeps.append)
    assert str(caught.value) == (
        "Could not reach YouTube to start the upload after 4 tries; check the internet "
        "connection, then try again later."
    )
    assert len(sleeps) == 3


def test_a_missing_file_is_the_users_to_fix(stub: YouTubeStub, tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"does not exist\.$"):
        upload_video(stub_credentials(stub), tmp_path / "nope.mp4", VideoMetadata("t"),
                     api_root=stub.api_root)
    assert stub.requests == []


def test_forced_private_is_reported(stub: YouTubeStub, video: Path) -> None:
    stub.force_private = True
    result, _ = upload(stub, video, VideoMetadata("t", privacy="unlisted"))
    assert (result.privacy_asked, result.privacy_got, result.forced_private) == (
        "unlisted", "private", True
    )
    assert "private until the project passes an audit" in UNVERIFIED_NOTE


def test_cancel_stops_between_chunks_and_a_new_run_continues(
    stub: YouTubeStub, video: Path
) -> None:
    cancel = threading.Event()
    calls = Calls(stub)
    kwargs = calls.kwargs() | {
        "on_progress": lambda sent, total: cancel.set() if sent >= CHUNK else None,
        "cancel": cancel,
    }
    with pytest.raises(UploadCancelled):
        upload_video(stub_credentials(stub), video, VideoMetadata("t"), **kwargs)
    assert stub.data_puts == 1 and stub.videos == {}
    result, _ = upload(stub, video, session_uri=calls.sessions[0][0])
    stub.assert_each_byte_once(stub.session(), video.read_bytes())
    assert result.video_id == "vid1"


def test_chunk_size_must_be_whole_256_kib_units(stub: YouTubeStub, video: Path) -> None:
    with pytest.raises(ValueError, match="multiple of 262144"):
        upload(stub, video, chunk_size=100_000)
