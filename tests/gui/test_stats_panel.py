"""The Stats panel: the cards show the right numbers; charts are drawn; bucket listing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCharts import QBarSeries, QPieSeries
from PySide6.QtCore import Qt

from shorts_desktop.core.services.jobs import JobDraft
from shorts_desktop.gui.panels.stats import StatsPanel, human_size

pytestmark = pytest.mark.gui


def test_cards_show_the_right_numbers(
    qtbot: Any, panel_kit: Any, media_files: Callable[..., Path]
) -> None:
    services = panel_kit.services()
    video = panel_kit.upload(services, media_files("a.mp4"), "video")
    kept = panel_kit.upload(services, media_files("b.mp4", b"\x00\x00\x00\x18ftypisom" +
                                                  bytes(10_000)), "video", is_temp=False)
    text = panel_kit.upload(services, media_files("c.txt"), "transcript")
    services.jobs.create(JobDraft(title="One", voice="ash", video_upload_id=video.id,
                                  transcript_upload_id=text.id))
    second = services.jobs.create(JobDraft(title="Two", voice="ash", video_upload_id=kept.id,
                                           transcript_upload_id=text.id))
    services.jobs.cancel(second.id)

    panel = panel_kit.panel(StatsPanel, services)
    panel.refresh()
    total = video.size + kept.size + text.size
    assert panel.files_card.value == "3"
    assert panel.files_card.detail == "2 videos, 1 transcript"
    assert panel.bytes_card.value == human_size(total)
    assert panel.temp_card.value == "2 / 1"
    assert panel.temp_card.detail == (
        f"temporary {human_size(video.size + text.size)}, permanent {human_size(kept.size)}"
    )
    assert panel.jobs_card.value == "2"
    assert panel.jobs_card.detail == "created 1, cancelled 1"

    pie = panel.kind_chart.series()[0]
    assert isinstance(pie, QPieSeries)
    assert pie.count() == 2
    assert pie.sum() == total
    days = panel.days_chart.series()[0]
    assert isinstance(days, QBarSeries)
    counts = days.barSets()[0]
    assert counts.count() == 30
    assert counts.at(29) == 3  # all three today
    assert sum(counts.at(i) for i in range(30)) == 3


def test_an_empty_library_shows_zeroes(panel_kit: Any) -> None:
    panel = panel_kit.panel(StatsPanel)
    panel.refresh()
    assert panel.files_card.value == "0"
    assert panel.jobs_card.detail == "no jobs yet"
    assert "nothing stored yet" in panel.kind_chart.title()


def test_include_bucket_listing_shows_unfinished_multipart_bytes(
    qtbot: Any, panel_kit: Any, gui_s3_bucket: Any, media_files: Callable[..., Path]
) -> None:
    services = panel_kit.services(gui_s3_bucket.env)
    upload = panel_kit.upload(services, media_files("a.mp4"), "video")
    client = gui_s3_bucket.client
    key = "temp/0123456789abcdef0123456789abcdef/big.mp4"
    mp = client.create_multipart_upload(Bucket=gui_s3_bucket.name, Key=key)
    client.upload_part(Bucket=gui_s3_bucket.name, Key=key, UploadId=mp["UploadId"],
                       PartNumber=1, Body=b"x" * 2000)
    panel = panel_kit.panel(StatsPanel, services)
    panel.refresh()
    assert panel.bucket_card.value == "—"
    qtbot.mouseClick(panel.bucket_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.bucket_card.value != "—", timeout=5000)
    assert panel.bucket_card.value == human_size(upload.size + 2000)
    assert "unfinished multipart uploads: 1 (2.0\u00a0KB)" in panel.bucket_card.detail
    assert f"Standard {human_size(upload.size)}" in panel.bucket_card.detail  # per class
    assert "bucket listing" in panel.prefix_chart.title()
    bars = panel.prefix_chart.series()[0]
    assert [b.label() for b in bars.barSets()] == ["Stored", "Unfinished multipart uploads"]
    panel.refresh()  # a later database refresh keeps the last listing
    assert panel.bucket_card.value == human_size(upload.size + 2000)


def test_a_reload_changes_the_bars_in_place(
    qtbot: Any, panel_kit: Any, media_files: Callable[..., Path]
) -> None:
    """While files complete the panel reloads every second: the charts keep their series
    and axes and take the new values, which costs the GUI thread far less than a rebuild."""
    services = panel_kit.services()
    first = panel_kit.upload(services, media_files("a.mp4"), "video")
    panel = panel_kit.panel(StatsPanel, services)
    panel.refresh()
    pie, days, prefixes = (panel.kind_chart.series()[0], panel.days_chart.series()[0],
                           panel.prefix_chart.series()[0])
    assert pie.count() == 1 and days.barSets()[0].at(29) == 1

    second = panel_kit.upload(services, media_files("b.mp4"), "video")
    panel.refresh()
    assert panel.days_chart.series()[0] is days and panel.kind_chart.series()[0] is pie
    assert panel.prefix_chart.series()[0] is prefixes
    assert days.barSets()[0].at(29) == 2
    assert pie.sum() == first.size + second.size
    assert pie.slices()[0].label() == f"Videos {human_size(first.size + second.size)}"

    panel_kit.upload(services, media_files("c.txt"), "transcript")  # a new slice: redrawn
    panel.refresh()
    redrawn = panel.kind_chart.series()[0]
    assert redrawn is not pie and redrawn.count() == 2
