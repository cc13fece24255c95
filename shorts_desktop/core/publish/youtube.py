"""Publishing a Short: the videos.insert body, and a resumable upload that survives a kill.

The session URI is handed to the caller before any byte goes out; given back, the upload
asks YouTube how much it holds and sends only the rest, so a crash never makes a second
video. Only an expired session (404/410) starts a new one, and the caller is told.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from shorts_desktop.core.errors import ShortsError, UserError
from shorts_desktop.core.publish._client import (
    DEFAULT_API_ROOT,
    RETRY_STATUSES,
    api_error,
    build_service,
    failure,
    is_network_error,
    status_of,
)
from shorts_desktop.core.publish.errors import (
    UNVERIFIED_NOTE,
    UploadCancelled,
    YouTubeUnavailable,
)

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials

log = logging.getLogger(__name__)

__all__ = [
    "UNVERIFIED_NOTE",
    "Backoff",
    "CancelFlag",
    "UploadResult",
    "VideoMetadata",
    "upload_video",
]

KIB = 1024
CHUNK_UNIT = 256 * KIB  # YouTube wants every chunk but the last in multiples of this
DEFAULT_CHUNK = 8 * 1024 * KIB
PRIVACY = ("private", "unlisted", "public")
TITLE_MAX = 100
DESCRIPTION_MAX_BYTES = 5000
TAGS_MAX = 500
SESSION_EXPIRED_NOTICE = (
    "The saved YouTube upload session had expired, so the upload starts again from the "
    "beginning as a new video."
)


@dataclass(frozen=True)
class VideoMetadata:
    """What the viewer sees and who may see it; `body()` checks it the way YouTube would."""

    title: str
    description: str = ""
    tags: Sequence[str] = ()
    category_id: str = "22"  # People & Blogs
    default_language: str | None = None
    privacy: str = "private"
    made_for_kids: bool = False
    synthetic_media: bool = False
    publish_at: datetime | None = None

    def body(self, now: datetime | None = None) -> dict[str, Any]:
        """The videos.insert body (parts snippet and status), or UserError saying what to fix."""
        title = " ".join(self.title.split())
        if not title:
            raise UserError("The video needs a title.")
        if len(title) > TITLE_MAX:
            raise UserError(
                f"The title is {len(title)} characters long; YouTube allows at most {TITLE_MAX}."
            )
        if "<" in title or ">" in title:
            raise UserError("YouTube does not allow < or > in a title.")
        description = self.description.strip()
        if "#shorts" not in description.lower():
            description = f"{description}\n#Shorts" if description else "#Shorts"
        if "<" in description or ">" in description:
            raise UserError("YouTube does not allow < or > in a description.")
        size = len(description.encode("utf-8"))
        if size > DESCRIPTION_MAX_BYTES:
            raise UserError(
                f"The description (with #Shorts) is {size} bytes long; YouTube allows at most "
                f"{DESCRIPTION_MAX_BYTES}."
            )
        tags = [" ".join(tag.split()) for tag in self.tags]
        tags = [tag for tag in tags if tag]
        # YouTube counts a tag with a space as quoted, and a comma between tags.
        length = sum(len(t) + (2 if " " in t else 0) for t in tags) + max(0, len(tags) - 1)
        if length > TAGS_MAX:
            raise UserError(
                f"The tags add up to {length} characters; YouTube allows at most {TAGS_MAX}."
            )
        if any("<" in tag or ">" in tag for tag in tags):
            raise UserError("YouTube does not allow < or > in a tag.")
        if not re.fullmatch(r"\d{1,4}", self.category_id):
            raise UserError(f"{self.category_id!r} is not a YouTube category id (a number).")
        if self.privacy not in PRIVACY:
            raise UserError(
                f"{self.privacy!r} is not a YouTube privacy setting; use private, unlisted or "
                "public."
            )

        snippet: dict[str, Any] = {
            "title": title,
            "description": description,
            "categoryId": self.category_id,
        }
        if tags:
            snippet["tags"] = tags
        if self.default_language:
            snippet["defaultLanguage"] = self.default_language
        status: dict[str, Any] = {
            # Always sent: YouTube makes a video without one public.
            "privacyStatus": self.privacy,
            "selfDeclaredMadeForKids": self.made_for_kids,
            "containsSyntheticMedia": self.synthetic_media,
        }
        if self.publish_at is not None:
            status["publishAt"] = self._publish_at(now)
        return {"snippet": snippet, "status": status}

    def _publish_at(self, now: datetime | None) -> str:
        if self.privacy != "private":
            raise UserError(
                "A scheduled video is uploaded as private (YouTube makes it public at the "
                "publish time); set the privacy to private."
            )
        assert self.publish_at is not None
        when = self.publish_at.astimezone(UTC)  # a naive time is the computer's local time
        if when <= (now or datetime.now(UTC)):
            raise UserError("The publish time is in the past; pick a time in the future.")
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class UploadResult:
    """The new video, and whether YouTube kept it private against what was asked.

    `forced_private` is what an unverified API project gets (see UNVERIFIED_NOTE).
    """

    video_id: str
    privacy_asked: str
    privacy_got: str
    forced_private: bool

    @property
    def url(self) -> str:
        return f"https://youtube.com/shorts/{self.video_id}"


@dataclass(frozen=True)
class Backoff:
    """How often and how patiently a failing step (5xx, lost connection) is tried again."""

    attempts: int = 5  # tries of one step, the first included
    base_delay: float = 1.0
    max_delay: float = 30.0
    jitter: bool = True

    def delay(self, failures: int) -> float:
        """The wait before try number `failures + 1`, doubling from `base_delay`."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** (failures - 1))
        return delay * random.uniform(0.5, 1.0) if self.jitter else delay


class CancelFlag(Protocol):
    """A threading.Event, or anything with the two methods the upload uses."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = ...) -> bool: ...


class _SessionGone(Exception):
    """YouTube no longer knows the session (404/410): it expired, nothing was published."""


def upload_video(
    credentials: Credentials,
    path: Path,
    metadata: VideoMetadata,
    *,
    api_root: str = DEFAULT_API_ROOT,
    session_uri: str | None = None,
    on_session: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
    cancel: CancelFlag | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] | None = None,
) -> UploadResult:
    """Upload `path` as a new video, or finish the one `session_uri` started.

    `on_session(uri)` runs before any byte is sent, and again if an expired session had
    to be replaced: persist the URI, and pass it back as `session_uri` after a crash or a
    failure. It is a capability (whoever holds it can add to the upload for about a week):
    keep it out of logs. `on_progress(sent, total)` follows the bytes YouTube confirmed.
    `cancel` is looked at between chunks (and ends a back-off wait).
    """
    if chunk_size <= 0 or chunk_size % CHUNK_UNIT:
        raise ValueError(f"chunk_size must be a positive multiple of {CHUNK_UNIT}")
    body = metadata.body()
    if not path.is_file():
        raise UserError(f"The video file {path} does not exist.")
    total = path.stat().st_size
    if total == 0:
        raise UserError(f"The video file {path} is empty.")
    media = _media(path, chunk_size)
    service = build_service(credentials, api_root)
    try:
        request = service.videos().insert(part="snippet,status", body=body, media_body=media)
        upload = _Upload(
            request,
            total,
            on_session=on_session,
            on_progress=on_progress,
            on_notice=on_notice,
            cancel=cancel,
            backoff=backoff or Backoff(),
            sleep=sleep,
        )
        video = upload.run(session_uri)
    finally:
        media.stream().close()
        service.close()
    return _result(video, metadata.privacy)


def _media(path: Path, chunk_size: int) -> Any:
    from googleapiclient.http import MediaFileUpload

    class _ChunkBytes(MediaFileUpload):  # type: ignore[misc]
        """Each chunk read into bytes, not streamed from the file.

        httplib2 resends a request by itself after some failures (a stale connection, a
        401 and refresh); a bytes body goes out whole again, a half-read stream would not.
        """

        def has_stream(self) -> bool:
            return False

    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return _ChunkBytes(str(path), mimetype=mimetype, chunksize=chunk_size, resumable=True)


def _result(video: Any, asked: str) -> UploadResult:
    if not isinstance(video, dict) or not video.get("id"):
        raise ShortsError("YouTube finished the upload but did not say which video it made.")
    got = str((video.get("status") or {}).get("privacyStatus") or asked)
    return UploadResult(
        video_id=str(video["id"]),
        privacy_asked=asked,
        privacy_got=got,
        forced_private=asked != "private" and got == "private",
    )


class _Upload:
    """One resumable videos.insert: start or find the session, then chunks until done."""

    def __init__(
        self,
        request: Any,
        total: int,
        *,
        on_session: Callable[[str], None] | None,
        on_progress: Callable[[int, int], None] | None,
        on_notice: Callable[[str], None] | None,
        cancel: CancelFlag | None,
        backoff: Backoff,
        sleep: Callable[[float], None] | None,
    ) -> None:
        self.request = request
        self.total = total
        self.on_session = on_session
        self.on_progress = on_progress
        self.on_notice = on_notice
        self.cancel = cancel
        self.backoff = backoff
        self._sleep = sleep

    def run(self, session_uri: str | None) -> Any:
        restarted = False
        while True:
            try:
                if session_uri is None:
                    self._start()
                else:
                    done = self._find(session_uri)
                    if done is not None:
                        return done
                return self._send()
            except _SessionGone:
                if restarted:  # a brand-new session gone at once: not something to loop on
                    raise ShortsError(
                        "YouTube dropped the new upload session at once; try again later."
                    ) from None
                restarted = True
                session_uri = None
                log.warning("YouTube upload session expired; starting a new one")
                if self.on_notice is not None:
                    self.on_notice(SESSION_EXPIRED_NOTICE)

    # -- steps ---------------------------------------------------------------------------

    def _start(self) -> None:
        """POST the metadata; YouTube answers with the session URI (Location)."""
        request = self.request
        headers = dict(request.headers)
        headers["X-Upload-Content-Type"] = request.resumable.mimetype()
        headers["X-Upload-Content-Length"] = str(self.total)
        headers["content-length"] = str(request.body_size)

        def post() -> Any:
            resp, content = request.http.request(
                request.uri, method=request.method, body=request.body, headers=headers
            )
            status = int(resp.status)
            if status == 200 and "location" in resp:
                return resp["location"]
            raise _Refused(status, content)

        location = str(self._retrying(post, "start the upload", in_session=False))
        request.resumable_uri = location
        request.resumable_progress = 0
        log.info("YouTube upload session started")
        if self.on_session is not None:
            self.on_session(location)
        self._progress(0)

    def _find(self, session_uri: str) -> Any:
        """Ask YouTube how much of a saved session it holds; the video if it is complete."""
        request = self.request
        headers = {"Content-Range": f"bytes */{self.total}", "Content-Length": "0"}

        def query() -> tuple[int | None, Any]:
            resp, content = request.http.request(session_uri, "PUT", body=b"", headers=headers)
            status = int(resp.status)
            if status in (200, 201):
                try:
                    return None, json.loads(content)
                except ValueError:
                    return None, {}
            if status == 308:
                got = resp.get("range")
                offset = int(got.rsplit("-", 1)[1]) + 1 if got else 0
                return offset, resp.get("location") or session_uri
            raise _Refused(status, content)

        offset, found = self._retrying(query, "resume the upload")
        if offset is None:
            log.info("YouTube already had the whole upload")
            return found
        request.resumable_uri = str(found)
        request.resumable_progress = offset
        log.info("resuming the YouTube upload at byte %d of %d", offset, self.total)
        if found != session_uri and self.on_session is not None:
            self.on_session(str(found))
        self._progress(offset)
        return None

    def _send(self) -> Any:
        while True:
            self._check_cancel()
            status, video = self._retrying(self.request.next_chunk, "upload the video")
            if video is not None:
                self._progress(self.total)
                return video
            if status is not None:
                self._progress(int(status.resumable_progress))

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise UploadCancelled(
                "The YouTube upload was stopped; uploading it again continues where it stopped."
            )

    def _progress(self, sent: int) -> None:
        if self.on_progress is not None:
            self.on_progress(sent, self.total)

    def _retrying(self, step: Callable[[], Any], what: str, *, in_session: bool = True) -> Any:
        """`step()`, tried again after 5xx and lost connections; any other failure in words.

        After a failed chunk googleapiclient asks YouTube where the session stands before
        it sends again, so a retry never sends a byte YouTube already holds.
        """
        failures = 0
        while True:
            try:
                return step()
            except Exception as exc:
                status = exc.status if isinstance(exc, _Refused) else status_of(exc)
                if in_session and status in (404, 410):
                    raise _SessionGone() from None
                transient = status in RETRY_STATUSES or (status is None and is_network_error(exc))
                if not transient:
                    mapped = (
                        api_error(exc.status, exc.content)
                        if isinstance(exc, _Refused)
                        else failure(exc, what)
                    )
                    if mapped is None:
                        raise
                    raise mapped from None
                failures += 1
                if failures >= self.backoff.attempts:
                    raise self._gave_up(status, what, failures) from None
                delay = self.backoff.delay(failures)
                log.warning(
                    "YouTube: %s; trying again in %.1f s (%d of %d)",
                    f"HTTP {status}" if status else type(exc).__name__,
                    delay,
                    failures + 1,
                    self.backoff.attempts,
                )
                self._wait(delay)
                self._check_cancel()

    def _gave_up(self, status: int | None, what: str, tries: int) -> YouTubeUnavailable:
        later = (
            "uploading again later continues where it stopped"
            if in_session_uri(self.request)
            else "try again later"
        )
        if status:
            return YouTubeUnavailable(
                f"YouTube kept failing (HTTP {status}) after {tries} tries; {later}."
            )
        return YouTubeUnavailable(
            f"Could not reach YouTube to {what} after {tries} tries; check the internet "
            f"connection, then {later}."
        )

    def _wait(self, delay: float) -> None:
        if self._sleep is not None:
            self._sleep(delay)
        elif self.cancel is not None:
            self.cancel.wait(delay)  # the next chunk's check raises UploadCancelled
        else:
            time.sleep(delay)


def in_session_uri(request: Any) -> bool:
    return getattr(request, "resumable_uri", None) is not None


@dataclass
class _Refused(Exception):
    """A non-success answer to one of our own requests (the start and the status query)."""

    status: int
    content: Any = field(repr=False)
