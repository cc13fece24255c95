"""Small media files made on the spot with the bundled ffmpeg, and ways to look inside them.

Everything is generated (lavfi test sources, Python's `wave`), so tests need no binary
fixtures; clips are tiny and encoded with x264 ultrafast to stay fast.
"""

from __future__ import annotations

import array
import math
import os
import random
import struct
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import imageio_ffmpeg


def ffmpeg(*args: str, cwd: Path | None = None) -> bytes:
    """Run the bundled ffmpeg quietly; its stdout. Fails the test (CalledProcessError) on error."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
           "-y", *args]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, check=False)
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, cmd, done.stdout, done.stderr)
    return done.stdout


def ffmpeg_dump(path: Path) -> str:
    """What `ffmpeg -i` says about a file (its stderr), for checks on codecs and profiles."""
    done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin",
                           "-i", str(path)], capture_output=True, check=False)
    return done.stderr.decode("utf-8", "replace")


def clip(
    path: Path,
    *,
    width: int = 640,
    height: int = 360,
    duration: float = 2.0,
    fps: int = 25,
    audio: bool = True,
    tone: float = 440.0,
    gain_db: float = 0.0,
    black: bool = False,
    faststart: bool = True,
) -> Path:
    """An H.264/AAC MP4 of testsrc2 (or black) with a sine tone (-18 dBFS + gain_db)."""
    picture = (f"color=c=black:s={width}x{height}:r={fps}:d={duration}" if black
               else f"testsrc2=s={width}x{height}:r={fps}:d={duration}")
    args = ["-f", "lavfi", "-i", picture]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=f={tone}:r=48000:d={duration}",
                 "-af", f"volume={gain_db}dB", "-c:a", "aac", "-b:a", "96k"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-t",
             str(duration)]
    if faststart:
        args += ["-movflags", "+faststart"]
    ffmpeg(*args, str(path))
    return path


def landscape_clip(path: Path, *, duration: float = 2.0, **kw: Any) -> Path:
    """1920x1080 at 30 fps: the usual source."""
    return clip(path, width=1920, height=1080, duration=duration, fps=30, **kw)


def small_clip(path: Path, *, duration: float = 2.0, **kw: Any) -> Path:
    """640x360 at 25 fps: a landscape source that is quick to render from."""
    return clip(path, width=640, height=360, duration=duration, **kw)


def portrait_clip(path: Path, *, duration: float = 2.0, **kw: Any) -> Path:
    """360x640 pixels stored upright (exactly 9:16)."""
    return clip(path, width=360, height=640, duration=duration, **kw)


def rotated_clip(path: Path, *, duration: float = 2.0, rotation: int = 90) -> Path:
    """640x360 pixels with a display matrix turning them upright: shown as 360x640, as a phone
    records."""
    plain = path.with_name(path.stem + "-unrotated.mp4")
    small_clip(plain, duration=duration)
    ffmpeg("-display_rotation", str(rotation), "-i", str(plain), "-c", "copy", str(path))
    plain.unlink()
    return path


def no_audio_clip(path: Path, *, duration: float = 2.0) -> Path:
    return small_clip(path, duration=duration, audio=False)


def black_clip(path: Path, *, duration: float = 2.0, **kw: Any) -> Path:
    """A black picture (640x360) with a tone: for caption and audio level checks."""
    return clip(path, duration=duration, black=True, **kw)


def garbage_mp4(path: Path, *, size: int = 20_000, seed: int = 1) -> Path:
    """Random bytes named like a video."""
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def truncated_mp4(path: Path) -> Path:
    """The first third of an MP4 whose index (moov) was at the end: the index is gone."""
    whole = path.with_name(path.stem + "-whole.mp4")
    small_clip(whole, faststart=False)
    data = whole.read_bytes()
    whole.unlink()
    path.write_bytes(data[: len(data) // 3])
    return path


def audio_only(path: Path, *, duration: float = 1.0) -> Path:
    """An AAC file (.m4a) with no picture."""
    ffmpeg("-f", "lavfi", "-i", f"sine=f=440:d={duration}", "-c:a", "aac", str(path))
    return path


def tone_wav(
    path: Path,
    *,
    silence: float = 0.0,
    duration: float = 2.0,
    freq: float = 3000.0,
    amplitude: float = 0.5,
    rate: int = 22050,
) -> Path:
    """A mono 16-bit WAV (as the narrator writes): `silence` seconds, then a sine tone."""
    quiet = int(silence * rate)
    loud = int(duration * rate)
    samples = array.array("h", bytes(2 * quiet))
    peak = int(amplitude * 32767)
    samples.extend(int(peak * math.sin(2 * math.pi * freq * i / rate)) for i in range(loud))
    if sys.byteorder == "big":
        samples.byteswap()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def gray_frame(path: Path, *, at: float, width: int, height: int) -> bytes:
    """The frame at `at` seconds as 8-bit luma, `width*height` bytes (scaled to that size)."""
    return ffmpeg("-ss", f"{at:.3f}", "-i", str(path), "-frames:v", "1",
                  "-vf", f"scale={width}:{height}", "-f", "rawvideo", "-pix_fmt", "gray", "-")


def mean(values: bytes | list[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def rows(frame: bytes, width: int, first: int, last: int) -> bytes:
    """Rows first..last-1 of a gray frame."""
    return frame[first * width : last * width]


def pcm(path: Path, *, rate: int = 48000) -> array.array[int]:
    """A file's audio as mono 16-bit samples at `rate`."""
    data = ffmpeg("-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(rate),
                  "-f", "s16le", "-acodec", "pcm_s16le", "-")
    samples = array.array("h")
    samples.frombytes(data[: len(data) - len(data) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def tone_level_db(samples: array.array[int], freq: float, *, rate: int = 48000,
                  start: float = 0.0, end: float | None = None) -> float:
    """The level (dBFS, a full-scale sine = 0) of one frequency in a time range (Goertzel)."""
    first = int(start * rate)
    last = len(samples) if end is None else min(len(samples), int(end * rate))
    n = last - first
    if n <= 0:
        raise ValueError("empty time range")
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for i in range(first, last):
        s0 = samples[i] / 32768 + coeff * s1 - s2
        s2, s1 = s1, s0
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    amplitude = 2 * math.sqrt(max(power, 0.0)) / n
    return 20 * math.log10(max(amplitude, 1e-9))


def top_level_atoms(path: Path) -> list[tuple[str, int]]:
    """The MP4's top-level boxes in file order, as (type, byte offset)."""
    found: list[tuple[str, int]] = []
    data = path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        found.append((kind.decode("latin-1"), offset))
        if size < 8:
            break
        offset += size
    return found


def ffmpeg_children() -> list[int]:
    """Live ffmpeg processes started by this process (Linux /proc): none once a run ends."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == os.getpid() and "ffmpeg" in name and fields[0] != "Z":
            found.append(int(entry))
    return found
