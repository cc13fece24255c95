"""The botocore sessions every S3 client is built from, over one data loader per process.

botocore parses megabytes of JSON (the S3 model, the endpoint rules) for a client, while
holding the GIL: the loader keeps what it parsed for every later client (a storage's, an
engine's, the ones new settings build).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import marshal
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import botocore
import botocore.exceptions
import botocore.loaders
import botocore.session

log = logging.getLogger(__name__)


class _DataLoader(botocore.loaders.Loader):
    """botocore's data loader without the survey that precedes the loading of any model:
    a listing of every service folder it holds (~450, each listed and stat'ed) to learn
    whether the one asked for is among them. A service is looked for in its own folder;
    the whole list is made only for whoever asks to see it."""

    # botocore's only use of the answer is `in` (and a join for its error message); its
    # stubs ask for a list
    def list_available_services(self, type_name: str) -> Sequence[str]:  # type: ignore[override]
        return _ServiceNames(self, type_name)


class _ServiceNames(Sequence[str]):
    """The services that have a model of one type, as `list_available_services` gives
    them; `in` asks the service's own folder."""

    def __init__(self, loader: _DataLoader, type_name: str) -> None:
        self._loader = loader
        self._type_name = type_name

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or not name or os.sep in name or name.startswith("."):
            return False
        try:
            return bool(self._loader.list_api_versions(name, self._type_name))
        except botocore.exceptions.DataNotFoundError:
            return False

    def _all(self) -> list[str]:
        names: list[str] = botocore.loaders.Loader.list_available_services(
            self._loader, self._type_name)
        return names

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())


class _ParsedFiles(botocore.loaders.JSONFileLoader):
    """botocore's JSON data files, each parsed once for the machine, not at every start:
    for an S3 client that is ~36 ms of JSON with the GIL held (the endpoints, the S3 model,
    its rules), and ~7 ms to load from `marshal`. A copy of each lives in a folder of the
    app's cache per botocore and Python version, named after the file's place among
    botocore's data (one copy a file, wherever the app runs from), with the size and
    modification time of the file it was parsed from: a copy of another is parsed again and
    replaced. One that cannot be read or written is passed by, and the JSON is parsed as
    botocore parses it. botocore reads its JSON into OrderedDicts; the copies are plain
    dicts, which keep their order (botocore calls no method only an OrderedDict has)."""

    def __init__(self, folder: Path) -> None:
        major, minor = sys.version_info[:2]
        self._folder = folder / f"botocore-{botocore.__version__}-python{major}.{minor}"

    def load_file(self, file_path: str) -> Any:
        for ext, open_method in botocore.loaders._JSON_OPEN_METHODS.items():  # type: ignore[attr-defined]
            source = file_path + ext
            try:
                st = os.stat(source)
            except OSError:
                continue
            place = "/".join(Path(source).parts[-3:])  # service/version/name.json, or data/…
            copy = self._folder / f"{hashlib.sha256(place.encode()).hexdigest()[:32]}.marshal"
            stamp = (st.st_size, st.st_mtime_ns)
            try:
                kept_stamp, kept = marshal.loads(copy.read_bytes())
                if tuple(kept_stamp) == stamp:
                    return kept
            except (OSError, EOFError, ValueError, TypeError):
                pass  # none yet, or not readable: parsed below
            data = self._load_file(source, open_method)  # type: ignore[attr-defined]
            if data is not None:
                data = _plain(data)
                self._keep(copy, stamp, data)
            return data
        return None

    def _keep(self, copy: Path, stamp: tuple[int, int], data: Any) -> None:
        part = copy.with_name(f"{copy.name}.{os.getpid()}.{threading.get_ident()}.part")
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            part.write_bytes(marshal.dumps((stamp, data)))
            os.replace(part, copy)  # whole, or not there: another process may read it now
        except (OSError, ValueError):
            log.info("could not keep a parsed copy of botocore's data in %s", self._folder,
                     exc_info=True)
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)


def _plain(data: Any) -> Any:
    """JSON data with every OrderedDict a dict (what marshal writes)."""
    if isinstance(data, dict):
        return {key: _plain(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_plain(value) for value in data]
    return data


_loader_lock = threading.Lock()
_shared_loaders: dict[Path | None, botocore.loaders.Loader] = {}


def botocore_session(parsed_cache: Path | None = None) -> botocore.session.Session:
    """A fresh botocore session over one data loader per process (and cache folder): the
    S3 model and endpoint rules (megabytes of JSON, parsed while holding the GIL) are read
    once, not again for every client a storage, an engine or new settings build; with
    `parsed_cache`, once for the machine (`_ParsedFiles`)."""
    with _loader_lock:
        loader = _shared_loaders.get(parsed_cache)
        if loader is None:
            loader = _shared_loaders[parsed_cache] = _DataLoader(
                file_loader=None if parsed_cache is None else _ParsedFiles(parsed_cache))
    session = botocore.session.get_session()
    session.register_component("data_loader", loader)
    return session
