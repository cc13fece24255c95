"""Where the engine keeps what it needs to resume an upload after a crash.

Only finished parts are written (one small row each), never progress: the database
sees a write per part, not per byte. Before CreateMultipartUpload the store records an
intent (key, time, token) in the same column the upload id later fills, so that a
restart after a lost answer knows an upload may exist under that key and aborts it.
The app's store is `core.db.upload_rows.UploadRows`, the one writer of upload rows.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

# Engine states as the `upload.status` column spells them.
ROW_STATUS = {
    "queued": "queued",
    "running": "uploading",
    "paused": "paused",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
}


@dataclass(frozen=True)
class PartRecord:
    """A part S3 has accepted: its ETag and the checksum we sent with it."""

    number: int
    size: int
    etag: str
    checksum: str | None = None  # base64 CRC32/SHA-256 when that mode is used; hex MD5 else


@dataclass(frozen=True)
class SavedUpload:
    """The resumable state of one multipart upload."""

    multipart_id: str
    source_size: int
    source_mtime_ns: int
    part_size: int
    sha256: str | None
    checksum_mode: str = "md5"
    parts: dict[int, PartRecord] = field(default_factory=dict)


INTENT_MARK = "intent:"  # S3 upload ids never contain ":"; an intent is a JSON object after it


@dataclass(frozen=True)
class Intent:
    """A CreateMultipartUpload that was about to be sent: its answer may never have come."""

    key: str
    started: datetime  # aware, UTC
    token: str

    def encode(self) -> str:
        return INTENT_MARK + json.dumps(
            {"key": self.key, "started": self.started.isoformat(), "token": self.token},
            sort_keys=True,
        )


def parse_intent(value: str | None) -> Intent | None:
    """The intent a `multipart_upload_id` column holds, or None (an id, empty, or garbage)."""
    if not value or not value.startswith(INTENT_MARK):
        return None
    try:
        data = json.loads(value[len(INTENT_MARK):])
        started = datetime.fromisoformat(data["started"])
        return Intent(str(data["key"]), started if started.tzinfo else started.replace(
            tzinfo=UTC), str(data["token"]))
    except (ValueError, KeyError, TypeError):
        return None


class TransferStore(Protocol):
    """Persistence for resumable uploads; implementations must be thread-safe."""

    def resume_point(self, transfer_id: str) -> SavedUpload | Intent | None:
        """What a new run starts from: the multipart upload to go on with, an intent whose
        multipart id never came back, or nothing (one read: every upload asks)."""
        ...

    def begin(self, transfer_id: str, saved: SavedUpload) -> None:
        """A multipart upload was created (parts, if any, are forgotten)."""
        ...

    def add_part(self, transfer_id: str, part: PartRecord, bytes_done: int) -> None: ...

    def intend(self, transfer_id: str, intent: Intent) -> None:
        """A multipart upload is about to be created (saved parts, if any, are forgotten);
        `begin` replaces the intent, `forget` clears it."""
        ...

    def forget(self, transfer_id: str) -> None:
        """The multipart upload is gone (aborted, completed or started over)."""
        ...

    def set_state(
        self, transfer_id: str, state: str, *, error: str | None = None,
        bytes_done: int | None = None, attempts: int | None = None,
    ) -> None: ...

    def complete(self, transfer_id: str, *, sha256: str | None, size: int,
                 parts: bool = True) -> None:
        """The object is stored and verified; `parts` False: it went up in one PUT, so
        there are no parts to forget."""
        ...


class MemoryTransferStore:
    """Keeps state for this process only (tests, and transfers that need no resume)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._saved: dict[str, SavedUpload] = {}
        self._intents: dict[str, Intent] = {}
        self.states: dict[str, tuple[str, str | None]] = {}
        self.checksums: dict[str, str | None] = {}  # the SHA-256 each completion recorded

    def resume_point(self, transfer_id: str) -> SavedUpload | Intent | None:
        with self._lock:
            saved = self._saved.get(transfer_id)
            if saved is None:
                return self._intents.get(transfer_id)
            return replace(saved, parts=dict(saved.parts))

    def begin(self, transfer_id: str, saved: SavedUpload) -> None:
        with self._lock:
            self._intents.pop(transfer_id, None)
            self._saved[transfer_id] = replace(saved, parts=dict(saved.parts))

    def intend(self, transfer_id: str, intent: Intent) -> None:
        with self._lock:
            self._saved.pop(transfer_id, None)
            self._intents[transfer_id] = intent

    def add_part(self, transfer_id: str, part: PartRecord, bytes_done: int) -> None:
        with self._lock:
            saved = self._saved.get(transfer_id)
            if saved is not None:
                saved.parts[part.number] = part

    def forget(self, transfer_id: str) -> None:
        with self._lock:
            self._saved.pop(transfer_id, None)
            self._intents.pop(transfer_id, None)

    def set_state(
        self, transfer_id: str, state: str, *, error: str | None = None,
        bytes_done: int | None = None, attempts: int | None = None,
    ) -> None:
        with self._lock:
            self.states[transfer_id] = (state, error)

    def complete(self, transfer_id: str, *, sha256: str | None, size: int,
                 parts: bool = True) -> None:
        with self._lock:
            self._saved.pop(transfer_id, None)
            self._intents.pop(transfer_id, None)
            self.states[transfer_id] = ("completed", None)
            self.checksums[transfer_id] = sha256


class RoutingStore:
    """Persists transfers that belong to an upload row; keeps one-off ones in memory.

    One-off transfers (ids starting with "put-" or "get-": moving a library file, a
    download) have no row of their own and must never touch another row's status.
    """

    EPHEMERAL_PREFIXES = ("put-", "get-")

    def __init__(self, persistent: TransferStore) -> None:
        self.persistent = persistent
        self.memory = MemoryTransferStore()

    def _for(self, transfer_id: str) -> TransferStore:
        if transfer_id.startswith(self.EPHEMERAL_PREFIXES):
            return self.memory
        return self.persistent

    def resume_point(self, transfer_id: str) -> SavedUpload | Intent | None:
        return self._for(transfer_id).resume_point(transfer_id)

    def begin(self, transfer_id: str, saved: SavedUpload) -> None:
        self._for(transfer_id).begin(transfer_id, saved)

    def add_part(self, transfer_id: str, part: PartRecord, bytes_done: int) -> None:
        self._for(transfer_id).add_part(transfer_id, part, bytes_done)

    def intend(self, transfer_id: str, intent: Intent) -> None:
        self._for(transfer_id).intend(transfer_id, intent)

    def forget(self, transfer_id: str) -> None:
        self._for(transfer_id).forget(transfer_id)

    def set_state(
        self, transfer_id: str, state: str, *, error: str | None = None,
        bytes_done: int | None = None, attempts: int | None = None,
    ) -> None:
        self._for(transfer_id).set_state(
            transfer_id, state, error=error, bytes_done=bytes_done, attempts=attempts
        )

    def complete(self, transfer_id: str, *, sha256: str | None, size: int,
                 parts: bool = True) -> None:
        self._for(transfer_id).complete(transfer_id, sha256=sha256, size=size, parts=parts)
