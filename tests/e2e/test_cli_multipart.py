"""`multipart list` and `multipart abort` through the CLI against a local S3 server."""

from __future__ import annotations

import json
import uuid

from tests.e2e.media import make_mp4
from tests.e2e.test_cli_queue import MIB, kill_after_first_part, start_upload


def open_uploads(s3, bucket) -> dict[str, str]:
    return {u["UploadId"]: u["Key"]
            for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])}


def test_list_and_abort_over_the_app_prefixes(run_cli, cli_env, s3_bucket, tmp_path,
                                              shorts_home) -> None:
    bucket, s3 = s3_bucket
    empty = run_cli("multipart", "list")
    assert empty.returncode == 0, empty.stderr
    assert "No unfinished multipart uploads under processed/, temp/" in empty.stdout

    video = make_mp4(tmp_path / "long.mp4", 16 * MIB)
    kill_after_first_part(start_upload(cli_env, video, tmp_path),
                          shorts_home / "data" / "shorts-desktop.db")
    (interrupted,) = json.loads(run_cli("queue", "--json").stdout)
    stale_key = f"videos/{uuid.uuid4()}/lost.mp4"  # a lost CreateMultipartUpload answer
    stale = s3.create_multipart_upload(Bucket=bucket, Key=stale_key)["UploadId"]
    foreign = s3.create_multipart_upload(Bucket=bucket, Key="backups/db.tar")["UploadId"]

    listed = run_cli("multipart", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["upload_id"]: r for r in json.loads(listed.stdout)}
    assert foreign not in rows and stale in rows and len(rows) == 2
    (resumable,) = [r for r in rows.values() if r["known"]]
    assert resumable["owner"] == interrupted["id"] and resumable["reason"] == "still uploading"
    assert not rows[stale]["known"] and rows[stale]["prefix"] == "videos/"
    text = run_cli("multipart", "list").stdout
    assert f"id {stale}" in text and f"kept: still uploading (upload {interrupted['id']})" in text

    dry = run_cli("multipart", "abort", "--older-than", "1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("Would abort 1 unfinished upload older than 1 h")
    assert len(open_uploads(s3, bucket)) == 3
    ran = run_cli("multipart", "abort", "--older-than", "1", "--json")
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert [r["upload_id"] for r in result["aborted"]] == [stale]
    assert [r["owner"] for r in result["kept"]] == [interrupted["id"]]
    assert set(open_uploads(s3, bucket)) == {foreign, resumable["upload_id"]}

    for bad in (("abort",), ("abort", "x", "--older-than", "1"), ("abort", "x", "--dry-run")):
        refused = run_cli("multipart", *bad)
        assert refused.returncode == 2 and refused.stderr.startswith("error: ")
        assert "Traceback" not in refused.stderr
    outside = run_cli("multipart", "abort", foreign)
    assert outside.returncode == 2 and "multipart list" in outside.stderr
    assert foreign in open_uploads(s3, bucket)

    one = run_cli("multipart", "abort", resumable["upload_id"])
    assert one.returncode == 0, one.stderr
    assert f"note: upload {interrupted['id']} was still uploading; resuming it starts over" in (
        one.stdout)
    assert set(open_uploads(s3, bucket)) == {foreign}
    resumed = run_cli("resume", interrupted["id"], "--json")
    assert resumed.returncode == 0, resumed.stderr
    row = json.loads(resumed.stdout)
    assert s3.get_object(Bucket=bucket, Key=row["key"])["Body"].read() == video.read_bytes()
    assert set(open_uploads(s3, bucket)) == {foreign}
