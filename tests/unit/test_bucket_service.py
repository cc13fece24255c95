"""BucketService over S3 (moto, in-process) and over the local library: one folder level at
a time, objects marked known or not, URIs, and adding unknown objects to the library."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from shorts_desktop.core.db.models import Job, Upload
from shorts_desktop.core.errors import StorageError, UserError
from shorts_desktop.core.services.bucket import (
    BucketEntry,
    BucketListing,
    BucketService,
    kind_of,
)
from shorts_desktop.core.services.reconcile import ReconcileService
from shorts_desktop.core.storage.keys import object_metadata
from shorts_desktop.core.storage.local import LocalStorage
from shorts_desktop.core.storage.s3 import S3Storage
from tests.unit.conftest import BUCKET, Env, Media


def service(env: Env) -> BucketService:
    return BucketService(env.settings, env.storage)


def names(listing: BucketListing) -> list[tuple[str, bool]]:
    return [(e.name, e.is_folder) for e in listing.entries]


def entry(listing: BucketListing, name: str) -> BucketEntry:
    return next(e for e in listing.entries if e.name == name)


def test_the_top_level_shows_folders_first_then_objects(env: Env, media: Media) -> None:
    env.uploads.upload_file(media.mp4("clip.mp4"), "video")  # temp/<id>/clip.mp4
    env.uploads.upload_file(media.transcript("talk.txt"), "transcript", is_temp=False)
    env.raw_put("notes.txt", b"a note")
    env.raw_put("from-cli/a.mp4", b"x" * 10)
    env.raw_put("from-cli/deeper/b.mp4", b"y")
    top = service(env).browse("")
    assert top.prefix == "" and top.parent is None
    assert names(top) == [("from-cli", True), ("temp", True), ("transcripts", True),
                          ("notes.txt", False)]
    note = entry(top, "notes.txt")
    assert (note.key, note.size, note.in_library) == ("notes.txt", 6, False)
    assert note.modified is not None and note.modified.tzinfo is not None
    assert entry(top, "temp").key == "temp/" and entry(top, "temp").size is None
    assert [e.note for e in top.entries] == ["", "The app's temporary uploads",
                                             "The app's permanent transcripts", ""]
    assert not any(e.in_library for e in top.entries)

    cli = service(env).browse("from-cli")  # the slash is added
    assert cli.prefix == "from-cli/" and cli.parent == ""
    assert names(cli) == [("deeper", True), ("a.mp4", False)]
    assert service(env).browse("from-cli/deeper/").parent == "from-cli/"


def test_uploads_are_in_the_library_and_their_folders_are_named(env: Env,
                                                                media: Media) -> None:
    upload = env.uploads.upload_file(media.mp4("clip.mp4"), "video")
    temp = service(env).browse(env.settings.temp_prefix)
    folder = entry(temp, upload.id)
    assert folder.is_folder and folder.in_library and folder.upload_id == upload.id
    assert folder.note == "Upload “clip.mp4”"
    inside = service(env).browse(folder.key)
    assert [(e.key, e.in_library, e.upload_id) for e in inside.entries] == [
        (upload.key, True, upload.id)]
    assert inside.entries[0].size == upload.size
    # A deleted upload's object is not the library's any more.
    Upload.update(status="deleted").where(Upload.id == upload.id).execute()
    again = service(env).browse(folder.key)
    assert not again.entries[0].in_library
    assert not entry(service(env).browse(env.settings.temp_prefix), upload.id).in_library


def test_uris_name_the_object(env: Env, media: Media) -> None:
    upload = env.uploads.upload_file(media.mp4("clip one.mp4"), "video")
    folder = f"{env.settings.temp_prefix}{upload.id}/"
    listing = service(env).browse(folder)
    uri = listing.entries[0].uri
    if isinstance(env.storage, S3Storage):
        assert uri == f"s3://{BUCKET}/{upload.key}"
        assert listing.location == f"s3://{BUCKET}/{folder}"
        assert service(env).browse("").location == f"s3://{BUCKET}/"
    else:
        assert uri.startswith("file://")
        path = Path(unquote(urlparse(uri).path))
        assert path.read_bytes() == media.folder.joinpath("clip one.mp4").read_bytes()
        assert Path(unquote(urlparse(listing.location).path)).is_dir()


def test_job_results_are_known_and_other_processed_objects_are_not(env: Env) -> None:
    job_id = str(uuid.uuid4())
    prefix = f"{env.settings.processed_prefix}{job_id}/"
    Job.create(id=job_id, title="Alps ride", voice="espeak", status="processed",
               result_keys=[f"{prefix}short.mp4"])
    env.raw_put(f"{prefix}short.mp4", b"short")
    env.raw_put(f"{prefix}stray.mp4", b"stray")
    processed = service(env).browse(env.settings.processed_prefix)
    folder = entry(processed, job_id)
    assert folder.note == "Job “Alps ride”" and folder.in_library
    inside = service(env).browse(prefix)
    assert [(e.name, e.in_library) for e in inside.entries] == [("short.mp4", True),
                                                                ("stray.mp4", False)]
    with pytest.raises(UserError, match="result of a job"):
        service(env).add_to_library(f"{prefix}stray.mp4")


def test_a_foreign_video_is_added_as_a_completed_upload(env: Env, tmp_path: Path) -> None:
    key = f"{env.settings.videos_prefix}from-cli.mp4"
    env.raw_put(key, b"\x00\x00\x00\x18ftypisom" + b"z" * 100)
    bucket = service(env)
    assert not entry(bucket.browse(env.settings.videos_prefix), "from-cli.mp4").in_library
    row, added = bucket.add_to_library(key)
    assert added
    assert (row.kind, row.original_name, row.size, row.key, row.is_temp, row.status,
            row.checksum, row.content_type, row.backend, row.bucket) == (
        "video", "from-cli.mp4", 112, key, False, "completed", None, "video/mp4",
        env.backend, env.storage.bucket)
    uuid.UUID(row.id)
    listed = entry(bucket.browse(env.settings.videos_prefix), "from-cli.mp4")
    assert listed.in_library and listed.upload_id == row.id
    # Adding it again changes nothing; the row works like any upload's.
    assert bucket.add_to_library(key) == (Upload.get_by_id(row.id), False)
    assert Upload.select().count() == 1
    saved = env.uploads.download(row.id, tmp_path)
    assert saved.read_bytes() == env.raw_get(key)
    assert env.keys() == [key]  # the object was neither moved nor rewritten


def test_a_foreign_transcript_in_temp_is_temporary(env: Env) -> None:
    key = f"{env.settings.temp_prefix}voice.srt"
    env.raw_put(key, b"1\n00:00:00,000 --> 00:00:01,000\nHi\n")
    row, _ = service(env).add_to_library(key)
    assert (row.kind, row.is_temp, row.content_type) == ("transcript", True,
                                                         "application/x-subrip")


def test_a_foreign_object_in_our_layout_keeps_the_id_its_key_names(env: Env) -> None:
    upload_id = str(uuid.uuid4())
    key = f"{env.settings.videos_prefix}{upload_id}/copied.mov"
    env.raw_put(key, b"moov")
    row, _ = service(env).add_to_library(key)
    assert (row.id, row.kind, row.content_type) == (upload_id, "video", "video/quicktime")


def test_an_object_we_stored_comes_back_as_sync_rebuilds_it(env: Env, media: Media) -> None:
    upload = env.uploads.upload_file(media.transcript("talk.srt"), "transcript", is_temp=False)
    before = upload.to_dict()
    Upload.delete().where(Upload.id == upload.id).execute()  # a lost database
    row, added = service(env).add_to_library(upload.key)
    assert added
    after = Upload.get_by_id(upload.id).to_dict()
    same = ("id", "kind", "original_name", "size", "checksum", "backend", "bucket", "key",
            "is_temp", "status")
    assert {k: after[k] for k in same} == {k: before[k] for k in same}
    assert row.checksum and row.content_type.startswith("application/x-subrip")


def test_a_missing_or_deleted_row_is_revived(env: Env, media: Media) -> None:
    upload = env.uploads.upload_file(media.mp4("clip.mp4"), "video")
    for status in ("missing", "deleted"):
        Upload.update(status=status, error="gone").where(Upload.id == upload.id).execute()
        row, added = service(env).add_to_library(upload.key)
        assert added and (row.id, row.status, row.error) == (upload.id, "completed", None)
    assert Upload.select().count() == 1


def test_a_second_copy_of_an_upload_is_not_added_again(env: Env, media: Media) -> None:
    upload = env.uploads.upload_file(media.mp4("clip.mp4"), "video")
    promoted, _ = env.uploads.promote(upload.id)
    # A leftover temporary copy with the same metadata (its delete failed, say).
    env.storage.copy(promoted.key, upload.key, content_type="video/mp4",
                     metadata=object_metadata(upload.id, "video", "clip.mp4",
                                              upload.checksum, True))
    with pytest.raises(UserError, match=r"second copy of “clip\.mp4”"):
        service(env).add_to_library(upload.key)
    assert Upload.get_by_id(upload.id).key == promoted.key


@pytest.mark.parametrize(("key", "sentence"), [
    ("elsewhere/clip.mp4", "Only files under temp/, videos/, transcripts/ can be added"),
    ("clip.mp4", "Only files under"),
    ("videos/cover.jpg", "neither a video nor a transcript"),
])
def test_what_cannot_be_added_says_why(env: Env, key: str, sentence: str) -> None:
    env.raw_put(key, b"data")
    with pytest.raises(UserError, match=sentence):
        service(env).add_to_library(key)
    assert Upload.select().count() == 0


def test_an_object_that_vanished_is_a_sentence(env: Env) -> None:
    with pytest.raises(StorageError, match="no longer in storage"):
        service(env).add_to_library(f"{env.settings.videos_prefix}gone.mp4")


def test_a_typed_object_without_an_extension(s3_env: Env) -> None:
    assert isinstance(s3_env.storage, S3Storage)
    key = f"{s3_env.settings.videos_prefix}camera-upload"
    s3_env.storage.client.put_object(Bucket=BUCKET, Key=key, Body=b"v",
                                     ContentType="video/webm")
    row, _ = service(s3_env).add_to_library(key)
    assert (row.kind, row.content_type, row.original_name) == ("video", "video/webm",
                                                               "camera-upload")


def test_a_console_folder_marker_is_not_an_object(s3_env: Env) -> None:
    s3_env.raw_put("made-in-console/", b"")
    s3_env.raw_put("made-in-console/a.txt", b"a")
    assert names(service(s3_env).browse("")) == [("made-in-console", True)]
    assert names(service(s3_env).browse("made-in-console/")) == [("a.txt", False)]


def test_s3_lists_one_level_in_pages(s3_env: Env) -> None:
    for i in range(1005):
        s3_env.raw_put(f"many/{i:04d}/f.txt", b"")
    s3_env.raw_put("many/top.txt", b"t")
    listing = s3_env.storage.list_folder("many/")
    assert len(listing.folders) == 1005 and listing.folders[0] == "many/0000/"
    assert [o.key for o in listing.objects] == ["many/top.txt"]


def test_the_local_library_lists_like_s3(local_env: Env, media: Media) -> None:
    store = local_env.storage
    assert isinstance(store, LocalStorage)
    upload = local_env.uploads.upload_file(media.mp4("clip.mp4"), "video")
    (store.root / "empty" / "deeper").mkdir(parents=True)  # S3 has no empty folders
    (store.root / "hidden-only").mkdir()
    (store.root / "hidden-only" / ".secret").write_bytes(b"s")
    (store.root / ".dot").mkdir()
    (store.root / ".dot" / "x.mp4").write_bytes(b"x")
    (store.root / "top.mp4").write_bytes(b"t")
    listing = store.list_folder("")
    assert listing.folders == ["temp/"]
    assert [o.key for o in listing.objects] == ["top.mp4"]
    inside = store.list_folder(f"temp/{upload.id}/")
    # The sidecar beside the file is not an object; the file's metadata is read from it.
    assert [o.key for o in inside.objects] == [upload.key]
    assert inside.objects[0].metadata["upload-id"] == upload.id
    assert store.list_folder("no-such/").folders == []
    assert store.list_folder("t").folders == ["temp/"]  # a prefix of a name, as in S3
    assert [o.key for o in store.list_folder("t").objects] == ["top.mp4"]
    with pytest.raises(UserError):
        store.list_folder("../")


def test_kind_of() -> None:
    assert kind_of("a.MP4", "") == ("video", "video/mp4")
    assert kind_of("a.mkv", "video/x-matroska") == ("video", "video/x-matroska")
    assert kind_of("a.txt", "binary/octet-stream") == ("transcript", "text/plain")
    assert kind_of("a.vtt", "text/vtt; charset=utf-8") == ("transcript",
                                                           "text/vtt; charset=utf-8")
    assert kind_of("a", "text/plain") == ("transcript", "text/plain")
    assert kind_of("a.jpg", "image/jpeg") is None
    assert kind_of("a", "") is None


def test_sync_keeps_an_object_adopted_in_our_layout(env: Env) -> None:
    upload_id = str(uuid.uuid4())
    key = f"{env.settings.videos_prefix}{upload_id}/copied.mp4"
    env.raw_put(key, b"data")
    row, _ = service(env).add_to_library(key)
    ReconcileService(env.settings, env.storage).run()
    assert Upload.get_by_id(row.id).status == "completed"


def test_sync_keeps_a_foreign_object_adopted_where_it_is(env: Env) -> None:
    key = f"{env.settings.videos_prefix}from-cli.mp4"
    env.raw_put(key, b"data")
    row, _ = service(env).add_to_library(key)
    report = ReconcileService(env.settings, env.storage).run()
    assert Upload.get_by_id(row.id).status == "completed"
    assert key not in report.foreign  # the library owns it now
    env.storage.delete(key)
    ReconcileService(env.settings, env.storage).run()
    assert Upload.get_by_id(row.id).status == "missing"  # and misses it when it is gone
