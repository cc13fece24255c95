"""The Settings panel: sources, validation, saving, the keyring, the connection test,
profiles, encryption and storage class, and the bucket policy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QInputDialog, QMessageBox

from shorts_desktop.core.config import (
    AppPaths,
    list_profiles,
    read_settings_file,
    save_settings_file,
    use_profile,
)
from shorts_desktop.core.credentials import AccessKey, KeyringStore, KeyringUnavailable
from shorts_desktop.gui.panels.base import problem_style
from shorts_desktop.gui.panels.settings import SettingsPanel
from shorts_desktop.gui.panels.settings_dialogs import NewProfileDialog
from tests.gui.conftest import answer_questions

pytestmark = pytest.mark.gui


def _click(qtbot: Any, button: Any) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_fields_show_values_and_where_they_come_from(
    panel_kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S3_TEMP_PREFIX", "scratch/")
    (panel_kit.services().paths.config_dir).mkdir(parents=True, exist_ok=True)
    panel = panel_kit.panel(SettingsPanel)
    temp = panel.fields["S3_TEMP_PREFIX"]
    assert temp.widget.text() == "scratch/"
    assert temp.source.text() == "from environment (read-only)"
    assert temp.widget.isReadOnly()
    assert "S3_TEMP_PREFIX" in panel.env_note.text()
    videos = panel.fields["S3_VIDEOS_PREFIX"]
    assert videos.widget.text() == "videos/"
    assert videos.source.text() == "from default"
    assert not videos.widget.isReadOnly()
    assert panel.mode_combo.currentData() == "local"
    assert not panel.fields["S3_BUCKET_NAME"].widget.isEnabled()  # local: no bucket to type
    assert panel.credentials_label.text().startswith("Credentials in use for profile “default”:")


def test_a_bad_prefix_shows_the_sentence_and_writes_nothing(
    qtbot: Any, panel_kit: Any
) -> None:
    services = panel_kit.services()
    panel = panel_kit.panel(SettingsPanel, services)
    panel.fields["S3_VIDEOS_PREFIX"].widget.setText("videos")
    with qtbot.assertNotEmitted(panel.services_changed):
        _click(qtbot, panel.save_button)
    assert panel.message.text().startswith("S3_VIDEOS_PREFIX must end with a slash")
    assert problem_style() in panel.message.styleSheet()
    assert not services.paths.settings_file.exists()
    assert panel.save_button.isEnabled()


def test_overlapping_prefixes_are_refused(qtbot: Any, panel_kit: Any) -> None:
    services = panel_kit.services()
    panel = panel_kit.panel(SettingsPanel, services)
    panel.fields["S3_TEMP_PREFIX"].widget.setText("videos/temp/")
    _click(qtbot, panel.save_button)
    assert "must not overlap" in panel.message.text()
    assert not services.paths.settings_file.exists()


def test_a_valid_save_writes_the_file_and_emits_new_services(
    qtbot: Any, panel_kit: Any
) -> None:
    services = panel_kit.services()
    panel = panel_kit.panel(SettingsPanel, services)
    panel.fields["S3_TEMP_PREFIX"].widget.setText("scratch/")
    panel.fields["S3_CLEANUP_TEMP_HOURS"].widget.setValue(12)
    panel.fields["SHORTS_DESKTOP_AFTER_PUBLISH"].widget.setCurrentIndex(1)  # promote
    panel.fields["S3_MULTIPART_THRESHOLD"].widget.setValue(64)
    assert panel.changed_variables() == {
        "S3_TEMP_PREFIX": "scratch/",
        "S3_CLEANUP_TEMP_HOURS": "12",
        "SHORTS_DESKTOP_AFTER_PUBLISH": "promote",
        "S3_MULTIPART_THRESHOLD": str(64 * 1024 * 1024),
    }
    with qtbot.waitSignal(panel.services_changed, timeout=10000) as blocker:
        _click(qtbot, panel.save_button)
    new = blocker.args[0]
    panel_kit.services_made.append(new)
    saved = read_settings_file(services.paths)
    assert saved == {
        "S3_TEMP_PREFIX": "scratch/",
        "S3_CLEANUP_TEMP_HOURS": "12",
        "SHORTS_DESKTOP_AFTER_PUBLISH": "promote",
        "S3_MULTIPART_THRESHOLD": str(64 * 1024 * 1024),
    }
    assert new.settings.temp_prefix == "scratch/"
    assert new.settings.cleanup_temp_hours == 12
    assert panel.services is new
    assert panel.fields["S3_TEMP_PREFIX"].source.text() == "from settings file"
    assert panel.message.text() == "Settings saved and in use."
    assert panel.changed_variables() == {}


def test_nothing_changed_is_said(qtbot: Any, panel_kit: Any) -> None:
    services = panel_kit.services()
    panel = panel_kit.panel(SettingsPanel, services)
    _click(qtbot, panel.save_button)
    assert panel.message.text() == "Nothing has changed."
    assert not services.paths.settings_file.exists()


def test_choosing_s3_needs_a_bucket_name(qtbot: Any, panel_kit: Any) -> None:
    panel = panel_kit.panel(SettingsPanel)
    panel.mode_combo.setCurrentIndex(1)
    assert panel.fields["S3_BUCKET_NAME"].widget.isEnabled()
    _click(qtbot, panel.save_button)
    assert "S3_BUCKET_NAME" in panel.message.text()


def test_saving_in_the_main_window_switches_every_panel(
    qtbot: Any, main_window: Any
) -> None:
    panel = main_window.panels["settings"]
    old = main_window.services
    panel.fields["S3_CLEANUP_TEMP_HOURS"].widget.setValue(5)
    _click(qtbot, panel.save_button)
    qtbot.waitUntil(lambda: main_window.services is not old, timeout=10000)
    assert main_window.services.settings.cleanup_temp_hours == 5
    cleanup = main_window.panels["cleanup"]
    assert cleanup.services is main_window.services
    if hasattr(cleanup, "hours_spin"):
        assert cleanup.hours_spin.value() == 5


def test_keyring_failure_shows_its_sentence_and_offers_a_profile(
    qtbot: Any, panel_kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: KeyringStore, key: AccessKey, profile: str = "default") -> None:
        raise KeyringUnavailable("The OS keyring cannot be used (no keyring service is "
                                 "available on this system); use an AWS profile instead.")

    monkeypatch.setattr(KeyringStore, "set", refuse)
    monkeypatch.setattr(KeyringStore, "get", lambda self, profile="default": None)
    panel = panel_kit.panel(SettingsPanel)
    assert panel.profile_field.widget.isHidden()
    panel.key_id_edit.setText("AKIAEXAMPLE")
    panel.secret_edit.setText("secret-value")
    assert panel.secret_edit.echoMode() == panel.secret_edit.EchoMode.Password
    with qtbot.assertNotEmitted(panel.services_changed):
        _click(qtbot, panel.keyring_button)
    assert panel.keyring_message.text().startswith("The OS keyring cannot be used")
    assert not panel.profile_field.widget.isHidden()
    panel.profile_field.widget.setText("work")
    assert panel.changed_variables() == {"AWS_PROFILE": "work"}


def test_credentials_go_to_the_keyring_and_the_secret_is_cleared(
    qtbot: Any, panel_kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored: list[AccessKey] = []
    monkeypatch.setattr(KeyringStore, "set",
                        lambda self, key, profile="default": stored.append(key))
    monkeypatch.setattr(KeyringStore, "get", lambda self, profile="default": (
        stored[-1] if stored else None))
    panel = panel_kit.panel(SettingsPanel)
    panel.key_id_edit.setText("AKIAEXAMPLE")
    panel.secret_edit.setText("secret-value")
    with qtbot.waitSignal(panel.services_changed, timeout=10000) as blocker:
        _click(qtbot, panel.keyring_button)
    panel_kit.services_made.append(blocker.args[0])
    assert stored == [AccessKey("AKIAEXAMPLE", "secret-value")]
    assert panel.secret_edit.text() == ""
    assert panel.keyring_message.text() == "Saved in the OS keyring."
    assert "OS keyring" in panel.credentials_label.text()


def test_a_blank_secret_is_refused_in_words(qtbot: Any, panel_kit: Any) -> None:
    panel = panel_kit.panel(SettingsPanel)
    panel.key_id_edit.setText("AKIAEXAMPLE")
    _click(qtbot, panel.keyring_button)
    assert panel.keyring_message.text() == (
        "Both the access key id and the secret access key are needed."
    )


def _drawn_colours(widget: Any) -> set[int]:
    image = widget.grab().toImage()
    return {image.pixel(x, y) for x in range(0, image.width(), 3)
            for y in range(0, image.height(), 3)}


def test_the_connection_test_says_what_it_checks_before_it_runs(
    qtbot: Any, panel_kit: Any
) -> None:
    panel = panel_kit.panel(SettingsPanel)  # the local library
    results = panel.results_list
    assert results.count() == 0 and "library folder" in results.placeholder
    assert results.accessibleDescription() == results.placeholder
    drawn = _drawn_colours(results.viewport())
    results.set_placeholder("")
    assert len(_drawn_colours(results.viewport())) < len(drawn)  # the words were drawn
    panel.refresh()
    assert "library folder" in results.placeholder
    _click(qtbot, panel.test_button)
    qtbot.waitUntil(lambda: results.count() > 0, timeout=10000)
    assert [r.name for r in panel.check_results][:1] == ["folder"]


def test_test_connection_against_the_s3_server_passes(
    qtbot: Any, panel_kit: Any, gui_s3_bucket: Any
) -> None:
    panel = panel_kit.panel(SettingsPanel, panel_kit.services(gui_s3_bucket.env))
    assert panel.mode_combo.currentData() == "s3"
    assert "the bucket and its region" in panel.results_list.placeholder
    assert panel.fields["S3_BUCKET_NAME"].source.text() == "from environment (read-only)"
    _click(qtbot, panel.test_button)
    qtbot.waitUntil(lambda: panel.results_list.count() > 0, timeout=10000)
    texts = [panel.results_list.item(i).text() for i in range(panel.results_list.count())]
    assert panel.all_passed(), texts
    assert all(t.startswith("Passed: ") for t in texts)
    names = {r.name for r in panel.check_results}
    assert {"credentials", "bucket", "list", "put", "get", "delete"} <= names
    assert panel.test_summary.text() == f"All {len(texts)} checks passed."


def test_test_connection_shows_an_unusable_keyring_as_a_warning_when_a_profile_works(
    qtbot: Any, panel_kit: Any, gui_s3_bucket: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    from shorts_desktop.core import credentials

    def refused(self: Any, profile: str = "default") -> None:
        raise credentials.KeyringUnavailable("The OS keyring cannot be used (it is locked).")

    monkeypatch.setattr(credentials.KeyringStore, "get", refused)
    creds = tmp_path / "aws-credentials"
    creds.write_text("[creator]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    env = {k: v for k, v in gui_s3_bucket.env.items()
           if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env["AWS_PROFILE"] = "creator"
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))  # botocore reads os.environ
    panel = panel_kit.panel(SettingsPanel, panel_kit.services(env))
    _click(qtbot, panel.test_button)
    qtbot.waitUntil(lambda: panel.results_list.count() > 0 or "Testing" not in
                    panel.test_summary.text(), timeout=10000)
    texts = [panel.results_list.item(i).text() for i in range(panel.results_list.count())]
    assert panel.all_passed(), (texts, panel.test_summary.text())
    assert texts[0].startswith("Warning: keyring — The OS keyring cannot be used")
    assert all(t.startswith("Passed: ") for t in texts[1:])
    assert panel.test_summary.text() == f"All {len(texts)} checks passed (1 warning)."


def test_test_connection_names_what_is_missing(
    qtbot: Any, panel_kit: Any, gui_s3_bucket: Any
) -> None:
    env = {**gui_s3_bucket.env, "S3_BUCKET_NAME": "no-such-bucket-here"}
    panel = panel_kit.panel(SettingsPanel, panel_kit.services(env))
    _click(qtbot, panel.test_button)
    qtbot.waitUntil(lambda: panel.results_list.count() > 0, timeout=10000)
    assert not panel.all_passed()
    failed = [r for r in panel.check_results if not r.ok]
    assert failed[0].name == "bucket"
    texts = [panel.results_list.item(i).text() for i in range(panel.results_list.count())]
    assert any(t.startswith("Missing: bucket") for t in texts)
    assert "failed" in panel.test_summary.text()


# -- profiles -------------------------------------------------------------------------------


def _two_profiles(endpoint: str = "http://127.0.0.1:9") -> AppPaths:
    """Profiles "default" (bucket-a on AWS) and "client" (bucket-b on another endpoint)."""
    paths = AppPaths.from_environ()
    save_settings_file(paths, {"S3_BUCKET_NAME": "bucket-a"}, "default")
    save_settings_file(paths, {"S3_BUCKET_NAME": "bucket-b", "S3_ENDPOINT_URL": endpoint,
                               "S3_ADDRESSING_STYLE": "path"}, "client")
    return paths


def _profiles_shown(panel: Any) -> list[str]:
    return [panel.profile_combo.itemText(i) for i in range(panel.profile_combo.count())]


def test_switching_profile_switches_bucket_and_endpoint_together(
    qtbot: Any, panel_kit: Any
) -> None:
    paths = _two_profiles()
    panel = panel_kit.panel(SettingsPanel)
    assert _profiles_shown(panel) == ["client", "default"]
    assert panel.profile_combo.currentText() == "default"
    assert panel.profile_combo.isEnabled()
    assert panel.bucket_edit.text() == "bucket-a"
    assert "default" in panel.credentials_label.text()
    with qtbot.waitSignal(panel.services_changed, timeout=10000) as blocker:
        panel.profile_combo.setCurrentIndex(0)  # client
    new = blocker.args[0]
    panel_kit.services_made.append(new)
    assert new.settings.profile == "client"
    assert new.settings.bucket_name == "bucket-b"
    assert new.settings.endpoint_url == "http://127.0.0.1:9"
    assert panel.services is new
    assert panel.bucket_edit.text() == "bucket-b"
    assert panel.fields["S3_ENDPOINT_URL"].widget.text() == "http://127.0.0.1:9"
    assert panel.profile_combo.currentText() == "client"
    assert "“client”" in panel.credentials_label.text()
    assert "“client”" in panel.file_note.text()
    assert list_profiles(paths)[0] == "client"


def test_switching_profile_with_running_uploads_asks_first(
    qtbot: Any, panel_kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _two_profiles()
    services = panel_kit.services()
    monkeypatch.setattr(services.upload_queue, "active_count", lambda: 2)
    asked = answer_questions(monkeypatch, QMessageBox.StandardButton.No)
    panel = panel_kit.panel(SettingsPanel, services)
    with qtbot.assertNotEmitted(panel.services_changed):
        panel.profile_combo.setCurrentIndex(0)  # client
    assert asked and "2 uploads are running" in asked[0]
    assert panel.profile_combo.currentText() == "default"
    assert panel.services is services
    assert list_profiles(paths)[0] == "default"


def test_a_profile_chosen_by_the_environment_is_read_only(
    panel_kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_profiles()
    monkeypatch.setenv("SHORTS_DESKTOP_PROFILE", "client")
    panel = panel_kit.panel(SettingsPanel)
    assert panel.profile_combo.currentText() == "client"
    assert panel.bucket_edit.text() == "bucket-b"
    assert not panel.profile_combo.isEnabled()
    assert not panel.new_profile_button.isEnabled()
    assert not panel.delete_profile_button.isEnabled()
    assert "SHORTS_DESKTOP_PROFILE" in panel.profile_note.text()


def test_new_profile_copies_settings_and_delete_profile_clears_its_key(
    qtbot: Any, panel_kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _two_profiles()
    panel = panel_kit.panel(SettingsPanel)

    # The dialog validates the name as it is typed.
    dialog = NewProfileDialog("default", ["client", "default"], panel)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()
    dialog.name_edit.setText("bad name!")
    assert "not a usable profile name" in dialog.problem.text()
    assert not ok.isEnabled()
    dialog.name_edit.setText("client")
    assert dialog.problem.text() == "There is already a profile “client”."
    dialog.name_edit.setText("personal-2")
    assert ok.isEnabled() and dialog.problem.text() == ""

    def fill(self: NewProfileDialog) -> int:
        self.name_edit.setText("personal-2")
        self.copy_box.setChecked(True)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(NewProfileDialog, "exec", fill)
    with qtbot.waitSignal(panel.services_changed, timeout=10000) as blocker:
        _click(qtbot, panel.new_profile_button)
    panel_kit.services_made.append(blocker.args[0])
    assert blocker.args[0].settings.profile == "personal-2"
    assert read_settings_file(paths, "personal-2") == {"S3_BUCKET_NAME": "bucket-a"}
    assert _profiles_shown(panel) == ["client", "default", "personal-2"]
    assert panel.profile_combo.currentText() == "personal-2"
    assert panel.bucket_edit.text() == "bucket-a"
    assert panel.message.text().startswith("Created profile “personal-2”")

    cleared: list[str] = []

    def clear(self: KeyringStore, profile: str = "default") -> bool:
        cleared.append(profile)
        raise KeyringUnavailable("The OS keyring cannot be used.", "the keyring is locked")

    monkeypatch.setattr(KeyringStore, "clear", clear)
    offered: list[list[str]] = []

    def pick(_parent: Any, _title: str, _label: str, items: list[str], *a: Any) -> tuple[str, bool]:
        offered.append(list(items))
        return "client", True

    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(pick))
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    with qtbot.assertNotEmitted(panel.services_changed):
        _click(qtbot, panel.delete_profile_button)
    assert offered == [["client", "default"]]  # never the active one
    assert cleared == ["client"]
    # The profile is deleted all the same; the panel says its keys stayed in the keyring.
    assert panel.message.text() == (
        "Profile “client” deleted. The OS keyring cannot be used (the keyring is locked), so "
        "the keys of profile client, if it had any, were left in it.")
    assert "client" not in list_profiles(paths)[1]
    assert _profiles_shown(panel) == ["default", "personal-2"]


def test_deleting_when_only_the_active_profile_exists_is_refused(
    qtbot: Any, panel_kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(
        lambda *a, **k: pytest.fail("nothing to choose from")))
    panel = panel_kit.panel(SettingsPanel)
    _click(qtbot, panel.delete_profile_button)
    assert "cannot be deleted" in panel.message.text()


# -- encryption, storage class, bucket policy ----------------------------------------------


def test_sse_kms_enables_the_key_and_saves_to_the_active_profile(
    qtbot: Any, panel_kit: Any, gui_s3_bucket: Any
) -> None:
    paths = AppPaths.from_environ(gui_s3_bucket.env)
    use_profile(paths, "client")
    panel = panel_kit.panel(SettingsPanel, panel_kit.services(gui_s3_bucket.env))
    assert panel.services.settings.profile == "client"
    kms = panel.fields["S3_SSE_KMS_KEY_ID"].widget
    assert not kms.isEnabled()
    assert panel.fields["S3_SERVER_SIDE_ENCRYPTION"].source.text() == "from default"
    storage_class = panel.fields["S3_STORAGE_CLASS"].widget
    assert "Temporary files always stay Standard" in storage_class.toolTip()
    assert storage_class.currentText().startswith("Standard")
    panel.encryption_combo.setCurrentIndex(panel.encryption_combo.findData("aws:kms"))
    assert kms.isEnabled()
    kms.setText("alias/shorts")
    storage_class.setCurrentIndex(storage_class.findData("STANDARD_IA"))
    with qtbot.waitSignal(panel.services_changed, timeout=10000) as blocker:
        _click(qtbot, panel.save_button)
    new = blocker.args[0]
    panel_kit.services_made.append(new)
    expected = {
        "S3_SERVER_SIDE_ENCRYPTION": "aws:kms",
        "S3_SSE_KMS_KEY_ID": "alias/shorts",
        "S3_STORAGE_CLASS": "STANDARD_IA",
    }
    assert read_settings_file(paths, "client") == expected
    assert read_settings_file(paths, "default") == {}
    assert new.settings.server_side_encryption == "aws:kms"
    assert new.settings.kms_key_id == "alias/shorts"
    assert new.settings.storage_class == "STANDARD_IA"
    assert panel.fields["S3_STORAGE_CLASS"].source.text() == "from settings file"
    assert kms.isEnabled()
    panel.encryption_combo.setCurrentIndex(panel.encryption_combo.findData("AES256"))
    assert not kms.isEnabled()


def test_a_kms_key_without_sse_kms_shows_the_config_sentence(
    qtbot: Any, panel_kit: Any, gui_s3_bucket: Any
) -> None:
    services = panel_kit.services(gui_s3_bucket.env)
    panel = panel_kit.panel(SettingsPanel, services)
    panel.encryption_combo.setCurrentIndex(panel.encryption_combo.findData("aws:kms"))
    panel.kms_edit.setText("alias/shorts")
    panel.encryption_combo.setCurrentIndex(panel.encryption_combo.findData("AES256"))
    with qtbot.assertNotEmitted(panel.services_changed):
        _click(qtbot, panel.save_button)
    assert panel.message.text() == "S3_SSE_KMS_KEY_ID needs S3_SERVER_SIDE_ENCRYPTION=aws:kms."
    assert problem_style() in panel.message.styleSheet()
    assert not services.paths.settings_file.exists()


def test_bucket_policy_dialog_shows_the_policy_and_copies_it(
    qtbot: Any, panel_kit: Any, gui_s3_bucket: Any
) -> None:
    panel = panel_kit.panel(SettingsPanel, panel_kit.services(gui_s3_bucket.env))
    assert panel.policy_button.isEnabled()
    _click(qtbot, panel.policy_button)
    dialog = panel.policy_dialog
    assert dialog is not None and dialog.isVisible()
    text = dialog.text_edit.toPlainText()
    assert dialog.text_edit.isReadOnly()
    policy = json.loads(text)
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    name = gui_s3_bucket.name
    for prefix in ("videos/", "transcripts/", "temp/", "processed/"):
        assert f"arn:aws:s3:::{name}/{prefix}*" in resources
    assert f"arn:aws:s3:::{name}" in resources
    QGuiApplication.clipboard().clear()
    _click(qtbot, dialog.copy_button)
    assert QGuiApplication.clipboard().text() == text
    assert dialog.copied.text() == "Copied to the clipboard."
    dialog.close()


def test_bucket_policy_needs_a_bucket(panel_kit: Any) -> None:
    panel = panel_kit.panel(SettingsPanel)
    assert not panel.policy_button.isEnabled()
    assert "No bucket is in use yet" in panel.policy_button.toolTip()


def test_a_profile_that_cannot_be_used_is_refused_and_the_old_one_stays(
    qtbot: Any, panel_kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _two_profiles()
    monkeypatch.setenv("S3_VIDEOS_PREFIX", "media/")
    services = panel_kit.services()
    # The environment's prefix overlaps the one saved in "client": that profile cannot load.
    document = json.loads(paths.settings_file.read_text())
    document["profiles"]["client"]["S3_TEMP_PREFIX"] = "media/temp/"
    paths.settings_file.write_text(json.dumps(document))
    panel = panel_kit.panel(SettingsPanel, services)
    with qtbot.assertNotEmitted(panel.services_changed):
        panel.profile_combo.setCurrentIndex(0)  # client
    assert "must not overlap" in panel.message.text()
    assert panel.profile_combo.currentText() == "default"
    assert panel.services is services
    assert list_profiles(paths)[0] == "default"
    assert panel.profile_combo.isEnabled()


def test_a_new_bandwidth_limit_applies_without_restarting_uploads(make_main_window, qtbot):
    """Only the limit changed: the same services stay (running uploads continue)."""
    window = make_main_window()
    panel = window.panels["settings"]
    before = window.services
    panel.fields["SHORTS_DESKTOP_BANDWIDTH_LIMIT"].widget.setValue(2048)  # KiB/s
    with qtbot.waitSignal(panel.services_changed, timeout=10000) as signal:
        panel.save()
    assert signal.args[0] is before
    assert window.services is before
    assert before.settings.bandwidth_limit == 2048 * 1024


# -- the form is built from the Settings metadata ---------------------------------------------


def test_fields_take_label_help_placeholder_and_range_from_the_settings_metadata(
    panel_kit: Any,
) -> None:
    from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QLineEdit, QSpinBox

    from shorts_desktop.core.config import setting_info

    panel = panel_kit.panel(SettingsPanel)
    assert len(panel.fields) >= 25
    for variable, field in panel.fields.items():
        info = setting_info(variable)
        widget = field.widget
        assert widget.toolTip() == f"{info.help}\nVariable: {variable}"
        if isinstance(widget, QCheckBox):
            assert (field.label.text(), widget.text()) == ("", info.label)
            continue
        assert field.label.text() == info.label
        if isinstance(widget, QLineEdit):
            assert widget.placeholderText() == info.placeholder
        elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            assert (widget.minimum(), widget.maximum(), widget.suffix()) == (
                info.low // info.scale, info.high // info.scale, info.unit), variable
    # As the form always looked.
    multipart = panel.fields["S3_MULTIPART_THRESHOLD"].widget
    assert (multipart.minimum(), multipart.maximum(), multipart.suffix()) == (5, 5120, " MiB")
    bandwidth = panel.fields["SHORTS_DESKTOP_BANDWIDTH_LIMIT"].widget
    assert (bandwidth.maximum(), bandwidth.specialValueText()) == (10 * 1024 * 1024, "Unlimited")
    assert panel.fields["S3_CLEANUP_TEMP_HOURS"].widget.maximum() == 87600
    assert panel.fields["AWS_REGION"].label.text() == "Re&gion:"
