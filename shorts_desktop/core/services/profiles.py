"""Profiles and the keys they keep in the OS keyring: one service for the CLI and the window.

A profile's settings live in the settings file (config.py); its secrets live in the OS
keyring (credentials.py), one entry each: the AWS access key, the OpenAI key, the YouTube
client and sign-in. Listing, switching and deleting profiles, saving and clearing keys, and
saying where the keys in use come from all go through here, so that `shorts-desktop profile`
/ `credentials` and the Settings panel cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from shorts_desktop.core import config
from shorts_desktop.core.config import AppPaths, read_dotenv
from shorts_desktop.core.credentials import (
    OPENAI_SECRET,
    AccessKey,
    KeyringStore,
    KeyringUnavailable,
    ResolvedCredentials,
    resolve_credentials,
)
from shorts_desktop.core.errors import UserError

#: Where the OpenAI key in use comes from: a variable (environment or `.env`), the keyring,
#: or nowhere.
OpenAIKeySource = Literal["environment", ".env", "keyring", "none"]

BAD_OPENAI_KEY = "An OpenAI API key is one word with no spaces; check what was pasted."


@dataclass(frozen=True)
class Profiles:
    """The profiles in the settings file, the one saved as active and the one in use now."""

    saved: str  # the active profile recorded in the settings file
    in_use: str  # the one this process uses (SHORTS_DESKTOP_PROFILE wins over `saved`)
    names: list[str]

    @property
    def chosen_by_environment(self) -> bool:
        return self.in_use != self.saved


@dataclass(frozen=True)
class DeletedProfile:
    """What `ProfileService.delete` did; `keyring_problem` is a sentence to show, or None."""

    name: str
    secrets_removed: list[str] = field(default_factory=list)
    keyring_problem: str | None = None


class ProfileService:
    """Profiles (their settings) and the secrets each keeps in the OS keyring."""

    def __init__(self, paths: AppPaths, store: KeyringStore | None = None,
                 environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> None:
        self.paths = paths
        self.store = store or KeyringStore()
        self._environ = environ  # None: os.environ as it is when asked
        self.cwd = cwd

    @property
    def environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    # -- profiles ---------------------------------------------------------------------------

    def profiles(self) -> Profiles:
        saved, names = config.list_profiles(self.paths)
        return Profiles(saved, config.active_profile(self.paths, self.environ), names)

    def in_use(self) -> str:
        """The profile this process uses: SHORTS_DESKTOP_PROFILE, else the saved one."""
        return config.active_profile(self.paths, self.environ)

    def use(self, name: str, copy_from: str | None = None) -> None:
        """Make `name` the active profile (created when new); with `copy_from`, first give it
        that profile's saved settings. Keys are never copied: each profile has its own."""
        if copy_from is not None:
            config.save_settings_file(
                self.paths, config.read_settings_file(self.paths, copy_from), name)
        config.use_profile(self.paths, name)

    def delete(self, name: str) -> DeletedProfile:
        """Delete profile `name`: its settings, then every secret it kept in the OS keyring
        (the access key, the OpenAI key, the YouTube client and sign-in).

        The settings go first and always, so that a profile can be deleted on a computer
        where no keyring works. When the keyring cannot be reached the profile is still
        deleted, and `keyring_problem` is the one sentence saying its keys, if it had any,
        are still in the keyring; callers show it as a note, never as a failure. The
        YouTube sign-in is forgotten here without asking Google to revoke it.
        """
        from shorts_desktop.core.publish.auth import TOKEN_SECRET
        from shorts_desktop.core.services.publishing import CLIENT_SECRET

        config.delete_profile(self.paths, name)
        removed: list[str] = []
        try:
            if self.store.clear(name):
                removed.append("access key")
            for secret in (OPENAI_SECRET, CLIENT_SECRET, TOKEN_SECRET):
                if self.store.clear_secret(secret, name):
                    removed.append(secret)
        except KeyringUnavailable as exc:
            return DeletedProfile(name, removed, (
                f"The OS keyring cannot be used ({exc.why}), so the keys of profile {name}, "
                "if it had any, were left in it."))
        return DeletedProfile(name, removed)

    # -- the AWS access key -----------------------------------------------------------------

    def save_access_key(self, profile: str, key_id: str, secret: str) -> AccessKey:
        """Keep the access key in the keyring; a bad key or no keyring is a sentence."""
        key = AccessKey(key_id.strip(), secret.strip())
        self.store.set(key, profile)
        return key

    def clear_access_key(self, profile: str) -> bool:
        """Remove the stored access key; False when there was none."""
        return self.store.clear(profile)

    def access_key_source(self, profile: str) -> ResolvedCredentials:
        """The credentials this profile would use and where they come from (a keyring that
        cannot be read is a `keyring_problem`, not a failure: the AWS chain may still work)."""
        return resolve_credentials(self.environ, self.cwd, self.store, profile)

    # -- the OpenAI key ---------------------------------------------------------------------

    def save_openai_key(self, profile: str, key: str) -> None:
        key = key.strip()
        if not key or any(c.isspace() for c in key):
            raise UserError(BAD_OPENAI_KEY)
        self.store.set_secret(OPENAI_SECRET, key, profile)

    def clear_openai_key(self, profile: str) -> bool:
        """Remove the stored OpenAI key; False when there was none."""
        return self.store.clear_secret(OPENAI_SECRET, profile)

    def openai_key_source(self, profile: str) -> OpenAIKeySource:
        """Where the OpenAI key in use comes from, in the order the narrator looks (see
        credentials.resolve_openai_key). Raises KeyringUnavailable when it would have to
        look in a keyring that cannot be reached."""
        if self.environ.get("OPENAI_API_KEY", "").strip():
            return "environment"
        if read_dotenv(self.cwd).get("OPENAI_API_KEY", "").strip():
            return ".env"
        return "keyring" if self.store.get_secret(OPENAI_SECRET, profile) else "none"
