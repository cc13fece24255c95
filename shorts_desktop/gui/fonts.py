"""Fonts for text people type freely: the widget's own font with a colour emoji font behind it."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QFont, QFontDatabase

#: Emoji fonts of Linux, macOS and Windows (colour ones first); the first installed is used.
EMOJI_FAMILIES = ("Noto Color Emoji", "Apple Color Emoji", "Segoe UI Emoji", "Twemoji",
                  "EmojiOne Color", "Symbola")


def emoji_family(installed: Iterable[str] | None = None) -> str | None:
    """The emoji font family among `installed` (the system's font families), or None when
    there is none."""
    known = {family.casefold(): family for family in
             (QFontDatabase.families() if installed is None else installed)}
    for family in EMOJI_FAMILIES:
        found = known.get(family.casefold())
        if found is not None:
            return found
    return None


def with_emoji(font: QFont) -> QFont:
    """`font` with the system's emoji font as a fallback (so 🎬 is a picture, not a box);
    `font` itself when there is none."""
    family = emoji_family()
    if family is None:
        return font
    families = [f for f in font.families() or [font.family()] if f]
    if family in families:
        return font
    out = QFont(font)
    out.setFamilies([*families, family])
    return out
