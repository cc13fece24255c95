"""A whole session with a known secret, then a scan: the secret and link signatures appear
in no output, log, settings file or database."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.e2e.media import make_mp4

SECRET = "kX9vQ2mZ7pL4rT8wY1uE5oI3aS6dF0gH2jK4lZ8x"  # 40 characters, like a real one


def test_a_whole_session_leaks_no_secret(run_cli, cli_env, shorts_home, tmp_path) -> None:
    env = {**cli_env, "AWS_SECRET_ACCESS_KEY": SECRET}
    outputs: list[str] = []

    def run(*args: str, input: str | None = None) -> dict | list | str:
        result = run_cli(*args, env=env, input=input)
        outputs.append(result.stdout + result.stderr)
        try:
            return json.loads(result.stdout)
        except ValueError:
            return result.stdout

    video = run("upload", "video", str(make_mp4(tmp_path / "clip.mp4")), "--json")
    text = run("upload", "transcript-text", "-", "--json", input="Narration text.\n")
    job = run("job", "create", "--title", "Secret test", "--voice", "nova", "--video",
              video["id"], "--transcript", text["id"], "--json")
    link = run("url", video["id"])
    assert "X-Amz-Signature=" in link
    signature = re.search(r"X-Amz-Signature=([0-9a-f]+)", link).group(1)
    run("promote", video["id"])
    run("download", video["id"], "-o", str(tmp_path / "back.mp4"))
    run("cleanup-temp", "--hours", "0", "--dry-run")
    run("stats", "--bucket")
    run("check")
    run("job", "published", job["id"])
    run("upload", "video", str(tmp_path / "missing.mp4"))  # an error
    broken = {**env, "S3_BUCKET_NAME": "no-such-bucket-xyz"}
    failed = run_cli("upload", "video", str(make_mp4(tmp_path / "x.mp4")), env=broken)
    outputs.append(failed.stdout + failed.stderr)
    assert failed.returncode == 1
    run("config", "set", "S3_CLEANUP_TEMP_HOURS", "12")

    for text_out in outputs:
        assert SECRET not in text_out
    files = [p for p in shorts_home.rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in files), "the session wrote no log"
    assert any(p.name == "settings.json" for p in files)
    assert any(p.name == "shorts-desktop.db" for p in files)
    for path in files:
        data = path.read_bytes()
        assert SECRET.encode() not in data, path
        assert signature.encode() not in data, path  # links are never logged


def test_settings_file_refuses_secrets(run_cli, cli_env) -> None:
    result = run_cli("config", "set", "AWS_SECRET_ACCESS_KEY", SECRET)
    assert result.returncode == 2 and SECRET not in result.stderr
    assert "keyring" in result.stderr
    settings = Path(cli_env["SHORTS_DESKTOP_HOME"]) / "config" / "settings.json"
    assert not settings.exists() or SECRET not in settings.read_text()
