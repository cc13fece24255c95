"""The local library: a folder with the bucket's key layout, used when no S3 bucket is set.

Why: the app must be usable before (or without) an S3 bucket, and the services should
not care which one they talk to, so this folder implements the same `Storage` protocol
with the same keys (`temp/<uuid>/<name>`, `videos/<uuid>/<name>`, ...).

On disk, key `a/b/name` is the file `<root>/a/b/name`. Its content type, metadata and
ETag (the SHA-256 of its bytes, hex; sidecars written before 2026-12 hold their MD5) live in
a hidden sidecar beside it, `<root>/a/b/.name.meta.json`.
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
import errno
import hashlib
import io
import json
import logging
import os
import shutil
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shorts_desktop.core.errors import (
    ShortsError,
    StorageError,
    TransferCancelled,
    TransferPaused,
    UserError,
)
from shorts_desktop.core.failures import os_error
from shorts_desktop.core.storage.base import (
    CONTROL_POLL,
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
HASH_BESIDE_MIN = 8 * CHUNK_SIZE  # larger files are hashed by a thread beside their copy
SIDECAR_SUFFIX = ".meta.json"
TEMP_SUFFIX = ".part"
PAUSED = "The copy is paused; resuming starts it again."
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


# copy_file_range refuses files it cannot copy between (other file systems on older
# kernels, some network and FUSE file systems): the bytes then pass through this process.
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM,
                   errno.ETXTBSY}


class _Hasher(threading.Thread):
    """Reads `size` bytes of a file from its start into `digests`, beside the copy."""

    def __init__(self, fd: int, size: int, digests: Sequence[Any]) -> None:
        super().__init__(name="shorts-desktop-hash", daemon=True)
        self._fd = fd
        self._size = size
        self._digests = digests
        self.stopped = False
        self.hashed = 0
        self.error: OSError | None = None

    def run(self) -> None:
        buffer = bytearray(CHUNK_SIZE)  # one buffer: fresh memory per chunk costs faults
        view = memoryview(buffer)
        try:
            with io.FileIO(os.dup(self._fd), "rb") as file:  # its own offset, from 0
                while self.hashed < self._size and not self.stopped:
                    count = file.readinto(view[:min(CHUNK_SIZE, self._size - self.hashed)])
                    if not count:
                        return
                    for digest in self._digests:
                        digest.update(view[:count])
                    self.hashed += count
        except OSError as exc:
            self.error = exc


def _copy_file(src: int, dst: int, size: int, progress: ProgressCallback | None,
               digests: Sequence[Any]) -> int:
    """Copy the first `size` bytes of `src` into `dst` (descriptors) and feed them to
    `digests`; returns how many were copied (fewer: the file became shorter).

    The kernel copies them (copy_file_range: the bytes do not pass through this process)
    while a helper thread reads them, from the page cache, into the digests: on two cores
    the two overlap (`bench_upload.py --servers local`, a 1 GiB video through the
    window's queue against cp and rclone: tests/benchmarks/RESULTS.md); a file of a few
    chunks is hashed here, after its copy (a thread would cost more than it saves).
    Stopping (an exception from `progress`: pause, cancel) stops both."""
    hasher = _Hasher(src, size, digests)
    beside = size > HASH_BESIDE_MIN
    if beside:
        hasher.start()
    copied = 0
    kernel = hasattr(os, "copy_file_range")
    try:
        while copied < size:
            count = min(CHUNK_SIZE, size - copied)
            done = -1
            if kernel:
                try:
                    done = os.copy_file_range(src, dst, count, copied, copied)
                except OSError as exc:
                    if exc.errno not in _NO_KERNEL_COPY or copied:
                        raise
                    kernel = False
                if done == 0:  # the end of the file, or a file system that copies nothing
                    kernel, done = False, -1  # (some kernels, for some): read() says which
            if done < 0:  # through this process
                chunk = memoryview(os.pread(src, count, copied))
                done = len(chunk)
                written = 0
                while written < done:
                    written += os.pwrite(dst, chunk[written:], copied + written)
            if not done:
                break
            copied += done
            if progress is not None:
                progress(done)
    finally:
        if copied < size:
            hasher.stopped = True
        if beside:
            hasher.join()
    if not beside:
        hasher.run()
    if hasher.error is not None:
        raise hasher.error
    return min(copied, hasher.hashed)


def _filler(src: int, size: int, progress: ProgressCallback | None
            ) -> Callable[[io.BufferedWriter, Sequence[Any]], bool]:
    """A `_store` fill that copies the first `size` bytes of the open file `src`."""
    return lambda file, digests: _copy_file(src, file.fileno(), size, progress, digests) == size


class _Copies:
    """The puts this process is copying in, by transfer id, and what was asked of each
    ("pause", "cancel"): what the queue's pause and cancel reach, as the engine's are for
    S3. A pause ends the copy (it starts again on resume: a local copy is not resumed)."""

    def __init__(self) -> None:
        self._asked: dict[str, str | None] = {}
        self._changed = threading.Condition()

    def __contains__(self, transfer_id: str) -> bool:
        with self._changed:
            return transfer_id in self._asked

    @contextlib.contextmanager
    def running(self, transfer_id: str) -> Iterator[None]:
        with self._changed:
            self._asked[transfer_id] = None
        try:
            yield
        finally:
            with self._changed:
                self._asked.pop(transfer_id, None)
                self._changed.notify_all()

    def ask(self, transfer_id: str, wanted: str | None) -> None:
        """Ask a running copy to pause or cancel (None: go on); a cancel is not undone."""
        with self._changed:
            if transfer_id in self._asked and self._asked[transfer_id] != "cancel":
                self._asked[transfer_id] = wanted

    def asked(self, transfer_id: str) -> str | None:
        with self._changed:
            return self._asked.get(transfer_id)

    def wait_ended(self, transfer_id: str, timeout: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: transfer_id not in self._asked, timeout)


class LocalStorage:
    """The `Storage` protocol over a folder on this computer."""

    def __init__(self, root: Path) -> None:
        self.backend: str = "local"
        self.bucket: str | None = None
        self.root = Path(os.path.abspath(Path(root).expanduser()))
        self._copies = _Copies()

    def close(self) -> None:
        """Nothing runs in the background here."""

    def warm_up(self, *, for_puts: bool = False) -> None:
        """Nothing to set up: copies need no client."""

    # A copy runs in its caller's thread; pause and cancel reach it between chunks.

    resumable = False
    takes_hashes = False

    def sending(self, transfer_id: str) -> bool:
        return transfer_id in self._copies

    def pause_sending(self, transfer_id: str) -> None:
        self._copies.ask(transfer_id, "pause")

    def resume_sending(self, transfer_id: str) -> None:
        self._copies.ask(transfer_id, None)  # a pause the copy has not reached yet

    def cancel_sending(self, transfer_id: str, wait: float = 0.0) -> None:
        self._copies.ask(transfer_id, "cancel")
        if wait > 0:
            self._copies.wait_ended(transfer_id, wait)

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
        fill: Callable[[io.BufferedWriter, Sequence[Any]], bool],
        key: str,
        *,
        content_type: str,
        metadata: dict[str, str],
        changed: str,
        sha256: str | None = None,
        md5_hex: str | None = None,
        unchanged: Callable[[], bool] | None = None,
    ) -> str:
        """Write `key` with its sidecar, atomically; returns the SHA-256 (hex) of its bytes.

        `fill(file, digests)` writes the bytes into the new file and feeds them to
        `digests`; False: it could not write them all (the source became shorter). The
        file is refused (StorageError, nothing left) when its bytes are not the `sha256`
        / `md5_hex` expected, or when `unchanged()` says the source changed meanwhile."""
        path = self._path(key)
        sidecar = self._sidecar(path)
        folder = path.parent
        tmp_data: Path | None = None
        tmp_meta: Path | None = None
        placed = False
        try:
            tmp_data, fh = _open_temp(folder, path.name)
            sha = hashlib.sha256()
            md5 = hashlib.md5(usedforsecurity=False) if md5_hex and not sha256 else None
            with fh:
                whole = fill(fh, [sha, *([md5] if md5 is not None else [])])
                fh.flush()
                os.fsync(fh.fileno())
            digest = sha.hexdigest()
            if (not whole or (sha256 is not None and digest != sha256.lower())
                    or (md5 is not None and md5.hexdigest() != str(md5_hex).lower())
                    or (unchanged is not None and not unchanged())):
                raise StorageError(f"{changed} changed while it was being copied; try again.")
            record = {"content_type": content_type, "etag": digest,
                      "metadata": {**metadata, "sha256": metadata.get("sha256", digest)}}
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
            return digest
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
        """Copy a file in, in one read that also hashes it; returns its SHA-256 (hex). A
        failure leaves nothing behind. Checked against `sha256` or `md5_hex` when the
        caller knows them, and against `source` (or a stat made here): a file that
        changed while it was copied is refused.

        Paused (`pause_sending`, `held()`, `control()` answering "pause") or cancelled, a
        copy stops between chunks and leaves nothing; a paused one starts again when sent
        again. `notice` is unused: a copy is never restarted on its own.
        """
        self._path(key)  # refuse a bad key before touching the source
        ident = transfer_id or f"put-{uuid.uuid4()}"
        if held is not None and held():
            raise TransferPaused(PAUSED)
        try:
            src = open(path, "rb")  # noqa: SIM115 - closed below
            st = os.fstat(src.fileno())
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise UserError(f"The file {path} does not exist any more.") from exc
        except OSError as exc:
            raise os_error(exc, f"read {path}") from exc
        before = source if source is not None else (st.st_size, st.st_mtime_ns)
        polled = time.monotonic()

        def step(delta: int) -> None:
            nonlocal polled
            wanted = self._copies.asked(ident)
            if wanted is None and control is not None and time.monotonic() - polled >= CONTROL_POLL:
                polled = time.monotonic()
                wanted = control()
            if wanted == "cancel":
                raise TransferCancelled("The upload was cancelled.")
            if wanted == "pause":
                raise TransferPaused(PAUSED)
            if progress is not None:
                progress(delta)

        def unchanged() -> bool:
            try:
                now = os.stat(path)
            except OSError:  # moved or deleted meanwhile
                return False
            return (now.st_size, now.st_mtime_ns) == before

        with src, self._copies.running(ident):
            if held is not None and held():  # paused while it was being handed over
                raise TransferPaused(PAUSED)
            return self._store(
                _filler(src.fileno(), st.st_size, step),
                key,
                content_type=content_type,
                metadata=metadata,
                changed=f"The file {path}",
                sha256=sha256,
                md5_hex=md5_hex,
                unchanged=unchanged,
            )

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
            self._store(_filler(src.fileno(), os.fstat(src.fileno()).st_size, None), dst_key,
                        content_type=content_type, metadata=metadata, changed=src_key)

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
                digest = hashlib.sha256()
                with fh:
                    size = os.fstat(src.fileno()).st_size
                    whole = _copy_file(src.fileno(), fh.fileno(), size, progress, [digest])
                    os.fsync(fh.fileno())
            if whole != size or (sha256 is not None and digest.hexdigest() != sha256.lower()):
                raise StorageError(f"The copy of {key} in the local library does not match "
                                   "its checksum; nothing was saved.")
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
            def fill(file: io.BufferedWriter, digests: Sequence[Any]) -> bool:
                file.write(payload)
                for digest in digests:
                    digest.update(payload)
                return True

            self._store(fill, key, content_type="text/plain", metadata={"purpose": "check"},
                        sha256=hashlib.sha256(payload).hexdigest(), changed="The probe file")
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
