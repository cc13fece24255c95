"""Worker threads that yield the CPU to the window.

On a busy machine the GUI thread competes with hashing and sending threads; where the OS
allows a per-thread nice value (Linux), workers of an interactive app lower their own
priority so the window is scheduled first. Elsewhere this does nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable


def lower_priority(nice: int) -> Callable[[], None] | None:
    """A thread-pool initializer that makes each worker `nice` steps less urgent."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return None

    def initializer() -> None:
        try:
            current = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, current + nice))
        except OSError:
            pass  # not allowed here: run at normal priority

    return initializer
