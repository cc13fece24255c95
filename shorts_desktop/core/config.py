"""Settings: environment variables > `.env` in the working directory > settings file > defaults.

Variable names are the storage guide's (S3_BUCKET_NAME, S3_TEMP_PREFIX, ...), plus a few
of our own. Every value is validated here, once, and refused with a sentence that names
the variable. Secrets are never part of Settings: see credentials.py.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from shorts_desktop.core.errors import ConfigError

APP_NAME = "shorts-desktop"
MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB
MAX_SINGLE_PUT = 5 * 1024 * MIB
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
MAX_CLEANUP_HOURS = 24 * 3650
AFTER_PUBLISH_CHOICES = ("delete", "promote", "keep")
ADDRESSING_STYLES = ("auto", "path", "virtual")
PART_CHECKSUMS = ("auto", "crc32c", "crc32", "md5", "sha256")  # the engine's modes, and auto
ENCRYPTION_CHOICES = ("none", "AES256", "aws:kms")
STORAGE_CLASSES = (
    "STANDARD",
    "INTELLIGENT_TIERING",
    "STANDARD_IA",
    "ONEZONE_IA",
    "GLACIER_IR",
)
TTS_CHOICES = ("espeak", "openai", "none")
REFRAME_CHOICES = ("blur", "fit", "crop")
#: YouTube counts a video of up to three minutes as a Short.
MAX_SHORT_SECONDS = 180
SECRET_VARIABLES = frozenset(
    {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "OPENAI_API_KEY"}
)


@dataclass(frozen=True)
class AppPaths:
    """Where this app keeps its files; all of them move under SHORTS_DESKTOP_HOME when set."""

    data_dir: Path
    config_dir: Path
    log_dir: Path
    #: What can be made again and is kept to save time (botocore's data, parsed).
    cache_dir: Path | None = None

    @property
    def db_path(self) -> Path:
        return self.data_dir / "shorts-desktop.db"

    @property
    def library_dir(self) -> Path:
        return self.data_dir / "library"

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> AppPaths:
        env = os.environ if environ is None else environ
        home = env.get("SHORTS_DESKTOP_HOME", "").strip()
        if home:
            root = Path(home).expanduser().resolve()
            return cls(root / "data", root / "config", root / "logs", root / "cache")
        import platformdirs

        return cls(
            Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        )


def _prefix(name: str, raw: str) -> str:
    value = raw.strip()
    if not value or not value.endswith("/"):
        raise ConfigError(f"{name} must end with a slash, like 'videos/' (got {raw!r}).")
    if value.startswith("/") or ".." in value.split("/") or "//" in value:
        raise ConfigError(f"{name} must be a relative prefix such as 'videos/' (got {raw!r}).")
    if any(ord(c) < 32 for c in value):
        raise ConfigError(f"{name} must not contain control characters.")
    return value


def _int_in(low: int, high: int, unit: str = "") -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a whole number (got {raw!r}).") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low:,} and {high:,}{unit} (got {value:,}).")
        return value

    return parse


def _hours(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a number of hours (got {raw!r}).") from None
    if value != value or value < 0 or value > MAX_CLEANUP_HOURS:
        raise ConfigError(
            f"{name} must be between 0 and {MAX_CLEANUP_HOURS:,} hours (got {raw!r}).")
    return value


def _whole(low: int, high: int, unit: str = "") -> dict[str, Any]:
    """A whole-number setting's parser and range, stated once for validation and the form."""
    return {"parse": _int_in(low, high, unit), "range": (low, high)}


def _one_of(choices: tuple[str, ...], exact: bool = False) -> dict[str, Any]:
    """A setting with a fixed set of values: its parser and the values, in the form's order."""
    return {"parse": _exact_choice(choices) if exact else _choice(choices), "choices": choices}


def _switch(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false (got {raw!r}).")


def _choice(choices: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)} (got {raw!r}).")
        return value

    return parse


def _bucket(name: str, raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if not re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", value) or ".." in value:
        raise ConfigError(
            f"{name} is not a valid bucket name: 3-63 lowercase letters, digits, dots "
            f"and hyphens (got {raw!r})."
        )
    return value


def _endpoint(name: str, raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name} must be an http:// or https:// URL (got {raw!r}).")
    if parsed.username or parsed.password:
        raise ConfigError(f"{name} must not contain a user name or password; use the keyring.")
    return value.rstrip("/")


def _region(name: str, raw: str) -> str:
    value = raw.strip()
    if not re.fullmatch(r"[a-z0-9-]{2,32}", value):
        raise ConfigError(f"{name} must be a region name such as 'us-east-1' (got {raw!r}).")
    return value


def _language(name: str, raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", value):
        raise ConfigError(f"{name} must be a language code such as 'en' or 'pt-BR' (got {raw!r}).")
    return value


def _category(name: str, raw: str) -> str:
    value = raw.strip()
    if not re.fullmatch(r"[0-9]{1,3}", value):
        raise ConfigError(
            f"{name} must be a YouTube category number such as 22 (People & Blogs) "
            f"(got {raw!r})."
        )
    return value


def _optional_text(name: str, raw: str) -> str | None:
    return raw.strip() or None


def _exact_choice(choices: tuple[str, ...]) -> Callable[[str, str], str]:
    """Case-insensitive input, canonical spelling out (S3 wants `AES256`, `aws:kms`)."""

    def parse(name: str, raw: str) -> str:
        for choice in choices:
            if raw.strip().lower() == choice.lower():
                return choice
        raise ConfigError(f"{name} must be one of {', '.join(choices)} (got {raw!r}).")

    return parse


@dataclass(frozen=True)
class Settings:
    """Every setting the app reads; each field's metadata says it once for every front end.

    `env` names its variable and `parse` validates it. Settings the Settings panel shows also
    have `label` (with `&` before the letter of its keyboard shortcut; a switch's label is the
    text of its check box) and `help` (its tooltip), and where they fit `placeholder`,
    `range` (the lowest and highest value, in the setting's own unit), `unit` and `scale`
    (the unit the form shows, and how many of the setting's units make one of it) and
    `choices` (the values, in the order the form offers them). See `setting_info`.
    """

    region: str = field(default="us-east-1", metadata={
        "env": "AWS_REGION", "parse": _region,
        "label": "Re&gion:", "help": "The AWS region of the bucket", "placeholder": "us-east-1",
    })
    bucket_name: str | None = field(default=None, metadata={
        "env": "S3_BUCKET_NAME", "parse": _bucket,
        "label": "&Bucket:", "help": "The S3 bucket the files go to",
        "placeholder": "my-shorts-bucket",
    })
    endpoint_url: str | None = field(default=None, metadata={
        "env": "S3_ENDPOINT_URL", "parse": _endpoint,
        "label": "&Endpoint:",
        "help": "Leave empty for AWS; the URL of MinIO, R2, B2 or another S3 service",
        "placeholder": "empty for AWS, or https://…",
    })
    addressing_style: str = field(default="auto", metadata={
        "env": "S3_ADDRESSING_STYLE", **_one_of(ADDRESSING_STYLES),
        "label": "&Addressing:", "help": "How the bucket name goes into request URLs",
    })
    aws_profile: str | None = field(default=None, metadata={
        "env": "AWS_PROFILE", "parse": _optional_text,
        "label": "AWS profile:",
        "help": "A profile from ~/.aws (access keys or SSO) to use instead of the keyring; "
                "saved with the settings",
        "placeholder": "default",
    })
    videos_prefix: str = field(default="videos/", metadata={
        "env": "S3_VIDEOS_PREFIX", "parse": _prefix,
        "label": "V&ideos prefix:", "help": "Where permanent videos go; must end with a slash",
        "placeholder": "videos/",
    })
    transcripts_prefix: str = field(default="transcripts/", metadata={
        "env": "S3_TRANSCRIPTS_PREFIX", "parse": _prefix,
        "label": "Tra&nscripts prefix:",
        "help": "Where permanent transcripts go; must end with a slash",
        "placeholder": "transcripts/",
    })
    temp_prefix: str = field(default="temp/", metadata={
        "env": "S3_TEMP_PREFIX", "parse": _prefix,
        "label": "Temporar&y prefix:", "help": "Where temporary uploads go; must end with a slash",
        "placeholder": "temp/",
    })
    processed_prefix: str = field(default="processed/", metadata={
        "env": "S3_PROCESSED_PREFIX", "parse": _prefix,
        "label": "Processe&d prefix:",
        "help": "Where the results of jobs go; must end with a slash",
        "placeholder": "processed/",
    })
    presigned_url_expiry: int = field(default=3600, metadata={
        "env": "S3_PRESIGNED_URL_EXPIRY", **_whole(1, MAX_PRESIGN_SECONDS, " seconds (7 days)"),
        "label": "Links e&xpire after:", "help": "How long a shared link works (at most 7 days)",
        "unit": " seconds",
    })
    multipart_threshold: int = field(default=100 * MIB, metadata={
        "env": "S3_MULTIPART_THRESHOLD",
        **_whole(MIN_PART_SIZE, MAX_SINGLE_PUT, " bytes (5 MiB to 5 GiB)"),
        "label": "&Multipart from:",
        "help": "Files at least this large are sent in parts (5 MiB to 5 GiB)",
        "unit": " MiB", "scale": MIB,
    })
    cleanup_temp_hours: float = field(default=24.0, metadata={
        "env": "S3_CLEANUP_TEMP_HOURS", "parse": _hours, "range": (0, MAX_CLEANUP_HOURS),
        "label": "&Clean up after:",
        "help": "Temporary files older than this are deleted by a cleanup", "unit": " hours",
    })
    auto_cleanup: bool = field(
        default=False, metadata={"env": "SHORTS_DESKTOP_AUTO_CLEANUP", "parse": _switch}
    )
    after_publish: str = field(default="delete", metadata={
        "env": "SHORTS_DESKTOP_AFTER_PUBLISH", **_one_of(AFTER_PUBLISH_CHOICES),
        "label": "Afte&r publishing:",
        "help": "What happens to a job's temporary video and transcript once it is published "
                "(inputs another unfinished job uses are kept)",
    })
    server_side_encryption: str = field(default="none", metadata={
        "env": "S3_SERVER_SIDE_ENCRYPTION", **_one_of(ENCRYPTION_CHOICES, exact=True),
        "label": "Encr&yption:",
        "help": "Server-side encryption of every upload, multipart upload and copy: none, "
                "SSE-S3 (keys managed by S3) or SSE-KMS (a key in AWS KMS)",
    })
    kms_key_id: str | None = field(default=None, metadata={
        "env": "S3_SSE_KMS_KEY_ID", "parse": _optional_text,
        "label": "&KMS key id:",
        "help": "The KMS key for SSE-KMS (key id, alias or ARN); empty uses the bucket's "
                "default aws/s3 key",
        "placeholder": "arn:aws:kms:… or alias/…",
    })
    storage_class: str = field(default="STANDARD", metadata={
        "env": "S3_STORAGE_CLASS", **_one_of(STORAGE_CLASSES, exact=True),
        "label": "Storage c&lass:",
        "help": "The storage class of permanent videos, transcripts and job results. "
                "Temporary files always stay Standard.",
    })
    part_checksum: str = field(default="auto", metadata={
        "env": "S3_PART_CHECKSUM", **_one_of(PART_CHECKSUMS),
        "label": "Part checks&um:",
        "help": "How the bucket checks every part of a large upload. Automatic: CRC32C on "
                "AWS, MD5 elsewhere. CRC32C (computed in hardware) is the fastest and CRC32 "
                "next, for services that check them (AWS, MinIO, Cloudflare R2); MD5 works "
                "everywhere and costs more CPU; SHA-256 the most",
    })
    files_in_flight: int = field(default=2, metadata={
        "env": "SHORTS_DESKTOP_FILES_IN_FLIGHT", **_whole(1, 16),
        "label": "Fi&les at once:", "help": "How many files upload at the same time",
    })
    parts_in_flight: int = field(default=4, metadata={
        "env": "SHORTS_DESKTOP_PARTS_IN_FLIGHT", **_whole(1, 32),
        "label": "&Parts at once:",
        "help": "How many parts of one large file upload at the same time",
    })
    bandwidth_limit: int = field(default=0, metadata={
        "env": "SHORTS_DESKTOP_BANDWIDTH_LIMIT",
        **_whole(0, 10 * 1024 * MIB, " bytes per second (0 = unlimited)"),
        "label": "Band&width limit:",
        "help": "The most the uploads may use together; 0 means no limit",
        "unit": " KiB/s", "scale": 1024,
    })
    tts: str = field(default="espeak", metadata={
        "env": "SHORTS_DESKTOP_TTS", **_one_of(TTS_CHOICES),
        "label": "Narration &voice:",
        "help": "Who reads the transcript: the offline eSpeak NG voice, an OpenAI voice (needs "
                "an API key, sends the text to OpenAI), or nobody (the video's own sound stays)",
    })
    openai_base_url: str | None = field(default=None, metadata={
        "env": "OPENAI_BASE_URL", "parse": _endpoint,
        "label": "OpenAI address:",
        "help": "Advanced: the address of an OpenAI-compatible speech service; empty for "
                "OpenAI itself",
        "placeholder": "empty for api.openai.com",
    })
    max_seconds: int = field(default=MAX_SHORT_SECONDS, metadata={
        "env": "SHORTS_DESKTOP_MAX_SECONDS",
        **_whole(5, MAX_SHORT_SECONDS, " seconds (YouTube's Shorts limit)"),
        "label": "Longest S&hort:",
        "help": f"A Short is cut at this length; YouTube takes up to {MAX_SHORT_SECONDS} seconds",
        "unit": " s",
    })
    reframe: str = field(default="blur", metadata={
        "env": "SHORTS_DESKTOP_REFRAME", **_one_of(REFRAME_CHOICES),
        "label": "Wide videos:",
        "help": "How a landscape video fills the 9:16 picture: over a blurred copy of itself, "
                "with black bars, or cropped at the sides",
    })
    captions: bool = field(default=True, metadata={
        "env": "SHORTS_DESKTOP_CAPTIONS", "parse": _switch,
        "label": "Burn in &captions",
        "help": "Draw the words on the picture as they are spoken (captions.srt is made either "
                "way)",
    })
    auto_process: bool = field(default=True, metadata={
        "env": "SHORTS_DESKTOP_AUTO_PROCESS", "parse": _switch,
        "label": "Process new jobs &automatically",
        "help": "Start making a job's Short as soon as the job is created; otherwise use "
                "Process in the Jobs panel",
    })
    keep_processed: bool = field(default=True, metadata={
        "env": "SHORTS_DESKTOP_KEEP_PROCESSED", "parse": _switch,
        "label": "Keep &processed files after publishing",
        "help": "Keep a published job's Short, captions and thumbnail in storage; otherwise "
                "they are removed once YouTube has the video",
    })
    youtube_category: str = field(default="22", metadata={
        "env": "SHORTS_DESKTOP_YOUTUBE_CATEGORY", "parse": _category,
        "label": "Categor&y:", "help": "The YouTube category new videos are filed under",
    })
    youtube_language: str | None = field(default=None, metadata={
        "env": "SHORTS_DESKTOP_YOUTUBE_LANGUAGE", "parse": _language,
        "label": "Lan&guage:",
        "help": "The language of the title and description, as a code such as en or pt-BR; "
                "empty leaves it unset",
        "placeholder": "en, pt-BR… (empty: not set)",
    })
    made_for_kids: bool = field(default=False, metadata={
        "env": "SHORTS_DESKTOP_MADE_FOR_KIDS", "parse": _switch,
        "label": "Made for &kids",
        "help": "Tell YouTube the Shorts are made for children (COPPA): comments, "
                "notifications and personalised ads are then off",
    })
    # Test seams: a local stand-in for YouTube's API and Google's token endpoint.
    youtube_api_root: str | None = field(
        default=None, metadata={"env": "SHORTS_DESKTOP_YOUTUBE_API_ROOT", "parse": _endpoint}
    )
    google_token_uri: str | None = field(
        default=None, metadata={"env": "SHORTS_DESKTOP_GOOGLE_TOKEN_URI", "parse": _endpoint}
    )
    profile: str = field(default="default", compare=False)
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def uses_s3(self) -> bool:
        return self.bucket_name is not None

    @property
    def is_aws_endpoint(self) -> bool:
        if self.endpoint_url is None:
            return True
        host = urlparse(self.endpoint_url).hostname or ""
        return host.endswith(".amazonaws.com")

    def prefix_for(self, kind: str, is_temp: bool) -> str:
        if is_temp:
            return self.temp_prefix
        return self.videos_prefix if kind == "video" else self.transcripts_prefix

    def as_variables(self) -> dict[str, str]:
        """The settings as the variables that would reproduce them (no secrets: there are none)."""
        out: dict[str, str] = {}
        for f in setting_fields():
            value = getattr(self, f.name)
            out[f.metadata["env"]] = "" if value is None else str(value)
        return out


def setting_fields() -> list[Any]:
    return [f for f in fields(Settings) if "env" in f.metadata]


VARIABLES: tuple[str, ...] = tuple(f.metadata["env"] for f in setting_fields())


@dataclass(frozen=True)
class SettingInfo:
    """How one setting is presented, from its field metadata (see `Settings`).

    kind: "switch" (true/false), "whole" (an int), "number" (a float), "choice" (one of
    `choices`) or "text". `low`/`high` are in the setting's own unit; a form shows
    value / `scale` followed by `unit`.
    """

    variable: str
    kind: str
    label: str
    help: str
    placeholder: str = ""
    low: float = 0
    high: float = 0
    unit: str = ""
    scale: int = 1
    choices: tuple[str, ...] = ()


def setting_info(variable: str) -> SettingInfo:
    """The presentation of the setting read from `variable`; only shown settings have one."""
    for f in setting_fields():
        if f.metadata["env"] == variable:
            break
    else:
        raise KeyError(variable)
    meta = f.metadata
    if "label" not in meta:
        raise KeyError(f"{variable} has no label: it is not shown in a form")
    kind = ("choice" if "choices" in meta else {"bool": "switch", "int": "whole",
                                                   "float": "number"}.get(f.type, "text"))
    low, high = meta.get("range", (0, 0))
    return SettingInfo(variable, kind, meta["label"], meta["help"],
                       meta.get("placeholder", ""), low, high, meta.get("unit", ""),
                       meta.get("scale", 1), tuple(meta.get("choices", ())))


def read_dotenv(cwd: Path | None = None) -> dict[str, str]:
    path = (cwd or Path.cwd()) / ".env"
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    try:
        values = dotenv_values(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The .env file in {path.parent} cannot be read: {exc}.") from None
    return {k: v for k, v in values.items() if v is not None}


DEFAULT_PROFILE = "default"
_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}")


def check_profile_name(name: str) -> str:
    if not _PROFILE_NAME.fullmatch(name):
        raise ConfigError(
            f"{name!r} is not a usable profile name: 1-40 letters, digits, '.', '_' or '-'."
        )
    return name


def _read_document(paths: AppPaths) -> dict[str, Any]:
    """The settings file as {"active_profile": name, "profiles": {name: variables}}.

    A flat file of variables (the first format) is read as the profile "default".
    """
    path = paths.settings_file
    if not path.is_file():
        return {"active_profile": DEFAULT_PROFILE, "profiles": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise ConfigError(
            f"The settings file {path} is damaged; fix or delete it to start from defaults."
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"The settings file {path} is damaged; it must hold a JSON object.")
    if "profiles" not in data:
        data = {"active_profile": DEFAULT_PROFILE, "profiles": {DEFAULT_PROFILE: data}}
    profiles = data.get("profiles")
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise ConfigError(f"The settings file {path} is damaged; its profiles are not readable.")
    return {
        "active_profile": str(data.get("active_profile") or DEFAULT_PROFILE),
        "profiles": {
            str(name): {str(k): str(v) for k, v in values.items()
                        if k in VARIABLES and v is not None}
            for name, values in profiles.items()
        },
    }


def _write_document(paths: AppPaths, document: dict[str, Any]) -> None:
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    tmp = paths.settings_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, paths.settings_file)


def active_profile(paths: AppPaths, environ: Mapping[str, str] | None = None) -> str:
    """SHORTS_DESKTOP_PROFILE when set, else the profile last chosen in the settings file."""
    env = os.environ if environ is None else environ
    chosen = env.get("SHORTS_DESKTOP_PROFILE", "").strip()
    return check_profile_name(chosen) if chosen else str(_read_document(paths)["active_profile"])


def list_profiles(paths: AppPaths) -> tuple[str, list[str]]:
    """(the active profile, every profile's name)."""
    document = _read_document(paths)
    names = set(document["profiles"]) | {document["active_profile"], DEFAULT_PROFILE}
    return document["active_profile"], sorted(names)


def use_profile(paths: AppPaths, name: str) -> None:
    """Make `name` the active profile (created empty when new)."""
    document = _read_document(paths)
    document["profiles"].setdefault(check_profile_name(name), {})
    document["active_profile"] = name
    _write_document(paths, document)


def delete_profile(paths: AppPaths, name: str) -> None:
    document = _read_document(paths)
    if name == document["active_profile"]:
        raise ConfigError(f"{name!r} is the active profile; switch to another one first.")
    if name not in document["profiles"]:
        raise ConfigError(f"There is no profile {name!r}.")
    del document["profiles"][name]
    _write_document(paths, document)


def read_settings_file(paths: AppPaths, profile: str | None = None) -> dict[str, str]:
    document = _read_document(paths)
    values: dict[str, str] = document["profiles"].get(profile or document["active_profile"], {})
    return values


def build_settings(layers: list[tuple[str, Mapping[str, str]]]) -> Settings:
    """Validated Settings from layers of variables, highest precedence first."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for f in setting_fields():
        env_name = f.metadata["env"]
        for source, layer in layers:
            raw = layer.get(env_name)
            if raw is None:
                continue
            values[f.name] = f.metadata["parse"](env_name, raw)
            sources[env_name] = source
            break
        else:
            sources[env_name] = "default"
    settings = Settings(**values, sources=sources)
    if settings.kms_key_id and settings.server_side_encryption != "aws:kms":
        raise ConfigError("S3_SSE_KMS_KEY_ID needs S3_SERVER_SIDE_ENCRYPTION=aws:kms.")
    prefixes = [
        ("S3_VIDEOS_PREFIX", settings.videos_prefix),
        ("S3_TRANSCRIPTS_PREFIX", settings.transcripts_prefix),
        ("S3_TEMP_PREFIX", settings.temp_prefix),
        ("S3_PROCESSED_PREFIX", settings.processed_prefix),
    ]
    for i, (name_a, a) in enumerate(prefixes):
        for name_b, b in prefixes[i + 1 :]:
            if a.startswith(b) or b.startswith(a):
                raise ConfigError(
                    f"{name_a} and {name_b} must not overlap, but {a!r} and {b!r} do."
                )
    return settings


def load_settings(
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    paths: AppPaths | None = None,
) -> Settings:
    env = dict(os.environ if environ is None else environ)
    app_paths = paths or AppPaths.from_environ(env)
    profile = active_profile(app_paths, env)
    settings = build_settings(
        [
            ("environment", env),
            (".env", read_dotenv(cwd)),
            ("settings file", read_settings_file(app_paths, profile)),
        ]
    )
    return replace(settings, profile=profile)


def save_settings_file(
    paths: AppPaths, variables: Mapping[str, str], profile: str | None = None
) -> Settings:
    """Validate and write one profile's settings; refuses secrets, which belong in the keyring."""
    secrets = SECRET_VARIABLES.intersection(variables)
    if secrets:
        raise ConfigError("Credentials are kept in the keyring, never in the settings file.")
    unknown = set(variables) - set(VARIABLES)
    if unknown:
        raise ConfigError(f"Unknown setting {sorted(unknown)[0]}.")
    document = _read_document(paths)
    name = check_profile_name(profile or document["active_profile"])
    merged = {**document["profiles"].get(name, {}), **dict(variables)}
    cleaned = {k: v for k, v in merged.items() if v != ""}
    settings = build_settings([("settings file", cleaned)])  # validate before writing
    document["profiles"][name] = cleaned
    _write_document(paths, document)
    return replace(settings, profile=name)
