"""Connecting YouTube against the local stub: client file, browser sign-in, token, sign-out."""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google.oauth2.credentials import Credentials

from shorts_desktop.core.errors import ShortsError, UserError
from shorts_desktop.core.publish.auth import (
    GOOGLE_TOKEN_URI,
    MISSING_PERMISSION,
    NOT_DESKTOP_CLIENT,
    SCOPES,
    TOKEN_SECRET,
    Channel,
    channel,
    load_client_secrets,
    load_credentials,
    login,
    logout,
)
from shorts_desktop.core.publish.errors import NO_CHANNEL, RECONNECT, ReconnectNeeded
from tests.stubs.youtube_stub import DESKTOP_CLIENT, MemoryStore, YouTubeStub
from tests.stubs.youtube_stub import SCOPES as GRANTED

pytestmark = pytest.mark.usefixtures("offline")

SECRETS = ("refresh-1", "access-1", "access-2", "client-secret-value")



@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def no_secrets_in(exc: BaseException) -> None:
    for secret in SECRETS:
        assert secret not in str(exc)


def write_json(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "client_secret.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# -- the client-secrets file ----------------------------------------------------------------


def test_a_desktop_client_file_loads(tmp_path: Path) -> None:
    config = load_client_secrets(write_json(tmp_path, DESKTOP_CLIENT))
    assert config == DESKTOP_CLIENT


def test_google_addresses_are_filled_in_when_missing(tmp_path: Path) -> None:
    bare = {"installed": {"client_id": "cid", "client_secret": "s"}}
    info = load_client_secrets(write_json(tmp_path, bare))["installed"]
    assert info["token_uri"] == GOOGLE_TOKEN_URI
    assert info["auth_uri"].startswith("https://accounts.google.com/")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, r"client_secret\.json does not exist\.$"),
        ("{not json", r"is not a JSON file; create an OAuth client of type Desktop app"),
        ('{"foo": 1}', r'is not a Google OAuth client-secrets file \(it has no "installed"'),
        ("[1, 2]", r"is not a Google OAuth client-secrets file"),
        ('{"type": "service_account", "private_key": "x"}', r"is a service-account key"),
        ('{"type": "authorized_user", "refresh_token": "r"}', r"is a saved sign-in"),
        ('{"installed": {"client_id": "cid"}}', r"lacks the client id or secret"),
    ],
)
def test_a_bad_client_file_is_one_sentence(
    tmp_path: Path, content: str | None, match: str
) -> None:
    path = tmp_path / "client_secret.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=match) as caught:
        load_client_secrets(path)
    assert caught.value.__cause__ is None and str(caught.value).count(". ") == 0


def test_a_web_client_without_a_loopback_redirect_is_turned_away(tmp_path: Path) -> None:
    web = {"web": {"client_id": "c", "client_secret": "s",
                   "redirect_uris": ["https://example.com/oauth"]}}
    with pytest.raises(UserError) as caught:
        load_client_secrets(write_json(tmp_path, web))
    assert str(caught.value) == NOT_DESKTOP_CLIENT
    assert "Desktop app in Google Cloud Console" in NOT_DESKTOP_CLIENT


def test_a_web_client_with_a_loopback_redirect_is_accepted(tmp_path: Path) -> None:
    web = {"web": {"client_id": "c", "client_secret": "s",
                   "redirect_uris": ["https://example.com/", "http://localhost:8765/"]}}
    assert "web" in load_client_secrets(write_json(tmp_path, web))


# -- signing in ------------------------------------------------------------------------------


class Browser:
    """Plays the user's browser: on the sign-in address, it calls the loopback redirect."""

    def __init__(self, answer: Callable[[str], dict[str, str]] | None = None) -> None:
        self.answer = answer or (lambda state: {"code": "abc", "state": state, "scope": GRANTED})
        self.urls: list[str] = []
        self.pages: list[str] = []
        self.threads: list[threading.Thread] = []

    def __call__(self, url: str) -> None:
        self.urls.append(url)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        target = query["redirect_uri"][0] + "?" + urllib.parse.urlencode(
            self.answer(query["state"][0])
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        def visit() -> None:
            with opener.open(target, timeout=10) as response:
                self.pages.append(response.read().decode())

        thread = threading.Thread(target=visit)
        thread.start()
        self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(10)

    @property
    def query(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.urls[0]).query)


def sign_in(stub: YouTubeStub, store: MemoryStore, browser: Browser, config: dict | None = None):
    try:
        return login(config or DESKTOP_CLIENT, store, "default", open_browser=False,
                     token_uri=stub.token_uri, on_url=browser, timeout_seconds=10)
    finally:
        browser.join()


def test_login_stores_a_token_with_its_refresh_token(stub: YouTubeStub, store: MemoryStore) -> None:
    browser = Browser()
    creds = sign_in(stub, store, browser)

    saved = json.loads(store.get_secret(TOKEN_SECRET, "default") or "{}")
    assert saved["refresh_token"] == "refresh-1" == creds.refresh_token
    assert saved["token"] == stub.access_token == creds.token
    assert set(saved["scopes"]) == set(SCOPES)
    query = browser.query
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert set(query["scope"][0].split()) == set(SCOPES)
    redirect = query["redirect_uri"][0]
    assert redirect.startswith("http://127.0.0.1:") and redirect.endswith("/")
    grant = stub.token_requests[-1]
    assert grant["grant_type"] == "authorization_code" and grant["code"] == "abc"
    assert grant["redirect_uri"] == redirect
    assert grant["client_id"] == "cid.apps.googleusercontent.com"
    assert "you can close this tab" in browser.pages[0]


def test_login_with_a_web_client_answers_on_its_registered_port(
    stub: YouTubeStub, store: MemoryStore
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    web = {"web": {"client_id": "c", "client_secret": "client-secret-value",
                   "redirect_uris": [f"http://localhost:{port}"]}}
    browser = Browser()
    sign_in(stub, store, browser, web)
    assert browser.query["redirect_uri"] == [f"http://localhost:{port}"]
    assert store.get_secret(TOKEN_SECRET, "default")


def test_a_cancelled_sign_in_stores_nothing(stub: YouTubeStub, store: MemoryStore) -> None:
    browser = Browser(lambda state: {"error": "access_denied", "state": state})
    with pytest.raises(UserError, match="cancelled or access was refused") as caught:
        sign_in(stub, store, browser)
    assert store.values == {} and caught.value.__cause__ is None


def test_a_sign_in_without_the_upload_permission_is_refused(
    stub: YouTubeStub, store: MemoryStore
) -> None:
    stub.granted_scope = "https://www.googleapis.com/auth/youtube.readonly"
    with pytest.raises(UserError) as caught:
        sign_in(stub, store, Browser())
    assert str(caught.value) == MISSING_PERMISSION and store.values == {}


def test_more_scopes_than_asked_are_fine(stub: YouTubeStub, store: MemoryStore) -> None:
    stub.granted_scope = GRANTED + " openid"
    creds = sign_in(stub, store, Browser(lambda s: {"code": "abc", "state": s}))
    assert creds.refresh_token == "refresh-1" and store.get_secret(TOKEN_SECRET, "default")


def test_a_wrong_code_is_one_sentence(stub: YouTubeStub, store: MemoryStore) -> None:
    with pytest.raises(ShortsError, match=r"^Google refused the sign-in \(invalid_grant\)") as e:
        sign_in(stub, store, Browser(lambda s: {"code": "wrong", "state": s}))
    no_secrets_in(e.value)


def test_a_plain_http_token_address_is_explained(
    stub: YouTubeStub, store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT")
    with pytest.raises(UserError, match="OAUTHLIB_INSECURE_TRANSPORT=1"):
        sign_in(stub, store, Browser())


# -- the stored token ------------------------------------------------------------------------


def stored(stub: YouTubeStub, store: MemoryStore, *, expired: bool) -> None:
    expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=-1 if expired else 1)
    creds = Credentials(
        token="access-1", refresh_token="refresh-1", token_uri=stub.token_uri,
        client_id="cid", client_secret="client-secret-value", scopes=list(SCOPES), expiry=expiry,
    )
    store.set_secret(TOKEN_SECRET, creds.to_json(), "default")


def test_no_stored_token_means_not_connected(store: MemoryStore) -> None:
    assert load_credentials(store, "default") is None


def test_a_fresh_token_is_used_as_it_is(stub: YouTubeStub, store: MemoryStore) -> None:
    stored(stub, store, expired=False)
    creds = load_credentials(store, "default", token_uri=stub.token_uri)
    assert creds is not None and creds.token == "access-1" and stub.token_requests == []


def test_an_expired_token_is_refreshed_and_the_new_one_stored(
    stub: YouTubeStub, store: MemoryStore
) -> None:
    stored(stub, store, expired=True)
    creds = load_credentials(store, "default", token_uri=stub.token_uri)
    assert creds is not None and creds.token == stub.access_token != "access-1"
    assert stub.token_requests[0]["grant_type"] == "refresh_token"
    saved = json.loads(store.get_secret(TOKEN_SECRET, "default") or "{}")
    assert saved["token"] == creds.token and saved["refresh_token"] == "refresh-1"
    assert load_credentials(store, "default", token_uri=stub.token_uri).token == creds.token


def test_a_revoked_refresh_token_asks_to_reconnect(stub: YouTubeStub, store: MemoryStore) -> None:
    stored(stub, store, expired=True)
    stub.refresh_error = "invalid_grant"
    with pytest.raises(ReconnectNeeded) as caught:
        load_credentials(store, "default", token_uri=stub.token_uri)
    assert str(caught.value) == RECONNECT
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    no_secrets_in(caught.value)


def test_another_refresh_refusal_names_only_the_error_code(
    stub: YouTubeStub, store: MemoryStore
) -> None:
    stored(stub, store, expired=True)
    stub.refresh_error = "unauthorized_client"
    with pytest.raises(ReconnectNeeded, match=r"\(unauthorized_client\); connect") as caught:
        load_credentials(store, "default", token_uri=stub.token_uri)
    no_secrets_in(caught.value)


@pytest.mark.parametrize("raw", ["{broken", "[]", '{"token": "access-1"}'])
def test_a_damaged_token_asks_to_reconnect(store: MemoryStore, raw: str) -> None:
    store.set_secret(TOKEN_SECRET, raw, "default")
    with pytest.raises(ReconnectNeeded, match="damaged") as caught:
        load_credentials(store, "default")
    no_secrets_in(caught.value)


# -- the channel and signing out -------------------------------------------------------------


def test_channel_names_the_connected_channel(stub: YouTubeStub, store: MemoryStore) -> None:
    stored(stub, store, expired=False)
    creds = load_credentials(store, "default", token_uri=stub.token_uri)
    assert creds is not None
    assert channel(creds, stub.api_root) == Channel("UCstub123", "Stub Channel")
    assert ("GET", "/youtube/v3/channels", 200) in stub.requests


def test_an_account_without_a_channel_is_told_to_make_one(
    stub: YouTubeStub, store: MemoryStore
) -> None:
    stored(stub, store, expired=False)
    stub.no_channel = True
    creds = load_credentials(store, "default", token_uri=stub.token_uri)
    assert creds is not None
    with pytest.raises(UserError) as caught:
        channel(creds, stub.api_root)
    assert str(caught.value) == NO_CHANNEL


def test_a_rejected_token_on_the_channel_asks_to_reconnect(
    stub: YouTubeStub, store: MemoryStore
) -> None:
    stored(stub, store, expired=False)
    creds = load_credentials(store, "default", token_uri=stub.token_uri)
    assert creds is not None
    stub.expire_tokens()
    stub.refresh_error = "invalid_grant"
    with pytest.raises(ReconnectNeeded) as caught:
        channel(creds, stub.api_root)
    assert str(caught.value) == RECONNECT
    no_secrets_in(caught.value)


def test_logout_revokes_at_google_and_forgets_the_token(
    stub: YouTubeStub, store: MemoryStore
) -> None:
    stored(stub, store, expired=False)
    assert logout(store, "default", revoke_uri=stub.revoke_uri) is None
    assert stub.revoked == ["refresh-1"] and store.values == {}


def test_logout_still_forgets_when_google_cannot_be_told(
    stub: YouTubeStub, store: MemoryStore
) -> None:
    stored(stub, store, expired=False)
    stub.revoke_status = 503
    note = logout(store, "default", revoke_uri=stub.revoke_uri)
    assert note is not None and "HTTP 503" in note and "myaccount.google.com" in note
    assert store.values == {}
    no_secrets_in(Exception(note))


def test_logout_when_google_is_unreachable_notes_it(store: MemoryStore) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/revoke"
    store.set_secret(TOKEN_SECRET, json.dumps({"refresh_token": "refresh-1"}), "default")
    note = logout(store, "default", revoke_uri=dead)
    assert note is not None and note.startswith("Google could not be reached")
    assert store.values == {}


def test_logout_with_nothing_connected_is_quiet(store: MemoryStore) -> None:
    assert logout(store, "default", revoke_uri="http://127.0.0.1:9/revoke") is None
