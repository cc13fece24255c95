"""S3 failures become one sentence for the user, never with a secret in it."""

from __future__ import annotations

from collections.abc import Iterator

import botocore.exceptions
import pytest
from moto import mock_aws

from shorts_desktop.core.config import Settings, build_settings
from shorts_desktop.core.credentials import AccessKey, ResolvedCredentials
from shorts_desktop.core.errors import ConfigError, StorageError
from shorts_desktop.core.storage.s3 import S3Storage

KEY_ID = "AKIAEXAMPLEKEY123456"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
TOKEN = "FQoGZXIvYXdzSESSIONTOKEN"
BUCKET = "my-shorts-bucket"


def settings(**variables: str) -> Settings:
    return build_settings([("test", {"S3_BUCKET_NAME": BUCKET, **variables})])


@pytest.fixture
def storage() -> S3Storage:
    creds = ResolvedCredentials(AccessKey(KEY_ID, SECRET, TOKEN), "environment variables")
    return S3Storage(settings(), creds)


def client_error(code: str, status: int, message: str = "") -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {
            "Error": {"Code": code, "Message": message or f"{code} happened"},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "4442587FB7D0A2F9"},
        },
        "PutObject",
    )


def assert_clean(text: str) -> None:
    for secret in (SECRET, TOKEN, KEY_ID, "Signature", "StringToSign"):
        assert secret not in text
    assert "\n" not in text and "Traceback" not in text
    assert text.endswith(".")


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("NoSuchBucket", 404, f"The bucket {BUCKET} does not exist (check S3_BUCKET_NAME"),
        ("AccessDenied", 403, f"Access to the bucket {BUCKET} was denied; check the IAM"),
        ("Forbidden", 403, f"Access to the bucket {BUCKET} was denied"),
        ("403", 403, f"Access to the bucket {BUCKET} was denied"),
        ("InvalidAccessKeyId", 403, "The AWS access key id is not valid"),
        ("SignatureDoesNotMatch", 403, "The AWS secret access key does not match"),
        ("ExpiredToken", 400, "The AWS session has expired"),
        ("RequestTimeTooSkewed", 403, "This computer's clock is too far off"),
        ("PermanentRedirect", 301, f"The bucket {BUCKET} is in another region"),
        ("SlowDown", 503, "S3 is throttling requests"),
        ("NoSuchKey", 404, f"The file is no longer in the bucket {BUCKET}."),
        ("404", 404, f"Not found in the bucket {BUCKET}."),
        ("InternalError", 500, "S3 refused to store the file (InternalError)."),
        ("", 500, "S3 refused to store the file (500)."),
    ],
)
def test_client_errors_become_sentences(
    storage: S3Storage, code: str, status: int, expected: str
) -> None:
    message = f"The request signature we calculated does not match. {SECRET} {KEY_ID}"
    err = storage.error(client_error(code, status, message), "store the file")
    assert isinstance(err, StorageError)
    assert str(err).startswith(expected)
    assert_clean(str(err))
    assert err.request_id == "4442587FB7D0A2F9"  # type: ignore[attr-defined]
    assert err.code == code  # type: ignore[attr-defined]


def test_unreachable_endpoint_is_one_sentence() -> None:
    creds = ResolvedCredentials(AccessKey(KEY_ID, SECRET), "keyring")
    storage = S3Storage(settings(S3_ENDPOINT_URL="http://127.0.0.1:9"), creds)
    exc = botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:9/bucket")
    err = storage.error(exc, "open the bucket")
    assert str(err) == "Cannot reach http://127.0.0.1:9; check the network connection."
    assert_clean(str(err))


def test_unreachable_aws_is_named_s3(storage: S3Storage) -> None:
    exc = botocore.exceptions.ConnectTimeoutError(endpoint_url="https://s3.amazonaws.com")
    assert str(storage.error(exc, "x")) == "Cannot reach S3; check the network connection."


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (botocore.exceptions.NoCredentialsError(), "No AWS credentials were found"),
        (botocore.exceptions.ReadTimeoutError(endpoint_url="u"), "S3 stopped answering"),
        (botocore.exceptions.ConnectionClosedError(endpoint_url="u"), "The connection to S3 was"),
        (botocore.exceptions.SSLError(endpoint_url="u", error="bad"), "A secure connection"),
        (botocore.exceptions.ParamValidationError(report="bad"), "S3 could not list: Param"),
        (PermissionError(13, "Permission denied"), "Could not list: Permission denied."),
    ],
)
def test_other_failures_become_sentences(
    storage: S3Storage, exc: Exception, expected: str
) -> None:
    err = storage.error(exc, "list")
    assert str(err).startswith(expected)
    assert_clean(str(err))


def test_a_bug_is_not_turned_into_a_sentence(storage: S3Storage) -> None:
    with pytest.raises(ZeroDivisionError):
        storage.error(ZeroDivisionError("bug"), "list")


def test_secret_is_not_in_the_repr_of_credentials() -> None:
    creds = ResolvedCredentials(AccessKey(KEY_ID, SECRET, TOKEN), "keyring")
    assert SECRET not in repr(creds) and TOKEN not in repr(creds)


def test_no_bucket_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="S3_BUCKET_NAME is not set"):
        S3Storage(build_settings([]), ResolvedCredentials(None, "chain"))


# -- against moto -----------------------------------------------------------------------------


@pytest.fixture
def aws_storage() -> Iterator[S3Storage]:
    with mock_aws():
        creds = ResolvedCredentials(AccessKey(KEY_ID, SECRET), "environment variables")
        yield S3Storage(settings(), creds)


def test_check_a_good_bucket(aws_storage: S3Storage) -> None:
    aws_storage.client.create_bucket(Bucket=BUCKET)
    results = aws_storage.check("temp/")
    assert [r.name for r in results][:8] == [
        "credentials", "bucket", "region", "list", "put", "get", "tag", "delete"
    ]
    assert all(r.ok for r in results), results
    assert results[0].detail == "environment variables"
    assert results[2].detail == "bucket region us-east-1"
    assert list(aws_storage.list_objects("")) == []  # the probe is gone again


def test_check_names_a_missing_tagging_permission(
    aws_storage: S3Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws_storage.client.create_bucket(Bucket=BUCKET)

    def refuse(**_: object) -> None:
        raise client_error("AccessDenied", 403)

    monkeypatch.setattr(aws_storage.client, "put_object_tagging", refuse)
    results = {r.name: r for r in aws_storage.check("temp/")}
    assert not results["tag"].ok
    assert results["tag"].detail.startswith("s3:PutObjectTagging missing: Access to the bucket")
    assert results["put"].ok and results["delete"].ok
    assert list(aws_storage.list_objects("")) == []  # the probe is still removed


def test_check_a_missing_bucket(aws_storage: S3Storage) -> None:
    results = aws_storage.check("temp/")
    assert [(r.name, r.ok) for r in results] == [("credentials", True), ("bucket", False)]
    assert results[1].detail.startswith(f"The bucket {BUCKET} does not exist")
    assert_clean(results[1].detail)


def test_check_a_bucket_in_another_region(aws_storage: S3Storage) -> None:
    aws_storage.client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    region = {r.name: r for r in aws_storage.check("temp/")}["region"]
    assert not region.ok
    assert region.detail == "the bucket is in eu-west-1, AWS_REGION says us-east-1"


def test_missing_bucket_while_listing_is_a_storage_error(aws_storage: S3Storage) -> None:
    with pytest.raises(StorageError, match=f"The bucket {BUCKET} does not exist"):
        list(aws_storage.list_objects("temp/"))


def test_head_of_a_missing_key_is_none(aws_storage: S3Storage) -> None:
    aws_storage.client.create_bucket(Bucket=BUCKET)
    assert aws_storage.head("temp/nothing/here.mp4") is None


def test_abort_of_an_unknown_multipart_upload_is_fine(aws_storage: S3Storage) -> None:
    aws_storage.client.create_bucket(Bucket=BUCKET)
    aws_storage.abort_multipart("temp/x/y.mp4", "no-such-upload")
    assert aws_storage.list_multipart_uploads("") == []
