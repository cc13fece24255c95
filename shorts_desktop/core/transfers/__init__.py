"""Our own transfer engine: bounded threads and buffers, multipart, retries, pause/resume.

Replaces boto3's transfer manager because a desktop user needs what it lacks: pause,
resume across restarts, per-part verification and progress that a GUI can show.
Importing this package starts nothing; threads start on the first transfer.
"""

from shorts_desktop.core.transfers.bandwidth import TokenBucket
from shorts_desktop.core.transfers.engine import (
    DownloadRequest,
    EngineConfig,
    TransferEngine,
    TransferHandle,
    UploadRequest,
)
from shorts_desktop.core.transfers.events import EventKind, TransferEvent
from shorts_desktop.core.transfers.parts import MAX_PARTS, part_size_for
from shorts_desktop.core.transfers.store import (
    MemoryTransferStore,
    PartRecord,
    RoutingStore,
    SavedUpload,
    TransferStore,
)

__all__ = [
    "MAX_PARTS",
    "DownloadRequest",
    "EngineConfig",
    "EventKind",
    "MemoryTransferStore",
    "PartRecord",
    "RoutingStore",
    "SavedUpload",
    "TokenBucket",
    "TransferEngine",
    "TransferEvent",
    "TransferHandle",
    "TransferStore",
    "UploadRequest",
    "part_size_for",
]
