"""What a source video is, read from `ffmpeg -i` (imageio-ffmpeg ships no ffprobe)."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from shorts_desktop.core.errors import ShortsError, UserError
from shorts_desktop.core.render.ffmpeg import capture, last_stderr_lines, meaningful_line
from shorts_desktop.core.render.types import VideoInfo

#: Decoding a whole file to time it (when its header has no duration) may take this long.
_FULL_DECODE_TIMEOUT = 900.0

_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM = re.compile(r"^\s*Stream #0:\d+\S*: (Video|Audio|Subtitle|Data|Attachment): ([^\s,]+)")
_SIZE = re.compile(r"(?:^|[\s,])([1-9]\d*)x([1-9]\d*)(?=[\s,\[]|$)")
_SAR = re.compile(r"SAR (\d+):(\d+)")
_FPS = re.compile(r"([\d.]+)(k?) (fps|tbr)\b")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees", re.I)
_ROTATE_TAG = re.compile(r"^\s*rotate\s*:\s*(-?\d+)", re.I)
_FRAMES = re.compile(r"frame=\s*(\d+)")
_TIME = re.compile(r"time=\s*(\d+):(\d+):(\d+(?:\.\d+)?)")


@dataclass
class _Header:
    """The parts of ffmpeg's dump of input #0 that probe needs."""

    opened: bool = False
    duration: float = 0.0
    video: str = ""  # the first video stream's line
    video_extra: list[str] | None = None  # its metadata and side data lines
    audio_codec: str = ""


def _arg(path: Path) -> str:
    """An input argument ffmpeg will not take for a protocol or an option."""
    return os.path.abspath(path)


def _parse_header(text: str) -> _Header:
    head = _Header()
    section = False
    current_video = False
    for line in text.replace("\r", "\n").split("\n"):
        if line.startswith("Input #0"):
            head.opened = section = True
            continue
        if not section:
            continue
        if line.startswith("["):
            continue  # a decoder's message written in the middle of the dump
        if line and not line[0].isspace():
            break  # "Stream mapping:", "Output #0": the end of the dump of input #0
        if (m := _DURATION.search(line)) is not None:
            h, mi, s = m.groups()
            head.duration = int(h) * 3600 + int(mi) * 60 + float(s)
            continue
        stream = _STREAM.match(line)
        if stream is not None:
            kind, codec = stream.groups()
            current_video = False
            if kind == "Video" and not head.video and "(attached pic)" not in line:
                head.video, head.video_extra, current_video = line, [], True
            elif kind == "Audio" and not head.audio_codec:
                head.audio_codec = codec
            continue
        if current_video and head.video_extra is not None:
            head.video_extra.append(line)
    return head


def _rotation(extra: list[str]) -> int:
    for line in extra:
        if (m := _ROTATION.search(line)) is not None:
            return round(float(m.group(1)))
    for line in extra:
        if (m := _ROTATE_TAG.match(line)) is not None:
            return int(m.group(1))
    return 0


def _fps(line: str) -> float:
    found = {unit: float(num) * (1000 if k else 1) for num, k, unit in _FPS.findall(line)
             if num.replace(".", "", 1).isdigit()}
    return found.get("fps") or found.get("tbr") or 0.0


def _reason(text: str, path: Path) -> str:
    """Why a file did not open or decode, from ffmpeg's own words (its dump left out), with
    the file called by its name rather than its full path."""
    lines = [ln for ln in last_stderr_lines(text, 200)
             if not ln[:1].isspace() and not ln.startswith(("Input #", "Stream mapping"))]
    reason = meaningful_line(lines).rstrip(".").replace(_arg(path), path.name)
    if len(reason) > 120:
        reason = reason[:117] + "..."
    return reason or "ffmpeg could not read it"


def _decoded_frames(text: str) -> int:
    found = _FRAMES.findall(text)
    return int(found[-1]) if found else 0


def _decoded_time(path: Path) -> float:
    """The duration of a file whose header has none, by decoding its video."""
    code, text = capture(["-i", _arg(path), "-map", "0:v:0", "-stats", "-f", "null", "-"],
                         timeout=_FULL_DECODE_TIMEOUT)
    found = _TIME.findall(text)
    if code != 0 or not found:
        return 0.0
    h, m, s = found[-1]
    return int(h) * 3600 + int(m) * 60 + float(s)


#: Input options for decoding one frame: ffmpeg's frame threads (one per core) cost more to
#: start than they save on a single picture.
ONE_FRAME = ("-threads", "1")


def probe(path: Path, *, decode: bool = True) -> VideoInfo:
    """Duration, displayed size, fps and streams; UserError when it is not a usable video.

    Decodes the first frame too, so a file that only looks like an MP4 is caught here
    and not halfway through a render; `decode=False` reads the container's header alone
    (a 1080p frame's decoding costs more than the rest), for an upload, which stores a
    video whatever it holds.
    """
    name = path.name
    if not path.is_file():
        raise UserError(f"{name} was not found.")
    frame = ["-map", "0:v:0?", "-frames:v", "1", "-stats", "-f", "null", "-"] if decode else []
    code, text = capture([*(ONE_FRAME if decode else []), "-i", _arg(path), *frame])
    head = _parse_header(text)
    if not head.opened:
        raise UserError(f"{name} does not decode as a video ({_reason(text, path)}).")
    if not head.video:
        raise UserError(f"{name} has no video stream.")
    if decode and (code != 0 or _decoded_frames(text) < 1):
        raise UserError(f"{name} does not decode as a video ({_reason(text, path)}).")
    size = _SIZE.search(head.video)
    if size is None:
        raise UserError(f"{name} does not decode as a video (its picture size is unknown).")
    width, height = int(size.group(1)), int(size.group(2))
    sar = _SAR.search(head.video)
    if sar is not None and int(sar.group(1)) > 0 and int(sar.group(2)) > 0:
        # Non-square pixels (anamorphic DV, some phones): width as displayed.
        width = max(2, round(width * int(sar.group(1)) / int(sar.group(2))))
    rotation = _rotation(head.video_extra or [])
    if rotation % 180 == 90:
        width, height = height, width
    duration = head.duration
    if not duration or not math.isfinite(duration):
        duration = _decoded_time(path)
    if duration <= 0:
        raise UserError(f"{name} has no duration ffmpeg can measure.")
    codec = head.video.split(": Video: ", 1)[1].split()[0].rstrip(",")
    return VideoInfo(
        duration=duration, width=width, height=height, fps=_fps(head.video),
        has_audio=bool(head.audio_codec), video_codec=codec, audio_codec=head.audio_codec,
        rotation=rotation,
    )


def thumbnail(path: Path, out: Path, *, at: float, width: int = 320,
              info: VideoInfo | None = None) -> Path:
    """A JPEG of the frame at `at` seconds (moved into the video), `width` wide, even height.

    Pass `info` when the video was just probed, to save probing it again.
    """
    if info is None:
        info = probe(path)
    width = max(2, width - width % 2)
    height = max(2, round(width * info.height / info.width / 2) * 2)
    # Keep clear of the very end: seeking past the last frame gives no picture at all.
    last = max(0.0, info.duration - max(0.5, 2.0 / info.fps if info.fps else 0.5))
    out.parent.mkdir(parents=True, exist_ok=True)
    for when in (min(max(at, 0.0), last), 0.0):
        out.unlink(missing_ok=True)
        code, text = capture([
            *ONE_FRAME, "-ss", f"{when:.3f}", "-i", _arg(path), "-map", "0:v:0", "-frames:v", "1",
            "-vf", f"scale={width}:{height},setsar=1", "-q:v", "3", "-update", "1",
            "-y", _arg(out),
        ])
        if code == 0 and out.is_file() and out.stat().st_size > 0:
            return out
    raise ShortsError(f"No thumbnail could be made from {path.name} ({_reason(text, path)}).")


def thumbnail_of_stored(source: str, name: str, out: Path, *, at: float,
                        width: int = 320) -> Path:
    """A JPEG of the frame at `at` seconds of a stored video that is not on this disk.

    `source` is a short-lived link (ffmpeg reads only the bytes it seeks to, not the whole
    file) or a path. Its text is a secret while it lives, so no message or log carries
    ffmpeg's words about it: the video is called `name`.
    """
    width = max(2, width - width % 2)
    out.parent.mkdir(parents=True, exist_ok=True)
    remote = source.startswith(("http://", "https://"))
    network = ["-rw_timeout", "20000000"] if remote else []  # microseconds
    for when in (max(at, 0.0), 0.0):
        out.unlink(missing_ok=True)
        code, _text = capture([
            *network, *ONE_FRAME, "-ss", f"{when:.3f}", "-i",
            source if remote else os.path.abspath(source),
            "-map", "0:v:0", "-frames:v", "1", "-vf", f"scale={width}:-2,setsar=1",
            "-q:v", "3", "-update", "1", "-y", _arg(out),
        ], timeout=90.0)
        if code == 0 and out.is_file() and out.stat().st_size > 0:
            return out
    raise ShortsError(f"No thumbnail could be made from {name}.")

