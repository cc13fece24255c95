"""The Stats panel: cards with what is stored, and QtCharts charts of bytes and uploads.

The figures come from the database (`stats.overview()`); "Include bucket listing" also
lists the bucket in a worker, which shows the hidden bytes of unfinished multipart
uploads that S3 bills but never lists as objects.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QPieSeries,
    QValueAxis,
)
from PySide6.QtCore import QMargins, Qt
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

from shorts_desktop.gui.format import human_size as _human_size
from shorts_desktop.gui.panels.base import Panel, heading

if TYPE_CHECKING:
    from shorts_desktop.app import Services
    from shorts_desktop.gui.tasks import TaskRunner



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


def _plural(n: int, word: str) -> str:
    return f"1 {word}" if n == 1 else f"{n:,} {word}s"


STORAGE_CLASS_WORDS = {
    "STANDARD": "Standard",
    "INTELLIGENT_TIERING": "Intelligent-Tiering",
    "STANDARD_IA": "Standard-IA",
    "ONEZONE_IA": "One Zone-IA",
    "GLACIER_IR": "Glacier IR",
}


def _files(n: int) -> str:
    return _plural(n, "file")


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

    def __init__(self, services: Services, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(services, runner, parent)
        self.overview: dict[str, Any] | None = None
        self._kinds_drawn: list[str] = []  # the pie's slices, by kind, as drawn
        self._loading = False
        self._again = False

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
        layout.addLayout(charts, 1)

    # -- loading ----------------------------------------------------------------------------

    def set_services(self, services: Services) -> None:
        self.bucket_card.set("—", "Not listed yet")
        self.bucket_button.setEnabled(True)
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
                self.note.setText("")
            self.show_overview(overview)
            if self._again:
                self._again = False
                self.refresh()

        def failed(message: str) -> None:
            self._loading = False
            self.bucket_button.setEnabled(True)
            self.note.setText(message)

        self.runner.submit(lambda: stats.overview(include_bucket=include_bucket), done, failed)

    # -- showing ----------------------------------------------------------------------------

    def show_overview(self, overview: dict[str, Any]) -> None:
        if "bucket" not in overview and self.overview and "bucket" in self.overview:
            overview = {**overview, "bucket": self.overview["bucket"]}  # keep the last listing
        self.overview = overview
        uploads = overview["uploads"]
        by_kind = overview["by_kind"]
        self.files_card.set(
            f"{uploads['count']:,}",
            f"{_plural(by_kind['video']['count'], 'video')}, "
            f"{_plural(by_kind['transcript']['count'], 'transcript')}",
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
        self._draw_kinds(overview)
        self._draw_prefixes(overview)
        self._draw_days(overview["uploads_per_day"])

    def _reset(self, chart: QChart, title: str) -> None:
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        chart.setTitle(title)

    def _draw_kinds(self, overview: dict[str, Any]) -> None:
        slices = [(kind, f"{KIND_WORDS.get(kind, kind)} {human_size(figures['bytes'])}",
                   figures["bytes"])
                  for kind, figures in overview["by_kind"].items() if figures["bytes"]]
        drawn = self.kind_chart.series()
        if (slices and len(drawn) == 1 and isinstance(drawn[0], QPieSeries)
                and self._kinds_drawn == [kind for kind, _label, _value in slices]):
            for pie_slice, (_kind, label, value) in zip(drawn[0].slices(), slices,
                                                       strict=True):
                pie_slice.setLabel(label)
                pie_slice.setValue(value)
            return
        self._reset(self.kind_chart, "Bytes by kind")
        series = QPieSeries()
        for _kind, label, value in slices:
            series.append(label, value).setLabelVisible(False)
        self._kinds_drawn = [kind for kind, _label, _value in slices]
        if series.count() == 0:
            self.kind_chart.setTitle("Bytes by kind: nothing stored yet")
        self.kind_chart.addSeries(series)
        self.kind_chart.legend().setVisible(series.count() > 0)

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
        scale, unit = _unit(max([*stored, *hidden, 0]))
        bars = [("Stored", [v / scale for v in stored])]
        if any(hidden):
            bars.append(("Unfinished multipart uploads", [v / scale for v in hidden]))
        top = max([*stored, *hidden, 0]) / scale
        if self._bars_in_place(self.prefix_chart, title, labels, bars, top, unit):
            return
        self._reset(self.prefix_chart, title)
        series = QBarSeries()
        for name, values in bars:
            bar_set = QBarSet(name)
            bar_set.append(values)
            series.append(bar_set)
        self.prefix_chart.addSeries(series)
        self._axes(self.prefix_chart, series, labels, top, unit)
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
        if (not isinstance(x, QBarCategoryAxis) or not isinstance(y, QValueAxis)
                or x.categories() != labels or y.titleText() != unit
                or [b.label() for b in bar_sets] != [name for name, _values in bars]):
            return False
        for bar_set, (_name, values) in zip(bar_sets, bars, strict=True):
            for i, value in enumerate(values):
                if bar_set.at(i) != value:
                    bar_set.replace(i, value)
        _set_range(y, top, whole)
        return True

    def _axes(self, chart: QChart, series: QBarSeries, labels: list[str], top: float,
              unit: str, whole: bool = False) -> QBarCategoryAxis:
        x = QBarCategoryAxis()
        x.append(labels)
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(x)
        y = QValueAxis()
        y.setTitleText(unit)
        _set_range(y, top, whole)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(y)
        return x


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


def _unit(top: float) -> tuple[float, str]:
    """The decimal unit (as human_size uses) that shows `top` as a small number."""
    scale, name = 1.0, "bytes"
    for step, step_name in ((1e3, "KB"), (1e6, "MB"), (1e9, "GB"), (1e12, "TB")):
        if top >= step:
            scale, name = step, step_name
    return scale, name
