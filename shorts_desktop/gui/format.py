"""Formatting for the window: the core's units plus local dates."""

from __future__ import annotations

from datetime import datetime

from shorts_desktop.core.units import human_duration, human_rate, human_size

__all__ = ["human_duration", "human_rate", "human_size", "human_time"]


def human_time(iso: str | None) -> str:
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
