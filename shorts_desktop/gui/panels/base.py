"""What every panel shares: the services it asks, the runner it works through."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QEnterEvent, QHideEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from shorts_desktop.gui.palette import (
    is_dark,
    ok_color,
    ok_style,
    problem_color,
    problem_style,
    standard_icon,
)

# The palette helpers are re-exported: the panels import them from here.
__all__ = ["ElideRightDelegate", "MessageBanner", "Panel", "heading", "is_dark", "list_table",
           "make_action", "name_clear_button", "ok_color", "ok_style", "problem_color",
           "problem_style", "standard_icon"]

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

    def page_layout(self) -> QVBoxLayout:
        """The panel's own layout, with the margins every panel shares."""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        return layout

    def title_bar(self, name: str, count_says: str, refresh_says: str,
                  refresh_tip: str) -> QHBoxLayout:
        """The heading, a count at the right and Refresh: `count_label` and
        `refresh_button` (object names `{name}Count`, `{name}Refresh`)."""
        top = QHBoxLayout()
        top.addWidget(heading(self.title))
        top.addStretch(1)
        self.count_label = QLabel()
        self.count_label.setObjectName(f"{name}Count")
        self.count_label.setAccessibleName(count_says)
        top.addWidget(self.count_label)
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.setObjectName(f"{name}Refresh")
        self.refresh_button.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_BrowserReload))
        self.refresh_button.setAccessibleName(refresh_says)
        self.refresh_button.setToolTip(refresh_tip)
        self.refresh_button.clicked.connect(self.refresh)
        top.addWidget(self.refresh_button)
        return top

    def set_services(self, services: Services) -> None:
        """Called after the settings changed and the services were rebuilt."""
        self.services = services
        self.refresh()

    def refresh(self) -> None:
        """Reload what the panel shows; runs its queries through the runner."""

    def refresh_soon(self) -> None:
        """What the panel shows changed: reload now if it is on screen. A hidden panel
        reloads when it is shown (the main window does that), so a running queue does not
        make every panel reload for every file."""
        if self.isVisible():
            self.refresh()


def make_action(
    owner: QWidget, text: str, tip: str, slot: Callable[[], None],
    shortcut: QKeySequence.StandardKey | str | None = None,
    icon: QStyle.StandardPixmap | None = None,
    context: Qt.ShortcutContext = Qt.ShortcutContext.WidgetWithChildrenShortcut,
) -> QAction:
    """A button, menu and shortcut action whose tip also goes to the status bar.

    `context` says where its shortcut works: the panel (the default), or only the widget
    the action is added to (so that, say, Delete in a search box stays a text edit).
    """
    action = QAction(text, owner)
    action.setToolTip(tip)
    action.setStatusTip(tip)
    if icon is not None:
        action.setIcon(standard_icon(owner.style(), icon))
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(context)
    action.triggered.connect(slot)
    return action


class MessageBanner(QFrame):
    """A message beside a table (information, a warning or an error) that can be dismissed,
    optionally with one button that does what the message suggests.

    Put it below a table, not above: then its coming and going never moves the rows under
    the pointer. Information without a button goes away by itself after
    `INFO_TIMEOUT_MS` (later while the pointer rests on it); warnings, errors and messages
    that offer a button stay until they are dismissed or replaced.
    """

    #: Emitted when the user dismisses the message.
    dismissed = Signal()

    #: How long a plain information message stays, in milliseconds.
    INFO_TIMEOUT_MS = 8000
    #: While the pointer is on the message, it stays at least this much longer.
    HOVER_GRACE_MS = 2000

    # kind -> (border, background) as "r, g, b"
    COLORS: ClassVar[dict[str, tuple[str, str]]] = {"info": ("40, 120, 220", "40, 120, 220"),
              "warning": ("200, 120, 0", "230, 150, 0"),
              "error": ("200, 40, 40", "200, 40, 40")}

    def __init__(self, object_name: str, accessible_name: str, dismiss_name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setAccessibleName(accessible_name)
        self.label = QLabel()
        self.label.setObjectName(f"{object_name}Text")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss_button = QToolButton()
        self.dismiss_button.setText("Dismiss")
        self.dismiss_button.setAccessibleName(dismiss_name)
        self.dismiss_button.setToolTip("Hide this message")
        self.dismiss_button.clicked.connect(self._dismiss)
        self.action_button = QPushButton()
        self.action_button.setObjectName(f"{object_name}Action")
        self.action_button.clicked.connect(self._act)
        self.action_button.hide()
        self._action: Callable[[], None] | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 6, 6)
        row.addWidget(self.label, 1)
        row.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)
        self.kind = "info"
        self._expiry = QTimer(self)
        self._expiry.setSingleShot(True)
        self._expiry.timeout.connect(self._expire)
        self.hide()

    def show_message(self, text: str, kind: str = "info", action: str | None = None,
                     on_action: Callable[[], None] | None = None, action_tip: str = "") -> None:
        """Show `text`; with `action`, a button of that text that calls `on_action` (and
        hides the message)."""
        self.kind = kind
        self._action = on_action if action else None
        if action:
            self.action_button.setText(action)
            self.action_button.setAccessibleName(action.replace("&", "").rstrip("…"))
            self.action_button.setToolTip(action_tip or action.replace("&", ""))
        self.action_button.setVisible(bool(action))
        border, background = self.COLORS[kind]
        self.setStyleSheet(
            f"#{self.objectName()} {{ border: 1px solid rgba({border}, 0.8); "
            f"border-radius: 6px; background: rgba({background}, 0.12); }}"
        )
        self.label.setText(text)
        self.label.setAccessibleDescription(text)
        self.show()
        if kind == "info" and not action:
            self._expiry.start(self.INFO_TIMEOUT_MS)
        else:
            self._expiry.stop()

    @property
    def expires(self) -> bool:
        """True while the message is set to go away by itself."""
        return self._expiry.isActive()

    def text(self) -> str:
        return self.label.text()

    def hideEvent(self, event: QHideEvent) -> None:
        self._expiry.stop()
        super().hideEvent(event)

    def enterEvent(self, event: QEnterEvent) -> None:
        # Being read: do not take it away now.
        if self._expiry.isActive():
            self._expiry.start(max(self._expiry.remainingTime(), self.HOVER_GRACE_MS))
        super().enterEvent(event)

    def _expire(self) -> None:
        if self.underMouse():
            self._expiry.start(self.HOVER_GRACE_MS)
            return
        self.hide()

    def _dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()

    def _act(self) -> None:
        action = self._action
        self.hide()
        if action is not None:
            action()


class ElideRightDelegate(QStyledItemDelegate):
    """Cells of a column whose long text is cut at its end: a sentence, such as why an
    upload failed, reads from its start (the table elides names in the middle)."""

    def initStyleOption(self, option: QStyleOptionViewItem,
                        index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideRight


def heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("panelHeading")
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.5)
    font.setBold(True)
    label.setFont(font)
    return label


def name_clear_button(edit: QLineEdit) -> None:
    """Give a line edit's clear button (made by setClearButtonEnabled) an accessible name."""
    what = edit.accessibleName() or edit.placeholderText() or "the field"
    for button in edit.findChildren(QToolButton):
        if not button.accessibleName():
            button.setAccessibleName(f"Clear {what}")
            button.setToolTip(f"Clear {what}")


class EmptyHint(QLabel):
    """A sentence over an item view's empty viewport, saying what goes there and how; gone
    while the view has rows. Clicks go through to the view."""

    def __init__(self, view: QAbstractItemView, text: str, name: str,
                 alignment: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter) -> None:
        """`alignment`: top left for a view taller than what is seen of it (in a scroll
        area), where its middle may be out of sight."""
        super().__init__(text, view.viewport())
        self.setObjectName(name)
        self.setAlignment(alignment)
        self.setWordWrap(True)
        self.setEnabled(False)  # the disabled text colour: a note, not content
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._view = view
        view.viewport().installEventFilter(self)
        model = view.model()
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset,
                       model.layoutChanged):
            signal.connect(self._update)
        self._update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.setGeometry(self._view.viewport().rect().adjusted(24, 8, -24, -8))
        return False

    def _update(self, *_args: object) -> None:
        self.setVisible(self._view.model().rowCount() == 0)


def list_table(owner: QWidget, model: QAbstractItemModel, columns: tuple[str, ...],
               stretch: int, samples: dict[int, str], *, row_padding: int = 10,
               margin: int = 36) -> QTableView:
    """A row-selecting, fixed-row-height table: fast at 100,000 rows, Tab leaves it, long
    names elide in the middle, and columns start as wide as a sample of their content."""
    table = QTableView()
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    table.setWordWrap(False)
    table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move within
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    metrics = owner.fontMetrics()
    vertical = table.verticalHeader()
    vertical.hide()
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(metrics.height() + row_padding)
    header = table.horizontalHeader()
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    for column, sample in samples.items():
        width = max(metrics.horizontalAdvance(sample),
                    metrics.horizontalAdvance(columns[column])) + margin
        header.resizeSection(column, width)
    return table
