"""The botocore sessions the S3 clients are built from (storage/botocore_data.py)."""

from __future__ import annotations

import json
import marshal
import os
from pathlib import Path
from typing import Any

import botocore.exceptions
import botocore.loaders
import pytest

from shorts_desktop.core.storage import botocore_data
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
    monkeypatch.setattr(botocore_data, "_shared_loaders", {})
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


def s3_client(cache: Path | None) -> Any:
    return botocore_session(cache).create_client(
        "s3", region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s")


def count_json_parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    parsed: list[int] = []
    real = json.loads

    def loads(*args: Any, **kwargs: Any) -> Any:
        parsed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(json, "loads", loads)
    return parsed


def test_botocores_data_is_parsed_once_for_the_machine_not_at_every_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first start keeps each file it parsed; the next (a new loader, as in a new
    process) parses no JSON and builds the same client."""
    monkeypatch.setattr(botocore_data, "_shared_loaders", {})
    first = s3_client(tmp_path)
    copies = list(tmp_path.rglob("*.marshal"))
    assert len(copies) >= 3 and not list(tmp_path.rglob("*.part"))
    monkeypatch.setattr(botocore_data, "_shared_loaders", {})  # the next start
    parsed = count_json_parses(monkeypatch)
    again = s3_client(tmp_path)
    assert parsed == []
    model, model_again = first.meta.service_model, again.meta.service_model
    assert model_again.operation_names == model.operation_names
    assert (model_again.operation_model("PutObject").input_shape.members.keys()
            == model.operation_model("PutObject").input_shape.members.keys())
    params = {"Bucket": "b", "Key": "a k"}
    url, url_first = (c.generate_presigned_url("get_object", Params=params) for c in (again, first))
    assert url.split("?")[0] == url_first.split("?")[0] and "a%20k" in url
    assert botocore_data._DataLoader().load_service_model("s3", "service-2") == (
        botocore.loaders.Loader().load_service_model("s3", "service-2"))


def test_a_damaged_copy_is_parsed_again_and_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(botocore_data, "_shared_loaders", {})
    s3_client(tmp_path)
    for copy in tmp_path.rglob("*.marshal"):
        copy.write_bytes(b"\x00not marshal")
    monkeypatch.setattr(botocore_data, "_shared_loaders", {})
    parsed = count_json_parses(monkeypatch)
    assert s3_client(tmp_path).meta.service_model.service_name == "s3"
    assert parsed  # parsed from botocore's JSON again
    for copy in tmp_path.rglob("*.marshal"):
        _stamp, data = marshal.loads(copy.read_bytes())
        assert isinstance(data, dict)


def test_a_copy_parsed_from_another_file_is_parsed_again_and_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A copy says the size and modification time of the file it came from: one from
    another file in the same place (botocore's data changed, the app moved) is not used."""
    monkeypatch.setattr(botocore_data, "_shared_loaders", {})
    s3_client(tmp_path)
    stamps = {}
    for copy in tmp_path.rglob("*.marshal"):
        stamps[copy], _data = marshal.loads(copy.read_bytes())
        copy.write_bytes(marshal.dumps(((1, 2), {"not": "botocore's"})))
    monkeypatch.setattr(botocore_data, "_shared_loaders", {})
    parsed = count_json_parses(monkeypatch)
    assert s3_client(tmp_path).meta.service_model.service_name == "s3"
    assert len(parsed) == len(stamps)
    assert {copy: marshal.loads(copy.read_bytes())[0] for copy in stamps} == stamps


def test_a_cache_folder_that_cannot_be_written_costs_nothing_but_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(botocore_data, "_shared_loaders", {})
    assert s3_client(blocked).meta.service_model.service_name == "s3"
    assert blocked.read_text() == "not a folder"
