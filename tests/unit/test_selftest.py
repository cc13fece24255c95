"""The self-test (`--selftest`), the resources locator and the committed icon files."""

from __future__ import annotations

import io
import struct
import sys
import types
from configparser import ConfigParser
from pathlib import Path

import pytest

from shorts_desktop import resources, selftest

ROOT = Path(__file__).resolve().parents[2]
ICONS = ROOT / "resources" / "icons"


def run_selftest() -> tuple[int, list[str]]:
    out = io.StringIO()
    code = selftest.run(out=out)
    return code, out.getvalue().splitlines()


CHECKS = ["version", "qt-platform", "resources", "image-formats", "qt-charts", "services",
          "database", "keyring", "botocore", "ffmpeg", "espeak", "caption-font", "licences",
          "youtube", "render", "main-window", "qt-messages"]


@pytest.fixture
def quick_render(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests about the self-test's plumbing need not render a Short (a few seconds)."""
    monkeypatch.setattr(selftest, "check_render", lambda _work: "not rendered in this test")


def test_selftest_passes_here_with_one_line_per_check(qapp, monkeypatch, tmp_path: Path) -> None:
    import tempfile

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # where the Short is made
    folders: list[Path] = []
    real_render = selftest.check_render

    def render(work: Path) -> str:
        folders.append(work)
        return real_render(work)

    monkeypatch.setattr(selftest, "check_render", render)
    code, lines = run_selftest()
    assert code == 0, "\n".join(lines)
    names = [line[5:].split()[0] for line in lines[:-1]]
    assert names == CHECKS
    assert all(line[:5] in ("ok   ", "warn ") for line in lines[:-1])
    assert lines[-1].startswith(f"selftest passed ({len(CHECKS)} checks)")
    by_name = dict(zip(names, lines[:-1], strict=True))
    assert "1080x1920" in by_name["render"] and "narrated and captioned" in by_name["render"]
    assert "3 words" in by_name["espeak"]
    assert "built offline" in by_name["youtube"]
    # The Short was made in a temporary folder, and nothing of it is left.
    assert folders and folders[0].is_relative_to(temp)
    assert list(temp.iterdir()) == []


def test_a_failing_check_fails_the_selftest(
    qapp, monkeypatch: pytest.MonkeyPatch, quick_render: None
) -> None:
    def broken() -> str:
        raise OSError("botocore/data/s3 is missing")

    monkeypatch.setattr(selftest, "check_botocore", broken)
    code, lines = run_selftest()
    assert code == 1
    assert "FAIL botocore       OSError: botocore/data/s3 is missing" in lines
    assert lines[-1].startswith("selftest FAILED (botocore)")


def test_checks_that_need_services_are_skipped_when_they_do_not_build(
    qapp, monkeypatch: pytest.MonkeyPatch, quick_render: None
) -> None:
    def no_services(_test: object, _home: object) -> str:
        raise RuntimeError("settings are broken")

    monkeypatch.setattr(selftest, "build_services", no_services)
    code, lines = run_selftest()
    assert code == 1
    failed = [line.split()[1] for line in lines if line.startswith("FAIL")]
    assert failed == ["services", "database", "main-window"]


def test_the_render_is_skipped_when_ffmpeg_fails(qapp, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_ffmpeg() -> str:
        raise selftest.CheckFailed("the bundle's own ffmpeg is missing")

    monkeypatch.setattr(selftest, "check_ffmpeg", no_ffmpeg)
    code, lines = run_selftest()
    assert code == 1
    failed = [line.split()[1] for line in lines if line.startswith("FAIL")]
    assert failed == ["ffmpeg", "render"]
    assert any("render" in line and "skipped" in line for line in lines)


def test_selftest_never_uses_the_real_data_dir(
    qapp, monkeypatch, tmp_path: Path, quick_render: None
) -> None:
    monkeypatch.delenv("SHORTS_DESKTOP_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "real-data"))
    monkeypatch.setenv("HOME", str(tmp_path / "real-home"))
    code, lines = run_selftest()
    assert code == 0, "\n".join(lines)
    database = next(line for line in lines if line[5:].startswith("database"))
    assert "shorts-desktop-selftest-" in database
    assert not (tmp_path / "real-data").exists() and not (tmp_path / "real-home").exists()


def test_a_missing_platform_plugin_is_reported_not_fatal(monkeypatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "nosuchplatform")
    with pytest.raises(selftest.CheckFailed, match="no Qt platform plugin 'nosuchplatform'"):
        selftest.start_qt(selftest.SelfTest(out=io.StringIO()), ["x"])


def _fake_backend(module: str, name: str, priority: float = 1) -> object:
    cls = type(name, (), {"priority": priority})
    cls.__module__ = module
    return cls()


def test_keyring_without_a_service_is_a_warning(monkeypatch) -> None:
    import keyring
    import keyring.backends.fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: keyring.backends.fail.Keyring())
    with pytest.raises(selftest.CheckWarning, match="no keyring service on this system"):
        selftest.check_keyring()


def test_a_plaintext_keyring_fails(monkeypatch) -> None:
    import keyring

    fake = _fake_backend("keyrings.alt.file", "PlaintextKeyring")
    monkeypatch.setattr(keyring, "get_keyring", lambda: fake)
    with pytest.raises(selftest.CheckFailed, match="plaintext"):
        selftest.check_keyring()


def test_a_working_keyring_is_named(monkeypatch) -> None:
    import keyring

    fake = _fake_backend("keyring.backends.SecretService", "Keyring", 5)
    monkeypatch.setattr(keyring, "get_keyring", lambda: fake)
    assert selftest.check_keyring() == "keyring.backends.SecretService.Keyring (priority 5)"


def test_a_keyring_backend_module_that_does_not_load_fails(monkeypatch) -> None:
    monkeypatch.setattr(selftest, "_platform_backend",
                        lambda: ("keyring.backends.NoSuchBackend", []))
    with pytest.raises(selftest.CheckFailed, match="NoSuchBackend does not load"):
        selftest.check_keyring()


# -- making a Short: ffmpeg, eSpeak NG, the font, the licences, YouTube ---------------------------


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Pretend to run from a PyInstaller bundle whose _internal folder is empty."""
    bundle = tmp_path / "_internal"
    bundle.mkdir()
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE", raising=False)
    return bundle


def test_ffmpeg_is_named_with_its_version() -> None:
    from shorts_desktop.core.render.ffmpeg import ffmpeg_exe

    detail = selftest.check_ffmpeg()
    assert detail.endswith(f" at {ffmpeg_exe()}")


def test_a_frozen_app_must_use_its_own_ffmpeg(frozen: Path) -> None:
    with pytest.raises(selftest.CheckFailed, match="the bundle's own ffmpeg is missing"):
        selftest.check_ffmpeg()


def test_ffmpeg_named_by_imageio_ffmpeg_exe_is_a_warning(monkeypatch, frozen: Path) -> None:
    from shorts_desktop.core.render.ffmpeg import ffmpeg_exe

    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", ffmpeg_exe())
    with pytest.raises(selftest.CheckWarning, match="IMAGEIO_FFMPEG_EXE overrides"):
        selftest.check_ffmpeg()


def test_an_ffmpeg_without_a_needed_library_fails(monkeypatch) -> None:
    monkeypatch.setattr(selftest, "FFMPEG_FEATURES", ("libx264", "libnosuchthing"))
    with pytest.raises(selftest.CheckFailed, match="built without libnosuchthing"):
        selftest.check_ffmpeg()


def test_espeak_speaks_with_word_timings(tmp_path: Path) -> None:
    detail = selftest.check_espeak(tmp_path)
    assert detail.startswith("3 words in ")
    assert (tmp_path / "narration.wav").read_bytes()[:4] == b"RIFF"


def test_a_frozen_app_must_use_its_own_espeak(frozen: Path, tmp_path: Path) -> None:
    with pytest.raises(selftest.CheckFailed, match=r"libespeak-ng.* is outside the bundle"):
        selftest.check_espeak(tmp_path)


def test_a_missing_caption_font_fails(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(selftest, "_fonts_dir", lambda: tmp_path)
    with pytest.raises(selftest.CheckFailed, match="captions would not be drawn"):
        selftest.check_caption_font()
    (tmp_path / "DejaVuSans-Bold.ttf").write_bytes(b"<html>not a font</html>")
    with pytest.raises(selftest.CheckFailed, match="not a TrueType"):
        selftest.check_caption_font()


def test_a_bundle_without_the_licence_fails(frozen: Path) -> None:
    with pytest.raises(selftest.CheckFailed, match="LICENSE is missing from the bundle"):
        selftest.check_licences()
    (frozen / "LICENSE").write_bytes((ROOT / "LICENSE").read_bytes())
    assert selftest.check_licences().startswith(f"GPL-3.0 at {frozen / 'LICENSE'}")


def test_the_font_licence_must_ship_with_the_font(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(selftest, "_fonts_dir", lambda: tmp_path)
    with pytest.raises(selftest.CheckFailed, match=r"LICENSE-DejaVu\.txt is missing"):
        selftest.check_licences()


def test_youtube_client_is_built_offline(monkeypatch) -> None:
    import socket

    def no_network(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the YouTube check opened a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    assert "built offline" in selftest.check_youtube()


def test_a_frozen_app_must_carry_its_ca_certificates(frozen: Path) -> None:
    with pytest.raises(selftest.CheckFailed, match=r"CA certificates .* outside the bundle"):
        selftest.check_youtube()


# -- resources ------------------------------------------------------------------------------------


def test_resources_found_in_the_source_checkout() -> None:
    assert resources.find_resources_dir() == ROOT / "resources"
    assert resources.resource_path("shorts-desktop.desktop").is_file()
    files = resources.icon_files()
    assert [f.name for f in files] == ["shorts-desktop.svg"] + [
        f"shorts-desktop-{s}.png" for s in resources.ICON_SIZES
    ]


def test_resources_found_inside_a_pyinstaller_bundle(monkeypatch, tmp_path: Path) -> None:
    bundled = tmp_path / "_internal" / "resources"
    (bundled / "icons").mkdir(parents=True)
    (bundled / "icons" / "shorts-desktop.svg").write_text("<svg/>")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "_internal"), raising=False)
    assert resources.find_resources_dir() == bundled


def test_no_resources_is_a_clear_error(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(resources, "candidate_dirs", lambda: [tmp_path / "nowhere"])
    assert resources.find_resources_dir() is None
    assert resources.icon_files() == []
    with pytest.raises(FileNotFoundError, match="resources folder was not found"):
        resources.resources_dir()


def test_app_icon_has_every_size(qapp) -> None:
    icon = resources.app_icon()
    assert not icon.isNull()
    assert icon.pixmap(256, 256).width() == 256


def test_importing_resources_and_selftest_has_no_side_effects() -> None:
    for module in (resources, selftest):
        fresh = types.ModuleType(module.__name__)
        exec(compile(Path(module.__file__).read_text(), module.__file__, "exec"),
             fresh.__dict__)


# -- the committed icon files (regenerate with resources/make_icons.py) ---------------------------


@pytest.mark.parametrize("size", resources.ICON_SIZES)
def test_png_icons_have_their_size(size: int) -> None:
    data = (ICONS / f"shorts-desktop-{size}.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (size, size)


def test_ico_and_icns_hold_pngs() -> None:
    ico = (ICONS / "shorts-desktop.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind) == (0, 1) and count >= 6
    icns = (ICONS / "shorts-desktop.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    assert b"ic10" in icns and b"\x89PNG" in icns


def test_desktop_file_names_the_icon_and_the_executable() -> None:
    parser = ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(ROOT / "resources" / "shorts-desktop.desktop")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Icon"] == "shorts-desktop"
    assert entry["Exec"].split()[0] == "ShortsDesktop"
    assert entry["Categories"].endswith(";")
