"""Statistics: what the database knows and, on request, what the bucket really holds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from shorts_desktop.core.db.models import JOB_STATUSES, Upload
from shorts_desktop.core.services.jobs import JobDraft
from shorts_desktop.core.services.reconcile import ReconcileService

if TYPE_CHECKING:
    from conftest import Env, Media

MIB = 1024 * 1024


def fill(env: Env, media: Media) -> dict[str, int]:
    """Two temp videos, one permanent video, one temp transcript, one deleted video."""
    v1 = env.uploads.upload_file(media.mp4("v1.mp4", size=1000), "video")
    env.uploads.upload_file(media.webm("v2.webm", size=3000), "video")
    env.uploads.upload_file(media.avi("v3.avi", size=5000), "video", is_temp=False)
    t1 = env.uploads.upload_transcript_text("0123456789")  # 10 bytes
    gone = env.uploads.upload_file(media.mp4("gone.mp4", size=7777), "video")
    env.uploads.delete(gone.id)
    jobs = [
        env.jobs.create(JobDraft(title=f"Job {i}", voice="echo", video_upload_id=v1.id,
                                 transcript_upload_id=t1.id))
        for i in range(3)
    ]
    env.jobs.set_status(jobs[0].id, "queued")
    env.jobs.cancel(jobs[1].id)
    return {"video": 9000, "transcript": 10}


def test_overview_counts_and_bytes(env: Env, media: Media) -> None:
    fill(env, media)
    stats = env.stats.overview()
    assert stats["storage"] == env.storage.describe()
    assert stats["uploads"] == {"count": 4, "bytes": 9010}
    assert stats["by_kind"] == {
        "video": {"count": 3, "bytes": 9000},
        "transcript": {"count": 1, "bytes": 10},
    }
    assert stats["temp"] == {"count": 3, "bytes": 4010}
    assert stats["permanent"] == {"count": 1, "bytes": 5000}
    assert stats["uploads_by_status"] == {"completed": 4, "deleted": 1}
    assert stats["jobs_by_status"] == {
        **{s: 0 for s in JOB_STATUSES},
        "created": 1,
        "queued": 1,
        "cancelled": 1,
    }
    assert "bucket" not in stats


def test_overview_of_an_empty_database(env: Env) -> None:
    stats = env.stats.overview()
    assert stats["uploads"] == {"count": 0, "bytes": 0}
    assert set(stats["jobs_by_status"].values()) == {0}
    assert stats["uploads_by_status"] == {}


def test_uploads_per_day(env: Env, media: Media) -> None:
    fill(env, media)
    days = env.stats.uploads_per_day(7)
    assert len(days) == 7
    assert days[-1]["date"] == datetime.now(UTC).date().isoformat()
    # completed and deleted uploads count: the day's work happened either way
    assert (days[-1]["count"], days[-1]["bytes"]) == (5, 9010 + 7777)
    assert all(d["count"] == 0 for d in days[:-1])


def test_uploads_per_day_counts_completed_uploads_on_the_day_they_completed(
    env: Env, media: Media
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    resumed = env.uploads.upload_file(media.mp4("resumed.mp4", size=1000), "video")
    older = env.uploads.upload_file(media.mp4("older.mp4", size=2000), "video")
    failed = env.uploads.upload_file(media.mp4("failed.mp4", size=4000), "video")
    # Queued three days ago, completed (resumed) today; one completed two days ago; one
    # that failed today never arrived.
    Upload.update(created_at=now - timedelta(days=3)).where(Upload.id == resumed.id).execute()
    Upload.update(created_at=now - timedelta(days=2), completed_at=now - timedelta(days=2)
                  ).where(Upload.id == older.id).execute()
    Upload.update(status="failed", completed_at=None).where(Upload.id == failed.id).execute()
    days = env.stats.uploads_per_day(7)
    assert [(d["count"], d["bytes"]) for d in days] == [
        (0, 0), (0, 0), (0, 0), (0, 0), (1, 2000), (0, 0), (1, 1000)]


def test_bucket_usage_names_objects_the_library_does_not_know(env: Env, media: Media) -> None:
    kept = env.uploads.upload_file(media.mp4("kept.mp4", size=1000), "video")
    lost = env.uploads.upload_file(media.mp4("lost.mp4", size=3000), "video")
    Upload.delete().where(Upload.id == lost.id).execute()  # as with a lost database
    env.raw_put("videos/notes.txt", b"n" * 7)  # not laid out by the app
    env.raw_put(f"processed/{uuid.uuid4()}/final.mp4", b"r" * 42)  # a job's, not an upload
    unknown = env.stats.bucket_usage()["unknown"]
    assert unknown["ours"] == {"count": 1, "bytes": 3000}
    assert unknown["other"] == {"count": 1, "bytes": 7}
    assert (unknown["count"], unknown["bytes"]) == (2, 3007)
    assert sorted(unknown["keys"]) == sorted([lost.key, "videos/notes.txt"])
    assert kept.key not in unknown["keys"]

    # A sync brings the app's own object back; the other one stays unknown.
    report = ReconcileService(env.settings, env.storage).run()
    assert report.added == [lost.id]
    unknown = env.stats.bucket_usage()["unknown"]
    assert unknown["ours"] == {"count": 0, "bytes": 0}
    assert unknown["keys"] == ["videos/notes.txt"]


def test_a_library_in_step_with_the_bucket_has_no_unknown_objects(
    env: Env, media: Media
) -> None:
    fill(env, media)
    unknown = env.stats.bucket_usage()["unknown"]
    assert (unknown["count"], unknown["keys"]) == (0, [])


def test_bucket_usage_lists_every_prefix(env: Env, media: Media) -> None:
    fill(env, media)
    env.raw_put(f"processed/{uuid.uuid4()}/final.mp4", b"r" * 42)
    usage = env.stats.overview(include_bucket=True)["bucket"]
    prefixes = usage["prefixes"]
    assert {n: (p["prefix"], p["count"], p["bytes"]) for n, p in prefixes.items()} == {
        "videos": ("videos/", 1, 5000),
        "transcripts": ("transcripts/", 0, 0),
        "temp": ("temp/", 3, 4010),
        "processed": ("processed/", 1, 42),
    }
    assert usage["total_bytes"] == 9052
    assert usage["location"] == env.storage.describe()
    assert all(p["incomplete_multipart"] == {"count": 0, "bytes": 0} for p in prefixes.values())


def test_bucket_usage_counts_what_the_database_does_not_know(env: Env) -> None:
    env.raw_put(f"temp/{uuid.uuid4()}/orphan.bin", b"o" * 100)
    stats = env.stats.overview(include_bucket=True)
    assert stats["uploads"]["count"] == 0
    assert stats["bucket"]["prefixes"]["temp"]["bytes"] == 100


def test_bucket_usage_includes_incomplete_multipart_bytes(s3_env: Env, media: Media) -> None:
    s3_env.uploads.upload_file(media.mp4(size=2000), "video")
    client = s3_env.storage.client  # type: ignore[union-attr]
    key = f"temp/{uuid.uuid4()}/half.mp4"
    mp = client.create_multipart_upload(Bucket="test-bucket", Key=key)["UploadId"]
    client.upload_part(Bucket="test-bucket", Key=key, UploadId=mp, PartNumber=1,
                       Body=b"p" * (5 * MIB))
    usage = s3_env.stats.bucket_usage()
    temp = usage["prefixes"]["temp"]
    assert (temp["count"], temp["bytes"]) == (1, 2000)  # the hidden part is no object
    assert temp["incomplete_multipart"] == {"count": 1, "bytes": 5 * MIB}
    assert usage["prefixes"]["videos"]["incomplete_multipart"] == {"count": 0, "bytes": 0}
    assert usage["total_bytes"] == 2000 + 5 * MIB
    assert usage["bytes_by_storage_class"] == {"STANDARD": 2000}
