"""A local YouTube and Google OAuth: resumable uploads, channels, token and revoke endpoints.

It serves what the publish code calls, on 127.0.0.1, with knobs for the failures the code
must survive, and records every byte range it kept so a test can check that each byte of
a file arrived exactly once.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import socket
import struct
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

SCOPES = (
    "https://www.googleapis.com/auth/youtube.upload "
    "https://www.googleapis.com/auth/youtube.readonly"
)
UPLOAD_PATH = "/upload/youtube/v3/videos"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


#: A "Desktop app" OAuth client as Google Cloud Console downloads it.
DESKTOP_CLIENT = {
    "installed": {
        "client_id": "cid.apps.googleusercontent.com",
        "project_id": "shorts",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "client_secret": "client-secret-value",
        "redirect_uris": ["http://localhost"],
    }
}


def refuse_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any name lookup but loopback fail, so a test can never reach Google by mistake.

    Proxy variables go too: a proxy would carry the stub's traffic (or Google's) elsewhere.
    """
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    real = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in LOOPBACK:
            raise socket.gaierror(socket.EAI_NONAME, f"tests may not reach {name}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)


class MemoryStore:
    """The secret store's three methods over a dict (KeyringStore in the app)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}

    def get_secret(self, name: str, profile: str = "default") -> str | None:
        return self.values.get((profile, name))

    def set_secret(self, name: str, value: str, profile: str = "default") -> None:
        self.values[(profile, name)] = value

    def clear_secret(self, name: str, profile: str = "default") -> bool:
        return self.values.pop((profile, name), None) is not None


def google_error(code: int, reason: str, message: str, domain: str = "youtube") -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
        }
    }


INSERT_ERRORS = {
    "quotaExceeded": (
        403,
        google_error(
            403,
            "quotaExceeded",
            'The request cannot be completed because you have exceeded your <a href="/youtube'
            '/v3/getting-started#quota">quota</a>.',
            "youtube.quota",
        ),
    ),
    "uploadLimitExceeded": (
        400,
        google_error(
            400,
            "uploadLimitExceeded",
            "The user has exceeded the number of videos they may upload.",
            "youtube.video",
        ),
    ),
    "forbidden": (403, google_error(403, "forbidden", "Access forbidden.", "youtube.video")),
}


@dataclass
class Session:
    """One resumable upload session and what YouTube keeps of it."""

    id: str
    total: int
    metadata: dict[str, Any]
    query: dict[str, list[str]]
    data: bytearray = field(default_factory=bytearray)
    ranges: list[tuple[int, int]] = field(default_factory=list)  # [start, end) as received
    video_id: str | None = None


class YouTubeStub:
    """Start with `with YouTubeStub() as stub:`; `stub.api_root` replaces Google's root."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # -- knobs: set them before (or while) the code under test runs ---------------------
        self.fail_puts: set[int] = set()  # these data PUTs (1-based, counted overall): 503
        self.insert_error: str | None = None  # a key of INSERT_ERRORS, on the session start
        self.unauthorized_put: int | None = None  # this data PUT: 401, every token expired
        self.cut_put: int | None = None  # this data PUT: half its body kept, connection reset
        self.stall_after: int | None = None  # later data PUTs wait for `release`, keep nothing
        self.expired: set[str] = set()  # these sessions answer 404 (see expire_sessions)
        self.refresh_error: str | None = None  # e.g. "invalid_grant" from the token endpoint
        self.force_private = False  # what Google does to an unverified project's uploads
        self.granted_scope: str | None = None  # the scope an authorization code grants
        self.no_channel = False
        self.revoke_status = 200
        self.auth_code = "abc"
        # -- state and records ----------------------------------------------------------------
        self.access_token = "access-1"
        self.refresh_token = "refresh-1"
        self.valid_tokens = {self.access_token}
        self.refresh_tokens = {self.refresh_token}
        self.sessions: dict[str, Session] = {}
        self.videos: dict[str, dict[str, Any]] = {}
        self.data_puts = 0
        self.status_queries = 0
        self.token_requests: list[dict[str, str]] = []
        self.revoked: list[str] = []
        self.requests: list[tuple[str, str, int]] = []  # method, path, status
        self.stalled = threading.Event()
        self.release = threading.Event()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> YouTubeStub:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.block_on_close = False
        server.stub = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="youtube-stub"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> YouTubeStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    api_root = url

    @property
    def token_uri(self) -> str:
        return self.url + "token"

    @property
    def revoke_uri(self) -> str:
        return self.url + "revoke"

    # -- helpers for tests ----------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (a refresh gets a new one)."""
        with self.lock:
            self.valid_tokens.clear()

    def expire_sessions(self) -> None:
        """Every session so far is forgotten, as YouTube does after about a week."""
        with self.lock:
            self.expired |= set(self.sessions)

    def session(self) -> Session:
        """The only session (a test that made more asks `sessions` itself)."""
        assert len(self.sessions) == 1, list(self.sessions)
        return next(iter(self.sessions.values()))

    def assert_each_byte_once(self, session: Session, expected: bytes) -> None:
        """The ranges kept cover the file end to end, none twice, and the bytes are the file."""
        position = 0
        for start, end in sorted(session.ranges):
            assert start == position, f"range {start}-{end} after byte {position}: gap or repeat"
            position = end
        assert position == len(expected) == session.total
        assert bytes(session.data) == expected

    def new_token(self) -> str:
        token = f"access-{next(self._ids) + 1}"
        self.valid_tokens.add(token)
        self.access_token = token
        return token


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    @property
    def stub(self) -> YouTubeStub:
        stub: YouTubeStub = self.server.stub
        return stub

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- plumbing -------------------------------------------------------------------------------

    def _split(self) -> tuple[str, dict[str, list[str]]]:
        parts = urllib.parse.urlsplit(self.path)
        return parts.path, urllib.parse.parse_qs(parts.query)

    def _body(self, limit: int | None = None) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length if limit is None else min(limit, length))

    def _send(
        self, status: int, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode() if isinstance(body, dict | list) else (body or b"")
        # Recorded before the answer goes out: once the client has it, the record is there.
        self.stub.requests.append((self.command, self._split()[0], status))
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if isinstance(body, dict | list):
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _reset(self) -> None:
        """Drop the connection with a TCP reset, as a network cut would."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.wfile.close()
        self.connection.close()
        self.wfile = io.BytesIO()  # what BaseHTTPRequestHandler flushes after us
        self.close_connection = True
        self.stub.requests.append((self.command, self._split()[0], 0))

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        with self.stub.lock:
            ok = header.startswith("Bearer ") and header[7:] in self.stub.valid_tokens
        if not ok:
            self._send(
                401,
                google_error(401, "authError", "Invalid Credentials", "global"),
                {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        return ok

    # -- routes ---------------------------------------------------------------------------------

    def do_GET(self) -> None:
        path, _ = self._split()
        if path == "/youtube/v3/channels":
            if not self._authorized():
                return
            items = [] if self.stub.no_channel else [
                {"kind": "youtube#channel", "id": "UCstub123", "snippet": {"title": "Stub Channel"}}
            ]
            self._send(200, {"kind": "youtube#channelListResponse", "items": items})
        else:
            self._send(404, google_error(404, "notFound", "Not found."))

    def do_POST(self) -> None:
        path, query = self._split()
        if path == UPLOAD_PATH:
            self._start(query)
        elif path == "/token":
            self._token()
        elif path == "/revoke":
            self._revoke()
        else:
            self._body()
            self._send(404, google_error(404, "notFound", "Not found."))

    def do_PUT(self) -> None:
        path, query = self._split()
        if path == UPLOAD_PATH and "upload_id" in query:
            self._chunk(query["upload_id"][0])
        else:
            self._body()
            self._send(404, google_error(404, "notFound", "Not found."))

    def _start(self, query: dict[str, list[str]]) -> None:
        body = self._body()
        if not self._authorized():
            return
        stub = self.stub
        if stub.insert_error:
            status, error = INSERT_ERRORS[stub.insert_error]
            self._send(status, error)
            return
        assert query.get("uploadType") == ["resumable"], query
        total = int(self.headers["X-Upload-Content-Length"])
        with stub.lock:
            session = Session(f"s{len(stub.sessions) + 1}", total, json.loads(body or b"{}"), query)
            stub.sessions[session.id] = session
        location = f"{stub.url[:-1]}{UPLOAD_PATH}?uploadType=resumable&upload_id={session.id}"
        self._send(200, None, {"Location": location})

    def _chunk(self, upload_id: str) -> None:
        stub = self.stub
        content_range = self.headers.get("Content-Range", "")
        session = stub.sessions.get(upload_id)
        if session is None or upload_id in stub.expired:
            self._body()
            self._send(404, google_error(404, "notFound", "Upload session not found."))
            return
        if content_range.startswith("bytes */"):
            self._body()
            stub.status_queries += 1
            self._answer(session)
            return

        with stub.lock:
            stub.data_puts += 1
            number = stub.data_puts
        if stub.stall_after is not None and number > stub.stall_after:
            stub.stalled.set()
            stub.release.wait(30)
            self._reset()
            return
        spec, _, total = content_range[len("bytes "):].partition("/")
        start = int(spec.split("-")[0])
        if stub.cut_put == number:
            self._keep(session, start, self._body(int(self.headers["Content-Length"]) // 2))
            self._reset()
            return
        body = self._body()
        if stub.unauthorized_put == number:
            stub.expire_tokens()
        if not self._authorized():
            return
        if number in stub.fail_puts:
            self._send(503, google_error(503, "backendError", "Backend Error", "global"))
            return
        if start > len(session.data):
            self._send(400, google_error(400, "badContent", "Content-Range leaves a gap."))
            return
        assert total in ("*", str(session.total)), content_range
        self._keep(session, start, body)
        self._answer(session)

    def _keep(self, session: Session, start: int, body: bytes) -> None:
        with self.stub.lock:
            session.ranges.append((start, start + len(body)))
            # Bytes YouTube already holds are not stored twice (the ranges record them).
            session.data.extend(body[len(session.data) - start:])

    def _answer(self, session: Session) -> None:
        """308 with what is held so far, or the video once the last byte is in."""
        stub = self.stub
        with stub.lock:
            if len(session.data) < session.total:
                held = len(session.data)
                self._send(308, None, {"Range": f"bytes=0-{held - 1}"} if held else {})
                return
            if session.video_id is None:
                session.video_id = f"vid{len(stub.videos) + 1}"
                status = dict(session.metadata.get("status") or {})
                status.setdefault("privacyStatus", "public")
                if stub.force_private:
                    status["privacyStatus"] = "private"
                status["uploadStatus"] = "uploaded"
                stub.videos[session.video_id] = {
                    "kind": "youtube#video",
                    "id": session.video_id,
                    "snippet": session.metadata.get("snippet") or {},
                    "status": status,
                }
            video = stub.videos[session.video_id]
        self._send(200, video)

    def _form(self) -> dict[str, str]:
        form = {k: v[0] for k, v in urllib.parse.parse_qs(self._body().decode()).items()}
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            form.setdefault("client_id", urllib.parse.unquote(client_id))
            form.setdefault("client_secret", urllib.parse.unquote(secret))
        return form

    def _token(self) -> None:
        stub = self.stub
        form = self._form()
        stub.token_requests.append(form)
        grant = form.get("grant_type")
        with stub.lock:
            if grant == "authorization_code" and form.get("code") == stub.auth_code:
                token = stub.new_token()
                self._send(200, {
                    "access_token": token,
                    "expires_in": 3599,
                    "refresh_token": stub.refresh_token,
                    "scope": stub.granted_scope or SCOPES,
                    "token_type": "Bearer",
                })
                return
            if (
                grant == "refresh_token"
                and not stub.refresh_error
                and form.get("refresh_token") in stub.refresh_tokens
            ):
                token = stub.new_token()
                self._send(200, {
                    "access_token": token, "expires_in": 3599, "scope": SCOPES,
                    "token_type": "Bearer",
                })
                return
        error = stub.refresh_error or "invalid_grant"
        self._send(400, {"error": error, "error_description": "Token has been expired or revoked."})

    def _revoke(self) -> None:
        stub = self.stub
        token = self._form().get("token", "")
        with stub.lock:
            stub.revoked.append(token)
            stub.refresh_tokens.discard(token)
            stub.valid_tokens.discard(token)
        if stub.revoke_status == 200:
            self._send(200, {})
        else:
            self._send(stub.revoke_status, {"error": "backend_error"})


def stub_credentials(stub: YouTubeStub, *, expired: bool = False) -> Any:
    """A sign-in the stub accepts (its access token expired an hour ago when `expired`)."""
    from datetime import UTC, datetime, timedelta

    from google.oauth2.credentials import Credentials

    from shorts_desktop.core.publish.auth import SCOPES

    expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=-1 if expired else 1)
    return Credentials(
        token=stub.access_token, refresh_token=stub.refresh_token, token_uri=stub.token_uri,
        client_id=DESKTOP_CLIENT["installed"]["client_id"],
        client_secret=DESKTOP_CLIENT["installed"]["client_secret"],
        scopes=list(SCOPES), expiry=expiry,
    )


# -- fixtures (registered for every test by the root conftest) -----------------------------------


@pytest.fixture
def stub() -> Iterator[YouTubeStub]:
    """The local YouTube and Google OAuth on 127.0.0.1."""
    with YouTubeStub() as server:
        yield server


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No name but loopback resolves; the stub's plain-HTTP token endpoint is allowed."""
    refuse_internet(monkeypatch)
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
