"""E2E fixtures: a local moto S3 server over HTTP, fresh buckets, and a runner for the CLI."""

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

_HERE = Path(__file__).parent
REGION = "us-east-1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto ignores verbose=False here
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)  # 0: a free port
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> Iterator[tuple[str, Any]]:
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    name = f"e2e-{uuid.uuid4().hex}"
    client.create_bucket(Bucket=name)
    yield name, client


@pytest.fixture
def cli_env(s3_server: S3Server, s3_bucket: tuple[str, Any], shorts_home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing-key-id",
        "AWS_SECRET_ACCESS_KEY": "testing-secret",
        "AWS_REGION": REGION,
        "S3_BUCKET_NAME": s3_bucket[0],
        "S3_ENDPOINT_URL": s3_server.endpoint_url,
        "S3_ADDRESSING_STYLE": "path",
        "SHORTS_DESKTOP_HOME": str(shorts_home),
    }


RunCli = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def run_cli(cli_env: dict[str, str], tmp_path: Path) -> RunCli:
    def run(
        *args: str,
        env: dict[str, str] | None = None,
        input: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shorts_desktop", *args],
            env=cli_env if env is None else env,
            input=input,
            timeout=timeout,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )

    return run
