"""Smoke test: the local S3 server fixture really serves S3 over HTTP."""

from typing import Any


def test_put_get_and_multipart_listing(s3_bucket: tuple[str, Any]) -> None:
    bucket, client = s3_bucket
    payload = bytes(range(256)) * 64
    client.put_object(Bucket=bucket, Key="temp/a/clip.mp4", Body=payload)
    assert client.get_object(Bucket=bucket, Key="temp/a/clip.mp4")["Body"].read() == payload

    upload_id = client.create_multipart_upload(Bucket=bucket, Key="big.mp4")["UploadId"]
    listed = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [u["UploadId"] for u in listed] == [upload_id]
    client.abort_multipart_upload(Bucket=bucket, Key="big.mp4", UploadId=upload_id)
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
