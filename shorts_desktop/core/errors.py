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


class TargetExistsError(UserError):
    """A download would replace a file; the CLI names its --force, the window asks."""


class ConfigError(UserError):
    """A setting has a value the app cannot use."""


class NotFoundError(UserError):
    """An upload or job id that the database does not know."""


class SourceFileChanged(UserError):
    """The user's file was removed, grew, shrank or was rewritten while it was uploaded."""


class StorageError(ShortsError):
    """The storage or the network refused or failed: access denied, bucket missing, offline."""

    exit_code = 1


class DiskFullError(StorageError):
    """No space left (or the quota used up) on a disk the app must write to."""


class ReadOnlyError(StorageError):
    """A folder the app must write to is on a disk mounted read-only."""


class NameTooLongError(UserError):
    """A file name or a path longer than the file system allows."""


class PermissionDeniedError(UserError):
    """The user's account may not read a file of theirs, or enter a folder on its way."""


class DatabaseDamagedError(StorageError):
    """The database is an SQLite file, but some of its pages cannot be read."""


class NotADatabaseError(UserError):
    """The file where the database should be is not an SQLite database at all."""


class TransferCancelled(ShortsError):
    """The user cancelled a transfer; what it stored so far has been removed."""


class TransferPaused(ShortsError):
    """The user paused a transfer: what it sent is kept, and sending it again continues."""


class TransferInterrupted(ShortsError):
    """The app closed while a transfer ran: its parts are kept for the next start."""


class UploadInterrupted(ShortsError):
    """Ctrl-C during an upload: its parts are kept and `resume` continues it."""

    exit_code = 130
