"""The storage interface the services use, and the plain records it returns."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from shorts_desktop.core.transfers.lane import LaneJob, PutLane

ProgressCallback = Callable[[int], None]
"""Called with the number of bytes just transferred (a delta, not a total)."""

#: Seconds between two looks of a running put at `control()` (what another process asked).
CONTROL_POLL = 0.5

#: The object tag the bucket's temp lifecycle rule matches: `yes` on a temporary upload
#: no unfinished job needs, anything else (`no`) while one does.
EXPIRE_TAG = "shorts-desktop-expire"
EXPIRE_TAGGING = f"{EXPIRE_TAG}=yes"


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    last_modified: datetime  # aware, UTC
    etag: str = ""
    storage_class: str = "STANDARD"
    metadata: dict[str, str] = field(default_factory=dict)
    content_type: str = ""  # filled by head(), not by listings


@dataclass(frozen=True)
class FolderListing:
    """One level of the bucket under a prefix, as `aws s3 ls` shows it: the next "folders"
    (common prefixes, each ending in "/") and the objects directly under the prefix."""

    folders: list[str]
    objects: list[ObjectInfo]


@dataclass(frozen=True)
class MultipartInfo:
    """An incomplete multipart upload: its parts take space until it is aborted."""

    key: str
    upload_id: str
    initiated: datetime  # aware, UTC
    size: int = 0


@dataclass(frozen=True)
class CheckResult:
    """One line of `shorts-desktop check`: a capability and whether it works. A warning
    passes (`ok`) but tells of something the creator may want to fix."""

    name: str
    ok: bool
    detail: str
    warning: bool = False


class Storage(Protocol):
    """An object store with the layout of keys.py; S3 and the local library implement it."""

    @property
    def backend(self) -> str:
        """ "s3" or "local"."""
        ...

    @property
    def bucket(self) -> str | None: ...

    def describe(self) -> str:
        """Where files go, for the status bar and `check`."""
        ...

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
        """Store a file; returns its SHA-256 (hex) when the backend computed it in the read
        that sent it (S3: the caller need not read the file first), else None. A failure
        leaves nothing behind; an interrupted S3 upload keeps its parts under
        `transfer_id` (the upload's id) so that it can be resumed.
        `held()`, asked once the transfer is submitted, pauses it when true: a pause that
        came while the caller was handing it over still holds. `control()`, asked about
        twice a second while it runs, may answer "pause" or "cancel": what another process
        (`shorts-desktop pause ID`) asked for. `source`: the (size, mtime_ns) of the
        caller's stat of the file, made just before; a backend that checks the file before
        it reads it may take that instead of a stat of its own."""
        ...

    def open_put_lane(self, take: Callable[[int], list[LaneJob]],
                      in_flight: int) -> PutLane | None:
        """A lane that sends the small files `take(n)` hands it from one thread
        (transfers/lane.py), or None where puts have no lane (the local library)."""
        ...

    # -- the puts this process is sending (what the queue and `pause ID` reach) -----------

    @property
    def takes_hashes(self) -> bool:
        """A put given the file's SHA-256 does not hash the file itself (S3); a local copy
        hashes what it writes whatever it is given."""
        ...

    @property
    def resumable(self) -> bool:
        """An interrupted put keeps what it sent (S3's parts) and goes on from there; a
        local copy starts again."""
        ...

    def sending(self, transfer_id: str) -> bool:
        """Whether this process is sending that put now (paused included)."""
        ...

    def pause_sending(self, transfer_id: str) -> None:
        """Hold the put; what it sent is kept. Nothing happens when it is not being sent."""
        ...

    def resume_sending(self, transfer_id: str) -> None: ...

    def cancel_sending(self, transfer_id: str, wait: float = 0.0) -> None:
        """Stop the put and throw away what it sent; waits up to `wait` s for it to end."""
        ...

    def set_bandwidth_limit(self, bytes_per_second: int) -> None:
        """Applies to the puts and downloads running now, and to the next ones."""
        ...

    def close(self) -> None:
        """Stop background work; unfinished uploads keep what they sent."""
        ...

    def warm_up(self, *, for_puts: bool = False) -> None:
        """Do the one-time set-up (clients, engine) now, off the GUI thread, so that the
        first upload does not pay for it while the window is busy. `for_puts`: only what
        sending files needs (the engine), first: what an upload command waits for."""
        ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def copy(self, src_key: str, dst_key: str, *, content_type: str,
             metadata: dict[str, str]) -> None:
        """Server-side copy with new metadata."""
        ...

    def delete(self, key: str) -> None: ...

    def set_expire_tag(self, key: str, expire: bool) -> None:
        """Let the bucket's lifecycle rule expire the object (`expire`) or keep it from
        doing so while a job needs it; a store without lifecycle rules does nothing."""
        ...

    def delete_many(self, keys: list[str]) -> list[str]:
        """Delete keys in batches; returns the keys that could not be deleted."""
        ...

    def list_objects(self, prefix: str) -> Iterator[ObjectInfo]: ...

    def list_folder(self, prefix: str) -> FolderListing:
        """One level under `prefix` ("" or ending in "/"), split at the next "/", sorted."""
        ...

    def presigned_url(self, key: str, expires: int, download_name: str | None = None) -> str:
        """A time-limited GET link; `download_name` is what a browser saves it as."""
        ...

    def download_file(self, key: str, dest: Path, progress: ProgressCallback | None = None,
                      sha256: str | None = None) -> None:
        """Save the object at `dest` (written beside it, then renamed into place)."""
        ...

    def media_source(self, key: str, expires: int) -> str:
        """Where ffmpeg can read the object without a copy on this disk: a short-lived link,
        or the library's own file."""
        ...

    def list_multipart_uploads(self, prefix: str = "") -> list[MultipartInfo]: ...

    def abort_multipart(self, key: str, upload_id: str) -> None: ...

    def check(self, probe_prefix: str) -> list[CheckResult]:
        """Validate credentials, bucket, region and each needed permission."""
        ...

    def get_lifecycle_rules(self) -> list[dict[str, object]]: ...

    def put_lifecycle_rules(self, rules: list[dict[str, object]]) -> None: ...
