"""Formatting for the window: the core's units plus local dates, clock times and sizes."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from shorts_desktop.core.units import human_duration, human_rate, human_size

__all__ = ["clock", "human_duration", "human_rate", "human_size", "human_time", "lifetime",
           "resolution", "tilde"]


def human_time(iso: str | None) -> str:
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def clock(seconds: float | None) -> str:
    """A length as a player shows it: 0:07, 1:05, 1:02:03; empty when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return ""
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def lifetime(seconds: int) -> str:
    """How long a link works, in the largest whole unit: 1 hour, 90 minutes, 7 days."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return human_duration(seconds)


def resolution(width: int | None, height: int | None) -> str:
    """A picture's size as 1920×1080; empty when unknown."""
    if not width or not height:
        return ""
    return f"{width}×{height}"


def tilde(text: str) -> str:
    """The user's home folder written as ~ in a path or a sentence, as file managers do."""
    home = str(Path.home())
    if home in ("", os.sep):
        return text
    return text.replace(home + os.sep, "~" + os.sep)
