"""`shorts-desktop upload`, in this process: what it does ahead of the bytes."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from shorts_desktop import cli
from shorts_desktop.core.services.uploads import UploadService
from shorts_desktop.core.storage.local import LocalStorage

if TYPE_CHECKING:
    from conftest import Media


def test_the_storage_is_set_up_while_the_video_is_probed(
    shorts_home: Path, media: Media, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The sending side is built on a thread of its own (S3: ~0.15 s of botocore) while
    the command checks the file and ffprobe reads the video, not after."""
    warmed = threading.Event()
    calls: list[tuple[str, dict[str, Any]]] = []
    real_warm_up, real_media = LocalStorage.warm_up, UploadService._media

    def warm_up(self: LocalStorage, **options: Any) -> None:
        calls.append((threading.current_thread().name, options))
        real_warm_up(self, **options)
        warmed.set()

    def media_of(self: UploadService, path: Path) -> Any:
        assert warmed.wait(10), "the storage was not set up beside the probe"
        return real_media(self, path)

    monkeypatch.setattr(LocalStorage, "warm_up", warm_up)
    monkeypatch.setattr(UploadService, "_media", media_of)
    video = media.mp4("clip.mp4", size=5000)
    assert cli.main(["upload", "video", str(video), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "completed"
    assert calls == [("shorts-desktop-warm-up", {"for_puts": True})]


def test_ffmpeg_is_found_while_the_services_are_built(
    shorts_home: Path, media: Media, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """imageio-ffmpeg runs the ffmpeg it finds to vouch for it: for a video, on a thread
    started before the services are built, not in front of the probe; a transcript does
    without."""
    import imageio_ffmpeg

    from shorts_desktop.core.render import ffmpeg as ff

    searched: list[str] = []
    real_search, real_services = imageio_ffmpeg.get_ffmpeg_exe, cli._services
    searching = threading.Event()

    def search() -> str:
        searched.append(threading.current_thread().name)
        searching.set()
        return str(real_search())

    def services(args: Any) -> Any:
        if args.what == "video":  # would never come, were the search made after this
            assert searching.wait(5), "ffmpeg was not looked for beside the services"
        return real_services(args)

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", search)
    monkeypatch.setattr(cli, "_services", services)
    ff._find_exe.cache_clear()
    try:
        assert cli.main(["upload", "transcript-file", str(media.transcript())]) == 0
        assert searched == []
        assert cli.main(["upload", "video", str(media.mp4("clip.mp4", size=5000))]) == 0
        assert searched == ["shorts-desktop-ffmpeg"]
    finally:
        ff._find_exe.cache_clear()
    capsys.readouterr()


def test_the_files_named_are_hashed_while_the_services_are_built(
    shorts_home: Path, media: Media, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], aws: None,
) -> None:
    """`upload` to S3 starts hashing its files before it builds the services (the tenths of
    a second in which the app's modules load on one core), and the sends take those hashes."""
    import boto3

    from shorts_desktop.core.services.hash_ahead import HashAhead

    for name, value in (("S3_BUCKET_NAME", "cli-bucket"), ("AWS_ACCESS_KEY_ID", "testing"),
                        ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="cli-bucket")

    events: list[str] = []
    real_init, real_claim, real_services = HashAhead.__init__, HashAhead.claim, cli._services

    def init(self: HashAhead, paths: Any, **options: Any) -> None:
        events.append("hashing")
        real_init(self, paths, **options)
        self.join(10)  # all hashed before the sends ask

    def claim(self: HashAhead, path: Any, size: int, mtime_ns: int) -> Any:
        sha = real_claim(self, path, size, mtime_ns)
        events.append(f"{Path(path).name} {'hashed' if sha else sha}")
        return sha

    def services(args: Any) -> Any:
        events.append("services")
        return real_services(args)

    monkeypatch.setattr(HashAhead, "__init__", init)
    monkeypatch.setattr(HashAhead, "claim", claim)
    monkeypatch.setattr(cli, "_services", services)
    first, second = media.transcript("a.txt"), media.transcript("b.srt")
    assert cli.main(["upload", "transcript-file", str(first), str(second), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert events[:2] == ["hashing", "services"]
    assert sorted(events[2:]) == ["a.txt hashed", "b.srt hashed"]
    for row, path in zip(sorted(rows, key=lambda r: r["original_name"]), (first, second),
                         strict=True):
        assert row["checksum"] == hashlib.sha256(path.read_bytes()).hexdigest()

