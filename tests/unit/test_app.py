"""The composition root: services from the environment, rebuilt, and a live speed limit."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from shorts_desktop.app import Services, build_services
from shorts_desktop.core.config import save_settings_file
from shorts_desktop.core.errors import ConfigError


@contextlib.contextmanager
def s3_services(tmp_path: Path, bucket: str) -> Iterator[Services]:
    """Services over `bucket` in moto's in-process S3, closed after the block."""
    env = {**os.environ, "S3_BUCKET_NAME": bucket, "AWS_ACCESS_KEY_ID": "k",
           "AWS_SECRET_ACCESS_KEY": "s"}
    with mock_aws():
        services = build_services(env, tmp_path)
        try:
            yield services
        finally:
            services.close()


def test_bandwidth_limit_changes_on_the_running_engine(tmp_path) -> None:
    with s3_services(tmp_path, "live-limit") as services:
        engine = services.storage.transfers
        assert engine is not None and engine.limiter.rate == 0
        save_settings_file(services.paths, {"SHORTS_DESKTOP_BANDWIDTH_LIMIT": "1048576"})
        services.apply_bandwidth_limit(services.rebuild_settings())
        assert engine.limiter.rate == 1048576
        assert services.storage.transfers is engine  # nothing was restarted
        assert services.settings.bandwidth_limit == 1048576


def test_rebuild_keeps_the_environment_it_was_built_from(tmp_path) -> None:
    env = {**os.environ, "S3_CLEANUP_TEMP_HOURS": "5"}
    services = build_services(env, tmp_path)
    try:
        rebuilt = services.rebuild()
        try:
            assert rebuilt.settings.cleanup_temp_hours == 5.0
            assert rebuilt.settings.sources["S3_CLEANUP_TEMP_HOURS"] == "environment"
        finally:
            rebuilt.close()
    finally:
        services.close()


def test_warm_up_builds_the_clients_over_one_parsed_s3_model(tmp_path) -> None:
    """Each client (storage, engine, rebuilt services) reuses the S3 model parsed once, and
    keeps its own credentials."""
    base = {**os.environ, "S3_BUCKET_NAME": "warm", "AWS_ACCESS_KEY_ID": "first-key",
            "AWS_SECRET_ACCESS_KEY": "s"}
    with mock_aws():
        first = build_services(base, tmp_path / "a")
        second = build_services({**base, "AWS_ACCESS_KEY_ID": "second-key"}, tmp_path / "b")
        try:
            for services in (first, second):
                services.warm_up()
                assert services.storage._engine is not None  # type: ignore[attr-defined]
            clients = [first.storage.client, first.storage.transfers.client,  # type: ignore
                       second.storage.client]
            assert len({id(c._loader) for c in clients}) == 1
            keys = [c._request_signer._credentials.access_key for c in clients]
            assert keys == ["first-key", "first-key", "second-key"]
        finally:
            first.close()
            second.close()


def test_warm_up_leaves_a_storage_problem_to_the_operation_that_needs_it(tmp_path) -> None:
    env = {**os.environ, "S3_BUCKET_NAME": "warm", "AWS_PROFILE": "no-such-profile"}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    services = build_services(env, tmp_path)
    try:
        services.warm_up()  # no exception: the first upload or check says what is wrong
        with pytest.raises(ConfigError, match="no-such-profile"):
            services.storage.client  # noqa: B018
    finally:
        services.close()


def test_warm_up_for_puts_builds_the_engine_alone(tmp_path) -> None:
    """What an upload command sets up ahead: the engine, not the storage's other client."""
    with s3_services(tmp_path, "warm") as services:
        services.storage.warm_up(for_puts=True)
        assert services.storage._engine is not None  # type: ignore[attr-defined]
        assert services.storage._client is None  # type: ignore[attr-defined]
        services.storage.warm_up()
        assert services.storage._client is not None  # type: ignore[attr-defined]


def test_warm_up_finds_ffmpeg_for_the_first_video(tmp_path, monkeypatch) -> None:
    """imageio-ffmpeg runs the ffmpeg it finds to vouch for it: at the window's start, not
    in the first video's upload. Without one the warm-up says nothing; the upload will."""
    import imageio_ffmpeg

    from shorts_desktop.core.render import ffmpeg as ff

    ff._find_exe.cache_clear()
    searched: list[str] = []
    real = imageio_ffmpeg.get_ffmpeg_exe

    def search() -> str:
        searched.append("searched")
        return str(real())

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", search)
    services = build_services({**os.environ}, tmp_path)
    try:
        services.warm_up()  # on a thread of its own, beside the storage's set-up
        deadline = time.monotonic() + 10
        while not searched and time.monotonic() < deadline:
            time.sleep(0.01)
        assert searched == ["searched"]
        ff.ffmpeg_exe()
        assert searched == ["searched"]  # the upload's probe finds it found
        ff._find_exe.cache_clear()

        def gone() -> str:
            raise RuntimeError("No ffmpeg exe could be found.")

        monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", gone)
        services.warm_up()  # no exception, here or on its thread
        for thread in threading.enumerate():
            if thread.name == "shorts-desktop-ffmpeg":
                thread.join(10)
    finally:
        ff._find_exe.cache_clear()
        services.close()
