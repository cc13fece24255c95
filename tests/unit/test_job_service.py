"""Jobs: validated the way YouTube judges them, a checked lifecycle, cleanup after publishing."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from shorts_desktop.core.db.models import Job, Upload
from shorts_desktop.core.errors import NotFoundError, UserError
from shorts_desktop.core.services.jobs import (
    MAX_TAGS_TOTAL,
    JobDraft,
    JobService,
    clean_tags,
    find_job,
    tags_length,
)
from shorts_desktop.core.services.uploads import find_upload

if TYPE_CHECKING:
    from conftest import Env, Media


@pytest.fixture
def inputs(local_env: Env, media: Media) -> tuple[str, str]:
    video = local_env.uploads.upload_file(media.mp4(), "video")
    transcript = local_env.uploads.upload_transcript_text("Hello and welcome.")
    return str(video.id), str(transcript.id)


def draft(inputs: tuple[str, str], **changes: object) -> JobDraft:
    values: dict[str, object] = {
        "title": "My first Short",
        "description": "A description.",
        "voice": "alloy",
        "tags": ["shorts", "ai"],
        "video_upload_id": inputs[0],
        "transcript_upload_id": inputs[1],
    }
    values.update(changes)
    return JobDraft(**values)  # type: ignore[arg-type]


# -- the draft's rules ------------------------------------------------------------------------


def test_a_good_draft_has_no_problems(inputs: tuple[str, str]) -> None:
    assert draft(inputs).problems() == []


@pytest.mark.parametrize(
    ("title", "problem"),
    [
        ("", "The title is empty."),
        ("   ", "The title is empty."),
        ("x", None),
        ("x" * 100, None),
        ("  " + "x" * 100 + "  ", None),  # counted after trimming
        ("x" * 101, "The title is 101 characters; YouTube allows 100."),
    ],
    ids=["0", "blank", "1", "100", "100-padded", "101"],
)
def test_title_length(inputs: tuple[str, str], title: str, problem: str | None) -> None:
    assert draft(inputs, title=title).problems() == ([problem] if problem else [])


@pytest.mark.parametrize(
    "changes",
    [{"title": "Best <3 moments"}, {"title": "a -> b"}, {"description": "<b>bold</b>"}],
)
def test_angle_brackets_are_refused(inputs: tuple[str, str], changes: dict[str, str]) -> None:
    assert draft(inputs, **changes).problems() == [
        "YouTube does not allow < or > in titles and descriptions."
    ]


def test_description_length(inputs: tuple[str, str]) -> None:
    assert draft(inputs, description="d" * 5000).problems() == []
    assert draft(inputs, description="d" * 5001).problems() == [
        "The description is 5,001 characters; YouTube allows 5,000."
    ]


def test_tags_length_counts_the_youtube_way() -> None:
    assert tags_length([]) == 0
    assert tags_length(["ai"]) == 2
    assert tags_length(["ai", "shorts"]) == 2 + 1 + 6  # a comma between tags
    assert tags_length(["big cat"]) == 7 + 2  # a tag with a space is quoted


def test_tags_at_the_limit_pass_and_over_it_fail(inputs: tuple[str, str]) -> None:
    assert draft(inputs, tags=["t" * MAX_TAGS_TOTAL]).problems() == []
    assert draft(inputs, tags=["t" * (MAX_TAGS_TOTAL + 1)]).problems() == [
        "The tags use 501 characters; YouTube allows 500."
    ]


def test_tags_with_spaces_go_over_although_their_letters_do_not(
    inputs: tuple[str, str]
) -> None:
    tags = [f"tag {i:03d}" for i in range(60)]  # 7 letters each: 420 in all
    assert sum(len(t) for t in tags) < MAX_TAGS_TOTAL
    assert draft(inputs, tags=tags).problems() == [
        "The tags use 599 characters; YouTube allows 500."
    ]


def test_duplicate_tags_are_counted_once(inputs: tuple[str, str]) -> None:
    tags = ["x" * 300, "X" * 300, "#" + "x" * 300]
    assert clean_tags(tags) == ["x" * 300]
    assert draft(inputs, tags=tags).problems() == []


def test_clean_tags() -> None:
    assert clean_tags(["#Shorts, ai", "  big   cat ", "shorts", "", "#"]) == [
        "Shorts",
        "ai",
        "big cat",
    ]


@pytest.mark.parametrize(
    ("voice", "problem"),
    [
        ("robot", "Unknown voice 'robot'; choose one of alloy"),
        ("", "Choose a narration voice."),
        ("Alloy", "Unknown voice 'Alloy'"),
    ],
)
def test_voice(inputs: tuple[str, str], voice: str, problem: str) -> None:
    (found,) = draft(inputs, voice=voice).problems()
    assert found.startswith(problem)


def test_privacy_must_be_known(inputs: tuple[str, str]) -> None:
    assert draft(inputs, privacy="friends").problems() == [
        "Privacy must be one of private, unlisted, public."
    ]


def test_inputs_must_be_chosen(inputs: tuple[str, str]) -> None:
    assert draft(inputs, video_upload_id="", transcript_upload_id=" ").problems() == [
        "Choose a video.",
        "Choose a transcript.",
    ]


def test_video_id_that_is_a_transcript(inputs: tuple[str, str]) -> None:
    transcript_id = inputs[1]
    (problem,) = draft(inputs, video_upload_id=transcript_id).problems()
    assert problem == f"Upload {transcript_id} is a transcript, not a video."


def test_unknown_upload_id(inputs: tuple[str, str]) -> None:
    (problem,) = draft(inputs, transcript_upload_id="deadbeef-nope").problems()
    assert problem == "No upload has the id 'deadbeef-nope'."


@pytest.mark.parametrize("status", ["uploading", "failed", "deleted", "missing"])
def test_upload_that_is_not_completed(inputs: tuple[str, str], status: str) -> None:
    Upload.update(status=status).where(Upload.id == inputs[0]).execute()
    assert draft(inputs).problems() == [f"The video 'clip.mp4' is {status}, not completed."]


def test_every_problem_is_reported_at_once(inputs: tuple[str, str]) -> None:
    problems = draft(inputs, title="", description="<", voice="", video_upload_id="").problems()
    assert len(problems) == 4


# -- creating and the lifecycle ---------------------------------------------------------------


def test_create(local_env: Env, inputs: tuple[str, str]) -> None:
    job = local_env.jobs.create(
        draft(inputs, title="  Trimmed title ", tags=["#AI", "ai, shorts"])
    )
    stored = find_job(job.id)
    assert stored.status == "created"
    assert stored.privacy == "private"
    assert stored.title == "Trimmed title"
    assert stored.tags == ["AI", "shorts"]
    assert stored.video_upload_id == inputs[0]
    assert stored.transcript_upload_id == inputs[1]
    assert stored.published_at is None


def test_create_refuses_a_draft_with_problems(local_env: Env, inputs: tuple[str, str]) -> None:
    with pytest.raises(UserError, match=r"^The title is empty\.$"):
        local_env.jobs.create(draft(inputs, title=""))
    assert Job.select().count() == 0


def test_find_job_by_prefix(local_env: Env, inputs: tuple[str, str]) -> None:
    job = local_env.jobs.create(draft(inputs))
    assert local_env.jobs.get(job.id[:8]).id == job.id
    with pytest.raises(NotFoundError):
        local_env.jobs.get(job.id[:7])


def test_created_can_be_published(local_env: Env, inputs: tuple[str, str]) -> None:
    job = local_env.jobs.create(draft(inputs))
    published = local_env.jobs.set_status(job.id, "published")
    assert published.status == "published"
    assert published.published_at is not None


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        (["published", "queued"], "A published job cannot become queued."),
        (["cancelled", "processed"], "A cancelled job cannot become processed."),
        (["published", "processing"], "A published job cannot become processing."),
        (["processed"], "A created job cannot become processed."),
        (["queued", "processing", "created"], "A processing job cannot become created."),
    ],
)
def test_refused_transitions(
    local_env: Env, inputs: tuple[str, str], path: list[str], refused: str
) -> None:
    job = local_env.jobs.create(draft(inputs))
    *allowed, last = path
    for status in allowed:
        local_env.jobs.set_status(job.id, status)
    with pytest.raises(UserError, match=f"^{re.escape(refused)}$"):
        local_env.jobs.set_status(job.id, last)
    assert find_job(job.id).status == (allowed[-1] if allowed else "created")


def test_failed_job_can_be_queued_again(local_env: Env, inputs: tuple[str, str]) -> None:
    job = local_env.jobs.create(draft(inputs))
    failed = local_env.jobs.set_status(job.id, "failed", error="render crashed")
    assert (failed.status, failed.error) == ("failed", "render crashed")
    again = local_env.jobs.set_status(job.id, "queued")
    assert (again.status, again.error) == ("queued", None)


def test_setting_the_same_status_is_a_no_op(local_env: Env, inputs: tuple[str, str]) -> None:
    job = local_env.jobs.create(draft(inputs))
    local_env.jobs.cancel(job.id)
    assert local_env.jobs.cancel(job.id).status == "cancelled"


# -- after publishing -------------------------------------------------------------------------


def publishing_jobs(env: Env, after: str) -> JobService:
    return JobService(env.with_settings(SHORTS_DESKTOP_AFTER_PUBLISH=after), env.uploads)


def _inputs(env: Env, media: Media) -> tuple[str, str]:
    video = env.uploads.upload_file(media.mp4(), "video")
    transcript = env.uploads.upload_transcript_text("Hello and welcome.")
    return str(video.id), str(transcript.id)


def test_publish_deletes_temp_inputs(env: Env, media: Media) -> None:
    ids = _inputs(env, media)
    jobs = publishing_jobs(env, "delete")
    job = jobs.create(draft(ids))
    result = jobs.mark_published(job.id, "https://youtu.be/abc123")
    assert result.job.status == "published"
    assert result.job.published_video_url == "https://youtu.be/abc123"
    assert sorted(result.deleted) == sorted(ids)
    assert result.promoted == [] and result.kept == []
    assert [find_upload(i).status for i in ids] == ["deleted", "deleted"]
    assert env.keys() == []


def test_publish_promotes_temp_inputs(env: Env, media: Media) -> None:
    ids = _inputs(env, media)
    jobs = publishing_jobs(env, "promote")
    result = jobs.mark_published(jobs.create(draft(ids)).id)
    assert sorted(result.promoted) == sorted(ids)
    video, transcript = (find_upload(i) for i in ids)
    assert not video.is_temp and video.key.startswith("videos/")
    assert not transcript.is_temp and transcript.key.startswith("transcripts/")
    assert env.keys("temp/") == []
    assert env.keys() == sorted([video.key, transcript.key])


def test_publish_keeps_temp_inputs(env: Env, media: Media) -> None:
    ids = _inputs(env, media)
    before = env.keys()
    jobs = publishing_jobs(env, "keep")
    result = jobs.mark_published(jobs.create(draft(ids)).id)
    assert (result.deleted, result.promoted, result.kept) == ([], [], [])
    assert env.keys() == before
    assert all(find_upload(i).is_temp and find_upload(i).status == "completed" for i in ids)


def test_publish_leaves_permanent_inputs_alone(env: Env, media: Media) -> None:
    video = env.uploads.upload_file(media.mp4(), "video", is_temp=False)
    transcript = env.uploads.upload_transcript_text("Hello.")
    jobs = publishing_jobs(env, "delete")
    result = jobs.mark_published(jobs.create(draft((video.id, transcript.id))).id)
    assert result.deleted == [transcript.id]
    assert find_upload(video.id).status == "completed"
    assert env.keys() == [video.key]


def test_publish_keeps_an_input_another_unfinished_job_needs(env: Env, media: Media) -> None:
    video_id, transcript_id = _inputs(env, media)
    other_transcript = env.uploads.upload_transcript_text("Another script.")
    jobs = publishing_jobs(env, "delete")
    first = jobs.create(draft((video_id, transcript_id)))
    second = jobs.create(draft((video_id, other_transcript.id), title="Second"))
    result = jobs.mark_published(first.id)
    assert result.kept == [{"id": video_id, "reason": "another job still needs it"}]
    assert result.deleted == [transcript_id]
    assert find_upload(video_id).status == "completed"
    # once the other job is finished too, nothing holds the video back any more
    result = jobs.mark_published(second.id)
    assert sorted(result.deleted) == sorted([video_id, other_transcript.id])
    assert env.keys() == []


def test_publish_reports_an_input_that_could_not_be_promoted(env: Env, media: Media) -> None:
    ids = _inputs(env, media)
    env.raw_delete(find_upload(ids[0]).key)
    jobs = publishing_jobs(env, "promote")
    result = jobs.mark_published(jobs.create(draft(ids)).id)
    assert result.job.status == "published"
    assert result.promoted == [ids[1]]
    (kept,) = result.kept
    assert kept["id"] == ids[0] and "no longer in storage" in kept["reason"]
    assert find_upload(ids[0]).status == "missing"


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/watch?v=1",
        "https://notyoutube.com/watch?v=1",
        "https://youtube.com.evil.net/x",
        "ftp://youtube.com/watch?v=1",
        "javascript:alert(1)",
        "youtube.com/watch?v=1",
    ],
)
def test_publish_refuses_a_link_that_is_not_youtube(
    local_env: Env, inputs: tuple[str, str], url: str
) -> None:
    job = local_env.jobs.create(draft(inputs))
    with pytest.raises(UserError, match="is not a YouTube link"):
        local_env.jobs.mark_published(job.id, url)
    stored = find_job(job.id)
    assert (stored.status, stored.published_video_url) == ("created", None)
    assert find_upload(inputs[0]).status == "completed"


@pytest.mark.parametrize(
    "url",
    ["https://www.youtube.com/shorts/abc", "http://m.youtube.com/watch?v=x", "https://youtu.be/x"],
)
def test_publish_accepts_youtube_links(
    local_env: Env, inputs: tuple[str, str], url: str
) -> None:
    jobs = publishing_jobs(local_env, "keep")
    result = jobs.mark_published(jobs.create(draft(inputs)).id, url)
    assert result.job.published_video_url == url


def test_publish_twice_is_harmless(local_env: Env, inputs: tuple[str, str]) -> None:
    jobs = publishing_jobs(local_env, "delete")
    job = jobs.create(draft(inputs))
    jobs.mark_published(job.id)
    second = jobs.mark_published(job.id)
    assert second.job.status == "published"
    assert (second.deleted, second.promoted, second.kept) == ([], [], [])
