"""kill -9 of a real CLI process inside a crash window (issue 13), then the next run.

A small HTTP proxy sits between the CLI and the local S3 server: it forwards every request,
but once S3 has carried out the one the test names (the DeleteObject of a promote's
temporary copy, a cleanup's DeleteObjects) it holds the answer until the test has killed
the CLI. What S3 did is done; the database never heard of it. The next command must finish
the work: the row completed and permanent, nothing orphaned, nothing wrongly `missing`.
"""

from __future__ import annotations

import http.client
import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.media import make_mp4

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


class HoldingProxy:
    """Forwards to `upstream`; the first request `hold(method, path)` picks is carried out
    upstream, then its answer waits until `release()` (the client is dead by then)."""

    def __init__(self, upstream: str, hold: Callable[[str, str], bool]) -> None:
        self.upstream = urlsplit(upstream)
        self.hold = hold
        self.held = threading.Event()  # S3 has done the held request
        self.released = threading.Event()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            self.rfile.readline()
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _forward(self) -> None:
                body = self._body()
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_BY_HOP}
                if body or self.command in ("PUT", "POST"):
                    headers["Content-Length"] = str(len(body))
                conn = http.client.HTTPConnection(proxy.upstream.hostname or "127.0.0.1",
                                                  proxy.upstream.port, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                finally:
                    conn.close()
                if proxy._picks(self.command, self.path):
                    proxy.held.set()
                    proxy.released.wait(60)
                    return  # the client was killed waiting for this answer
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                length = response.getheader("Content-Length")
                self.send_header("Content-Length",
                                 length if self.command == "HEAD" and length else str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _picks(self, method: str, path: str) -> bool:
        with self._lock:
            return not self.held.is_set() and self.hold(method, path)

    def __enter__(self) -> HoldingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def ok_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def keys(s3_bucket: tuple[str, Any]) -> list[str]:
    bucket, s3 = s3_bucket
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def row(shorts_home: Path, upload_id: str) -> dict[str, Any]:
    db = shorts_home / "data" / "shorts-desktop.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        found = conn.execute("SELECT * FROM upload WHERE id = ?", (upload_id,)).fetchone()
    assert found is not None
    return dict(found)


def kill_inside(args: list[str], proxy: HoldingProxy, env: dict[str, str], cwd: Path) -> None:
    """Run the CLI through `proxy` and kill -9 it once S3 has done the held request."""
    with subprocess.Popen([sys.executable, "-m", "shorts_desktop", *args],
                          env={**env, "S3_ENDPOINT_URL": proxy.url}, cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as process:
        try:
            deadline = time.monotonic() + 90
            while not proxy.held.wait(0.05):
                if process.poll() is not None:
                    pytest.fail(f"the CLI ended (exit {process.returncode}) before the "
                                f"window: {process.communicate()[0]}")
                if time.monotonic() > deadline:
                    pytest.fail("the CLI never reached the window")
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)
            assert process.returncode == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=30)
            proxy.released.set()


@pytest.fixture
def proxied(s3_server: Any) -> Iterator[Callable[[Callable[[str, str], bool]], HoldingProxy]]:
    proxies: list[HoldingProxy] = []

    def make(hold: Callable[[str, str], bool]) -> HoldingProxy:
        proxy = HoldingProxy(s3_server.endpoint_url, hold).__enter__()
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.__exit__()


@pytest.mark.parametrize("then", ["promote", "sync"])
def test_promote_killed_after_s3_deleted_the_temp_copy(
    run_cli, cli_env, s3_bucket, shorts_home, tmp_path, proxied, then: str
) -> None:
    clip = make_mp4(tmp_path / "keeper.mp4", 100_000)
    up = ok_json(run_cli("upload", "video", str(clip), "--json"))
    temp_key = up["key"]
    permanent_key = f"videos/{up['id']}/keeper.mp4"
    proxy = proxied(lambda method, path: method == "DELETE" and path.endswith(temp_key))
    kill_inside(["promote", up["id"]], proxy, cli_env, tmp_path)

    assert keys(s3_bucket) == [permanent_key]  # S3 did it all ...
    left = row(shorts_home, up["id"])
    assert left["key"] == temp_key and left["is_temp"] == 1  # ... the row heard nothing
    assert left["promote_key"] == permanent_key  # but knows where it was going

    if then == "promote":
        done = ok_json(run_cli("promote", up["id"], "--json"))
        assert done["changed"] is True
    else:
        report = ok_json(run_cli("sync", "--json"))
        assert report["promoted"] == [up["id"]] and report["missing"] == []
        assert report["foreign"] == []
        printed = run_cli("sync")
        assert "0 missing" in printed.stdout, printed.stdout
    final = ok_json(run_cli("uploads", "--json"))
    (only,) = final
    assert (only["id"], only["status"], only["is_temp"], only["key"]) == (
        up["id"], "completed", False, permanent_key)
    assert row(shorts_home, up["id"])["promote_key"] is None
    assert keys(s3_bucket) == [permanent_key]  # nothing orphaned, nothing lost
    bucket, s3 = s3_bucket
    assert s3.get_object(Bucket=bucket, Key=permanent_key)["Body"].read() == clip.read_bytes()


def test_cleanup_killed_after_s3_deleted_its_files(
    run_cli, cli_env, s3_bucket, shorts_home, tmp_path, proxied
) -> None:
    ids = [ok_json(run_cli("upload", "video", str(make_mp4(tmp_path / f"c{i}.mp4", 50_000)),
                           "--json"))["id"] for i in range(2)]
    proxy = proxied(lambda method, path: method == "POST" and "delete" in path)
    kill_inside(["cleanup-temp", "--hours", "0"], proxy, cli_env, tmp_path)
    assert keys(s3_bucket) == []
    assert [row(shorts_home, i)["status"] for i in ids] == ["completed"] * 2

    again = ok_json(run_cli("cleanup-temp", "--hours", "0", "--json"))
    assert again["missing"] == [] and sorted(again["deleted_earlier"]) == sorted(ids)
    assert [row(shorts_home, i)["status"] for i in ids] == ["deleted"] * 2
