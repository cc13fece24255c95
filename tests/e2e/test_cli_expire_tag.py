"""The expire tag over HTTP: temporary uploads carry it, a job clears it, cancelling sets it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.media import make_mp4
from tests.e2e.test_cli_workflow import ok_json

MIB = 1024 * 1024


def expire_tag(s3: Any, bucket: str, key: str) -> str | None:
    tags = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    return {t["Key"]: t["Value"] for t in tags}.get("shorts-desktop-expire")


def test_a_job_keeps_its_temporary_inputs_out_of_the_lifecycle_rule(
    run_cli: Any, cli_env: dict[str, str], s3_bucket: tuple[str, Any], tmp_path: Path
) -> None:
    bucket, s3 = s3_bucket
    env = {**cli_env, "S3_MULTIPART_THRESHOLD": str(5 * MIB)}
    small = ok_json(run_cli("upload", "video", str(make_mp4(tmp_path / "x.mp4")), "--json",
                            env=env))
    big = ok_json(run_cli("upload", "video", str(make_mp4(tmp_path / "big.mp4", 6 * MIB)),
                          "--json", env=env))
    transcript = ok_json(run_cli("upload", "transcript-text", "-", "--json", env=env,
                                 input="Hello Shorts, line one.\n"))
    permanent = ok_json(run_cli("upload", "video", str(make_mp4(tmp_path / "keep.mp4")),
                                "--permanent", "--json", env=env))
    temp_keys = [small["key"], big["key"], transcript["key"]]
    assert all(k.startswith("temp/") for k in temp_keys)
    assert [expire_tag(s3, bucket, k) for k in temp_keys] == ["yes", "yes", "yes"]
    assert s3.get_object_tagging(Bucket=bucket, Key=permanent["key"])["TagSet"] == []

    job = ok_json(run_cli(
        "job", "create", "--title", "Tagged", "--voice", "alloy", "--video", small["id"],
        "--transcript", transcript["id"], "--json", env=env,
    ))
    assert job["status"] == "created" and job["error"] is None
    assert [expire_tag(s3, bucket, k) for k in temp_keys] == ["no", "yes", "no"]

    cancelled = ok_json(run_cli("job", "cancel", job["id"], "--json", env=env))
    assert cancelled["status"] == "cancelled"
    assert [expire_tag(s3, bucket, k) for k in temp_keys] == ["yes", "yes", "yes"]
