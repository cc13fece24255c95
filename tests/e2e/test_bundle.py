"""The frozen PyInstaller bundle: --version, --selftest, CLI uploads against the S3 server,
and a job made into a Short end to end with the bundle's own ffmpeg and eSpeak NG.

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
                 "services", "database", "keyring", "botocore", "ffmpeg", "espeak",
                 "caption-font", "licences", "youtube", "render", "main-window"):
        assert name in checks, f"no {name} check in:\n{result.stdout}"
    assert "frozen bundle" in checks["version"]
    assert "_internal" in checks["resources"] or "resources" in checks["resources"]
    # What makes the Short comes from the bundle, not from the venv or the system.
    internal = f"{Path(BUNDLE).resolve().parent}/_internal/"
    assert checks["ffmpeg"].startswith("ok") and f" at {internal}imageio_ffmpeg/" in checks[
        "ffmpeg"], checks["ffmpeg"]
    assert f"{internal}espeakng_loader/libespeak-ng" in checks["espeak"], checks["espeak"]
    assert f"{internal}resources/fonts/" in checks["caption-font"]
    assert f"{internal}LICENSE" in checks["licences"]
    assert "1080x1920" in checks["render"], checks["render"]
    # The window imports its panels statically: one left out by the spec fails that check.
    assert checks["main-window"].startswith("ok"), checks["main-window"]
    assert f"{len(PANELS)} panels" in checks["main-window"], checks["main-window"]


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


def _make_clip(path: Path) -> Path:
    """2 s of test picture (320x180) with a tone, made with the venv's ffmpeg."""
    import imageio_ffmpeg

    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
         "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=2",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
         "-shortest", "-y", str(path)],
        check=True, timeout=60, capture_output=True,
    )
    return path


def _without_the_venv(env: dict[str, str]) -> dict[str, str]:
    """The bundle may use nothing of the venv or an ffmpeg on PATH: only the system's bins."""
    dropped = ("IMAGEIO_FFMPEG_EXE", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "LD_LIBRARY_PATH")
    return {**{k: v for k, v in env.items() if k not in dropped}, "PATH": "/usr/bin:/bin"}


def test_a_job_becomes_a_short_from_the_bundle(
    run_bundle: RunBundle, cli_env: dict[str, str], s3_bucket: tuple[str, Any], tmp_path: Path
) -> None:
    from shorts_desktop.core.render.probe import probe

    bucket, s3 = s3_bucket
    env = _without_the_venv(cli_env)
    clip = _make_clip(tmp_path / "clip.mp4")
    video = ok_json(run_bundle("upload", "video", str(clip), "--json", env=env))
    text = ok_json(run_bundle("upload", "transcript-text", "--text",
                              "Made by the bundle.", "--json", env=env))
    job = ok_json(run_bundle("job", "create", "--title", "Bundle Short", "--voice", "alloy",
                             "--video", video["id"], "--transcript", text["id"], "--json",
                             env=env))
    processed = ok_json(run_bundle("job", "process", job["id"], "--json", env=env))
    assert processed["status"] == "processed", processed
    shown = ok_json(run_bundle("job", "show", job["id"], "--json", env=env))
    assert shown["status"] == "processed"
    names = sorted(key.rsplit("/", 1)[-1] for key in shown["result_keys"])
    assert names == ["captions.ass", "captions.srt", "manifest.json", "narration.wav",
                     "short.mp4", "thumbnail.jpg"], shown["result_keys"]
    assert shown["render_info"]["provider"] == "espeak"
    # The stored Short is a real 9:16 video with sound.
    short_key = next(k for k in shown["result_keys"] if k.endswith("/short.mp4"))
    short = tmp_path / "short.mp4"
    short.write_bytes(s3.get_object(Bucket=bucket, Key=short_key)["Body"].read())
    info = probe(short)
    assert (info.width, info.height, info.has_audio) == (1080, 1920, True)
    assert info.duration == pytest.approx(shown["render_info"]["duration"], abs=0.1)
