"""The lane for small files, against a scripted server on 127.0.0.1: several PUTs out at
once from one thread, each file's checksums and row, and every case it does not take
handed back (with its reason) instead of guessed at."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import crc32c
import pytest

from shorts_desktop.core.transfers import EngineConfig, MemoryTransferStore, TransferEngine
from shorts_desktop.core.transfers.fastput import SignedPut
from shorts_desktop.core.transfers.lane import Declined, LaneJob, PutLane
from shorts_desktop.core.transfers.retry import IntegrityError
from tests.stubs.scripted_http import OK, ScriptedServer, fast_put, self_signed


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    s = ScriptedServer()
    yield s
    s.close()


class Lane:
    """A lane on an engine whose client writes to the scripted server, and what it did."""

    def __init__(self, port: int, in_flight: int = 4, read_timeout: float = 5,
                 extra: dict[str, str] | None = None, ca: Path | None = None) -> None:
        client = fast_put(port, read_timeout=read_timeout, ca=ca)._client
        self.store = MemoryTransferStore()
        self.engine = TransferEngine(client, EngineConfig(checksum="crc32c"), self.store)
        self.jobs: list[LaneJob] = []
        self.results: dict[str, BaseException | None] = {}
        self.ended = threading.Condition()
        self.threads: set[str] = set()
        lane = self.engine.open_lane("bucket", lambda key: dict(extra or {}), self._take,
                                     in_flight)
        assert lane is not None
        self.lane: PutLane = lane

    def _take(self, n: int) -> list[LaneJob]:
        taken, self.jobs = self.jobs[:n], self.jobs[n:]
        return taken

    def send(self, files: list[Path], source: dict[Path, tuple[int, int]] | None = None,
             timeout: float = 10) -> dict[str, BaseException | None]:
        for path in files:
            st = path.stat()
            known = (source or {}).get(path, (st.st_size, st.st_mtime_ns))

            def done(job: LaneJob, reason: BaseException | None, name: str = path.name) -> None:
                with self.ended:
                    self.threads.add(threading.current_thread().name)
                    self.results[name] = reason
                    self.ended.notify_all()

            self.jobs.append(LaneJob(path.name, path, f"temp/{path.name}", "text/plain",
                                     {"upload-id": path.name}, known, done))
        self.lane.wake()
        deadline = time.monotonic() + timeout
        with self.ended:
            while len(self.results) < len(files) and time.monotonic() < deadline:
                self.ended.wait(0.1)
        return dict(self.results)

    def close(self) -> None:
        self.engine.close()


def texts(tmp_path: Path, count: int, size: int = 8192) -> list[Path]:
    paths = []
    for i in range(count):
        path = tmp_path / f"t{i:03d}.txt"
        path.write_bytes(bytes([65 + i % 26]) * size)
        paths.append(path)
    return paths


def headers_of(request: bytes) -> tuple[dict[str, str], bytes]:
    head, _, body = request.partition(b"\r\n\r\n")
    fields = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return fields, body


def test_many_small_files_go_out_together_from_one_thread(
    server: ScriptedServer, tmp_path: Path,
) -> None:
    lane = Lane(server.port, in_flight=4)
    try:
        files = texts(tmp_path, 24)
        results = lane.send(files)
    finally:
        lane.close()
    assert results == {p.name: None for p in files}
    assert lane.lane.sent == 24
    assert lane.threads == {"shorts-desktop-lane"}  # every answer read by the one thread
    assert 1 <= server.connections <= 4  # kept alive and reused, never more than in flight
    by_key = {}
    for request in server.requests:
        fields, body = headers_of(request)
        by_key[request.split(b" ")[1].decode()] = (fields, body)
    for path in files:
        fields, body = by_key[f"/bucket/temp/{path.name}"]
        data = path.read_bytes()
        assert body == data
        assert fields["x-amz-checksum-crc32c"] == base64.b64encode(
            crc32c.crc32c(data).to_bytes(4, "big")).decode()
        assert fields["x-amz-meta-sha256"] == hashlib.sha256(data).hexdigest()
        assert fields["x-amz-meta-upload-id"] == path.name
        assert fields["content-type"] == "text/plain"
        # the row is completed, with the file's SHA-256
        assert lane.store.states[path.name] == ("completed", None)
        assert lane.store.checksums[path.name] == hashlib.sha256(data).hexdigest()


def test_files_of_every_size_arrive_whole_through_the_one_read_buffer(
    server: ScriptedServer, tmp_path: Path,
) -> None:
    """Each file is read into the same buffer as the one before: a large one, then small
    ones, then the largest the lane takes; none carries another's bytes."""
    sizes = [300_000, 5, 70_000, 1, 1024 * 1024, 12, 0]
    files = []
    for i, size in enumerate(sizes):
        path = tmp_path / f"s{i}.txt"
        path.write_bytes(os.urandom(size))
        files.append(path)
    lane = Lane(server.port, in_flight=1)  # one at a time: each read reuses the buffer
    try:
        results = lane.send(files)
    finally:
        lane.close()
    assert results == {p.name: None for p in files}
    bodies = {r.split(b" ")[1].decode(): headers_of(r)[1] for r in server.requests}
    for path in files:
        assert bodies[f"/bucket/temp/{path.name}"] == path.read_bytes()
        assert lane.store.checksums[path.name] == hashlib.sha256(path.read_bytes()).hexdigest()


class TrickleSocket:
    """A plain socket's sendmsg that takes at most `most` bytes a call, as a full send
    buffer does."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.sent = bytearray()
        self.calls = 0

    def sendmsg(self, buffers: list[memoryview]) -> int:
        self.calls += 1
        room = self.most
        for buffer in buffers:
            take = bytes(buffer[:room])
            self.sent += take
            room -= len(take)
            if not room:
                break
        return self.most - room


@pytest.mark.parametrize("most", [1, 7, 100, 10**9])
def test_a_request_is_written_whole_however_little_each_write_takes(most: int) -> None:
    signed = SignedPut("http://h/b/k", "http://h", "/b/k", "h", {"Content-Length": "300"},
                       memoryview(bytes(range(256)) + b"x" * 44), True)
    sock = TrickleSocket(most)
    signed.write_to(sock)
    assert bytes(sock.sent) == signed.message()
    assert sock.calls == -(-len(signed.message()) // most)


def test_over_https_the_answers_are_read_as_they_are_decrypted(tmp_path: Path) -> None:
    """TLS: the connections are verified and kept; an answer the TLS layer has already
    decrypted is read without waiting for the socket to be readable again."""
    cert, context = self_signed(tmp_path)
    server = ScriptedServer(tls=context)
    lane = Lane(server.port, in_flight=3, ca=cert)
    try:
        files = texts(tmp_path, 15, size=20_000)
        results = lane.send(files)
    finally:
        lane.close()
        server.close()
    assert results == {p.name: None for p in files}
    assert lane.lane.sent == 15 and 1 <= server.connections <= 3
    bodies = {r.split(b" ")[1].decode(): headers_of(r)[1] for r in server.requests}
    assert all(bodies[f"/bucket/temp/{p.name}"] == p.read_bytes() for p in files)


def test_a_certificate_it_cannot_verify_is_botocore_s_ssl_error(tmp_path: Path) -> None:
    _cert, context = self_signed(tmp_path)
    (tmp_path / "other").mkdir()
    other, _ = self_signed(tmp_path / "other")  # trusts another certificate than the server's
    server = ScriptedServer(tls=context)
    lane = Lane(server.port, ca=other)
    try:
        results = lane.send(texts(tmp_path, 1))
    finally:
        lane.close()
        server.close()
    assert isinstance(results["t000.txt"], botocore.exceptions.SSLError)
    assert server.requests == []
    (pool,) = lane.lane._fast._pools.values()  # the failed connection gave its place back
    assert pool.pool.qsize() == pool.pool.maxsize


def test_the_storage_s_write_arguments_are_sent_and_signed(
    server: ScriptedServer, tmp_path: Path,
) -> None:
    lane = Lane(server.port, extra={"ServerSideEncryption": "AES256"})
    try:
        assert lane.send(texts(tmp_path, 1)) == {"t000.txt": None}
    finally:
        lane.close()
    fields, _ = headers_of(server.requests[0])
    assert fields["x-amz-server-side-encryption"] == "AES256"
    assert "x-amz-server-side-encryption" in fields["authorization"]


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\nno",
    b"HTTP/1.1 200 OK\r\nETag: \"abc\"\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
])
def test_an_answer_it_does_not_take_is_handed_back(
    server: ScriptedServer, tmp_path: Path, answer: bytes,
) -> None:
    server.answers = [(answer, False)]
    lane = Lane(server.port, in_flight=1)
    try:
        results = lane.send(texts(tmp_path, 2))
    finally:
        lane.close()
    assert isinstance(results["t000.txt"], Declined)
    assert results["t001.txt"] is None  # the next one goes on, on a new or kept connection
    assert "t000.txt" not in lane.store.states and lane.lane.sent == 1


def test_a_checksum_echo_that_differs_is_an_integrity_error(
    server: ScriptedServer, tmp_path: Path,
) -> None:
    server.answers = [(OK.replace(b"\r\nContent-Length",
                                  b"\r\nx-amz-checksum-crc32c: AAAAAA==\r\nContent-Length"),
                       False)]
    lane = Lane(server.port)
    try:
        results = lane.send(texts(tmp_path, 1))
    finally:
        lane.close()
    assert isinstance(results["t000.txt"], IntegrityError)
    assert lane.store.states == {}


def test_a_file_changed_since_the_intake_looked_is_handed_back(
    server: ScriptedServer, tmp_path: Path,
) -> None:
    path = texts(tmp_path, 1)[0]
    st = path.stat()
    lane = Lane(server.port)
    try:
        results = lane.send([path], source={path: (st.st_size - 1, st.st_mtime_ns)})
    finally:
        lane.close()
    assert isinstance(results["t000.txt"], Declined)
    assert server.requests == []  # nothing sent of it


def test_a_file_that_changes_while_it_is_sent_is_handed_back(
    server: ScriptedServer, tmp_path: Path,
) -> None:
    path = texts(tmp_path, 1)[0]
    server.before_answer = lambda request: path.write_bytes(b"other words" * 10)
    lane = Lane(server.port)
    try:
        results = lane.send([path])
    finally:
        lane.close()
    assert isinstance(results["t000.txt"], Declined)
    assert lane.store.states == {}  # its row is not completed: the regular path sends again


def test_a_closed_connection_is_botocore_s_error_and_not_reused(
    server: ScriptedServer, tmp_path: Path,
) -> None:
    server.answers = [(b"", True)]  # reads the request, closes without a word
    lane = Lane(server.port, in_flight=1)
    try:
        results = lane.send(texts(tmp_path, 2))
    finally:
        lane.close()
    assert isinstance(results["t000.txt"], botocore.exceptions.ConnectionClosedError)
    assert results["t001.txt"] is None
    assert server.connections == 2


def test_a_silent_server_times_out(server: ScriptedServer, tmp_path: Path) -> None:
    gate = threading.Event()
    original = server._talk

    def silent(conn: Any) -> None:
        conn.recv(65536)
        gate.wait(5)
        conn.close()

    server._talk = silent  # type: ignore[method-assign]
    lane = Lane(server.port, read_timeout=0.3)
    try:
        started = time.monotonic()
        results = lane.send(texts(tmp_path, 1), timeout=5)
        took = time.monotonic() - started
    finally:
        gate.set()
        server._talk = original  # type: ignore[method-assign]
        lane.close()
    assert isinstance(results["t000.txt"], botocore.exceptions.ReadTimeoutError)
    assert took < 3


def test_with_a_bandwidth_limit_the_regular_path_sends(
    server: ScriptedServer, tmp_path: Path,
) -> None:
    lane = Lane(server.port)
    lane.engine.set_bandwidth_limit(100_000)
    try:
        results = lane.send(texts(tmp_path, 1))
    finally:
        lane.close()
    assert isinstance(results["t000.txt"], Declined)
    assert server.requests == []


def test_closing_stops_the_thread(server: ScriptedServer, tmp_path: Path) -> None:
    lane = Lane(server.port)
    lane.send(texts(tmp_path, 1))
    lane.close()
    assert lane.lane.closed
    assert not any(t.name == "shorts-desktop-lane" and t.is_alive()
                   for t in threading.enumerate())
