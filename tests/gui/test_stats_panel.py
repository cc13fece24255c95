"""The Stats panel: the cards show the right numbers; charts are drawn; bucket listing;
files the library does not know, and Sync."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCharts import QBarSeries, QHorizontalStackedBarSeries
from PySide6.QtCore import Qt

from shorts_desktop.core.db.models import Upload
from shorts_desktop.core.services.jobs import JobDraft
from shorts_desktop.gui.panels.stats import StatsPanel, human_size

KIND_GAP = "\u2002"  # between a kind and its size on the axis

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

    bars = panel.kind_chart.series()[0]
    assert isinstance(bars, QHorizontalStackedBarSeries)
    assert [b.label() for b in bars.barSets()] == ["Videos", "Transcripts"]
    (kinds,) = panel.kind_chart.axes(Qt.Orientation.Vertical)
    assert kinds.categories() == [f"Videos{KIND_GAP}{human_size(video.size + kept.size)}",
                                  f"Transcripts{KIND_GAP}{human_size(text.size)}"]
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
    kinds, days, prefixes = (panel.kind_chart.series()[0], panel.days_chart.series()[0],
                             panel.prefix_chart.series()[0])
    assert len(kinds.barSets()) == 1 and days.barSets()[0].at(29) == 1

    second = panel_kit.upload(services, media_files("b.mp4"), "video")
    panel.refresh()
    assert panel.days_chart.series()[0] is days and panel.kind_chart.series()[0] is kinds
    assert panel.prefix_chart.series()[0] is prefixes
    assert days.barSets()[0].at(29) == 2
    (axis,) = panel.kind_chart.axes(Qt.Orientation.Vertical)
    assert axis.categories() == [f"Videos{KIND_GAP}{human_size(first.size + second.size)}"]

    panel_kit.upload(services, media_files("c.txt"), "transcript")  # a new bar: redrawn
    panel.refresh()
    redrawn = panel.kind_chart.series()[0]
    assert redrawn is not kinds and len(redrawn.barSets()) == 2


def colour_pixels(view: Any, colour: Any) -> int:
    """How many pixels of the chart view, as drawn, have exactly `colour`."""
    image = view.grab().toImage()
    rgb = colour.rgb()
    return sum(1 for y in range(image.height()) for x in range(image.width())
               if image.pixel(x, y) == rgb)


def test_transcripts_show_beside_videos_a_thousand_times_their_size(
    qtbot: Any, panel_kit: Any, media_files: Callable[..., Path]
) -> None:
    """On a linear scale (or a pie) a 2 KB transcript beside 2 MB of video is a hair's
    width: the sizes are drawn on a log scale, and each kind has its own colour."""
    services = panel_kit.services()
    video = panel_kit.upload(services, media_files("big.mp4", b"\x00\x00\x00\x18ftypisom"
                                                   + bytes(2_000_000)), "video")
    text = panel_kit.upload(services, media_files("words.txt", b"word " * 400), "transcript")
    assert video.size > 900 * text.size
    panel = panel_kit.panel(StatsPanel, services)
    panel.refresh()
    (bars,) = panel.kind_chart.series()
    videos, transcripts = bars.barSets()
    assert transcripts.at(1) > 0.3 * videos.at(0)  # linear: 0.001
    (scale,) = panel.kind_chart.axes(Qt.Orientation.Horizontal)
    assert {"1 B", "1 KB", "1 MB"} <= set(scale.categoriesLabels())
    assert videos.color() != transcripts.color()
    qtbot.wait(50)
    assert colour_pixels(panel.kind_view, transcripts.color()) > 2000  # a bar, not a hair
    assert colour_pixels(panel.kind_view, videos.color()) > 2000
    assert panel.kind_view.accessibleDescription() == (
        f"Videos{KIND_GAP}{human_size(video.size)}, "
        f"Transcripts{KIND_GAP}{human_size(text.size)}")
    panel.grab().save("/tmp/stats.png")


def test_files_the_library_does_not_know_are_said_and_sync_adds_them(
    qtbot: Any, panel_kit: Any, media_files: Callable[..., Path]
) -> None:
    services = panel_kit.services()
    kept = panel_kit.upload(services, media_files("kept.mp4"), "video")
    lost = panel_kit.upload(services, media_files("lost.mp4"), "video")
    Upload.delete().where(Upload.id == lost.id).execute()  # as with a lost database
    panel = panel_kit.panel(StatsPanel, services)
    panel.refresh()
    assert not panel.unknown_banner.isVisible()  # only a listing can tell
    panel.load_bucket()
    banner = panel.unknown_banner
    assert banner.isVisible()
    assert (f"holds 1 file ({human_size(lost.size)}) that the library does not know"
            in banner.text())
    assert banner.action_button.isVisible() and banner.action_button.text() == "&Sync"
    assert panel.files_card.value == "1"

    with qtbot.waitSignal(panel.synced, timeout=5000):
        qtbot.mouseClick(banner.action_button, Qt.MouseButton.LeftButton)
    assert panel.note.text() == "Sync added 1 file to the library."
    assert not banner.isVisible()  # listed again: nothing unknown any more
    assert panel.files_card.value == "2"
    assert {u.id for u in services.uploads.list()} == {kept.id, lost.id}


def test_a_dismissed_note_about_unknown_files_stays_away_until_the_next_listing(
    panel_kit: Any, media_files: Callable[..., Path]
) -> None:
    services = panel_kit.services()
    lost = panel_kit.upload(services, media_files("lost.mp4"), "video")
    Upload.delete().where(Upload.id == lost.id).execute()
    panel = panel_kit.panel(StatsPanel, services)
    panel.load_bucket()
    assert panel.unknown_banner.isVisible()
    panel.unknown_banner.dismiss_button.click()
    panel.refresh()  # the database figures again (as while uploads complete)
    assert not panel.unknown_banner.isVisible()
    panel.load_bucket()
    assert panel.unknown_banner.isVisible()


def test_a_failed_sync_says_why_and_offers_it_again(
    panel_kit: Any, media_files: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shorts_desktop.core.errors import UserError
    from shorts_desktop.gui.panels import stats as stats_panel

    services = panel_kit.services()
    lost = panel_kit.upload(services, media_files("lost.mp4"), "video")
    Upload.delete().where(Upload.id == lost.id).execute()
    panel = panel_kit.panel(StatsPanel, services)
    panel.load_bucket()

    def refuse(_self: Any) -> Any:
        raise UserError("Access denied to the bucket.")

    monkeypatch.setattr(stats_panel.ReconcileService, "run", refuse)
    panel.unknown_banner.action_button.click()
    assert panel.note.text() == "The library was not synced: Access denied to the bucket."
    assert panel.unknown_banner.isVisible()
