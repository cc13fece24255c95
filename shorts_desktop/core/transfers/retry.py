"""Which failures are worth another try, and how long to wait before it.

Throttling, 5xx, dropped connections and timeouts are the weather of a flaky link: they
are retried per part with exponential backoff and full jitter (so that parallel parts do
not retry in lock-step). Everything else (access denied, missing bucket, bad request)
fails at once, because trying again cannot fix it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import botocore.exceptions

THROTTLE_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "BandwidthLimitExceeded",
    }
)
TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "IDPCommunicationError",
        "OperationAborted",
    }
)
CORRUPTION_CODES = frozenset({"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"})


class IntegrityError(Exception):
    """What arrived differs from what we sent (a part ETag or checksum that does not match)."""


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def http_status(exc: BaseException) -> int | None:
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status is not None else None
    return None


def is_retryable(exc: BaseException) -> bool:
    """True for failures that a later attempt can plausibly get past."""
    if isinstance(exc, IntegrityError):
        return True  # re-read the part from disk and send it again
    if isinstance(exc, botocore.exceptions.ClientError):
        code = error_code(exc)
        status = http_status(exc) or 0
        return (
            code in THROTTLE_CODES
            or code in TRANSIENT_CODES
            or code in CORRUPTION_CODES
            or status in (429, 500, 502, 503, 504)
        )
    # Connection refused/reset/closed, timeouts, truncated responses, proxy trouble.
    return isinstance(
        exc,
        botocore.exceptions.ConnectionError
        | botocore.exceptions.HTTPClientError
        | botocore.exceptions.IncompleteReadError
        | botocore.exceptions.ResponseStreamingError
        | ConnectionError
        | TimeoutError,
    )


def is_throttle(exc: BaseException) -> bool:
    return error_code(exc) in THROTTLE_CODES or http_status(exc) in (429, 503)


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts per part and the backoff between them (full jitter, capped)."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 20.0
    throttle_factor: float = 2.0  # throttling waits longer: the server asked us to slow down

    def delay(self, attempt: int, exc: BaseException, rng: random.Random | None = None) -> float:
        """Seconds to wait after the failed `attempt` (1-based)."""
        r = rng or random
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        if is_throttle(exc):
            ceiling = min(self.max_delay, ceiling * self.throttle_factor)
        return r.uniform(ceiling / 2, ceiling)
