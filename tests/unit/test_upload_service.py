"""UploadService over S3 (moto, in-process) and over the local library."""

from __future__ import annotations

import hashlib
import sqlite3
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlparse

import botocore.exceptions
import peewee
import pytest

from shorts_desktop.core.db.models import Upload
from shorts_desktop.core.errors import (
    NotFoundError,
    SourceFileChanged,
    StorageError,
    UserError,
)
from shorts_desktop.core.services.hash_ahead import HashAhead
from shorts_desktop.core.services.jobs import JobDraft
from shorts_desktop.core.services.uploads import find_upload
from shorts_desktop.core.storage.keys import safe_name
from shorts_desktop.core.storage.s3 import S3Storage

if TYPE_CHECKING:
    from conftest import Env, Media

MIB = 1024 * 1024


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def client_error(code: str, status: int, operation: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": "boom"},
         "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "REQ1"}},
        operation,
    )


def nothing_stored(env: Env) -> bool:
    """No object anywhere, no unfinished multipart upload, no hidden temporary file."""
    if env.keys():
        return False
    if env.storage.list_multipart_uploads(""):
        return False
    if isinstance(env.storage, S3Storage):
        return True
    root = env.storage.root
    return not root.exists() or not any(p.is_file() for p in root.rglob("*"))


# -- uploading --------------------------------------------------------------------------------


def test_upload_video_creates_completed_row_and_object(env: Env, media: Media) -> None:
    path = media.mp4("My Clip.mp4", size=3000)
    progress: list[int] = []
    upload = env.uploads.upload_file(path, "video", progress=progress.append)
    assert upload.status == "completed"
    assert upload.completed_at is not None and upload.error is None
    assert upload.kind == "video" and upload.content_type == "video/mp4"
    assert upload.size == 3000
    assert upload.checksum == sha256(path)
    assert upload.is_temp
    assert upload.backend == env.backend
    assert upload.bucket == env.storage.bucket
    assert upload.original_name == "My Clip.mp4"
    assert upload.key == f"temp/{upload.id}/{safe_name('My Clip.mp4')}"
    assert uuid.UUID(upload.id).version == 4
    assert env.raw_get(upload.key) == path.read_bytes()
    assert sum(progress) == 3000


@pytest.mark.parametrize(
    ("kind", "make", "prefix"),
    [("video", "webm", "videos/"), ("transcript", "transcript", "transcripts/")],
)
def test_permanent_upload_goes_under_its_kind_prefix(
    env: Env, media: Media, kind: str, make: str, prefix: str
) -> None:
    path = getattr(media, make)()
    upload = env.uploads.upload_file(path, kind, is_temp=False)
    assert upload.key == f"{prefix}{upload.id}/{path.name}"
    assert not upload.is_temp
    assert env.raw_get(upload.key) == path.read_bytes()
    assert env.keys("temp/") == []


def test_upload_transcript_file(env: Env, media: Media) -> None:
    path = media.transcript("talk.srt")
    upload = env.uploads.upload_file(path, "transcript")
    assert upload.status == "completed"
    assert upload.content_type == "application/x-subrip; charset=utf-8"
    assert upload.checksum == sha256(path)
    assert upload.key == f"temp/{upload.id}/talk.srt"


def test_upload_transcript_text(env: Env) -> None:
    text = "Hallo zusammen — heute geht's um Shorts.\n"
    upload = env.uploads.upload_transcript_text(text, name="intro")
    assert upload.status == "completed"
    assert upload.original_name == "intro.txt"
    assert upload.key == f"temp/{upload.id}/intro.txt"
    assert upload.checksum == hashlib.sha256(text.encode()).hexdigest()
    assert upload.source_path is None  # the scratch file is not the user's file
    assert env.raw_get(upload.key) == text.encode()
    assert list((env.tmp / "scratch").iterdir()) == []


def test_upload_transcript_text_refuses_empty_text(env: Env) -> None:
    with pytest.raises(UserError, match="The transcript text"):
        env.uploads.upload_transcript_text("  \n ")
    assert Upload.select().count() == 0


def test_upload_refuses_a_video_that_is_not_one(env: Env, media: Media) -> None:
    path = media.write("fake.mp4", b"just text pretending to be a video\n")
    with pytest.raises(UserError, match="not a video"):
        env.uploads.upload_file(path, "video")
    assert Upload.select().count() == 0
    assert env.keys() == []


def test_upload_refuses_unknown_kind(env: Env, media: Media) -> None:
    with pytest.raises(UserError, match="Unknown upload kind 'audio'"):
        env.uploads.upload_file(media.mp4(), "audio")


def test_s3_object_metadata(s3_env: Env, media: Media) -> None:
    path = media.mp4("Urlaub – Tag 1.mp4")
    upload = s3_env.uploads.upload_file(path, "video")
    head = s3_env.storage.client.head_object(Bucket=s3_env.storage.bucket, Key=upload.key)
    assert head["ContentType"] == "video/mp4"
    assert head["Metadata"] == {
        "upload-id": upload.id,
        "kind": "video",
        "original-name": "Urlaub%20%E2%80%93%20Tag%201.mp4",
        "sha256": sha256(path),
        "is-temp": "true",
    }
    assert unquote(head["Metadata"]["original-name"]) == "Urlaub – Tag 1.mp4"


def test_local_object_metadata(local_env: Env, media: Media) -> None:
    upload = local_env.uploads.upload_file(media.transcript("a b.txt"), "transcript",
                                           is_temp=False)
    info = local_env.storage.head(upload.key)
    assert info is not None
    assert info.metadata["upload-id"] == upload.id
    assert info.metadata["is-temp"] == "false"
    assert info.metadata["original-name"] == "a%20b.txt"


def test_s3_multipart_upload_completes_and_verifies(s3_env: Env, media: Media) -> None:
    calls: list[str] = []
    s3_env.storage.transfers.client.meta.events.register(
        "before-call.s3.*", lambda model, **_: calls.append(model.name)
    )
    path = media.mp4("big.mp4", size=6 * MIB)
    progress: list[int] = []
    upload = s3_env.uploads.upload_file(path, "video", progress=progress.append)
    assert upload.status == "completed"
    assert "CreateMultipartUpload" in calls and "CompleteMultipartUpload" in calls
    assert "PutObject" not in calls
    info = s3_env.storage.head(upload.key)
    assert info is not None and info.size == 6 * MIB
    assert info.etag.endswith("-2")  # parts of the 5 MiB threshold
    # Hashed from the reads that sent its parts: the row has it, the object's metadata
    # (written when the upload began) cannot.
    assert upload.checksum == sha256(path) == find_upload(upload.id).checksum
    assert "sha256" not in info.metadata
    assert sum(progress) == 6 * MIB
    assert s3_env.storage.list_multipart_uploads("") == []


def test_a_file_sent_to_s3_is_not_read_before_it_is_sent(
    s3_env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One read per file: the engine hashes what it sends (SHA-256 from the part reads of
    a multipart upload, SHA-256 and Content-MD5 from the buffer of a single PUT)."""
    from shorts_desktop.core.services import files

    asked: list[bool] = []
    real = files.digests

    def digests(path: Path, chunk: int = 8 * MIB, *, md5: bool = True) -> files.Digests:
        asked.append(md5)
        return real(path, chunk, md5=md5)

    monkeypatch.setattr(files, "digests", digests)
    big = s3_env.uploads.upload_file(media.mp4("big.mp4", size=6 * MIB), "video")
    assert asked == [] and big.status == "completed"
    assert big.checksum == sha256(media.folder / "big.mp4")
    small = s3_env.uploads.upload_file(media.mp4("small.mp4", size=MIB), "video")
    assert asked == [] and small.status == "completed"
    assert small.checksum == sha256(media.folder / "small.mp4") == find_upload(small.id).checksum
    assert s3_env.storage.head(small.key).metadata["sha256"] == small.checksum


def test_s3_small_file_is_one_put(s3_env: Env, media: Media) -> None:
    calls: list[str] = []
    s3_env.storage.transfers.client.meta.events.register(
        "before-call.s3.*", lambda model, **_: calls.append(model.name)
    )
    s3_env.uploads.upload_file(media.mp4(size=5 * MIB - 1), "video")
    assert "PutObject" in calls and "CreateMultipartUpload" not in calls


# -- failures ---------------------------------------------------------------------------------


def test_file_changed_during_upload_is_refused(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is rewritten while it is sent (S3: the engine read it, then it changed;
    local: after it was hashed): refused, and the refusal is the user's input (exit 2),
    saying what happened to the file."""
    clip = media.mp4(size=4000)

    def rewrite(**_: Any) -> None:
        data = bytearray(clip.read_bytes())
        data[-1] ^= 0xFF
        time.sleep(0.01)  # a new modification time, even on a coarse clock
        clip.write_bytes(bytes(data))

    if isinstance(env.storage, S3Storage):
        env.storage.transfers.client.meta.events.register("before-send.s3.PutObject", rewrite)
    else:
        real_put = env.storage.put_file

        def change_then_put(path: Path, key: str, **kwargs: Any) -> str | None:
            rewrite()
            return real_put(path, key, **kwargs)

        monkeypatch.setattr(env.storage, "put_file", change_then_put)
    with pytest.raises(SourceFileChanged) as caught:
        env.uploads.upload_file(clip, "video")
    assert caught.value.exit_code == 2
    assert str(caught.value) == (f"{clip} was rewritten while it was being uploaded; upload "
                                 "it again once it is complete.")
    (row,) = Upload.select()
    assert (row.status, row.error) == ("failed", str(caught.value))
    assert nothing_stored(env)


def test_s3_put_refused_leaves_failed_row_and_nothing_stored(
    s3_env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(**kwargs: Any) -> None:
        raise client_error("AccessDenied", 403, "PutObject")

    monkeypatch.setattr(s3_env.storage.transfers.client, "put_object", refuse)
    with pytest.raises(StorageError, match="Access to the bucket test-bucket was denied"):
        s3_env.uploads.upload_file(media.mp4(), "video")
    (row,) = Upload.select()
    assert row.status == "failed"
    assert "was denied" in row.error
    assert row.completed_at is None
    assert nothing_stored(s3_env)


def test_s3_failure_after_the_bytes_arrived_removes_the_object(
    s3_env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PUT succeeded but its answer was lost: the object must not stay behind."""
    real_put = s3_env.storage.transfers.client.put_object

    def put_then_fail(**kwargs: Any) -> None:
        real_put(**kwargs)
        raise botocore.exceptions.ConnectionClosedError(endpoint_url="https://s3.example")

    monkeypatch.setattr(s3_env.storage.transfers.client, "put_object", put_then_fail)
    with pytest.raises(StorageError, match="connection to S3 was closed"):
        s3_env.uploads.upload_file(media.mp4(), "video")
    (row,) = Upload.select()
    assert row.status == "failed"
    assert nothing_stored(s3_env)


def test_s3_multipart_failure_aborts_the_multipart_upload(
    s3_env: Env, media: Media
) -> None:
    """A part fails and the engine's own abort fails too: the service still aborts it."""
    events = s3_env.storage.transfers.client.meta.events
    aborts: list[str] = []

    def fail_part(**_: Any) -> None:
        raise client_error("InternalError", 500, "UploadPart")

    def fail_first_abort(params: dict[str, Any], **_: Any) -> None:
        aborts.append(params["UploadId"])
        if len(aborts) == 1:
            raise client_error("InternalError", 500, "AbortMultipartUpload")

    events.register("before-call.s3.UploadPart", fail_part)
    events.register("before-parameter-build.s3.AbortMultipartUpload", fail_first_abort)
    with pytest.raises(StorageError):
        s3_env.uploads.upload_file(media.mp4("big.mp4", size=6 * MIB), "video")
    (row,) = Upload.select()
    assert row.status == "failed"
    assert row.error
    assert aborts  # the engine tried (and was refused); the service aborted it after
    assert s3_env.storage.list_multipart_uploads("") == []
    assert nothing_stored(s3_env)


def test_local_failure_mid_copy_leaves_failed_row_and_no_file(
    local_env: Env, media: Media
) -> None:
    def fail(_: int) -> None:
        raise StorageError("The disk is full: could not store the file.")

    with pytest.raises(StorageError, match="disk is full"):
        local_env.uploads.upload_file(media.mp4(size=3 * MIB), "video", progress=fail)
    (row,) = Upload.select()
    assert (row.status, row.error) == ("failed", "The disk is full: could not store the file.")
    assert nothing_stored(local_env)


def test_storage_error_from_put_file_marks_row_failed(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> str:
        raise StorageError("S3 is throttling requests right now; try again in a minute.")

    monkeypatch.setattr(env.storage, "put_file", refuse)
    with pytest.raises(StorageError):
        env.uploads.upload_file(media.mp4(), "video")
    (row,) = Upload.select()
    assert row.status == "failed"
    assert row.error.startswith("S3 is throttling")


def test_unexpected_exception_is_recorded_without_its_message(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any, **kwargs: Any) -> str:
        raise ValueError("internal detail /home/me/secret")

    monkeypatch.setattr(env.storage, "put_file", explode)
    with pytest.raises(ValueError):
        env.uploads.upload_file(media.mp4(), "video")
    (row,) = Upload.select()
    assert (row.status, row.error) == ("failed", "unexpected error (ValueError)")


def test_keyboard_interrupt_mid_copy_cancels_a_local_upload(
    local_env: Env, media: Media
) -> None:
    seen: list[int] = []

    def interrupt(n: int) -> None:
        seen.append(n)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        local_env.uploads.upload_file(media.mp4(size=2 * MIB), "video", progress=interrupt)
    assert seen  # the bytes were on their way
    (row,) = Upload.select()
    assert (row.status, row.error) == ("cancelled", "interrupted")
    assert nothing_stored(local_env)


def test_keyboard_interrupt_keeps_an_s3_upload_resumable(
    s3_env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while waiting: the row is paused with its parts kept, and resume finishes it."""
    from shorts_desktop.core.errors import UploadInterrupted
    from shorts_desktop.core.transfers import engine as engine_module

    real_wait_for = engine_module.TransferHandle.wait_for

    def interrupted_wait(self: Any, *states: str, timeout: float | None = None) -> str:
        deadline = time.monotonic() + 20
        while self.bytes_done < 5 * MIB and time.monotonic() < deadline:  # a part is sent
            time.sleep(0.01)
        raise KeyboardInterrupt

    monkeypatch.setattr(engine_module.TransferHandle, "wait_for", interrupted_wait)
    path = media.mp4("big.mp4", size=11 * MIB)
    with pytest.raises(UploadInterrupted, match="shorts-desktop resume"):
        s3_env.uploads.upload_file(path, "video")
    (row,) = Upload.select()
    assert row.status == "paused"
    monkeypatch.setattr(engine_module.TransferHandle, "wait_for", real_wait_for)
    done = s3_env.uploads.continue_upload(row.id)
    assert done.status == "completed"
    assert s3_env.raw_get(done.key) == path.read_bytes()
    assert s3_env.storage.list_multipart_uploads("") == []


def test_failed_database_update_after_put_removes_the_object(
    env: Env, media: Media, db: peewee.SqliteDatabase
) -> None:
    db.execute_sql(
        "CREATE TRIGGER refuse_completion BEFORE UPDATE OF status ON upload "
        "WHEN NEW.status = 'completed' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
    )
    with pytest.raises(sqlite3.IntegrityError):  # the upload rows' own connection says it
        env.uploads.upload_file(media.mp4(), "video")
    assert nothing_stored(env)
    assert Upload.select().where(Upload.status == "completed").count() == 0


def test_row_vanishing_during_put_removes_the_object(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_put = env.storage.put_file

    def put_and_drop_row(path: Path, key: str, **kwargs: Any) -> str:
        etag = real_put(path, key, **kwargs)
        Upload.delete().where(Upload.key == key).execute()
        return etag

    monkeypatch.setattr(env.storage, "put_file", put_and_drop_row)
    with pytest.raises(StorageError, match="row disappeared"):
        env.uploads.upload_file(media.mp4(), "video")
    assert nothing_stored(env)


# -- promote ----------------------------------------------------------------------------------


def test_promote_moves_to_permanent(env: Env, media: Media) -> None:
    path = media.mp4("keeper.mp4")
    upload = env.uploads.upload_file(path, "video")
    temp_key = upload.key
    promoted, changed = env.uploads.promote(upload.id)
    assert changed
    assert promoted.key == f"videos/{upload.id}/keeper.mp4"
    assert not promoted.is_temp
    assert promoted.status == "completed"
    assert promoted.checksum == upload.checksum
    assert env.raw_get(temp_key) is None
    assert env.raw_get(promoted.key) == path.read_bytes()
    info = env.storage.head(promoted.key)
    assert info is not None
    assert info.metadata["is-temp"] == "false"
    assert info.metadata["sha256"] == sha256(path)
    assert env.keys() == [promoted.key]


def test_promote_transcript_goes_to_transcripts(env: Env) -> None:
    upload = env.uploads.upload_transcript_text("words words words")
    promoted, _ = env.uploads.promote(upload.id)
    assert promoted.key == f"transcripts/{upload.id}/transcript.txt"


def test_promote_twice_is_a_no_op(env: Env, media: Media) -> None:
    upload = env.uploads.upload_file(media.mp4(), "video")
    first, changed = env.uploads.promote(upload.id)
    again, changed_again = env.uploads.promote(upload.id)
    assert changed and not changed_again
    assert again.key == first.key and not again.is_temp
    assert env.keys() == [first.key]


def test_promote_missing_object_marks_row_missing(env: Env, media: Media) -> None:
    upload = env.uploads.upload_file(media.mp4(), "video")
    env.raw_delete(upload.key)
    with pytest.raises(StorageError, match="no longer in storage"):
        env.uploads.promote(upload.id)
    row = find_upload(upload.id)
    assert row.status == "missing"
    assert row.is_temp and row.key == upload.key
    assert env.keys() == []


def test_promote_keeps_the_temp_file_when_the_copy_cannot_be_verified(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = env.uploads.upload_file(media.mp4(), "video")

    def bad_copy(src: str, dst: str, *, content_type: str, metadata: dict[str, str]) -> None:
        env.raw_put(dst, b"short")

    monkeypatch.setattr(env.storage, "copy", bad_copy)
    with pytest.raises(StorageError, match="could not be verified"):
        env.uploads.promote(upload.id)
    row = find_upload(upload.id)
    assert row.is_temp and row.key == upload.key
    assert env.raw_get(upload.key) is not None


def test_promote_rolls_back_when_the_temp_delete_fails(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = env.uploads.upload_file(media.mp4(), "video")

    def refuse(key: str) -> None:
        raise StorageError("Permission denied: could not delete it.")

    monkeypatch.setattr(env.storage, "delete", refuse)
    with pytest.raises(StorageError, match="Permission denied"):
        env.uploads.promote(upload.id)
    row = find_upload(upload.id)
    assert row.is_temp and row.key == upload.key  # the row still points at what exists
    assert env.raw_get(upload.key) is not None


# -- links and downloads ----------------------------------------------------------------------


def test_presigned_url(s3_env: Env, media: Media) -> None:
    upload = s3_env.uploads.upload_file(media.mp4("My Clip.mp4"), "video")
    url, seconds = s3_env.uploads.presigned_url(upload.id, 120)
    assert seconds == 120
    parsed = urlparse(url)
    assert parsed.scheme == "https"
    assert parsed.path.endswith(upload.key)
    assert "test-bucket" in parsed.netloc + parsed.path
    query = parse_qs(parsed.query)
    assert query["X-Amz-Expires"] == ["120"]
    assert query["response-content-disposition"] == ['attachment; filename="My_Clip.mp4"']
    # Signature Version 4: SigV2 links are refused by buckets made since 2020.
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Credential"][0].endswith("/us-east-1/s3/aws4_request")
    assert "Signature" not in query and "AWSAccessKeyId" not in query


def test_presigned_url_default_expiry_comes_from_settings(s3_env: Env, media: Media) -> None:
    upload = s3_env.uploads.upload_file(media.mp4(), "video")
    url, seconds = s3_env.uploads.presigned_url(upload.id)
    assert seconds == s3_env.settings.presigned_url_expiry == 3600
    assert "X-Amz-Expires=3600" in url


def test_presigned_url_accepts_seven_days(s3_env: Env, media: Media) -> None:
    upload = s3_env.uploads.upload_file(media.mp4(), "video")
    assert s3_env.uploads.presigned_url(upload.id, 604800)[1] == 604800


@pytest.mark.parametrize("seconds", [0, -5, 604801])
def test_presigned_url_refuses_bad_expiry(s3_env: Env, media: Media, seconds: int) -> None:
    upload = s3_env.uploads.upload_file(media.mp4(), "video")
    with pytest.raises(UserError, match="within 1 second to 7 days"):
        s3_env.uploads.presigned_url(upload.id, seconds)


def test_presigned_url_refused_for_the_local_library(local_env: Env, media: Media) -> None:
    upload = local_env.uploads.upload_file(media.mp4(), "video")
    with pytest.raises(UserError, match="Share links need an S3 bucket"):
        local_env.uploads.presigned_url(upload.id, 60)


def test_presigned_url_refused_for_an_unfinished_upload(s3_env: Env, media: Media) -> None:
    upload = s3_env.uploads.upload_file(media.mp4(), "video")
    Upload.update(status="failed").where(Upload.id == upload.id).execute()
    with pytest.raises(UserError, match="is failed, not a completed file"):
        s3_env.uploads.presigned_url(upload.id, 60)


def test_download_round_trip(env: Env, media: Media, tmp_path: Path) -> None:
    path = media.mp4("Holiday clip.mp4", size=20_000)
    upload = env.uploads.upload_file(path, "video")
    out = tmp_path / "out"
    out.mkdir()
    target = env.uploads.download(upload.id, out)
    assert target == out / "Holiday_clip.mp4"
    assert target.read_bytes() == path.read_bytes()
    assert sorted(p.name for p in out.iterdir()) == ["Holiday_clip.mp4"]


def test_download_to_a_file_name(env: Env, media: Media, tmp_path: Path) -> None:
    upload = env.uploads.upload_transcript_text("hello")
    target = env.uploads.download(upload.id, tmp_path / "mine.txt")
    assert target == tmp_path / "mine.txt"
    assert target.read_text(encoding="utf-8") == "hello"


def test_download_with_a_corrupt_object_is_discarded(
    env: Env, media: Media, tmp_path: Path
) -> None:
    path = media.mp4(size=5000)
    upload = env.uploads.upload_file(path, "video")
    env.raw_put(upload.key, b"X" + path.read_bytes()[1:])  # same size, one byte off
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(StorageError, match="does not match its checksum"):
        env.uploads.download(upload.id, out)
    assert list(out.iterdir()) == []


def test_download_refuses_to_overwrite(env: Env, media: Media, tmp_path: Path) -> None:
    upload = env.uploads.upload_transcript_text("new content")
    target = tmp_path / "existing.txt"
    target.write_text("precious", encoding="utf-8")
    with pytest.raises(UserError, match="already exists"):
        env.uploads.download(upload.id, target)
    assert target.read_text(encoding="utf-8") == "precious"
    env.uploads.download(upload.id, target, overwrite=True)
    assert target.read_text(encoding="utf-8") == "new content"


def test_download_into_a_missing_folder_is_refused(env: Env, tmp_path: Path) -> None:
    upload = env.uploads.upload_transcript_text("hello")
    with pytest.raises(UserError, match="does not exist"):
        env.uploads.download(upload.id, tmp_path / "no" / "such" / "file.txt")


def test_download_of_a_vanished_object_is_a_storage_error(
    env: Env, tmp_path: Path
) -> None:
    upload = env.uploads.upload_transcript_text("hello")
    env.raw_delete(upload.key)
    with pytest.raises(StorageError):
        env.uploads.download(upload.id, tmp_path / "t.txt")
    assert not (tmp_path / "t.txt").exists()


# -- delete -----------------------------------------------------------------------------------


def _job_using(env: Env, video_id: str) -> str:
    transcript = env.uploads.upload_transcript_text("words")
    job = env.jobs.create(
        JobDraft(title="Shorts #1", voice="alloy", video_upload_id=video_id,
                 transcript_upload_id=transcript.id)
    )
    return str(job.id)


def test_delete_refused_while_an_unfinished_job_uses_it(env: Env, media: Media) -> None:
    upload = env.uploads.upload_file(media.mp4(), "video")
    job_id = _job_using(env, upload.id)
    with pytest.raises(UserError, match="used by the job 'Shorts #1' \\(created\\)"):
        env.uploads.delete(upload.id)
    assert find_upload(upload.id).status == "completed"
    assert env.raw_get(upload.key) is not None
    env.jobs.cancel(job_id)
    deleted = env.uploads.delete(upload.id)
    assert deleted.status == "deleted"
    assert env.raw_get(upload.key) is None


def test_delete_removes_object_and_marks_row(env: Env, media: Media) -> None:
    upload = env.uploads.upload_file(media.mp4(), "video", is_temp=False)
    other = env.uploads.upload_file(media.mp4("other.mp4"), "video")
    assert env.uploads.delete(upload.id).status == "deleted"
    assert env.keys() == [other.key]
    assert [u.id for u in env.uploads.list()] == [other.id]
    assert {u.id for u in env.uploads.list(include_deleted=True)} == {upload.id, other.id}
    assert env.uploads.delete(upload.id).status == "deleted"  # again: nothing to do


def test_delete_refused_while_uploading(env: Env, media: Media) -> None:
    upload = env.uploads.upload_file(media.mp4(), "video")
    Upload.update(status="uploading").where(Upload.id == upload.id).execute()
    with pytest.raises(UserError, match="still uploading"):
        env.uploads.delete(upload.id)
    assert env.raw_get(upload.key) is not None


def test_delete_refused_for_another_storage(env: Env, media: Media) -> None:
    upload = env.uploads.upload_file(media.mp4(), "video")
    other = "s3" if env.backend == "local" else "local"
    Upload.update(backend=other, bucket="elsewhere" if other == "s3" else None).where(
        Upload.id == upload.id
    ).execute()
    with pytest.raises(UserError, match="which the app is not using"):
        env.uploads.delete(upload.id)
    assert env.raw_get(upload.key) is not None


# -- finding ----------------------------------------------------------------------------------


def _row(upload_id: str, kind: str = "video") -> Upload:
    row: Upload = Upload.create(id=upload_id, kind=kind, original_name="x.mp4",
                                status="completed")
    return row


def test_find_upload_by_unique_prefix(db: peewee.SqliteDatabase) -> None:
    a = _row("abcdef01-0000-4000-8000-000000000001")
    _row("abcdef02-0000-4000-8000-000000000002")
    assert find_upload("abcdef01").id == a.id
    assert find_upload("  ABCDEF01-0000 ").id == a.id
    assert find_upload(a.id, "video").id == a.id


@pytest.mark.parametrize("ident", ["abcdef0", "abcdef0-", "abcdef", "nope", ""])
def test_find_upload_refuses_short_ambiguous_or_unknown(
    db: peewee.SqliteDatabase, ident: str
) -> None:
    _row("abcdef01-0000-4000-8000-000000000001")
    _row("abcdef02-0000-4000-8000-000000000002")
    with pytest.raises(NotFoundError, match="No upload has the id"):
        find_upload(ident)


def test_find_upload_ambiguous_prefix_of_eight(db: peewee.SqliteDatabase) -> None:
    _row("abcdef01-0000-4000-8000-000000000001")
    _row("abcdef01-1111-4000-8000-000000000002")
    with pytest.raises(NotFoundError):
        find_upload("abcdef01")
    assert find_upload("abcdef01-1").id.endswith("0002")


def test_find_upload_wrong_kind(db: peewee.SqliteDatabase) -> None:
    row = _row("abcdef01-0000-4000-8000-000000000001", kind="transcript")
    with pytest.raises(UserError, match="is a transcript, not a video") as info:
        find_upload(row.id, "video")
    assert not isinstance(info.value, NotFoundError)


# -- the same content, and the jobs that use an upload -----------------------------------------


def test_same_content_finds_completed_uploads_with_the_same_bytes(
    local_env: Env, media: Media, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shorts_desktop.core.services import files

    env = local_env
    first = env.uploads.upload_file(media.mp4("first.mp4", size=5000), "video")
    copy = media.write("copy.mp4", (media.folder / "first.mp4").read_bytes())
    again = env.uploads.upload_file(copy, "video")
    same = env.uploads.same_content_as(copy)
    assert [u.id for u in same] == [first.id, again.id]  # oldest first
    assert [u.id for u in env.uploads.find_same_content(sha256(copy))] == [first.id, again.id]
    assert env.uploads.find_same_content(sha256(copy).upper(), size=5000)[0].id == first.id
    assert env.uploads.find_same_content("") == []
    # Only completed uploads count; a deleted or failed one is not "in the library".
    env.uploads.delete(first.id)
    Upload.update(status="failed").where(Upload.id == again.id).execute()
    assert env.uploads.same_content_as(copy) == []
    # A file whose size no completed upload has is not even read.
    other = media.mp4("other.mp4", size=7000)
    read: list[Path] = []
    real = files.digests
    monkeypatch.setattr(files, "digests",
                        lambda path, *a, **k: read.append(path) or real(path, *a, **k))
    assert env.uploads.same_content_as(other) == []
    assert read == []
    # The intake asked for the sizes of a whole drop at once: the question is not asked
    # again, and the file is hashed (and the hash kept for its upload).
    assert env.uploads.same_content_as(other, size_stored=True) == []
    assert read == [other]
    # Asked again, the hash made is taken: the file is not read a second time; written
    # since, it is.
    assert env.uploads.same_content_as(other, size_stored=True) == []
    assert read == [other]
    other.write_bytes(other.read_bytes() + b"x")
    assert env.uploads.same_content_as(other, size_stored=True) == []
    assert read == [other, other]


def test_same_content_as_pasted_text(local_env: Env) -> None:
    stored = local_env.uploads.upload_transcript_text("Hello there.", name="hello.txt")
    assert [u.id for u in local_env.uploads.same_content_as_text("Hello there.")] == [stored.id]
    assert local_env.uploads.same_content_as_text("Hello there!") == []


def test_jobs_using_names_each_uploads_jobs_in_one_go(local_env: Env, media: Media) -> None:
    env = local_env
    video = env.uploads.upload_file(media.mp4("v.mp4"), "video")
    text = env.uploads.upload_file(media.transcript("t.txt"), "transcript")
    free = env.uploads.upload_file(media.transcript("free.txt"), "transcript")
    live = env.jobs.create(JobDraft(title="Live one", voice="alloy", video_upload_id=video.id,
                                    transcript_upload_id=text.id))
    done = env.jobs.create(JobDraft(title="Done one", voice="alloy", video_upload_id=video.id,
                                    transcript_upload_id=text.id))
    env.jobs.cancel(done.id)
    used = env.uploads.jobs_using([video.id, text.id, free.id])
    assert free.id not in used
    assert {j["title"]: j["needs_inputs"] for j in used[video.id]} == {
        "Live one": True, "Done one": False}
    assert {j["id"] for j in used[text.id]} == {done.id, live.id}
    assert env.uploads.jobs_using([]) == {}


def test_sizes_stored_answers_for_a_whole_drop_in_one_look(local_env: Env, media: Media) -> None:
    env = local_env
    env.uploads.upload_file(media.mp4("kept.mp4", size=5000), "video")
    failed = env.uploads.upload_file(media.mp4("failed.mp4", size=6000), "video")
    Upload.update(status="failed").where(Upload.id == failed.id).execute()
    assert env.uploads.sizes_stored([5000, 6000, 7000, 5000]) == {5000}
    assert env.uploads.sizes_stored(range(1, 1300)) == set()  # more than one query's worth
    assert env.uploads.sizes_stored([]) == set()


def test_a_file_sent_in_parts_stays_known_to_sync_and_promotion_writes_its_sha256(
    s3_env: Env, media: Media
) -> None:
    """Its object has no SHA-256 in the bucket (hashed while it was sent); `sync` still
    takes the object as the row's, and the permanent copy carries the row's SHA-256."""
    from shorts_desktop.core.services.reconcile import ReconcileService

    path = media.mp4("long.mp4", size=6 * MIB)
    upload = s3_env.uploads.upload_file(path, "video")
    assert "sha256" not in s3_env.storage.head(upload.key).metadata
    # The row lost track of its object (as after a crash between a move and its record):
    # sync finds it by the upload id and size, the missing SHA-256 no reason to refuse it.
    Upload.update(key=f"{upload.key}.gone", status="missing").where(
        Upload.id == upload.id).execute()
    report = ReconcileService(s3_env.settings, s3_env.storage).run()
    assert report.adopted == [upload.id]
    assert (find_upload(upload.id).status, find_upload(upload.id).key) == ("completed",
                                                                           upload.key)
    promoted, changed = s3_env.uploads.promote(upload.id)
    assert changed and promoted.status == "completed"
    assert s3_env.storage.head(promoted.key).metadata["sha256"] == sha256(path)


@pytest.mark.parametrize("asked, status, raised", [
    ("paused", "paused", "shorts-desktop resume"), ("cancelled", "cancelled", "cancelled"),
])
def test_a_local_copy_stops_when_another_process_asks(
    local_env: Env, media: Media, monkeypatch: pytest.MonkeyPatch,
    asked: str, status: str, raised: str,
) -> None:
    """`shorts-desktop pause ID` / `cancel ID` from another terminal write the row; the
    process copying the file reads it between chunks, as an S3 upload does."""
    from shorts_desktop.core.storage import local as local_storage

    monkeypatch.setattr(local_storage, "CONTROL_POLL", 0.0)
    path = media.mp4(size=4 * MIB)
    upload, sums = local_env.uploads.create(path, "video")
    chunks: list[int] = []

    def other_process_asks(delta: int) -> None:
        chunks.append(delta)
        with sqlite3.connect(local_env.tmp / "data" / "shorts-desktop.db") as conn:
            conn.execute("UPDATE upload SET status = ? WHERE id = ?", (asked, upload.id))

    with pytest.raises(Exception, match=raised):
        local_env.uploads.send(upload, path, sums, other_process_asks)
    assert len(chunks) == 1  # stopped at the next chunk, not at the end
    assert find_upload(upload.id).status == status
    assert nothing_stored(local_env)
    if status == "paused":  # sent again, the copy starts over and completes
        again, again_path, again_sums = local_env.uploads.reopen(upload.id)
        done = local_env.uploads.send(again, again_path, again_sums)
        assert (done.status, done.checksum) == ("completed", sha256(path))
        assert local_env.storage.head(str(done.key)).metadata["sha256"] == sha256(path)


def spy_claims(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None]]:
    """What each claim of a hash made ahead answered, by file name."""
    answers: list[tuple[str, str | None]] = []
    real = HashAhead.claim

    def claim(self: HashAhead, path: Path | str, size: int, mtime_ns: int) -> str | None:
        sha = real(self, path, size, mtime_ns)
        answers.append((Path(path).name, sha))
        return sha

    monkeypatch.setattr(HashAhead, "claim", claim)
    return answers


def test_an_upload_takes_the_hash_made_ahead_of_it(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small file hashed ahead is sent with that hash; one larger than the hashing's
    largest size was left to its send; each stores its own SHA-256."""
    small = media.mp4("small.mp4", size=3000)
    big = media.mp4("big.mp4", size=5 * 1024 * 1024 + 1234)  # sent in parts
    ahead = HashAhead([small, big], largest=1024 * 1024)
    ahead.join(10)
    answers = spy_claims(monkeypatch)
    env.uploads.hash_ahead(ahead)
    for path in (small, big):
        upload = env.uploads.upload_file(path, "video")
        assert upload.status == "completed" and upload.checksum == sha256(path)
    if env.storage.takes_hashes:
        assert answers == [("small.mp4", sha256(small)), ("big.mp4", None)]
    else:  # a copy hashes what it writes: the hashing ahead was stopped, never asked
        assert answers == [] and ahead.ended


def test_the_duplicate_check_takes_the_hash_made_ahead(
    s3_env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = s3_env.uploads.upload_file(media.mp4("a.mp4", size=300_000), "video")
    copy = media.write("copy.mp4", (media.folder / "a.mp4").read_bytes())
    ahead = HashAhead([copy])
    ahead.join(10)
    answers = spy_claims(monkeypatch)
    s3_env.uploads.hash_ahead(ahead)
    assert [u.id for u in s3_env.uploads.same_content_as(copy)] == [stored.id]
    assert answers == [("copy.mp4", sha256(copy))]
