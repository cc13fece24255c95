"""Starting the window: the Qt application, then the main window over the composition root.

It lives outside gui/ and app.py so that neither imports the other at run time: this module
imports both (app.py builds the services, gui/ draws them), and nothing imports it but the
`gui` command.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def run_app(argv: list[str], *, panel: str | None = None,
            screenshot: Path | None = None) -> int:
    """Start the GUI; with `screenshot`, open `panel` at 1280×800, save a PNG and exit."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from shorts_desktop.app import create_main_window
    from shorts_desktop.gui.main_window import apply_color_scheme
    from shorts_desktop.resources import APP_ID, app_icon

    app = QApplication.instance() or QApplication(argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Shorts Desktop")  # the .desktop file's StartupWMClass
    app.setOrganizationName("shorts-desktop")
    app.setWindowIcon(app_icon())
    app.setDesktopFileName(APP_ID)
    apply_color_scheme(app, os.environ.get("SHORTS_DESKTOP_COLOR_SCHEME", ""))
    window: Any = create_main_window()
    window.resize(1280, 800)
    if panel:
        window.show_panel(panel)
    window.show()
    if screenshot is None:
        return int(app.exec())

    def shoot() -> None:
        window.runner.drain()
        window.grab().save(str(screenshot))
        window.close()
        app.quit()

    QTimer.singleShot(1500, shoot)
    app.exec()
    return 0 if screenshot.exists() else 1
