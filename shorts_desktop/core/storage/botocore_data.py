"""The botocore sessions every S3 client is built from, over one data loader per process.

botocore parses megabytes of JSON (the S3 model, the endpoint rules) for a client, while
holding the GIL: the loader keeps what it parsed for every later client (a storage's, an
engine's, the ones new settings build).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import overload

import botocore.exceptions
import botocore.loaders
import botocore.session


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


_loader_lock = threading.Lock()
_shared_loader: botocore.loaders.Loader | None = None


def botocore_session() -> botocore.session.Session:
    """A fresh botocore session over one process-wide data loader: the S3 model and
    endpoint rules (megabytes of JSON, parsed while holding the GIL) are read once, not
    again for every client a storage, an engine or new settings build."""
    global _shared_loader
    with _loader_lock:
        if _shared_loader is None:
            _shared_loader = _DataLoader()
        loader = _shared_loader
    session = botocore.session.get_session()
    session.register_component("data_loader", loader)
    return session
