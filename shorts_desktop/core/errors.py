"""The two kinds of failure the user is told about in one sentence.

Anything that is not one of these is a bug: it is logged with its traceback and
shown as "unexpected error, see log".
"""


class ShortsError(Exception):
    """A known condition, worded for the user as one sentence."""

    exit_code = 1


class UserError(ShortsError):
    """Bad input or usage: a file, an id, an option or a setting the user can fix."""

    exit_code = 2


class ConfigError(UserError):
    """A setting has a value the app cannot use."""


class NotFoundError(UserError):
    """An upload or job id that the database does not know."""


class StorageError(ShortsError):
    """The storage or the network refused or failed: access denied, bucket missing, offline."""

    exit_code = 1


class TransferCancelled(ShortsError):
    """The user cancelled a transfer; what it stored so far has been removed."""


class TransferPaused(ShortsError):
    """The user paused a transfer: what it sent is kept, and sending it again continues."""


class TransferInterrupted(ShortsError):
    """The app closed while a transfer ran: its parts are kept for the next start."""


class UploadInterrupted(ShortsError):
    """Ctrl-C during an upload: its parts are kept and `resume` continues it."""

    exit_code = 130
