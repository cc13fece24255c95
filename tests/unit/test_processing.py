"""Processing a job: real renders of small generated clips, stored through the real storage."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest

from shorts_desktop.app import narration_provider
from shorts_desktop.core.db.models import Job
from shorts_desktop.core.errors import StorageError, UserError
from shorts_desktop.core.render.probe import probe
from shorts_desktop.core.render.types import CancelToken, RenderCancelled
from shorts_desktop.core.services.jobs import JobDraft
from shorts_desktop.core.services.processing import (
    JobLock,
    JobProgress,
    JobRunner,
    ProcessingService,
    RunnerEvent,
)
from shorts_desktop.resources import resource_path
from tests import media_gen
from tests.unit.conftest import Env, Media

TEXT = "Hello there. This is a tiny Short about testing."
RESULTS = ["captions.ass", "captions.srt", "manifest.json", "narration.wav", "short.mp4",
           "thumbnail.jpg"]


def processing_for(env: Env, **variables: str) -> ProcessingService:
    settings = env.with_settings(**variables) if variables else env.settings
    from shorts_desktop.core.render.short import make_short

    return ProcessingService(
        settings, env.storage, env.jobs, env.uploads,
        work_root=env.tmp / "work", cache_root=env.tmp / "cache",
        make_short=make_short,
        narrator=lambda name: narration_provider(settings, {}, None, name),
        fonts_dir=resource_path("fonts"),
    )


def make_job(env: Env, media: Media, *, video: Path | None = None,
             transcript: Path | None = None) -> Job:
    media.folder.mkdir(parents=True, exist_ok=True)
    clip = video or media_gen.small_clip(media.folder / "clip.mp4", duration=2.0)
    text = transcript or media.transcript("script.txt", TEXT)
    v = env.uploads.upload_file(clip, "video")
    t = env.uploads.upload_file(text, "transcript")
    return env.jobs.create(JobDraft(title="Tiny test", voice="nova", video_upload_id=v.id,
                                    transcript_upload_id=t.id))


def result_names(env: Env, job_id: str) -> list[str]:
    return [k.rsplit("/", 1)[-1] for k in env.keys(f"processed/{job_id}/")]


def test_a_job_becomes_a_verified_short(env: Env, media: Media) -> None:
    job = make_job(env, media)
    seen: list[JobProgress] = []
    done = processing_for(env).process(job.id, seen.append)

    assert done.status == "processed" and done.stage is None and done.error is None
    assert sorted(k.rsplit("/", 1)[-1] for k in done.result_keys) == RESULTS
    assert result_names(env, job.id) == RESULTS
    manifest = json.loads(env.raw_get(f"processed/{job.id}/manifest.json") or b"")
    for entry in manifest["outputs"]:  # every result is stored exactly as recorded
        data = env.raw_get(entry["key"])
        assert data is not None and hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["size"]
    assert {i["role"] for i in manifest["inputs"]} == {"video", "transcript"}
    assert manifest["narration"]["provider"] == "espeak"
    assert manifest["narration"]["synthetic"] is True
    short = env.tmp / "out.mp4"
    short.write_bytes(env.raw_get(f"processed/{job.id}/short.mp4") or b"")
    info = probe(short)
    assert (info.width, info.height, info.has_audio) == (1080, 1920, True)
    assert info.duration == pytest.approx(done.render_info["duration"], abs=0.1)
    assert info.duration > 2.5  # narration of two sentences, plus the tail: the clip looped
    assert done.thumbnail[:2] == b"\xff\xd8"  # a JPEG for the Jobs panel
    stages = [p.stage for p in seen]
    assert stages[0] == "fetching" and stages[-1] == "storing"
    assert {"narrating", "captioning", "rendering"} <= set(stages)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert not (env.tmp / "work" / job.id).exists()  # the work folder is cleaned up


def test_a_video_that_does_not_decode_fails_the_job_with_one_sentence(
    s3_env: Env, media: Media
) -> None:
    job = make_job(s3_env, media, video=media.mp4("broken.mp4", size=50_000))
    with pytest.raises(UserError, match=r"^broken\.mp4 does not decode as a video"):
        processing_for(s3_env).process(job.id)
    failed = s3_env.jobs.get(job.id)
    assert failed.status == "failed" and "does not decode" in (failed.error or "")
    assert s3_env.keys("processed/") == []
    # a failed job still holds its inputs: it can be retried
    assert s3_env.cleanup.run(0).deleted == []


def test_leftovers_of_a_dead_run_are_removed_and_the_job_finishes(
    s3_env: Env, media: Media
) -> None:
    job = make_job(s3_env, media)
    # a run killed mid-way: the row says processing, some results were stored
    Job.update(status="processing", stage="storing", runner="4242@elsewhere").where(
        Job.id == job.id).execute()
    s3_env.raw_put(f"processed/{job.id}/short.mp4", b"half of an old render")
    s3_env.raw_put(f"processed/{job.id}/old-extra.bin", b"x")
    processing = processing_for(s3_env)
    assert not processing.is_running_elsewhere(s3_env.jobs.get(job.id))
    done = processing.process(job.id)
    assert done.status == "processed"
    assert result_names(s3_env, job.id) == RESULTS  # nothing of the old run lingers
    assert s3_env.raw_get(f"processed/{job.id}/short.mp4") != b"half of an old render"


def test_a_job_running_elsewhere_is_not_started_twice(s3_env: Env, media: Media) -> None:
    job = make_job(s3_env, media)
    processing = processing_for(s3_env)
    lock = JobLock(s3_env.tmp / "work" / f"{job.id}.lock")
    assert lock.acquire()
    try:
        Job.update(status="processing").where(Job.id == job.id).execute()
        assert processing.is_running_elsewhere(s3_env.jobs.get(job.id))
        with pytest.raises(UserError, match="is being processed right now"):
            processing.process(job.id)
    finally:
        lock.release()
    assert s3_env.jobs.get(job.id).status == "processing"  # untouched by the refused run


def test_cancel_while_rendering_leaves_nothing(s3_env: Env, media: Media) -> None:
    job = make_job(s3_env, media)
    cancel = CancelToken()

    def on_progress(p: JobProgress) -> None:
        if p.stage == "rendering":
            cancel.cancel()

    with pytest.raises(RenderCancelled):
        processing_for(s3_env).process(job.id, on_progress, cancel)
    assert s3_env.jobs.get(job.id).status == "cancelled"
    assert s3_env.keys("processed/") == []
    assert media_gen.ffmpeg_children() == []


def test_a_narration_too_long_for_the_limit_is_refused(s3_env: Env, media: Media) -> None:
    script = media.transcript("long.txt", " ".join([TEXT] * 4))
    job = make_job(s3_env, media, transcript=script)
    with pytest.raises(UserError, match=r"narration would be .* at most 5 s"):
        processing_for(s3_env, SHORTS_DESKTOP_MAX_SECONDS="5").process(job.id)
    assert s3_env.jobs.get(job.id).status == "failed"


def test_original_audio_kept_with_srt_timings(local_env: Env, media: Media) -> None:
    srt = media.transcript(
        "subs.srt", "1\n00:00:00,200 --> 00:00:01,000\nFirst words\n\n"
                    "2\n00:00:01,200 --> 00:00:02,400\nthen the rest.\n")
    media.folder.mkdir(parents=True, exist_ok=True)
    clip = media_gen.small_clip(media.folder / "clip3.mp4", duration=3.0)
    job = make_job(local_env, media, video=clip, transcript=srt)
    done = processing_for(local_env, SHORTS_DESKTOP_TTS="none").process(job.id)
    names = sorted(k.rsplit("/", 1)[-1] for k in done.result_keys)
    assert "narration.wav" not in names
    assert done.render_info["duration"] == pytest.approx(3.0, abs=0.1)  # the video's length
    assert done.render_info["synthetic"] is False
    srt_out = (local_env.raw_get(f"processed/{job.id}/captions.srt") or b"").decode()
    assert srt_out.startswith("1\n00:00:00,200 --> ")  # the cue's own start
    assert srt_out.rstrip().endswith("--> 00:00:02,400\nthe rest.")  # and its own end


def test_preview_and_download_are_verified(s3_env: Env, media: Media, tmp_path: Path) -> None:
    job = make_job(s3_env, media)
    processing = processing_for(s3_env)
    done = processing.process(job.id)
    expected = s3_env.raw_get(f"processed/{job.id}/short.mp4")
    cached = processing.preview(job.id)
    assert cached.read_bytes() == expected
    cached.unlink()  # a cache that is gone is fetched again from the bucket
    assert processing.preview(job.id).read_bytes() == expected
    saved = processing.save_short(job.id, tmp_path)
    assert saved.name == "Tiny_test.mp4" and saved.read_bytes() == expected
    with pytest.raises(UserError, match="already exists"):
        processing.save_short(job.id, tmp_path)
    url, seconds = processing.short_link(job.id, 600)
    assert f"processed/{job.id}/short.mp4" in url and seconds == 600
    assert done.render_info["sha256"] == hashlib.sha256(expected or b"").hexdigest()


def test_a_short_replaced_in_storage_is_not_saved(env: Env, media: Media,
                                                   tmp_path: Path) -> None:
    """The storage checks a download against the Short's SHA-256 in the read that saves it:
    a changed object leaves nothing at the target, for a save as for a preview."""
    job = make_job(env, media)
    processing = processing_for(env)
    processing.process(job.id)
    key = f"processed/{job.id}/short.mp4"
    good = env.raw_get(key) or b""
    env.raw_put(key, b"X" + good[1:])  # same size, one byte off
    processing.preview_path(job.id).unlink(missing_ok=True)  # (the render's own copy)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(StorageError, match="does not match its checksum"):
        processing.save_short(job.id, out)
    assert list(out.iterdir()) == []
    with pytest.raises(StorageError, match="does not match its checksum"):
        processing.preview(job.id)


def test_no_short_before_processing(s3_env: Env, media: Media) -> None:
    job = make_job(s3_env, media)
    with pytest.raises(UserError, match="has no Short yet"):
        processing_for(s3_env).save_short(job.id)


def test_runner_processes_queued_jobs_in_the_background(s3_env: Env, media: Media) -> None:
    job = make_job(s3_env, media)
    s3_env.jobs.queue(job.id)  # e.g. queued by the CLI while no window was open
    runner = JobRunner(processing_for(s3_env), s3_env.jobs)
    events: list[RunnerEvent] = []
    finished = threading.Event()

    def on_event(event: RunnerEvent) -> None:
        events.append(event)
        if event.kind in ("processed", "failed", "cancelled"):
            finished.set()

    runner.subscribe(on_event)
    assert runner.restore() == [job.id]
    assert finished.wait(120)
    runner.shutdown()
    assert events[-1].kind == "processed", events[-1].message
    assert any(e.kind == "progress" and e.progress and e.progress.stage == "rendering"
               for e in events)
    assert s3_env.jobs.get(job.id).status == "processed"


def test_a_runner_stopped_mid_render_leaves_the_job_queued_for_the_next(
    s3_env: Env, media: Media
) -> None:
    job = make_job(s3_env, media)
    waiting = make_job(s3_env, media)
    processing = processing_for(s3_env)
    runner = JobRunner(processing, s3_env.jobs)
    rendering = threading.Event()
    runner.subscribe(lambda e: e.progress and e.progress.stage == "rendering"
                     and rendering.set())
    runner.submit(job.id)
    runner.submit(waiting.id)
    assert runner.active() == [job.id, waiting.id]
    assert rendering.wait(120)
    runner.shutdown()
    assert [s3_env.jobs.get(j.id).status for j in (job, waiting)] == ["queued", "queued"]
    assert s3_env.keys("processed/") == []
    with pytest.raises(UserError, match="closing"):
        runner.submit(job.id)

    again = JobRunner(processing, s3_env.jobs)
    finished = threading.Event()
    done: list[str] = []

    def on_event(event: RunnerEvent) -> None:
        if event.kind == "processed":
            done.append(event.job_id)
            if len(done) == 2:
                finished.set()

    again.subscribe(on_event)
    assert again.restore() == sorted([job.id, waiting.id], key=lambda i: i != job.id)
    assert finished.wait(180)
    again.shutdown()
    assert s3_env.jobs.get(waiting.id).status == "processed"
