"""The Stats panel: cards with what is stored, and QtCharts charts of bytes and uploads.

The figures come from the database (`stats.overview()`); "Include bucket listing" also
lists the bucket in a worker, which shows the hidden bytes of unfinished multipart
uploads that S3 bills but never lists as objects, and the files there that the library
does not know (with a Sync that brings them in).

Sizes are drawn on a log scale: a transcript is a few kilobytes next to videos of
hundreds of megabytes, and on a linear scale it would not show at all.
"""

from __future__ import annotations

import html
import math
from datetime import date
from typing import TYPE_CHECKING, Any

from PySide6.QtCharts import (
    QAbstractBarSeries,
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QCategoryAxis,
    QChart,
    QChartView,
    QHorizontalStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import QMargins, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from shorts_desktop.core.services.reconcile import ReconcileReport, ReconcileService
from shorts_desktop.core.units import plural
from shorts_desktop.gui.format import human_size as _human_size
from shorts_desktop.gui.panels.base import MessageBanner, Panel, heading

if TYPE_CHECKING:
    from shorts_desktop.app import Services
    from shorts_desktop.gui.tasks import TaskRunner


#: The log axis of sizes: a labelled line every factor of 1000, from 1 byte up.
LOG_TICKS = ((0, "1 B"), (3, "1 KB"), (6, "1 MB"), (9, "1 GB"), (12, "1 TB"), (15, "1 PB"))
LOG_UNIT = "size, log scale"
#: The shortest bar a size gets, as a share of the axis: a 1-byte file still shows.
MIN_BAR = 0.02


def human_size(n: float) -> str:
    """A size that never wraps between number and unit."""
    return _human_size(n).replace(" ", "\u00a0")


KIND_WORDS = {"video": "Videos", "transcript": "Transcripts"}


class Card(QFrame):
    """A titled figure with a line of detail under it."""

    def __init__(self, name: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.title_label = QLabel(title)
        self.value_label = QLabel("—")
        self.value_label.setObjectName(f"{name}Value")
        font = self.value_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.value_label.setFont(font)
        self.detail_label = QLabel(" ")
        self.detail_label.setObjectName(f"{name}Detail")
        self.detail_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title_label)
        layout.addWidget(self.value_label)
        layout.addWidget(self.detail_label)
        layout.addStretch(1)
        self._title = title
        self.setAccessibleName(title)

    def set(self, value: str, detail: str = " ") -> None:
        self.value_label.setText(value)
        self.detail_label.setText(detail or " ")
        self.setAccessibleDescription(f"{self._title}: {value}. {detail}".strip())
        self.setToolTip(f"{value}\n{detail}".strip())

    @property
    def value(self) -> str:
        return self.value_label.text()

    @property
    def detail(self) -> str:
        return self.detail_label.text()



STORAGE_CLASS_WORDS = {
    "STANDARD": "Standard",
    "INTELLIGENT_TIERING": "Intelligent-Tiering",
    "STANDARD_IA": "Standard-IA",
    "ONEZONE_IA": "One Zone-IA",
    "GLACIER_IR": "Glacier IR",
}


def _files(n: int) -> str:
    return plural(n, "file")


def _chart_view(name: str, accessible: str) -> tuple[QChart, QChartView]:
    chart = QChart()
    chart.setMargins(QMargins(4, 4, 4, 4))
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    view = QChartView(chart)
    view.setObjectName(name)
    view.setAccessibleName(accessible)
    view.setRenderHint(QPainter.RenderHint.Antialiasing)
    view.setMinimumHeight(220)
    return chart, view


class StatsPanel(Panel):
    """What is stored, in cards and charts."""

    title = "Stats"
    object_name = "statsPanel"

    #: A sync changed the library (the library, jobs and cleanup panels reload).
    synced = Signal()

    def __init__(self, services: Services, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(services, runner, parent)
        self.overview: dict[str, Any] | None = None
        self._loading = False
        self._again = False
        self._syncing = False
        #: What the last sync did, said again once the listing after it is shown.
        self._sync_result = ""

        self.files_card = Card("filesCard", "Files")
        self.bytes_card = Card("bytesCard", "Stored")
        self.temp_card = Card("tempCard", "Temporary vs permanent")
        self.jobs_card = Card("jobsCard", "Jobs")
        self.bucket_card = Card("bucketCard", "In the bucket")
        self.bucket_card.set("—", "Not listed yet")

        self.bucket_button = QPushButton("Include &bucket listing")
        self.bucket_button.setObjectName("includeBucket")
        self.bucket_button.setAccessibleName("Include bucket listing")
        self.bucket_button.setToolTip(
            "List the bucket itself, including the hidden parts of unfinished multipart "
            "uploads (may take a while for large buckets)"
        )
        self.bucket_button.clicked.connect(self.load_bucket)
        self.refresh_button = QPushButton("&Reload")
        self.refresh_button.setObjectName("refreshStats")
        self.refresh_button.setAccessibleName("Refresh statistics")
        self.refresh_button.setToolTip("Read the figures again")
        self.refresh_button.clicked.connect(self.refresh)
        self.note = QLabel()
        self.note.setObjectName("statsNote")
        self.note.setWordWrap(True)
        self.unknown_banner = MessageBanner(
            "unknownFiles", "Files the library does not know",
            "Dismiss the note about files the library does not know")

        self.kind_chart, self.kind_view = _chart_view("bytesByKindChart", "Bytes by kind")
        self.prefix_chart, self.prefix_view = _chart_view("bytesByPrefixChart",
                                                          "Bytes by prefix")
        self.days_chart, self.days_view = _chart_view("uploadsPerDayChart",
                                                      "Uploads per day, last 30 days")

        top = QHBoxLayout()
        top.addWidget(heading(self.title))
        top.addStretch(1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.bucket_button)
        cards = QHBoxLayout()
        for card in (self.files_card, self.bytes_card, self.temp_card, self.jobs_card,
                     self.bucket_card):
            cards.addWidget(card)
        charts = QGridLayout()
        charts.addWidget(self.kind_view, 0, 0)
        charts.addWidget(self.prefix_view, 0, 1)
        charts.addWidget(self.days_view, 1, 0, 1, 2)
        charts.setRowStretch(0, 1)
        charts.setRowStretch(1, 1)
        layout = self.page_layout()
        layout.addLayout(top)
        layout.addLayout(cards)
        layout.addWidget(self.note)
        layout.addWidget(self.unknown_banner)
        layout.addLayout(charts, 1)

    # -- loading ----------------------------------------------------------------------------

    def set_services(self, services: Services) -> None:
        self.bucket_card.set("—", "Not listed yet")
        self.bucket_button.setEnabled(True)
        self.unknown_banner.hide()
        if self.overview is not None:
            self.overview.pop("bucket", None)  # that listing was of the other storage
        super().set_services(services)

    def refresh(self) -> None:
        """Reload the database figures in a worker."""
        self._load(include_bucket=False)

    def load_bucket(self) -> None:
        """Also list the bucket (or the local library) in a worker."""
        self.bucket_button.setEnabled(False)
        self.note.setText(f"Listing {self.services.storage.describe()}…")
        self._load(include_bucket=True)

    def _load(self, include_bucket: bool) -> None:
        if self._loading and not include_bucket:
            self._again = True
            return
        self._loading = True
        stats = self.services.stats

        def done(overview: dict[str, Any]) -> None:
            self._loading = False
            self.bucket_button.setEnabled(True)
            if include_bucket:
                self.note.setText(self._sync_result)
                self._sync_result = ""
            self.show_overview(overview)
            if self._again:
                self._again = False
                self.refresh()

        def failed(message: str) -> None:
            self._loading = False
            self.bucket_button.setEnabled(True)
            self.note.setText(message)

        self.runner.submit(lambda: stats.overview(include_bucket=include_bucket), done, failed)

    # -- sync -------------------------------------------------------------------------------

    def sync(self) -> None:
        """Bring the files the library does not know into it (ReconcileService, in a worker),
        then list the bucket again."""
        if self._syncing:
            return
        self._syncing = True
        services = self.services
        self.unknown_banner.hide()
        self.note.setText(f"Syncing the library with {services.storage.describe()}…")

        def done(report: ReconcileReport) -> None:
            self._syncing = False
            self._sync_result = sync_summary(report)
            self.note.setText(self._sync_result)
            if report.added or report.missing or report.moved:
                self.synced.emit()
            self.load_bucket()  # list again: the cards and the note say what is there now

        def failed(message: str) -> None:
            self._syncing = False
            self.note.setText(f"The library was not synced: {message}")
            self._show_unknown(self.overview.get("bucket") if self.overview else None)

        self.runner.submit(lambda: ReconcileService(services.settings, services.storage).run(),
                           done, failed)

    # -- showing ----------------------------------------------------------------------------

    def show_overview(self, overview: dict[str, Any]) -> None:
        listed = "bucket" in overview  # a new listing (not the one kept from before)
        if "bucket" not in overview and self.overview and "bucket" in self.overview:
            overview = {**overview, "bucket": self.overview["bucket"]}  # keep the last listing
        self.overview = overview
        uploads = overview["uploads"]
        by_kind = overview["by_kind"]
        self.files_card.set(
            f"{uploads['count']:,}",
            f"{plural(by_kind['video']['count'], 'video')}, "
            f"{plural(by_kind['transcript']['count'], 'transcript')}",
        )
        self.bytes_card.set(
            human_size(uploads["bytes"]),
            f"videos {human_size(by_kind['video']['bytes'])}, transcripts "
            f"{human_size(by_kind['transcript']['bytes'])}",
        )
        temp, permanent = overview["temp"], overview["permanent"]
        self.temp_card.set(
            f"{temp['count']:,} / {permanent['count']:,}",
            f"temporary {human_size(temp['bytes'])}, permanent {human_size(permanent['bytes'])}",
        )
        jobs = overview["jobs_by_status"]
        self.jobs_card.set(
            f"{sum(jobs.values()):,}",
            ", ".join(f"{status} {n}" for status, n in jobs.items() if n) or "no jobs yet",
        )
        bucket = overview.get("bucket")
        if bucket is not None:
            prefixes = bucket["prefixes"].values()
            count = sum(p["count"] for p in prefixes)
            pending = sum(p["incomplete_multipart"]["count"] for p in prefixes)
            pending_bytes = sum(p["incomplete_multipart"]["bytes"] for p in prefixes)
            classes = ", ".join(
                f"{STORAGE_CLASS_WORDS.get(name, name)} {human_size(size)}"
                for name, size in sorted(bucket.get("bytes_by_storage_class", {}).items())
            )
            self.bucket_card.set(
                human_size(bucket["total_bytes"]),
                f"{_files(count)}; unfinished multipart uploads: {pending} "
                f"({human_size(pending_bytes)})" + (f"\n{classes}" if classes else ""),
            )
        if listed:
            self._show_unknown(bucket)  # a dismissed note stays away until the next listing
        self._draw_kinds(overview)
        self._draw_prefixes(overview)
        self._draw_days(overview["uploads_per_day"])

    def _show_unknown(self, bucket: dict[str, Any] | None) -> None:
        """Say when the bucket holds files the library does not know, and offer Sync."""
        unknown = bucket.get("unknown") if bucket is not None else None
        ours = unknown["ours"] if unknown else {"count": 0, "bytes": 0}
        if not ours["count"] or self._syncing:
            self.unknown_banner.hide()
            return
        where = "bucket" if self.services.storage.backend == "s3" else "library folder"
        n = ours["count"]
        text = (f"The {where} holds {_files(n)} ({human_size(ours['bytes'])}) that the "
                f"library does not know, uploaded from another computer or before the "
                f"database was lost. Sync adds {'it' if n == 1 else 'them'} to the library.")
        other = unknown["other"]["count"] if unknown else 0
        if other:
            text += (f" {plural(other, 'other object')} there "
                     f"{'was' if other == 1 else 'were'} not uploaded by this app and "
                     "stay as they are.")
        self.unknown_banner.show_message(
            text, "info", "&Sync", self.sync,
            "Add the files the library does not know to it (reads their metadata)")

    def _reset(self, chart: QChart, title: str) -> None:
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        chart.setTitle(title)

    def _draw_kinds(self, overview: dict[str, Any]) -> None:
        """One bar per kind on a log scale, its size beside its name."""
        kinds = [(kind, int(figures["bytes"])) for kind, figures in overview["by_kind"].items()
                 if figures["bytes"]]
        labels = [f"{KIND_WORDS.get(kind, kind)}\u2002{human_size(size)}" for kind, size in kinds]
        self.kind_view.setAccessibleDescription(", ".join(labels) or "Nothing stored yet")
        if not kinds:
            self._reset(self.kind_chart, "Bytes by kind: nothing stored yet")
            return
        title = "Bytes by kind"
        top = _log_top(max(size for _kind, size in kinds))
        values = [_log_bar(size, top) for _kind, size in kinds]
        series = self.kind_chart.series()
        ys = self.kind_chart.axes(Qt.Orientation.Vertical)
        xs = self.kind_chart.axes(Qt.Orientation.Horizontal)
        if (self.kind_chart.title() == title and len(series) == 1 and len(ys) == 1
                and len(xs) == 1 and isinstance(series[0], QHorizontalStackedBarSeries)
                and isinstance(ys[0], QBarCategoryAxis) and isinstance(xs[0], QCategoryAxis)
                and [b.objectName() for b in series[0].barSets()] == [k for k, _s in kinds]
                and xs[0].max() == top):
            for i, bar_set in enumerate(series[0].barSets()):
                if bar_set.at(i) != values[i]:
                    bar_set.replace(i, values[i])
            if ys[0].categories() != labels:
                ys[0].setCategories(labels)
            return
        self._reset(self.kind_chart, title)
        bars = QHorizontalStackedBarSeries()
        bars.setBarWidth(0.6)
        for i, (kind, _size) in enumerate(kinds):
            # One set per kind, empty in the other rows: each kind keeps its own colour.
            bar_set = QBarSet(KIND_WORDS.get(kind, kind))
            bar_set.setObjectName(kind)
            bar_set.append([values[i] if j == i else 0.0 for j in range(len(kinds))])
            bars.append(bar_set)
        self.kind_chart.addSeries(bars)
        y = QBarCategoryAxis()
        y.append(labels)
        self.kind_chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        bars.attachAxis(y)
        x = _log_axis(top)
        self.kind_chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        bars.attachAxis(x)
        self.kind_chart.legend().setVisible(False)  # the names and sizes are on the axis

    def _draw_prefixes(self, overview: dict[str, Any]) -> None:
        bucket = overview.get("bucket")
        if bucket is not None:
            names = list(bucket["prefixes"])
            stored = [bucket["prefixes"][n]["bytes"] for n in names]
            hidden = [bucket["prefixes"][n]["incomplete_multipart"]["bytes"] for n in names]
            labels = [bucket["prefixes"][n]["prefix"] for n in names]
            title = "Bytes by prefix (bucket listing)"
        else:
            s = self.services.settings
            labels = [f"temporary ({s.temp_prefix})", "permanent"]
            stored = [overview["temp"]["bytes"], overview["permanent"]["bytes"]]
            hidden = []
            title = "Bytes by prefix (from the database)"
        top = _log_top(max([*stored, *hidden, 0]))
        bars = [("Stored", [_log_bar(v, top) for v in stored])]
        if any(hidden):
            bars.append(("Unfinished multipart uploads", [_log_bar(v, top) for v in hidden]))
        sizes = [human_size(v) for v in stored]
        self.prefix_view.setAccessibleDescription(
            ", ".join(f"{label} {size}" for label, size in zip(labels, sizes, strict=True)))
        # Axis labels are rich text: the line break is <br>, a prefix's own text is escaped.
        labels = [f"{html.escape(label)}<br>{size}"
                  for label, size in zip(labels, sizes, strict=True)]
        if self._bars_in_place(self.prefix_chart, title, labels, bars, top, LOG_UNIT):
            return
        self._reset(self.prefix_chart, title)
        series = QBarSeries()
        for name, values in bars:
            bar_set = QBarSet(name)
            bar_set.append(values)
            series.append(bar_set)
        self.prefix_chart.addSeries(series)
        self._axes(self.prefix_chart, series, labels, top, LOG_UNIT)
        self.prefix_chart.legend().setVisible(len(series.barSets()) > 1)

    def _draw_days(self, days: list[dict[str, Any]]) -> None:
        title = "Uploads per day, last 30 days"
        labels = [date.fromisoformat(d["date"]).strftime("%b %d") for d in days]
        values = [float(d["count"]) for d in days]
        top = max([d["count"] for d in days] + [0])
        if self._bars_in_place(self.days_chart, title, labels, [("Uploads", values)], top,
                               "uploads", whole=True):
            return
        self._reset(self.days_chart, title)
        series = QBarSeries()
        counts = QBarSet("Uploads")
        counts.append(values)
        series.append(counts)
        self.days_chart.addSeries(series)
        x = self._axes(self.days_chart, series, labels, top, "uploads", whole=True)
        x.setLabelsAngle(-90)
        self.days_chart.legend().setVisible(False)

    def _bars_in_place(self, chart: QChart, title: str, labels: list[str],
                       bars: list[tuple[str, list[float]]], top: float, unit: str,
                       whole: bool = False) -> bool:
        """Give the bars already drawn their new values, when only the values changed.

        Rebuilding a chart's series and axes takes tens of milliseconds of the GUI
        thread; while files complete the panel reloads every second.
        """
        series = chart.series()
        xs = chart.axes(Qt.Orientation.Horizontal)
        ys = chart.axes(Qt.Orientation.Vertical)
        if (chart.title() != title or len(series) != 1 or not isinstance(series[0], QBarSeries)
                or len(xs) != 1 or len(ys) != 1):
            return False
        x, y = xs[0], ys[0]
        bar_sets = series[0].barSets()
        log = unit == LOG_UNIT
        if (not isinstance(x, QBarCategoryAxis) or not isinstance(y, QValueAxis)
                or isinstance(y, QCategoryAxis) != log
                or len(x.categories()) != len(labels) or y.titleText() != unit
                or (log and y.max() != top)
                or [b.label() for b in bar_sets] != [name for name, _values in bars]):
            return False
        for bar_set, (_name, values) in zip(bar_sets, bars, strict=True):
            for i, value in enumerate(values):
                if bar_set.at(i) != value:
                    bar_set.replace(i, value)
        if x.categories() != labels:
            x.setCategories(labels)
        if not log:
            _set_range(y, top, whole)
        return True

    def _axes(self, chart: QChart, series: QAbstractBarSeries, labels: list[str], top: float,
              unit: str, whole: bool = False) -> QBarCategoryAxis:
        x = QBarCategoryAxis()
        x.append(labels)
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(x)
        if unit == LOG_UNIT:
            y: QValueAxis = _log_axis(int(top))
        else:
            y = QValueAxis()
            _set_range(y, top, whole)
        y.setTitleText(unit)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(y)
        return x


def sync_summary(report: ReconcileReport) -> str:
    """What a sync did, in one sentence."""
    added = len(report.added)
    parts = [f"Sync added {_files(added)} to the library" if added
             else "Sync found nothing to add to the library"]
    if report.missing:
        n = len(report.missing)
        parts.append(f"{_files(n)} no longer there {'is' if n == 1 else 'are'} "
                     "marked missing")
    if report.foreign:
        n = len(report.foreign)
        parts.append(f"{plural(n, 'object')} not uploaded by this app "
                     f"{'was' if n == 1 else 'were'} left alone")
    return "; ".join(parts) + "."


def _log_top(top_bytes: float) -> int:
    """The end of the log axis: the next labelled line (a power of 1000) above `top_bytes`."""
    return 3 * (int(_log_bytes(top_bytes)) // 3 + 1)


def _log_bytes(n: float) -> float:
    """Where `n` bytes sit on the log axis, which starts at 1 byte."""
    return math.log10(n) if n > 1 else 0.0


def _log_bar(n: float, top: int) -> float:
    """The bar of `n` bytes: its place on the log axis, never shorter than a sliver, so
    that something stored always shows (its label gives the real size)."""
    if n <= 0:
        return 0.0
    return max(_log_bytes(n), top * MIN_BAR)


def _log_axis(top: int) -> QCategoryAxis:
    """A value axis from 1 byte to 10**top bytes, labelled 1 B, 1 KB, 1 MB..."""
    axis = QCategoryAxis()
    axis.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
    axis.setStartValue(0)
    axis.setRange(0, top)
    for value, label in LOG_TICKS:
        if value <= top:
            axis.append(label, value)
    return axis


def _set_range(y: QValueAxis, top: float, whole: bool) -> None:
    """A value axis from 0 to a round number above `top` (whole numbers for counts)."""
    if whole:
        high = max(int(top), 1)
        if high > 5:
            high = -(-high // 5) * 5
        y.setRange(0, high)
        y.setTickCount(min(high, 5) + 1)
        y.setLabelFormat("%d")
    else:
        y.setRange(0, max(top, 1.0))
        y.applyNiceNumbers()
        y.setLabelFormat("%.3g")
