"""Settings: precedence of the layers, validation of every value, the settings file, paths."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from shorts_desktop.core.config import (
    MIB,
    VARIABLES,
    AppPaths,
    SettingInfo,
    Settings,
    build_settings,
    load_settings,
    save_settings_file,
    setting_info,
)
from shorts_desktop.core.errors import ConfigError, UserError


def _paths(root: Path) -> AppPaths:
    return AppPaths(root / "data", root / "config", root / "logs")


def _write_settings(paths: AppPaths, data: Mapping[str, object]) -> None:
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    paths.settings_file.write_text(json.dumps(data), encoding="utf-8")


def _write_dotenv(cwd: Path, data: dict[str, str]) -> None:
    (cwd / ".env").write_text("".join(f"{k}={v}\n" for k, v in data.items()), encoding="utf-8")


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    folder = tmp_path / "cwd"
    folder.mkdir()
    return folder


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return _paths(tmp_path / "home")


# --- precedence ---------------------------------------------------------------------------------


def test_defaults_when_nothing_is_set(cwd: Path, paths: AppPaths) -> None:
    settings = load_settings(environ={}, cwd=cwd, paths=paths)

    assert settings == Settings()
    assert settings.bucket_name is None and not settings.uses_s3
    assert settings.multipart_threshold == 100 * MIB
    assert settings.presigned_url_expiry == 3600
    assert settings.cleanup_temp_hours == 24.0
    assert dict(settings.sources) == dict.fromkeys(VARIABLES, "default")


@pytest.mark.parametrize(
    ("env", "dotenv", "file", "expected", "source"),
    [
        ("1", "2", "3", 1.0, "environment"),
        ("1", None, "3", 1.0, "environment"),
        (None, "2", "3", 2.0, ".env"),
        (None, "2", None, 2.0, ".env"),
        (None, None, "3", 3.0, "settings file"),
        (None, None, None, 24.0, "default"),
    ],
)
def test_precedence_environment_dotenv_file_default(
    cwd: Path,
    paths: AppPaths,
    env: str | None,
    dotenv: str | None,
    file: str | None,
    expected: float,
    source: str,
) -> None:
    name = "S3_CLEANUP_TEMP_HOURS"
    if dotenv is not None:
        _write_dotenv(cwd, {name: dotenv})
    if file is not None:
        _write_settings(paths, {name: file})
    environ = {} if env is None else {name: env}

    settings = load_settings(environ=environ, cwd=cwd, paths=paths)

    assert settings.cleanup_temp_hours == expected
    assert settings.sources[name] == source


def test_sources_name_the_layer_of_each_variable(cwd: Path, paths: AppPaths) -> None:
    _write_dotenv(cwd, {"S3_BUCKET_NAME": "from-dotenv", "S3_VIDEOS_PREFIX": "clips/"})
    _write_settings(
        paths,
        {"S3_BUCKET_NAME": "from-file", "S3_VIDEOS_PREFIX": "v/", "S3_TEMP_PREFIX": "scratch/"},
    )
    environ = {"S3_BUCKET_NAME": "from-env", "UNRELATED": "x"}

    settings = load_settings(environ=environ, cwd=cwd, paths=paths)

    assert (settings.bucket_name, settings.videos_prefix, settings.temp_prefix) == (
        "from-env", "clips/", "scratch/",
    )  # fmt: skip
    assert settings.sources["S3_BUCKET_NAME"] == "environment"
    assert settings.sources["S3_VIDEOS_PREFIX"] == ".env"
    assert settings.sources["S3_TEMP_PREFIX"] == "settings file"
    assert settings.sources["S3_PROCESSED_PREFIX"] == "default"
    assert set(settings.sources) == set(VARIABLES)


def test_dotenv_is_read_from_the_given_folder_only(tmp_path: Path, paths: AppPaths) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    _write_dotenv(other, {"S3_BUCKET_NAME": "not-mine"})
    empty = tmp_path / "empty"
    empty.mkdir()

    assert load_settings(environ={}, cwd=empty, paths=paths).bucket_name is None
    assert load_settings(environ={}, cwd=other, paths=paths).bucket_name == "not-mine"


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "on"), [("true", True), ("On", True), ("1", True),
                                         ("yes", True), ("false", False), ("OFF", False),
                                         ("0", False), ("no", False)])
def test_a_switch_reads_the_usual_words(cwd: Path, paths: AppPaths, raw: str, on: bool) -> None:
    settings = load_settings(environ={"SHORTS_DESKTOP_AUTO_CLEANUP": raw}, cwd=cwd, paths=paths)
    assert settings.auto_cleanup is on


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("S3_CLEANUP_TEMP_HOURS", "-1"),
        ("S3_CLEANUP_TEMP_HOURS", "a day"),
        ("S3_CLEANUP_TEMP_HOURS", "nan"),
        ("S3_VIDEOS_PREFIX", "videos"),
        ("S3_TRANSCRIPTS_PREFIX", ""),
        ("S3_TEMP_PREFIX", "/temp/"),
        ("S3_PROCESSED_PREFIX", "../processed/"),
        ("S3_MULTIPART_THRESHOLD", str(5 * MIB - 1)),
        ("S3_MULTIPART_THRESHOLD", str(5 * 1024 * MIB + 1)),
        ("S3_MULTIPART_THRESHOLD", "100MB"),
        ("S3_PRESIGNED_URL_EXPIRY", "604801"),
        ("S3_PRESIGNED_URL_EXPIRY", "0"),
        ("S3_PRESIGNED_URL_EXPIRY", "-60"),
        ("S3_ADDRESSING_STYLE", "dns"),
        ("S3_PART_CHECKSUM", "crc64"),
        ("S3_BUCKET_NAME", "My_Bucket"),
        ("S3_BUCKET_NAME", "ab"),
        ("S3_BUCKET_NAME", "-bucket"),
        ("S3_BUCKET_NAME", "my..bucket"),
        ("S3_ENDPOINT_URL", "localhost:9000"),
        ("S3_ENDPOINT_URL", "ftp://files.example.com"),
        ("S3_ENDPOINT_URL", "http://"),
        ("AWS_REGION", "US East"),
        ("SHORTS_DESKTOP_AFTER_PUBLISH", "archive"),
        ("SHORTS_DESKTOP_FILES_IN_FLIGHT", "0"),
        ("SHORTS_DESKTOP_PARTS_IN_FLIGHT", "33"),
        ("SHORTS_DESKTOP_BANDWIDTH_LIMIT", "-1"),
        ("SHORTS_DESKTOP_AUTO_CLEANUP", "hourly"),
    ],
)
def test_invalid_value_is_refused_naming_the_variable(
    cwd: Path, paths: AppPaths, name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=name) as caught:
        load_settings(environ={name: value}, cwd=cwd, paths=paths)
    assert isinstance(caught.value, UserError)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"S3_TEMP_PREFIX": "videos/tmp/"}, ("S3_TEMP_PREFIX", "S3_VIDEOS_PREFIX")),
        (
            {"S3_VIDEOS_PREFIX": "media/", "S3_TRANSCRIPTS_PREFIX": "media/"},
            ("S3_VIDEOS_PREFIX", "S3_TRANSCRIPTS_PREFIX"),
        ),
        (
            {"S3_PROCESSED_PREFIX": "out/", "S3_TEMP_PREFIX": "out/scratch/"},
            ("S3_PROCESSED_PREFIX", "S3_TEMP_PREFIX"),
        ),
    ],
    ids=["temp-inside-default-videos", "same-prefix", "temp-inside-processed"],
)
def test_overlapping_prefixes_are_refused_naming_the_variables(
    cwd: Path, paths: AppPaths, values: dict[str, str], names: tuple[str, str]
) -> None:
    with pytest.raises(ConfigError, match="overlap") as caught:
        load_settings(environ=values, cwd=cwd, paths=paths)
    for name in names:
        assert name in str(caught.value)


@pytest.mark.parametrize("layer", ["environment", ".env", "settings file"])
def test_invalid_value_is_refused_from_every_layer(cwd: Path, paths: AppPaths, layer: str) -> None:
    bad = {"S3_PRESIGNED_URL_EXPIRY": "0"}
    environ: dict[str, str] = {}
    if layer == "environment":
        environ = bad
    elif layer == ".env":
        _write_dotenv(cwd, bad)
    else:
        _write_settings(paths, bad)
    with pytest.raises(ConfigError, match="S3_PRESIGNED_URL_EXPIRY"):
        load_settings(environ=environ, cwd=cwd, paths=paths)


@pytest.mark.parametrize(
    ("name", "value", "attribute", "expected"),
    [
        ("S3_MULTIPART_THRESHOLD", str(5 * MIB), "multipart_threshold", 5 * MIB),
        ("S3_PRESIGNED_URL_EXPIRY", "604800", "presigned_url_expiry", 604800),
        ("S3_PRESIGNED_URL_EXPIRY", "1", "presigned_url_expiry", 1),
        ("S3_CLEANUP_TEMP_HOURS", "0", "cleanup_temp_hours", 0.0),
        ("S3_CLEANUP_TEMP_HOURS", "1.5", "cleanup_temp_hours", 1.5),
        ("S3_ADDRESSING_STYLE", "PATH", "addressing_style", "path"),
        ("S3_PART_CHECKSUM", "CRC32", "part_checksum", "crc32"),
        ("S3_ENDPOINT_URL", "http://localhost:9000/", "endpoint_url", "http://localhost:9000"),
        ("S3_BUCKET_NAME", "my.bucket-01", "bucket_name", "my.bucket-01"),
        ("S3_BUCKET_NAME", "", "bucket_name", None),
        ("S3_VIDEOS_PREFIX", " clips/2024/ ", "videos_prefix", "clips/2024/"),
    ],
)
def test_edge_values_are_accepted(
    cwd: Path, paths: AppPaths, name: str, value: str, attribute: str, expected: object
) -> None:
    settings = load_settings(environ={name: value}, cwd=cwd, paths=paths)
    assert getattr(settings, attribute) == expected


# --- the settings file --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN"]
)
def test_save_refuses_secrets(paths: AppPaths, name: str) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    with pytest.raises(ConfigError, match="keyring") as caught:
        save_settings_file(paths, {"S3_BUCKET_NAME": "my-bucket", name: secret})
    assert secret not in str(caught.value)
    assert not paths.settings_file.exists()


def test_save_refuses_unknown_names(paths: AppPaths) -> None:
    save_settings_file(paths, {"S3_BUCKET_NAME": "my-bucket"})
    before = paths.settings_file.read_bytes()

    with pytest.raises(ConfigError, match="S3_BUKET_NAME"):
        save_settings_file(paths, {"S3_BUKET_NAME": "typo"})

    assert paths.settings_file.read_bytes() == before


@pytest.mark.parametrize(
    "bad",
    [
        {"S3_PRESIGNED_URL_EXPIRY": "0"},
        {"S3_MULTIPART_THRESHOLD": "1024"},
        {"S3_BUCKET_NAME": "Not A Bucket"},
        {"S3_VIDEOS_PREFIX": "videos"},
    ],
)
def test_save_validates_before_writing(paths: AppPaths, bad: dict[str, str]) -> None:
    save_settings_file(paths, {"S3_BUCKET_NAME": "my-bucket", "S3_CLEANUP_TEMP_HOURS": "6"})
    before = paths.settings_file.read_bytes()

    with pytest.raises(ConfigError, match=next(iter(bad))):
        save_settings_file(paths, bad)

    assert paths.settings_file.read_bytes() == before
    assert sorted(p.name for p in paths.config_dir.iterdir()) == ["settings.json"]


def test_save_of_a_bad_value_creates_nothing(paths: AppPaths) -> None:
    with pytest.raises(ConfigError, match="S3_ADDRESSING_STYLE"):
        save_settings_file(paths, {"S3_ADDRESSING_STYLE": "sideways"})
    assert not paths.config_dir.exists()


def test_save_round_trips(cwd: Path, paths: AppPaths) -> None:
    saved = save_settings_file(
        paths,
        {
            "S3_BUCKET_NAME": "my-shorts",
            "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "S3_ADDRESSING_STYLE": "path",
            "S3_MULTIPART_THRESHOLD": str(8 * MIB),
        },
    )
    # a second save merges with what is there; an empty value clears a setting
    saved = save_settings_file(paths, {"S3_CLEANUP_TEMP_HOURS": "12", "S3_ENDPOINT_URL": ""})

    on_disk = json.loads(paths.settings_file.read_text(encoding="utf-8"))
    assert on_disk["active_profile"] == "default"
    assert on_disk["profiles"]["default"] == {
        "S3_BUCKET_NAME": "my-shorts",
        "S3_ADDRESSING_STYLE": "path",
        "S3_MULTIPART_THRESHOLD": str(8 * MIB),
        "S3_CLEANUP_TEMP_HOURS": "12",
    }
    loaded = load_settings(environ={}, cwd=cwd, paths=paths)
    assert loaded == saved
    assert (loaded.bucket_name, loaded.endpoint_url, loaded.cleanup_temp_hours) == (
        "my-shorts", None, 12.0,
    )  # fmt: skip
    assert loaded.multipart_threshold == 8 * MIB
    assert loaded.sources["S3_BUCKET_NAME"] == "settings file"
    assert loaded.sources["S3_ENDPOINT_URL"] == "default"


def test_as_variables_reproduce_the_settings(cwd: Path, tmp_path: Path) -> None:
    original = load_settings(
        environ={
            "S3_BUCKET_NAME": "b-1",
            "S3_TEMP_PREFIX": "scratch/",
            "S3_CLEANUP_TEMP_HOURS": "0.5",
            "SHORTS_DESKTOP_AFTER_PUBLISH": "promote",
        },
        cwd=cwd,
        paths=_paths(tmp_path / "a"),
    )
    other = _paths(tmp_path / "b")
    save_settings_file(other, original.as_variables())
    assert load_settings(environ={}, cwd=cwd, paths=other) == original


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2, 3]", b'"S3_BUCKET_NAME"', b"\xff\xfe\x00\x01garbage"],
    ids=["bad-json", "list", "string", "not-utf8"],
)
def test_damaged_settings_file_is_a_config_error(
    cwd: Path, paths: AppPaths, content: bytes
) -> None:
    paths.config_dir.mkdir(parents=True)
    paths.settings_file.write_bytes(content)

    with pytest.raises(ConfigError, match="damaged") as caught:
        load_settings(environ={}, cwd=cwd, paths=paths)
    assert str(paths.settings_file) in str(caught.value)
    assert paths.settings_file.read_bytes() == content


# --- where files live ---------------------------------------------------------------------------


def test_shorts_desktop_home_relocates_every_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    app_paths = AppPaths.from_environ({"SHORTS_DESKTOP_HOME": str(home)})

    assert app_paths.data_dir == home / "data"
    assert app_paths.config_dir == home / "config"
    assert app_paths.log_dir == home / "logs"
    assert app_paths.cache_dir == home / "cache"
    assert app_paths.db_path.parent == home / "data"
    assert app_paths.library_dir.parent == home / "data"
    assert app_paths.settings_file == home / "config" / "settings.json"
    assert not home.exists()  # working out paths creates nothing


def test_relative_home_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app_paths = AppPaths.from_environ({"SHORTS_DESKTOP_HOME": "rel"})
    assert app_paths.data_dir == tmp_path.resolve() / "rel" / "data"


def test_blank_home_means_the_platform_folders(tmp_path: Path) -> None:
    default = AppPaths.from_environ({})
    assert AppPaths.from_environ({"SHORTS_DESKTOP_HOME": "  "}) == default
    assert "shorts-desktop" in str(default.data_dir)
    assert "shorts-desktop" in str(default.cache_dir)
    assert not str(default.data_dir).startswith(str(tmp_path))


def test_load_settings_reads_the_file_under_shorts_desktop_home(cwd: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    _write_settings(_paths(home), {"S3_BUCKET_NAME": "homed-bucket"})

    settings = load_settings(environ={"SHORTS_DESKTOP_HOME": str(home)}, cwd=cwd)

    assert settings.bucket_name == "homed-bucket"
    assert settings.sources["S3_BUCKET_NAME"] == "settings file"


def test_profiles_switch_bucket_and_endpoint_together(cwd: Path, paths: AppPaths) -> None:
    from shorts_desktop.core.config import delete_profile, list_profiles, use_profile

    save_settings_file(paths, {"S3_BUCKET_NAME": "personal-bucket"})
    use_profile(paths, "client-r2")
    save_settings_file(
        paths, {"S3_BUCKET_NAME": "client-bucket", "S3_ENDPOINT_URL": "https://r2.example.com"}
    )
    loaded = load_settings(environ={}, cwd=cwd, paths=paths)
    assert (loaded.profile, loaded.bucket_name, loaded.endpoint_url) == (
        "client-r2", "client-bucket", "https://r2.example.com",
    )  # fmt: skip
    assert list_profiles(paths) == ("client-r2", ["client-r2", "default"])
    chosen = load_settings(environ={"SHORTS_DESKTOP_PROFILE": "default"}, cwd=cwd, paths=paths)
    assert (chosen.profile, chosen.bucket_name, chosen.endpoint_url) == (
        "default", "personal-bucket", None,
    )  # fmt: skip
    with pytest.raises(ConfigError, match="active profile"):
        delete_profile(paths, "client-r2")
    use_profile(paths, "default")
    delete_profile(paths, "client-r2")
    assert list_profiles(paths) == ("default", ["default"])
    with pytest.raises(ConfigError, match="not a usable profile name"):
        use_profile(paths, "../evil")


def test_a_flat_settings_file_is_read_as_the_default_profile(cwd: Path, paths: AppPaths) -> None:
    paths.config_dir.mkdir(parents=True)
    paths.settings_file.write_text(json.dumps({"S3_BUCKET_NAME": "old-style"}))
    assert load_settings(environ={}, cwd=cwd, paths=paths).bucket_name == "old-style"
    save_settings_file(paths, {"S3_CLEANUP_TEMP_HOURS": "6"})
    on_disk = json.loads(paths.settings_file.read_text())
    assert on_disk["profiles"]["default"] == {
        "S3_BUCKET_NAME": "old-style", "S3_CLEANUP_TEMP_HOURS": "6"
    }


# --- what the form shows (field metadata) -------------------------------------------------------


def _described(variable: str) -> SettingInfo | None:
    try:
        return setting_info(variable)
    except KeyError:
        return None


def _text(value: float, kind: str) -> str:
    return str(int(value)) if kind == "whole" else str(value)


def test_every_ranged_setting_accepts_its_range_and_refuses_beyond_it() -> None:
    """The form's ranges and the validation are one statement: the ends pass, one past fails."""
    ranged = [i for i in map(_described, VARIABLES) if i and i.kind in ("whole", "number")]
    assert {i.variable for i in ranged} >= {"S3_MULTIPART_THRESHOLD", "S3_CLEANUP_TEMP_HOURS",
                                            "SHORTS_DESKTOP_BANDWIDTH_LIMIT"}
    for info in ranged:
        assert info.low < info.high, info.variable
        for value in (info.low, info.high):
            build_settings([("test", {info.variable: _text(value, info.kind)})])
        step = 1 if info.kind == "whole" else 0.5
        for value in (info.low - step, info.high + step):
            with pytest.raises(ConfigError, match=info.variable):
                build_settings([("test", {info.variable: _text(value, info.kind)})])
    multipart = setting_info("S3_MULTIPART_THRESHOLD")
    assert (multipart.low // multipart.scale, multipart.high // multipart.scale,
            multipart.unit) == (5, 5 * 1024, " MiB")


def test_choices_in_the_metadata_are_what_validation_takes() -> None:
    choices = [i for i in map(_described, VARIABLES) if i and i.kind == "choice"]
    assert {i.variable for i in choices} >= {"S3_STORAGE_CLASS", "SHORTS_DESKTOP_TTS"}
    for info in choices:
        for choice in info.choices:
            settings = build_settings([("test", {info.variable: choice})])
            assert settings.as_variables()[info.variable] == choice
        with pytest.raises(ConfigError, match=info.variable):
            build_settings([("test", {info.variable: "no-such-choice"})])


def test_only_settings_with_a_label_are_described() -> None:
    assert setting_info("SHORTS_DESKTOP_CAPTIONS").kind == "switch"
    assert setting_info("S3_BUCKET_NAME").placeholder == "my-shorts-bucket"
    with pytest.raises(KeyError):
        setting_info("SHORTS_DESKTOP_YOUTUBE_API_ROOT")  # a test seam: not in the form
    with pytest.raises(KeyError):
        setting_info("NO_SUCH_VARIABLE")
