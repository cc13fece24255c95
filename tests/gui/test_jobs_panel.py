"""The Jobs panel: a job is created from the form; Create says why it is disabled."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from shorts_desktop.core.services.jobs import VOICES
from shorts_desktop.gui.panels.base import problem_style
from shorts_desktop.gui.panels.jobs import JobsPanel

pytestmark = pytest.mark.gui


@pytest.fixture
def ready(panel_kit: Any, media_files: Callable[..., Path]) -> tuple[JobsPanel, Any]:
    """A Jobs panel over services that already hold a video and a transcript. New jobs stay
    `created` here (test_jobs_processing.py makes Shorts)."""
    services = panel_kit.services({**os.environ, "SHORTS_DESKTOP_AUTO_PROCESS": "false"})
    panel_kit.upload(services, media_files("clip.mp4"), "video")
    panel_kit.upload(services, media_files("words.txt"), "transcript")
    panel = panel_kit.panel(JobsPanel, services)
    panel.refresh()
    return panel, services


def _fill(qtbot: Any, panel: JobsPanel, title: str) -> None:
    panel.form.title_edit.setText(title)
    panel.form.description_edit.setPlainText("A short about bread.")
    panel.form.tags_edit.setText("bread, baking, quick recipe")
    panel.form.voice_combo.setCurrentIndex(VOICES.index("nova"))
    panel.form.video_picker.setCurrentIndex(0)
    panel.form.transcript_picker.setCurrentIndex(0)


def test_the_form_offers_voices_privacy_and_completed_uploads(
    ready: tuple[JobsPanel, Any],
) -> None:
    panel, _ = ready
    voices = panel.form.voice_combo
    assert [voices.itemData(i) for i in range(voices.count())] == list(VOICES)
    assert panel.form.privacy_combo.currentData() == "private"
    assert panel.form.video_picker.count() == 1
    assert "clip.mp4" in panel.form.video_picker.itemText(0)
    assert panel.form.transcript_picker.count() == 1
    assert "words.txt" in panel.form.transcript_picker.itemText(0)


def test_a_job_is_created_from_the_form(qtbot: Any, ready: tuple[JobsPanel, Any]) -> None:
    panel, services = ready
    # No job yet: the empty list says how one is made, over the list, clicks going through.
    hint = panel.empty_hint
    assert hint.isVisible() and "press Create job" in hint.text()
    assert hint.geometry().width() > panel.jobs_view.viewport().width() // 2
    assert hint.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    _fill(qtbot, panel, "How to bake bread in 60 seconds")
    assert panel.form.title_counter.text() == "31/100"
    qtbot.waitUntil(lambda: panel.form.problem_label.text() == "Ready to create.", timeout=3000)
    assert panel.form.create_button.isEnabled()
    qtbot.mouseClick(panel.form.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.jobs_model.rowCount() == 1, timeout=3000)
    assert not hint.isVisible()
    jobs = services.jobs.list()
    assert len(jobs) == 1
    job = jobs[0]
    assert job.title == "How to bake bread in 60 seconds"
    assert job.voice == "nova"
    assert job.tags == ["bread", "baking", "quick recipe"]
    assert job.privacy == "private"
    assert panel.jobs_model.job(0)["title"] == job.title
    assert panel.form.title_edit.text() == ""  # the form is ready for the next one


def test_create_says_why_it_refuses_while_the_title_is_empty_or_too_long(
    qtbot: Any, ready: tuple[JobsPanel, Any]
) -> None:
    panel, services = ready
    _fill(qtbot, panel, "")
    qtbot.waitUntil(lambda: panel.form.problems()[:1] == ["The title is empty."], timeout=3000)
    assert panel.form.problem_label.text() == ""  # not said before the user tried
    qtbot.mouseClick(panel.form.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.form.problem_label.text() == "The title is empty.", timeout=3000)
    assert services.jobs.list() == []

    panel.form.title_edit.setText("x" * 101)  # from now on the form says what is wrong, live
    qtbot.waitUntil(lambda: "101 characters" in panel.form.problem_label.text(), timeout=3000)
    assert panel.form.title_counter.text() == "101/100"
    assert problem_style() in panel.form.title_counter.styleSheet()  # shown in red
    qtbot.mouseClick(panel.form.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.runner.running == 0, timeout=3000)
    assert services.jobs.list() == []

    panel.form.title_edit.setText("x" * 100)
    qtbot.waitUntil(lambda: panel.form.problem_label.text() == "Ready to create.", timeout=3000)
    assert panel.form.title_counter.styleSheet() == ""


def test_missing_inputs_are_named(qtbot: Any, panel_kit: Any) -> None:
    panel = panel_kit.panel(JobsPanel)
    panel.refresh()
    panel.form.title_edit.setText("A title")
    qtbot.mouseClick(panel.form.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.form.problem_label.text() == "Choose a video.", timeout=3000)


def test_tags_counter_counts_as_youtube_does(ready: tuple[JobsPanel, Any]) -> None:
    panel, _ = ready
    panel.form.tags_edit.setText("a, b c")
    assert panel.form.tags_counter.text() == "7/500"  # a,"b c"


def test_a_file_dropped_on_the_picker_is_uploaded_and_picked(
    qtbot: Any, ready: tuple[JobsPanel, Any], media_files: Callable[..., Path],
    drop_files: Callable[[Any, list[Path]], None],
) -> None:
    panel, _services = ready
    first = panel.form.video_picker.upload_id()
    drop_files(panel.form.video_picker, [media_files("dropped.mp4")])
    qtbot.waitUntil(lambda: panel.form.video_picker.count() == 2, timeout=10000)
    qtbot.waitUntil(lambda: "dropped.mp4" in panel.form.video_picker.currentText(), timeout=5000)
    assert panel.form.video_picker.upload_id() not in ("", first)
    assert "picked" in panel.form.picker_note.text()


def test_a_refused_drop_says_why(
    qtbot: Any, ready: tuple[JobsPanel, Any], media_files: Callable[..., Path],
    drop_files: Callable[[Any, list[Path]], None],
) -> None:
    panel, _ = ready
    drop_files(panel.form.video_picker, [media_files("not-a-video.mp4", b"plain text")])
    qtbot.waitUntil(lambda: panel.form.picker_note.text() != "" and "Checking" not in
                    panel.form.picker_note.text(), timeout=5000)
    assert panel.form.video_picker.count() == 1
    assert problem_style() in panel.form.picker_note.styleSheet()


def test_mark_published_and_cancel(
    qtbot: Any, ready: tuple[JobsPanel, Any], monkeypatch: pytest.MonkeyPatch,
    media_files: Callable[..., Path], panel_kit: Any,
) -> None:
    panel, services = ready
    for title in ("First", "Second"):
        _fill(qtbot, panel, title)
        qtbot.waitUntil(lambda: panel.form.problem_label.text() == "Ready to create.", timeout=3000)
        qtbot.mouseClick(panel.form.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.jobs_model.rowCount() == 2, timeout=3000)
    assert panel.selected_job()["title"] == "Second"  # the new job is selected
    panel.jobs_view.clearSelection()
    assert not panel.publish_button.isEnabled()  # nothing selected

    monkeypatch.setattr(QInputDialog, "getText",
                        staticmethod(lambda *a, **k: ("https://youtu.be/abc", True)))
    row = next(r for r in range(2) if panel.jobs_model.job(r)["title"] == "First")
    panel.jobs_view.selectRow(row)
    assert panel.publish_button.isEnabled() and panel.cancel_button.isEnabled()
    qtbot.mouseClick(panel.publish_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "marked published" in panel.list_note.text(), timeout=3000)
    first = next(j for j in services.jobs.list() if j.title == "First")
    assert first.status == "published"
    assert first.published_video_url == "https://youtu.be/abc"

    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    row = next(r for r in range(2) if panel.jobs_model.job(r)["title"] == "Second")
    panel.jobs_view.selectRow(row)
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "cancelled" in panel.list_note.text(), timeout=3000)
    second = next(j for j in services.jobs.list() if j.title == "Second")
    assert second.status == "cancelled"
    panel.jobs_view.selectRow(row)
    assert not panel.cancel_button.isEnabled()


def test_a_bad_youtube_link_is_refused_in_words(
    qtbot: Any, ready: tuple[JobsPanel, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    panel, services = ready
    _fill(qtbot, panel, "Only")
    qtbot.waitUntil(lambda: panel.form.problem_label.text() == "Ready to create.", timeout=3000)
    qtbot.mouseClick(panel.form.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.jobs_model.rowCount() == 1, timeout=3000)
    monkeypatch.setattr(QInputDialog, "getText",
                        staticmethod(lambda *a, **k: ("https://example.com/x", True)))
    panel.jobs_view.selectRow(0)
    qtbot.mouseClick(panel.publish_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "not a YouTube link" in panel.list_note.text(), timeout=3000)
    assert services.jobs.list()[0].status == "created"


def test_every_control_has_an_accessible_name(ready: tuple[JobsPanel, Any]) -> None:
    panel, _ = ready
    for widget in (panel.form.title_edit, panel.form.description_edit, panel.form.tags_edit,
                   panel.form.voice_combo, panel.form.privacy_combo, panel.form.video_picker,
                   panel.form.transcript_picker, panel.form.create_button, panel.jobs_view,
                   panel.publish_button, panel.cancel_button):
        assert widget.accessibleName(), widget.objectName()
        if widget is not panel.jobs_view:  # its cells carry the tooltips
            assert widget.toolTip(), widget.objectName()


def test_what_the_cleanup_after_publishing_did_is_said_in_plain_numbers() -> None:
    from shorts_desktop.gui.panels.jobs import cleanup_words

    assert cleanup_words({"deleted": 1, "promoted": 0, "kept": 1}) == [
        "1 temporary input deleted", "1 input kept: another job needs it"]
    assert cleanup_words({"deleted": 0, "promoted": 2, "kept": 2}) == [
        "2 inputs made permanent", "2 inputs kept: another job needs them"]
    assert cleanup_words({"deleted": 0, "promoted": 0, "kept": 0}) == []
