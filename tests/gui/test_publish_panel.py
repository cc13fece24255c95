"""Publishing from the window: the Jobs panel sends real processed Shorts (made by the real
renderer, stored in moto S3) to the local YouTube stub, and the Settings panel's YouTube
group signs in through the real Google flow against the stub, with the token in the OS
keyring (tests/run.sh's Secret Service)."""

from __future__ import annotations

import json
import os
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QMessageBox,
    QScrollArea,
    QStyleOptionViewItem,
)

from shorts_desktop.core.credentials import KeyringStore, KeyringUnavailable
from shorts_desktop.core.publish import auth
from shorts_desktop.core.publish.errors import QUOTA, RECONNECT, UNVERIFIED_NOTE
from shorts_desktop.core.services.jobs import JobDraft
from shorts_desktop.core.services.publishing import CLIENT_SECRET
from shorts_desktop.gui.main_window import MainWindow, dark_palette
from shorts_desktop.gui.models.jobs_table import LINK_ROLE, PROGRESS_ROLE, STATUS
from shorts_desktop.gui.panels import jobs as jobs_module
from shorts_desktop.gui.panels.jobs import (
    NO_ACCOUNT,
    STOP_UPLOAD_WARNING,
    JobsPanel,
    PublishDialog,
)
from shorts_desktop.gui.panels.settings import SettingsPanel
from shorts_desktop.gui.panels.youtube_account import WAITING_FOR_GOOGLE
from tests.gui.conftest import GuiBucket, MakeWindow, answer_questions
from tests.gui.test_accessibility import check_panel, tab_stops, unnamed_controls, walk_with_tab
from tests.gui.test_jobs_processing import inputs, open_jobs, row_of, select, status_of
from tests.stubs.youtube_stub import DESKTOP_CLIENT, YouTubeStub, stub_credentials
from tests.stubs.youtube_stub import SCOPES as GRANTED

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("offline")]

PROFILE = "default"
WAIT = 15_000
UPLOAD_WAIT = 90_000
SHOTS = Path("/tmp/shorts-publish")


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def keyring_store() -> Iterator[KeyringStore]:
    """The OS keyring, without a YouTube sign-in or client before and after the test."""
    store = KeyringStore()
    try:
        store.get_secret(auth.TOKEN_SECRET, PROFILE)
    except KeyringUnavailable as exc:
        pytest.skip(f"no OS keyring here (run through tests/run.sh): {exc}")

    def clear() -> None:
        for name in (auth.TOKEN_SECRET, CLIENT_SECRET):
            store.clear_secret(name, PROFILE)

    clear()
    yield store
    clear()


@pytest.fixture
def signed_in(stub: YouTubeStub, keyring_store: KeyringStore) -> KeyringStore:
    """A sign-in the stub accepts, in the keyring, as Connect leaves it."""
    auth.save_credentials(keyring_store, stub_credentials(stub), PROFILE)
    keyring_store.set_secret(CLIENT_SECRET, json.dumps(DESKTOP_CLIENT), PROFILE)
    return keyring_store


@pytest.fixture
def env(gui_s3_bucket: GuiBucket, stub: YouTubeStub) -> dict[str, str]:
    return {**gui_s3_bucket.env, "SHORTS_DESKTOP_AUTO_PROCESS": "false",
            "SHORTS_DESKTOP_TTS": "none",
            "SHORTS_DESKTOP_YOUTUBE_API_ROOT": stub.api_root,
            "SHORTS_DESKTOP_GOOGLE_TOKEN_URI": stub.token_uri}


@pytest.fixture
def client_file(tmp_path: Path) -> Path:
    path = tmp_path / "client_secret_cid.apps.googleusercontent.com.json"
    path.write_text(json.dumps(DESKTOP_CLIENT), encoding="utf-8")
    return path


# -- helpers ------------------------------------------------------------------------------------


def processed(window: MainWindow, folder: Path, title: str = "Beach walk",
              privacy: str = "private") -> str:
    """A job with its Short made by the real renderer (in the test, before the clicks)."""
    video, transcript = inputs(window, folder)
    services = window.services
    job = services.jobs.create(JobDraft(title=title, voice="nova", privacy=privacy,
                                        video_upload_id=video, transcript_upload_id=transcript))
    services.processing.process(job.id)
    assert services.jobs.get(job.id).status == "processed"
    return str(job.id)


def short_bytes(bucket: GuiBucket, job_id: str) -> bytes:
    body = bucket.client.get_object(Bucket=bucket.name, Key=f"processed/{job_id}/short.mp4")
    data: bytes = body["Body"].read()
    return data


def temp_keys(bucket: GuiBucket) -> list[str]:
    stored = bucket.keys()
    return [k for k in stored if k.startswith("temp/")]


def click(qtbot: Any, widget: Any) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def open_publish_dialog(panel: JobsPanel, qtbot: Any) -> Any:
    click(qtbot, panel.youtube_button)
    qtbot.waitUntil(lambda: panel.publish_dialog is not None
                    and panel.publish_dialog.isVisible(), timeout=WAIT)
    return panel.publish_dialog


def status_cell(panel: JobsPanel, job_id: str) -> Any:
    return panel.jobs_model.index(row_of(panel, job_id), STATUS)


def answer_sign_in(url: str) -> threading.Thread:
    """Play the browser: Google's sign-in went well, so it calls the loopback redirect."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    target = query["redirect_uri"][0] + "?" + urllib.parse.urlencode(
        {"code": "abc", "state": query["state"][0], "scope": GRANTED})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def visit() -> None:
        with opener.open(target, timeout=10) as response:
            response.read()

    thread = threading.Thread(target=visit, daemon=True)
    thread.start()
    return thread


class Browser:
    """Stands in for `webbrowser.open`: records what would have opened."""

    def __init__(self) -> None:
        self.opened: list[str] = []

    def __call__(self, url: str, *args: Any, **kwargs: Any) -> bool:
        self.opened.append(url)
        return True


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Browser:
    import webbrowser

    fake = Browser()
    monkeypatch.setattr(webbrowser, "open", fake)
    return fake


def choose_file(monkeypatch: pytest.MonkeyPatch, path: Path | None) -> list[str]:
    """The file dialog answers `path` (None: cancelled); returns the titles it was asked."""
    asked: list[str] = []

    def answer(_parent: Any, title: str, *_a: Any, **_k: Any) -> tuple[str, str]:
        asked.append(title)
        return (str(path), "OAuth client JSON (*.json)") if path else ("", "")

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(answer))
    return asked


def say_yes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return answer_questions(monkeypatch, QMessageBox.StandardButton.Yes)


# -- publishing from the Jobs panel -------------------------------------------------------------


def test_a_processed_job_is_published_and_its_temporary_inputs_cleaned(
    make_main_window: MakeWindow, env: dict[str, str], gui_s3_bucket: GuiBucket,
    stub: YouTubeStub, signed_in: KeyringStore, tmp_path: Path, qtbot: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = make_main_window(env)
    job_id = processed(window, tmp_path / "media", privacy="public")
    assert temp_keys(gui_s3_bucket)  # the inputs are temporary uploads
    stub.force_private = True  # what Google does to an unverified project's videos
    panel = open_jobs(window, qtbot, 1)
    select(panel, job_id)
    assert panel.youtube_button.isEnabled() and panel.youtube_button.text() == "&Publish…"
    assert panel.publish_button.isEnabled()  # "Mark published…" stays

    dialog = open_publish_dialog(panel, qtbot)
    assert dialog.title_label.text() == "Beach walk"
    assert dialog.privacy_label.text() == "Public"
    assert dialog.channel_label.text() == "Stub Channel"
    assert not dialog.schedule_box.isEnabled()  # only a private video can be scheduled
    assert "its temporary inputs are deleted" in dialog.note.text()
    bars: list[str] = []
    panel.jobs_model.dataChanged.connect(lambda *_a: bars.append(
        str((status_cell(panel, job_id).data(PROGRESS_ROLE) or ("", ""))[1])))
    click(qtbot, dialog.publish_button)
    assert status_cell(panel, job_id).data(PROGRESS_ROLE) is not None  # a bar at once
    assert panel.youtube_button.text() == "&Stop upload"
    qtbot.waitUntil(lambda: status_of(panel, job_id) == "published", timeout=UPLOAD_WAIT)

    # Every byte of the Short reached YouTube once, and the row followed the upload.
    session = stub.session()
    stub.assert_each_byte_once(session, short_bytes(gui_s3_bucket, job_id))
    assert any(text.startswith("Uploading to YouTube… ") and text.endswith(" %")
               for text in bars), bars
    assert session.metadata["status"]["privacyStatus"] == "public"
    url = f"https://youtube.com/shorts/{session.video_id}"
    cell = status_cell(panel, job_id)
    assert cell.data() == f"Published · youtube.com/shorts/{session.video_id}"
    assert cell.data(LINK_ROLE) == url and cell.data(PROGRESS_ROLE) is None
    stored = window.services.jobs.get(job_id)
    assert stored.youtube_video_id == session.video_id and stored.published_video_url == url

    # Said three ways: a notification, the banner (with Google's note), the row.
    assert window.statusBar().currentMessage() == "Published on YouTube: Beach walk"
    assert panel.banner.isVisible() and panel.banner.kind == "warning"
    assert url in panel.banner.text() and UNVERIFIED_NOTE in panel.banner.text()
    assert "2 temporary inputs deleted" in panel.banner.text()
    # The guide's cleanup ran by itself: temporary inputs gone, the processed files kept.
    assert temp_keys(gui_s3_bucket) == []
    stored = gui_s3_bucket.keys()
    assert f"processed/{job_id}/short.mp4" in stored

    # The link opens on a click, through the panel's open-URL seam; Copy link copies it.
    opened: list[str] = []
    monkeypatch.setattr(jobs_module, "open_url", lambda u: opened.append(u.toString()) or True)
    select(panel, job_id)
    view = panel.jobs_view
    option = QStyleOptionViewItem()
    option.initFrom(view.viewport())
    option.rect = view.visualRect(cell)
    link = panel.status_delegate.link_rect(option, url)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=link.center())
    assert opened == [url]
    QGuiApplication.clipboard().clear()
    assert panel.link_button.isEnabled()
    click(qtbot, panel.link_button)
    assert QGuiApplication.clipboard().text() == url
    assert panel.list_note.text() == "Copied the YouTube link of “Beach walk”."
    assert not panel.youtube_button.isEnabled()  # on YouTube already
    click(qtbot, panel.banner.action_button)  # "Watch on YouTube"
    assert opened == [url, url]


def test_a_scheduled_private_short_goes_up_with_its_publish_time(
    make_main_window: MakeWindow, env: dict[str, str], stub: YouTubeStub,
    signed_in: KeyringStore, tmp_path: Path, qtbot: Any,
) -> None:
    window = make_main_window(env)
    job_id = processed(window, tmp_path / "media")
    panel = open_jobs(window, qtbot, 1)
    select(panel, job_id)
    dialog = open_publish_dialog(panel, qtbot)
    assert dialog.schedule_box.isEnabled() and not dialog.schedule_edit.isEnabled()
    dialog.schedule_box.setChecked(True)
    assert dialog.schedule_edit.isEnabled() and dialog.publish_button.text() == "&Schedule"
    when = dialog.schedule_edit.dateTime().addDays(2)
    dialog.schedule_edit.setDateTime(when)
    click(qtbot, dialog.publish_button)
    qtbot.waitUntil(lambda: status_of(panel, job_id) == "published", timeout=UPLOAD_WAIT)
    status = stub.session().metadata["status"]
    assert status["privacyStatus"] == "private"
    expected = datetime.fromtimestamp(when.toSecsSinceEpoch(), UTC)
    assert status["publishAt"] == expected.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "stays private until" in panel.banner.text()
    assert panel.banner.kind == "info"


def test_quota_exceeded_says_so_and_the_job_stays_processed(
    make_main_window: MakeWindow, env: dict[str, str], gui_s3_bucket: GuiBucket,
    stub: YouTubeStub, signed_in: KeyringStore, tmp_path: Path, qtbot: Any,
) -> None:
    window = make_main_window(env)
    job_id = processed(window, tmp_path / "media")
    stub.insert_error = "quotaExceeded"
    panel = open_jobs(window, qtbot, 1)
    select(panel, job_id)
    click(qtbot, open_publish_dialog(panel, qtbot).publish_button)
    qtbot.waitUntil(lambda: panel.banner.isVisible() and not panel.uploading(job_id),
                    timeout=UPLOAD_WAIT)
    assert panel.banner.kind == "error"
    assert panel.banner.text() == f"“Beach walk” was not published: {QUOTA}"
    assert not panel.banner.action_button.isVisible()  # nothing to connect: wait for quota
    job = window.services.jobs.get(job_id)
    assert job.status == "processed" and job.error == QUOTA
    qtbot.waitUntil(lambda: status_cell(panel, job_id).data() == f"Not published: {QUOTA}",
                    timeout=WAIT)
    assert status_cell(panel, job_id).data(PROGRESS_ROLE) is None
    assert stub.sessions == {} and temp_keys(gui_s3_bucket)  # nothing sent, nothing cleaned
    assert "was not published" in window.statusBar().currentMessage()
    select(panel, job_id)
    assert panel.youtube_button.isEnabled() and panel.youtube_button.text() == "&Publish…"


def test_a_sign_in_revoked_during_the_upload_offers_to_connect_again(
    make_main_window: MakeWindow, env: dict[str, str], stub: YouTubeStub,
    signed_in: KeyringStore, browser: Browser, tmp_path: Path, qtbot: Any,
) -> None:
    window = make_main_window(env)
    job_id = processed(window, tmp_path / "media")
    panel = open_jobs(window, qtbot, 1)
    select(panel, job_id)
    dialog = open_publish_dialog(panel, qtbot)  # the account check still passes ...
    stub.unauthorized_put = 1  # ... then every token expires on the first chunk
    stub.refresh_error = "invalid_grant"  # and Google refuses to renew it
    click(qtbot, dialog.publish_button)
    qtbot.waitUntil(lambda: panel.banner.isVisible() and not panel.uploading(job_id),
                    timeout=UPLOAD_WAIT)
    assert panel.banner.kind == "error"
    assert panel.banner.text() == f"“Beach walk” was not published: {RECONNECT}"
    assert panel.banner.action_button.isVisible()
    assert panel.banner.action_button.text() == "Connect YouTube account…"
    job = window.services.jobs.get(job_id)
    assert job.status == "processed" and job.error == RECONNECT and stub.videos == {}
    click(qtbot, panel.banner.action_button)
    settings = window.panels["settings"]
    assert isinstance(settings, SettingsPanel)
    account = settings.youtube_account
    assert window.current_panel() is settings
    # The remembered client is used: straight to Google's sign-in (not answered here).
    qtbot.waitUntil(lambda: len(browser.opened) == 1, timeout=WAIT)
    assert account.sign_in_box.isVisible()
    click(qtbot, account.sign_in_cancel_button)
    qtbot.waitUntil(lambda: window.runner.running == 0, timeout=WAIT)


def test_an_upload_stopped_half_way_resumes_into_one_video(
    make_main_window: MakeWindow, env: dict[str, str], gui_s3_bucket: GuiBucket,
    stub: YouTubeStub, signed_in: KeyringStore, tmp_path: Path, qtbot: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = make_main_window(env)
    job_id = processed(window, tmp_path / "media")
    panel = open_jobs(window, qtbot, 1)
    select(panel, job_id)
    stub.stall_after = 0  # the first chunk hangs: the session is open, nothing is kept
    click(qtbot, open_publish_dialog(panel, qtbot).publish_button)
    qtbot.waitUntil(stub.stalled.is_set, timeout=UPLOAD_WAIT)
    qtbot.waitUntil(lambda: str((status_cell(panel, job_id).data(PROGRESS_ROLE) or ("", ""))[1])
                    == "Uploading to YouTube… 0 %", timeout=WAIT)
    select(panel, job_id)
    assert panel.youtube_button.text() == "&Stop upload" and panel.youtube_button.isEnabled()
    assert not panel.publish_button.isEnabled()  # no "Mark published" in the middle of it
    asked = say_yes(monkeypatch)
    click(qtbot, panel.youtube_button)
    assert asked == [STOP_UPLOAD_WARNING]
    assert panel.list_note.text().startswith("Stopping the upload of “Beach walk”")
    stub.release.set()  # the stalled chunk fails (a reset): the upload stops there
    qtbot.waitUntil(lambda: not panel.uploading(job_id), timeout=UPLOAD_WAIT)
    assert "Resume upload continues" in panel.list_note.text()
    job = window.services.jobs.get(job_id)
    assert job.status == "processed" and job.youtube_session_uri
    assert "stopped" in str(job.error) and len(stub.sessions) == 1 and stub.videos == {}
    qtbot.waitUntil(lambda: str(status_cell(panel, job_id).data()).startswith(
        "Not published: The YouTube upload was stopped"), timeout=WAIT)
    assert status_cell(panel, job_id).data(PROGRESS_ROLE) is None
    select(panel, job_id)
    assert panel.youtube_button.text() == "Res&ume upload…"

    stub.stall_after = None
    dialog = open_publish_dialog(panel, qtbot)
    assert dialog.windowTitle() == "Resume the upload to YouTube"
    assert dialog.publish_button.text() == "&Resume upload" and dialog.schedule_box.isHidden()
    click(qtbot, dialog.publish_button)
    qtbot.waitUntil(lambda: status_of(panel, job_id) == "published", timeout=UPLOAD_WAIT)
    assert len(stub.sessions) == 1 and len(stub.videos) == 1  # the saved session, one video
    assert stub.status_queries >= 1  # it asked YouTube where the upload stood
    stub.assert_each_byte_once(stub.session(), short_bytes(gui_s3_bucket, job_id))


def test_publish_without_an_account_offers_to_connect_then_carries_on(
    make_main_window: MakeWindow, env: dict[str, str], stub: YouTubeStub, tmp_path: Path,
    client_file: Path, browser: Browser, qtbot: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = make_main_window(env)
    job_id = processed(window, tmp_path / "media")
    panel = open_jobs(window, qtbot, 1)
    select(panel, job_id)
    click(qtbot, panel.youtube_button)
    qtbot.waitUntil(panel.banner.isVisible, timeout=WAIT)
    assert panel.banner.text() == NO_ACCOUNT and panel.banner.kind == "warning"
    assert panel.publish_dialog is None and stub.sessions == {}
    action = panel.banner.action_button
    assert action.isVisible() and action.text() == "Connect YouTube account…"
    assert action.accessibleName()

    # Connect: Settings asks for the client file (first time), then Google's sign-in.
    asked = choose_file(monkeypatch, client_file)
    click(qtbot, action)
    settings = window.panels["settings"]
    assert isinstance(settings, SettingsPanel)
    account = settings.youtube_account
    assert window.current_panel() is settings
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=WAIT)  # once the keyring was read
    qtbot.waitUntil(lambda: account.sign_in_url_edit.text() != "", timeout=WAIT)
    answer_sign_in(account.sign_in_url_edit.text()).join(10)
    # ... and once connected, the window goes back to that Publish.
    qtbot.waitUntil(lambda: window.current_panel() is panel and panel.publish_dialog is not None
                    and panel.publish_dialog.isVisible(), timeout=WAIT)
    assert panel.publish_dialog.channel_label.text() == "Stub Channel"
    panel.publish_dialog.reject()
    assert stub.sessions == {} and window.services.jobs.get(job_id).status == "processed"


# -- the Settings panel's YouTube group -------------------------------------------------------


def test_connect_cancel_and_disconnect_in_settings(
    make_main_window: MakeWindow, env: dict[str, str], stub: YouTubeStub,
    keyring_store: KeyringStore, client_file: Path, browser: Browser, qtbot: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = make_main_window(env)
    settings = window.panels["settings"]
    assert isinstance(settings, SettingsPanel)
    account = settings.youtube_account
    window.show_panel("settings")
    qtbot.waitUntil(lambda: account.status.text().startswith("Not connected"),
                    timeout=WAIT)
    assert not account.disconnect_button.isEnabled()
    assert account.client_button.isHidden()  # no client remembered yet
    assert "OAuth client (Desktop app) JSON from your Google Cloud project" in \
        account.hint.text()
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url.toString()) or True))
    click(qtbot, account.help_button)  # the link-styled "how to get that file"
    assert opened == ["https://console.cloud.google.com/apis/credentials"]

    # The first connect asks for the client file, then waits for the browser.
    asked = choose_file(monkeypatch, client_file)
    click(qtbot, account.connect_button)
    assert len(asked) == 1 and "Desktop app" in asked[0]
    assert account.sign_in_box.isVisible()
    assert account.sign_in_label.text() == WAITING_FOR_GOOGLE
    assert not account.connect_button.isEnabled()
    qtbot.waitUntil(lambda: account.sign_in_url_edit.text() != "", timeout=WAIT)
    url = account.sign_in_url_edit.text()
    assert url.startswith(DESKTOP_CLIENT["installed"]["auth_uri"]) and browser.opened == [url]
    click(qtbot, account.sign_in_copy_button)  # for when no browser opened
    assert QGuiApplication.clipboard().text() == url
    answer_sign_in(url).join(10)
    qtbot.waitUntil(lambda: account.status.text() == "Connected to “Stub Channel”",
                    timeout=WAIT)
    assert account.sign_in_box.isHidden() and account.disconnect_button.isEnabled()
    assert account.client_button.isVisible()
    token = json.loads(keyring_store.get_secret(auth.TOKEN_SECRET, PROFILE) or "{}")
    assert token["refresh_token"] == stub.refresh_token
    assert "cid.apps" in str(keyring_store.get_secret(CLIENT_SECRET, PROFILE))
    assert stub.token_requests[-1]["code"] == "abc"

    # A second connect reuses the remembered client; Cancel stops waiting at once.
    asked.clear()
    click(qtbot, account.connect_button)
    assert asked == []
    qtbot.waitUntil(lambda: account.sign_in_url_edit.text() not in ("", url), timeout=WAIT)
    click(qtbot, account.sign_in_cancel_button)
    assert account.sign_in_box.isHidden() and account.connect_button.isEnabled()
    assert account.status.text() == \
        "Sign-in cancelled; still connected to “Stub Channel”."
    # The worker that waited for Google's answer ends too (no five-minute wait).
    qtbot.waitUntil(lambda: window.runner.running == 0, timeout=WAIT)
    assert keyring_store.get_secret(auth.TOKEN_SECRET, PROFILE)  # the sign-in stays

    # Disconnect asks, revokes at Google and forgets the sign-in.
    asked_yes = say_yes(monkeypatch)
    click(qtbot, account.disconnect_button)
    assert "Stub Channel" in asked_yes[0]
    qtbot.waitUntil(lambda: account.status.text().startswith("Disconnected"),
                    timeout=WAIT)
    assert stub.revoked == [stub.refresh_token]
    assert keyring_store.get_secret(auth.TOKEN_SECRET, PROFILE) is None
    assert not account.disconnect_button.isEnabled()


def test_publish_settings_are_saved_like_the_others(
    make_main_window: MakeWindow, env: dict[str, str], qtbot: Any,
) -> None:
    window = make_main_window({**env, "SHORTS_DESKTOP_MADE_FOR_KIDS": "false"})
    settings = window.panels["settings"]
    assert isinstance(settings, SettingsPanel)
    window.show_panel("settings")
    combo = settings.youtube_category_combo
    assert combo.currentData() == "22" and combo.currentText() == "People & Blogs"
    assert [combo.itemData(i) for i in range(combo.count())] == [
        "1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26", "27", "28"]
    assert settings.keep_processed_box.isChecked()
    assert settings.after_publish_combo.currentText() == "Temporary inputs are deleted"
    # Set by the environment: read-only here.
    assert not settings.made_for_kids_box.isEnabled()
    assert "read-only" in settings.fields["SHORTS_DESKTOP_MADE_FOR_KIDS"].source.text()

    combo.setCurrentIndex(combo.findData("27"))
    settings.youtube_language_edit.setText("pt-BR")
    settings.keep_processed_box.setChecked(False)
    settings.after_publish_combo.setCurrentIndex(settings.after_publish_combo.findData("promote"))
    with qtbot.waitSignal(settings.services_changed, timeout=WAIT):
        click(qtbot, settings.save_button)
    new = window.services.settings
    assert (new.youtube_category, new.youtube_language, new.keep_processed,
            new.after_publish) == ("27", "pt-BR", False, "promote")
    assert window.services.publishing.settings.youtube_category == "27"

    settings.youtube_language_edit.setText("not a language")
    click(qtbot, settings.save_button)
    qtbot.waitUntil(lambda: "SHORTS_DESKTOP_YOUTUBE_LANGUAGE" in settings.message.text(),
                    timeout=WAIT)


# -- how it looks -------------------------------------------------------------------------------


@pytest.fixture(params=["light", "dark"])
def palette(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[str]:
    original = qapp.palette()
    if request.param == "dark":
        qapp.setPalette(dark_palette())
    yield request.param
    qapp.setPalette(original)


def test_screenshots_of_publishing(
    palette: str, make_main_window: MakeWindow, env: dict[str, str], stub: YouTubeStub,
    signed_in: KeyringStore, browser: Browser, tmp_path: Path, qtbot: Any,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    window = make_main_window(env)
    done = processed(window, tmp_path / "a", "Beach walk at dawn", privacy="public")
    going = processed(window, tmp_path / "b", "Cold brew at home, three ways")
    panel = open_jobs(window, qtbot, 2)
    select(panel, done)
    click(qtbot, open_publish_dialog(panel, qtbot).publish_button)
    qtbot.waitUntil(lambda: status_of(panel, done) == "published", timeout=UPLOAD_WAIT)
    stub.stall_after = stub.data_puts  # the next upload hangs on its first chunk
    select(panel, going)
    dialog = open_publish_dialog(panel, qtbot)
    dialog.schedule_box.setChecked(True)
    assert dialog.grab().save(str(SHOTS / f"publish-dialog-{palette}.png"))
    dialog.schedule_box.setChecked(False)
    click(qtbot, dialog.publish_button)
    qtbot.waitUntil(stub.stalled.is_set, timeout=UPLOAD_WAIT)
    qtbot.waitUntil(lambda: panel.jobs_model.upload_progress(going) is not None
                    and panel.jobs_model.upload_progress(going)[1] > 0, timeout=WAIT)
    total = panel.jobs_model.upload_progress(going)[1]  # type: ignore[index]
    panel.jobs_model.set_upload_progress(going, -(-total * 42 // 100), total)  # shown only
    select(panel, going)
    qtbot.wait(150)
    assert window.grab().save(str(SHOTS / f"jobs-publish-{palette}.png"))

    settings = window.panels["settings"]
    assert isinstance(settings, SettingsPanel)
    account = settings.youtube_account
    window.show_panel("settings")
    qtbot.waitUntil(lambda: account.status.text() == "Connected to “Stub Channel”",
                    timeout=WAIT)
    scroll = settings.findChild(QScrollArea)
    assert scroll is not None
    scroll.ensureWidgetVisible(account.status, 50, 400)
    qtbot.wait(100)
    assert window.grab().save(str(SHOTS / f"settings-youtube-{palette}.png"))
    # Waiting for the browser (a real sign-in, which nobody answers: then Cancel).
    click(qtbot, account.connect_button)
    qtbot.waitUntil(lambda: account.sign_in_url_edit.text() != "", timeout=WAIT)
    qtbot.wait(100)
    scroll.ensureWidgetVisible(account.sign_in_box, 50, 200)
    assert window.grab().save(str(SHOTS / f"settings-signing-in-{palette}.png"))
    click(qtbot, account.sign_in_cancel_button)
    panel.stop_upload([going], ask=False)
    stub.release.set()
    qtbot.waitUntil(lambda: not panel.uploading(going), timeout=UPLOAD_WAIT)
    assert os.path.getsize(SHOTS / f"jobs-publish-{palette}.png") > 10_000


# -- accessibility of what only shows at times --------------------------------------------------


def _tab_reaches_everything(owner: Any) -> None:
    assert unnamed_controls(owner) == []
    stops = tab_stops(owner)
    assert len(stops) >= 2
    # (Tab steps through a date-time edit's sections, year to minute, before it leaves.)
    seen = walk_with_tab(stops[0], len(stops) + 8)
    missed = [f"{type(w).__name__} {w.objectName()!r}" for w in stops if w not in seen]
    assert missed == []


def test_the_new_controls_have_names_and_tab_stops(
    make_main_window: MakeWindow, env: dict[str, str], stub: YouTubeStub,
    signed_in: KeyringStore, browser: Browser, qtbot: Any,
) -> None:
    window = make_main_window(env)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)
    # The Jobs panel's banner with its button.
    panel = window.panels["jobs"]
    assert isinstance(panel, JobsPanel)
    window.show_panel("jobs")
    panel.banner.show_message(NO_ACCOUNT, "warning", "Connect YouTube account…", lambda: None)
    check_panel(window, "jobs", qtbot)
    assert panel.youtube_button.accessibleName() and panel.youtube_button.toolTip()

    # The Settings panel while it waits for Google's sign-in.
    settings = window.panels["settings"]
    assert isinstance(settings, SettingsPanel)
    account = settings.youtube_account
    check_panel(window, "settings", qtbot)
    qtbot.waitUntil(lambda: account.status.text() == "Connected to “Stub Channel”",
                    timeout=WAIT)
    click(qtbot, account.connect_button)
    qtbot.waitUntil(lambda: account.sign_in_url_edit.text() != "", timeout=WAIT)
    for widget in (account.sign_in_cancel_button, account.sign_in_url_edit,
                   account.sign_in_copy_button, account.help_button):
        assert widget.isVisible() and widget.accessibleName() and widget.toolTip()
    _tab_reaches_everything(settings)
    click(qtbot, account.sign_in_cancel_button)
    qtbot.waitUntil(lambda: window.runner.running == 0, timeout=WAIT)

    # The publish dialog: a private job, so the schedule can be chosen.
    dialog = PublishDialog({"id": "j1", "title": "Cold brew", "privacy": "private"},
                           "Stub Channel", "its temporary inputs are deleted", resume=False,
                           parent=window)
    dialog.open()
    qtbot.waitExposed(dialog)
    dialog.schedule_box.setChecked(True)
    _tab_reaches_everything(dialog)
    dialog.reject()
