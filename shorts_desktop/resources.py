"""Finds the top-level `resources/` folder from a source checkout or inside a PyInstaller bundle.

Nothing happens at import time. Qt is imported only by `app_icon()`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

APP_ID = "shorts-desktop"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
_MARKER = Path("icons") / f"{APP_ID}.svg"


def candidate_dirs() -> list[Path]:
    """Where `resources/` may be, most specific first."""
    found: list[Path] = []
    bundle = getattr(sys, "_MEIPASS", None)  # a PyInstaller bundle (its _internal folder)
    if bundle:
        found.append(Path(bundle) / "resources")
    # A source checkout or an editable install: resources/ sits beside the package.
    found.append(Path(__file__).resolve().parent.parent / "resources")
    return found


def find_resources_dir() -> Path | None:
    """The resources folder, or None when this installation has none (e.g. a plain wheel)."""
    for folder in candidate_dirs():
        if (folder / _MARKER).is_file():
            return folder
    return None


def resources_dir() -> Path:
    folder = find_resources_dir()
    if folder is None:
        tried = ", ".join(str(p) for p in candidate_dirs())
        raise FileNotFoundError(f"The app's resources folder was not found (looked in {tried}).")
    return folder


def resource_path(*parts: str) -> Path:
    """A file under resources/ (which must exist)."""
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"The resource {'/'.join(parts)} is missing from {path.parent}.")
    return path


def icon_files() -> list[Path]:
    """The app icon's files that exist: the SVG first, then the PNGs from small to large."""
    folder = find_resources_dir()
    if folder is None:
        return []
    icons = folder / "icons"
    files = [icons / f"{APP_ID}.svg"] + [icons / f"{APP_ID}-{s}.png" for s in ICON_SIZES]
    return [f for f in files if f.is_file()]


def app_icon() -> Any:
    """The app icon as a QIcon (every PNG size plus the SVG); a null QIcon if none is found.

    Call only after a QGuiApplication exists.
    """
    from PySide6.QtGui import QIcon

    icon = QIcon()
    for path in icon_files():
        icon.addFile(str(path))
    return icon
