"""The least-privilege IAM policy for the configured bucket, narrowed to our prefixes.

It grants what the app uses and nothing else: listing (only under our prefixes),
reading, writing, tagging and deleting objects under them, aborting and listing unfinished
multipart uploads, and reading/setting lifecycle rules (the Cleanup panel).
"""

from __future__ import annotations

from typing import Any

from shorts_desktop.core.config import Settings
from shorts_desktop.core.errors import UserError


def bucket_policy(settings: Settings) -> dict[str, Any]:
    if settings.bucket_name is None:
        raise UserError("Set S3_BUCKET_NAME first: the policy is written for one bucket.")
    bucket = f"arn:aws:s3:::{settings.bucket_name}"
    prefixes = [
        settings.videos_prefix,
        settings.transcripts_prefix,
        settings.temp_prefix,
        settings.processed_prefix,
    ]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListOurPrefixes",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket],
            "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
        },
        {
            "Sid": "BucketHousekeeping",
            "Effect": "Allow",
            "Action": [
                "s3:GetBucketLocation",
                "s3:ListBucketMultipartUploads",
                "s3:GetLifecycleConfiguration",
                "s3:PutLifecycleConfiguration",
                "s3:GetEncryptionConfiguration",
            ],
            "Resource": [bucket],
        },
        {
            "Sid": "ObjectsUnderOurPrefixes",
            "Effect": "Allow",
            "Action": [
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:PutObjectTagging",  # the expire tag on temporary files (lifecycle rule)
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
            "Resource": [f"{bucket}/{p}*" for p in prefixes],
        },
    ]
    if settings.server_side_encryption == "aws:kms":
        key = settings.kms_key_id or "arn:aws:kms:REGION:ACCOUNT:key/KEY-ID"
        statements.append(
            {
                "Sid": "UseTheKmsKey",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": [key],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
