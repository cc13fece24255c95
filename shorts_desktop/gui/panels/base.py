"""What every panel shares: the services it asks, the runner it works through."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QWidget

if TYPE_CHECKING:
    from shorts_desktop.app import Services
    from shorts_desktop.gui.tasks import TaskRunner


class Panel(QWidget):
    """A page of the main window. Subclasses set `title` and `object_name`."""

    title = ""
    object_name = ""

    def __init__(self, services: Services, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.runner = runner
        self.setObjectName(self.object_name)
        self.setAccessibleName(f"{self.title} panel")

    def set_services(self, services: Services) -> None:
        """Called after the settings changed and the services were rebuilt."""
        self.services = services
        self.refresh()

    def refresh(self) -> None:
        """Reload what the panel shows; runs its queries through the runner."""


def heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("panelHeading")
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.5)
    font.setBold(True)
    label.setFont(font)
    return label
