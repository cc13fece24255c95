"""A scripted HTTP/1.1 server on 127.0.0.1 and a FastPut that writes to it itself: what
the fast PUT's and the lane's wire tests talk to."""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from shorts_desktop.core.transfers.fastput import SEND_EVENT, FastPut

OK = (b"HTTP/1.1 200 OK\r\nETag: \"abc\"\r\nx-amz-checksum-crc32: AAAAAA==\r\n"
      b"Content-Length: 0\r\n\r\n")


class ScriptedServer:
    """Answers each request with the next scripted answer; `close_after` closes the
    connection after answering, as a server ending an idle keep-alive connection does."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls  # a server context: HTTPS, each connection's handshake in its thread
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.answers: list[tuple[bytes, bool]] = []
        self.requests: list[bytes] = []
        self.connections = 0
        self.reads: list[int] = []  # recv calls it took to get each whole request
        self._open: list[socket.socket] = []  # the connections it accepted
        self.before_answer: Any = None  # called with each request before it is answered
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError):
                return
        with conn:
            buffer = b""
            while True:
                reads = 0
                while b"\r\n\r\n" not in buffer:
                    more = conn.recv(65536)
                    reads += 1
                    if not more:
                        return
                    buffer += more
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(rest) < length:
                    more = conn.recv(65536)
                    reads += 1
                    rest += more
                self.requests.append(head + b"\r\n\r\n" + rest[:length])
                self.reads.append(reads)
                buffer = rest[length:]
                if self.before_answer is not None:
                    self.before_answer(self.requests[-1])
                answer, close_after = self.answers.pop(0) if self.answers else (OK, False)
                conn.sendall(answer)
                if close_after:
                    return

    def close(self) -> None:
        """Stop, its threads included (a close alone does not wake a blocked accept)."""
        for sock in (self.sock, *self._open):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(5)


def fast_put(port: int, read_timeout: float = 5, host: str = "127.0.0.1",
             ca: Path | None = None) -> FastPut:
    """A FastPut over a client of the server at `port`; HTTPS when `ca` (the certificate
    to trust) is given."""
    client = boto3.client(
        "s3", region_name="us-east-1",
        endpoint_url=f"{'https' if ca else 'http'}://{host}:{port}",
        verify=str(ca) if ca else None,
        aws_access_key_id="AKID", aws_secret_access_key="SECRET",
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                      connect_timeout=2, read_timeout=read_timeout),
    )
    drop_send_hooks(client)
    fast = FastPut(client, sign_payload=False)
    assert fast._only_own_handlers() and not fast._send_hooks
    return fast


def drop_send_hooks(client: Any) -> None:
    """moto, once imported, listens on every client's before-send; the app's clients have
    nothing there, and then the fast path and the lane write requests themselves (what
    the tests that call this are about)."""
    events: Any = client.meta.events
    for handler in list(events._emitter._handlers.prefix_search(SEND_EVENT)):
        for name in ("before-send", "before-send.s3", SEND_EVENT):
            events.unregister(name, handler)


def self_signed(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate for 127.0.0.1 (openssl, as the benchmark makes its own) and a server
    context that presents it."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context
