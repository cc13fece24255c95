"""PutObject for small bodies without botocore's per-call machinery.

For a file of a few KiB botocore spends far more CPU on the call than on the bytes:
parameter validation and serialisation, endpoint rules, a dozen events with their
handlers, a file-like wrapper that forces `Expect: 100-continue` (one more round trip
per file), SigV4 through generic code. This path signs and sends the same request
itself, through the client's own HTTP session (its pool, TLS settings, proxies and
timeouts), and still emits `before-send.s3.PutObject` so that stubs that answer there
(moto's in-process mock, tests) keep working.

It is used only when nothing could tell the difference: SigV4 with static or refreshable
credentials, an endpoint rule that asks for plain `sigv4`, no handlers other than
botocore's own on the call's events, `put_object` not replaced on the client, and
headers it knows how to write. Anything else,
and any answer but 200 (redirects, errors), goes through botocore, which then speaks
for the request as before.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import socket
import ssl
import threading
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import botocore.exceptions as bex
from botocore.awsrequest import AWSPreparedRequest, HeadersDict
from botocore.httpsession import URLLib3Session
from urllib3 import exceptions as u3

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# Header names for the PutObject arguments this path writes; others go through botocore.
EXTRA_HEADERS = {
    "ServerSideEncryption": "x-amz-server-side-encryption",
    "SSEKMSKeyId": "x-amz-server-side-encryption-aws-kms-key-id",
    "StorageClass": "x-amz-storage-class",
    "ACL": "x-amz-acl",
    "CacheControl": "Cache-Control",
    "ContentDisposition": "Content-Disposition",
    "ContentEncoding": "Content-Encoding",
    "ContentLanguage": "Content-Language",
    "Tagging": "x-amz-tagging",
}
UNSIGNED_HEADERS = frozenset({"expect", "transfer-encoding", "user-agent", "x-amzn-trace-id"})
# The events a botocore PutObject emits (before-send excepted: we emit it ourselves).
_STAGES = (
    "provide-client-params", "before-parameter-build", "before-call", "request-created",
    "choose-signer", "before-sign", "needs-retry", "response-received", "after-call",
    "after-call-error",
)
CALL_EVENTS = (*(f"{stage}.s3.PutObject" for stage in _STAGES), "before-endpoint-resolution.s3")
OWN_MODULES = ("botocore.", "boto3.", "s3transfer.")
SEND_EVENT = "before-send.s3.PutObject"


def _module_of(handler: Any) -> str:
    target = getattr(handler, "func", handler)  # functools.partial
    module = getattr(target, "__module__", None) or type(target).__module__
    return str(module or "")


def _printable(value: str) -> bool:
    return value.isascii() and value.isprintable()


class FastPut:
    """Signs and sends small PutObject requests; `put` returns None when botocore must."""

    def __init__(self, client: S3Client, sign_payload: bool) -> None:
        self._client = client
        self._sign_payload = sign_payload
        self._lock = threading.Lock()
        self._endpoints: dict[str, tuple[str, str, str, str] | None] = {}
        self._direct: dict[str, bool] = {}  # url prefix -> no proxy: straight to the pool
        # url prefix -> the session's pool for it (its look-up parses the URL every time)
        self._pools: dict[str, Any] = {}
        self._keys: dict[tuple[str, str, str, str], bytes] = {}
        self._seen: object = None
        self._plain = False
        self._send_hooks = True  # handlers on before-send: emit it, send through botocore
        try:
            signer = client._request_signer  # type: ignore[attr-defined]
            events: Any = client.meta.events
            self._events = events
            self._emitter: Any = getattr(events, "_emitter", events)
            self._session = client._endpoint.http_session  # type: ignore[attr-defined]
            self._usable = (
                signer._signature_version in ("s3v4", "v4")
                and signer._credentials is not None
                and hasattr(self._emitter, "_handlers")
                and hasattr(self._emitter, "_lookup_cache")
            )
            self._signer = signer
        except AttributeError:
            self._usable = False

    # -- when it may be used ---------------------------------------------------------------

    @property
    def usable(self) -> bool:
        """Whether the client's signer is one this signs for (SigV4, credentials)."""
        return self._usable

    def _only_own_handlers(self) -> bool:
        """True while every handler on the call's events is botocore's own."""
        cache = self._emitter._lookup_cache  # replaced by every (un)register
        if cache is not self._seen:
            plain = True
            for name in CALL_EVENTS:
                for handler in self._emitter._handlers.prefix_search(name):
                    if not _module_of(handler).startswith(OWN_MODULES):
                        plain = False
            hooks = bool(list(self._emitter._handlers.prefix_search(SEND_EVENT)))
            self._plain, self._send_hooks, self._seen = plain, hooks, cache
        return self._plain

    def _endpoint(self, bucket: str) -> tuple[str, str, str, str] | None:
        """(url prefix, host, signing region, signing name) for `bucket`, or None."""
        with self._lock:
            if bucket in self._endpoints:
                return self._endpoints[bucket]
        found: tuple[str, str, str, str] | None = None
        try:
            model = self._client.meta.service_model.operation_model("PutObject")
            url, headers, props = self._client._resolve_endpoint_ruleset(  # type: ignore[attr-defined]
                model, {"Bucket": bucket, "Key": "k"}, {}
            )
            schemes = (props or {}).get("authSchemes") or [{}]
            scheme = schemes[0]
            parts = urlsplit(url)
            if (
                not headers
                and scheme.get("name") == "sigv4"
                and parts.scheme in ("http", "https")
                and not parts.query
            ):
                path = parts.path[:-1] if parts.path.endswith("/") else parts.path
                region = scheme.get("signingRegion") or self._client.meta.region_name
                prefix = f"{parts.scheme}://{parts.netloc}{path}"
                found = (prefix, _canonical_host(parts.scheme, parts.netloc), str(region),
                         str(scheme.get("signingName") or "s3"))
                direct = type(self._session) is URLLib3Session and not (
                    self._session._proxy_config.proxy_url_for(url)  # type: ignore[attr-defined]
                )
                with self._lock:
                    self._direct[prefix] = direct
        except Exception:
            log.debug("no fast PUT for bucket %s", bucket, exc_info=True)
        with self._lock:
            self._endpoints[bucket] = found
        return found

    # -- the request -----------------------------------------------------------------------

    def sign(
        self, bucket: str, key: str, data: bytes | memoryview, headers: dict[str, str],
        metadata: dict[str, str], extra_args: dict[str, str], payload_sha256: str | None = None,
    ) -> SignedPut | None:
        """The signed request for a PUT of `data`, or None when botocore must send it.
        `payload_sha256`: the body's SHA-256 (hex) when the caller has it already."""
        if (
            not self._usable
            or "put_object" in vars(self._client)  # replaced on the instance (tests, wrappers)
            or not self._only_own_handlers()
        ):
            return None
        endpoint = self._endpoint(bucket)
        if endpoint is None:
            return None
        prefix, host, region, service = endpoint
        all_headers = dict(headers)
        for name, value in metadata.items():
            if not (_printable(name) and _printable(value)):
                return None
            all_headers[f"x-amz-meta-{name}"] = value
        for arg, value in extra_args.items():
            header = EXTRA_HEADERS.get(arg)
            if header is None or not _printable(str(value)):
                return None
            all_headers[header] = str(value)
        creds = self._signer._credentials.get_frozen_credentials()
        path = quote(f"/{key}".encode(), safe="/~")
        url = prefix + path
        if not self._sign_payload:
            payload = UNSIGNED_PAYLOAD
        else:
            payload = payload_sha256 or hashlib.sha256(data).hexdigest()
        now = datetime.datetime.now(datetime.UTC)
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        all_headers["X-Amz-Date"] = amz_date
        all_headers["X-Amz-Content-SHA256"] = payload
        if creds.token:
            all_headers["X-Amz-Security-Token"] = creds.token
        signed_path = urlsplit(url).path
        all_headers["Authorization"] = self.authorization(
            "PUT", signed_path, host, all_headers, payload, creds.access_key,
            creds.secret_key, region, service, amz_date,
        )
        direct = not self._send_hooks and self._direct.get(prefix, False)
        return SignedPut(url, prefix, signed_path, host, all_headers, data, direct)

    def put(
        self, bucket: str, key: str, data: bytes, headers: dict[str, str],
        metadata: dict[str, str], extra_args: dict[str, str],
    ) -> dict[str, Any] | None:
        """PUT `data`; returns {"ETag", "SSEKMSKeyId", "ChecksumCRC32", "ChecksumCRC32C"}
        on 200, None when botocore must do it.

        Connection failures raise the same botocore exceptions a client call would.
        """
        signed = self.sign(bucket, key, data, headers, metadata, extra_args)
        if signed is None:
            return None
        if signed.direct:
            sent = self._send_direct(signed)
            if sent is None:
                return None
            status, answer = sent
        else:
            request = AWSPreparedRequest(
                "PUT", signed.url, HeadersDict(signed.headers), data, False  # type: ignore[arg-type]
            )
            _, stubbed = self._events.emit_until_response(SEND_EVENT, request=request)
            response = stubbed if stubbed is not None else self._session.send(request)
            status = int(response.status_code)
            response.content  # noqa: B018 - read it all: the connection goes back to the pool
            answer = response.headers
        if status != 200:
            return None
        return stored_answer(answer)

    def connection(self, signed: SignedPut) -> tuple[Any, Any, bool]:
        """(pool, connection, reused): one of the session pool's own connections for the
        request, connected (and, over HTTPS, verified) as urlopen would, its socket set to
        the session's read time-out. Errors are urllib3's; the caller translates them."""
        session: Any = self._session
        pool: Any = self._pools.get(signed.prefix)
        if pool is None or pool.pool is None:  # first use, or closed (evicted)
            pool = session._manager.connection_from_url(signed.prefix)
            session._setup_ssl_cert(pool, signed.url, session._verify)
            self._pools[signed.prefix] = pool
        timeout = pool.timeout  # the session's connect and read time-outs
        conn = pool._get_conn()
        reused = conn.sock is not None
        try:
            if not reused:
                conn.timeout = timeout.connect_timeout
                pool._validate_conn(conn)  # HTTPS: connects and verifies, as urlopen does
                if conn.sock is None:
                    conn.connect()
            read_timeout = timeout.read_timeout
            if conn.sock.gettimeout() != read_timeout:
                conn.sock.settimeout(read_timeout)
        except BaseException:  # not connected: closed, and its place in the pool given back
            conn.close()
            pool._put_conn(conn)
            raise
        return pool, conn, reused

    def _send_direct(self, signed: SignedPut) -> tuple[int, Any] | None:
        """The request on one of the session pool's own connections, written and read here.

        Taken when nothing listens on before-send and no proxy applies. urllib3 still
        opens, verifies and pools the connection (same TLS settings, timeouts and pool);
        the request goes out in one write and only the status line and headers of the
        answer are parsed (http.client's response object and email header parser cost
        more than the whole PUT of a small file). None when botocore should send it
        instead: an answer this does not read (chunked, no length, not 200), or a pooled
        connection that the server had closed. Errors are the exceptions botocore raises.
        """
        conn: Any = None
        pool: Any = None
        try:
            pool, conn, reused = self.connection(signed)
            answer = _read_answer(conn.sock, signed, reused)
            if answer is None:
                conn.close()
                return None
            status, fields, keep = answer
            if not keep:
                conn.close()
            pool._put_conn(conn)
            conn = None
            return status, fields
        except CancelledError:
            raise
        except Exception as e:
            raise botocore_error(e, signed) from None
        finally:
            if conn is not None:  # failed half-way: nothing of it may be reused
                conn.close()
                pool._put_conn(conn)

    def authorization(
        self, method: str, path: str, host: str, headers: dict[str, str], payload: str,
        access_key: str, secret_key: str, region: str, service: str, amz_date: str,
    ) -> str:
        """SigV4 as botocore's S3SigV4Auth computes it (S3: no path normalisation)."""
        signed: dict[str, str] = {"host": host}
        for name, value in headers.items():
            lower = name.lower()
            if lower not in UNSIGNED_HEADERS and lower != "authorization":
                signed[lower] = " ".join(str(value).split())
        names = sorted(signed)
        canonical = "\n".join((
            method, path, "", "".join(f"{n}:{signed[n]}\n" for n in names), ";".join(names),
            payload,
        ))
        day = amz_date[:8]
        scope = f"{day}/{region}/{service}/aws4_request"
        to_sign = "\n".join((
            "AWS4-HMAC-SHA256", amz_date, scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ))
        cache_key = (secret_key, day, region, service)
        k = self._keys.get(cache_key)
        if k is None:
            k = hmac.digest(f"AWS4{secret_key}".encode(), day.encode(), "sha256")
            for part in (region, service, "aws4_request"):
                k = hmac.digest(k, part.encode(), "sha256")
            if len(self._keys) > 8:
                self._keys.clear()
            self._keys[cache_key] = k
        signature = hmac.digest(k, to_sign.encode(), "sha256").hex()
        return (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                f"SignedHeaders={';'.join(names)}, Signature={signature}")


class _BadAnswer(Exception):
    """The server's answer is not HTTP/1.1 as this reads it."""


@dataclass(frozen=True, slots=True)
class SignedPut:
    """A signed PutObject request, ready to be written to a connection."""

    url: str
    prefix: str  # the endpoint's url prefix: which pool the connection comes from
    path: str
    host: str
    headers: dict[str, str]
    data: bytes | memoryview
    direct: bool  # nothing listens on before-send and no proxy applies: our own write

    def head(self) -> bytes:
        lines = [f"PUT {self.path} HTTP/1.1", f"Host: {self.host}", "Accept-Encoding: identity"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def message(self) -> bytes:
        return self.head() + self.data

    def write_to(self, sock: Any) -> None:
        """The whole request on `sock`: over plain TCP in one gather write, the body not
        copied behind the head (a second buffer of its size, fresh memory to fault in);
        TLS encrypts it as one message."""
        if isinstance(sock, ssl.SSLSocket) or not hasattr(sock, "sendmsg"):
            sock.sendall(self.message())
            return
        parts = [memoryview(self.head()), memoryview(self.data)]
        while parts:
            sent = sock.sendmsg(parts)
            while parts and sent >= len(parts[0]):
                sent -= len(parts[0])
                parts.pop(0)
            if parts and sent:
                parts[0] = parts[0][sent:]


def stored_answer(fields: Any) -> dict[str, Any] | None:
    """What a 200 answer to a PUT says of the stored object; None without an ETag."""
    etag = fields.get("etag")  # botocore's headers are case-insensitive, ours lower-case
    if etag is None:
        return None
    return {"ETag": etag,
            "SSEKMSKeyId": fields.get("x-amz-server-side-encryption-aws-kms-key-id"),
            "ChecksumCRC32": fields.get("x-amz-checksum-crc32"),
            "ChecksumCRC32C": fields.get("x-amz-checksum-crc32c")}


def botocore_error(e: Exception, signed: SignedPut) -> Exception:
    """The exception botocore would raise for a failure to send `signed`."""
    url = signed.url
    if isinstance(e, u3.SSLError | ssl.SSLError):
        return bex.SSLError(endpoint_url=url, error=e)
    if isinstance(e, u3.NewConnectionError | u3.NameResolutionError | socket.gaierror):
        return bex.EndpointConnectionError(endpoint_url=url, error=e)
    if isinstance(e, u3.ConnectTimeoutError):
        return bex.ConnectTimeoutError(endpoint_url=url, error=e)
    if isinstance(e, TimeoutError):
        return bex.ReadTimeoutError(endpoint_url=url, error=e)
    if isinstance(e, OSError | _BadAnswer):
        request = AWSPreparedRequest(
            "PUT", url, HeadersDict(signed.headers), signed.data, False  # type: ignore[arg-type]
        )
        return bex.ConnectionClosedError(error=e, request=request, endpoint_url=url)
    log.debug("Exception received when sending urllib3 HTTP request", exc_info=e)
    return bex.HTTPClientError(error=e)


_ANSWER_MAX = 64 * 1024  # status line and headers at most
_FIRST_READ = 4096  # S3's answer to a PUT is a few hundred bytes


@dataclass(frozen=True, slots=True)
class AnswerHead:
    """The status line and headers of an answer, and how much of its body is to come."""

    status: int
    fields: dict[str, str]  # lower-case names
    body_left: int  # bytes of body not yet read (negative: more came than announced)
    keep: bool  # the connection may be used again
    framed: bool  # a Content-Length, no Transfer-Encoding: its end is known

    @property
    def readable(self) -> bool:
        """A 200 with a length: an answer this module reads (others go to botocore)."""
        return self.status == 200 and self.framed


def parse_head(buffer: bytes) -> AnswerHead | None:
    """The head of the answer that `buffer` begins with, or None while it is incomplete.
    Raises _BadAnswer for what is not an HTTP/1.x answer."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > _ANSWER_MAX:
            raise _BadAnswer("the answer's headers are too long")
        return None
    lines = buffer[:end].decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise _BadAnswer(f"not an HTTP answer: {lines[0][:40]!r}")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise _BadAnswer("a header line without a colon")
        fields[name.strip().lower()] = value.strip()
    status = int(code)
    length = fields.get("content-length")
    if "transfer-encoding" in fields or length is None or not length.isdigit():
        return AnswerHead(status, fields, 0, False, False)
    keep = version != "HTTP/1.0" and fields.get("connection", "").lower() != "close"
    return AnswerHead(status, fields, int(length) - (len(buffer) - end - 4), keep, True)


def _read_answer(
    sock: socket.socket, signed: SignedPut, reused: bool
) -> tuple[int, dict[str, str], bool] | None:
    """Send `signed`, read the status and headers of the answer and its (empty) body:
    (status, lower-case headers, connection reusable), or None when botocore should send
    the request again (an answer that is not a 200 with a length; a reused connection
    the server had closed before answering)."""
    try:
        signed.write_to(sock)
        buffer = sock.recv(_FIRST_READ)
    except (ConnectionError, BrokenPipeError):
        if reused:
            return None
        raise
    if not buffer:
        if reused:
            return None
        raise _BadAnswer("the server closed the connection without answering")
    head = parse_head(buffer)
    while head is None:
        more = sock.recv(_ANSWER_MAX)
        if not more:
            raise _BadAnswer("the server closed the connection in the middle of its answer")
        buffer += more
        head = parse_head(buffer)
    if not head.readable:
        return None
    left = head.body_left
    while left > 0:
        more = sock.recv(min(left, _ANSWER_MAX))
        if not more:
            raise _BadAnswer("the server closed the connection in the middle of its answer")
        left -= len(more)
    if left < 0:
        raise _BadAnswer("the server sent more than it announced")
    return head.status, head.fields, head.keep


def _canonical_host(scheme: str, netloc: str) -> str:
    """The host as SigV4 signs it: default ports dropped (what http.client sends)."""
    host = netloc.rsplit("@", 1)[-1]
    default = ":443" if scheme == "https" else ":80"
    return host[: -len(default)] if host.endswith(default) else host
