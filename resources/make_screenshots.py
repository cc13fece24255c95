"""Make the README's screenshots: one PNG per panel, from realistic sample data.

    python resources/make_screenshots.py [--out resources/screenshots] [--scale 1.25]
                                         [--dark] [--panel NAME ...]

Builds a throwaway home folder (HOME points at it, so the window shows the paths a user
would see, such as ~/.local/share/shorts-desktop) with a local library (real short clips
made with the bundled ffmpeg, and transcripts, temporary and permanent, uploaded over the
last weeks), jobs in different states (one really made into a Short, one failed, one
waiting) and unfinished uploads that the window restores into its queue; then runs
`python -m shorts_desktop gui --panel NAME --screenshot FILE` for each panel, each in
its own process (offscreen unless QT_QPA_PLATFORM says otherwise). PNGs are written
with the strongest compression so that they stay small in the repository.
"""

from __future__ import annotations

import argparse
import os
import random
import struct
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
PANELS = ("uploads", "library", "bucket", "jobs", "cleanup", "stats", "settings")

VIDEOS = [
    ("Sunrise over the Dolomites - 60s timelapse.mp4", 38, True),
    ("How I edit a Short in 5 minutes (DaVinci Resolve).mp4", 24, False),
    ("Street food tour - Bangkok night market part 2.mov", 61, False),
    ("Cold brew at home - 3 ingredients.mp4", 12, True),
    ("Mountain biking in the Alps - take 3 final FINAL export 1080x1920.mp4", 87, True),
    ("Behind the scenes - studio lighting on a budget.mkv", 19, False),
]
TRANSCRIPTS = [
    ("Sunrise over the Dolomites.srt", True),
    ("How I edit a Short in 5 minutes.txt", False),
    ("Street food tour part 2.vtt", False),
    ("Cold brew at home.txt", True),
]
SRT = ("1\n00:00:00,000 --> 00:00:03,500\nFour in the morning, minus six degrees.\n\n"
       "2\n00:00:03,500 --> 00:00:07,000\nAnd then the light hits the peaks.\n")


#: A lavfi picture per sample video, so every thumbnail differs; (width, height, seconds).
PICTURES = [
    ("mandelbrot=s={w}x{h}:rate=30", 1280, 720, 6),
    ("testsrc2=s={w}x{h}:r=30", 1920, 1080, 8),
    ("life=s={w}x{h}:mold=10:r=30:ratio=0.3:death_color=#1e3a5f:life_color=#ffcc66", 1280, 720,
     8),
    ("smptehdbars=s={w}x{h}:r=30", 1920, 1080, 6),
    ("cellauto=s={w}x{h}:rule=110:r=30", 1080, 1920, 10),
    ("gradients=s={w}x{h}:speed=0.02:r=30", 1080, 1920, 9),
]


def mp4(size: int) -> bytes:
    """A valid MP4 signature followed by padding: enough for the app's checks."""
    return struct.pack(">I", 24) + b"ftypisom" + bytes(12) + os.urandom(max(0, size - 24))


def clip(path: Path, index: int) -> Path:
    """A real H.264/AAC clip (so the library shows its length, size and thumbnail)."""
    import imageio_ffmpeg

    picture, width, height, seconds = PICTURES[index % len(PICTURES)]
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
         "-f", "lavfi", "-i", picture.format(w=width, h=height),
         "-f", "lavfi", "-i", f"sine=f={220 + 110 * index}:d={seconds}",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-movflags", "+faststart", str(path)],
        check=True)
    return path


def app_environ(home: Path) -> dict[str, str]:
    """The environment of a user whose home is `home`, with no bucket set up."""
    skip = ("AWS_", "S3_", "XDG_", "SHORTS_DESKTOP_HOME")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env["HOME"] = str(home)
    return env


def populate(home: Path, media: Path) -> None:
    """Fill the app's data under `home` through the core, as the app itself would."""
    env = app_environ(home)
    os.environ.clear()
    os.environ.update(env)  # platformdirs reads HOME from the process environment
    from shorts_desktop.app import build_services
    from shorts_desktop.core.db.models import Job, Upload, utcnow
    from shorts_desktop.core.services.jobs import JobDraft

    rng = random.Random(7)
    services = build_services(env, cwd=media)
    try:
        now = utcnow()
        made: dict[str, str] = {}
        for index, (name, _kib, temp) in enumerate(VIDEOS):
            path = clip(media / name, index)
            upload = services.uploads.upload_file(path, "video", is_temp=temp)
            made[name] = upload.id
            when = now - timedelta(days=rng.randint(0, 26), hours=index * 3)
            Upload.update(created_at=when, completed_at=when, updated_at=when).where(
                Upload.id == upload.id).execute()
        # The same clip again under another name: the library marks the pair as duplicates.
        copy = media / "Cold brew - phone export.mp4"
        copy.write_bytes((media / VIDEOS[3][0]).read_bytes())
        upload = services.uploads.upload_file(copy, "video", is_temp=True)
        when = now - timedelta(days=2, hours=7)
        Upload.update(created_at=when, completed_at=when, updated_at=when).where(
            Upload.id == upload.id).execute()
        for index, (name, temp) in enumerate(TRANSCRIPTS):
            path = media / name
            if name.endswith(".vtt"):
                path.write_text("WEBVTT\n\n" + SRT.replace(",", "."))
            elif name.endswith(".srt"):
                path.write_text(SRT)
            else:
                path.write_text("Four in the morning, minus six degrees.\n"
                                "And then the light hits the peaks.\n")
            upload = services.uploads.upload_file(path, "transcript", is_temp=temp)
            made[name] = upload.id
            when = now - timedelta(days=rng.randint(0, 20), hours=index * 5)
            Upload.update(created_at=when, completed_at=when, updated_at=when).where(
                Upload.id == upload.id).execute()

        first = services.jobs.create(JobDraft(
            title="Sunrise over the Dolomites in 60 seconds",
            description="Four a.m., minus six degrees, one camera and a lot of coffee.",
            voice="nova", tags=["timelapse", "dolomites", "sunrise", "italy"],
            video_upload_id=made[VIDEOS[0][0]], transcript_upload_id=made[TRANSCRIPTS[0][0]],
        ))
        services.processing.process(first.id)  # a real Short, with its thumbnail
        Job.update(created_at=now - timedelta(hours=5)).where(Job.id == first.id).execute()
        failed = services.jobs.create(JobDraft(
            title="Street food tour - Bangkok night market part 2",
            voice="echo", tags=["street food", "bangkok"],
            video_upload_id=made[VIDEOS[2][0]], transcript_upload_id=made[TRANSCRIPTS[2][0]],
        ))
        services.jobs.fail_processing(
            failed.id, "OpenAI refused the API key; set a valid one with `shorts-desktop "
            "credentials set --openai` or OPENAI_API_KEY.")
        Job.update(created_at=now - timedelta(days=1)).where(Job.id == failed.id).execute()
        second = services.jobs.create(JobDraft(
            title="How I edit a Short in 5 minutes",
            description="My whole DaVinci Resolve workflow, start to export.",
            voice="onyx", tags=["editing", "davinci resolve", "workflow"],
            video_upload_id=made[VIDEOS[1][0]], transcript_upload_id=made[TRANSCRIPTS[1][0]],
        ))
        Job.update(created_at=now - timedelta(days=2)).where(Job.id == second.id).execute()

        # Unfinished uploads come back into the queue when the window opens.
        held = media / "Kayaking the fjords - drone shots 4K.mp4"
        held.write_bytes(mp4(2300 * 1024))
        upload, _sums = services.uploads.create(held, "video")
        Upload.update(status="paused", bytes_done=1400 * 1024).where(
            Upload.id == upload.id).execute()
        retry = media / "Voiceover - kayaking the fjords.txt"
        retry.write_text("We paddled out at six.\n")
        upload, _sums = services.uploads.create(retry, "transcript")
        Upload.update(status="failed", error="The connection was reset; retry to continue.").where(
            Upload.id == upload.id).execute()
    finally:
        services.close()


def shoot(home: Path, media: Path, panel: str, target: Path, *, scale: str | None,
          dark: bool) -> None:
    env = app_environ(home)
    env["SHORTS_DESKTOP_AUTO_PROCESS"] = "false"  # the window shows the jobs as they are
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    if scale:
        env["QT_SCALE_FACTOR"] = scale
    if dark:
        env["SHORTS_DESKTOP_COLOR_SCHEME"] = "dark"
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "shorts_desktop", "gui", "--panel", panel,
                    "--screenshot", str(target)], env=env, cwd=media, check=True)
    compress(target)


def compress(path: Path) -> None:
    """Re-save with maximum zlib compression (Qt's default is fast, not small)."""
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    if not image.isNull():
        image.save(str(path), "PNG", 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "screenshots")
    parser.add_argument("--panel", action="append", choices=PANELS)
    parser.add_argument("--scale", help="QT_SCALE_FACTOR, e.g. 1.25 (names get a suffix)")
    parser.add_argument("--dark", action="store_true", help="dark colour scheme (suffix -dark)")
    args = parser.parse_args(argv)
    suffix = (f"@{args.scale}x" if args.scale else "") + ("-dark" if args.dark else "")
    with tempfile.TemporaryDirectory(prefix="shorts-screens-") as tmp:
        home, media = Path(tmp) / "home", Path(tmp) / "media"
        media.mkdir()
        populate(home, media)
        for panel in args.panel or PANELS:
            target = args.out / f"{panel}{suffix}.png"
            shoot(home, media, panel, target, scale=args.scale, dark=args.dark)
            print(f"{target} ({target.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
