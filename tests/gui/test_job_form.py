"""The Jobs form and list as a creator reads them: pictures, lengths and first words in the
pickers, same-named files told apart, privacy and inputs in the list, no error before the
user tried, emoji in titles."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFocusEvent, QFont
from PySide6.QtWidgets import QApplication

from shorts_desktop.core.services.jobs import JobDraft
from shorts_desktop.gui import fonts
from shorts_desktop.gui.format import clock, human_time
from shorts_desktop.gui.models.jobs_table import COLUMNS, INPUTS, PRIVACY, TITLE
from shorts_desktop.gui.panels.base import problem_style
from shorts_desktop.gui.panels.jobs import JobsPanel
from tests.media_gen import small_clip

pytestmark = pytest.mark.gui


@pytest.fixture
def services(panel_kit: Any) -> Any:
    """Services whose new jobs stay `created`."""
    return panel_kit.services({**os.environ, "SHORTS_DESKTOP_AUTO_PROCESS": "false"})


def _panel(panel_kit: Any, services: Any) -> JobsPanel:
    panel: JobsPanel = panel_kit.panel(JobsPanel, services)
    panel.refresh()
    return panel


def _texts(picker: Any) -> list[str]:
    return [picker.itemText(i) for i in range(picker.count())]


def _row(panel: JobsPanel, title: str) -> int:
    return next(r for r in range(panel.jobs_model.rowCount())
                if panel.jobs_model.job(r)["title"] == title)


# -- the pickers --------------------------------------------------------------------------------


def test_a_video_entry_shows_its_picture_and_length(
    panel_kit: Any, services: Any, tmp_path: Path,
) -> None:
    video = panel_kit.upload(services, small_clip(tmp_path / "beach.mp4", duration=3.0),
                             "video")
    assert video.thumbnail and video.duration  # probed at upload
    panel = _panel(panel_kit, services)
    picker = panel.form.video_picker
    assert picker.count() == 1
    text = picker.itemText(0)
    assert text.startswith("beach.mp4 · ")
    assert clock(video.duration) == "0:03"
    assert text.startswith("beach.mp4 · 0:03 · ")
    assert human_time(video.to_dict()["completed_at"]) in text
    icon = picker.itemIcon(0)
    assert not icon.isNull()
    shown = icon.pixmap(picker.iconSize()).toImage()
    assert shown != picker.thumbnails.placeholder("video").toImage()  # the real picture
    assert "640×360" in picker.itemData(0, Qt.ItemDataRole.ToolTipRole)


def test_a_transcript_entry_shows_its_first_words(
    panel_kit: Any, services: Any, media_files: Callable[..., Path],
) -> None:
    words = "One two three four five six seven eight nine ten eleven twelve.\n"
    panel_kit.upload(services, media_files("long.txt", words.encode()), "transcript")
    srt = ("1\n00:00:00,500 --> 00:00:02,000\n<i>Welcome back</i> [Music]\n\n"
           "2\n00:00:02,000 --> 00:00:03,000\nto the channel!\n")
    panel_kit.upload(services, media_files("cues.srt", srt.encode()), "transcript")
    gone = media_files("gone.txt", b"Read from storage, not from the disk.\n")
    panel_kit.upload(services, gone, "transcript")
    gone.unlink()  # no local copy left: the words come from storage
    panel = _panel(panel_kit, services)
    texts = _texts(panel.form.transcript_picker)
    by_name = {t.split(" · ")[0]: t for t in texts}
    assert "“One two three four five six seven eight nine ten…”" in by_name["long.txt"]
    assert "“Welcome back to the channel!”" in by_name["cues.srt"]  # said words, no timings
    assert "“Read from storage, not from the disk.”" in by_name["gone.txt"]
    for row in range(panel.form.transcript_picker.count()):
        assert not panel.form.transcript_picker.itemIcon(row).isNull()  # lined up with videos


def test_the_first_words_are_read_once(
    panel_kit: Any, services: Any, media_files: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    panel_kit.upload(services, media_files("words.txt"), "transcript")
    read: list[str] = []
    original = services.jobs.transcript_opening

    def counting(upload_id: str, *args: Any) -> str:
        read.append(upload_id)
        return str(original(upload_id, *args))

    monkeypatch.setattr(services.jobs, "transcript_opening", counting)
    panel = _panel(panel_kit, services)
    panel.refresh()
    assert len(read) == 1
    assert "“Hello from words.txt. A second line of transcript.”" in \
        panel.form.transcript_picker.itemText(0)


def test_same_named_uploads_are_told_apart_by_date_and_short_id(
    panel_kit: Any, services: Any, media_files: Callable[..., Path],
) -> None:
    first = services.uploads.upload_file(media_files("a.mp4"), "video", original_name="take.mp4")
    second = services.uploads.upload_file(media_files("b.mp4"), "video",
                                          original_name="take.mp4")
    other = panel_kit.upload(services, media_files("other.mp4"), "video")
    panel = _panel(panel_kit, services)
    picker = panel.form.video_picker
    texts = {picker.itemData(i): picker.itemText(i) for i in range(picker.count())}
    assert texts[first.id] != texts[second.id]
    for upload in (first, second):
        assert texts[upload.id].startswith("take.mp4 · ")
        assert upload.id[:8] in texts[upload.id]
        assert human_time(upload.to_dict()["completed_at"]) in texts[upload.id]
    assert other.id[:8] not in texts[other.id]  # a name of its own needs no id
    assert human_time(other.to_dict()["completed_at"]) in texts[other.id]


# -- the list -----------------------------------------------------------------------------------


def test_the_list_shows_privacy_and_inputs(
    qtbot: Any, panel_kit: Any, services: Any, media_files: Callable[..., Path],
) -> None:
    video = panel_kit.upload(services, media_files("clip.mp4"), "video")
    transcript = panel_kit.upload(services, media_files("words.txt"), "transcript")
    spare = panel_kit.upload(services, media_files("spare.txt"), "transcript")
    for title, privacy, words in (("Shown to all", "public", transcript),
                                  ("By link", "unlisted", spare)):
        services.jobs.create(JobDraft(title=title, voice="nova", privacy=privacy,
                                      video_upload_id=video.id,
                                      transcript_upload_id=words.id))
    panel = _panel(panel_kit, services)
    model = panel.jobs_model
    assert "Privacy" in COLUMNS and "Inputs" in COLUMNS
    assert model.headerData(PRIVACY, Qt.Orientation.Horizontal) == "Privacy"
    public, unlisted = _row(panel, "Shown to all"), _row(panel, "By link")
    assert model.index(public, PRIVACY).data() == "Public"
    assert model.index(unlisted, PRIVACY).data() == "Unlisted"
    assert model.index(public, INPUTS).data() == "clip.mp4\nwords.txt"
    assert model.index(unlisted, INPUTS).data() == "clip.mp4\nspare.txt"
    assert video.id in model.index(public, INPUTS).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(public, INPUTS).data(Qt.ItemDataRole.AccessibleTextRole) == (
        "Video clip.mp4, transcript words.txt")
    assert "Public" not in (model.index(public, TITLE).data() or "")

    # A job made from the form (one row read on its own) names its inputs too.
    panel.form.title_edit.setText("From the form")
    panel.form.voice_combo.setCurrentIndex(0)
    panel.form.privacy_combo.setCurrentIndex(panel.form.privacy_combo.findData("unlisted"))
    panel.form.video_picker.setCurrentIndex(panel.form.video_picker.findData(video.id))
    panel.form.transcript_picker.setCurrentIndex(panel.form.transcript_picker.findData(spare.id))
    qtbot.mouseClick(panel.form.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: model.rowCount() == 3, timeout=3000)
    made = _row(panel, "From the form")
    assert model.index(made, INPUTS).data() == "clip.mp4\nspare.txt"
    assert model.index(made, PRIVACY).data() == "Unlisted"

    # An input deleted once its job was cancelled is named as gone.
    by_link = next(j for j in services.jobs.list() if j.title == "By link")
    services.jobs.cancel(by_link.id)
    made_job = next(j for j in services.jobs.list() if j.title == "From the form")
    services.jobs.cancel(made_job.id)
    services.uploads.delete(spare.id)
    panel.refresh()
    assert model.index(_row(panel, "By link"), INPUTS).data() == (
        "clip.mp4\nspare.txt (deleted)")


def test_same_named_inputs_in_the_list_are_told_apart(
    panel_kit: Any, services: Any, media_files: Callable[..., Path],
) -> None:
    first = services.uploads.upload_file(media_files("a.mp4"), "video", original_name="take.mp4")
    second = services.uploads.upload_file(media_files("b.mp4"), "video",
                                          original_name="take.mp4")
    words = panel_kit.upload(services, media_files("words.txt"), "transcript")
    for title, video in (("One", first), ("Two", second), ("Three", first)):
        services.jobs.create(JobDraft(title=title, voice="nova", video_upload_id=video.id,
                                      transcript_upload_id=words.id))
    panel = _panel(panel_kit, services)
    model = panel.jobs_model
    cell = {t: model.index(_row(panel, t), INPUTS).data() for t in ("One", "Two", "Three")}
    assert cell["One"] == f"take.mp4 · {first.id[:8]}\nwords.txt"  # the one transcript: no id
    assert cell["Two"] == f"take.mp4 · {second.id[:8]}\nwords.txt"
    assert cell["Three"] == cell["One"]


def test_a_narrow_window_keeps_room_for_the_titles(panel_kit: Any, services: Any) -> None:
    from shorts_desktop.gui.panels.jobs import MIN_TITLE_WIDTH

    panel = _panel(panel_kit, services)
    header = panel.jobs_view.horizontalHeader()
    panel.resize(1024, 700)
    QApplication.processEvents()
    assert header.sectionSize(TITLE) >= MIN_TITLE_WIDTH - 2
    panel.resize(1600, 900)
    QApplication.processEvents()
    assert header.sectionSize(INPUTS) == panel._column_widths[INPUTS]  # room for all again


# -- saying what is wrong -----------------------------------------------------------------------


@pytest.fixture
def with_inputs(panel_kit: Any, services: Any, media_files: Callable[..., Path]) -> JobsPanel:
    panel_kit.upload(services, media_files("clip.mp4"), "video")
    panel_kit.upload(services, media_files("words.txt"), "transcript")
    return _panel(panel_kit, services)


VALIDATE_WAIT_MS = 300  # past the form's debounce


def _checked(qtbot: Any, panel: JobsPanel) -> None:
    """Wait until the form's check has run on what the form holds now."""
    qtbot.wait(VALIDATE_WAIT_MS)
    qtbot.waitUntil(lambda: panel.form.problems() != ["Checking the form…"], timeout=3000)


def _shown(panel: JobsPanel) -> str:
    label = panel.form.problem_label
    return label.text() if label.isVisible() else ""


def test_no_error_at_first_sight_one_after_create(qtbot: Any, with_inputs: JobsPanel,
                                                  services: Any) -> None:
    _checked(qtbot, with_inputs)
    assert with_inputs.form.problems()[0] == "The title is empty."
    assert _shown(with_inputs) == ""  # the form is new: nothing is wrong with it yet
    assert with_inputs.form.create_button.isEnabled()
    qtbot.mouseClick(with_inputs.form.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _shown(with_inputs) == "The title is empty.", timeout=3000)
    assert problem_style() in with_inputs.form.problem_label.styleSheet()
    assert services.jobs.list() == []

    # Once tried, the message follows the form as it is fixed.
    with_inputs.form.title_edit.setText("Bread")
    qtbot.waitUntil(lambda: _shown(with_inputs) == "Choose a video.", timeout=3000)
    with_inputs.form.video_picker.setCurrentIndex(0)
    with_inputs.form.transcript_picker.setCurrentIndex(0)
    qtbot.waitUntil(lambda: _shown(with_inputs) == "Ready to create.", timeout=3000)
    assert with_inputs.form.problem_label.styleSheet() == ""
    qtbot.mouseClick(with_inputs.form.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: with_inputs.jobs_model.rowCount() == 1, timeout=3000)

    # The emptied form is new again: no "The title is empty." under it.
    _checked(qtbot, with_inputs)
    assert with_inputs.form.problems()[:1] == ["The title is empty."]
    assert _shown(with_inputs) == ""


def test_a_field_edited_and_left_says_what_is_wrong_with_it(qtbot: Any,
                                                             with_inputs: JobsPanel) -> None:
    _checked(qtbot, with_inputs)
    with_inputs.form.title_edit.setFocus()
    qtbot.keyClicks(with_inputs.form.title_edit, "x")
    qtbot.keyClick(with_inputs.form.title_edit, Qt.Key.Key_Backspace)
    _checked(qtbot, with_inputs)
    assert _shown(with_inputs) == ""  # still typing in it
    QApplication.sendEvent(with_inputs.form.title_edit,
                           QFocusEvent(QEvent.Type.FocusOut, Qt.FocusReason.TabFocusReason))
    qtbot.waitUntil(lambda: _shown(with_inputs) == "The title is empty.", timeout=3000)

    # Fixed, and the untouched pickers' problems stay unsaid until Create.
    qtbot.keyClicks(with_inputs.form.title_edit, "Bread")
    qtbot.waitUntil(lambda: with_inputs.form.problems()[:1] == ["Choose a video."], timeout=3000)
    _checked(qtbot, with_inputs)
    assert _shown(with_inputs) == ""


# -- emoji ----------------------------------------------------------------------------------------


def test_the_emoji_font_is_one_the_system_has() -> None:
    assert fonts.emoji_family(["DejaVu Sans", "Noto Color Emoji"]) == "Noto Color Emoji"
    assert fonts.emoji_family(["segoe ui emoji", "Arial"]) == "segoe ui emoji"
    assert fonts.emoji_family(["DejaVu Sans"]) is None
    plain = QFont("DejaVu Sans")
    family = fonts.emoji_family()
    if family is None:  # nothing to fall back on: the font is left as it is
        assert fonts.with_emoji(plain).families() == plain.families()
    else:
        assert fonts.with_emoji(plain).families() == [*plain.families(), family]


def test_titles_fall_back_on_the_emoji_font(
    qtbot: Any, panel_kit: Any, services: Any, media_files: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fonts, "emoji_family", lambda installed=None: "Noto Color Emoji")
    video = panel_kit.upload(services, media_files("clip.mp4"), "video")
    transcript = panel_kit.upload(services, media_files("words.txt"), "transcript")
    services.jobs.create(JobDraft(title="Sunrise 🌅 in 60 seconds", voice="nova",
                                  video_upload_id=video.id,
                                  transcript_upload_id=transcript.id))
    panel = _panel(panel_kit, services)
    for widget in (panel.form.title_edit, panel.form.description_edit, panel.form.tags_edit,
                   panel.jobs_view, panel.form.video_picker):
        families = widget.font().families()
        assert families[-1] == "Noto Color Emoji", widget.objectName()
        assert len(families) >= 2, widget.objectName()  # the widget's own font comes first
    index = panel.jobs_model.index(0, TITLE)
    assert index.data() == "Sunrise 🌅 in 60 seconds"


def test_a_real_emoji_font_draws_the_emoji(panel_kit: Any, services: Any) -> None:
    if fonts.emoji_family() is None:
        pytest.skip("no emoji font on this system")
    from PySide6.QtGui import QFontMetrics

    panel = _panel(panel_kit, services)
    assert QFontMetrics(panel.form.title_edit.font()).inFontUcs4(0x1F305)
