"""Known failures of the machine, each turned into one true sentence.

A full or read-only disk, a name too long for the file system, a missing permission, a
damaged or busy database: the CLI, the window and the services all ask here, so that one
condition reads the same everywhere and none is mistaken for another (a full disk is not a
damaged database). What this module does not recognise is a bug, reported as one.

The names of the database's backups live here too, so that the sentence about a damaged
database can name its backup without importing the database layer.
"""

from __future__ import annotations

import errno
import glob
import os
import re
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from shorts_desktop.core.errors import (
    DatabaseDamagedError,
    DiskFullError,
    NameTooLongError,
    NotADatabaseError,
    PermissionDeniedError,
    ReadOnlyError,
    ShortsError,
    StorageError,
)

if TYPE_CHECKING:
    from shorts_desktop.core.config import AppPaths

#: Below this much free space, a database that cannot open or grow is put down to a full disk.
LOW_SPACE_BYTES = 1024 * 1024
SQLITE_HEADER = b"SQLite format 3\x00"
#: The errors of the operating system that `explain` words; any other one is a bug.
KNOWN_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ENAMETOOLONG, errno.EACCES, errno.EPERM,
     errno.EIO}
)

# SQLite's primary result codes (the low byte of an extended code).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 10, 11, 13, 14, 26
#: What SQLite says for each code, for an error that carries no code.
_SQLITE_MESSAGES = {
    "database or disk is full": _SQLITE_FULL,
    "database disk image is malformed": _SQLITE_CORRUPT,
    "attempt to write a readonly database": _SQLITE_READONLY,
    "unable to open database file": _SQLITE_CANTOPEN,
    "file is not a database": _SQLITE_NOTADB,
    "disk i/o error": _SQLITE_IOERR,
    "database is locked": _SQLITE_BUSY,
}


def explain(exc: BaseException, paths: AppPaths | None = None, *,
            database: Path | None = None) -> ShortsError | None:
    """The sentence for `exc` when it is a known condition of the world, else None (a bug).

    `paths` tells the app's own folders (a storage failure, exit 1) from the user's files
    (their input, exit 2) and names the database, unless `database` names another file.
    """
    if isinstance(exc, ShortsError):
        return exc
    if isinstance(exc, OSError) and exc.errno in KNOWN_ERRNOS:
        target = _filename(exc)
        own = () if paths is None else (paths.data_dir, paths.config_dir, paths.log_dir)
        users_file = target is not None and not _inside(target, own)
        return os_error(exc, path=target, users_file=users_file)
    if database is None and paths is not None:
        database = paths.db_path
    return database_error(exc, database)


# -- the operating system ---------------------------------------------------------------------


def os_error(exc: OSError, action: str | None = None, *, path: str | Path | None = None,
             users_file: bool = False) -> ShortsError:
    """One sentence for an operating-system failure while doing `action` (e.g. "save X").

    `path` is where it happened when the error does not say; `users_file`: the path is the
    user's input, so a permission problem is theirs to fix (exit 2), not the storage's.
    """
    target = _filename(exc) or (None if path is None else Path(path))
    could = f": could not {action}" if action else ""
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        first = "The disk is full" if code == errno.ENOSPC else "Your disk quota is used up"
        where = f" (no space left on the disk holding {_show(_folder(target))})" if target else ""
        return DiskFullError(f"{first}{could}{where}; free some space and try again.")
    if code == errno.EROFS:
        if target is None:
            return ReadOnlyError(f"The disk is mounted read-only{could}.")
        so = f", so shorts-desktop could not {action}" if action else ""
        return ReadOnlyError(
            f"The folder {_show(_folder(target))} is read-only (its disk is mounted "
            f"read-only){so}."
        )
    if code == errno.ENAMETOOLONG:
        return NameTooLongError(_too_long(target, could))
    if code in (errno.EACCES, errno.EPERM) or isinstance(exc, PermissionError):
        sentence = _no_permission(target, could)
        return PermissionDeniedError(sentence) if users_file else StorageError(sentence)
    if code == errno.EIO:
        where = f"holding {_show(_folder(target))} " if target else ""
        return StorageError(f"The disk {where}reported an input/output error{could}; it may "
                            "be failing or disconnected.")
    reason = exc.strerror or type(exc).__name__
    if action:
        return StorageError(f"Could not {action}: {reason}.")
    return StorageError(f"{reason} ({_show(target)})." if target else f"{reason}.")


def _filename(exc: OSError) -> Path | None:
    name = exc.filename
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    return Path(name) if isinstance(name, str) and name else None


def _show(path: Path | str | None, limit: int = 160) -> str:
    """A path as the user sees it in a sentence; a very long one keeps its two ends."""
    text = str(path)
    if len(text) <= limit:
        return text
    return f"{text[: limit // 2 - 1]}…{text[-(limit // 2 - 1):]}"


def _folder(path: Path) -> Path:
    """The folder something happened in: `path` if it is a folder, else its parent."""
    return path if _is_dir(path) else path.parent


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # on the way through a folder that cannot be entered, or too long
        return False


def _existing_ancestor(path: Path) -> Path:
    for candidate in (path, *path.parents):
        try:
            if candidate.exists():
                return candidate
        except OSError:
            continue
    return Path(path.anchor or ".")


def _inside(path: Path, folders: Iterable[Path]) -> bool:
    absolute = Path(os.path.abspath(path))
    return any(absolute == f or f in absolute.parents for f in map(Path, folders))


def _too_long(target: Path | None, could: str) -> str:
    if target is None:
        return f"A file name or path is too long for the file system{could}."
    base = _existing_ancestor(target)
    name_max = _pathconf(base, "PC_NAME_MAX", 255)
    longest = max(target.parts, key=lambda part: len(os.fsencode(part)), default="")
    if len(os.fsencode(longest)) > name_max:
        return (f"The name {_show(longest, 60)!r} is too long for the file system "
                f"({len(longest)} characters; it allows {name_max} bytes){could}.")
    path_max = _pathconf(base, "PC_PATH_MAX", 4096)
    return (f"The path {_show(target, 60)} is too long for the file system "
            f"({len(str(target))} characters; it allows {path_max} bytes){could}.")


def _pathconf(path: Path, name: str, default: int) -> int:
    try:
        value = os.pathconf(path, name)
    except (OSError, ValueError, AttributeError):
        return default
    return value if value > 0 else default


def _no_permission(target: Path | None, could: str) -> str:
    """Which permission is missing, checked the way the system checks it: the folders on
    the way first (each must be enterable), then the file itself."""
    if target is None:
        return f"Permission denied{could}."
    absolute = Path(os.path.abspath(target))
    for folder in reversed(absolute.parents):
        if _is_dir(folder) and not os.access(folder, os.X_OK):
            return (f"No permission to open {_show(target)}: the folder {_show(folder)} "
                    f"cannot be entered{could}.")
    if _exists(absolute):
        if not os.access(absolute, os.R_OK):
            return f"No permission to read {_show(target)}{could}."
        if not os.access(absolute, os.W_OK):
            return f"No permission to change {_show(target)}{could}."
    elif _is_dir(absolute.parent) and not os.access(absolute.parent, os.W_OK):
        return f"No permission to create files in the folder {_show(absolute.parent)}{could}."
    return f"Permission denied for {_show(target)}{could}."


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


# -- the database -----------------------------------------------------------------------------


def database_error(exc: BaseException, database: Path | None) -> ShortsError | None:
    """One sentence for an SQLite failure (raw, or wrapped by peewee) of the database at
    `database`, or None when it is not a condition of the world (a bug, a constraint)."""
    error = _sqlite_error(exc)
    if error is None:
        return None
    code = _primary_code(error)
    db = _show(database) if database is not None else "of the app"
    if code == _SQLITE_FULL:
        where = f" (no space left on the disk holding {_show(database.parent)})" if database else ""
        return DiskFullError(f"The disk is full: the database {db} cannot grow{where}; free some "
                             "space and try again (the database itself is unharmed).")
    if code == _SQLITE_CORRUPT:
        return damaged_database(database)
    if code == _SQLITE_NOTADB:
        if database is not None and _looks_like_sqlite(database) is False:
            return NotADatabaseError(
                f"{db} is not an SQLite file, so it is not a shorts-desktop database; it was "
                "left untouched."
            )
        return damaged_database(database)
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StorageError(f"The database {db} is busy: another program (probably another "
                            "shorts-desktop) is writing to it; try again in a moment.")
    if code in (_SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_IOERR, _SQLITE_PERM):
        found = _unusable_folder(database) if database is not None else None
        if found is not None:
            return found
        if code == _SQLITE_IOERR:
            return StorageError(f"The disk holding the database {db} reported an input/output "
                                "error; it may be failing or disconnected.")
        verb = "opened" if code == _SQLITE_CANTOPEN else "written"
        return StorageError(f"The database {db} cannot be {verb} "
                            f"({getattr(error, 'sqlite_errorname', str(error))}).")
    return None


def _sqlite_error(exc: BaseException) -> sqlite3.Error | None:
    """The SQLite error itself: peewee re-raises it as its own class while handling it (so
    it is the context), or, in older versions, with it as the first argument."""
    if isinstance(exc, sqlite3.Error):
        return exc
    if not type(exc).__module__.startswith(("peewee", "playhouse")):
        return None
    if exc.args and isinstance(exc.args[0], sqlite3.Error):
        return exc.args[0]
    return exc.__context__ if isinstance(exc.__context__, sqlite3.Error) else None


def _primary_code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    return _SQLITE_MESSAGES.get(str(error).strip().lower())


def _looks_like_sqlite(path: Path) -> bool | None:
    """Whether the file starts like an SQLite database; None when it cannot be read."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError:
        return None
    return head == SQLITE_HEADER or head == b""  # an empty file is a new database


def _unusable_folder(database: Path) -> ShortsError | None:
    """Why SQLite cannot open or write `database` there: a read-only disk, a full one, or
    a missing permission; None when the folder looks fine."""
    folder = _existing_ancestor(database.parent)
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):
        stats = None
    if stats is not None and stats.f_flag & os.ST_RDONLY:
        return ReadOnlyError(
            f"The folder {_show(folder)} is read-only (its disk is mounted read-only), so "
            f"shorts-desktop cannot use its database {_show(database)} there (SQLite writes "
            "beside it even to read it)."
        )
    if stats is not None and stats.f_bavail * stats.f_frsize < LOW_SPACE_BYTES:
        free = stats.f_bavail * stats.f_frsize
        left = (f"only {free // 1024} KiB are free on the disk holding {_show(folder)}, too "
                "little" if free >= 1024 else
                f"no space is left on the disk holding {_show(folder)}, none")
        return DiskFullError(f"The disk is full: {left} for the database {_show(database)}; "
                             "free some space and try again.")
    for blocked in reversed((folder, *folder.parents)):
        if _is_dir(blocked) and not os.access(blocked, os.X_OK):
            return StorageError(f"No permission to enter the folder {_show(blocked)}, which "
                                f"holds the database {_show(database)}.")
    if not os.access(folder, os.W_OK):
        return StorageError(f"No permission to create files in the folder {_show(folder)}, "
                            f"which the database {_show(database)} needs.")
    if _exists(database) and not os.access(database, os.R_OK | os.W_OK):
        return StorageError(f"No permission to read and change the database {_show(database)}.")
    return None


def damaged_database(database: Path | None) -> DatabaseDamagedError:
    """The sentence for a database with damaged pages: where, and how to get back to a
    working one without deleting anything."""
    if database is None:
        return DatabaseDamagedError("The app's database is damaged; quit shorts-desktop and "
                                    "keep the file: it is not deleted.")
    db = _show(database)
    page = first_damaged_page(database)
    at = f" at page {page}" if page is not None else ""
    aside = (f"quit shorts-desktop, move {db} and its -wal and -shm files aside (keep them)")
    backups = database_backups(database)
    if backups:
        newest = backups[0]
        when = newest.made.strftime("%Y-%m-%d %H:%M")
        return DatabaseDamagedError(
            f"The database {db} is damaged{at}; its newest backup is {_show(newest.path)}, "
            f"made on {when} before an upgrade: to restore it, {aside}, copy the backup to "
            f"{db} and start again (what was recorded after {when} is not in it; "
            "`shorts-desktop sync` adds back the uploads that are in storage)."
        )
    return DatabaseDamagedError(
        f"The database {db} is damaged{at} and there is no backup of it (one is made only "
        f"before an upgrade): {aside} and run `shorts-desktop sync`, which rebuilds the list "
        "of uploads from storage (jobs are not kept in storage)."
    )


def first_damaged_page(database: Path) -> int | None:
    """The first page SQLite's own check reports as damaged, when it names one. The check
    can trip over the damage itself when asked for many findings, so it is asked for fewer."""
    try:
        uri = f"{database.resolve().as_uri()}?mode=ro"
    except (OSError, ValueError):
        return None
    for findings in (10, 1):
        try:
            with closing(sqlite3.connect(uri, uri=True, timeout=1)) as conn:
                rows = conn.execute(f"PRAGMA quick_check({findings})").fetchall()
        except sqlite3.Error:
            continue
        for (line,) in rows:
            found = re.search(r"\bpage (\d+)", str(line), re.IGNORECASE)
            if found:
                return int(found.group(1))
        return None
    return None


# -- backups of the database ------------------------------------------------------------------

_BACKUP_STAMP = "%Y%m%d-%H%M%S"
_BACKUP_SUFFIX = re.compile(r"\.v(\d+)-(\d{8}-\d{6})(?:-\d+)?\.bak")


@dataclass(frozen=True)
class DatabaseBackup:
    path: Path
    version: int  # the schema version it holds
    made: datetime


def new_backup_path(database: Path, version: int, now: datetime | None = None) -> Path:
    """A free name beside `database` for its copy before a migration from `version`."""
    stamp = (now or datetime.now()).strftime(_BACKUP_STAMP)
    target = database.with_name(f"{database.name}.v{version}-{stamp}.bak")
    counter = 1
    while target.exists():
        target = database.with_name(f"{database.name}.v{version}-{stamp}-{counter}.bak")
        counter += 1
    return target


def database_backups(database: Path) -> list[DatabaseBackup]:
    """The copies `migrate` made of `database` before upgrading it, newest first."""
    try:
        candidates = [Path(p) for p in glob.glob(
            os.path.join(glob.escape(str(database.parent)), f"{glob.escape(database.name)}.v*.bak")
        )]
    except OSError:
        return []
    found = []
    for path in candidates:
        match = _BACKUP_SUFFIX.fullmatch(path.name[len(database.name):])
        if match is None or not path.is_file():
            continue
        made = datetime.strptime(match.group(2), _BACKUP_STAMP)
        found.append(DatabaseBackup(path, int(match.group(1)), made))
    return sorted(found, key=lambda b: (b.made, b.path.name), reverse=True)
