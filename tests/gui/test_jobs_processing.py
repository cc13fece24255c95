"""Making Shorts from the window: the Jobs panel drives real renders of small generated
clips through the real ProcessingService and JobRunner, stored in moto S3 (or the local
library); the Settings panel's "Making Shorts" group; the library's media columns."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import QFileDialog, QMessageBox

from shorts_desktop.app import build_services
from shorts_desktop.core.config import read_settings_file
from shorts_desktop.core.credentials import OPENAI_SECRET, KeyringStore, KeyringUnavailable
from shorts_desktop.core.services.jobs import VOICES, JobDraft
from shorts_desktop.core.services.processing import STAGES, JobProgress, RunnerEvent
from shorts_desktop.gui.job_events import JobEventBridge, coalesce
from shorts_desktop.gui.main_window import MainWindow
from shorts_desktop.gui.models.jobs_table import STATUS, TITLE
from shorts_desktop.gui.models.uploads_model import LENGTH, NAME, PICTURE
from shorts_desktop.gui.panels.jobs import STOP_WARNING, JobsPanel
from shorts_desktop.gui.panels.library import LibraryPanel
from shorts_desktop.gui.panels.settings import SettingsPanel
from shorts_desktop.gui.panels.uploads import UploadsPanel
from tests import media_gen
from tests.gui.conftest import GuiBucket, MakeWindow, answer_questions

pytestmark = pytest.mark.gui

RENDER_WAIT = 120_000  # a render on a busy two-core machine
WAIT = 15_000
SCRIPT = "Hello there. This is a tiny Short about testing the window."


# -- helpers ----------------------------------------------------------------------------------


def jobs_panel(window: MainWindow) -> JobsPanel:
    panel = window.panels["jobs"]
    assert isinstance(panel, JobsPanel)
    return panel


def status_of(panel: JobsPanel, job_id: str) -> str | None:
    job = panel.jobs_model.job_by_id(job_id)
    return None if job is None else str(job["status"])


def row_of(panel: JobsPanel, job_id: str) -> int:
    row = panel.jobs_model.row_of(job_id)
    assert row is not None
    return row


def select(panel: JobsPanel, job_id: str) -> None:
    panel.jobs_view.clearSelection()
    panel.jobs_view.selectRow(row_of(panel, job_id))


def inputs(window: MainWindow, folder: Path, *, seconds: float = 2.0,
           script: str = SCRIPT) -> tuple[str, str]:
    """A real small clip and a transcript, uploaded through the window's services."""
    folder.mkdir(parents=True, exist_ok=True)
    clip = media_gen.small_clip(folder / "beach walk.mp4", duration=seconds)
    text = folder / "beach walk.txt"
    text.write_text(script, encoding="utf-8")
    video = window.services.uploads.upload_file(clip, "video")
    transcript = window.services.uploads.upload_file(text, "transcript")
    return video.id, transcript.id


def job_for(window: MainWindow, video: str, transcript: str, title: str = "Beach walk") -> str:
    job = window.services.jobs.create(JobDraft(title=title, voice="nova", video_upload_id=video,
                                               transcript_upload_id=transcript))
    return str(job.id)


def open_jobs(window: MainWindow, qtbot: Any, count: int) -> JobsPanel:
    panel = jobs_panel(window)
    window.show_panel("jobs")
    qtbot.waitUntil(lambda: panel.jobs_model.rowCount() == count, timeout=WAIT)
    return panel


class Seen:
    """What the panel's event bridge delivered."""

    def __init__(self, panel: JobsPanel) -> None:
        self.progress: list[JobProgress] = []
        self.finished: list[tuple[str, str, str]] = []
        panel.events.progress.connect(self.progress.append)
        panel.events.finished.connect(lambda *args: self.finished.append(args))

    def stages(self) -> list[str]:
        stages: list[str] = []
        for p in self.progress:
            if not stages or stages[-1] != p.stage:
                stages.append(p.stage)
        return stages


def processed_keys(bucket: GuiBucket, job_id: str) -> list[str]:
    stored = bucket.keys()
    return [k for k in stored if k.startswith(f"processed/{job_id}/")]


@pytest.fixture
def s3_env(gui_s3_bucket: GuiBucket) -> dict[str, str]:
    return {**gui_s3_bucket.env, "SHORTS_DESKTOP_TTS": "espeak"}


@pytest.fixture
def manual_env(gui_s3_bucket: GuiBucket) -> dict[str, str]:
    """A bucket, and new jobs wait for Process."""
    return {**gui_s3_bucket.env, "SHORTS_DESKTOP_AUTO_PROCESS": "false"}


# -- making a Short -----------------------------------------------------------------------------


def test_a_new_job_is_made_at_once_and_can_be_watched_downloaded_and_shared(
    make_main_window: MakeWindow, s3_env: dict[str, str], gui_s3_bucket: GuiBucket,
    tmp_path: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = make_main_window(s3_env)
    video, transcript = inputs(window, tmp_path / "media")
    panel = open_jobs(window, qtbot, 0)
    qtbot.waitUntil(lambda: panel.form.video_picker.findData(video) >= 0, timeout=WAIT)
    seen = Seen(panel)
    first_status: list[str] = []
    panel.jobs_model.rowsInserted.connect(
        lambda *_a: first_status.append(str(panel.jobs_model.job(0)["status"])))

    # The form: auto-process is on by default, so Create queues the job at once.
    assert window.services.settings.auto_process
    panel.form.title_edit.setText("Beach walk at dawn")
    panel.form.voice_combo.setCurrentIndex(VOICES.index("nova"))
    panel.form.video_picker.setCurrentIndex(panel.form.video_picker.findData(video))
    panel.form.transcript_picker.setCurrentIndex(panel.form.transcript_picker.findData(transcript))
    assert not panel.form.video_picker.itemIcon(0).isNull()  # the picker shows the video's picture
    qtbot.waitUntil(panel.form.create_button.isEnabled, timeout=WAIT)
    started = time.monotonic()
    qtbot.mouseClick(panel.form.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.jobs_model.rowCount() == 1, timeout=WAIT)
    assert first_status and first_status[0] in ("queued", "processing")  # never "created"
    job_id = str(panel.jobs_model.job(0)["id"])
    assert panel.selected_job() is not None and panel.selected_job()["id"] == job_id

    # Before the Short exists the row shows the source video's picture.
    assert panel.jobs_model.job(0)["thumbnail"]
    source_thumbnail = panel.jobs_model.job(0)["thumbnail"]

    # While it is made: a bar with the stage, a percentage and (rendering) the time left.
    def shows_progress() -> bool:
        value = panel.jobs_model.index(0, STATUS).data(Qt.ItemDataRole.UserRole + 2)
        return value is not None and "%" in value[1]

    qtbot.waitUntil(shows_progress, timeout=RENDER_WAIT)
    assert panel.cancel_button.isEnabled() and not panel.process_button.isEnabled()
    assert not panel.preview_button.isEnabled()

    qtbot.waitUntil(lambda: status_of(panel, job_id) == "processed", timeout=RENDER_WAIT)
    elapsed = time.monotonic() - started
    assert seen.finished == [(job_id, "processed", "")]
    # The stages in the job's order (a stage over within one repaint may be painted over).
    stages = seen.stages()
    assert stages == sorted(stages, key=STAGES.index), stages
    assert "rendering" in stages and "storing" in stages
    fractions = [p.fraction for p in seen.progress]
    assert fractions == sorted(fractions)  # one bar over the whole job, never backwards
    # Coalesced: the bar repaints at most ~10 times a second however often ffmpeg reports.
    assert all(b.job_id == job_id for b in seen.progress)
    assert len(seen.progress) <= elapsed * 10 + 2, (len(seen.progress), elapsed)

    # Done: the row says so, with the Short's own thumbnail and its length.
    job = panel.jobs_model.job(row_of(panel, job_id))
    assert job["thumbnail"] and job["thumbnail"] != source_thumbnail
    assert job["processed_at"]
    assert panel.jobs_model.index(row_of(panel, job_id), STATUS).data().startswith("Ready · 0:")
    decoration = panel.jobs_model.index(row_of(panel, job_id), TITLE).data(
        Qt.ItemDataRole.DecorationRole)
    assert isinstance(decoration, QPixmap) and not decoration.isNull()
    assert "short.mp4" in " ".join(processed_keys(gui_s3_bucket, job_id))
    assert window.statusBar().currentMessage() == "Short ready: Beach walk at dawn"
    select(panel, job_id)
    for button in (panel.preview_button, panel.download_button, panel.link_button,
                   panel.publish_button, panel.cancel_button):
        assert button.isEnabled(), button.objectName()
    assert not panel.process_button.isEnabled() and not panel.retry_button.isEnabled()

    # Preview opens the cached file (the opening is intercepted).
    opened: list[Path] = []
    monkeypatch.setattr(panel, "open_local_file", opened.append)
    qtbot.mouseClick(panel.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(opened) == 1, timeout=WAIT)
    cached = window.services.processing.preview_path(job_id)
    assert opened == [cached] and cached.is_file()
    sha = window.services.jobs.get(job_id).render_info["sha256"]
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == sha
    # So does a double-click on the row.
    index = panel.jobs_model.index(row_of(panel, job_id), TITLE)
    panel.jobs_view.doubleClicked.emit(index)
    qtbot.waitUntil(lambda: len(opened) == 2, timeout=WAIT)

    # Copy link: a presigned URL of the Short on the clipboard, and how long it works.
    QGuiApplication.clipboard().clear()
    qtbot.mouseClick(panel.link_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "works for" in panel.list_note.text(), timeout=WAIT)
    url = QGuiApplication.clipboard().text()
    assert url.startswith(gui_s3_bucket.env["S3_ENDPOINT_URL"])
    assert f"processed/{job_id}/short.mp4" in url and "Signature" in url
    assert panel.list_note.text().endswith("it works for 1 hour.")

    # Download…: the chosen file is the verified Short.
    target = tmp_path / "saved" / "my short"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "MP4 video (*.mp4)")))
    qtbot.mouseClick(panel.download_button, Qt.MouseButton.LeftButton)
    saved = target.with_name("my short.mp4")
    qtbot.waitUntil(lambda: "Saved" in panel.list_note.text(), timeout=WAIT)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == sha


def test_process_then_cancel_while_rendering_leaves_nothing(
    make_main_window: MakeWindow, manual_env: dict[str, str], gui_s3_bucket: GuiBucket,
    tmp_path: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = make_main_window({**manual_env, "SHORTS_DESKTOP_TTS": "none"})
    video, transcript = inputs(window, tmp_path / "media", seconds=20.0)
    job_id = job_for(window, video, transcript)
    panel = open_jobs(window, qtbot, 1)
    assert status_of(panel, job_id) == "created"
    select(panel, job_id)
    assert panel.process_button.isEnabled() and not panel.retry_button.isEnabled()
    assert not panel.preview_button.isEnabled() and not panel.link_button.isEnabled()
    qtbot.mouseClick(panel.process_button, Qt.MouseButton.LeftButton)
    assert status_of(panel, job_id) == "queued"  # at once, before the worker runs

    def rendering() -> bool:
        progress = panel.jobs_model.progress(job_id)
        return progress is not None and progress.stage == "rendering"

    qtbot.waitUntil(rendering, timeout=RENDER_WAIT)
    asked = answer_questions(monkeypatch, QMessageBox.StandardButton.Yes)
    select(panel, job_id)
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert asked == [STOP_WARNING]
    qtbot.waitUntil(lambda: status_of(panel, job_id) == "cancelled", timeout=RENDER_WAIT)
    qtbot.waitUntil(lambda: "is cancelled" in panel.list_note.text(), timeout=WAIT)
    assert window.services.jobs.get(job_id).status == "cancelled"
    assert processed_keys(gui_s3_bucket, job_id) == []
    assert media_gen.ffmpeg_children() == []
    assert not window.services.processing.preview_path(job_id).exists()
    # A cancelled job may be made again.
    select(panel, job_id)
    assert panel.process_button.isEnabled()
    assert panel.jobs_model.progress(job_id) is None


def test_a_failed_job_shows_its_reason_and_retry_makes_it_again(
    make_main_window: MakeWindow, tmp_path: Path, qtbot: Any,
) -> None:
    window = make_main_window({**os.environ, "SHORTS_DESKTOP_AUTO_PROCESS": "false"})
    folder = tmp_path / "media"
    folder.mkdir()
    broken = folder / "broken.mp4"  # an MP4 header, then nothing a decoder can use
    broken.write_bytes(struct.pack(">I", 24) + b"ftypisom" + bytes(12) + bytes(4000))
    text = folder / "words.txt"
    text.write_text(SCRIPT)
    video = window.services.uploads.upload_file(broken, "video").id
    transcript = window.services.uploads.upload_file(text, "transcript").id
    job_id = job_for(window, video, transcript, "Broken clip")
    panel = open_jobs(window, qtbot, 1)
    seen = Seen(panel)
    select(panel, job_id)
    qtbot.mouseClick(panel.process_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: status_of(panel, job_id) == "failed", timeout=RENDER_WAIT)
    reason = str(window.services.jobs.get(job_id).error)
    assert "broken.mp4" in reason  # the creator's file, named
    index = panel.jobs_model.index(row_of(panel, job_id), STATUS)
    assert index.data() == f"Failed: {reason.splitlines()[0]}"
    assert index.data(Qt.ItemDataRole.ToolTipRole).startswith(reason)
    assert f"could not be made: {reason}" in window.statusBar().currentMessage()
    select(panel, job_id)
    assert panel.retry_button.isEnabled() and panel.process_button.isEnabled()
    assert not panel.preview_button.isEnabled()

    qtbot.mouseClick(panel.retry_button, Qt.MouseButton.LeftButton)
    assert status_of(panel, job_id) == "queued"
    qtbot.waitUntil(lambda: len(seen.finished) == 2, timeout=RENDER_WAIT)
    assert [kind for _id, kind, _m in seen.finished] == ["failed", "failed"]
    qtbot.waitUntil(lambda: status_of(panel, job_id) == "failed", timeout=WAIT)


def test_a_job_queued_before_the_window_opened_is_made(
    make_main_window: MakeWindow, tmp_path: Path, qtbot: Any,
) -> None:
    """Jobs queued elsewhere, or left `processing` by a crash, are taken up at start."""
    env = {**os.environ, "SHORTS_DESKTOP_TTS": "none"}
    services = build_services(env)
    try:
        folder = tmp_path / "media"
        folder.mkdir()
        clip = media_gen.small_clip(folder / "clip.mp4", duration=1.0)
        text = folder / "words.txt"
        text.write_text(SCRIPT)
        v = services.uploads.upload_file(clip, "video")
        t = services.uploads.upload_file(text, "transcript")
        job = services.jobs.create(JobDraft(title="Left over", voice="echo", video_upload_id=v.id,
                                            transcript_upload_id=t.id))
        services.jobs.queue(job.id)
        crashed = services.jobs.create(JobDraft(title="Crashed", voice="echo",
                                                video_upload_id=v.id,
                                                transcript_upload_id=t.id))
        services.jobs.begin_processing(crashed.id, "12345@gone")  # its lock is not held
    finally:
        services.close()
    window = make_main_window(env)
    panel = jobs_panel(window)
    window.show_panel("jobs")
    for job_id in (job.id, crashed.id):
        qtbot.waitUntil(lambda j=job_id: status_of(panel, j) == "processed", timeout=RENDER_WAIT)


def test_new_settings_while_a_short_is_made_start_it_again_on_the_new_services(
    make_main_window: MakeWindow, manual_env: dict[str, str], gui_s3_bucket: GuiBucket,
    tmp_path: Path, qtbot: Any,
) -> None:
    env = {**manual_env, "SHORTS_DESKTOP_TTS": "none"}
    window = make_main_window(env)
    video, transcript = inputs(window, tmp_path / "media", seconds=6.0)
    job_id = job_for(window, video, transcript)
    panel = open_jobs(window, qtbot, 1)
    select(panel, job_id)
    qtbot.mouseClick(panel.process_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.jobs_model.progress(job_id) is not None, timeout=RENDER_WAIT)
    assert panel.making() == ["Beach walk"]
    old = window.services
    window.set_services(build_services(env, interactive=True))  # as after Save settings
    new = window.services
    assert new is not old
    qtbot.waitUntil(lambda: new.job_runner.is_busy(job_id), timeout=RENDER_WAIT)
    qtbot.waitUntil(lambda: status_of(panel, job_id) == "processed", timeout=RENDER_WAIT)
    assert not old.job_runner.is_busy(job_id)
    assert "short.mp4" in " ".join(processed_keys(gui_s3_bucket, job_id))


def test_quitting_while_a_short_is_made_queues_it_for_the_next_start(
    make_main_window: MakeWindow, tmp_path: Path, qtbot: Any,
) -> None:
    env = {**os.environ, "SHORTS_DESKTOP_TTS": "none", "SHORTS_DESKTOP_AUTO_PROCESS": "false"}
    window = make_main_window(env)
    video, transcript = inputs(window, tmp_path / "media", seconds=20.0)
    job_id = job_for(window, video, transcript)
    panel = open_jobs(window, qtbot, 1)
    select(panel, job_id)
    qtbot.mouseClick(panel.process_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.jobs_model.progress(job_id) is not None, timeout=RENDER_WAIT)
    window.close()
    services = build_services(env)
    try:
        assert services.jobs.get(job_id).status == "queued"
    finally:
        services.close()
    assert media_gen.ffmpeg_children() == []


# -- the event bridge ---------------------------------------------------------------------------


def test_progress_is_coalesced_per_job_and_never_outlives_the_end(qtbot: Any) -> None:
    def progress(job: str, fraction: float) -> RunnerEvent:
        return RunnerEvent(job, "progress", JobProgress(job, "rendering", fraction, fraction))

    events = [RunnerEvent("a", "queued"), *[progress("a", n / 100) for n in range(50)],
              progress("b", 0.5), progress("a", 0.6), RunnerEvent("a", "processed"),
              progress("b", 0.7)]
    kept = coalesce(events)
    assert [(e.job_id, e.kind) for e in kept] == [
        ("a", "queued"), ("a", "progress"), ("b", "progress"), ("a", "processed")]
    assert kept[1].progress is not None and kept[1].progress.fraction == 0.6
    assert kept[2].progress is not None and kept[2].progress.fraction == 0.7

    bridge = JobEventBridge(interval_ms=10_000)
    got: list[JobProgress] = []
    bridge.progress.connect(got.append)
    for n in range(1000):  # from a "runner thread": a thousand reports between two ticks
        bridge.post(progress("c", n / 1000))
    bridge.drain()
    assert [p.fraction for p in got] == [0.999]
    bridge.stop()
    bridge.deleteLater()


# -- settings -----------------------------------------------------------------------------------


def test_making_shorts_settings_are_saved_and_used(qtbot: Any, panel_kit: Any) -> None:
    services = panel_kit.services()
    panel = panel_kit.panel(SettingsPanel, services)
    assert panel.auto_process_box.isChecked()
    assert panel.tts_combo.currentData() == "espeak"
    assert panel.captions_box.isChecked()
    assert panel.reframe_combo.currentData() == "blur"
    assert panel.max_seconds_spin.value() == 180
    assert [panel.tts_combo.itemText(i) for i in range(3)] == [
        "Offline voice (eSpeak NG)", "OpenAI voice", "Keep the original audio"]

    # Only the automatic processing: used at once, nothing rebuilt (a render keeps going).
    panel.auto_process_box.setChecked(False)
    with qtbot.waitSignal(panel.services_changed, timeout=10000) as blocker:
        qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0] is services and not services.settings.auto_process
    assert read_settings_file(services.paths)["SHORTS_DESKTOP_AUTO_PROCESS"] == "false"

    panel.tts_combo.setCurrentIndex(panel.tts_combo.findData("none"))
    panel.reframe_combo.setCurrentIndex(panel.reframe_combo.findData("crop"))
    panel.captions_box.setChecked(False)
    panel.max_seconds_spin.setValue(45)
    with qtbot.waitSignal(panel.services_changed, timeout=10000) as blocker:
        qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    rebuilt = blocker.args[0]
    panel_kit.services_made.append(rebuilt)
    assert rebuilt is not services
    settings = rebuilt.settings
    assert (settings.auto_process, settings.tts, settings.reframe, settings.captions,
            settings.max_seconds) == (False, "none", "crop", False, 45)
    saved = read_settings_file(services.paths)
    assert saved["SHORTS_DESKTOP_TTS"] == "none"
    assert saved["SHORTS_DESKTOP_CAPTIONS"] == "false"
    # And the form shows them again, from the settings file.
    assert not panel.auto_process_box.isChecked()
    assert panel.tts_combo.currentData() == "none"
    assert panel.fields["SHORTS_DESKTOP_TTS"].source.text() == "from settings file"


def test_a_setting_from_the_environment_is_read_only(
    panel_kit: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHORTS_DESKTOP_AUTO_PROCESS", "false")
    panel = panel_kit.panel(SettingsPanel)
    assert not panel.auto_process_box.isChecked()
    assert not panel.auto_process_box.isEnabled()
    assert "read-only" in panel.fields["SHORTS_DESKTOP_AUTO_PROCESS"].source.text()


def _keyring_or_skip() -> KeyringStore:
    store = KeyringStore()
    try:
        store.get_secret(OPENAI_SECRET, "probe")
    except KeyringUnavailable as exc:
        pytest.skip(f"no OS keyring here: {exc}")
    return store


def test_the_openai_key_goes_to_the_keyring_never_to_the_settings_file(
    qtbot: Any, panel_kit: Any,
) -> None:
    store = _keyring_or_skip()
    services = panel_kit.services()
    store.clear_secret(OPENAI_SECRET, services.settings.profile)
    panel = panel_kit.panel(SettingsPanel, services)
    assert panel.openai_key.state == "none"
    assert not panel.openai_key.clear_button.isEnabled()
    assert not panel.openai_key.save_button.isEnabled()
    secret = "sk-test-0123456789abcdefghijklmnop"
    panel.openai_key.edit.setText(secret)
    assert panel.openai_key.edit.echoMode() == panel.openai_key.edit.EchoMode.Password
    qtbot.mouseClick(panel.openai_key.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.openai_key.state == "keyring", timeout=WAIT)
    assert store.get_secret(OPENAI_SECRET, services.settings.profile) == secret
    assert panel.openai_key.edit.text() == ""
    assert "stored in the OS keyring" in panel.openai_key.message.text()
    assert secret not in panel.openai_key.message.text()
    # Saving the other settings writes no secret.
    panel.tts_combo.setCurrentIndex(panel.tts_combo.findData("openai"))
    with qtbot.waitSignal(panel.services_changed, timeout=10000) as blocker:
        qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    panel_kit.services_made.append(blocker.args[0])
    text = services.paths.settings_file.read_text()
    assert secret not in text and "OPENAI_API_KEY" not in text
    assert json.loads(text)["profiles"]["default"]["SHORTS_DESKTOP_TTS"] == "openai"
    # The narrator finds it (as a job would).
    from shorts_desktop.core.credentials import resolve_openai_key

    assert resolve_openai_key({}, None, profile=services.settings.profile) == secret
    qtbot.mouseClick(panel.openai_key.clear_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.openai_key.state == "none", timeout=WAIT)
    assert store.get_secret(OPENAI_SECRET, services.settings.profile) is None
    assert "The OpenAI voice needs one." in panel.openai_key.message.text()


def test_an_openai_key_in_the_environment_is_said_to_win(
    panel_kit: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    panel = panel_kit.panel(SettingsPanel)
    assert panel.openai_key.state == "environment"
    assert "sk-from" not in panel.openai_key.message.text()
    assert "environment" in panel.openai_key.message.text()


# -- the library ----------------------------------------------------------------------------------


@pytest.fixture
def clips(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "clips"
    folder.mkdir()
    yield folder


def test_the_library_shows_length_picture_size_and_thumbnail_of_uploaded_videos(
    main_window: MainWindow, clips: Path, qtbot: Any,
) -> None:
    clip = media_gen.clip(clips / "harbour.mp4", width=320, height=568, duration=3.0)
    text = clips / "harbour.txt"
    text.write_text(SCRIPT)
    uploads = main_window.panels["uploads"]
    assert isinstance(uploads, UploadsPanel)
    uploads.add_paths([clip, text])  # through the app, as a drop would
    library = main_window.panels["library"]
    assert isinstance(library, LibraryPanel)

    def both_completed() -> bool:
        rows = library.model.rows(range(library.model.rowCount()))
        return len(rows) == 2 and all(r["status"] == "completed" for r in rows)

    main_window.show_panel("library")
    qtbot.waitUntil(lambda: (library.refresh(), both_completed())[1], timeout=WAIT)
    model = library.model
    rows = {r["original_name"]: n for n, r in enumerate(model.rows(range(model.rowCount())))}
    video, transcript = rows["harbour.mp4"], rows["harbour.txt"]
    assert model.index(video, LENGTH).data() == "0:03"
    assert model.index(video, PICTURE).data() == "320×568"
    assert "portrait" in model.index(video, PICTURE).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(transcript, LENGTH).data() == ""
    assert model.index(transcript, PICTURE).data() == ""
    placeholder = model.thumbnails.placeholder("video")
    # The rows carry no pictures: the one on screen is read apart, then painted.
    qtbot.waitUntil(lambda: model.index(video, NAME).data(
        Qt.ItemDataRole.DecorationRole).cacheKey() != placeholder.cacheKey(), timeout=WAIT)
    picture = model.index(video, NAME).data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(picture, QPixmap) and not picture.isNull()
    assert picture.cacheKey() != placeholder.cacheKey()
    # Decoded once: the same pixmap comes back for every paint.
    assert model.index(video, NAME).data(Qt.ItemDataRole.DecorationRole).cacheKey() == \
        picture.cacheKey()
    # The thumbnail really is the video's first second: mostly not the placeholder grey.
    image = picture.toImage()
    assert image.width() >= 30
    colours = {image.pixelColor(x, image.height() // 2).name()
               for x in range(0, image.width(), 3)}
    assert len(colours) > 3
    # Sorting by length puts the transcript (no length) first.
    library.table.sortByColumn(LENGTH, Qt.SortOrder.AscendingOrder)
    assert model.row_dict(0)["original_name"] == "harbour.txt"


def test_library_rows_carry_no_pictures_and_a_synced_video_gets_one_from_the_bucket(
    s3_main_window: MainWindow, clips: Path, qtbot: Any,
) -> None:
    from shorts_desktop.core.db.models import Upload

    clip = media_gen.clip(clips / "pier.mp4", width=320, height=180, duration=2.0)
    uploads = s3_main_window.panels["uploads"]
    assert isinstance(uploads, UploadsPanel)
    uploads.add_paths([clip])
    library = s3_main_window.panels["library"]
    assert isinstance(library, LibraryPanel)
    s3_main_window.show_panel("library")
    model = library.model

    def completed() -> bool:
        library.refresh()
        rows = model.rows(range(model.rowCount()))
        return len(rows) == 1 and rows[0]["status"] == "completed"

    qtbot.waitUntil(completed, timeout=WAIT)
    upload_id = model.row_dict(0)["id"]

    def picture() -> int:
        return model.index(0, NAME).data(Qt.ItemDataRole.DecorationRole).cacheKey()

    def shown() -> bool:
        return picture() != model.thumbnails.placeholder("video").cacheKey()

    qtbot.waitUntil(shown, timeout=WAIT)  # the picture probed at upload, read apart
    # As after `sync` from the bucket alone: the row has no picture (metadata cannot hold
    # one), so the library makes it from the bucket, through a short-lived link.
    Upload.update(thumbnail=None).where(Upload.id == upload_id).execute()
    model.thumbnails.clear()
    library.refresh()  # may coalesce with a load already under way: wait for its result
    qtbot.waitUntil(lambda: not library.loading and not model.row_dict(0).get("has_thumbnail"),
                    timeout=WAIT)
    qtbot.waitUntil(lambda: shown() and Upload.get_by_id(upload_id).thumbnail is not None,
                    timeout=WAIT)
    made = Upload.get_by_id(upload_id).thumbnail
    assert bytes(made)[:2] == b"\xff\xd8"  # kept: made once, not every start
    assert "thumbnail" not in model.row_dict(0)  # the rows carry no JPEG bytes
    # A later load reads the stored picture apart from the rows.
    model.thumbnails.clear()
    library.refresh()
    qtbot.waitUntil(lambda: not library.loading, timeout=WAIT)
    assert model.row_dict(0)["has_thumbnail"]
    qtbot.waitUntil(shown, timeout=WAIT)
    assert "thumbnail" not in model.row_dict(0)


def test_screenshot_of_the_jobs_panel_with_a_processed_job(
    make_main_window: MakeWindow, s3_env: dict[str, str], tmp_path: Path, qtbot: Any,
) -> None:
    window = make_main_window({**s3_env, "SHORTS_DESKTOP_AUTO_PROCESS": "false"})
    video, transcript = inputs(window, tmp_path / "media")
    done = job_for(window, video, transcript, "Beach walk at dawn — a very long title that "
                                              "has to elide somewhere in the list")
    waiting = job_for(window, video, transcript, "Cold brew at home")
    panel = open_jobs(window, qtbot, 2)
    select(panel, done)
    qtbot.mouseClick(panel.process_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: status_of(panel, done) == "processed", timeout=RENDER_WAIT)
    # A row with a bar, as the runner reports it (shown only: nothing is rendered).
    panel.jobs_model.set_progress(JobProgress(waiting, "rendering", 0.42, 0.62, 35.0))
    select(panel, done)
    qtbot.wait(100)
    assert window.grab().save(str(Path("/tmp") / "jobs-processing.png"))


def test_a_repaint_gives_each_cell_only_its_own_picture_and_alignment(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The view hands the model one reused span for every cell: a role one cell sets (the
    name's picture, the size's right alignment) must not leak into the next cell."""
    from PySide6.QtCore import QModelRoleData
    from PySide6.QtWidgets import QTableView

    from shorts_desktop.gui.models.uploads_model import COLUMNS, SIZE, UploadsModel

    model = UploadsModel()
    model.set_rows([{"id": f"id-{n}", "original_name": f"clip-{n}.mp4", "kind": "video",
                     "size": 2048, "duration": 61.4, "width": 1920, "height": 1080,
                     "is_temp": True, "status": "completed"} for n in range(5)])
    seen: dict[int, set[tuple[int, str]]] = {}
    multi = UploadsModel.multiData

    def spy(self: Any, index: Any, span: Any) -> None:
        multi(self, index, span)
        cells = [span] if isinstance(span, QModelRoleData) else list(span)
        seen.setdefault(index.column(), set()).update(
            (c.role(), type(c.data()).__name__) for c in cells if c.data() is not None)

    monkeypatch.setattr(UploadsModel, "multiData", spy)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(1200, 300)
    view.show()
    qtbot.waitExposed(view)
    view.viewport().grab()
    decoration, alignment = int(Qt.ItemDataRole.DecorationRole), int(
        Qt.ItemDataRole.TextAlignmentRole)
    for column in range(len(COLUMNS)):
        roles = {role for role, _type in seen[column]}
        assert (decoration in roles) == (column == NAME), COLUMNS[column]
        assert (alignment in roles) == (column in (LENGTH, PICTURE, SIZE)), COLUMNS[column]
    assert model.index(0, LENGTH).data() == "1:01" and model.index(0, PICTURE).data() == \
        "1920×1080"
    assert model.index(0, SIZE).data(Qt.ItemDataRole.TextAlignmentRole)
