"""The frozen PyInstaller bundle: --version, --selftest, and CLI uploads against the S3 server.

Skipped unless SHORTS_DESKTOP_BUNDLE names the bundle's executable
(`.ci/bundle` sets it to dist/ShortsDesktop/ShortsDesktop).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.media import make_mp4

BUNDLE = os.environ.get("SHORTS_DESKTOP_BUNDLE", "")

pytestmark = pytest.mark.skipif(
    not BUNDLE, reason="set SHORTS_DESKTOP_BUNDLE to a built bundle's executable"
)

RunBundle = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def run_bundle(cli_env: dict[str, str], tmp_path: Path) -> RunBundle:
    exe = Path(BUNDLE).resolve()
    assert exe.is_file(), f"SHORTS_DESKTOP_BUNDLE={BUNDLE} is not a file"

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(exe), *args],
            env={"QT_QPA_PLATFORM": "offscreen", **(cli_env if env is None else env)},
            input=input,
            timeout=timeout,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )

    return run


def ok_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_version_comes_from_the_package_metadata(run_bundle: RunBundle) -> None:
    result = run_bundle("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"shorts-desktop {version('shorts-desktop')}"


def test_selftest_passes_and_every_panel_is_in_the_bundle(run_bundle: RunBundle) -> None:
    from shorts_desktop.gui.main_window import PANELS

    result = run_bundle("--selftest")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    checks = {line.split()[1]: line for line in lines if line.split()[:1] in (["ok"], ["warn"])}
    for name in ("version", "qt-platform", "resources", "image-formats", "qt-charts",
                 "services", "database", "keyring", "botocore", "main-window"):
        assert name in checks, f"no {name} check in:\n{result.stdout}"
    assert "frozen bundle" in checks["version"]
    assert "_internal" in checks["resources"] or "resources" in checks["resources"]
    # A panel module left out by the spec would silently become a placeholder.
    here = Path(__file__).resolve().parents[2] / "shorts_desktop" / "gui" / "panels"
    present = [name for name, _t, target, _i in PANELS
               if (here / f"{target.split(':')[0]}.py").is_file()]
    missing = checks["main-window"].partition("not in this build:")[2]
    assert not [name for name in present if name in missing], checks["main-window"]


def test_gui_screenshot_from_the_bundle(run_bundle: RunBundle, tmp_path: Path) -> None:
    shot = tmp_path / "stats.png"
    result = run_bundle("gui", "--panel", "stats", "--screenshot", str(shot))
    assert result.returncode == 0, result.stderr
    assert shot.stat().st_size > 10_000  # a drawn window with charts, not an empty image


def test_upload_from_the_bundle_reaches_the_bucket(
    run_bundle: RunBundle, s3_bucket: tuple[str, Any], tmp_path: Path
) -> None:
    bucket, s3 = s3_bucket
    clip = make_mp4(tmp_path / "clip.mp4", 64 * 1024 + 7)
    up = ok_json(run_bundle("upload", "video", str(clip), "--json"))
    assert up["key"].startswith("temp/") and up["status"] == "completed"
    body = s3.get_object(Bucket=bucket, Key=up["key"])["Body"].read()
    assert body == clip.read_bytes()
    rows = ok_json(run_bundle("uploads", "--json"))
    assert [r["id"] for r in rows] == [up["id"]]


def test_multipart_upload_from_the_bundle(
    run_bundle: RunBundle, cli_env: dict[str, str], s3_bucket: tuple[str, Any], tmp_path: Path
) -> None:
    bucket, s3 = s3_bucket
    big = make_mp4(tmp_path / "big.mp4", 12 * 1024 * 1024 + 123)
    env = {**cli_env, "S3_MULTIPART_THRESHOLD": str(5 * 1024 * 1024)}
    up = ok_json(run_bundle("upload", "video", str(big), "--permanent", "--json", env=env))
    head = s3.head_object(Bucket=bucket, Key=up["key"])
    assert head["ContentLength"] == big.stat().st_size
    assert "-" in head["ETag"]  # assembled from parts
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@pytest.mark.skipif(not os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
                    reason="needs a D-Bus session with a Secret Service (tests/run.sh)")
def test_bundle_keeps_keys_in_the_secret_service(
    run_bundle: RunBundle, cli_env: dict[str, str]
) -> None:
    env = {k: v for k, v in cli_env.items() if not k.startswith("AWS_SECRET")}
    env.pop("AWS_ACCESS_KEY_ID", None)
    profile = f"bundle-test-{uuid.uuid4().hex[:8]}"
    stored = run_bundle("credentials", "set", "--profile", profile, env=env,
                        input="AKIABUNDLETEST\nbundle-secret-value\n")
    if "keyring cannot be used" in stored.stderr:
        pytest.skip("no usable Secret Service in this D-Bus session")
    assert stored.returncode == 0, stored.stderr
    try:
        shown = run_bundle("credentials", "show", "--profile", profile, env=env)
        assert shown.returncode == 0, shown.stderr
        assert "keyring" in shown.stdout.lower() and "AKIA" in shown.stdout
        assert "bundle-secret-value" not in shown.stdout + shown.stderr
    finally:
        run_bundle("credentials", "clear", "--profile", profile, env=env)
