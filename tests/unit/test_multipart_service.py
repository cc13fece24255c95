"""Unfinished multipart uploads across the app's prefixes: listed, marked, aborted (moto)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from shorts_desktop.core.db.models import Job, Upload
from shorts_desktop.core.errors import UserError
from shorts_desktop.core.services.jobs import JobDraft
from shorts_desktop.core.services.lifecycle import ABORT_MULTIPART_DAYS
from shorts_desktop.core.services.multipart import MultipartService
from shorts_desktop.core.transfers.store import Intent

if TYPE_CHECKING:
    from conftest import Env, Media

MIB = 1024 * 1024
BUCKET = "test-bucket"


def start(env: Env, key: str, size: int = 0) -> str:
    """An unfinished upload at `key`, with one part of `size` bytes when size > 0."""
    client = env.storage.client  # type: ignore[union-attr]
    upload_id: str = client.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    if size:
        client.upload_part(Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=1,
                           Body=b"x" * size)
    return upload_id


def started_at(env: Env, when: dict[str, datetime]) -> None:
    """Make ListMultipartUploads report these start times (moto says 2010 for all)."""

    def rewrite(parsed: dict[str, Any], **_: Any) -> None:
        for up in parsed.get("Uploads", []):
            if up["Key"] in when:
                up["Initiated"] = when[up["Key"]]

    env.storage.client.meta.events.register(  # type: ignore[union-attr]
        "after-call.s3.ListMultipartUploads", rewrite)


def open_ids(env: Env) -> set[str]:
    return {m.upload_id for m in env.storage.list_multipart_uploads("")}


def key(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4()}/big.mp4"


@pytest.fixture
def service(s3_env: Env) -> MultipartService:
    return MultipartService(s3_env.settings, s3_env.storage)


def paused_upload(env: Env, media: Media, is_temp: bool = False) -> tuple[Upload, str]:
    """A stored upload whose row now says it is paused on the multipart upload it returns."""
    upload = env.uploads.upload_file(media.mp4(f"{uuid.uuid4()}.mp4"), "video", is_temp=is_temp)
    mp = start(env, upload.key, 5 * MIB)
    Upload.update(status="paused", multipart_upload_id=mp).where(Upload.id == upload.id).execute()
    return upload, mp


def test_every_app_prefix_is_listed_and_no_other(s3_env: Env, service: MultipartService) -> None:
    ours = {p: start(s3_env, key(p)) for p in ("temp/", "videos/", "transcripts/", "processed/")}
    foreign = start(s3_env, key("backups/"))
    found = service.pending()
    assert {e.prefix: e.info.upload_id for e in found} == ours
    assert foreign not in {e.info.upload_id for e in found}
    assert all(e.known is None and e.owner is None for e in found)


def test_what_the_ledger_resumes_is_marked_known(
    s3_env: Env, media: Media, service: MultipartService
) -> None:
    paused, paused_mp = paused_upload(s3_env, media)
    failed, _ = paused_upload(s3_env, media)
    Upload.update(status="failed").where(Upload.id == failed.id).execute()  # nobody resumes it
    starting = s3_env.uploads.upload_file(media.mp4("c.mp4"), "video", is_temp=False)
    lost = start(s3_env, starting.key)  # its CreateMultipartUpload answer never came
    intent = Intent(starting.key, datetime.now(UTC), uuid.uuid4().hex)
    Upload.update(status="uploading", multipart_upload_id=intent.encode()).where(
        Upload.id == starting.id).execute()
    strangers_mp = start(s3_env, paused.key)  # same key, an id the ledger does not hold

    by_id = {e.info.upload_id: e for e in service.pending()}
    assert by_id[paused_mp].known == "still paused" and by_id[paused_mp].owner == paused.id
    assert by_id[lost].known == "still uploading" and by_id[lost].owner == starting.id
    assert by_id[strangers_mp].known is None
    assert [e.known for e in by_id.values() if e.owner == failed.id] == [None]
    assert by_id[paused_mp].to_dict()["known"] is True


def test_results_of_a_processing_job_are_known(
    s3_env: Env, media: Media, service: MultipartService
) -> None:
    video = s3_env.uploads.upload_file(media.mp4(), "video")
    text = s3_env.uploads.upload_transcript_text("Hi there.")
    job = s3_env.jobs.create(JobDraft(title="Bread", voice="nova", video_upload_id=video.id,
                                      transcript_upload_id=text.id))
    mp = start(s3_env, f"processed/{job.id}/short.mp4")
    Job.update(status="processing").where(Job.id == job.id).execute()
    (entry,) = service.pending()
    assert (entry.known, entry.owner_text) == ("its job is still processing", f"job {job.id}")
    Job.update(status="failed").where(Job.id == job.id).execute()
    assert [e.known for e in service.pending()] == [None]
    assert service.abort_older_than(0).abort[0].info.upload_id == mp


def test_older_than_aborts_only_old_uploads_nobody_resumes(
    s3_env: Env, media: Media, service: MultipartService
) -> None:
    young_key, old_key = key("videos/"), key("transcripts/")
    young, old = start(s3_env, young_key, 5 * MIB), start(s3_env, old_key, 5 * MIB)
    paused, paused_mp = paused_upload(s3_env, media)
    now = datetime.now(UTC)
    started_at(s3_env, {young_key: now - timedelta(hours=1), old_key: now - timedelta(hours=5),
                        paused.key: now - timedelta(days=ABORT_MULTIPART_DAYS + 1)})

    dry = service.abort_older_than(2, dry_run=True)
    assert [e.info.upload_id for e in dry.abort] == [old]
    assert [e.info.upload_id for e in dry.kept] == [paused_mp]
    assert dry.freed_bytes == 5 * MIB and dry.to_dict()["dry_run"] is True
    assert open_ids(s3_env) == {young, old, paused_mp}

    ran = service.abort_older_than(2)
    assert [e.info.upload_id for e in ran.abort] == [old]
    assert open_ids(s3_env) == {young, paused_mp}  # a paused upload outlives any age
    forced = service.abort_older_than(2, include_known=True)
    assert [e.info.upload_id for e in forced.abort] == [paused_mp]
    assert open_ids(s3_env) == {young}
    with pytest.raises(UserError, match="between 0 and 87,600"):
        service.abort_older_than(-1)


def test_abort_by_id_takes_known_ones_but_never_other_prefixes(
    s3_env: Env, media: Media, service: MultipartService
) -> None:
    _, paused_mp = paused_upload(s3_env, media)
    foreign = start(s3_env, key("backups/"))
    entry = service.abort(paused_mp)
    assert entry.known == "still paused"
    with pytest.raises(UserError, match="multipart list"):
        service.abort(foreign)
    with pytest.raises(UserError, match="No unfinished upload"):
        service.abort("no-such-upload")
    assert open_ids(s3_env) == {foreign}


def test_cleanup_aborts_stale_permanent_uploads_but_keeps_paused_ones(
    s3_env: Env, media: Media
) -> None:
    paused, paused_mp = paused_upload(s3_env, media)
    stale_key = key("videos/")
    stale = start(s3_env, stale_key, 5 * MIB)
    result = s3_env.cleanup.run(0)
    assert [m.upload_id for m in result.aborted] == [stale]
    assert {"id": paused.id, "reason": "still paused"} in result.plan.skipped
    assert open_ids(s3_env) == {paused_mp}


def test_the_local_library_has_none(local_env: Env) -> None:
    service = MultipartService(local_env.settings, local_env.storage)
    assert service.pending() == []
    with pytest.raises(UserError):
        service.abort("anything")
