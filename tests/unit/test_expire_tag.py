"""The expire tag: temporary uploads carry it, jobs clear it while they need the file, so
that the bucket's lifecycle rule only deletes temporary files no unfinished job needs."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pytest

from shorts_desktop.core.db.models import Job, Upload
from shorts_desktop.core.errors import StorageError
from shorts_desktop.core.services.jobs import JobDraft, JobService
from shorts_desktop.core.services.policy import bucket_policy
from shorts_desktop.core.services.uploads import find_upload
from shorts_desktop.core.storage import s3 as s3_module
from shorts_desktop.core.storage.base import EXPIRE_TAG
from shorts_desktop.core.transfers import fastput

if TYPE_CHECKING:
    from conftest import Env, Media

MIB = 1024 * 1024


def tags(env: Env, key: str) -> dict[str, str]:
    client: Any = env.storage.client  # type: ignore[union-attr]
    answer = client.get_object_tagging(Bucket=env.storage.bucket, Key=key)
    return {t["Key"]: t["Value"] for t in answer["TagSet"]}


def upload_inputs(env: Env, media: Media) -> tuple[Upload, Upload]:
    video = env.uploads.upload_file(media.mp4(), "video")
    transcript = env.uploads.upload_transcript_text("Hello and welcome.")
    return video, transcript


def draft(video: Upload, transcript: Upload, title: str = "A Short") -> JobDraft:
    return JobDraft(title=title, voice="alloy", video_upload_id=str(video.id),
                    transcript_upload_id=str(transcript.id))


def expire_of(env: Env, *uploads: Upload) -> list[str | None]:
    return [tags(env, str(u.key)).get(EXPIRE_TAG) for u in uploads]


# -- uploads ----------------------------------------------------------------------------------


def test_a_small_temporary_upload_carries_the_tag_through_the_fast_put(
    s3_env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[object] = []
    real = fastput.FastPut.put

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        served.append(real(self, *args, **kwargs))
        return served[-1]

    monkeypatch.setattr(fastput.FastPut, "put", spy)
    upload = s3_env.uploads.upload_file(media.mp4(size=4096), "video")
    assert served and served[0] is not None  # the fast path sent it, header and all
    assert upload.key.startswith("temp/")
    assert tags(s3_env, upload.key) == {EXPIRE_TAG: "yes"}


def test_a_multipart_temporary_upload_carries_the_tag(s3_env: Env, media: Media) -> None:
    upload = s3_env.uploads.upload_file(media.mp4(size=6 * MIB + 7), "video")  # over 5 MiB
    assert tags(s3_env, upload.key) == {EXPIRE_TAG: "yes"}


def test_a_permanent_upload_has_no_tag(s3_env: Env, media: Media) -> None:
    upload = s3_env.uploads.upload_file(media.mp4(), "video", is_temp=False)
    assert upload.key.startswith("videos/")
    assert tags(s3_env, upload.key) == {}


@pytest.mark.parametrize("multipart", [False, True])
def test_the_permanent_copy_of_a_promote_has_no_tag(
    s3_env: Env, media: Media, monkeypatch: pytest.MonkeyPatch, multipart: bool
) -> None:
    if multipart:  # the copy of a big file: UploadPartCopy, which copies no tags anyway
        monkeypatch.setattr(s3_module, "COPY_THRESHOLD", MIB)
    upload = s3_env.uploads.upload_file(media.mp4(size=6 * MIB), "video")
    assert tags(s3_env, upload.key) == {EXPIRE_TAG: "yes"}
    promoted, changed = s3_env.uploads.promote(upload.id)
    assert changed and promoted.key.startswith("videos/")
    assert tags(s3_env, promoted.key) == {}


def test_the_storage_sets_and_clears_the_tag(s3_env: Env) -> None:
    s3_env.raw_put("temp/x/a.txt", b"a")
    s3_env.storage.set_expire_tag("temp/x/a.txt", False)
    assert tags(s3_env, "temp/x/a.txt") == {EXPIRE_TAG: "no"}
    s3_env.storage.set_expire_tag("temp/x/a.txt", True)
    assert tags(s3_env, "temp/x/a.txt") == {EXPIRE_TAG: "yes"}
    with pytest.raises(StorageError, match="no longer in the bucket"):
        s3_env.storage.set_expire_tag("temp/x/gone.txt", True)


# -- jobs -------------------------------------------------------------------------------------


def test_a_job_clears_the_tags_of_its_inputs_and_cancelling_sets_them_again(
    s3_env: Env, media: Media
) -> None:
    video, transcript = upload_inputs(s3_env, media)
    assert expire_of(s3_env, video, transcript) == ["yes", "yes"]
    job = s3_env.jobs.create(draft(video, transcript))
    assert job.error is None
    assert expire_of(s3_env, video, transcript) == ["no", "no"]
    s3_env.jobs.cancel(job.id)
    assert expire_of(s3_env, video, transcript) == ["yes", "yes"]
    s3_env.jobs.queue(job.id)  # taken up again: needed again
    assert expire_of(s3_env, video, transcript) == ["no", "no"]


def test_a_second_unfinished_job_keeps_a_shared_input_protected(
    s3_env: Env, media: Media
) -> None:
    video, transcript = upload_inputs(s3_env, media)
    other = s3_env.uploads.upload_transcript_text("Another script.")
    first = s3_env.jobs.create(draft(video, transcript))
    s3_env.jobs.create(draft(video, other, title="Second"))
    s3_env.jobs.fail_processing(first.id, "", cancelled=True)  # the runner's cancel
    assert expire_of(s3_env, video, transcript, other) == ["no", "yes", "no"]


def test_a_job_created_while_another_releases_the_file_wins(
    s3_env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    video, transcript = upload_inputs(s3_env, media)
    first = s3_env.jobs.create(draft(video, transcript))
    real = s3_env.storage.set_expire_tag
    created: list[str] = []

    def racing(key: str, expire: bool) -> None:
        real(key, expire)
        if expire and not created:  # another window creates a job right after the tag
            created.append(Job.create(
                id="0" * 36, title="Racer", voice="alloy", video_upload=video.id,
                transcript_upload=transcript.id, status="created").id)

    monkeypatch.setattr(s3_env.storage, "set_expire_tag", racing)
    s3_env.jobs.cancel(first.id)
    assert created
    assert expire_of(s3_env, video, transcript) == ["no", "no"]


def test_a_failed_job_keeps_its_inputs_protected(s3_env: Env, media: Media) -> None:
    video, transcript = upload_inputs(s3_env, media)
    job = s3_env.jobs.create(draft(video, transcript))
    s3_env.jobs.begin_processing(job.id, "test")
    s3_env.jobs.fail_processing(job.id, "ffmpeg said no")
    assert expire_of(s3_env, video, transcript) == ["no", "no"]
    s3_env.jobs.set_status(job.id, "cancelled")
    assert expire_of(s3_env, video, transcript) == ["yes", "yes"]


def test_publishing_sets_the_tag_of_the_inputs_it_keeps(s3_env: Env, media: Media) -> None:
    video, transcript = upload_inputs(s3_env, media)
    jobs = JobService(s3_env.with_settings(SHORTS_DESKTOP_AFTER_PUBLISH="keep"), s3_env.uploads)
    job = jobs.create(draft(video, transcript))
    assert expire_of(s3_env, video, transcript) == ["no", "no"]
    jobs.mark_published(job.id)
    assert expire_of(s3_env, video, transcript) == ["yes", "yes"]


def test_publishing_that_deletes_the_inputs_tags_nothing(
    s3_env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    video, transcript = upload_inputs(s3_env, media)
    jobs = JobService(s3_env.with_settings(SHORTS_DESKTOP_AFTER_PUBLISH="delete"),
                      s3_env.uploads)
    job = jobs.create(draft(video, transcript))
    calls: list[tuple[str, bool]] = []
    monkeypatch.setattr(s3_env.storage, "set_expire_tag", lambda k, e: calls.append((k, e)))
    result = jobs.mark_published(job.id)
    assert sorted(result.deleted) == sorted([video.id, transcript.id])
    assert calls == [] and s3_env.keys() == []


def test_a_tagging_failure_does_not_fail_the_job(
    s3_env: Env, media: Media, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    video, transcript = upload_inputs(s3_env, media)

    def refuse(key: str, expire: bool) -> None:
        raise StorageError("Access to the bucket test-bucket was denied; check the IAM policy.")

    monkeypatch.setattr(s3_env.storage, "set_expire_tag", refuse)
    with caplog.at_level(logging.WARNING, logger="shorts_desktop.core.services.jobs"):
        job = s3_env.jobs.create(draft(video, transcript))
    assert job.status == "created"
    assert job.error is not None
    assert job.error.startswith("The bucket's lifecycle rule may delete the temporary video")
    assert "was denied" in job.error
    assert f"upload {video.id}" in caplog.text
    cancelled = s3_env.jobs.cancel(job.id)
    assert cancelled.status == "cancelled"
    assert cancelled.error is not None and "stays out of the bucket's lifecycle" in cancelled.error
    assert expire_of(s3_env, video, transcript) == ["yes", "yes"]  # never changed


def test_a_bug_while_tagging_is_logged_and_the_job_goes_on(
    s3_env: Env, media: Media, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    video, transcript = upload_inputs(s3_env, media)
    monkeypatch.setattr(s3_env.storage, "set_expire_tag", lambda k, e: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="shorts_desktop.core.services.jobs"):
        job = s3_env.jobs.create(draft(video, transcript))
    assert job.status == "created" and job.error is not None
    assert "unexpected error, see the log" in job.error
    assert "ZeroDivisionError" in caplog.text


def test_the_local_library_needs_no_tags(local_env: Env, media: Media) -> None:
    video, transcript = upload_inputs(local_env, media)
    job = local_env.jobs.create(draft(video, transcript))
    assert job.error is None
    assert local_env.jobs.cancel(job.id).error is None
    assert find_upload(video.id).status == "completed"


# -- the IAM policy ---------------------------------------------------------------------------


def test_the_policy_allows_tagging_the_objects(s3_env: Env) -> None:
    policy = bucket_policy(s3_env.settings)
    objects = next(s for s in policy["Statement"] if s["Sid"] == "ObjectsUnderOurPrefixes")
    assert "s3:PutObjectTagging" in objects["Action"]
