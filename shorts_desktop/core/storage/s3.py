"""The S3 backend: one pooled botocore client, standard retries, errors as sentences.

On endpoints other than AWS (MinIO, R2, B2, moto) boto3's default request checksums
break uploads on some stores, so they are sent only when required there; integrity
comes from our own checksums (Content-MD5 on single PUTs, ETag and SHA-256 checks).
"""

from __future__ import annotations

import gc
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import botocore.exceptions
from botocore.config import Config

from shorts_desktop.core.config import MIB, Settings
from shorts_desktop.core.credentials import ResolvedCredentials
from shorts_desktop.core.errors import (
    ConfigError,
    ShortsError,
    StorageError,
    TransferCancelled,
    TransferInterrupted,
    TransferPaused,
)
from shorts_desktop.core.storage.base import (
    CONTROL_POLL,
    EXPIRE_TAG,
    EXPIRE_TAGGING,
    CheckResult,
    FolderListing,
    MultipartInfo,
    ObjectInfo,
    ProgressCallback,
)
from shorts_desktop.core.storage.botocore_data import botocore_session
from shorts_desktop.core.transfers import (
    DownloadRequest,
    EngineConfig,
    MemoryTransferStore,
    RoutingStore,
    TransferEngine,
    TransferEvent,
    TransferHandle,
    TransferStore,
    UploadRequest,
)
from shorts_desktop.core.transfers.retry import IntegrityError
from shorts_desktop.core.transfers.state import FINAL_STATES

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from shorts_desktop.core.transfers.lane import LaneJob, PutLane

log = logging.getLogger(__name__)
_BOTO_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
COPY_THRESHOLD = 5 * 1024 * MIB


_ERROR_SENTENCES = {
    "NoSuchBucket": "The bucket {bucket} does not exist (check S3_BUCKET_NAME and AWS_REGION).",
    "AccessDenied": "Access to the bucket {bucket} was denied; check the IAM policy "
    "(`shorts-desktop check` names what is missing).",
    "AllAccessDisabled": "All access to the bucket {bucket} is disabled.",
    "InvalidAccessKeyId": "The AWS access key id is not valid; set the right one with "
    "`shorts-desktop credentials set`.",
    "SignatureDoesNotMatch": "The AWS secret access key does not match the key id; set it "
    "again with `shorts-desktop credentials set`.",
    "ExpiredToken": "The AWS session has expired; sign in again (for SSO: aws sso login).",
    "RequestTimeTooSkewed": "This computer's clock is too far off for S3; correct the time.",
    "NoSuchKey": "The file is no longer in the bucket {bucket}.",
    "PermanentRedirect": "The bucket {bucket} is in another region; set AWS_REGION to it.",
    "AuthorizationHeaderMalformed": "The bucket {bucket} is in another region; set AWS_REGION "
    "to it.",
    "SlowDown": "S3 is throttling requests right now; try again in a minute.",
    "BadDigest": "The file changed while it was being uploaded; upload it again.",
    "InvalidDigest": "The file changed while it was being uploaded; upload it again.",
    "EntityTooLarge": "The file is larger than S3 accepts in one request.",
    "QuotaExceeded": "The storage quota of the bucket {bucket} is exhausted.",
}


class S3Storage:
    """S3 or an S3-compatible store, addressed through one shared client."""

    backend = "s3"

    def __init__(
        self,
        settings: Settings,
        credentials: ResolvedCredentials,
        transfer_store: TransferStore | None = None,
        engine_config: EngineConfig | None = None,
        parsed_cache: Path | None = None,
    ) -> None:
        """`parsed_cache`: a folder where botocore's data, parsed, is kept for the next
        start (`botocore_session`)."""
        if settings.bucket_name is None:
            raise ConfigError("S3_BUCKET_NAME is not set.")
        self.bucket: str = settings.bucket_name
        self.settings = settings
        self.credentials = credentials
        self._client: S3Client | None = None
        self._transfer_store = transfer_store or MemoryTransferStore()  # outlives engines
        self._engine: TransferEngine | None = None
        self._engine_lock = threading.Lock()
        self._engine_config = engine_config
        self._parsed_cache = parsed_cache

    @property
    def client(self) -> S3Client:
        if self._client is None:
            self._client = self._build_client()
        return self._client

    @property
    def transfers(self) -> TransferEngine:
        """The transfer engine, started on first use; it retries per part, so its client
        makes one attempt per call instead of botocore's own retries."""
        with self._engine_lock:
            if self._engine is None:
                s = self.settings
                self._engine = TransferEngine(
                    self._build_client(attempts=1, pool=s.files_in_flight * s.parts_in_flight + 4,
                                       sign_payload=False),
                    self._engine_config or EngineConfig.from_settings(s),
                    RoutingStore(self._transfer_store),
                    describe_error=self._describe,
                )
            return self._engine

    def open_put_lane(self, take: Callable[[int], list[LaneJob]],
                      in_flight: int) -> PutLane | None:
        return self.transfers.open_lane(self.bucket, self.write_args, take, in_flight)

    def warm_up(self, *, for_puts: bool = False) -> None:
        self.transfers  # noqa: B018 -- built on first use
        if not for_puts:
            self.client  # noqa: B018

    # -- the puts this process is sending ---------------------------------------------------

    resumable = True
    takes_hashes = True

    def _handle(self, transfer_id: str) -> TransferHandle | None:
        with self._engine_lock:
            engine = self._engine
        return None if engine is None else engine.get(transfer_id)  # none started: none sent

    def sending(self, transfer_id: str) -> bool:
        handle = self._handle(transfer_id)
        return handle is not None and handle.state not in FINAL_STATES

    def pause_sending(self, transfer_id: str) -> None:
        if self.sending(transfer_id):
            self.transfers.pause(transfer_id)

    def resume_sending(self, transfer_id: str) -> None:
        if self.sending(transfer_id):
            self.transfers.resume(transfer_id)

    def cancel_sending(self, transfer_id: str, wait: float = 0.0) -> None:
        handle = self._handle(transfer_id)
        if handle is None or handle.state in FINAL_STATES:
            return
        self.transfers.cancel(transfer_id)
        if wait > 0:
            handle.wait(wait)

    def set_bandwidth_limit(self, bytes_per_second: int) -> None:
        self.transfers.set_bandwidth_limit(bytes_per_second)

    def close(self) -> None:
        """Stop the engine; unfinished uploads keep their parts for the next start."""
        with self._engine_lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None

    def _describe(self, exc: Exception, action: str) -> str:
        if isinstance(exc, ShortsError):
            return str(exc)
        if isinstance(exc, IntegrityError):
            return f"{str(exc).rstrip('.')}; nothing of it was kept."
        try:
            return str(self.error(exc, action))
        except Exception:
            log.warning("unexpected failure while trying to %s", action, exc_info=exc)
            return f"Could not {action} ({type(exc).__name__}); see the log."

    def _build_client(
        self, attempts: int = 5, pool: int = 10, sign_payload: bool = True
    ) -> S3Client:
        """`sign_payload=False` (the engine's client): no SHA-256 of every body over plain
        HTTP; the engine's parts carry a signed Content-MD5 or CRC32 that S3 verifies."""
        s = self.settings
        key = self.credentials.key
        options: dict[str, Any] = {}
        if not s.is_aws_endpoint:
            options["request_checksum_calculation"] = "when_required"
            options["response_checksum_validation"] = "when_required"
        config = Config(
            retries={"mode": "standard", "total_max_attempts": attempts},
            connect_timeout=10,
            read_timeout=120,
            max_pool_connections=max(10, pool),
            s3={  # type: ignore[arg-type]
                "addressing_style": s.addressing_style,
                **({} if sign_payload else {"payload_signing_enabled": False}),
            },
            # Presigned links would otherwise be SigV2, which newer buckets refuse.
            signature_version="s3v4",
            user_agent_extra="shorts-desktop",
            **options,
        )
        # A botocore client, not boto3's: boto3 and s3transfer cost every start ~30 ms of
        # imports for what only a managed copy uses (`copy` imports them then).
        session = botocore_session(self._parsed_cache)
        if not key and s.aws_profile:
            session.set_config_variable("profile", s.aws_profile)
        try:
            client = cast("S3Client", session.create_client(
                "s3", region_name=s.region, endpoint_url=s.endpoint_url,
                aws_access_key_id=key.access_key_id if key else None,
                aws_secret_access_key=key.secret_access_key if key else None,
                aws_session_token=key.session_token if key else None,
                config=config,
            ))
        except botocore.exceptions.ProfileNotFound:
            raise ConfigError(
                f"The AWS profile {s.aws_profile!r} (AWS_PROFILE) does not exist."
            ) from None
        # botocore's service model and the client are a few hundred thousand objects that
        # live as long as the process: out of the cyclic collector's sight, its full
        # collections stop walking them (2,000 small uploads: ~0.5 s of CPU less).
        gc.freeze()
        return client

    def describe(self) -> str:
        where = self.settings.endpoint_url or f"AWS {self.settings.region}"
        return f"s3://{self.bucket} ({where})"

    # -- errors -----------------------------------------------------------------------------

    def error(self, exc: Exception, action: str, not_found: str | None = None) -> StorageError:
        """One sentence for a boto3/botocore failure; never includes secrets or URLs."""
        if isinstance(exc, botocore.exceptions.ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            request_id = exc.response.get("ResponseMetadata", {}).get("RequestId", "")
            template = _ERROR_SENTENCES.get(code)
            if template is None and status == 403:
                template = _ERROR_SENTENCES["AccessDenied"]
            if template is None and code in ("404", "NotFound"):
                template = not_found or "Not found in the bucket {bucket}."
            if template is None:
                template = f"S3 refused to {action} ({code or status})."
            sentence = template.format(bucket=self.bucket)
            log.warning("S3 %s failed: %s (HTTP %s, request id %s)", action, code or "?",
                        status, request_id or "?")
            err = StorageError(sentence)
            err.code = code  # type: ignore[attr-defined]
            err.request_id = request_id  # type: ignore[attr-defined]
            return err
        log.warning("S3 %s failed: %s", action, type(exc).__name__)
        if isinstance(exc, botocore.exceptions.NoCredentialsError):
            return StorageError(
                "No AWS credentials were found; run `shorts-desktop credentials set` or "
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
            )
        if isinstance(
            exc,
            botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectTimeoutError,
        ):
            where = self.settings.endpoint_url or "S3"
            return StorageError(f"Cannot reach {where}; check the network connection.")
        if isinstance(exc, botocore.exceptions.ReadTimeoutError):
            return StorageError("S3 stopped answering in time; try again.")
        if isinstance(exc, botocore.exceptions.ConnectionClosedError):
            return StorageError("The connection to S3 was closed; try again.")
        if isinstance(exc, botocore.exceptions.SSLError):
            return StorageError("A secure connection to S3 could not be made (TLS error).")
        if isinstance(exc, botocore.exceptions.BotoCoreError):
            return StorageError(f"S3 could not {action}: {type(exc).__name__}.")
        if isinstance(exc, OSError):
            return StorageError(f"Could not {action}: {exc.strerror or exc}.")
        raise exc

    def write_args(self, key: str) -> dict[str, str]:
        """Encryption for every write; the storage class for all but temporary files, which
        carry the expire tag instead, from the first byte: the lifecycle rule may take one
        that no job needs (jobs clear the tag while they need it)."""
        s = self.settings
        args: dict[str, str] = {}
        if key.startswith(s.temp_prefix):
            args["Tagging"] = EXPIRE_TAGGING
        if s.server_side_encryption != "none":
            args["ServerSideEncryption"] = s.server_side_encryption
            if s.kms_key_id:
                args["SSEKMSKeyId"] = s.kms_key_id
        if s.storage_class != "STANDARD" and not key.startswith(s.temp_prefix):
            args["StorageClass"] = s.storage_class
        return args

    # -- objects ----------------------------------------------------------------------------

    def put_file(
        self,
        path: Path,
        key: str,
        *,
        content_type: str,
        metadata: dict[str, str],
        md5_hex: str | None,
        progress: ProgressCallback | None = None,
        transfer_id: str | None = None,
        sha256: str | None = None,
        source: tuple[int, int] | None = None,
        notice: Callable[[str], None] | None = None,
        held: Callable[[], bool] | None = None,
        control: Callable[[], str | None] | None = None,
    ) -> str | None:
        """Upload through the engine and wait; resumes saved parts for `transfer_id`.
        Returns the SHA-256 the engine computed while it read the file."""
        request = UploadRequest(
            transfer_id=transfer_id or f"put-{uuid.uuid4()}",
            path=path,
            bucket=self.bucket,
            key=key,
            content_type=content_type,
            metadata=metadata,
            sha256=sha256,
            md5=md5_hex,
            extra_args=self.write_args(key),
            source=source,
        )
        engine = self.transfers
        submit = engine.upload if held is not None and held() else engine.upload_here
        return self._wait(submit, request, progress, notice, held, control).sha256

    def _wait(self, submit: Any, request: Any, progress: ProgressCallback | None,
              notice: Callable[[str], None] | None = None,
              held: Callable[[], bool] | None = None,
              control: Callable[[], str | None] | None = None) -> TransferHandle:
        """Submit to the engine and block until the end, reporting progress as deltas;
        `held` and `control` as in `Storage.put_file`.

        Ctrl-C stops the engine so that an upload keeps its parts for `resume`.
        """
        engine = self.transfers
        done = [0]
        noticed: list[str] = []
        ident = request.transfer_id

        def on_event(event: TransferEvent) -> None:
            if event.transfer_id != ident:
                return
            if event.kind == "started" and event.message and notice is not None:
                noticed.append(event.message)
                notice(event.message)  # e.g. the file changed since: starting over
            if progress is not None and event.bytes_done > done[0]:
                progress(event.bytes_done - done[0])
                done[0] = event.bytes_done

        unsubscribe = engine.subscribe(on_event, ident)
        try:
            handle: TransferHandle = submit(request)
            if held is not None and held():  # paused while it was being handed over
                engine.pause(ident)
            while True:
                state = handle.wait_for(*FINAL_STATES, "paused",
                                        timeout=None if control is None else CONTROL_POLL)
                if control is None or state in (*FINAL_STATES, "paused") or handle.closing:
                    break
                wanted = control()
                if wanted == "pause":
                    engine.pause(ident)
                elif wanted == "cancel":
                    engine.cancel(ident)
        except KeyboardInterrupt:
            self.close()
            raise
        finally:
            unsubscribe()
        if notice is not None and handle.message and not noticed:  # ended before its event
            notice(handle.message)
        if state == "cancelled":
            raise TransferCancelled("The transfer was cancelled.")
        if state == "paused":  # resuming it, then submitting again, continues it
            raise TransferPaused("The transfer is paused; what it sent so far is kept.")
        if state not in FINAL_STATES:  # the engine closed under it
            raise TransferInterrupted("The transfer stopped because the app is closing; it "
                                      "continues at the next start.")
        if state != "completed":
            raise StorageError(handle.error or f"The transfer {state}.")
        if progress is not None and handle.total > done[0]:
            progress(handle.total - done[0])
        return handle

    def head(self, key: str) -> ObjectInfo | None:
        try:
            r = self.client.head_object(Bucket=self.bucket, Key=key)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self.error(exc, "read the file's details") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise self.error(exc, "read the file's details") from None
        return ObjectInfo(
            key=key,
            size=int(r["ContentLength"]),
            last_modified=r["LastModified"].astimezone(UTC),
            etag=r["ETag"].strip('"'),
            storage_class=r.get("StorageClass", "STANDARD"),
            metadata=dict(r.get("Metadata", {})),
            content_type=r.get("ContentType", ""),
        )

    def copy(
        self, src_key: str, dst_key: str, *, content_type: str, metadata: dict[str, str]
    ) -> None:
        from boto3.s3.inject import copy as managed_copy  # boto3's, over our client
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(
            multipart_threshold=COPY_THRESHOLD,
            multipart_chunksize=512 * MIB,
            max_concurrency=self.settings.parts_in_flight,
        )
        try:
            managed_copy(
                self.client,
                {"Bucket": self.bucket, "Key": src_key},
                self.bucket,
                dst_key,
                ExtraArgs={
                    "ContentType": content_type,
                    "Metadata": metadata,
                    "MetadataDirective": "REPLACE",
                    # the source's tags stay behind: a permanent copy must never expire
                    "TaggingDirective": "REPLACE",
                    **self.write_args(dst_key),
                },
                Config=config,
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self.error(exc, "copy the file") from None

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self.error(exc, "delete the file") from None

    def set_expire_tag(self, key: str, expire: bool) -> None:
        """Replaces the object's tag set (the app's own objects carry only this tag);
        `no` rather than no tag, so that one permission (s3:PutObjectTagging) does both."""
        try:
            self.client.put_object_tagging(
                Bucket=self.bucket, Key=key,
                Tagging={"TagSet": [{"Key": EXPIRE_TAG, "Value": "yes" if expire else "no"}]},
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self.error(exc, "tag the file") from None

    def delete_many(self, keys: list[str]) -> list[str]:
        failed: list[str] = []
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            try:
                r = self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                raise self.error(exc, "delete files") from None
            failed.extend(e["Key"] for e in r.get("Errors", []) if "Key" in e)
        return failed

    def list_objects(self, prefix: str) -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    yield ObjectInfo(
                        key=obj["Key"],
                        size=int(obj["Size"]),
                        last_modified=obj["LastModified"].astimezone(UTC),
                        etag=obj.get("ETag", "").strip('"'),
                        storage_class=obj.get("StorageClass", "STANDARD"),
                    )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self.error(exc, "list the bucket") from None

    def list_folder(self, prefix: str) -> FolderListing:
        """One level of the bucket: S3's own delimiter listing, so that a prefix with a
        hundred thousand objects below it costs one request per thousand entries shown."""
        folders: list[str] = []
        objects: list[ObjectInfo] = []
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                folders.extend(p["Prefix"] for p in page.get("CommonPrefixes", [])
                               if "Prefix" in p)
                objects.extend(
                    ObjectInfo(
                        key=obj["Key"],
                        size=int(obj["Size"]),
                        last_modified=obj["LastModified"].astimezone(UTC),
                        etag=obj.get("ETag", "").strip('"'),
                        storage_class=obj.get("StorageClass", "STANDARD"),
                    )
                    for obj in page.get("Contents", [])
                )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self.error(exc, "list the bucket") from None
        return FolderListing(sorted(folders), sorted(objects, key=lambda o: o.key))

    def presigned_url(self, key: str, expires: int, download_name: str | None = None) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if download_name:
            params["ResponseContentDisposition"] = f'attachment; filename="{download_name}"'
        try:
            return self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self.error(exc, "make a link") from None

    def media_source(self, key: str, expires: int) -> str:
        return self.presigned_url(key, expires)

    def download_file(
        self, key: str, dest: Path, progress: ProgressCallback | None = None,
        sha256: str | None = None,
    ) -> None:
        """Ranged parallel GETs into a file beside `dest`, renamed into place once verified."""
        request = DownloadRequest(
            transfer_id=f"get-{uuid.uuid4()}", bucket=self.bucket, key=key, dest=dest,
            sha256=sha256, overwrite=True,
        )
        self._wait(self.transfers.download, request, progress)

    # -- multipart leftovers ----------------------------------------------------------------

    def list_multipart_uploads(self, prefix: str = "") -> list[MultipartInfo]:
        out: list[MultipartInfo] = []
        try:
            paginator = self.client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for up in page.get("Uploads", []):
                    size = 0
                    parts = self.client.get_paginator("list_parts")
                    for ppage in parts.paginate(
                        Bucket=self.bucket, Key=up["Key"], UploadId=up["UploadId"]
                    ):
                        size += sum(int(p["Size"]) for p in ppage.get("Parts", []))
                    out.append(
                        MultipartInfo(
                            key=up["Key"],
                            upload_id=up["UploadId"],
                            initiated=up["Initiated"].astimezone(UTC),
                            size=size,
                        )
                    )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self.error(exc, "list unfinished uploads") from None
        return out

    def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchUpload":
                return
            raise self.error(exc, "abort an unfinished upload") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise self.error(exc, "abort an unfinished upload") from None

    # -- set-up -----------------------------------------------------------------------------

    def check(self, probe_prefix: str) -> list[CheckResult]:
        results = [CheckResult("credentials", True, self.credentials.source)]
        try:
            self.client.head_bucket(Bucket=self.bucket)
            results.append(CheckResult("bucket", True, f"{self.bucket} is reachable"))
        except botocore.exceptions.NoCredentialsError as exc:  # the chain found nothing
            return [CheckResult("credentials", False, str(self.error(exc, "open the bucket")))]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            missing = _ERROR_SENTENCES["NoSuchBucket"]
            results.append(
                CheckResult("bucket", False, str(self.error(exc, "open the bucket", missing)))
            )
            return results
        try:
            loc = self.client.get_bucket_location(Bucket=self.bucket).get("LocationConstraint")
            region = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(loc, loc)
            if region == self.settings.region or not self.settings.is_aws_endpoint:
                results.append(CheckResult("region", True, f"bucket region {region}"))
            else:
                results.append(
                    CheckResult(
                        "region", False, f"the bucket is in {region}, AWS_REGION says "
                        f"{self.settings.region}"
                    )
                )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            results.append(CheckResult("region", False, str(self.error(exc, "read the region"))))
        probe = f"{probe_prefix}.shorts-desktop-check-{uuid.uuid4().hex}"
        steps: list[tuple[str, str, Any]] = [
            ("list", "s3:ListBucket", lambda: self.client.list_objects_v2(
                Bucket=self.bucket, Prefix=probe_prefix, MaxKeys=1)),
            ("put", "s3:PutObject", lambda: self.client.put_object(
                Bucket=self.bucket, Key=probe, Body=b"shorts-desktop check")),
            ("get", "s3:GetObject", lambda: self.client.get_object(
                Bucket=self.bucket, Key=probe)["Body"].read()),
            ("tag", "s3:PutObjectTagging", lambda: self.client.put_object_tagging(
                Bucket=self.bucket, Key=probe,
                Tagging={"TagSet": [{"Key": EXPIRE_TAG, "Value": "yes"}]})),
            ("delete", "s3:DeleteObject", lambda: self.client.delete_object(
                Bucket=self.bucket, Key=probe)),
        ]
        for name, permission, call in steps:
            try:
                call()
                results.append(CheckResult(name, True, f"{permission} allowed"))
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                results.append(
                    CheckResult(name, False, f"{permission} missing: {self.error(exc, name)}")
                )
        results.append(self._encryption_check())
        return results

    def _encryption_check(self) -> CheckResult:
        """Whether the bucket encrypts by default; informative, never a failure by itself."""
        ours = self.settings.server_side_encryption
        try:
            r = self.client.get_bucket_encryption(Bucket=self.bucket)
            rules = r.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
            algos = sorted(
                {str(rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm"))
                 for rule in rules}
            )
            enforced = f"bucket enforces {', '.join(algos)}"
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ServerSideEncryptionConfigurationNotFoundError":
                enforced = "bucket has no default encryption"
            else:
                enforced = "bucket encryption could not be read (s3:GetEncryptionConfiguration)"
        except botocore.exceptions.BotoCoreError:
            enforced = "bucket encryption could not be read"
        app = "app sends none" if ours == "none" else f"app requests {ours}"
        return CheckResult("encryption", True, f"{enforced}; {app}")

    def get_lifecycle_rules(self) -> list[dict[str, object]]:
        try:
            r = self.client.get_bucket_lifecycle_configuration(Bucket=self.bucket)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchLifecycleConfiguration":
                return []
            raise self.error(exc, "read the lifecycle rules") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise self.error(exc, "read the lifecycle rules") from None
        return [dict(rule) for rule in r.get("Rules", [])]

    def put_lifecycle_rules(self, rules: list[dict[str, object]]) -> None:
        try:
            self.client.put_bucket_lifecycle_configuration(
                Bucket=self.bucket,
                LifecycleConfiguration={"Rules": rules},  # type: ignore[typeddict-item]
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self.error(exc, "save the lifecycle rules") from None
