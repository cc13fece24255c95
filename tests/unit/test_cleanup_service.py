"""Cleanup of temporary files: what is old goes, what is needed stays, preview equals run."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

import pytest

from shorts_desktop.core.db.models import Upload
from shorts_desktop.core.errors import UserError
from shorts_desktop.core.services import cleanup as cleanup_module
from shorts_desktop.core.services.jobs import JobDraft
from shorts_desktop.core.services.uploads import find_upload

if TYPE_CHECKING:
    from conftest import Env, Media

MIB = 1024 * 1024


def status(upload_id: str) -> str:
    return str(find_upload(upload_id).status)


def make_job(env: Env, video_id: str, title: str = "Weekend vlog") -> str:
    transcript = env.uploads.upload_transcript_text("Hi there.", is_temp=False)
    job = env.jobs.create(
        JobDraft(title=title, voice="nova", video_upload_id=video_id,
                 transcript_upload_id=transcript.id)
    )
    return str(job.id)


def test_old_temp_files_go_and_newer_ones_stay(env: Env, media: Media) -> None:
    old = env.uploads.upload_file(media.mp4("old.mp4", size=1000), "video")
    new = env.uploads.upload_file(media.mp4("new.mp4", size=2000), "video")
    env.age(old.key, 30)
    env.age(new.key, 2)
    plan = env.cleanup.plan(24)
    assert [i.upload_id for i in plan.delete] == [old.id]
    (item,) = plan.delete
    assert (item.key, item.size, item.name) == (old.key, 1000, "old.mp4")
    assert 29.9 < item.age_hours < 30.1
    result = env.cleanup.run(24)
    assert result.deleted == [old.id]
    assert result.freed_bytes == 1000
    assert (status(old.id), status(new.id)) == ("deleted", "completed")
    assert env.keys() == [new.key]


def test_default_age_comes_from_settings(env: Env, media: Media) -> None:
    old = env.uploads.upload_file(media.mp4(), "video")
    env.age(old.key, 25)
    assert env.settings.cleanup_temp_hours == 24
    assert [i.upload_id for i in env.cleanup.plan().delete] == [old.id]


class _Later(datetime):
    """A clock 48 hours ahead, for the cleanup module only."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> Any:
        return datetime.now(tz) + timedelta(hours=48)


def test_age_is_measured_against_the_clock(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = env.uploads.upload_file(media.mp4(), "video")
    monkeypatch.setattr(cleanup_module, "datetime", _Later)
    assert env.cleanup.plan(72).delete == []
    assert [i.upload_id for i in env.cleanup.plan(24).delete] == [upload.id]


def test_hours_zero_takes_everything_and_a_large_age_nothing(env: Env, media: Media) -> None:
    uploads = [env.uploads.upload_file(media.mp4(f"c{i}.mp4"), "video") for i in range(3)]
    assert env.cleanup.plan(24 * 3650).delete == []
    assert sorted(i.upload_id for i in env.cleanup.plan(0).delete) == sorted(
        u.id for u in uploads
    )


@pytest.mark.parametrize("hours", [-1, 24 * 3650 + 1])
def test_age_out_of_range_is_refused(env: Env, hours: float) -> None:
    with pytest.raises(UserError, match="between 0 and 87,600 hours"):
        env.cleanup.plan(hours)


def test_file_of_an_unfinished_job_is_kept(env: Env, media: Media) -> None:
    upload = env.uploads.upload_file(media.mp4(), "video")
    job_id = make_job(env, upload.id)
    env.jobs.set_status(job_id, "queued")
    result = env.cleanup.run(0)
    assert result.deleted == []
    assert result.plan.skipped == [
        {"id": upload.id, "reason": "needed by job 'Weekend vlog' (queued)"}
    ]
    assert status(upload.id) == "completed"
    assert env.raw_get(upload.key) is not None


def test_file_of_a_failed_job_is_kept_for_a_retry(env: Env, media: Media) -> None:
    upload = env.uploads.upload_file(media.mp4(), "video")
    job_id = make_job(env, upload.id)
    env.jobs.set_status(job_id, "failed", error="render crashed")
    result = env.cleanup.run(0)
    assert result.deleted == []
    assert result.plan.skipped == [
        {"id": upload.id, "reason": "needed by job 'Weekend vlog' (failed)"}
    ]
    assert env.raw_get(upload.key) is not None


@pytest.mark.parametrize("finished", ["published", "cancelled"])
def test_file_of_a_finished_job_is_deleted(env: Env, media: Media, finished: str) -> None:
    upload = env.uploads.upload_file(media.mp4(), "video")
    job_id = make_job(env, upload.id)
    env.jobs.set_status(job_id, finished)
    result = env.cleanup.run(0)
    assert result.deleted == [upload.id]
    assert result.plan.skipped == []
    assert status(upload.id) == "deleted"
    assert env.raw_get(upload.key) is None


def test_file_still_uploading_is_kept(env: Env, media: Media) -> None:
    upload = env.uploads.upload_file(media.mp4(), "video")
    Upload.update(status="uploading").where(Upload.id == upload.id).execute()
    plan = env.cleanup.plan(0)
    assert plan.delete == []
    assert plan.skipped == [{"id": upload.id, "reason": "still uploading"}]
    env.cleanup.run(0)
    assert env.raw_get(upload.key) is not None


def test_orphan_temp_object_is_deleted_and_foreign_keys_ignored(env: Env) -> None:
    orphan_id = str(uuid.uuid4())
    orphan = f"temp/{orphan_id}/left-behind.mp4"
    env.raw_put(orphan, b"12345")
    env.raw_put("temp/readme.txt", b"not ours")
    env.raw_put("temp/not-a-uuid/file.txt", b"not ours either")
    plan = env.cleanup.plan(0)
    assert [(i.upload_id, i.name, i.size) for i in plan.delete] == [
        (orphan_id, "left-behind.mp4", 5)
    ]
    result = env.cleanup.run(0)
    assert result.deleted == [orphan_id]
    assert env.keys() == ["temp/not-a-uuid/file.txt", "temp/readme.txt"]


def test_permanent_and_processed_objects_are_never_touched(env: Env, media: Media) -> None:
    kept = env.uploads.upload_file(media.mp4(), "video", is_temp=False)
    script = env.uploads.upload_transcript_text("Script.", is_temp=False)
    processed = f"processed/{uuid.uuid4()}/final.mp4"
    env.raw_put(processed, b"rendered")
    env.age(kept.key, 1000)
    env.age(script.key, 1000)
    result = env.cleanup.run(0)
    assert result.deleted == [] and result.plan.missing == []
    assert env.keys() == sorted([kept.key, script.key, processed])
    assert (status(kept.id), status(script.id)) == ("completed", "completed")


def test_rows_whose_object_vanished_become_missing(env: Env, media: Media) -> None:
    gone = env.uploads.upload_file(media.mp4("gone.mp4"), "video")
    there = env.uploads.upload_file(media.mp4("there.mp4"), "video")
    env.age(there.key, 1)
    env.raw_delete(gone.key)
    plan = env.cleanup.plan(0)
    assert plan.missing == [gone.id]
    assert [i.upload_id for i in plan.delete] == [there.id]
    env.cleanup.run(0)
    assert (status(gone.id), status(there.id)) == ("missing", "deleted")


def test_a_young_row_without_object_is_not_missing_yet(env: Env, media: Media) -> None:
    upload = env.uploads.upload_file(media.mp4(), "video")
    env.raw_delete(upload.key)
    assert env.cleanup.plan(1).missing == []
    env.cleanup.run(1)
    assert status(upload.id) == "completed"


def test_dry_run_changes_nothing_and_matches_the_real_run(env: Env, media: Media) -> None:
    a = env.uploads.upload_file(media.mp4("a.mp4", size=1500), "video")
    b = env.uploads.upload_transcript_text("Some words for b.")
    needed = env.uploads.upload_file(media.mp4("needed.mp4"), "video")
    make_job(env, needed.id)
    gone = env.uploads.upload_file(media.mp4("gone.mp4"), "video")
    env.raw_delete(gone.key)
    orphan_id = str(uuid.uuid4())
    env.raw_put(f"temp/{orphan_id}/x.bin", b"orphan!")
    keys_before = env.keys()
    rows_before = [(u.id, u.status, u.key, u.is_temp) for u in Upload.select()]

    preview = env.cleanup.run(0, dry_run=True)

    assert env.keys() == keys_before
    assert [(u.id, u.status, u.key, u.is_temp) for u in Upload.select()] == rows_before
    expected = sorted([a.id, b.id, orphan_id])
    preview_dict = preview.to_dict()
    assert preview_dict["dry_run"] is True
    assert sorted(preview_dict["deleted"]) == expected
    assert preview_dict["missing"] == [gone.id]
    assert preview.freed_bytes == 1500 + b.size + 7

    real = env.cleanup.run(0)
    real_dict = real.to_dict()
    assert sorted(real_dict["deleted"]) == expected
    assert real.freed_bytes == preview.freed_bytes
    assert real_dict["skipped"] == preview_dict["skipped"] != []
    assert env.keys("temp/") == [needed.key]
    assert status(gone.id) == "missing"


def test_refused_deletes_are_reported_and_rows_kept(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = env.uploads.upload_file(media.mp4("a.mp4"), "video")
    b = env.uploads.upload_file(media.mp4("b.mp4"), "video")
    real = env.storage.delete_many

    def refuse_a(keys: list[str]) -> list[str]:
        real([k for k in keys if k != a.key])
        return [a.key]

    monkeypatch.setattr(env.storage, "delete_many", refuse_a)
    result = env.cleanup.run(0)
    assert result.deleted == [b.id]
    assert result.failed == [{"id": a.id, "reason": "the delete was refused"}]
    assert result.freed_bytes == b.size
    assert (status(a.id), status(b.id)) == ("completed", "deleted")


# -- S3 only: multipart leftovers and batching ------------------------------------------------


def _start_multipart(env: Env, key: str, part: bytes) -> str:
    client = env.storage.client  # type: ignore[union-attr]
    upload_id: str = client.create_multipart_upload(Bucket="test-bucket", Key=key)["UploadId"]
    client.upload_part(Bucket="test-bucket", Key=key, UploadId=upload_id, PartNumber=1,
                       Body=part)
    return upload_id


def test_incomplete_multipart_uploads_under_every_app_prefix_are_aborted(s3_env: Env) -> None:
    temp_key = f"temp/{uuid.uuid4()}/big.mp4"
    video_key = f"videos/{uuid.uuid4()}/big.mp4"
    foreign_key = f"backups/{uuid.uuid4()}/big.mp4"  # not a prefix of ours: never touched
    temp_mp = _start_multipart(s3_env, temp_key, b"a" * (5 * MIB))
    video_mp = _start_multipart(s3_env, video_key, b"b" * (5 * MIB))
    _start_multipart(s3_env, foreign_key, b"c" * (5 * MIB))

    plan = s3_env.cleanup.plan(0)
    assert sorted((m.key, m.upload_id, m.size) for m in plan.abort) == [
        (temp_key, temp_mp, 5 * MIB), (video_key, video_mp, 5 * MIB)
    ]
    assert plan.freed_bytes == 10 * MIB

    result = s3_env.cleanup.run(0)
    assert sorted(m.upload_id for m in result.aborted) == sorted([temp_mp, video_mp])
    assert result.freed_bytes == 10 * MIB
    assert s3_env.storage.list_multipart_uploads("temp/") == []
    assert [m.key for m in s3_env.storage.list_multipart_uploads("")] == [foreign_key]


def test_multipart_upload_of_an_active_upload_is_kept(s3_env: Env, media: Media) -> None:
    upload = s3_env.uploads.upload_file(media.mp4(), "video")
    mp = _start_multipart(s3_env, upload.key, b"c" * (5 * MIB))
    Upload.update(status="paused", multipart_upload_id=mp).where(
        Upload.id == upload.id
    ).execute()
    plan = s3_env.cleanup.plan(0)
    assert plan.abort == []
    assert {"id": upload.id, "reason": "still paused"} in plan.skipped
    s3_env.cleanup.run(0)
    assert [m.upload_id for m in s3_env.storage.list_multipart_uploads("")] == [mp]


def test_more_than_1000_objects_are_deleted_in_batches(s3_env: Env) -> None:
    client = s3_env.storage.client  # type: ignore[union-attr]
    for _ in range(1100):
        client.put_object(Bucket="test-bucket", Key=f"temp/{uuid.uuid4()}/o.txt", Body=b"x")
    batches: list[int] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        batches.append(len(params["Delete"]["Objects"]))

    client.meta.events.register("before-parameter-build.s3.DeleteObjects", count)
    result = s3_env.cleanup.run(0)
    assert batches == [1000, 100]
    assert len(result.deleted) == 1100
    assert result.freed_bytes == 1100
    assert s3_env.keys("temp/") == []
