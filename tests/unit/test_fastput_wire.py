"""The fast PUT's own HTTP/1.1 exchange, against a scripted server on 127.0.0.1: one write
per request, connections kept and reused, and every answer it does not read handed back
to botocore (None) instead of being guessed at."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest

from shorts_desktop.core.transfers.fastput import FastPut
from tests.stubs.scripted_http import OK, ScriptedServer, fast_put


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    s = ScriptedServer()
    yield s
    s.close()


def put(fast: FastPut, body: bytes = b"hello") -> dict[str, Any] | None:
    return fast.put("bucket", "dir/a b.txt", body,
                    {"Content-Type": "text/plain", "Content-Length": str(len(body))},
                    {"sha256": "ab" * 32}, {})


def test_requests_reuse_one_connection_and_carry_the_signed_headers(
    server: ScriptedServer,
) -> None:
    fast = fast_put(server.port)
    first, second = put(fast), put(fast, b"again" * 1000)
    assert first == {"ETag": '"abc"', "SSEKMSKeyId": None, "ChecksumCRC32": "AAAAAA==",
                     "ChecksumCRC32C": None}
    assert second is not None and second["ETag"] == '"abc"'
    assert server.connections == 1  # kept alive, reused
    head, _, body = server.requests[1].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "PUT /bucket/dir/a%20b.txt HTTP/1.1"
    fields = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert fields["host"] == f"127.0.0.1:{server.port}"
    assert fields["x-amz-meta-sha256"] == "ab" * 32
    assert fields["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKID/")
    assert "expect" not in fields  # no 100-continue round trip
    assert body == b"again" * 1000


def test_a_connection_the_server_closed_while_idle_is_not_used_again(
    server: ScriptedServer,
) -> None:
    server.answers = [(OK, True)]  # answers, then closes without saying so
    fast = fast_put(server.port)
    assert put(fast) is not None
    time.sleep(0.1)  # the close has reached us: the pool sees it and connects again
    assert put(fast) is not None
    assert server.connections == 2


def test_a_close_that_crosses_the_request_hands_the_put_to_botocore(
    server: ScriptedServer,
) -> None:
    """The server ends the kept connection as the next request arrives (its idle timer ran
    out): that request may never have been read, so botocore sends it again."""
    server.answers = [(OK, False), (b"", True)]  # the second request: closed, no answer
    fast = fast_put(server.port)
    assert put(fast) is not None
    assert put(fast) is None  # nothing is lost, nothing guessed
    assert put(fast) is not None  # and the pool opens a fresh connection after that
    assert server.connections == 2


def test_a_pool_that_was_closed_is_not_written_to(server: ScriptedServer) -> None:
    """The session's pool is kept between PUTs; once closed (urllib3 closes a pool it
    evicts), the next PUT takes the session's pool for the endpoint again."""
    fast = fast_put(server.port)
    assert put(fast) is not None
    manager = fast._session._manager  # type: ignore[attr-defined]
    pool = manager.connection_from_url(f"http://127.0.0.1:{server.port}")
    pool.close()
    manager.clear()
    assert put(fast) is not None and put(fast) is not None
    assert server.connections == 2 and len(server.requests) == 3


def test_connection_close_is_honoured(server: ScriptedServer) -> None:
    server.answers = [(OK.replace(b"Content-Length: 0", b"Connection: close\r\nContent-Length: 0"),
                       True)]
    fast = fast_put(server.port)
    assert put(fast) is not None and put(fast) is not None
    assert server.connections == 2


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 403 Forbidden\r\nContent-Length: 12\r\n\r\n<Error></Error>",
    b"HTTP/1.1 200 OK\r\nETag: \"abc\"\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nETag: \"abc\"\r\n\r\n",  # no length: read until close
])
def test_answers_it_does_not_read_go_to_botocore(server: ScriptedServer, answer: bytes) -> None:
    server.answers = [(answer, False)]
    fast = fast_put(server.port)
    assert put(fast) is None
    assert put(fast) is not None  # that connection was dropped, not reused half-read
    assert server.connections == 2


def test_an_answer_that_is_not_http_is_botocore_s_connection_error(
    server: ScriptedServer,
) -> None:
    server.answers = [(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", True)]
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        put(fast_put(server.port))


def test_a_silent_server_is_botocore_s_read_timeout(server: ScriptedServer) -> None:
    gate = threading.Event()
    server.answers = []
    real_talk = server._talk

    def never_answer(conn: socket.socket) -> None:
        gate.wait(5)
        conn.close()

    server._talk = never_answer  # type: ignore[method-assign]
    try:
        with pytest.raises(botocore.exceptions.ReadTimeoutError):
            put(fast_put(server.port, read_timeout=0.3))
    finally:
        gate.set()
        server._talk = real_talk  # type: ignore[method-assign]


def test_the_host_header_is_the_host_it_signed(server: ScriptedServer) -> None:
    """Spelled as in the endpoint URL (SigV4 signs it so; a lower-cased Host header would
    not match the signature)."""
    fast = fast_put(server.port, host="LocalHost")
    assert put(fast) is not None
    head = server.requests[0].partition(b"\r\n\r\n")[0].decode()
    fields = {k.lower(): v.strip() for k, _, v in
              (line.partition(":") for line in head.split("\r\n")[1:])}
    assert fields["host"] == f"LocalHost:{server.port}"
    signed = fields["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert "host" in signed
    again = fast.authorization(
        "PUT", "/bucket/dir/a%20b.txt", fields["host"],
        {n: fields[n] for n in signed if n != "host"}, fields["x-amz-content-sha256"],
        "AKID", "SECRET", "us-east-1", "s3", fields["x-amz-date"])
    assert again == fields["authorization"]  # what a server recomputes from what it got
