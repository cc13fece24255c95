"""The profiles service: profiles in the settings file, their keys in the OS keyring, and one
behaviour when the keyring cannot be reached (the profile goes, a sentence says the keys stayed).

Keys go to the real Secret Service where tests/run.sh starts one (else those tests skip); the
keyring's own `fail` backend, and a backend that answers "locked", stand for a keyring that
cannot be used. Profiles are real settings files under the test's own data dir.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import keyring.errors
import pytest

from shorts_desktop.core.config import AppPaths, load_settings, read_settings_file
from shorts_desktop.core.credentials import OPENAI_SECRET, KeyringStore, KeyringUnavailable
from shorts_desktop.core.errors import ConfigError, UserError
from shorts_desktop.core.services.profiles import BAD_OPENAI_KEY, Profiles, ProfileService
from tests.unit.test_credentials import MemoryKeyring, _real_keyring_available

REAL_KEYRING = _real_keyring_available()
needs_keyring = pytest.mark.skipif(not REAL_KEYRING,
                                   reason="no Secret Service here (tests/run.sh starts one)")
#: Every entry a profile may keep: the access key, the OpenAI key, the YouTube client and token.
SECRETS = (OPENAI_SECRET, "youtube-client", "youtube-token")


@pytest.fixture
def paths(shorts_home: Path) -> AppPaths:
    return AppPaths.from_environ({"SHORTS_DESKTOP_HOME": str(shorts_home)})


@pytest.fixture
def service(paths: AppPaths, tmp_path: Path) -> ProfileService:
    return ProfileService(paths, environ={}, cwd=tmp_path)


@pytest.fixture
def name() -> Iterator[str]:
    """A profile name no other run uses, whose keyring entries are removed afterwards."""
    profile = f"test-{uuid.uuid4().hex[:10]}"
    yield profile
    if REAL_KEYRING:
        store = KeyringStore()
        store.clear(profile)
        for secret in SECRETS:
            store.clear_secret(secret, profile)


@pytest.fixture
def backend() -> Iterator[None]:
    """Put the keyring backend back as it was after a test that swaps it."""
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


class LockedKeyring(MemoryKeyring):
    """A keyring that holds entries but refuses every request: locked."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("locked")


def _entries(profile: str) -> dict[str, str | None]:
    usernames = [profile] + [f"{profile}/{secret}" for secret in SECRETS]
    return {u: keyring.get_password("shorts-desktop", u) for u in usernames}


# -- profiles ---------------------------------------------------------------------------------


def test_use_lists_and_says_when_the_environment_chooses(
    service: ProfileService, paths: AppPaths, tmp_path: Path
) -> None:
    assert service.profiles() == Profiles("default", "default", ["default"])
    service.use("client")
    listing = service.profiles()
    assert (listing.saved, listing.in_use, listing.names) == ("client", "client",
                                                              ["client", "default"])
    assert not listing.chosen_by_environment
    chosen = ProfileService(paths, environ={"SHORTS_DESKTOP_PROFILE": "default"}, cwd=tmp_path)
    assert chosen.in_use() == "default" and chosen.profiles().chosen_by_environment
    assert load_settings(environ={}, cwd=tmp_path, paths=paths).profile == "client"


def test_a_new_profile_can_start_from_another_ones_settings(
    service: ProfileService, paths: AppPaths
) -> None:
    from shorts_desktop.core.config import save_settings_file

    save_settings_file(paths, {"S3_BUCKET_NAME": "bucket-a"}, "default")
    service.use("copy", copy_from="default")
    assert read_settings_file(paths, "copy") == {"S3_BUCKET_NAME": "bucket-a"}
    assert service.profiles().saved == "copy"


def test_the_active_or_an_unknown_profile_is_refused_and_nothing_is_removed(
    service: ProfileService, backend: None
) -> None:
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    service.save_openai_key("default", "sk-kept")
    with pytest.raises(ConfigError, match="active profile"):
        service.delete("default")
    with pytest.raises(ConfigError, match="no profile 'ghost'"):
        service.delete("ghost")
    assert memory.entries == {("shorts-desktop", f"default/{OPENAI_SECRET}"): "sk-kept"}


@needs_keyring
def test_delete_removes_the_settings_and_every_key_of_the_profile(
    service: ProfileService, paths: AppPaths, name: str
) -> None:
    service.use(name)
    service.save_access_key(name, " AKIAPROFILE1 ", "secret-1")
    service.save_openai_key(name, "sk-profile-1")
    for secret in SECRETS[1:]:
        KeyringStore().set_secret(secret, "{}", name)
    service.save_openai_key("default", "sk-stays")  # another profile's key is not touched
    service.use("default")
    assert all(_entries(name).values())

    deleted = service.delete(name)
    assert deleted.keyring_problem is None
    assert deleted.secrets_removed == ["access key", *SECRETS]
    assert _entries(name) == dict.fromkeys(_entries(name))
    assert name not in service.profiles().names
    assert name not in json.loads(paths.settings_file.read_text())["profiles"]
    assert KeyringStore().get_secret(OPENAI_SECRET, "default") == "sk-stays"
    service.clear_openai_key("default")


@needs_keyring
def test_deleting_a_profile_with_no_keys_is_quiet(service: ProfileService, name: str) -> None:
    service.use(name)
    service.use("default")
    deleted = service.delete(name)
    assert (deleted.secrets_removed, deleted.keyring_problem) == ([], None)


@pytest.mark.parametrize("broken, why", [
    (keyring.backends.fail.Keyring, "no keyring service is available on this system"),
    (LockedKeyring, "the keyring is locked"),
])
def test_a_keyring_that_cannot_be_reached_still_deletes_the_profile_and_says_so(
    service: ProfileService, backend: None, broken: type, why: str
) -> None:
    service.use("client")
    service.use("default")
    keyring.set_keyring(broken())
    deleted = service.delete("client")
    assert deleted.keyring_problem == (
        f"The OS keyring cannot be used ({why}), so the keys of profile client, if it had any, "
        "were left in it.")
    assert "client" not in service.profiles().names


# -- keys -------------------------------------------------------------------------------------


@needs_keyring
def test_access_key_saved_shown_and_cleared(service: ProfileService, name: str) -> None:
    key = service.save_access_key(name, "AKIASERVICE1", "service-secret")
    assert key.access_key_id == "AKIASERVICE1"
    source = service.access_key_source(name)
    assert source.source == f"OS keyring (profile {name})"
    assert source.key is not None and source.key.secret_access_key == "service-secret"
    assert service.clear_access_key(name) is True
    assert service.clear_access_key(name) is False
    assert service.access_key_source(name).key is None


def test_variables_win_over_the_keyring_for_the_access_key(
    paths: AppPaths, tmp_path: Path
) -> None:
    env = {"AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env-secret"}
    source = ProfileService(paths, environ=env, cwd=tmp_path).access_key_source("default")
    assert source.source == "environment variables" and source.key is not None


@pytest.mark.parametrize("pasted", ["", "   ", "sk-one two", "sk-tab\there"])
def test_a_bad_openai_key_is_one_sentence_and_nothing_is_stored(
    service: ProfileService, backend: None, pasted: str
) -> None:
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    with pytest.raises(UserError) as caught:
        service.save_openai_key("default", pasted)
    assert str(caught.value) == BAD_OPENAI_KEY
    assert memory.entries == {}


def test_where_the_openai_key_comes_from_follows_the_narrators_order(
    paths: AppPaths, tmp_path: Path, backend: None
) -> None:
    keyring.set_keyring(MemoryKeyring())
    service = ProfileService(paths, environ={}, cwd=tmp_path)
    assert service.openai_key_source("default") == "none"
    service.save_openai_key("default", "  sk-in-the-keyring  ")
    assert KeyringStore().get_secret(OPENAI_SECRET, "default") == "sk-in-the-keyring"
    assert service.openai_key_source("default") == "keyring"
    assert service.openai_key_source("other") == "none"  # keys are per profile
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-dotenv\n")
    assert service.openai_key_source("default") == ".env"
    env = ProfileService(paths, environ={"OPENAI_API_KEY": "sk-env"}, cwd=tmp_path)
    assert env.openai_key_source("default") == "environment"
    assert service.clear_openai_key("default") is True
    assert service.clear_openai_key("default") is False


def test_an_unreachable_keyring_is_one_error_for_keys(
    service: ProfileService, backend: None
) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    for attempt in (lambda: service.save_openai_key("default", "sk-x"),
                    lambda: service.openai_key_source("default"),
                    lambda: service.save_access_key("default", "AKIAX", "secret"),
                    lambda: service.clear_access_key("default")):
        with pytest.raises(KeyringUnavailable, match=r"^The OS keyring cannot be used"):
            attempt()
    assert service.access_key_source("default").keyring_problem  # a note: the chain may work


# -- the CLI uses the service -------------------------------------------------------------------


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shorts_desktop", *args],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, **env})


def test_cli_profile_delete_without_a_keyring_deletes_and_notes_it() -> None:
    assert _cli("profile", "use", "client").returncode == 0
    assert _cli("profile", "use", "default").returncode == 0
    result = _cli("profile", "delete", "client",
                  PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Deleted profile client.\n"
    assert result.stderr == ("note: The OS keyring cannot be used (no keyring service is "
                             "available on this system), so the keys of profile client, if it "
                             "had any, were left in it.\n")
    listed = _cli("profile", "list", SHORTS_DESKTOP_PROFILE="default")
    assert listed.stdout == "* default\n"
    refused = _cli("profile", "delete", "default")
    assert refused.returncode == 2
    assert refused.stderr == ("error: 'default' is the active profile; switch to another one "
                              "first.\n")
