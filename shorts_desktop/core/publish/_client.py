"""The YouTube client, built offline, and Google's failures turned into sentences.

The client comes from the discovery document that google-api-python-client ships, with
its root rewritten: `api_endpoint` would move the API calls but not the uploads, and a
discovery fetch over the network would be a slow, failing extra call.
"""

from __future__ import annotations

import copy
import errno
import functools
import http.client
import json
import re
import socket
from typing import TYPE_CHECKING, Any

from shorts_desktop.core.errors import ShortsError, UserError
from shorts_desktop.core.publish.errors import (
    NO_CHANNEL,
    QUOTA,
    RECONNECT,
    UPLOAD_LIMIT,
    QuotaExceeded,
    ReconnectNeeded,
    UploadLimitExceeded,
    YouTubeError,
)

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials

DEFAULT_API_ROOT = "https://www.googleapis.com/"

_NETWORK_ERRNOS = {
    errno.ECONNABORTED,
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.EHOSTUNREACH,
    errno.ENETDOWN,
    errno.ENETUNREACH,
    errno.EPIPE,
    errno.ETIMEDOUT,
}
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@functools.lru_cache(maxsize=1)
def _shipped_document() -> dict[str, Any]:
    from googleapiclient.discovery_cache import get_static_doc

    text = get_static_doc("youtube", "v3")
    if not text:  # a packaging mistake (PyInstaller dropped the data files), not the user's
        raise ShortsError(
            "The YouTube API description is missing from this installation; reinstall the app."
        )
    doc: dict[str, Any] = json.loads(text)
    return doc


def discovery_document(api_root: str) -> dict[str, Any]:
    """The shipped youtube v3 document, every request (uploads too) aimed at `api_root`."""
    doc = copy.deepcopy(_shipped_document())
    root = api_root if api_root.endswith("/") else api_root + "/"
    doc["rootUrl"] = root
    doc["mtlsRootUrl"] = root
    return doc


def build_service(credentials: Credentials, api_root: str = DEFAULT_API_ROOT) -> Any:
    """A youtube v3 client; close it (`.close()`) to close its connections."""
    import googleapiclient.discovery
    import googleapiclient.http
    from google_auth_httplib2 import AuthorizedHttp

    # build_http() rather than httplib2.Http(): it stops httplib2 treating YouTube's
    # "308 Resume Incomplete" as a redirect.
    http = AuthorizedHttp(credentials, http=googleapiclient.http.build_http())
    return googleapiclient.discovery.build_from_document(
        discovery_document(api_root), http=http
    )


# -- failures -------------------------------------------------------------------------------


def _clean(message: str) -> str:
    """YouTube's own message, fit to sit inside one of our sentences."""
    text = re.sub(r"<[^>]+>", "", message)
    text = " ".join(text.split()).rstrip(" .")
    return text[:200] if text else "no reason given"


def error_details(content: bytes | str | None) -> tuple[str | None, str]:
    """(reason, message) from a Google JSON error body; (None, ...) when there is none."""
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    try:
        data = json.loads(content or "")
        error = data["error"]
    except (ValueError, KeyError, TypeError):
        return None, "no reason given"
    if not isinstance(error, dict):  # the OAuth style: {"error": "invalid_grant", ...}
        return str(error), _clean(str(data.get("error_description") or error))
    reason: str | None = None
    errors = error.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        reason = errors[0].get("reason")
    if reason is None:
        for detail in error.get("details") or []:
            if isinstance(detail, dict) and detail.get("reason"):
                reason = str(detail["reason"])
                break
    return reason, _clean(str(error.get("message") or ""))


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of a googleapiclient HttpError, else None."""
    from googleapiclient.errors import HttpError

    if isinstance(exc, HttpError):
        return int(exc.resp.status)
    return None


def api_error(status: int, content: bytes | str | None) -> ShortsError:
    """A YouTube Data API refusal as the one sentence the user needs."""
    reason, message = error_details(content)
    if reason in ("quotaExceeded", "dailyLimitExceeded"):
        return QuotaExceeded(QUOTA)
    if reason == "uploadLimitExceeded":
        return UploadLimitExceeded(UPLOAD_LIMIT)
    if reason in ("youtubeSignupRequired", "channelNotFound"):
        return UserError(NO_CHANNEL)
    if status == 401:
        return ReconnectNeeded(RECONNECT)
    if reason in ("accessNotConfigured", "SERVICE_DISABLED"):
        return UserError(
            "The YouTube Data API v3 is not enabled for this Google Cloud project; enable it "
            "in Google Cloud Console (APIs & Services → Library), then try again."
        )
    if reason in ("insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"):
        return ReconnectNeeded(
            "The YouTube sign-in lacks a permission the app needs; connect the account again "
            "and allow both YouTube permissions."
        )
    if status == 403:
        return YouTubeError(f"YouTube refused the request: {message}.")
    if status == 400:
        return UserError(f"YouTube refused the video's details: {message}.")
    if status >= 500:
        return YouTubeError(f"YouTube failed (HTTP {status}); try again later.")
    return YouTubeError(f"YouTube answered HTTP {status}: {message}.")


def auth_error(exc: BaseException) -> ShortsError | None:
    """A google-auth refresh failure as a sentence; None if `exc` is not one."""
    from google.auth.exceptions import RefreshError, TransportError

    if isinstance(exc, TransportError):
        return ShortsError(
            "Could not reach Google to renew the YouTube sign-in; check the internet connection."
        )
    if not isinstance(exc, RefreshError):
        return None
    code = None
    if len(exc.args) > 1 and isinstance(exc.args[1], dict):
        code = exc.args[1].get("error")
    if code is None and exc.args and str(exc.args[0]).startswith("invalid_grant"):
        code = "invalid_grant"
    if code == "invalid_grant":
        return ReconnectNeeded(RECONNECT)
    if code == "invalid_client":
        return ReconnectNeeded(
            "Google no longer accepts this app's OAuth client (invalid_client); connect the "
            "account again with a current client-secrets file."
        )
    # Only a short error code from the body goes into the sentence, never the body itself.
    shown = code if isinstance(code, str) and re.fullmatch(r"[a-z_]{1,40}", code) else "unknown"
    return ReconnectNeeded(
        f"Google refused to renew the YouTube sign-in ({shown}); connect the account again "
        "(Settings → Connect YouTube account, or `shorts-desktop youtube login`)."
    )


def is_network_error(exc: BaseException) -> bool:
    """A dropped, refused or timed-out connection: worth another try."""
    import httplib2
    from google.auth.exceptions import TransportError

    transient = (
        ConnectionError,
        TimeoutError,
        socket.gaierror,
        http.client.HTTPException,
        httplib2.HttpLib2Error,
        TransportError,
    )
    if isinstance(exc, transient):
        return True
    return isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS


def network_error(exc: BaseException, what: str) -> ShortsError:
    kind = "timed out" if isinstance(exc, TimeoutError) else "no connection"
    return ShortsError(
        f"Could not reach YouTube to {what} ({kind}); check the internet connection."
    )


def failure(exc: BaseException, what: str) -> ShortsError | None:
    """Any failure of a YouTube call as a sentence; None for what is a bug of ours."""
    status = status_of(exc)
    if status is not None:
        return api_error(status, getattr(exc, "content", None))
    mapped = auth_error(exc)
    if mapped is not None:
        return mapped
    if is_network_error(exc):
        return network_error(exc, what)
    return None
