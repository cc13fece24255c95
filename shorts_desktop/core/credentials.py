"""AWS credentials: explicit variables > the OS keyring > the rest of the AWS chain.

Secrets go through this one small interface. When no keyring backend is usable the
caller is told in a sentence; nothing is ever written to a plaintext file instead.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from shorts_desktop.core.config import read_dotenv
from shorts_desktop.core.errors import StorageError, UserError

KEYRING_SERVICE = "shorts-desktop"
DEFAULT_PROFILE = "default"
OPENAI_SECRET = "openai-key"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.access_key_id.strip() or not self.secret_access_key.strip():
            raise UserError("Both the access key id and the secret access key are needed.")
        if any(c.isspace() for c in self.access_key_id + self.secret_access_key):
            raise UserError("Access keys never contain spaces; check what was pasted.")


@dataclass(frozen=True)
class ResolvedCredentials:
    """What to hand to boto3, and where it came from (for `check` and Settings)."""

    key: AccessKey | None  # None: let boto3's own chain find them
    source: str
    keyring_problem: str | None = None


class KeyringUnavailable(StorageError):
    """No usable keyring backend (headless box, locked or refused keyring).

    `why` is the reason alone ("the keyring is locked"), for sentences that give other advice.
    """

    def __init__(self, message: str, why: str = "the keyring refused access") -> None:
        super().__init__(message)
        self.why = why


def _keyring_error(exc: Exception) -> KeyringUnavailable:
    name = type(exc).__name__
    if name == "NoKeyringError":
        why = "no keyring service is available on this system"
    elif name in ("KeyringLocked", "LockedException"):
        why = "the keyring is locked"
    else:
        why = "the keyring refused access"
    return KeyringUnavailable(
        f"The OS keyring cannot be used ({why}); use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
        "or an AWS profile (~/.aws, SSO) instead.",
        why,
    )


# gnome-keyring loses track of its collection under concurrent requests from one client
# (measured: eight threads writing at once left the login collection locked, or the default
# alias pointing at a collection that no longer exists). One request at a time per process.
_KEYRING_CALLS = threading.Lock()

_T = TypeVar("_T")


def _keyring_call(call: Callable[[], _T]) -> _T:
    """Run one keyring request; whatever the backend raises becomes a KeyringUnavailable.

    The backends raise their own types (secretstorage, jeepney, OSError from D-Bus) besides
    keyring's; to the caller they all mean the keyring could not be used. Only the type is
    logged: a backend's message is not ours to vet for secrets.
    """
    from keyring.errors import KeyringError, PasswordDeleteError

    with _KEYRING_CALLS:
        try:
            return call()
        except PasswordDeleteError:
            raise
        except Exception as exc:
            if not isinstance(exc, KeyringError | RuntimeError):  # not keyring's own words
                log.warning("keyring request failed: %s", type(exc).__name__)
            raise _keyring_error(exc) from None


class KeyringStore:
    """Access keys in the OS keyring: service `shorts-desktop`, one entry per profile."""

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        self.service = service

    def get(self, profile: str = DEFAULT_PROFILE) -> AccessKey | None:
        raw = self._read(profile)
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return AccessKey(data["access_key_id"], data["secret_access_key"])
        except (ValueError, KeyError, TypeError, UserError):
            raise StorageError(
                f"The keyring entry for profile {profile!r} is damaged; run "
                "`shorts-desktop credentials set` again."
            ) from None

    def set(self, key: AccessKey, profile: str = DEFAULT_PROFILE) -> None:
        payload = json.dumps(
            {"access_key_id": key.access_key_id, "secret_access_key": key.secret_access_key}
        )
        self._write(profile, payload)

    def clear(self, profile: str = DEFAULT_PROFILE) -> bool:
        return self._delete(profile)

    # Other secrets (the OpenAI key, the YouTube token) sit beside the access keys, one entry
    # each per profile: "<profile>/<name>" (a profile name never contains a slash).

    def get_secret(self, name: str, profile: str = DEFAULT_PROFILE) -> str | None:
        return self._read(f"{profile}/{name}") or None

    def set_secret(self, name: str, value: str, profile: str = DEFAULT_PROFILE) -> None:
        self._write(f"{profile}/{name}", value)

    def clear_secret(self, name: str, profile: str = DEFAULT_PROFILE) -> bool:
        return self._delete(f"{profile}/{name}")

    def _read(self, username: str) -> str | None:
        import keyring

        return _keyring_call(lambda: keyring.get_password(self.service, username))

    def _write(self, username: str, value: str) -> None:
        import keyring

        _keyring_call(lambda: keyring.set_password(self.service, username, value))

    def _delete(self, username: str) -> bool:
        import keyring
        from keyring.errors import PasswordDeleteError

        try:
            _keyring_call(lambda: keyring.delete_password(self.service, username))
        except PasswordDeleteError:
            return False
        return True


def explicit_key(
    environ: Mapping[str, str], cwd: Path | None = None
) -> tuple[AccessKey, str] | None:
    """Keys given as variables: the environment first, then `.env` (as in the guide)."""
    for source, layer in (("environment", environ), (".env", read_dotenv(cwd))):
        key_id = layer.get("AWS_ACCESS_KEY_ID", "").strip()
        secret = layer.get("AWS_SECRET_ACCESS_KEY", "").strip()
        if key_id and secret:
            token = layer.get("AWS_SESSION_TOKEN", "").strip() or None
            return AccessKey(key_id, secret, token), source
    return None


def resolve_credentials(
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    store: KeyringStore | None = None,
    profile: str = DEFAULT_PROFILE,
) -> ResolvedCredentials:
    env = os.environ if environ is None else environ
    given = explicit_key(env, cwd)
    if given is not None:
        return ResolvedCredentials(given[0], f"{given[1]} variables")
    problem: str | None = None
    try:
        stored = (store or KeyringStore()).get(profile)
    except StorageError as exc:
        stored, problem = None, str(exc)
    if stored is not None:
        return ResolvedCredentials(stored, f"OS keyring (profile {profile})")
    return ResolvedCredentials(None, "AWS credential chain (profiles, SSO)", problem)


def resolve_openai_key(
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    store: KeyringStore | None = None,
    profile: str = DEFAULT_PROFILE,
) -> str | None:
    """OPENAI_API_KEY from the environment or `.env`, else the key kept in the OS keyring."""
    env = os.environ if environ is None else environ
    for layer in (env, read_dotenv(cwd)):
        key = layer.get("OPENAI_API_KEY", "").strip()
        if key:
            return key
    return (store or KeyringStore()).get_secret(OPENAI_SECRET, profile)
