"""Signing in to YouTube: the OAuth client file, the browser sign-in, the stored token.

The token (Google's authorized-user JSON, refresh token included) lives only in the secret
store under `youtube-token`; nothing here writes it elsewhere or puts it in a message.
Every Google address is a parameter so that tests and the e2e stub can stand in for it.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, cast

from shorts_desktop.core.credentials import DEFAULT_PROFILE
from shorts_desktop.core.errors import ShortsError, UserError
from shorts_desktop.core.publish._client import DEFAULT_API_ROOT, auth_error, build_service, failure
from shorts_desktop.core.publish.errors import NO_CHANNEL, RECONNECT, ReconnectNeeded

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials

log = logging.getLogger(__name__)

SCOPES = (
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube.readonly",
)
GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GOOGLE_REVOKE_URI = "https://oauth2.googleapis.com/revoke"
TOKEN_SECRET = "youtube-token"
PERMISSIONS_PAGE = "https://myaccount.google.com/permissions"
SIGNED_IN_PAGE = "Signed in to YouTube; you can close this tab and go back to Shorts Desktop."

_GET_A_DESKTOP_CLIENT = (
    "create an OAuth client of type Desktop app in Google Cloud Console (APIs & Services → "
    "Credentials) and download its JSON"
)
NOT_DESKTOP_CLIENT = (
    "This is not an OAuth client for a desktop app; create one of type Desktop app in Google "
    "Cloud Console (APIs & Services → Credentials) and download its JSON."
)
MISSING_PERMISSION = (
    "Google did not grant all the YouTube permissions the app needs; connect the account again "
    "and allow both (upload videos, and see your YouTube account)."
)


class SecretStore(Protocol):
    """Where the token lives: `KeyringStore`, or an in-memory one in tests."""

    def get_secret(self, name: str, profile: str = ...) -> str | None: ...

    def set_secret(self, name: str, value: str, profile: str = ...) -> None: ...

    def clear_secret(self, name: str, profile: str = ...) -> object: ...


class Channel(NamedTuple):
    channel_id: str
    title: str


# -- the OAuth client ------------------------------------------------------------------------


def load_client_secrets(path: Path) -> dict[str, Any]:
    """The client-secrets JSON from Google Cloud Console, checked so login cannot trip on it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"The OAuth client file {path} does not exist.") from None
    except UnicodeDecodeError:
        raise UserError(
            f"{path} is not a JSON file; {_GET_A_DESKTOP_CLIENT}."
        ) from None
    except OSError as exc:
        raise UserError(
            f"The OAuth client file {path} cannot be read ({exc.strerror or exc})."
        ) from None
    try:
        data = json.loads(text)
    except ValueError:
        raise UserError(f"{path} is not a JSON file; {_GET_A_DESKTOP_CLIENT}.") from None
    return parse_client_config(data, str(path))


def parse_client_config(data: object, name: str = "The OAuth client") -> dict[str, Any]:
    """`data` as {"installed"|"web": {...}} with Google's addresses filled in, or UserError."""
    if isinstance(data, dict) and data.get("type") == "service_account":
        raise UserError(
            f"{name} is a service-account key, which cannot upload to a channel; "
            f"{_GET_A_DESKTOP_CLIENT}."
        )
    if isinstance(data, dict) and data.get("type") == "authorized_user":
        raise UserError(f"{name} is a saved sign-in, not an OAuth client; {_GET_A_DESKTOP_CLIENT}.")
    section = next((s for s in ("installed", "web") if isinstance(data, dict) and s in data), None)
    if section is None or not isinstance(data, dict):
        raise UserError(
            f"{name} is not a Google OAuth client-secrets file (it has no \"installed\" "
            f"section); {_GET_A_DESKTOP_CLIENT}."
        )
    info = data[section]
    if not isinstance(info, dict) or not all(
        isinstance(info.get(key), str) and info[key].strip()
        for key in ("client_id", "client_secret")
    ):
        raise UserError(
            f"{name} lacks the client id or secret; download the OAuth client's JSON again "
            "from Google Cloud Console."
        )
    if section == "web" and _web_redirect(info) is None:
        raise UserError(NOT_DESKTOP_CLIENT)
    info = dict(info)
    info.setdefault("auth_uri", GOOGLE_AUTH_URI)
    info.setdefault("token_uri", GOOGLE_TOKEN_URI)
    return {section: info}


def _web_redirect(info: Mapping[str, Any]) -> tuple[str, int, bool] | None:
    """(host, port, trailing slash) of a web client's first loopback redirect, if it has one."""
    uris = info.get("redirect_uris")
    for uri in uris if isinstance(uris, list) else []:
        try:
            parts = urllib.parse.urlsplit(str(uri))
            port = parts.port or 80
        except ValueError:
            continue
        if (
            parts.scheme == "http"
            and parts.hostname in ("localhost", "127.0.0.1")
            and parts.path in ("", "/")
            and not parts.query
        ):
            return parts.hostname, port, parts.path == "/"
    return None


# -- signing in ------------------------------------------------------------------------------


def login(
    client_config: Mapping[str, Any],
    store: SecretStore,
    profile: str = DEFAULT_PROFILE,
    *,
    open_browser: bool = True,
    token_uri: str | None = None,
    port: int = 0,
    on_url: Callable[[str], None] | None = None,
    timeout_seconds: float | None = 300,
) -> Credentials:
    """Google's sign-in in the system browser, answered on a loopback port; stores the token.

    `on_url` gets the sign-in address once the loopback server listens (show it, in case
    no browser opens). Blocks until the browser comes back or `timeout_seconds` pass.
    """
    import webbrowser

    from google_auth_oauthlib.flow import InstalledAppFlow

    config = parse_client_config(dict(client_config))
    section, info = next(iter(config.items()))
    if token_uri:
        info["token_uri"] = token_uri
    if section == "web":
        web = _web_redirect(info)
        assert web is not None  # parse_client_config checked it
        host, port, slash = web
    else:
        host, slash = "127.0.0.1", True

    flow = InstalledAppFlow.from_client_config(config, scopes=list(SCOPES))
    make_url = flow.authorization_url

    def announce(**kwargs: Any) -> Any:
        # run_local_server asks for the address after its server listens and before it waits.
        url, state = make_url(**kwargs)
        if open_browser:
            try:
                webbrowser.open(url, new=1, autoraise=True)
            except webbrowser.Error:
                log.info("no web browser could be opened for the Google sign-in")
        if on_url is not None:
            on_url(url)
        return url, state

    flow.authorization_url = announce
    try:
        creds = _run_flow(flow, host, port, slash, timeout_seconds, info["token_uri"])
    finally:
        flow.oauth2session.close()
    if not creds.refresh_token:
        raise ShortsError(
            "Google sent no lasting sign-in (no refresh token); remove the app's access at "
            f"{PERMISSIONS_PAGE} and connect again."
        )
    save_credentials(store, creds, profile)
    return creds


def _run_flow(
    flow: Any, host: str, port: int, slash: bool, timeout: float | None, token_uri: str
) -> Credentials:
    import requests
    from google_auth_oauthlib.flow import WSGITimeoutError
    from oauthlib.oauth2.rfc6749 import errors as oauth_errors

    try:
        creds: Credentials = flow.run_local_server(
            host=host,
            port=port,
            open_browser=False,  # announce() opens it, and a missing browser is not fatal
            authorization_prompt_message=None,
            success_message=SIGNED_IN_PAGE,
            redirect_uri_trailing_slash=slash,
            timeout_seconds=timeout,
            access_type="offline",
            prompt="consent",  # so a refresh token comes back even on a second sign-in
        )
        return creds
    except WSGITimeoutError:
        raise UserError(
            "The Google sign-in was not finished in the browser in time; connect again."
        ) from None
    except Warning as changed:
        # oauthlib raises (not warns) when Google grants other scopes than asked: fewer when
        # the user unticked a box, more when the account granted this client others before.
        if not hasattr(changed, "token") or not hasattr(changed, "new_scope"):
            raise  # a real warning turned into an error (python -W error), not oauthlib's
        granted = set(changed.new_scope or ())
        if not set(SCOPES) <= granted:
            raise UserError(MISSING_PERMISSION) from None
        flow.oauth2session.token = changed.token
        granted_creds: Credentials = flow.credentials
        return granted_creds
    except oauth_errors.AccessDeniedError:
        raise UserError(
            "The Google sign-in was cancelled or access was refused; connect again and allow "
            "YouTube access."
        ) from None
    except oauth_errors.MismatchingStateError:
        raise ShortsError(
            "The browser's answer did not belong to this sign-in; connect again."
        ) from None
    except oauth_errors.InsecureTransportError:
        raise UserError(
            f"The token address {token_uri} is not HTTPS; a local test server also needs "
            "OAUTHLIB_INSECURE_TRANSPORT=1."
        ) from None
    except oauth_errors.OAuth2Error as exc:
        code = exc.error if isinstance(exc.error, str) else "unknown"
        raise ShortsError(
            f"Google refused the sign-in ({code}); check the OAuth client file and connect again."
        ) from None
    except requests.RequestException:
        raise ShortsError(
            "Could not reach Google to finish the sign-in; check the internet connection and "
            "connect again."
        ) from None
    except OSError as exc:  # the loopback port is taken or refused
        raise ShortsError(
            f"Could not listen on {host}:{port} for Google's answer "
            f"({exc.strerror or type(exc).__name__}); close what uses it and connect again."
        ) from None


# -- the stored token ------------------------------------------------------------------------


def load_credentials(
    store: SecretStore, profile: str = DEFAULT_PROFILE, *, token_uri: str | None = None
) -> Credentials | None:
    """The stored sign-in, renewed (and the renewal stored) when its access token expired.

    None when no account is connected. `token_uri` replaces Google's token endpoint (the
    stored JSON's own is ignored, as google-auth does, so a file cannot redirect refreshes).
    """
    raw = store.get_secret(TOKEN_SECRET, profile)
    if not raw:
        return None
    creds = _parse_token(raw)
    if token_uri:
        expiry = creds.expiry
        creds = creds.with_token_uri(token_uri)
        creds.expiry = expiry  # with_token_uri's copy drops it: the token would never expire
    if not set(SCOPES) <= set(creds.scopes or ()):
        raise ReconnectNeeded(MISSING_PERMISSION)
    if not creds.valid:
        refresh(creds)
        save_credentials(store, creds, profile)
    return creds


def save_credentials(
    store: SecretStore, creds: Credentials, profile: str = DEFAULT_PROFILE
) -> None:
    """Store `creds` (after a refresh during an upload, say) so the next run starts from them."""
    # google-auth leaves these methods unannotated; cast(Any) keeps mypy strict elsewhere.
    text: str = cast(Any, creds).to_json()
    store.set_secret(TOKEN_SECRET, text, profile)


def _parse_token(raw: str) -> Credentials:
    from google.oauth2.credentials import Credentials

    damaged = ReconnectNeeded(
        "The stored YouTube sign-in is damaged; connect the account again (Settings → Connect "
        "YouTube account, or `shorts-desktop youtube login`)."
    )
    try:
        info = json.loads(raw)
    except ValueError:
        raise damaged from None
    if not isinstance(info, dict):
        raise damaged
    try:
        creds: Credentials = cast(Any, Credentials).from_authorized_user_info(info)
        return creds
    except (ValueError, TypeError, KeyError):
        raise damaged from None


def refresh(creds: Credentials) -> None:
    """A new access token from the refresh token; RECONNECT when Google refuses it."""
    import requests
    from google.auth.transport.requests import Request

    if not creds.refresh_token:
        raise ReconnectNeeded(RECONNECT)
    session = requests.Session()
    try:
        cast(Any, creds).refresh(Request(session))
    except Exception as exc:
        mapped = auth_error(exc)
        if mapped is None:
            raise
        raise mapped from None
    finally:
        session.close()


# -- the channel and signing out -------------------------------------------------------------


def channel(credentials: Credentials, api_root: str = DEFAULT_API_ROOT) -> Channel:
    """The channel the sign-in uploads to, to show the user which account is connected."""
    service = build_service(credentials, api_root)
    try:
        response = service.channels().list(part="snippet", mine=True).execute(num_retries=2)
    except Exception as exc:
        mapped = failure(exc, "read the channel")
        if mapped is None:
            raise
        raise mapped from None
    finally:
        service.close()
    items = response.get("items") if isinstance(response, dict) else None
    if not items:
        raise UserError(NO_CHANNEL)
    first = items[0]
    return Channel(str(first["id"]), str(first.get("snippet", {}).get("title", "")))


def logout(
    store: SecretStore, profile: str = DEFAULT_PROFILE, *, revoke_uri: str | None = None
) -> str | None:
    """Revoke the sign-in at Google and forget it here; a note when Google could not be told.

    The token is removed from the store whatever Google answers.
    """
    raw = store.get_secret(TOKEN_SECRET, profile)
    try:
        if not raw:
            return None
        token = _revocable(raw)
        return None if token is None else _revoke(token, revoke_uri or GOOGLE_REVOKE_URI)
    finally:
        store.clear_secret(TOKEN_SECRET, profile)


def _revocable(raw: str) -> str | None:
    try:
        info = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(info, dict):
        return None
    # Revoking the refresh token revokes the access tokens issued from it too.
    token = info.get("refresh_token") or info.get("token")
    return token if isinstance(token, str) and token else None


def _revoke(token: str, revoke_uri: str) -> str | None:
    import requests

    forgotten = (
        f"it is removed from this computer, and you can remove the app's access at "
        f"{PERMISSIONS_PAGE}."
    )
    session = requests.Session()
    try:
        response = session.post(revoke_uri, data={"token": token}, timeout=20)
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        response.close()
    except requests.RequestException:
        return f"Google could not be reached to revoke the sign-in; {forgotten}"
    finally:
        session.close()
    if status == 200:
        return None
    if status == 400 and isinstance(body, dict) and body.get("error") == "invalid_token":
        return None  # already revoked or expired: nothing left to revoke
    return f"Google did not confirm revoking the sign-in (HTTP {status}); {forgotten}"
