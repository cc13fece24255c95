"""The one ffmpeg run that makes the Short: reframe to 9:16, duck, mix, caption, encode.

Every file is a bare name in the work folder, which is ffmpeg's cwd: filter arguments
(`ass=captions.ass:fontsdir=fonts`) then need no escaping, even with Windows drive colons.

The output is exactly `duration` long: the picture is looped (`-stream_loop -1`) when the
source is shorter, every stream is padded without end (`tpad`, `apad`) and `-t` cuts
them all at the same time. `-shortest` is not used: with padded, looped streams it
either never ends or ends at the wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shorts_desktop.core.errors import ShortsError
from shorts_desktop.core.render.ffmpeg import run_ffmpeg
from shorts_desktop.core.render.types import CancelToken, VideoInfo

Reframe = Literal["blur", "fit", "crop"]
REFRAMES: tuple[Reframe, ...] = ("blur", "fit", "crop")

#: The sample rate of every audio stream inside the graph and of the output.
SAMPLE_RATE = 48000
#: The blurred background is made at a quarter of the output size: looks the same, ~2x cheaper.
_BG_SCALE = 4
#: x264 veryfast with superfast's motion search (subme 1, diamond), keeping veryfast's
#: lookahead and mbtree: 16 % less render time at the same SSIM, ~12 % more bits
#: (docs/render-benchmark.md). Plain superfast drops mbtree and writes ~4.6x the bits.
_X264_PARAMS = "subme=1:me=dia"
#: Frames x264 looks ahead; 5 instead of veryfast's 10 holds ~50 MiB less at 1080x1920 for
#: no measurable cost in time or quality.
_RC_LOOKAHEAD = 5
#: Up to about this many source pixels one decoder thread keeps up with the encoder (1080p
#: decodes at ~0.4 CPU-s per second) and each extra one holds frames; larger sources (4K)
#: need ffmpeg's threads to keep up.
_ONE_DECODER_THREAD_PIXELS = 1920 * 1080 * 6 // 5
#: Sources this close to their loop point are looped (an audio track often ends a little
#: before the picture).
_LOOP_MARGIN = 0.25

# Names that go into filter arguments: nothing ffmpeg's filtergraph parser treats specially.
_FILTER_SAFE = re.compile(r"^[A-Za-z0-9._-]+$")


def output_fps(info: VideoInfo) -> float:
    """The source's rate rounded (29.97 -> 30, 23.976 -> 24) and at most 60; 30 if implausible.

    Rates outside 15..240 are usually a container's guess (a timebase, a still image),
    and under 15 the word highlighting of the captions would visibly step.
    """
    if 15.0 <= info.fps <= 240.0:
        return float(min(round(info.fps), 60))
    return 30.0


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


@dataclass(frozen=True)
class ComposeSpec:
    """What to make: all file names are bare names in the work folder."""

    source: str
    info: VideoInfo
    output: str
    duration: float  # seconds; the Short is exactly this long
    narration: str | None = None  # a WAV; None keeps the original audio alone
    captions: str | None = None  # an .ass file, drawn at output resolution
    fonts_dir: str | None = None  # a folder with the captions' font (e.g. "fonts")
    reframe: Reframe = "blur"
    width: int = 1080
    height: int = 1920
    fps: float | None = None  # None: output_fps(info)
    crf: int = 21
    preset: str = "veryfast"
    bed_db: float = -12.0  # the original audio, overall, under a narration
    duck_threshold: float = 0.02  # the narration level where ducking starts (linear)
    duck_ratio: float = 8.0
    duck_attack_ms: float = 20.0
    duck_release_ms: float = 400.0
    audio_bitrate: str = "160k"
    title: str | None = None

    def __post_init__(self) -> None:
        for label, name in (("source", self.source), ("output", self.output),
                            ("narration", self.narration)):
            if name is not None and (not name or name.startswith("-")
                                     or any(c in name for c in "/\\:")):
                raise ValueError(f"{label} must be a bare file name, not {name!r}")
        for label, name in (("captions", self.captions), ("fonts_dir", self.fonts_dir)):
            if name is not None and not _FILTER_SAFE.match(name):
                raise ValueError(f"{label} must be a plain bare name, not {name!r}")
        if self.reframe not in REFRAMES:
            raise ValueError(f"reframe must be one of {REFRAMES}, not {self.reframe!r}")
        if not self.duration > 0:
            raise ValueError(f"duration must be positive, not {self.duration}")
        if self.width % 2 or self.height % 2 or min(self.width, self.height) < 64:
            raise ValueError(f"output size must be even and at least 64: {self.width}x"
                             f"{self.height}")
        if self.info.width < 2 or self.info.height < 2:
            raise ValueError(f"source size is unusable: {self.info.width}x{self.info.height}")

    @property
    def out_fps(self) -> float:
        return self.fps if self.fps else output_fps(self.info)

    @property
    def loops(self) -> bool:
        """Whether the source is too short and plays again from its start."""
        return self.info.duration < self.duration + _LOOP_MARGIN


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _video_graph(spec: ComposeSpec) -> list[str]:
    w, h = spec.width, spec.height
    sw, sh = spec.info.width, spec.info.height
    # Square pixels at the displayed size first (free when they already are), so every
    # number below is in displayed pixels; fps before the costly filters.
    chains = [f"[0:v:0]scale={sw}:{sh},setsar=1,fps={_fmt(spec.out_fps)}[src]"]
    factor = min(w / sw, h / sh)
    fw, fh = min(w, _even(sw * factor)), min(h, _even(sh * factor))
    if spec.reframe == "crop" or (fw, fh) == (w, h):
        if sw * h > sh * w:  # wider than 9:16: cut the sides
            cw, ch = min(sw, _even(sh * w / h)), sh
        else:  # taller: cut the top and bottom
            cw, ch = sw, min(sh, _even(sw * h / w))
        crop = f"crop={cw}:{ch}," if (cw, ch) != (sw, sh) else ""
        chains.append(f"[src]{crop}scale={w}:{h}[framed]")
    elif spec.reframe == "fit":
        chains.append(f"[src]scale={fw}:{fh},pad={w}:{h}:{(w - fw) // 2}:{(h - fh) // 2}"
                      f":color=black[framed]")
    else:  # blur: the picture over a blurred, darkened copy of itself that fills the frame
        bw, bh = _even(w / _BG_SCALE), _even(h / _BG_SCALE)
        # 10 at 270x480, in proportion; boxblur wants it under a quarter of the (chroma) size.
        radius = max(2, min(round(10 * bw / 270), bw // 4 - 1, bh // 4 - 1))
        chains += [
            "[src]split=2[bgin][fgin]",
            # The blur hides the cheaper scalers' artefacts (~25% of the filters' time saved).
            f"[bgin]scale={bw}:{bh}:force_original_aspect_ratio=increase:flags=fast_bilinear,"
            f"crop={bw}:{bh},boxblur={radius}:2,eq=brightness=-0.08,"
            f"scale={w}:{h}:flags=bilinear[bg]",
            f"[fgin]scale={fw}:{fh}[fg]",
            f"[bg][fg]overlay={(w - fw) // 2}:{(h - fh) // 2}[framed]",
        ]
    tail = ["tpad=stop=-1:stop_mode=clone", "setsar=1"]
    if spec.captions:
        ass = f"ass={spec.captions}"
        if spec.fonts_dir:
            ass += f":fontsdir={spec.fonts_dir}"
        tail.append(ass)  # last but the pixel format: at output resolution, on top
    tail.append("format=yuv420p")
    chains.append("[framed]" + ",".join(tail) + "[v]")
    return chains


def _audio_graph(spec: ComposeSpec, narration_input: int) -> list[str]:
    stereo = f"aresample={SAMPLE_RATE},aformat=channel_layouts=stereo"
    limit = "alimiter=limit=0.95:level=0:latency=1"  # no clipping; level=0: no auto gain
    original = spec.info.has_audio
    if not original and spec.narration is None:
        return [f"anullsrc=r={SAMPLE_RATE}:cl=stereo[a]"]
    if spec.narration is None:
        return [f"[0:a:0]{stereo},apad,{limit}[a]"]
    # The narration is a mono WAV of ours: both channels at full level (ffmpeg's own mono to
    # stereo upmix puts each at -3 dB, under the original's stereo bed).
    voice = f"[{narration_input}:a:0]aresample={SAMPLE_RATE},pan=stereo|c0=c0|c1=c0,apad"
    if not original:
        return [f"{voice},{limit}[a]"]
    duck = (f"sidechaincompress=threshold={_fmt(spec.duck_threshold)}"
            f":ratio={_fmt(spec.duck_ratio)}:attack={_fmt(spec.duck_attack_ms)}"
            f":release={_fmt(spec.duck_release_ms)}:makeup=1")
    return [
        f"{voice},asplit=2[voice][key]",
        f"[0:a:0]{stereo},apad,volume={_fmt(spec.bed_db)}dB[bed]",
        f"[bed][key]{duck}[ducked]",
        f"[ducked][voice]amix=inputs=2:duration=longest:normalize=0,{limit}[a]",
    ]


def build_command(spec: ComposeSpec) -> list[str]:
    """ffmpeg's arguments (without the executable and the progress options run_ffmpeg adds)."""
    args: list[str] = []
    if spec.info.width * spec.info.height <= _ONE_DECODER_THREAD_PIXELS:
        args += ["-threads", "1"]  # the source's decoder
    if spec.loops:
        args += ["-stream_loop", "-1"]
    args += ["-i", spec.source]
    narration_input = 1
    if spec.narration is not None:
        args += ["-i", spec.narration]
    graph = _video_graph(spec) + _audio_graph(spec, narration_input)
    fps = spec.out_fps
    args += [
        "-filter_complex", ";".join(graph),
        "-map", "[v]", "-map", "[a]",
        "-t", _fmt(spec.duration),
        "-c:v", "libx264", "-preset", spec.preset, "-crf", str(spec.crf),
        "-x264-params", _X264_PARAMS, "-rc-lookahead", str(_RC_LOOKAHEAD),
        "-profile:v", "high", "-pix_fmt", "yuv420p", "-g", str(max(1, round(2 * fps))),
        "-c:a", "aac", "-b:a", spec.audio_bitrate, "-ar", str(SAMPLE_RATE), "-ac", "2",
        "-map_metadata", "-1", "-map_chapters", "-1",
        "-movflags", "+faststart",
    ]
    if spec.title:
        args += ["-metadata", f"title={spec.title}"]
    args.append(spec.output)
    return args


def render(
    spec: ComposeSpec,
    *,
    cwd: Path,
    on_progress: Callable[[float], None] | None = None,
    cancel: CancelToken | None = None,
) -> None:
    """Make `spec.output` in `cwd`; a failed or cancelled render leaves no partial file."""
    needed = [spec.source, spec.narration, spec.captions, spec.fonts_dir]
    for name in needed:
        if name is not None and not (cwd / name).exists():
            raise ShortsError(f"{name} is missing from the work folder {cwd}.")
    out = cwd / spec.output
    try:
        run_ffmpeg(build_command(spec), cwd=cwd, duration=spec.duration,
                   on_progress=on_progress, cancel=cancel)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    if not out.is_file() or out.stat().st_size == 0:
        raise ShortsError(f"ffmpeg finished but wrote no {spec.output}.")
