"""The botocore sessions the S3 clients are built from (storage/botocore_data.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import botocore.exceptions
import botocore.loaders
import pytest

from shorts_desktop.core.storage.botocore_data import _DataLoader, botocore_session

DATA = Path(botocore.__file__).parent / "data"


def test_an_s3_client_is_built_without_listing_every_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Building a client looks into S3's own folder, not through all ~450 of botocore's."""
    listed: list[str] = []
    real_listdir = os.listdir

    def listdir(path: Any = ".") -> list[str]:
        listed.append(os.fspath(path))
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", listdir)
    monkeypatch.setattr("shorts_desktop.core.storage.botocore_data._shared_loader", None)
    client = botocore_session().create_client(
        "s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    assert client.meta.service_model.service_name == "s3"
    assert os.fspath(DATA) not in listed
    assert os.fspath(DATA / "s3") in listed  # its model's versions: looked up directly
    assert not any(p.startswith(os.fspath(DATA / "ec2")) for p in listed)


def test_the_services_known_are_those_botocore_lists() -> None:
    ours, botocores = _DataLoader(), botocore.loaders.Loader()
    names = ours.list_available_services("service-2")
    assert "s3" in names and "sts" in names
    assert "no-such-service" not in names
    for odd in ("", "../data", ".", "s3/2006-03-01", 3):
        assert odd not in names
    assert list(names) == botocores.list_available_services("service-2")
    assert len(names) > 100 and names[0] == botocores.list_available_services("service-2")[0]


def test_an_unknown_service_is_refused_as_botocore_refuses_it() -> None:
    session = botocore_session()
    with pytest.raises(botocore.exceptions.UnknownServiceError) as caught:
        session.create_client("no-such-service", region_name="us-east-1")
    assert "s3" in str(caught.value)  # it names the ones there are, as botocore does
