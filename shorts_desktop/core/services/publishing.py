"""Publishing a processed job to the creator's YouTube channel, then the guide's cleanup.

The resumable session is saved in the job's row before the first byte goes, so an upload
killed half-way (or cut off by the network) continues from what YouTube confirmed and never
starts a second video. Only after YouTube answers with the video id is the job `published`;
then its temporary inputs are deleted or promoted (SHORTS_DESKTOP_AFTER_PUBLISH) and its
processed/ results kept or removed (SHORTS_DESKTOP_KEEP_PROCESSED).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from shorts_desktop.core.config import Settings
from shorts_desktop.core.credentials import DEFAULT_PROFILE, KeyringUnavailable
from shorts_desktop.core.errors import ShortsError, UserError
from shorts_desktop.core.publish import auth
from shorts_desktop.core.publish._client import DEFAULT_API_ROOT
from shorts_desktop.core.publish.errors import RECONNECT, UNVERIFIED_NOTE, ReconnectNeeded
from shorts_desktop.core.publish.youtube import Backoff, VideoMetadata, upload_video
from shorts_desktop.core.services.jobs import JobService, PublishResult, find_job
from shorts_desktop.core.services.processing import JobLock, ProcessingService

log = logging.getLogger(__name__)

#: The creator's own OAuth client (from their Google Cloud project), remembered per profile.
CLIENT_SECRET = "youtube-client"
NOT_CONNECTED = (
    "No YouTube account is connected; connect one first (Settings → Connect YouTube account, "
    "or `shorts-desktop youtube login --client-secrets FILE`)."
)


class _SignInSecrets:
    """The keyring as the YouTube sign-in uses it. A keyring that cannot be used is said in
    the sign-in's words: the keyring's own sentence advises AWS keys instead, which are no
    way to keep a YouTube sign-in."""

    def __init__(self, store: auth.SecretStore) -> None:
        self.store = store

    def get_secret(self, name: str, profile: str = DEFAULT_PROFILE) -> str | None:
        with _said_for_the_sign_in():
            return self.store.get_secret(name, profile)

    def set_secret(self, name: str, value: str, profile: str = DEFAULT_PROFILE) -> None:
        with _said_for_the_sign_in():
            self.store.set_secret(name, value, profile)

    def clear_secret(self, name: str, profile: str = DEFAULT_PROFILE) -> object:
        with _said_for_the_sign_in():
            return self.store.clear_secret(name, profile)


@contextlib.contextmanager
def _said_for_the_sign_in() -> Iterator[None]:
    try:
        yield
    except KeyringUnavailable as exc:
        raise KeyringUnavailable(
            f"The OS keyring cannot be used ({exc.why}); the YouTube sign-in is kept there and "
            "nowhere else, so connecting and publishing need it: unlock or start it, then try "
            "again.", exc.why) from None


@dataclass
class PublishOutcome:
    """What publishing did: the video, and what the cleanup after it did."""

    result: PublishResult
    video_id: str
    url: str
    forced_private: bool = False
    notes: list[str] = field(default_factory=list)
    results_removed: int = 0


class PublishingService:
    """Sign-in and upload to YouTube; the one place that turns a processed job into a video."""

    def __init__(self, settings: Settings, jobs: JobService, processing: ProcessingService,
                 store: auth.SecretStore, *, backoff: Backoff | None = None) -> None:
        self.settings = settings
        self.jobs = jobs
        self.processing = processing
        self.store = _SignInSecrets(store)
        self.backoff = backoff  # None: the upload's own (seconds apart); tests pass a fast one

    @property
    def profile(self) -> str:
        return self.settings.profile

    @property
    def api_root(self) -> str:
        root = self.settings.youtube_api_root
        return f"{root}/" if root else DEFAULT_API_ROOT

    @property
    def token_uri(self) -> str | None:
        return self.settings.google_token_uri

    @property
    def revoke_uri(self) -> str | None:
        uri = self.settings.google_token_uri
        return f"{uri.rsplit('/', 1)[0]}/revoke" if uri else None

    # -- the account ---------------------------------------------------------------------------

    def client_config(self, client_secrets: Path | None = None) -> dict[str, Any]:
        """The OAuth client from this file (then remembered), or the one remembered before."""
        if client_secrets is not None:
            config = auth.load_client_secrets(client_secrets)
            self.store.set_secret(CLIENT_SECRET, json.dumps(config), self.profile)
            return config
        raw = self.store.get_secret(CLIENT_SECRET, self.profile)
        if not raw:
            raise UserError(
                "Choose your OAuth client file first (the client-secrets JSON of a Desktop "
                "app client from your Google Cloud project): `shorts-desktop youtube login "
                "--client-secrets FILE`, or Settings → Connect YouTube account."
            )
        return auth.parse_client_config(json.loads(raw), "The remembered OAuth client")

    def has_client(self) -> bool:
        return bool(self.store.get_secret(CLIENT_SECRET, self.profile))

    def connect(self, client_secrets: Path | None = None, *, open_browser: bool = True,
                on_url: Callable[[str], None] | None = None,
                timeout_seconds: float | None = 300) -> auth.Channel:
        """Google's sign-in in the browser; the token goes to the keyring. Returns the channel."""
        config = self.client_config(client_secrets)
        creds = auth.login(config, self.store, self.profile, open_browser=open_browser,
                           token_uri=self.token_uri, on_url=on_url,
                           timeout_seconds=timeout_seconds)
        return auth.channel(creds, self.api_root)

    def credentials(self) -> Any:
        creds = auth.load_credentials(self.store, self.profile, token_uri=self.token_uri)
        if creds is None:
            raise ReconnectNeeded(NOT_CONNECTED)
        return creds

    def connected(self) -> bool:
        return bool(self.store.get_secret(auth.TOKEN_SECRET, self.profile))

    def status(self) -> auth.Channel | None:
        """The connected channel, or None when no account is connected."""
        if not self.connected():
            return None
        return auth.channel(self.credentials(), self.api_root)

    def disconnect(self) -> str | None:
        """Revoke the sign-in and forget it; a note when Google could not be told."""
        return auth.logout(self.store, self.profile, revoke_uri=self.revoke_uri)

    # -- publishing ----------------------------------------------------------------------------

    def metadata(self, job_id: str, publish_at: datetime | None = None) -> VideoMetadata:
        job = find_job(job_id)
        info = job.render_info or {}
        return VideoMetadata(
            title=job.title,
            description=job.description or "",
            tags=list(job.tags or []),
            category_id=self.settings.youtube_category,
            default_language=self.settings.youtube_language,
            privacy=job.privacy,
            made_for_kids=self.settings.made_for_kids,
            synthetic_media=bool(info.get("synthetic")),
            publish_at=publish_at,
        )

    def publish(self, job_id: str, *, progress: Callable[[int, int], None] | None = None,
                notice: Callable[[str], None] | None = None,
                cancel: threading.Event | None = None,
                publish_at: datetime | None = None) -> PublishOutcome:
        """Upload the job's Short as a new video (or finish the interrupted upload)."""
        job = find_job(job_id)
        if job.status not in ("processed", "publishing"):
            raise UserError(
                f"Job {job.id} is {job.status}; only a processed job can be published"
                + (" (process it first)." if job.status in ("created", "queued", "failed")
                   else ".")
            )
        metadata = self.metadata(job.id, publish_at)
        metadata.body()  # refuse what YouTube would refuse before anything is fetched
        creds = self.credentials()
        lock = JobLock(self.processing.work_root / f"{job.id}.publish.lock")
        if not lock.acquire():
            raise UserError(f"Job {job.id} is being published right now.")
        try:
            short = self.processing.preview(job.id)  # a verified local copy
            job = self.jobs.begin_publishing(job.id)
            try:
                uploaded = upload_video(
                    creds, short, metadata,
                    api_root=self.api_root,
                    session_uri=job.youtube_session_uri,
                    on_session=lambda uri: self.jobs.save_youtube_session(job_id, uri),
                    on_progress=progress,
                    on_notice=notice,
                    cancel=cancel,
                    backoff=self.backoff,
                )
            except ReconnectNeeded as exc:
                self.jobs.publish_failed(job.id, RECONNECT)
                raise exc
            except ShortsError as exc:
                self.jobs.publish_failed(job.id, str(exc))
                raise
            except BaseException:
                self.jobs.publish_failed(job.id, "The upload to YouTube was interrupted.")
                raise
            result = self.jobs.mark_published(job.id, uploaded.url, uploaded.video_id)
        finally:
            lock.release()
        outcome = PublishOutcome(result, uploaded.video_id, uploaded.url,
                                 uploaded.forced_private)
        if uploaded.forced_private:
            outcome.notes.append(UNVERIFIED_NOTE)
        if not self.settings.keep_processed:
            try:
                outcome.results_removed = self.processing.remove_results(job.id)
                result.job = self.jobs.results_removed(job.id)
            except ShortsError as exc:
                outcome.notes.append(f"The processed files were kept: {exc}")
        return outcome
