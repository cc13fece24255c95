"""The local library: a folder with the bucket's key layout, used when no S3 bucket is set.

Why: the app must be usable before (or without) an S3 bucket, and the services should
not care which one they talk to, so this folder implements the same `Storage` protocol
with the same keys (`temp/<uuid>/<name>`, `videos/<uuid>/<name>`, ...).

On disk, key `a/b/name` is the file `<root>/a/b/name`. Its content type, metadata and
ETag (the MD5 of its bytes) live in a hidden sidecar beside it, `<root>/a/b/.name.meta.json`.
Files in flight are hidden too (`.<name>.<random>.part`) and renamed into place once
complete and checked, so a reader never sees half a file. Because every name that
starts with a dot is ours, keys may not have a path segment that starts with a dot;
`list_objects()` skips such names, and keys that would leave the root (absolute, `..`, drive
letters, backslashes, NUL or control characters, empty segments) are refused with a
UserError. Symlinks that the user places inside the root are followed.

Nothing is created when the module is imported or the class is built: folders are made
when the first file is stored, and empty ones are removed again when their last file is
deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from shorts_desktop.core.errors import ShortsError, StorageError, UserError
from shorts_desktop.core.failures import os_error
from shorts_desktop.core.storage.base import (
    CheckResult,
    FolderListing,
    MultipartInfo,
    ObjectInfo,
    ProgressCallback,
)

if TYPE_CHECKING:
    from shorts_desktop.core.transfers.lane import LaneJob, PutLane

log = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
SIDECAR_SUFFIX = ".meta.json"
TEMP_SUFFIX = ".part"
PRESIGN_REFUSAL = (
    "Share links need an S3 bucket; files in the local library have no web address."
)


def _refuse(key: str) -> UserError:
    """The error for a key that cannot name a file inside the library."""
    return UserError(f"{key!r} is not a valid name for a file in the local library.")


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable where the platform allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # Windows cannot open folders; its renames are durable enough.
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_quietly(path: Path | None) -> None:
    """Delete a leftover file, ignoring every failure."""
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def _open_temp(folder: Path, name: str) -> tuple[Path, io.BufferedWriter]:
    """Create `folder` if needed and a new hidden temporary file in it for `name`."""
    for attempt in range(3):
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name[:100]}.{uuid.uuid4().hex[:12]}{TEMP_SUFFIX}"
        try:
            return tmp, open(tmp, "xb")
        except FileNotFoundError:
            # A concurrent delete pruned the empty folder just made: make it again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _copy_stream(
    src: BinaryIO, dst: io.BufferedWriter, progress: ProgressCallback | None
) -> str:
    """Copy in chunks, report each chunk, fsync; returns the MD5 hex of the bytes."""
    digest = hashlib.md5(usedforsecurity=False)
    while chunk := src.read(CHUNK_SIZE):
        dst.write(chunk)
        digest.update(chunk)
        if progress is not None:
            progress(len(chunk))
    dst.flush()
    os.fsync(dst.fileno())
    return digest.hexdigest()


class LocalStorage:
    """The `Storage` protocol over a folder on this computer."""

    def __init__(self, root: Path) -> None:
        self.backend: str = "local"
        self.bucket: str | None = None
        self.root = Path(os.path.abspath(Path(root).expanduser()))

    def close(self) -> None:
        """Nothing runs in the background here."""

    def warm_up(self) -> None:
        """Nothing to set up: copies need no client."""

    # A copy runs in its caller's thread and stops through its progress callback (the
    # queue's pause and cancel): nothing is sent in the background to reach from here.

    resumable = False

    def sending(self, transfer_id: str) -> bool:
        return False

    def pause_sending(self, transfer_id: str) -> None:
        pass

    def resume_sending(self, transfer_id: str) -> None:
        pass

    def cancel_sending(self, transfer_id: str, wait: float = 0.0) -> None:
        pass

    def set_bandwidth_limit(self, bytes_per_second: int) -> None:
        pass  # a copy on this disk is not limited

    def describe(self) -> str:
        """Where files go, for the status bar and `check`."""
        return f"local library at {self.root}"

    # --- keys and sidecars -------------------------------------------------------------

    def _path(self, key: str) -> Path:
        """The file for `key`; UserError when the key would not stay inside the root."""
        if (
            not key
            or key.startswith("/")
            or ":" in key
            or "\\" in key
            or any(ord(c) < 32 or ord(c) == 127 for c in key)
        ):
            raise _refuse(key)
        parts = key.split("/")
        if any(not part or part.startswith(".") for part in parts):
            raise _refuse(key)
        return self.root.joinpath(*parts)

    @staticmethod
    def _sidecar(path: Path) -> Path:
        return path.with_name(f".{path.name}{SIDECAR_SUFFIX}")

    @staticmethod
    def _read_sidecar(path: Path) -> tuple[str, dict[str, str], str]:
        """The ETag, metadata and content type stored beside `path`; empty when absent."""
        try:
            data = json.loads(LocalStorage._sidecar(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return "", {}, ""
        except (OSError, ValueError) as exc:
            log.warning("Ignoring unreadable metadata beside %s: %s", path, exc)
            return "", {}, ""
        if not isinstance(data, dict):
            return "", {}, ""
        etag = data.get("etag")
        raw = data.get("metadata")
        meta = (
            {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        )
        content_type = data.get("content_type")
        return (
            etag if isinstance(etag, str) else "",
            meta,
            content_type if isinstance(content_type, str) else "",
        )

    def _info(self, key: str, path: Path, st: os.stat_result) -> ObjectInfo:
        etag, meta, content_type = self._read_sidecar(path)
        return ObjectInfo(
            key=key,
            size=st.st_size,
            last_modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
            etag=etag,
            metadata=meta,
            content_type=content_type,
        )

    def _prune(self, folder: Path) -> None:
        """Remove `folder` and its parents while they are empty, stopping at the root."""
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def _existing(self, key: str, action: str) -> Path:
        """The file for `key`, or StorageError when there is none."""
        path = self._path(key)
        if not path.is_file():
            raise StorageError(f"{key} is not in the local library, so it cannot be {action}.")
        return path

    # --- writing -----------------------------------------------------------------------

    def _store(
        self,
        src: BinaryIO,
        key: str,
        *,
        content_type: str,
        metadata: dict[str, str],
        md5_hex: str | None,
        progress: ProgressCallback | None,
        changed: str,
    ) -> str:
        """Write `src` to `key` with its sidecar, atomically; returns the MD5 hex."""
        path = self._path(key)
        sidecar = self._sidecar(path)
        folder = path.parent
        tmp_data: Path | None = None
        tmp_meta: Path | None = None
        placed = False
        try:
            tmp_data, fh = _open_temp(folder, path.name)
            with fh:
                etag = _copy_stream(src, fh, progress)
            if md5_hex is not None and etag != md5_hex.lower():
                raise StorageError(f"{changed} changed while it was being copied; try again.")
            record = {"content_type": content_type, "etag": etag, "metadata": metadata}
            tmp_meta, mh = _open_temp(folder, sidecar.name)
            with mh:
                mh.write(json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8"))
                mh.flush()
                os.fsync(mh.fileno())
            os.replace(tmp_data, path)
            tmp_data, placed = None, True
            os.replace(tmp_meta, sidecar)
            tmp_meta = None
            _fsync_dir(folder)
            return etag
        except BaseException as exc:
            _remove_quietly(tmp_data)
            _remove_quietly(tmp_meta)
            if placed:  # the new bytes are in place but not their metadata: undo both
                _remove_quietly(path)
                _remove_quietly(sidecar)
            self._prune(folder)
            if isinstance(exc, OSError):
                raise os_error(exc, f"store {key} in the local library") from exc
            raise

    def open_put_lane(self, take: Callable[[int], list[LaneJob]],
                      in_flight: int) -> PutLane | None:
        return None  # a local copy is a file copy: nothing to gain from one thread

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
        """Copy a file in; a failure leaves nothing behind. Returns None: the caller hashed
        the file (`sha256`), and the copy is checked against its `md5_hex`.

        A local copy is quick and is not resumed: `transfer_id`, `sha256`, `source`, `notice`
        (which reports restarts), `held` and `control` are unused (`progress` pauses a
        copy).
        """
        self._path(key)  # refuse a bad key before touching the source
        try:
            src = open(path, "rb")  # noqa: SIM115 - closed below
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise UserError(f"The file {path} does not exist any more.") from exc
        except OSError as exc:
            raise os_error(exc, f"read {path}") from exc
        with src:
            self._store(
                src,
                key,
                content_type=content_type,
                metadata=metadata,
                md5_hex=md5_hex,
                progress=progress,
                changed=f"The file {path}",
            )
        return None

    def copy(self, src_key: str, dst_key: str, *, content_type: str,
             metadata: dict[str, str]) -> None:
        """Copy the bytes (never a hard link: the source may be deleted) with new metadata."""
        self._path(dst_key)
        src_path = self._existing(src_key, "copied")
        try:
            src = open(src_path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError as exc:
            raise StorageError(
                f"{src_key} is not in the local library, so it cannot be copied."
            ) from exc
        except OSError as exc:
            raise os_error(exc, f"read {src_key}") from exc
        with src:
            self._store(
                src,
                dst_key,
                content_type=content_type,
                metadata=metadata,
                md5_hex=None,
                progress=None,
                changed=src_key,
            )

    # --- reading -----------------------------------------------------------------------

    def head(self, key: str) -> ObjectInfo | None:
        """Size, time, ETag and metadata of `key`, or None when it is not stored."""
        path = self._path(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise os_error(exc, f"read {key}") from exc
        if not stat.S_ISREG(st.st_mode):
            return None
        return self._info(key, path, st)

    def download_file(self, key: str, dest: Path, progress: ProgressCallback | None = None,
                      sha256: str | None = None) -> None:
        """Save the object at `dest` (written beside it, then renamed into place)."""
        src_path = self._existing(key, "downloaded")
        dest = Path(dest)
        tmp: Path | None = None
        try:
            with open(src_path, "rb") as src:
                tmp, fh = _open_temp(dest.parent, dest.name)
                with fh:
                    _copy_stream(src, fh, progress)
            os.replace(tmp, dest)
            tmp = None
            _fsync_dir(dest.parent)
        except FileNotFoundError as exc:
            if tmp is None and not src_path.exists():
                raise StorageError(
                    f"{key} is not in the local library, so it cannot be downloaded."
                ) from exc
            raise os_error(exc, f"save {dest}") from exc
        except OSError as exc:
            raise os_error(exc, f"save {dest}") from exc
        finally:
            _remove_quietly(tmp)

    def list_objects(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every stored object whose key starts with `prefix`, sorted by key."""
        folder_part, _, _ = prefix.rpartition("/")
        start = self._path(folder_part) if folder_part else self.root
        found: dict[str, Path] = {}

        def fail(exc: OSError) -> None:
            if not isinstance(exc, FileNotFoundError | NotADirectoryError):
                raise os_error(exc, f"list {start}") from exc

        for dirpath, dirnames, filenames in os.walk(start, onerror=fail):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in filenames:
                key = name if rel == "." else f"{rel}/{name}"
                if not key.startswith(prefix) or name.startswith("."):
                    continue
                try:
                    self._path(key)
                except UserError:
                    continue  # a file the user put there whose name no key can have
                found[key] = Path(dirpath) / name
        infos: list[ObjectInfo] = []
        for key in sorted(found):
            try:
                st = found[key].stat()
            except FileNotFoundError:
                continue  # deleted while listing
            except OSError as exc:
                raise os_error(exc, f"read {key}") from exc
            if stat.S_ISREG(st.st_mode):
                infos.append(self._info(key, found[key], st))
        return iter(infos)

    def list_folder(self, prefix: str) -> FolderListing:
        """One level of the library, as S3 lists it with a delimiter: the sub-folders that
        hold at least one object (S3 has no empty folders) and the files right here."""
        folder_part, _, start = prefix.rpartition("/")
        folder = self._path(folder_part) if folder_part else self.root
        base = f"{folder_part}/" if folder_part else ""
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return FolderListing([], [])
        except OSError as exc:
            raise os_error(exc, f"list {folder}") from exc
        folders: list[str] = []
        objects: list[ObjectInfo] = []
        for entry in entries:
            key = base + entry.name
            if entry.name.startswith(".") or not entry.name.startswith(start):
                continue
            try:
                self._path(key)
                st = entry.stat()  # follows a symlink the user placed here
            except UserError:
                continue  # a name no key can have
            except FileNotFoundError:
                continue  # deleted while listing
            except OSError as exc:
                raise os_error(exc, f"read {key}") from exc
            if stat.S_ISDIR(st.st_mode):
                if self._holds_object(Path(entry.path)):
                    folders.append(f"{key}/")
            elif stat.S_ISREG(st.st_mode):
                objects.append(self._info(key, Path(entry.path), st))
        return FolderListing(sorted(folders), sorted(objects, key=lambda o: o.key))

    def _holds_object(self, folder: Path) -> bool:
        """Whether `list_objects` would find a file somewhere under `folder`; stops at the
        first one instead of reading every file's metadata."""
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in filenames:
                if name.startswith("."):
                    continue
                try:
                    self._path(f"{rel}/{name}")
                except UserError:
                    continue
                if os.path.isfile(os.path.join(dirpath, name)):
                    return True
        return False

    def presigned_url(self, key: str, expires: int, download_name: str | None = None) -> str:
        """Refused: the local library has no web address."""
        raise UserError(PRESIGN_REFUSAL)

    def media_source(self, key: str, expires: int) -> str:
        return str(self._existing(key, "read"))

    # --- deleting ----------------------------------------------------------------------

    def set_expire_tag(self, key: str, expire: bool) -> None:
        """Nothing to do: the local library has no lifecycle rules (cleanup-temp decides)."""

    def delete(self, key: str) -> None:
        """Remove `key` and its metadata; a missing key is fine. Empty folders go too."""
        path = self._path(key)
        if path.is_dir():
            return  # a folder is not an object
        for target in (path, self._sidecar(path)):
            try:
                target.unlink()
            except (FileNotFoundError, NotADirectoryError):
                pass
            except OSError as exc:
                raise os_error(exc, f"delete {key}") from exc
        self._prune(path.parent)

    def delete_many(self, keys: list[str]) -> list[str]:
        """Delete each key; returns the keys that could not be deleted."""
        failed: list[str] = []
        for key in keys:
            try:
                self.delete(key)
            except ShortsError as exc:
                log.warning("Could not delete %r from the local library: %s", key, exc)
                failed.append(key)
        return failed

    # --- S3-only features --------------------------------------------------------------

    def list_multipart_uploads(self, prefix: str = "") -> list[MultipartInfo]:
        """None: the local library never has unfinished multipart uploads."""
        return []

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Nothing to abort in the local library."""

    def get_lifecycle_rules(self) -> list[dict[str, object]]:
        """None: the local library does not expire files."""
        return []

    def put_lifecycle_rules(self, rules: list[dict[str, object]]) -> None:
        """Refused: lifecycle rules are an S3 feature."""
        raise UserError(
            "Lifecycle rules are an S3 bucket feature; the local library cannot expire "
            "files by itself."
        )

    # --- check -------------------------------------------------------------------------

    def check(self, probe_prefix: str) -> list[CheckResult]:
        """Folder usable, and a probe file under `probe_prefix` can be written, read, deleted."""
        existed = self.root.is_dir()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            free_gb = shutil.disk_usage(self.root).free / 1e9
        except OSError as exc:
            reason = str(os_error(exc, f"use the folder {self.root}"))
            skipped = "Skipped: the library folder is not usable."
            return [
                CheckResult("folder", False, reason),
                CheckResult("write", False, skipped),
                CheckResult("read", False, skipped),
                CheckResult("delete", False, skipped),
            ]
        state = "exists" if existed else "was created"
        rows = [CheckResult("folder", True, f"{self.root} {state}; {free_gb:.1f} GB free.")]

        key = f"{probe_prefix}shorts-desktop-check-{uuid.uuid4().hex}.txt"
        payload = f"shorts-desktop check {uuid.uuid4()}\n".encode()
        try:
            self._store(
                io.BytesIO(payload),
                key,
                content_type="text/plain",
                metadata={"purpose": "check"},
                md5_hex=hashlib.md5(payload, usedforsecurity=False).hexdigest(),
                progress=None,
                changed="The probe file",
            )
        except ShortsError as exc:
            skipped = "Skipped: the probe file could not be written."
            rows.append(CheckResult("write", False, str(exc)))
            rows.append(CheckResult("read", False, skipped))
            rows.append(CheckResult("delete", False, skipped))
            return rows
        rows.append(CheckResult("write", True, f"Wrote {key}."))

        try:
            back = self._path(key).read_bytes()
        except OSError as exc:
            rows.append(CheckResult("read", False, str(os_error(exc, f"read {key}"))))
        else:
            if back == payload:
                rows.append(CheckResult("read", True, "Read the probe file back intact."))
            else:
                rows.append(CheckResult("read", False, "The probe file came back different."))

        try:
            self.delete(key)
        except ShortsError as exc:
            rows.append(CheckResult("delete", False, str(exc)))
        else:
            if self.head(key) is None:
                rows.append(CheckResult("delete", True, "Removed the probe file."))
            else:
                rows.append(CheckResult("delete", False, "The probe file is still there."))
        return rows
