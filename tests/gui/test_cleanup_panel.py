"""The Cleanup panel: preview, delete after confirmation, automatic switch, lifecycle rules."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from shorts_desktop.core.services.jobs import JobDraft
from shorts_desktop.core.services.lifecycle import RULE_PREFIX, recommended_rules
from shorts_desktop.gui.panels.cleanup import AUTO_INTERVAL_MS, CleanupPanel
from tests.gui.conftest import answer_questions

pytestmark = pytest.mark.gui

FOREIGN_RULE = {
    "ID": "keep-logs-a-week",
    "Filter": {"Prefix": "logs/"},
    "Status": "Enabled",
    "Expiration": {"Days": 7},
}


@pytest.fixture
def cleanup_setup(
    panel_kit: Any, media_files: Callable[..., Path]
) -> tuple[CleanupPanel, Any, dict[str, Any]]:
    """A temp video nobody needs, and a video + transcript an unfinished job needs."""
    services = panel_kit.services()
    old = panel_kit.upload(services, media_files("old-take.mp4"), "video")
    needed_video = panel_kit.upload(services, media_files("keeper.mp4"), "video")
    needed_text = panel_kit.upload(services, media_files("keeper.txt"), "transcript")
    services.jobs.create(JobDraft(title="Bread", voice="nova",
                                  video_upload_id=needed_video.id,
                                  transcript_upload_id=needed_text.id))
    panel = panel_kit.panel(CleanupPanel, services)
    return panel, services, {"old": old, "video": needed_video, "text": needed_text}


def _rows(panel: CleanupPanel) -> list[list[str]]:
    table = panel.preview_table
    return [[table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())]


def test_hours_default_from_settings(panel_kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3_CLEANUP_TEMP_HOURS", "6")
    panel = panel_kit.panel(CleanupPanel)
    assert panel.hours_spin.value() == 6


def test_preview_lists_the_old_upload_and_skips_what_a_job_needs(
    qtbot: Any, cleanup_setup: tuple[CleanupPanel, Any, dict[str, Any]]
) -> None:
    panel, _services, uploads = cleanup_setup
    panel.hours_spin.setValue(0)
    qtbot.mouseClick(panel.preview_button, Qt.MouseButton.LeftButton)
    rows = _rows(panel)
    deleting = [r for r in rows if r[3] == "Delete"]
    kept = [r for r in rows if r[3].startswith("Kept")]
    assert [r[0] for r in deleting] == ["old-take.mp4"]
    assert sorted(r[0] for r in kept) == ["keeper.mp4", "keeper.txt"]
    assert all("needed by job 'Bread'" in r[3] for r in kept)
    size = uploads["old"].size
    assert f"1 to delete, {size / 1000:.1f} KB to free" in panel.summary_label.text()
    assert "2 kept" in panel.summary_label.text()


def test_delete_after_confirmation_removes_it(
    qtbot: Any, cleanup_setup: tuple[CleanupPanel, Any, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    panel, services, uploads = cleanup_setup
    asked = answer_questions(monkeypatch, QMessageBox.StandardButton.Yes)
    panel.hours_spin.setValue(0)
    qtbot.mouseClick(panel.preview_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(panel.cleaned, timeout=5000) as blocker:
        qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
    assert "Delete 1 temporary file older" in asked[0]
    result = blocker.args[0]
    assert result.deleted == [uploads["old"].id]
    statuses = {u.id: u.status for u in services.uploads.list(include_deleted=True)}
    assert statuses[uploads["old"].id] == "deleted"
    assert statuses[uploads["video"].id] == "completed"
    assert statuses[uploads["text"].id] == "completed"
    assert services.storage.head(uploads["old"].key) is None
    assert panel.summary_label.text().startswith("Done: 1 deleted")


def test_saying_no_deletes_nothing(
    qtbot: Any, cleanup_setup: tuple[CleanupPanel, Any, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    panel, services, uploads = cleanup_setup
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *a, **k: QMessageBox.StandardButton.No))
    panel.hours_spin.setValue(0)
    qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
    assert services.storage.head(uploads["old"].key) is not None


def test_automatic_cleanup_runs_on_its_timer(
    qtbot: Any, cleanup_setup: tuple[CleanupPanel, Any, dict[str, Any]]
) -> None:
    panel, services, uploads = cleanup_setup
    panel.hours_spin.setValue(0)  # typed for a manual run: not what the automatic one uses
    panel.auto_switch.setChecked(True)
    assert panel.auto_timer.isActive()
    assert panel.auto_timer.interval() == AUTO_INTERVAL_MS
    hours = services.settings.cleanup_temp_hours
    assert f"older than {hours:g} hours (S3_CLEANUP_TEMP_HOURS)" in panel.auto_label.text()
    assert "every hour while the app is open, next at" in panel.auto_label.text()
    with qtbot.waitSignal(panel.cleaned, timeout=5000) as fresh:
        panel.auto_timer.timeout.emit()  # an hour passes: the upload is younger than that
    assert fresh.args[0].deleted == []
    assert services.storage.head(uploads["old"].key) is not None
    services.settings = dataclasses.replace(services.settings, cleanup_temp_hours=0.0)
    with qtbot.waitSignal(panel.cleaned, timeout=5000):
        panel.auto_timer.timeout.emit()  # with S3_CLEANUP_TEMP_HOURS at 0 it goes
    assert services.storage.head(uploads["old"].key) is None
    assert "Automatic cleanup at" in panel.auto_label.text()

    # The switch is remembered: the next start (new services) finds it on, then off.
    qtbot.waitUntil(lambda: services.rebuild_settings().auto_cleanup, timeout=5000)
    restarted = services.rebuild()
    try:
        panel.set_services(restarted)
        assert panel.auto_switch.isChecked() and panel.auto_timer.isActive()
        panel.auto_switch.setChecked(False)
        assert not panel.auto_timer.isActive()
        qtbot.waitUntil(lambda: not restarted.rebuild_settings().auto_cleanup, timeout=5000)
        assert restarted.rebuild_settings().sources["SHORTS_DESKTOP_AUTO_CLEANUP"] == (
            "settings file")
    finally:
        panel.set_services(services)
        restarted.close()


def test_local_library_says_lifecycle_needs_a_bucket(panel_kit: Any) -> None:
    panel = panel_kit.panel(CleanupPanel)
    panel.refresh()
    assert "need an S3 bucket" in panel.lifecycle_note.text()
    assert not panel.apply_button.isEnabled()
    assert not panel.abort_button.isEnabled()


def test_apply_recommended_rules_asks_and_keeps_the_buckets_own(
    qtbot: Any, panel_kit: Any, gui_s3_bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = gui_s3_bucket.client
    client.put_bucket_lifecycle_configuration(
        Bucket=gui_s3_bucket.name, LifecycleConfiguration={"Rules": [FOREIGN_RULE]}
    )
    services = panel_kit.services(gui_s3_bucket.env)
    panel = panel_kit.panel(CleanupPanel, services)
    panel.refresh()
    shown = [panel.rules_list.item(i).text() for i in range(panel.rules_list.count())]
    assert shown == ["Delete files under logs/ 7 days after upload."]
    assert panel.apply_button.isEnabled()

    asked = answer_questions(monkeypatch, QMessageBox.StandardButton.No,
                             QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)  # asked, and said no
    assert [r["ID"] for r in client.get_bucket_lifecycle_configuration(
        Bucket=gui_s3_bucket.name)["Rules"]] == ["keep-logs-a-week"]
    assert "Delete temporary files no job needs (under temp/) 1 day after upload" in asked[0]
    assert "abort unfinished multipart uploads 7 days after they start" in asked[0].lower()
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "applied" in panel.lifecycle_note.text(), timeout=5000)
    stored = client.get_bucket_lifecycle_configuration(Bucket=gui_s3_bucket.name)["Rules"]
    ids = {r["ID"] for r in stored}
    assert "keep-logs-a-week" in ids
    assert {r["ID"] for r in recommended_rules(services.settings)} <= ids
    assert panel.rules_list.count() == len(stored) == 6
    ours = [panel.rules_list.item(i).text() for i in range(panel.rules_list.count())
            if "recommended by this app" in panel.rules_list.item(i).text()]
    assert len(ours) == 5
    assert any(t.startswith("Delete temporary files no job needs (under temp/) 1 day after "
                            "upload") for t in ours)
    assert all(r["ID"].startswith(RULE_PREFIX) or r["ID"] == "keep-logs-a-week" for r in stored)
    assert "1 rule of the bucket's own kept" in panel.lifecycle_note.text()


def test_unfinished_multipart_uploads_are_listed_and_aborted_after_asking(
    qtbot: Any, panel_kit: Any, gui_s3_bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = gui_s3_bucket.client
    client.create_multipart_upload(Bucket=gui_s3_bucket.name,
                                   Key="temp/0123456789abcdef0123456789abcdef/big.mp4")
    services = panel_kit.services(gui_s3_bucket.env)
    panel = panel_kit.panel(CleanupPanel, services)
    panel.refresh()
    assert panel.multipart_table.rowCount() == 1
    assert panel.multipart_table.item(0, 0).text().endswith("big.mp4")
    assert not panel.abort_button.isEnabled()
    panel.multipart_table.selectRow(0)
    assert panel.abort_button.isEnabled()
    asked = answer_questions(monkeypatch, QMessageBox.StandardButton.No,
                             QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(panel.abort_button, Qt.MouseButton.LeftButton)  # asked, and said no
    assert len(client.list_multipart_uploads(Bucket=gui_s3_bucket.name)["Uploads"]) == 1
    assert "Abort 1 unfinished upload and throw away" in asked[0] and "big.mp4" in asked[0]
    qtbot.mouseClick(panel.abort_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.multipart_table.rowCount() == 0, timeout=5000)
    assert client.list_multipart_uploads(Bucket=gui_s3_bucket.name).get("Uploads", []) == []


def test_multipart_box_covers_every_app_prefix_and_names_who_resumes(
    qtbot: Any, panel_kit: Any, gui_s3_bucket: Any, media_files: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shorts_desktop.core.db.models import Upload

    client, bucket = gui_s3_bucket.client, gui_s3_bucket.name
    services = panel_kit.services(gui_s3_bucket.env)
    paused = panel_kit.upload(services, media_files("keeper.mp4"), "video", is_temp=False)
    mp = client.create_multipart_upload(Bucket=bucket, Key=paused.key)["UploadId"]
    Upload.update(status="paused", multipart_upload_id=mp).where(Upload.id == paused.id).execute()
    result_key = "processed/0123456789abcdef0123456789abcdef/short.mp4"
    client.create_multipart_upload(Bucket=bucket, Key=result_key)
    client.create_multipart_upload(Bucket=bucket, Key="backups/db.tar")  # not the app's
    panel = panel_kit.panel(CleanupPanel, services)
    panel.refresh()
    table = panel.multipart_table
    shown = {table.item(r, 0).text(): table.item(r, 3).text() for r in range(table.rowCount())}
    assert shown == {paused.key: f"upload {paused.id} (still paused)", result_key: "Nobody"}

    table.selectRow([table.item(r, 0).text() for r in range(2)].index(paused.key))
    asked = answer_questions(monkeypatch, QMessageBox.StandardButton.No)
    qtbot.mouseClick(panel.abort_button, Qt.MouseButton.LeftButton)
    assert "1 of them belong to a paused or interrupted upload" in asked[0]
    assert len(client.list_multipart_uploads(Bucket=bucket)["Uploads"]) == 3
