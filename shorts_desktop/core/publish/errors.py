"""What YouTube and Google's sign-in can go wrong with, each as one sentence for the user.

The classes let a caller tell apart "connect again", "wait for the quota" and "try later,
the upload continues", without parsing the sentences.
"""

from __future__ import annotations

from shorts_desktop.core.errors import ShortsError, UserError

RECONNECT = (
    "The YouTube sign-in has expired or was revoked; connect the account again "
    "(Settings → Connect YouTube account, or `shorts-desktop youtube login`)."
)
QUOTA = (
    "YouTube's daily upload quota for this API project is used up; try again after midnight "
    "Pacific time (quota resets daily)."
)
UPLOAD_LIMIT = (
    "This YouTube channel has reached its upload limit for now; try again in 24 hours."
)
NO_CHANNEL = (
    "This Google account has no YouTube channel yet; create one at youtube.com, then connect "
    "the account again."
)
UNVERIFIED_NOTE = (
    "Google keeps videos uploaded through an unverified API project private until the project "
    "passes an audit."
)


class YouTubeError(ShortsError):
    """YouTube or Google refused or failed; the sentence says which and what to do."""


class ReconnectNeeded(UserError):
    """The stored sign-in no longer works: the user has to connect the account again."""


class QuotaExceeded(YouTubeError):
    """The API project's daily quota is spent; retrying before the reset only fails again."""


class UploadLimitExceeded(YouTubeError):
    """The channel may not upload more for a while."""


class YouTubeUnavailable(YouTubeError):
    """YouTube or the network kept failing; the session is kept, so a retry continues it."""


class UploadCancelled(YouTubeError):
    """The caller asked to stop; the session is kept, so uploading again continues it."""
