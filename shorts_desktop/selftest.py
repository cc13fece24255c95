"""`--selftest`: starts the real app offscreen and checks that every part of the install loads.

One line per check, `ok`, `warn` or `FAIL`, then a summary; `run()` returns 0 only when no
check failed. A `warn` line passes: it reports a condition of this machine, not of the
install. The one such case that matters is the keyring: on a box with no Secret Service
(no desktop session, no D-Bus) keyring can only pick its failing backend, and the app then
takes credentials from the AWS chain (environment, ~/.aws, SSO), so the self-test says so
and passes, provided the backend *modules* themselves loaded. A keyring that would store
secrets in a plaintext file (keyrings.alt) fails the check.

It also makes a Short the way a job does: ffmpeg makes a 1-second test clip, eSpeak NG
narrates one word and `make_short` renders the 1080x1920 video with burned-in captions.
In a frozen bundle ffmpeg, libespeak-ng and its data must come from inside the bundle.

The test never touches the user's data or the network: unless SHORTS_DESKTOP_HOME is set it
runs over a throwaway data folder, S3 is only exercised offline (client, presigned link),
YouTube only as far as building requests from the shipped discovery document, and the
Short is made in a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OK, WARN, FAIL = "ok", "warn", "FAIL"

#: Image formats the app needs from Qt's plugins (PNG is built in, SVG is a plugin).
NEEDED_IMAGE_FORMATS = ("png", "svg")
#: botocore service models the app and the AWS credential chain load.
BOTOCORE_SERVICES = ("s3", "sts", "sso", "sso-oidc")
NATIVE_PLATFORM = {"linux": "xcb", "darwin": "cocoa", "win32": "windows"}


class CheckFailed(Exception):
    """A check's own verdict, with the detail to print."""


class CheckWarning(Exception):
    """A check that passes with a remark about this machine."""


@dataclass
class SelfTest:
    out: Any = field(default_factory=lambda: sys.stdout)
    results: list[tuple[str, str, str]] = field(default_factory=list)
    app: Any = None
    services: Any = None
    window: Any = None
    qt_messages: list[str] = field(default_factory=list)
    previous_handler: Any = None

    def check(self, name: str, func: Callable[[], str], *, needs: Sequence[Any] = ()) -> bool:
        if any(n is None for n in needs):
            self._report(FAIL, name, "skipped: an earlier check it depends on failed")
            return False
        try:
            status, detail = OK, func()
        except CheckWarning as exc:
            status, detail = WARN, str(exc)
        except CheckFailed as exc:
            status, detail = FAIL, str(exc)
        except Exception as exc:  # a self-test reports, it does not crash
            status, detail = FAIL, f"{type(exc).__name__}: {exc}"
        self._report(status, name, detail)
        return status != FAIL

    def _report(self, status: str, name: str, detail: str) -> None:
        self.results.append((status, name, detail))
        self.out.write(f"{status:<5}{name:<14} {detail}\n")
        self.out.flush()

    @property
    def failed(self) -> list[str]:
        return [name for status, name, _ in self.results if status == FAIL]


# -- checks ---------------------------------------------------------------------------------------


def check_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("shorts-desktop")
    except PackageNotFoundError:
        raise CheckFailed("no package metadata for shorts-desktop (not installed, "
                          "or the bundle lacks copy_metadata)") from None
    python = sys.version.split()[0]
    frozen = "frozen bundle" if getattr(sys, "frozen", False) else f"Python {python}"
    return f"shorts-desktop {found} ({frozen}, {sys.platform})"


def _plugin_dirs() -> list[Path]:
    from PySide6.QtCore import QCoreApplication, QLibraryInfo

    dirs = [Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))]
    dirs += [Path(p) for p in QCoreApplication.libraryPaths()]
    dirs += [Path(p) for p in os.environ.get("QT_PLUGIN_PATH", "").split(os.pathsep) if p]
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def find_plugin(kind: str, name: str) -> Path | None:
    """The file of Qt plugin `name` (e.g. "xcb") of `kind` (e.g. "platforms"), if present."""
    stems = {f"libq{name}", f"q{name}"}
    for folder in _plugin_dirs():
        sub = folder / kind
        if not sub.is_dir():
            continue
        for entry in sub.iterdir():
            stem = entry.name.split(".")[0]
            if stem in stems or stem.removesuffix("d") in stems:
                return entry
    return None


def _native_plugin_note() -> str:
    """Whether the desktop platform plugin is in the install and its system libraries load."""
    native = NATIVE_PLATFORM.get(sys.platform)
    if native is None:
        return ""
    path = find_plugin("platforms", native)
    if path is None:
        raise CheckFailed(f"the {native} platform plugin is missing, the window cannot open "
                          "on a desktop")
    if sys.platform == "linux":
        import ctypes

        try:  # resolves the plugin's system libraries (libxcb-cursor0 & co.) without using it
            ctypes.CDLL(str(path))
        except OSError as exc:
            return f"; warning: the {native} plugin cannot load here ({exc})"
    return f"; {native} plugin present"


def start_qt(test: SelfTest, argv: list[str]) -> str:
    import PySide6
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler, qVersion
    from PySide6.QtWidgets import QApplication

    requested = os.environ.get("QT_QPA_PLATFORM", "")
    names = [n.split(":")[0] for n in requested.split(";") if n]
    if names and not any(find_plugin("platforms", n) for n in names):
        # Qt would abort the process; say what is missing instead.
        where = ", ".join(str(d) for d in _plugin_dirs())
        raise CheckFailed(f"no Qt platform plugin {requested!r} in {where}")
    if "xcb" in names[:1] and not os.environ.get("DISPLAY"):
        raise CheckFailed("QT_QPA_PLATFORM=xcb but DISPLAY is not set")

    def on_message(kind: QtMsgType, _context: Any, message: str) -> None:
        if kind != QtMsgType.QtDebugMsg and kind != QtMsgType.QtInfoMsg:
            test.qt_messages.append(message)

    test.previous_handler = qInstallMessageHandler(on_message)
    app: Any = QApplication.instance() or QApplication(argv)
    app.setApplicationName("Shorts Desktop")
    app.setOrganizationName("shorts-desktop")
    test.app = app
    note = _native_plugin_note()
    return (f"{app.platformName()} (Qt {qVersion()}, PySide6 {PySide6.__version__}){note}")


def check_resources() -> str:
    from shorts_desktop.resources import ICON_SIZES, app_icon, find_resources_dir, icon_files

    folder = find_resources_dir()
    if folder is None:
        from shorts_desktop.resources import candidate_dirs

        raise CheckFailed("resources folder not found in " +
                          ", ".join(str(p) for p in candidate_dirs()))
    files = icon_files()
    if len(files) != len(ICON_SIZES) + 1:
        raise CheckFailed(f"{len(files)} of {len(ICON_SIZES) + 1} icon files in {folder}/icons")
    icon = app_icon()
    if icon.isNull() or icon.pixmap(64, 64).isNull():
        raise CheckFailed("the app icon does not draw")
    desktop = folder / "shorts-desktop.desktop"
    extra = ", .desktop file" if desktop.is_file() else ""
    return f"{folder} (icon: svg + {len(files) - 1} png{extra})"


def check_image_formats() -> str:
    from PySide6.QtGui import QImage, QImageReader

    from shorts_desktop.resources import find_resources_dir

    formats = sorted(bytes(f.data()).decode() for f in QImageReader.supportedImageFormats())
    missing = [f for f in NEEDED_IMAGE_FORMATS if f not in formats]
    if missing:
        raise CheckFailed(f"missing {', '.join(missing)}; have {', '.join(formats)}")
    folder = find_resources_dir()
    if folder is not None:  # actually load the plugin, not just its metadata
        for name in ("shorts-desktop.svg", "shorts-desktop-16.png"):
            image = QImage(str(folder / "icons" / name))
            if image.isNull():
                raise CheckFailed(f"cannot decode {name}")
    return ", ".join(formats)


def check_charts() -> str:
    from PySide6.QtCharts import QBarSeries, QBarSet, QChart, QChartView

    bars = QBarSet("bytes")
    bars.append([1.0, 3.0, 2.0])
    series = QBarSeries()
    series.append(bars)
    chart = QChart()
    chart.addSeries(series)
    chart.createDefaultAxes()
    view = QChartView(chart)
    view.resize(320, 200)
    if view.grab().isNull():
        raise CheckFailed("a chart does not draw")
    view.deleteLater()
    return "QtCharts loaded, a bar chart drawn"


def build_services(test: SelfTest, home: Path | None) -> str:
    from shorts_desktop.app import build_services as build

    env = dict(os.environ)
    if home is not None:
        env["SHORTS_DESKTOP_HOME"] = str(home)
    test.services = build(env)
    svc = test.services
    return f"storage {svc.storage.describe()}; credentials from {svc.credentials.source}"


def check_database(services: Any) -> str:
    import sqlite3

    from shorts_desktop.core.db.migrations import LATEST_VERSION

    version = int(services.db.execute_sql("PRAGMA user_version").fetchone()[0])
    mode = services.db.execute_sql("PRAGMA journal_mode").fetchone()[0]
    if version != LATEST_VERSION:
        raise CheckFailed(f"schema version {version}, expected {LATEST_VERSION}")
    return (f"schema v{version}, {mode}, SQLite {sqlite3.sqlite_version} at "
            f"{services.paths.db_path}")


def _platform_backend() -> tuple[str, list[str]]:
    """The keyring backend module this OS uses, and the modules it needs."""
    if sys.platform == "darwin":
        return "keyring.backends.macOS", []
    if sys.platform == "win32":
        return "keyring.backends.Windows", ["win32ctypes"]
    return "keyring.backends.SecretService", ["secretstorage", "jeepney"]


def check_keyring() -> str:
    import importlib

    import keyring
    import keyring.backends.fail

    module_name, needs = _platform_backend()
    for name in (module_name, *needs):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise CheckFailed(
                f"{name} does not load ({exc}); stored keys would be unusable"
            ) from None
    backend = keyring.get_keyring()
    kind = type(backend)
    label = f"{kind.__module__}.{kind.__name__}"
    if "keyrings.alt" in kind.__module__ or "plaintext" in kind.__name__.lower():
        raise CheckFailed(f"{label} would keep secrets in a plaintext file; remove keyrings.alt")
    if isinstance(backend, keyring.backends.fail.Keyring):
        module = importlib.import_module(module_name)
        why = "no usable backend"
        try:
            _ = module.Keyring.priority  # raises with the reason it cannot be used
        except Exception as exc:
            why = str(exc) or type(exc).__name__
        raise CheckWarning(
            f"no keyring service on this system ({why}); {module_name} loaded; credentials "
            "will come from the AWS chain (environment, ~/.aws, SSO)"
        )
    inner = getattr(backend, "backends", None)
    if inner:
        label += " over " + ", ".join(type(b).__module__ + "." + type(b).__name__ for b in inner)
    return f"{label} (priority {backend.priority})"


def check_botocore() -> str:
    import boto3
    import botocore
    import botocore.session
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id="selftest", aws_secret_access_key="selftest", region_name="us-east-1"
    )
    client = session.client("s3", config=Config(signature_version="s3v4"))
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": "selftest-bucket", "Key": "a/b.mp4"}, ExpiresIn=60
    )
    if "X-Amz-Signature=" not in url:
        raise CheckFailed("the presigned link is not signed")
    client.get_paginator("list_objects_v2")
    loader = botocore.session.get_session().get_component("data_loader")
    for service in BOTOCORE_SERVICES:
        loader.load_service_model(service, "service-2")
    return (f"boto3 {boto3.__version__}, botocore {botocore.__version__}: s3 client, "
            f"presigned link, models {', '.join(BOTOCORE_SERVICES)}")


# -- making a Short ------------------------------------------------------------------------------


def _bundle_dir() -> Path | None:
    """The bundle's _internal folder when running frozen (PyInstaller), else None."""
    bundle = getattr(sys, "_MEIPASS", None)
    return Path(bundle).resolve() if bundle else None


def _outside_bundle(path: str | Path) -> bool:
    """True when frozen and `path` is not a file of this bundle (e.g. one on the system)."""
    bundle = _bundle_dir()
    return bundle is not None and not Path(path).resolve().is_relative_to(bundle)


#: What the Short needs from ffmpeg's build: H.264, captions (libass) with fonts.
FFMPEG_FEATURES = ("libx264", "libass", "libfreetype")


def check_ffmpeg() -> str:
    import subprocess

    from shorts_desktop.core.render.ffmpeg import ffmpeg_exe

    exe = ffmpeg_exe()
    override = os.environ.get("IMAGEIO_FFMPEG_EXE", "")
    if _outside_bundle(exe) and not override:
        raise CheckFailed(f"the bundle's own ffmpeg is missing; {exe} from this system would "
                          "be used instead")
    done = subprocess.run([exe, "-hide_banner", "-version"], stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=30, check=False)
    text = done.stdout.decode("utf-8", "replace")
    first, _, rest = text.partition("\n")
    if done.returncode != 0 or not first.startswith("ffmpeg version "):
        raise CheckFailed(f"{exe} -version exited {done.returncode}: {first or done.stderr!r}")
    missing = [f for f in FFMPEG_FEATURES if f"--enable-{f}" not in rest]
    if missing:
        raise CheckFailed(f"{exe} is built without {', '.join(missing)}")
    detail = f"{first.split()[2]} at {exe}"
    if override:
        raise CheckWarning(f"{detail} (IMAGEIO_FFMPEG_EXE overrides the bundled ffmpeg)")
    return detail


def check_espeak(work: Path) -> str:
    import espeakng_loader

    from shorts_desktop.core.render.narration.espeak import EspeakProvider
    from shorts_desktop.core.render.transcript import parse_transcript
    from shorts_desktop.core.render.types import CancelToken

    library = espeakng_loader.get_library_path()
    data = espeakng_loader.get_data_path()
    for path in (library, data):
        if _outside_bundle(path):
            raise CheckFailed(f"{path} is outside the bundle")
    text = "Shorts Desktop speaks."
    narration = EspeakProvider().narrate(parse_transcript(text), "alloy", work,
                                         cancel=CancelToken(), max_seconds=10)
    words = [w.text for w in narration.words]
    if words != text.split():
        raise CheckFailed(f"word timings for {words}, expected {text.split()}")
    starts = [w.start for w in narration.words]
    if starts != sorted(starts) or any(w.end <= w.start for w in narration.words):
        raise CheckFailed(f"word timings out of order: {narration.words}")
    assert narration.audio is not None
    head = narration.audio.read_bytes()[:12]
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE" or narration.duration < 0.3:
        raise CheckFailed(f"{narration.audio.name} is not a WAV of speech "
                          f"({narration.duration:.2f} s)")
    return (f"{len(words)} words in {narration.duration:.2f} s of speech, timed; "
            f"{library}, data {data}")


def _fonts_dir() -> Path:
    from shorts_desktop.resources import candidate_dirs, find_resources_dir

    folder = find_resources_dir()
    if folder is None:
        raise CheckFailed("resources folder not found in " +
                          ", ".join(str(p) for p in candidate_dirs()))
    return folder / "fonts"


def check_caption_font() -> str:
    from shorts_desktop.core.render.short import FONT_FILE

    font = _fonts_dir() / FONT_FILE
    if not font.is_file():
        raise CheckFailed(f"{font} is missing: captions would not be drawn")
    with font.open("rb") as f:
        magic = f.read(4)
    if magic not in (b"\x00\x01\x00\x00", b"true", b"OTTO"):
        raise CheckFailed(f"{font} is not a TrueType/OpenType font")
    return f"{font} ({font.stat().st_size // 1024} KB)"


def _app_licence() -> Path:
    """The app's LICENSE: in the bundle's _internal folder, or at the top of a checkout."""
    bundle = _bundle_dir()
    if bundle is not None:
        return bundle / "LICENSE"
    return Path(__file__).resolve().parent.parent / "LICENSE"  # a source checkout


def check_licences() -> str:
    licence = _app_licence()
    font_licence = _fonts_dir() / "LICENSE-DejaVu.txt"
    if not font_licence.is_file():
        raise CheckFailed(f"{font_licence} is missing (the font's licence must ship with it)")
    if not licence.is_file():
        if _bundle_dir() is not None:
            raise CheckFailed(f"{licence} is missing from the bundle")
        raise CheckWarning(f"no LICENSE beside this installation; {font_licence.name} present")
    head = licence.read_text("utf-8", "replace")[:400]
    if "GNU GENERAL PUBLIC LICENSE" not in head or "Version 3" not in head:
        raise CheckFailed(f"{licence} is not the GPL version 3")
    return f"GPL-3.0 at {licence}; {font_licence.name}"


def check_youtube() -> str:
    import httplib2.certs
    from google.oauth2.credentials import Credentials
    from google_auth_oauthlib.flow import InstalledAppFlow
    from googleapiclient.http import MediaInMemoryUpload

    from shorts_desktop.core.publish._client import _shipped_document, build_service
    from shorts_desktop.core.publish.auth import SCOPES

    document = _shipped_document()  # raises when the bundle lacks it
    root = "http://127.0.0.1:9/"  # a client aimed here; nothing is sent
    credentials = Credentials(token="selftest")  # type: ignore[no-untyped-call]
    service = build_service(credentials, api_root=root)
    try:
        media = MediaInMemoryUpload(b"\0", mimetype="video/mp4", resumable=True)
        request = service.videos().insert(part="snippet,status", body={}, media_body=media)
        if not request.uri.startswith(f"{root}upload/youtube/v3/videos"):
            raise CheckFailed(f"videos.insert would go to {request.uri}")
    finally:
        service.close()
    config = {"installed": {
        "client_id": "selftest.apps.googleusercontent.com", "client_secret": "selftest",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }}
    flow = InstalledAppFlow.from_client_config(config, scopes=list(SCOPES))
    flow.redirect_uri = "http://127.0.0.1:9/"
    url, _state = flow.authorization_url(access_type="offline")
    if "client_id=selftest" not in url:
        raise CheckFailed(f"the sign-in address is wrong: {url}")
    # The CA bundle the installation carries (certifi's, else httplib2's own), and the one
    # in use (HTTPLIB2_CA_CERTS may name another).
    carried = Path(httplib2.certs.certifi_where() if httplib2.certs.certifi_available
                   else httplib2.certs.BUILTIN_CA_CERTS)
    used = Path(httplib2.certs.where())
    for certs in (carried, used):
        if not certs.is_file():
            raise CheckFailed(f"the CA certificates {certs} are missing")
    if _outside_bundle(carried):
        raise CheckFailed(f"the CA certificates {carried} are outside the bundle")
    detail = (f"youtube {document.get('version')} (revision {document.get('revision')}) built "
              f"offline, upload request and sign-in address made; CA certificates {carried}")
    return detail + (f" (in use: {used}, from HTTPLIB2_CA_CERTS)" if used != carried else "")


#: The source clip the self-test makes the Short from: small, quick to encode.
SELFTEST_CLIP = "testsrc=size=320x180:rate=15:duration=1"


def check_render(work: Path) -> str:
    from shorts_desktop.core.config import build_settings
    from shorts_desktop.core.render.ffmpeg import capture, last_stderr_lines, meaningful_line
    from shorts_desktop.core.render.narration.espeak import EspeakProvider
    from shorts_desktop.core.render.probe import probe
    from shorts_desktop.core.render.short import OUTPUT_HEIGHT, OUTPUT_WIDTH, make_short
    from shorts_desktop.core.render.types import CancelToken

    started = time.monotonic()
    code, text = capture(["-f", "lavfi", "-i", SELFTEST_CLIP, "-c:v", "libx264",
                          "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-y", "clip.mp4"],
                         cwd=work)
    if code != 0:
        raise CheckFailed(f"ffmpeg could not make the test clip: "
                          f"{meaningful_line(last_stderr_lines(text, 20))}")
    settings = build_settings([("selftest", {"SHORTS_DESKTOP_MAX_SECONDS": "5"})])
    result = make_short(
        work_dir=work, video="clip.mp4", video_name="clip.mp4", transcript=b"Selftest.",
        transcript_name="selftest.txt", voice="alloy", provider=EspeakProvider(),
        settings=settings, fonts_dir=_fonts_dir(), on_stage=lambda _stage, _done: None,
        cancel=CancelToken(),
    )
    info = probe(result.outputs["short.mp4"])
    if (info.width, info.height) != (OUTPUT_WIDTH, OUTPUT_HEIGHT) or not info.has_audio:
        raise CheckFailed(f"short.mp4 is {info.width}x{info.height}, "
                          f"{'with' if info.has_audio else 'without'} audio")
    if not result.manifest["render"]["captions_burned_in"]:
        raise CheckFailed("the captions were not burned in")
    return (f"{info.width}x{info.height} {info.duration:.1f} s {info.video_codec}+"
            f"{info.audio_codec}, narrated and captioned, in {time.monotonic() - started:.1f} s")


def open_main_window(test: SelfTest, services: Any) -> str:
    from PySide6.QtCore import QCoreApplication

    from shorts_desktop.gui.main_window import MainWindow

    window = MainWindow(services)
    test.window = window
    window.resize(1280, 800)
    window.show()
    deadline = time.monotonic() + 10
    while window.runner.running and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.02)
    window.runner.drain()
    QCoreApplication.processEvents()
    if window.grab().isNull():
        raise CheckFailed("the window does not draw")
    detail = f"{len(window.panels)} panels"  # imported by name: a missing one fails above
    if window.windowIcon().isNull():
        detail += "; no window icon set"
    return detail


#: Qt messages that the offscreen platform always prints; they say nothing about the install.
BENIGN_QT_MESSAGES = ("does not support propagateSizeHints",)


def check_qt_messages(test: SelfTest) -> str:
    from shorts_desktop.core.units import plural

    messages = [m for m in test.qt_messages if not any(b in m for b in BENIGN_QT_MESSAGES)]
    if messages:
        first = messages[0].strip().splitlines()[0]
        raise CheckWarning(f"{plural(len(messages), 'Qt warning')}, first: {first}")
    return "no Qt warnings"


# -- entry point ----------------------------------------------------------------------------------


def run(argv: Sequence[str] | None = None, *, out: Any = None) -> int:
    """Run every check; `argv` goes to QApplication (default: this program's name)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    test = SelfTest(out=out or sys.stdout)
    qt_argv = list(argv) if argv is not None else sys.argv[:1] or ["shorts-desktop"]
    scratch = None
    if not os.environ.get("SHORTS_DESKTOP_HOME", "").strip():
        scratch = tempfile.TemporaryDirectory(prefix="shorts-desktop-selftest-")
    home = Path(scratch.name) if scratch else None
    started = time.monotonic()
    try:
        test.check("version", check_version)
        qt = test.check("qt-platform", lambda: start_qt(test, qt_argv))
        gui = [test.app if qt else None]
        test.check("resources", check_resources, needs=gui)
        test.check("image-formats", check_image_formats, needs=gui)
        test.check("qt-charts", check_charts, needs=gui)
        test.check("services", lambda: build_services(test, home))
        test.check("database", lambda: check_database(test.services), needs=[test.services])
        test.check("keyring", check_keyring)
        test.check("botocore", check_botocore)
        with tempfile.TemporaryDirectory(prefix="shorts-desktop-selftest-render-") as work:
            speech, render = Path(work) / "speech", Path(work) / "render"
            speech.mkdir()
            render.mkdir()
            ffmpeg = test.check("ffmpeg", check_ffmpeg)
            espeak = test.check("espeak", lambda: check_espeak(speech))
            font = test.check("caption-font", check_caption_font)
            test.check("licences", check_licences)
            test.check("youtube", check_youtube)
            test.check("render", lambda: check_render(render),
                       needs=[ffmpeg or None, espeak or None, font or None])
        test.check("main-window", lambda: open_main_window(test, test.services),
                   needs=[*gui, test.services])
        if qt:
            test.check("qt-messages", lambda: check_qt_messages(test))
    finally:
        _close(test)
        if scratch is not None:
            scratch.cleanup()
    took = time.monotonic() - started
    if test.failed:
        test.out.write(f"selftest FAILED ({', '.join(test.failed)}) in {took:.1f} s\n")
        return 1
    test.out.write(f"selftest passed ({len(test.results)} checks) in {took:.1f} s\n")
    return 0


def _close(test: SelfTest) -> None:
    try:
        if test.window is not None:
            test.window.close()  # closes its services too
            test.window.deleteLater()
        elif test.services is not None:
            test.services.close()
        if test.app is not None:
            from PySide6.QtCore import QCoreApplication, QEvent, qInstallMessageHandler

            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            QCoreApplication.processEvents()
            qInstallMessageHandler(test.previous_handler)  # e.g. pytest-qt's, when under test
    except Exception as exc:
        test.out.write(f"{WARN:<5}{'shutdown':<14} {type(exc).__name__}: {exc}\n")


if __name__ == "__main__":
    raise SystemExit(run())
