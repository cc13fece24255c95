"""The storage guide's whole workflow through the real CLI against a local S3 server."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import urllib.request
from pathlib import Path
from typing import Any

from shorts_desktop.core.db.migrations import LATEST_VERSION
from tests.e2e.media import make_mp4


def ok_json(result: Any) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_guide_workflow(run_cli, s3_bucket, tmp_path: Path) -> None:
    bucket, s3 = s3_bucket
    video_file = make_mp4(tmp_path / "My Clip (final).mp4", 200_000)

    video = ok_json(run_cli("upload", "video", str(video_file), "--json"))
    assert video["kind"] == "video" and video["is_temp"] and video["status"] == "completed"
    assert video["key"] == f"temp/{video['id']}/My_Clip_final.mp4"
    head = s3.head_object(Bucket=bucket, Key=video["key"])
    assert head["ContentLength"] == 200_000
    assert head["ContentType"] == "video/mp4"
    assert head["Metadata"]["upload-id"] == video["id"]
    assert head["Metadata"]["sha256"] == hashlib.sha256(video_file.read_bytes()).hexdigest()

    transcript = ok_json(
        run_cli("upload", "transcript-text", "-", "--json", input="Hello Shorts, line one.\n")
    )
    assert transcript["kind"] == "transcript" and transcript["key"].startswith("temp/")

    job = ok_json(run_cli(
        "job", "create", "--title", "My YouTube Short", "--description", "Description here",
        "--voice", "alloy", "--tag", "shorts", "--tag", "ai", "--video", video["id"],
        "--transcript", transcript["id"], "--json",
    ))
    assert job["status"] == "created" and job["tags"] == ["shorts", "ai"]
    assert job["video_upload_id"] == video["id"]

    link = run_cli("url", video["id"], "--expires", "600")
    assert link.returncode == 0, link.stderr
    with urllib.request.urlopen(link.stdout.strip(), timeout=30) as response:
        assert response.read() == video_file.read_bytes()

    promoted = ok_json(run_cli("promote", video["id"], "--json"))
    assert promoted["is_temp"] is False and promoted["changed"] is True
    assert promoted["key"] == f"videos/{video['id']}/My_Clip_final.mp4"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert video["key"] not in keys and promoted["key"] in keys
    again = ok_json(run_cli("promote", video["id"], "--json"))
    assert again["changed"] is False and again["key"] == promoted["key"]

    # The transcript is still temporary and the job is unfinished: cleanup must keep it.
    dry = ok_json(run_cli("cleanup-temp", "--hours", "0", "--json"))
    assert dry["deleted"] == [] and {"id": transcript["id"]} .items() <= dry["skipped"][0].items()
    assert "My YouTube Short" in dry["skipped"][0]["reason"]

    published = ok_json(run_cli(
        "job", "published", job["id"], "--video-url", "https://youtube.com/shorts/abc", "--json"
    ))
    assert published["status"] == "published"
    assert published["inputs_deleted"] == [transcript["id"]]  # default: delete temp inputs
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert transcript["key"] not in keys and promoted["key"] in keys

    stats = ok_json(run_cli("stats", "--bucket", "--json"))
    assert stats["uploads"] == {"count": 1, "bytes": 200_000}
    assert stats["permanent"]["count"] == 1 and stats["temp"]["count"] == 0
    assert stats["jobs_by_status"]["published"] == 1
    assert stats["bucket"]["prefixes"]["videos"]["bytes"] == 200_000
    assert stats["bucket"]["prefixes"]["temp"]["count"] == 0

    saved = tmp_path / "copy.mp4"
    done = run_cli("download", video["id"], "-o", str(saved))
    assert done.returncode == 0, done.stderr
    assert saved.read_bytes() == video_file.read_bytes()
    again = run_cli("download", video["id"], "-o", str(saved))
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "already exists. Add --force to replace it" in again.stderr
    assert run_cli("download", video["id"], "-o", str(saved), "--force").returncode == 0


def test_cleanup_deletes_old_temp_files_and_reports_them(run_cli, s3_bucket, tmp_path) -> None:
    bucket, s3 = s3_bucket
    up = ok_json(run_cli("upload", "video", str(make_mp4(tmp_path / "a.mp4")), "--json"))
    kept = ok_json(run_cli("cleanup-temp", "--hours", "24", "--json"))
    assert kept["deleted"] == [] and kept["freed_bytes"] == 0
    preview = ok_json(run_cli("cleanup-temp", "--hours", "0", "--dry-run", "--json"))
    assert preview["deleted"] == [up["id"]] and preview["freed_bytes"] == 4096
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1  # dry run changed nothing
    listed = run_cli("cleanup-temp", "--hours", "0", "--dry-run")
    assert listed.returncode == 0, listed.stderr
    assert "Would delete 1 temporary file older" in listed.stdout
    line = next(ln for ln in listed.stdout.splitlines() if "a.mp4" in ln)
    assert "0 min old" in line and "4.1 KB" in line and up["id"][:8] in line
    done = ok_json(run_cli("cleanup-temp", "--hours", "0", "--json"))
    assert done["deleted"] == [up["id"]] and done["freed_bytes"] == 4096
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    rows = ok_json(run_cli("uploads", "--all", "--json"))
    assert [r["status"] for r in rows] == ["deleted"]


def test_multipart_upload_above_threshold(run_cli, cli_env, s3_bucket, tmp_path) -> None:
    bucket, s3 = s3_bucket
    big = make_mp4(tmp_path / "big.mp4", 12 * 1024 * 1024 + 123)
    env = {**cli_env, "S3_MULTIPART_THRESHOLD": str(5 * 1024 * 1024)}
    up = ok_json(run_cli("upload", "video", str(big), "--permanent", "--json", env=env))
    assert up["key"].startswith("videos/") and up["size"] == big.stat().st_size
    head = s3.head_object(Bucket=bucket, Key=up["key"])
    assert head["ETag"].strip('"').endswith("-3")  # parts of the 5 MiB threshold
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    out = tmp_path / "back.mp4"
    assert run_cli("download", up["id"], "-o", str(out), env=env).returncode == 0
    assert out.read_bytes() == big.read_bytes()


def test_check_reports_every_permission(run_cli, cli_env) -> None:
    report = ok_json(run_cli("check", "--json"))
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == [
        "credentials", "bucket", "region", "list", "put", "get", "tag", "delete", "encryption"
    ]
    assert "environment" in report["checks"][0]["detail"]
    missing = run_cli("check", env={**cli_env, "S3_BUCKET_NAME": "no-such-bucket-here"})
    assert missing.returncode == 1
    assert "FAIL bucket" in missing.stdout and "does not exist" in missing.stdout


def test_check_with_an_aws_profile_and_no_usable_keyring_warns_and_passes(
    run_cli, cli_env, tmp_path
) -> None:
    creds = tmp_path / "aws-credentials"
    creds.write_text("[creator]\naws_access_key_id = testing-key-id\n"
                     "aws_secret_access_key = testing-secret\n")
    env = {k: v for k, v in cli_env.items()
           if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env.update(AWS_PROFILE="creator", AWS_SHARED_CREDENTIALS_FILE=str(creds),
               AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    shown = run_cli("check", env=env)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "warn keyring" in shown.stdout and "keyring cannot be used" in shown.stdout
    assert "FAIL" not in shown.stdout and shown.stderr == ""
    report = ok_json(run_cli("check", "--json", env=env))
    assert report["ok"] is True
    keyring = report["checks"][0]
    assert keyring["name"] == "keyring" and keyring["warning"] is True
    # Without keys from anywhere the bucket checks fail, and so does `check`.
    del env["AWS_PROFILE"]
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true")
    keyless = run_cli("check", env=env)
    assert keyless.returncode == 1 and "FAIL credentials" in keyless.stdout, keyless.stdout


def test_local_library_default_without_a_bucket(run_cli, cli_env, tmp_path, shorts_home) -> None:
    env = {k: v for k, v in cli_env.items() if k not in ("S3_BUCKET_NAME", "S3_ENDPOINT_URL")}
    clip = make_mp4(tmp_path / "clip.mp4")
    up = ok_json(run_cli("upload", "video", str(clip), "--json", env=env))
    assert up["backend"] == "local" and up["bucket"] is None
    stored = shorts_home / "data" / "library" / up["key"]
    assert stored.read_bytes() == clip.read_bytes()
    promoted = ok_json(run_cli("promote", up["id"], "--json", env=env))
    assert not stored.exists()
    assert (shorts_home / "data" / "library" / promoted["key"]).read_bytes() == clip.read_bytes()
    link = run_cli("url", up["id"], env=env)
    assert link.returncode == 2 and "need an S3 bucket" in link.stderr
    check = run_cli("check", env=env)
    assert check.returncode == 0 and "local library" in check.stdout
    # Later the creator sets up a bucket and moves everything there.
    moved = ok_json(run_cli("migrate-to-s3", "--json"))
    assert moved["moved"] == [up["id"]] and moved["remaining"] == 0
    row = ok_json(run_cli("uploads", "--json"))[0]
    assert row["backend"] == "s3" and row["key"] == promoted["key"]
    assert not (shorts_home / "data" / "library" / promoted["key"]).exists()


def test_migrate_command_upgrades_a_legacy_database(run_cli, tmp_path) -> None:
    legacy = tmp_path / "old.db"
    legacy.write_bytes((Path(__file__).parents[1] / "fixtures" / "legacy_v1.db").read_bytes())
    result = run_cli("migrate", "--db", str(legacy))
    assert result.returncode == 0, result.stderr
    assert f"from schema 1 to {LATEST_VERSION}" in result.stdout and "Backup" in result.stdout
    with sqlite3.connect(legacy) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
        assert conn.execute("SELECT COUNT(*) FROM upload WHERE file_path IS NOT NULL").fetchone()[
            0
        ] == 3
    again = run_cli("migrate", "--db", str(legacy))
    assert again.returncode == 0 and "up to date" in again.stdout


def test_encryption_and_storage_class_apply_to_puts_and_promote(
    run_cli, cli_env, s3_bucket, tmp_path
) -> None:
    bucket, s3 = s3_bucket
    env = {**cli_env, "S3_SERVER_SIDE_ENCRYPTION": "AES256", "S3_STORAGE_CLASS": "STANDARD_IA"}
    up = ok_json(run_cli("upload", "video", str(make_mp4(tmp_path / "e.mp4")), "--json",
                         env=env))
    head = s3.head_object(Bucket=bucket, Key=up["key"])
    assert head["ServerSideEncryption"] == "AES256"
    assert head.get("StorageClass", "STANDARD") == "STANDARD"  # temp/ always Standard
    promoted = ok_json(run_cli("promote", up["id"], "--json", env=env))
    head = s3.head_object(Bucket=bucket, Key=promoted["key"])
    assert head["ServerSideEncryption"] == "AES256" and head["StorageClass"] == "STANDARD_IA"
    stats = ok_json(run_cli("stats", "--bucket", "--json", env=env))
    assert stats["bucket"]["bytes_by_storage_class"] == {"STANDARD_IA": 4096}
    report = ok_json(run_cli("check", "--json", env=env))
    assert "app requests AES256" in report["checks"][-1]["detail"]


def test_bucket_policy_is_narrowed_to_the_prefixes(run_cli, cli_env) -> None:
    env = {**cli_env, "S3_TEMP_PREFIX": "scratch/"}
    policy = ok_json(run_cli("bucket-policy", env=env))
    bucket = cli_env["S3_BUCKET_NAME"]
    objects = next(s for s in policy["Statement"] if s["Sid"] == "ObjectsUnderOurPrefixes")
    assert f"arn:aws:s3:::{bucket}/scratch/*" in objects["Resource"]
    assert f"arn:aws:s3:::{bucket}/*" not in objects["Resource"]
    listing = next(s for s in policy["Statement"] if s["Sid"] == "ListOurPrefixes")
    assert "scratch/*" in listing["Condition"]["StringLike"]["s3:prefix"]


def test_profiles_switch_bucket_and_keys_together(run_cli, cli_env, s3_server, tmp_path) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_server.endpoint_url, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    for name in ("personal-bucket-p", "client-bucket-p"):
        s3.create_bucket(Bucket=name)
    env = {k: v for k, v in cli_env.items() if k != "S3_BUCKET_NAME"}
    assert run_cli("config", "set", "S3_BUCKET_NAME", "personal-bucket-p", env=env).returncode == 0
    assert run_cli("profile", "use", "client", env=env).returncode == 0
    assert run_cli("config", "set", "S3_BUCKET_NAME", "client-bucket-p", env=env).returncode == 0
    bad = run_cli("config", "set", "S3_TEMP_PREFIX", "nope", env=env)
    assert bad.returncode == 2 and "S3_TEMP_PREFIX" in bad.stderr
    clip = str(make_mp4(tmp_path / "p.mp4"))
    client_up = ok_json(run_cli("upload", "video", clip, "--json", env=env))
    assert client_up["bucket"] == "client-bucket-p"
    shown = ok_json(run_cli("config", "show", "--json", env=env))
    assert shown["profile"] == "client" and shown["sources"]["S3_BUCKET_NAME"] == "settings file"
    run_cli("profile", "use", "default", env=env)
    personal_up = ok_json(run_cli("upload", "video", clip, "--json", env=env))
    assert personal_up["bucket"] == "personal-bucket-p"
    assert s3.list_objects_v2(Bucket="client-bucket-p")["KeyCount"] == 1
    assert s3.list_objects_v2(Bucket="personal-bucket-p")["KeyCount"] == 1
    # an upload made under the other profile is refused with a sentence, not a wrong bucket
    wrong = run_cli("url", client_up["id"], env=env)
    assert wrong.returncode == 2 and "client-bucket-p" in wrong.stderr


def test_sync_rebuilds_the_database_from_the_bucket(run_cli, cli_env, s3_bucket,
                                                    tmp_path) -> None:
    bucket, s3 = s3_bucket
    video = ok_json(run_cli("upload", "video", str(make_mp4(tmp_path / "Ünïcode clip.mp4")),
                            "--json"))
    text = ok_json(run_cli("upload", "transcript-text", "--text", "words", "--permanent",
                           "--json"))
    s3.put_object(Bucket=bucket, Key="temp/not-ours.txt", Body=b"x")
    second_computer = {**cli_env, "SHORTS_DESKTOP_HOME": str(tmp_path / "other-home")}
    report = ok_json(run_cli("sync", "--json", env=second_computer))
    assert sorted(report["added"]) == sorted([video["id"], text["id"]])
    assert report["foreign"] == ["temp/not-ours.txt"]
    rows = {r["id"]: r for r in ok_json(run_cli("uploads", "--json", env=second_computer))}
    assert rows[video["id"]]["original_name"] == "Ünïcode clip.mp4"
    assert rows[video["id"]]["checksum"] == video["checksum"]
    assert rows[video["id"]]["content_type"] == "video/mp4" and rows[video["id"]]["is_temp"]
    assert rows[text["id"]]["kind"] == "transcript" and not rows[text["id"]]["is_temp"]
    s3.delete_object(Bucket=bucket, Key=video["key"])
    again = ok_json(run_cli("sync", "--json", env=second_computer))
    assert again["added"] == [] and again["missing"] == [video["id"]]
