"""Credentials: precedence, keyring storage, and honest failure when no keyring works."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors
import pytest

from shorts_desktop.core.credentials import (
    AccessKey,
    KeyringStore,
    KeyringUnavailable,
    resolve_credentials,
)
from shorts_desktop.core.errors import UserError


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A real keyring backend that keeps entries in a dict (for precedence tests)."""

    priority = 0  # type: ignore[assignment]  # 0: never picked by keyring on its own

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise keyring.errors.PasswordDeleteError(username)
        del self.entries[(service, username)]


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("locked")


@contextlib.contextmanager
def using(backend: keyring.backend.KeyringBackend) -> Iterator[None]:
    """keyring answers from `backend` inside the block, from the real one after it."""
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    backend = MemoryKeyring()
    with using(backend):
        yield backend


def test_environment_wins_then_dotenv_then_keyring_then_chain(memory_keyring, tmp_path) -> None:
    KeyringStore().set(AccessKey("AKIAKEYRING", "keyring-secret"))
    env = {"AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env-secret"}
    assert resolve_credentials(env, tmp_path).key.access_key_id == "AKIAENV"

    (tmp_path / ".env").write_text("AWS_ACCESS_KEY_ID=AKIADOTENV\nAWS_SECRET_ACCESS_KEY=dot\n")
    resolved = resolve_credentials({}, tmp_path)
    assert resolved.key.access_key_id == "AKIADOTENV" and resolved.source == ".env variables"

    (tmp_path / ".env").unlink()
    resolved = resolve_credentials({}, tmp_path)
    assert resolved.key.access_key_id == "AKIAKEYRING"
    assert resolved.source == "OS keyring (profile default)"

    assert KeyringStore().clear() is True
    resolved = resolve_credentials({}, tmp_path)
    assert resolved.key is None and "chain" in resolved.source
    assert KeyringStore().clear() is False


def test_profiles_are_separate_entries(memory_keyring) -> None:
    store = KeyringStore()
    store.set(AccessKey("AKIAPERSONAL", "s1"), "personal")
    store.set(AccessKey("AKIACLIENT", "s2"), "client-r2")
    assert store.get("personal").access_key_id == "AKIAPERSONAL"
    assert store.get("client-r2").secret_access_key == "s2"
    assert set(memory_keyring.entries) == {
        ("shorts-desktop", "personal"), ("shorts-desktop", "client-r2")
    }


def test_locked_keyring_is_a_sentence_and_falls_back_to_the_chain(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with using(LockedKeyring()):
        with pytest.raises(KeyringUnavailable, match="locked"):
            KeyringStore().set(AccessKey("AKIAX", "secret-value"))
        resolved = resolve_credentials({}, tmp_path)
        assert resolved.key is None
        assert resolved.keyring_problem and "keyring is locked" in resolved.keyring_problem
    assert "keyring request failed" not in caplog.text  # keyring's own words: the caller's


class ItemNotFoundException(Exception):
    """Named as secretstorage's: a backend's own error type, not one of keyring's."""


class DBusFailingKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise ItemNotFoundException("Object does not exist at path /collection/XL_9a_b9DV")


def test_a_backend_error_of_its_own_type_is_a_sentence(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with using(DBusFailingKeyring()):
        with pytest.raises(KeyringUnavailable, match="refused access") as raised:
            KeyringStore().get_secret("openai-key")
        assert "XL_9a_b9DV" not in str(raised.value) and "\n" not in str(raised.value)
        resolved = resolve_credentials({}, tmp_path)
        assert resolved.key is None and resolved.keyring_problem
    assert "ItemNotFoundException" in caplog.text and "XL_9a_b9DV" not in caplog.text


class OverlapKeyring(MemoryKeyring):
    """Counts requests that are in the backend at the same time."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = 0
        self.most_inside = 0
        self.count_lock = threading.Lock()

    def _visit(self) -> None:
        with self.count_lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        time.sleep(0.002)
        with self.count_lock:
            self.inside -= 1

    def get_password(self, service: str, username: str) -> str | None:
        self._visit()
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._visit()
        super().set_password(service, username, password)


def test_one_keyring_request_at_a_time_from_many_threads() -> None:
    backend = OverlapKeyring()
    store = KeyringStore()

    def work(i: int) -> None:
        for n in range(10):
            store.set_secret("token", f"{i}-{n}", f"p{i}")
            assert store.get_secret("token", f"p{i}") == f"{i}-{n}"

    with using(backend), ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert backend.most_inside == 1
    assert len(backend.entries) == 8


@pytest.mark.parametrize("key_id, secret", [("", "x"), ("AKIA", ""), ("AKIA X", "y")])
def test_bad_keys_are_refused(key_id: str, secret: str) -> None:
    with pytest.raises(UserError):
        AccessKey(key_id, secret)


def test_secret_is_not_in_repr() -> None:
    assert "top-secret" not in repr(AccessKey("AKIAREPR", "top-secret"))


def _real_keyring_available() -> bool:
    """True where a real OS keyring answers (tests/run.sh starts a Secret Service)."""
    backend = keyring.get_keyring()
    names = [type(backend).__module__] + [
        type(b).__module__ for b in getattr(backend, "backends", [])
    ]
    if not any("SecretService" in n or "macOS" in n or "Windows" in n for n in names):
        return False
    try:
        keyring.set_password("shorts-desktop-probe", "probe", "1")
        keyring.delete_password("shorts-desktop-probe", "probe")
    except keyring.errors.KeyringError:
        return False
    return True


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shorts_desktop", *args], input=stdin,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.skipif(not _real_keyring_available(),
                    reason="no Secret Service here (tests/run.sh starts one)")
def test_real_secret_service_shared_between_processes(shorts_home: Path) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    stored = _cli("credentials", "set", "--profile", "e2e-profile",
                  stdin=f"AKIAEXAMPLE123\n{secret}\n")
    assert stored.returncode == 0, stored.stderr
    assert secret not in stored.stdout + stored.stderr
    raw = keyring.get_password("shorts-desktop", "e2e-profile")
    assert json.loads(raw) == {"access_key_id": "AKIAEXAMPLE123", "secret_access_key": secret}
    shown = _cli("credentials", "show", "--profile", "e2e-profile")
    assert "OS keyring (profile e2e-profile)" in shown.stdout and secret not in shown.stdout
    assert _cli("credentials", "clear", "--profile", "e2e-profile").returncode == 0
    assert keyring.get_password("shorts-desktop", "e2e-profile") is None
    for path in shorts_home.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes()


def test_no_keyring_backend_gives_one_sentence(shorts_home: Path) -> None:
    env_script = (
        "import keyring, keyring.backends.fail, sys;"
        "keyring.set_keyring(keyring.backends.fail.Keyring());"
        "from shorts_desktop.cli import main; sys.exit(main(['credentials','set']))"
    )
    result = subprocess.run([sys.executable, "-c", env_script], input="AKIAX\nsecret\n",
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: The OS keyring cannot be used")
    assert "Traceback" not in result.stderr and "secret" not in result.stderr.split("key")[0]
