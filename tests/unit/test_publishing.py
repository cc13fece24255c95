"""Publishing a processed job to the local YouTube stub, then the guide's cleanup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shorts_desktop.core.db.models import Job
from shorts_desktop.core.errors import UserError
from shorts_desktop.core.publish import auth
from shorts_desktop.core.publish.errors import QUOTA, QuotaExceeded, ReconnectNeeded
from shorts_desktop.core.publish.youtube import Backoff
from shorts_desktop.core.services.publishing import (
    CLIENT_SECRET,
    NOT_CONNECTED,
    PublishingService,
)
from tests.stubs.youtube_stub import MemoryStore, YouTubeStub, stub_credentials
from tests.unit.conftest import Env, Media
from tests.unit.test_processing import make_job, processing_for

pytestmark = pytest.mark.usefixtures("offline")

FAST = Backoff(attempts=3, base_delay=0.001, max_delay=0.01, jitter=False)


def signed_in(stub: YouTubeStub) -> MemoryStore:
    """A store holding a sign-in the stub accepts, as `youtube login` leaves it."""
    store = MemoryStore()
    auth.save_credentials(store, stub_credentials(stub))
    return store


def publishing_for(env: Env, stub: YouTubeStub, store: auth.SecretStore,
                   **variables: str) -> PublishingService:
    variables = {"SHORTS_DESKTOP_YOUTUBE_API_ROOT": stub.api_root,
                 "SHORTS_DESKTOP_GOOGLE_TOKEN_URI": stub.token_uri, **variables}
    settings = env.with_settings(**variables)
    env.jobs.settings = settings
    return PublishingService(settings, env.jobs, processing_for(env, **variables), store,
                             backoff=FAST)


def client_file(folder: Path) -> Path:
    """An OAuth client (Desktop app) JSON, as Google Cloud Console downloads it."""
    client = folder / "client_secret.json"
    client.write_text(json.dumps({"installed": {
        "client_id": "cid.apps.googleusercontent.com", "client_secret": "s3cr3t",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "redirect_uris": ["http://localhost"]}}))
    return client


def processed_job(env: Env, media: Media, **variables: str) -> Job:
    job = make_job(env, media)
    return processing_for(env, **variables).process(job.id)


def test_a_processed_job_is_published_and_its_temporary_inputs_cleaned(
    env: Env, media: Media, stub: YouTubeStub
) -> None:
    job = processed_job(env, media)
    Job.update(description="Made on a desktop.", tags=["shorts", "testing"],
               privacy="unlisted").where(Job.id == job.id).execute()
    publishing = publishing_for(env, stub, signed_in(stub))
    sent: list[tuple[int, int]] = []
    outcome = publishing.publish(job.id, progress=lambda a, b: sent.append((a, b)))

    session = stub.session()
    stub.assert_each_byte_once(session, env.raw_get(f"processed/{job.id}/short.mp4") or b"")
    snippet, status = session.metadata["snippet"], session.metadata["status"]
    assert snippet["title"] == "Tiny test"
    assert snippet["description"] == "Made on a desktop.\n#Shorts"
    assert snippet["tags"] == ["shorts", "testing"] and snippet["categoryId"] == "22"
    assert status["privacyStatus"] == "unlisted"
    assert status["containsSyntheticMedia"] is True  # espeak spoke it
    assert status["selfDeclaredMadeForKids"] is False

    published = env.jobs.get(job.id)
    assert published.status == "published"
    assert published.youtube_video_id == outcome.video_id == session.video_id
    assert published.published_video_url == f"https://youtube.com/shorts/{outcome.video_id}"
    assert published.youtube_session_uri is None
    assert sent[-1][0] == sent[-1][1] == session.total
    # the guide's cleanup ran by itself: temporary inputs gone, processed/ kept
    assert sorted(outcome.result.deleted) == sorted(
        [job.video_upload_id, job.transcript_upload_id])  # type: ignore[attr-defined]
    assert env.keys("temp/") == []
    assert len(env.keys(f"processed/{job.id}/")) == 6


def test_processed_results_go_too_when_not_kept(
    s3_env: Env, media: Media, stub: YouTubeStub
) -> None:
    job = processed_job(s3_env, media)
    publishing = publishing_for(s3_env, stub, signed_in(stub),
                                SHORTS_DESKTOP_KEEP_PROCESSED="false",
                                SHORTS_DESKTOP_AFTER_PUBLISH="promote")
    outcome = publishing.publish(job.id)
    assert outcome.results_removed == 6
    assert s3_env.keys("processed/") == []
    assert s3_env.jobs.get(job.id).result_keys == []
    assert len(outcome.result.promoted) == 2 and s3_env.keys("temp/") == []


def test_without_a_connected_account_nothing_is_sent(
    s3_env: Env, media: Media, stub: YouTubeStub
) -> None:
    job = processed_job(s3_env, media)
    with pytest.raises(ReconnectNeeded, match=NOT_CONNECTED.split(";")[0]):
        publishing_for(s3_env, stub, MemoryStore()).publish(job.id)
    assert s3_env.jobs.get(job.id).status == "processed"
    assert stub.sessions == {}


def test_a_job_not_yet_processed_is_refused(s3_env: Env, media: Media,
                                            stub: YouTubeStub) -> None:
    job = make_job(s3_env, media)
    refused = r"is created; only a processed job can be published \(process it first\)\.$"
    with pytest.raises(UserError, match=refused):
        publishing_for(s3_env, stub, signed_in(stub)).publish(job.id)


def test_quota_exceeded_keeps_the_job_processed_with_the_reason(
    s3_env: Env, media: Media, stub: YouTubeStub
) -> None:
    job = processed_job(s3_env, media)
    stub.insert_error = "quotaExceeded"
    with pytest.raises(QuotaExceeded, match="quota"):
        publishing_for(s3_env, stub, signed_in(stub)).publish(job.id)
    after = s3_env.jobs.get(job.id)
    assert after.status == "processed" and after.error == QUOTA
    assert s3_env.keys("temp/") != []  # inputs untouched: nothing was published


def test_an_interrupted_upload_resumes_its_session_and_makes_one_video(
    s3_env: Env, media: Media, stub: YouTubeStub
) -> None:
    job = processed_job(s3_env, media)
    publishing = publishing_for(s3_env, stub, signed_in(stub))
    stub.fail_puts = {1, 2, 3}  # every try of the first chunk: retries run out
    with pytest.raises(Exception, match="503"):
        publishing.publish(job.id)
    interrupted = s3_env.jobs.get(job.id)
    assert interrupted.status == "processed" and interrupted.youtube_session_uri
    stub.fail_puts = set()
    outcome = publishing.publish(job.id)
    assert len(stub.sessions) == 1 and len(stub.videos) == 1
    stub.assert_each_byte_once(stub.session(),
                               s3_env.raw_get(f"processed/{job.id}/short.mp4") or b"")
    assert s3_env.jobs.get(job.id).youtube_video_id == outcome.video_id


def test_a_job_left_publishing_by_a_crash_continues(
    s3_env: Env, media: Media, stub: YouTubeStub
) -> None:
    job = processed_job(s3_env, media)
    publishing = publishing_for(s3_env, stub, signed_in(stub))
    stub.fail_puts = {1, 2, 3}
    with pytest.raises(Exception, match="503"):
        publishing.publish(job.id)
    Job.update(status="publishing").where(Job.id == job.id).execute()  # as kill -9 leaves it
    stub.fail_puts = set()
    publishing.publish(job.id)
    assert len(stub.videos) == 1 and s3_env.jobs.get(job.id).status == "published"


def test_the_client_file_is_remembered_per_profile(
    s3_env: Env, stub: YouTubeStub, tmp_path: Path
) -> None:
    store = MemoryStore()
    publishing = publishing_for(s3_env, stub, store)
    with pytest.raises(UserError, match="Choose your OAuth client file first"):
        publishing.client_config()
    client = client_file(tmp_path)
    publishing.client_config(client)
    assert publishing.has_client()
    assert store.get_secret(CLIENT_SECRET) and "s3cr3t" in str(store.get_secret(CLIENT_SECRET))
    assert publishing.client_config()["installed"]["client_id"] == "cid.apps.googleusercontent.com"


def test_status_names_the_channel_and_logout_revokes(
    s3_env: Env, stub: YouTubeStub
) -> None:
    store = signed_in(stub)
    publishing = publishing_for(s3_env, stub, store)
    channel = publishing.status()
    assert channel is not None and channel.title
    assert publishing.disconnect() is None
    assert stub.revoked and not publishing.connected()
    assert publishing.status() is None


def test_a_keyring_that_cannot_be_used_is_said_for_the_sign_in(
    s3_env: Env, stub: YouTubeStub, tmp_path: Path
) -> None:
    """The keyring's own sentence advises AWS keys instead; the sign-in has no such way."""
    from shorts_desktop.core.credentials import KeyringStore, KeyringUnavailable
    from tests.unit.test_credentials import LockedKeyring, using

    client = client_file(tmp_path)
    with using(LockedKeyring()):
        publishing = publishing_for(s3_env, stub, KeyringStore())
        for attempt in (publishing.has_client, publishing.connected, publishing.status,
                        publishing.disconnect, lambda: publishing.client_config(client)):
            with pytest.raises(KeyringUnavailable) as raised:
                attempt()
            said = str(raised.value)
            assert said.startswith("The OS keyring cannot be used (the keyring is locked); "
                                   "the YouTube sign-in is kept there"), said
            assert "AWS" not in said and "s3cr3t" not in said
