"""Intake: folders expanded, every file classified and validated once, for window and CLI."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from shorts_desktop.core.errors import NameTooLongError, UserError
from shorts_desktop.core.services import intake
from shorts_desktop.core.services.intake import (
    check_file,
    expand_folders,
    kind_for,
    queue_paths,
    take,
)
from shorts_desktop.core.services.upload_queue import UploadQueue

if TYPE_CHECKING:
    from conftest import Env, Media


def shoot(media: Media) -> Path:
    """A folder as a creator leaves it: clips, a script, notes, hidden clutter, a subfolder."""
    media.mp4("shoot/take-1.mp4")
    media.mkv("shoot/b-roll/sunset.mkv")
    media.mp4("shoot/.cache/thumb.mp4")
    media.transcript("shoot/script.srt")
    media.write("shoot/notes.pdf", b"%PDF-1.4")
    media.write("shoot/.DS_Store", b"\0")
    return media.folder / "shoot"


# -- kind_for, expand_folders (moved from the Uploads panel, same behaviour) ------------------


def test_kind_for_goes_by_the_extension_then_by_the_first_bytes(media: Media) -> None:
    assert kind_for(Path("never-written.MOV")) == "video"  # the name is enough: no read
    assert kind_for(Path("never-written.vtt")) == "transcript"
    assert kind_for(media.mp4("export.bin")) == "video"
    with pytest.raises(UserError, match=r"holiday\.png is neither a video .* nor a transcript"):
        kind_for(media.write("holiday.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64))
    with pytest.raises(UserError, match="does not exist"):
        kind_for(media.folder / "missing.bin")


def test_expand_folders_takes_media_by_name_and_says_what_it_left_out(media: Media) -> None:
    folder = shoot(media)
    (media.folder / "empty").mkdir()
    single = media.mp4("single.mp4")
    found, notes = expand_folders([single, folder, media.folder / "empty"])
    assert [p.relative_to(media.folder).as_posix() for p in found] == [
        "single.mp4", "shoot/script.srt", "shoot/take-1.mp4", "shoot/b-roll/sunset.mkv"]
    assert notes == [
        ("shoot", "1 other file in the folder shoot (neither videos nor transcripts) was "
                  "left out."),
        ("empty", "The folder empty has no videos or transcripts."),
    ]


def test_a_folder_with_too_many_files_is_refused(media: Media,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(intake, "MAX_FOLDER_FILES", 2)
    folder = shoot(media)
    found, notes = expand_folders([folder])
    assert found == []
    assert notes == [("shoot", "The folder shoot holds 3 videos and transcripts; add at most "
                               "2 at a time.")]
    refused = take([folder]).refused
    assert [(r.reason, r.named) for r in refused] == [(notes[0][1], True)]


# -- check_file: one pass, what it learnt carried along ---------------------------------------


def test_check_file_carries_kind_size_and_content_type(media: Media) -> None:
    clip = media.mp4("clip.mov", size=5000, brand=b"qt  ")
    checked = check_file(clip)
    assert (checked.path, checked.kind, checked.size) == (clip, "video", 5000)
    assert checked.content_type == "video/quicktime"
    srt = check_file(media.transcript("subs.srt"))
    assert (srt.kind, srt.content_type) == ("transcript", "application/x-subrip; charset=utf-8")
    assert check_file(media.webm("export.bin")).content_type == "video/webm"


def test_check_file_agrees_with_the_upload_service(local_env: Env, media: Media) -> None:
    """What the intake accepts, recording the upload accepts with the same content type;
    what it refuses, recording refuses with the same sentence."""
    good = [media.mp4(), media.webm(), media.avi(), media.transcript("a.vtt"),
            media.transcript("b.txt")]
    for path in good:
        checked = check_file(path)
        assert local_env.uploads.inspect(path, checked.kind) == checked.content_type
    bad = [(media.write("fake.mp4", b"not a video at all"), "video"),
           (media.write("empty.txt", b""), "transcript"),
           (media.write("latin.txt", "café".encode("latin-1") + b"\xff\xfe"), "transcript"),
           (media.transcript("no-times.srt", "just words"), "transcript"),
           (media.transcript("words.txt"), "video")]
    for path, kind in bad:
        with pytest.raises(UserError) as ours:
            check_file(path, kind)
        with pytest.raises(UserError) as theirs:
            local_env.uploads.inspect(path, kind)
        assert str(ours.value) == str(theirs.value)


def test_check_file_words_an_operating_system_failure(tmp_path: Path) -> None:
    with pytest.raises(NameTooLongError, match="is too long for the file system"):
        check_file(tmp_path / ("a" * 300 + ".mp4"))
    with pytest.raises(UserError, match="is a folder, not a file"):
        check_file(tmp_path, "video")
    with pytest.raises(UserError, match="Unknown upload kind 'audio'"):
        check_file(tmp_path / "x.mp4", "audio")


# -- take: a command line's files and folders --------------------------------------------------


def test_take_of_one_kind_leaves_the_other_out_of_folders_and_refuses_it_named(
    media: Media,
) -> None:
    folder = shoot(media)
    media.write("shoot/broken.mp4", b"not a video")
    first = media.mp4("first.mp4", size=1000)
    got = take([first, folder, media.transcript("named.txt")], "video")
    assert [f.path.name for f in got.files] == ["first.mp4", "take-1.mp4", "sunset.mkv"]
    assert got.total_size == 1000 + 4096 * 2
    assert [(r.name, r.named) for r in got.refused] == [
        ("shoot", False), ("shoot", False), ("broken.mp4", False), ("named.txt", True)]
    reasons = [r.reason for r in got.refused]
    assert reasons[1] == ("1 transcript in the folder shoot was left out (only videos were "
                          "asked for).")
    assert "broken.mp4 is not a video" in reasons[2]
    assert "named.txt is not a video" in reasons[3]
    assert [r.name for r in got.named_refused] == ["named.txt"]


def test_take_refuses_a_folder_without_that_kind_and_takes_a_file_once(media: Media) -> None:
    clip = media.mp4("clips/a.mp4")
    media.transcript("texts/a.txt")
    got = take([clip, media.folder / "clips", Path(str(clip)), media.folder / "texts"], "video")
    assert [f.path for f in got.files] == [clip]  # named, in a folder named, named again
    assert [(r.reason, r.named) for r in got.refused] == [
        (f"{media.folder / 'texts'} is a folder with no videos in it.", True)]
    transcripts = take([media.folder / "texts", media.folder / "clips"], "transcript")
    assert [f.kind for f in transcripts.files] == ["transcript"]
    assert transcripts.named_refused[0].reason.endswith("is a folder with no transcripts in it.")
    # the same file by another path (a link, a detour through ..) is still taken once
    link = media.folder / "link.mp4"
    link.symlink_to(clip)
    other = media.mp4("clips/b.mp4")
    again = take([clip, link, media.folder / "texts" / ".." / "clips" / "a.mp4", other])
    assert [f.path for f in again.files] == [clip, other]


# -- queue_paths: the window's drop -------------------------------------------------------------


def wait_all_stored(queue: UploadQueue, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while {i.state for i in queue.items()} != {"completed"}:
        assert time.monotonic() < deadline, [(i.name, i.state) for i in queue.items()]
        time.sleep(0.01)


def test_queue_paths_queues_checked_files_and_holds_back_duplicates(local_env: Env,
                                                                    media: Media) -> None:
    folder = shoot(media)
    known = local_env.uploads.upload_file(folder / "take-1.mp4", "video")
    picture = media.write("holiday.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    queue = UploadQueue(local_env.uploads, files_in_flight=1)
    try:
        refused, held = queue_paths(queue, [picture, folder], is_temp=False)
        wait_all_stored(queue)
    finally:
        queue.shutdown()
    assert [name for name, _ in refused] == ["holiday.png", "shoot"]
    assert [(h.name, h.kind, h.is_temp, h.same_as[0]["id"]) for h in held] == [
        ("take-1.mp4", "video", False, known.id)]
    assert sorted((i.name, i.kind, i.is_temp) for i in queue.items()) == [
        ("script.srt", "transcript", False), ("sunset.mkv", "video", False)]


def test_without_inode_numbers_the_same_file_is_known_by_its_real_path(
    media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some network shares report inode 0 for every file: then two files must not pass
    for one, and one file named twice is still taken once."""
    from shorts_desktop.core.services import files

    real = files.regular_file_stat

    def no_inode(path: Path, made: os.stat_result | None = None) -> os.stat_result:
        st = real(path, made)
        return os.stat_result((st.st_mode, 0, st.st_dev, st.st_nlink, st.st_uid, st.st_gid,
                               st.st_size, int(st.st_atime), int(st.st_mtime),
                               int(st.st_ctime)))

    monkeypatch.setattr(files, "regular_file_stat", no_inode)
    first, second = media.mp4("a.mp4"), media.mp4("b.mp4")
    got = take([first, second, media.folder / "." / "a.mp4"])
    assert [f.path for f in got.files] == [first, second]


def test_a_file_the_duplicate_check_hashed_is_not_hashed_again_when_sent(
    s3_env: Env, media: Media,
) -> None:
    """A new video the size of a stored one: the drop hashes it to compare, and its upload
    takes that SHA-256 (a file sent in parts otherwise has it only at its end, so its
    object's metadata carries none); one rewritten since is hashed from what is sent."""
    import hashlib

    size = 6 * 1024 * 1024  # over the 5 MiB threshold: sent in parts
    s3_env.uploads.upload_file(media.mp4("first.mp4", size=size), "video")
    second, third = media.mp4("second.mp4", size=size), media.mp4("third.mp4", size=size)
    queue = UploadQueue(s3_env.uploads, files_in_flight=1)
    queue.pause_all()  # held in line while the third is rewritten after the check
    try:
        refused, held = queue_paths(queue, [second, third], is_temp=True)
        assert not refused and not held
        rewritten = media.mp4("third.mp4", size=size)  # same size, other bytes
        os.utime(rewritten, ns=(time.time_ns(), time.time_ns() + 10**9))
        queue.resume_all()
        wait_all_stored(queue)
    finally:
        queue.shutdown()
    rows = {i.name: i.upload for i in queue.items()}
    for name, path in (("second.mp4", second), ("third.mp4", third)):
        row = rows[name]
        assert row is not None
        assert row["checksum"] == hashlib.sha256(path.read_bytes()).hexdigest(), name
    meta = {name: s3_env.storage.client.head_object(
        Bucket=s3_env.storage.bucket, Key=str(rows[name]["key"]))["Metadata"]  # type: ignore[index]
        for name in rows}
    assert meta["second.mp4"].get("sha256") == rows["second.mp4"]["checksum"]  # type: ignore[index]
    assert "sha256" not in meta["third.mp4"]  # hashed in the read that sent it, after


def test_a_drop_is_hashed_ahead_while_it_is_checked_and_sent(
    s3_env: Env, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    """queue_paths starts hashing the drop (last file first) before its checks; every
    send asks that hashing for its file, and each stores the file's own SHA-256."""
    import hashlib

    from shorts_desktop.core.services.hash_ahead import HashAhead

    asked: list[str] = []
    real = HashAhead.claim

    def claim(self: HashAhead, path: Path | str, size: int, mtime_ns: int) -> object:
        asked.append(Path(path).name)
        return real(self, path, size, mtime_ns)

    monkeypatch.setattr(HashAhead, "claim", claim)
    paths = [media.transcript(f"t{n}.txt") for n in range(4)]
    queue = UploadQueue(s3_env.uploads, files_in_flight=2)
    try:
        refused, held = queue_paths(queue, paths, is_temp=True)
        wait_all_stored(queue)
    finally:
        queue.shutdown()
    assert not refused and not held
    assert sorted(asked) == [p.name for p in paths]
    for item in queue.items():
        assert item.upload is not None
        path = media.folder / item.name
        assert item.upload["checksum"] == hashlib.sha256(path.read_bytes()).hexdigest()
