"""A video's duration, size and thumbnail: probed once at upload, kept in the row and in
the object's metadata, and restored by `sync` from the bucket alone."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from shorts_desktop.core.db.models import Upload
from shorts_desktop.core.errors import ShortsError, StorageError
from shorts_desktop.core.render import probe
from shorts_desktop.core.services.reconcile import ReconcileService
from tests import media_gen
from tests.unit.conftest import Env, Media


def wide_clip(media: Media, duration: float = 1.0) -> Path:
    """A real 640x360 video, wide.mp4, in the media folder."""
    media.folder.mkdir(parents=True, exist_ok=True)
    return media_gen.small_clip(media.folder / "wide.mp4", duration=duration)


def test_a_real_video_is_probed_once_at_upload(env: Env, media: Media) -> None:
    media.folder.mkdir(parents=True, exist_ok=True)
    clip = media_gen.portrait_clip(media.folder / "phone.mp4", duration=1.5)
    upload = env.uploads.upload_file(clip, "video")
    assert (upload.width, upload.height) == (360, 640)
    assert abs(upload.duration - 1.5) < 0.1
    assert upload.thumbnail[:2] == b"\xff\xd8"  # a small JPEG for the library
    meta = env.storage.head(upload.key).metadata
    assert (meta["width"], meta["height"]) == ("360", "640")
    assert abs(float(meta["duration"]) - 1.5) < 0.1
    data = upload.to_dict()
    assert (data["width"], data["height"]) == (360, 640)


def test_the_thumbnail_is_made_while_the_video_is_sent(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe (its answers go into the object's metadata) comes before the first byte;
    the thumbnail (ffmpeg seeking and decoding a frame) is made beside the sending, from
    that one probe, and is in the row when the upload ends."""
    clip = wide_clip(media, duration=1.5)
    sending = threading.Event()
    probes: list[Path] = []
    storage_type = type(env.storage)
    real_put, real_probe, real_thumbnail = storage_type.put_file, probe.probe, probe.thumbnail

    def put_file(self: Any, *args: Any, **kwargs: Any) -> Any:
        sending.set()
        return real_put(self, *args, **kwargs)

    def counted_probe(path: Path, **options: Any) -> Any:
        probes.append(path)
        return real_probe(path, **options)

    def thumbnail(*args: Any, **kwargs: Any) -> Path:
        assert sending.wait(10), "the thumbnail was made before the video was sent"
        return real_thumbnail(*args, **kwargs)

    monkeypatch.setattr(storage_type, "put_file", put_file)
    monkeypatch.setattr(probe, "probe", counted_probe)
    monkeypatch.setattr(probe, "thumbnail", thumbnail)
    upload = env.uploads.upload_file(clip, "video")
    assert upload.status == "completed"
    assert upload.thumbnail[:2] == b"\xff\xd8"
    assert bytes(Upload.get_by_id(upload.id).thumbnail) == bytes(upload.thumbnail)
    assert probes == [clip]  # the thumbnail used the upload's probe


def test_a_thumbnail_that_cannot_be_made_leaves_the_upload_alone(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = wide_clip(media)

    def no_thumbnail(path: Path, *args: Any, **kwargs: Any) -> Path:
        raise ShortsError(f"No thumbnail could be made from {path.name}.")

    monkeypatch.setattr(probe, "thumbnail", no_thumbnail)
    upload = env.uploads.upload_file(clip, "video")
    assert upload.status == "completed" and upload.thumbnail is None
    assert upload.duration is not None  # the probe's answers are kept all the same


def test_a_failed_send_ends_only_once_its_thumbnail_is_made(
    env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = wide_clip(media)

    def refused(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise StorageError("The bucket refused the file.")

    monkeypatch.setattr(type(env.storage), "put_file", refused)
    with pytest.raises(StorageError):
        env.uploads.upload_file(clip, "video")
    assert not [t for t in threading.enumerate() if t.name == "shorts-desktop-thumbnail"]
    row = Upload.select().where(Upload.original_name == "wide.mp4").get()
    assert row.status == "failed" and bytes(row.thumbnail)[:2] == b"\xff\xd8"


def test_a_file_ffmpeg_cannot_read_is_still_stored_without_media_info(
    env: Env, media: Media
) -> None:
    upload = env.uploads.upload_file(media.mp4("odd.mp4"), "video")  # sniffed, not decodable
    assert upload.status == "completed"
    assert (upload.duration, upload.width, upload.height, upload.thumbnail) == (
        None, None, None, None)
    assert "duration" not in env.storage.head(upload.key).metadata


def test_a_video_whose_pictures_do_not_decode_keeps_what_its_header_says(
    env: Env, media: Media
) -> None:
    """The upload reads the header alone: its duration and size are kept (a job's probe,
    which decodes, still refuses the file); no picture can be made of it."""
    clip = wide_clip(media)
    data = bytearray(clip.read_bytes())
    start = data.find(b"mdat") + 4
    data[start:] = bytes(b ^ 0x5A for b in data[start:])
    clip.write_bytes(bytes(data))
    upload = env.uploads.upload_file(clip, "video")
    assert upload.status == "completed" and upload.thumbnail is None
    assert (upload.width, upload.height) == (640, 360) and upload.duration is not None


def test_transcripts_have_no_media_info(env: Env, media: Media) -> None:
    upload = env.uploads.upload_file(media.transcript(), "transcript")
    assert upload.duration is None and "width" not in env.storage.head(upload.key).metadata


def test_sync_restores_duration_and_size(s3_env: Env, media: Media) -> None:
    clip = wide_clip(media)
    upload = s3_env.uploads.upload_file(clip, "video")
    promoted, _ = s3_env.uploads.promote(upload.id)  # a permanent copy keeps them too
    Upload.delete().where(Upload.id == upload.id).execute()  # a lost database
    report = ReconcileService(s3_env.settings, s3_env.storage).run()
    assert report.added == [upload.id]
    again = Upload.get_by_id(upload.id)
    assert (again.width, again.height) == (640, 360)
    assert abs(again.duration - 1.0) < 0.1
    assert again.key == promoted.key


def test_the_list_can_leave_the_pictures_out_and_read_them_apart(
    local_env: Env, media: Media
) -> None:
    clip = wide_clip(media)
    video = local_env.uploads.upload_file(clip, "video")
    text = local_env.uploads.upload_file(media.transcript(), "transcript")
    rows = {u.id: u for u in local_env.uploads.list(thumbnails=False)}
    assert rows[video.id].thumbnail is None and rows[video.id].has_thumbnail
    assert not rows[text.id].has_thumbnail
    assert local_env.uploads.thumbnails([video.id, text.id, "no-such-id"]) == {
        video.id: bytes(video.thumbnail)}


def test_a_video_rebuilt_by_sync_gets_its_thumbnail_made_from_storage(
    local_env: Env, media: Media
) -> None:
    clip = wide_clip(media)
    upload = local_env.uploads.upload_file(clip, "video")
    text = local_env.uploads.upload_file(media.transcript(), "transcript")
    Upload.delete().where(Upload.id == upload.id).execute()  # a lost database
    ReconcileService(local_env.settings, local_env.storage).run()
    assert Upload.get_by_id(upload.id).thumbnail is None  # metadata cannot hold a picture
    made = local_env.uploads.make_thumbnail(upload.id)
    assert made is not None and made[:2] == b"\xff\xd8"
    assert bytes(Upload.get_by_id(upload.id).thumbnail) == made  # kept: made once
    assert local_env.uploads.make_thumbnail(text.id) is None
    local_env.storage.delete(Upload.get_by_id(upload.id).key)
    Upload.update(thumbnail=None).where(Upload.id == upload.id).execute()
    assert local_env.uploads.make_thumbnail(upload.id) is None  # gone from storage: none
