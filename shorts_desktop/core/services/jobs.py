"""Shorts jobs: validated the way YouTube will judge them, with a checked lifecycle.

created -> queued -> processing -> processed -> published, or failed / cancelled.
When a job is published its temporary inputs are deleted or promoted, as the
SHORTS_DESKTOP_AFTER_PUBLISH setting decides (the guide's cleanup after upload).
While a job is unfinished its temporary inputs have their expire tag cleared, so that the
bucket's lifecycle rule keeps them; published or cancelled, the tag is set again.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from shorts_desktop.core.config import Settings
from shorts_desktop.core.db.models import (
    INPUTS_RELEASED_STATUSES,
    Job,
    Upload,
    get_by_id_or_prefix,
    utcnow,
)
from shorts_desktop.core.errors import NotFoundError, ShortsError, UserError
from shorts_desktop.core.render.narration import VOICE_NAMES
from shorts_desktop.core.render.transcript import encoding_of, parse_transcript, words
from shorts_desktop.core.services.uploads import UploadService, find_upload, unfinished_job_using

log = logging.getLogger(__name__)

VOICES = VOICE_NAMES
PRIVACY = ("private", "unlisted", "public")
MAX_TITLE = 100
MAX_DESCRIPTION = 5000
MAX_TAGS_TOTAL = 500
#: What of a transcript is read for its first words, and the largest one fetched from
#: storage for them when the file it was uploaded from is gone or changed.
OPENING_BYTES = 16 * 1024
OPENING_FETCH_MAX = 2 * 1024 * 1024
OPENING_WORDS = 10

TRANSITIONS = {
    "created": {"queued", "processing", "published", "failed", "cancelled"},
    "queued": {"processing", "published", "failed", "cancelled", "created"},
    # back to queued: a run that died (kill -9, power cut) is taken up again
    "processing": {"processed", "queued", "published", "failed", "cancelled"},
    "processed": {"publishing", "published", "failed", "cancelled"},
    # back to processed: an interrupted or refused upload keeps the Short for another try
    "publishing": {"published", "processed", "failed", "cancelled"},
    "published": set(),
    "failed": {"queued", "processing", "cancelled"},
    "cancelled": {"queued", "processing"},
}


def tags_length(tags: list[str]) -> int:
    """Characters the tags use as YouTube counts them: a tag with a space is quoted, plus commas."""
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(0, len(tags) - 1)


def clean_tags(tags: list[str]) -> list[str]:
    out: list[str] = []
    for raw in tags:
        for part in raw.split(","):
            tag = " ".join(part.strip().lstrip("#").split())
            if tag and tag.lower() not in (t.lower() for t in out):
                out.append(tag)
    return out


@dataclass
class JobDraft:
    """The form a job is made from; `problems()` says why it cannot be created yet."""

    title: str = ""
    description: str = ""
    voice: str = ""
    tags: list[str] = field(default_factory=list)
    video_upload_id: str = ""
    transcript_upload_id: str = ""
    privacy: str = "private"

    def problems(self) -> list[str]:
        found: list[str] = []
        title = self.title.strip()
        if not title:
            found.append("The title is empty.")
        elif len(title) > MAX_TITLE:
            found.append(f"The title is {len(title)} characters; YouTube allows {MAX_TITLE}.")
        if "<" in self.title + self.description or ">" in self.title + self.description:
            found.append("YouTube does not allow < or > in titles and descriptions.")
        if len(self.description) > MAX_DESCRIPTION:
            found.append(
                f"The description is {len(self.description):,} characters; YouTube allows "
                f"{MAX_DESCRIPTION:,}."
            )
        used = tags_length(clean_tags(self.tags))
        if used > MAX_TAGS_TOTAL:
            found.append(f"The tags use {used} characters; YouTube allows {MAX_TAGS_TOTAL}.")
        if self.voice not in VOICES:
            found.append(
                f"Unknown voice {self.voice!r}; choose one of {', '.join(VOICES)}."
                if self.voice
                else "Choose a narration voice."
            )
        if self.privacy not in PRIVACY:
            found.append(f"Privacy must be one of {', '.join(PRIVACY)}.")
        found += _input_problems(self.video_upload_id, "video")
        found += _input_problems(self.transcript_upload_id, "transcript")
        return found


def _input_problems(upload_id: str, kind: str) -> list[str]:
    if not upload_id.strip():
        return [f"Choose a {kind}."]
    try:
        upload = find_upload(upload_id, kind)
    except UserError as exc:
        return [str(exc)]
    if upload.status != "completed":
        return [f"The {kind} {upload.original_name!r} is {upload.status}, not completed."]
    return []


def _opening_text(data: bytes, name: str, count: int) -> str:
    """The first `count` words said in the head of a transcript ('' when there are none)."""
    encoding = encoding_of(data)
    if encoding == "utf-16":
        data = data[: len(data) // 2 * 2]
    text = data.decode(encoding, errors="ignore")  # the head may end mid-character
    try:
        said = words(parse_transcript(text, name).text)
    except UserError:
        return ""
    opening = " ".join(said[:count])
    return opening + "…" if len(said) > count else opening


def _local_head(upload: Upload) -> bytes | None:
    """The head of the file the upload was made from, if it is still that content."""
    if not upload.source_path:
        return None
    path = Path(upload.source_path)
    try:
        if not path.is_file() or path.stat().st_size != upload.size:
            return None
        data = path.read_bytes() if upload.size <= OPENING_FETCH_MAX else None
        if data is not None:
            if upload.checksum and hashlib.sha256(data).hexdigest() != upload.checksum:
                return None
            return data[:OPENING_BYTES]
        with path.open("rb") as f:  # a large one: its size is taken as its word
            return f.read(OPENING_BYTES)
    except OSError:
        return None


def find_job(job_id: str) -> Job:
    job = get_by_id_or_prefix(Job, job_id)
    if job is None:
        raise NotFoundError(f"No job has the id {job_id!r}.")
    return job


@dataclass
class PublishResult:
    job: Job
    deleted: list[str] = field(default_factory=list)
    promoted: list[str] = field(default_factory=list)
    kept: list[dict[str, str]] = field(default_factory=list)


class JobService:
    def __init__(self, settings: Settings, uploads: UploadService) -> None:
        self.settings = settings
        self.uploads = uploads

    def create(self, draft: JobDraft) -> Job:
        problems = draft.problems()
        if problems:
            raise UserError(problems[0])
        video = find_upload(draft.video_upload_id, "video")
        transcript = find_upload(draft.transcript_upload_id, "transcript")
        job: Job = Job.create(
            id=str(uuid.uuid4()),
            title=draft.title.strip(),
            description=draft.description,
            voice=draft.voice,
            tags=clean_tags(draft.tags),
            privacy=draft.privacy,
            video_upload=video.id,
            transcript_upload=transcript.id,
            status="created",
        )
        return self._tag_inputs(job)

    def transcript_opening(self, upload_id: str, count: int = OPENING_WORDS) -> str:
        """The first words said in a transcript upload, for the pickers ('' when it has
        none that can be read). Reads the file it was uploaded from when that still holds
        the same content, else fetches a small one from storage; reads the disk or the
        network, so call it from a worker. A storage failure raises (try again later)."""
        upload = find_upload(upload_id, "transcript")
        data = _local_head(upload)
        if data is None:
            if upload.status != "completed" or upload.size > OPENING_FETCH_MAX:
                return ""
            scratch = self.uploads.scratch_dir
            scratch.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=scratch) as folder:
                path = self.uploads.download(upload.id, Path(folder) / "transcript",
                                             overwrite=True)
                with path.open("rb") as f:
                    data = f.read(OPENING_BYTES)
        return _opening_text(data, upload.original_name, count)

    def list(self, status: str | None = None) -> list[Job]:
        query = Job.select().order_by(Job.created_at.desc())
        if status is not None:
            query = query.where(Job.status == status)
        return list(query)

    def get(self, job_id: str) -> Job:
        return find_job(job_id)

    def set_status(self, job_id: str, status: str, error: str | None = None) -> Job:
        job = find_job(job_id)
        if status == job.status:
            return job
        if status not in TRANSITIONS.get(job.status, set()):
            raise UserError(f"A {job.status} job cannot become {status}.")
        now = utcnow()
        Job.update(
            status=status,
            error=error,
            updated_at=now,
            published_at=now if status == "published" else Job.published_at,
        ).where(Job.id == job.id).execute()
        changed = find_job(job.id)
        released = status in INPUTS_RELEASED_STATUSES
        if released != (job.status in INPUTS_RELEASED_STATUSES) and status != "published":
            changed = self._tag_inputs(changed)  # published: after _after_publish
        return changed

    def cancel(self, job_id: str) -> Job:
        return self.set_status(job_id, "cancelled")

    # -- processing: the job runner reports here, so this stays the one writer of job rows --

    def queue(self, job_id: str) -> Job:
        """Mark a job to be made (by the window's job runner, or `job process`)."""
        job = find_job(job_id)
        # processing: a run that died, or one the window stopped when it closed
        if job.status not in ("created", "failed", "cancelled", "queued", "processing"):
            raise UserError(f"A {job.status} job cannot be processed again.")
        queued = self._update(job.id, status="queued", error=None, stage=None, runner=None)
        return self._tag_inputs(queued) if job.status == "cancelled" else queued

    def begin_processing(self, job_id: str, runner: str) -> Job:
        """The job is being made now, by `runner`; results of any earlier run are void."""
        job = find_job(job_id)
        if job.status not in ("created", "queued", "failed", "cancelled", "processing"):
            raise UserError(f"A {job.status} job cannot be processed again.")
        started = self._update(
            job.id, status="processing", stage="fetching", runner=runner, error=None,
            started_at=utcnow(), processed_at=None, result_keys=[], render_info=None,
            thumbnail=None,
        )
        return self._tag_inputs(started) if job.status == "cancelled" else started

    def set_stage(self, job_id: str, stage: str) -> None:
        Job.update(stage=stage, updated_at=utcnow()).where(
            (Job.id == job_id) & (Job.status == "processing")
        ).execute()

    def finish_processing(self, job_id: str, result_keys: Sequence[str],
                          render_info: dict[str, object], thumbnail: bytes | None) -> Job:
        """Recorded only once every result is verified in storage."""
        now = utcnow()
        return self._update(
            job_id, status="processed", stage=None, runner=None, error=None,
            result_keys=[*result_keys], render_info=render_info, thumbnail=thumbnail,
            processed_at=now,
        )

    def fail_processing(self, job_id: str, reason: str, *, cancelled: bool = False) -> Job:
        """Failed keeps the inputs protected (a retry needs them); cancelled releases them."""
        job = self._update(job_id, status="cancelled" if cancelled else "failed",
                           stage=None, runner=None, error=None if cancelled else reason,
                           result_keys=[])
        return self._tag_inputs(job) if cancelled else job

    def results_removed(self, job_id: str) -> Job:
        """processed/ was emptied after publishing (SHORTS_DESKTOP_KEEP_PROCESSED=false)."""
        return self._update(job_id, result_keys=[])

    def _update(self, job_id: str, **values: object) -> Job:
        Job.update(updated_at=utcnow(), **values).where(Job.id == job_id).execute()
        return find_job(job_id)

    # -- publishing: the YouTube upload reports here -------------------------------------------

    def begin_publishing(self, job_id: str) -> Job:
        job = find_job(job_id)
        if job.status == "publishing":
            return job  # an interrupted upload goes on from its saved session
        if job.status != "processed":
            raise UserError(
                f"Job {job.id} is {job.status}; only a processed job (with its Short made) "
                "can be published."
            )
        return self._update(job.id, status="publishing", error=None)

    def save_youtube_session(self, job_id: str, session_uri: str | None) -> None:
        """Saved before the first byte goes, so a killed upload resumes instead of restarting."""
        Job.update(youtube_session_uri=session_uri, updated_at=utcnow()).where(
            Job.id == job_id
        ).execute()

    def publish_failed(self, job_id: str, reason: str) -> Job:
        """Back to processed with the reason; the saved session stays for the next try."""
        return self._update(job_id, status="processed", error=reason)

    def mark_published(self, job_id: str, video_url: str | None = None,
                       video_id: str | None = None) -> PublishResult:
        if video_url:
            host = (urlparse(video_url).hostname or "").lower()
            if urlparse(video_url).scheme not in ("http", "https") or not (
                host == "youtu.be" or host == "youtube.com" or host.endswith(".youtube.com")
            ):
                raise UserError(f"{video_url!r} is not a YouTube link.")
        job = self.set_status(job_id, "published")
        if video_url or video_id:
            Job.update(published_video_url=video_url, youtube_video_id=video_id,
                       youtube_session_uri=None, error=None).where(Job.id == job.id).execute()
            job = find_job(job.id)
        result = PublishResult(job)
        for upload_id in (job.video_upload_id, job.transcript_upload_id):  # type: ignore[attr-defined]
            if upload_id:
                self._after_publish(find_upload(upload_id), result)
        result.job = self._tag_inputs(result.job)  # the temp inputs kept (action "keep")
        return result

    # -- the expire tag of temporary inputs ----------------------------------------------------

    def _tag_inputs(self, job: Job) -> Job:
        """Clear the expire tag of the job's temporary inputs while any unfinished job uses
        them, set it once none does. Best effort: a storage that refuses is logged and its
        sentence kept as the job's `error` (a note; the job goes on as it is), since
        cleanup-temp and Delete protect the inputs anyway and only the bucket's rule is
        at stake. Returns the job as it now is."""
        storage = self.uploads.storage
        notes: list[str] = []
        for upload_id in (job.video_upload_id, job.transcript_upload_id):  # type: ignore[attr-defined]
            upload = Upload.get_or_none(Upload.id == upload_id) if upload_id else None
            if (upload is None or not upload.is_temp or upload.status != "completed"
                    or not upload.key or upload.backend != storage.backend
                    or upload.bucket != storage.bucket):
                continue
            expire = unfinished_job_using(upload) is None
            try:
                storage.set_expire_tag(upload.key, expire)
                if expire and unfinished_job_using(upload) is not None:
                    expire = False  # a job created meanwhile wins
                    storage.set_expire_tag(upload.key, False)
            except Exception as exc:
                if isinstance(exc, ShortsError):
                    log.warning("expire tag of upload %s not changed: %s", upload.id, exc)
                    why = str(exc)
                else:
                    log.exception("expire tag of upload %s not changed", upload.id)
                    why = "unexpected error, see the log."
                notes.append(
                    f"The bucket's lifecycle rule may delete the temporary {upload.kind} "
                    f"{upload.original_name!r} while this job needs it: {why}" if not expire
                    else f"The temporary {upload.kind} {upload.original_name!r} stays out of "
                    f"the bucket's lifecycle rule (cleanup deletes it by age): {why}"
                )
        if not notes:
            return job
        return self._update(job.id, error=" ".join(notes))

    def _after_publish(self, upload: Upload, result: PublishResult) -> None:
        action = self.settings.after_publish
        if not upload.is_temp or upload.status != "completed" or action == "keep":
            return
        if unfinished_job_using(upload) is not None:
            result.kept.append({"id": upload.id, "reason": "another job still needs it"})
            return
        try:
            if action == "promote":
                self.uploads.promote(upload.id)
                result.promoted.append(upload.id)
            else:
                self.uploads.delete(upload.id)
                result.deleted.append(upload.id)
        except ShortsError as exc:
            result.kept.append({"id": upload.id, "reason": str(exc)})

