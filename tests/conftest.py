"""Root test setup: offscreen Qt, and a private data dir and empty config for every test."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest

pytest_plugins = ["tests.stubs.youtube_stub"]  # the `stub` and `offline` fixtures

# Prefixes of variables that could carry the developer's real S3/AWS/app config into a test.
_LEAKY_PREFIXES = ("AWS_", "S3_", "SHORTS_DESKTOP_")


@pytest.fixture(autouse=True)
def shorts_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give each test its own SHORTS_DESKTOP_HOME, no AWS/S3 settings, and cwd without `.env`."""
    for name in list(os.environ):
        if name.startswith(_LEAKY_PREFIXES):
            monkeypatch.delenv(name)
    home = tmp_path / "shorts-home"
    monkeypatch.setenv("SHORTS_DESKTOP_HOME", str(home))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    # Never wait for an EC2 instance-metadata endpoint when the credential chain comes up empty.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)
    return home
