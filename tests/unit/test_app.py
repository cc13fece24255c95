"""The composition root: services from the environment, rebuilt, and a live speed limit."""

from __future__ import annotations

import os

from moto import mock_aws

from shorts_desktop.app import build_services
from shorts_desktop.core.config import save_settings_file


def test_bandwidth_limit_changes_on_the_running_engine(tmp_path) -> None:
    env = {**os.environ, "S3_BUCKET_NAME": "live-limit", "AWS_ACCESS_KEY_ID": "k",
           "AWS_SECRET_ACCESS_KEY": "s"}
    with mock_aws():
        services = build_services(env, tmp_path)
        try:
            engine = services.storage.transfers
            assert engine is not None and engine.limiter.rate == 0
            save_settings_file(services.paths, {"SHORTS_DESKTOP_BANDWIDTH_LIMIT": "1048576"})
            services.apply_bandwidth_limit(services.rebuild_settings())
            assert engine.limiter.rate == 1048576
            assert services.storage.transfers is engine  # nothing was restarted
            assert services.settings.bandwidth_limit == 1048576
        finally:
            services.close()


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
