"""Formatting for the window: the core's units plus local dates."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from shorts_desktop.core.units import human_duration, human_rate, human_size

__all__ = ["human_duration", "human_rate", "human_size", "human_time", "tilde"]


def human_time(iso: str | None) -> str:
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def tilde(text: str) -> str:
    """The user's home folder written as ~ in a path or a sentence, as file managers do."""
    home = str(Path.home())
    if home in ("", os.sep):
        return text
    return text.replace(home + os.sep, "~" + os.sep)
