"""Render benchmark: `shorts-desktop job process` against the same Short made with MoviePy.

Not collected by pytest. Run on demand, e.g.

    .venv/bin/python tests/benchmarks/bench_render.py --json /tmp/render.json  # 60 s, 3 rounds
    .venv/bin/python tests/benchmarks/bench_render.py --seconds 10 --rounds 1   # a quick look
    .venv/bin/python tests/benchmarks/bench_render.py --seconds 20 --diagnose  # ffmpeg's time

Input (made once, untimed, cached in --cache): a SECONDS long 1920x1080 30 fps clip,
`testsrc2` with temporal noise (plain testsrc2 compresses unrealistically well), x264
veryfast CRF 23 (12 Mbit/s at 1080p, like a phone or camera file), with a stereo sine + noise
soundtrack; and a 150-word English transcript as an SRT whose cues spread the speech over
the clip, so the Short (narration + 1 s tail) is as long as the clip (SECONDS - 0.5 s;
not more, or the app would loop the source).

Peers, interleaved round by round, each in a fresh process started by a small launcher:

* ours: the real CLI, `shorts-desktop job process ID`, with SHORTS_DESKTOP_HOME in a
  fresh temp folder and the local library backend (no S3_BUCKET_NAME: no S3 server
  competes for the 2 cores). Untimed setup per round: `upload video`, `upload
  transcript-file`, `job create`. Timed: the whole job (fetch from the library, probe,
  eSpeak narration, captions, the ffmpeg render, thumbnails, hashing, storing, verifying,
  the database).
* moviepy-fit: MoviePy 2.x the way MoneyPrinterTurbo renders (app/services/video.py,
  "contain" fit mode): the clip resized to fit 1080x1920 over a black ColorClip, one
  TextClip per caption line, the narration over the original audio lowered 12 dB, one
  write_videofile (libx264 veryfast, CRF 21, aac, 30 fps, threads=2). One pass, not
  MoneyPrinterTurbo's two (it writes the resized clips first, then composes): kinder to
  MoviePy.
* moviepy-blur: the same with our 9:16 layout, the blurred background: the 9:16 middle
  of the frame scaled to a quarter size, box-blurred with PIL (radius 10, twice, as our
  boxblur=10:2), darkened, scaled up to 1080x1920 per frame (`image_transform`), the
  clip fitted over it. The same cheap blur as ours; a full-size GaussianBlur, as many
  scripts do, would be much slower.

The MoviePy peers get the narration WAV (made once by the app's eSpeak provider, from
the same SRT) and the caption lines (the app's captions.caption_lines) ready-made: they
only render. Ours does all of the job. MoviePy draws each line in white; ours also
highlights the spoken word (karaoke).

Measured per run: wall time; CPU seconds (user + sys) of the process and all the
children it waited for (os.wait4 in the launcher: ffmpeg included); peak RSS two ways:
(1) the tree sum, sampled from /proc every 50 ms (the app + its ffmpeg at the same
moment; shared pages are counted once per process, so it is an upper bound), split into
the Python process and its ffmpeg children; (2) ru_maxrss from wait4, the largest single
process of the tree (Linux keeps the max, not the sum). Also `others_cpu`: the CPU seconds
the rest of the machine used meanwhile (/proc/stat), since other sessions share the cores.

--diagnose times the app's own render command (compose.build_command) with ffmpeg alone,
varied one thing at a time (preset, x264 options, threads, reframe, captions, a background
made at a lower rate), interleaved, with SSIM/PSNR against the app's unencoded picture:
a diagnosis of where the time goes, not a proof of a target. Results and method:
docs/render-benchmark.md and tests/benchmarks/RENDER_RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run as a script: its folder is on sys.path. One launcher measures every benchmark's child.
from bench_upload import LAUNCHER

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]
FONT = REPO / "resources" / "fonts" / "DejaVuSans-Bold.ttf"
W, H, FPS = 1080, 1920, 30
VOICE = "alloy"
CRF, PRESET = 21, "veryfast"
#: The last word ends this long before the clip does: 1 s tail + the app's 0.25 s loop
#: margin + a little, so the Short is SECONDS - 0.5 and the source is never looped.
END_MARGIN = 1.5

#: 150 words, 15 sentences (one SRT cue each).
SENTENCES = [
    "Every morning at six, the old harbour wakes up before the rest of the town.",
    "Fishing boats drift back in with the tide, their engines coughing softly.",
    "Gulls circle overhead and argue loudly about breakfast.",
    "The first thing you notice is the smell: salt, diesel and fresh bread.",
    "Maria has run the bakery on the corner for thirty years.",
    "She says the secret is patience, not flour.",
    "On the quay, crates of silver fish are weighed and sold within minutes.",
    "Buyers shout prices and children dodge between the nets.",
    "Somebody always drops a glove into the water.",
    "By eight o'clock the boats are tied up, the market swept clean.",
    "The cafés fill with tired crews and steaming coffee.",
    "Nobody hurries here.",
    "If you visit, come early and bring a warm coat.",
    "Order the cinnamon rolls, then find a quiet bench.",
    "Sit for a while and simply watch the harbour breathe.",
]


def ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def git_state() -> str:
    """The commit measured, and whether the render code differed from it."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              check=False)
        return done.stdout.strip()

    dirty = git("status", "--short", "--", "shorts_desktop")
    return git("rev-parse", "--short", "HEAD") + (f" + changes: {dirty!r}" if dirty else "")


def machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    busy = sum(fields[:3]) + sum(fields[5:8])  # user nice system irq softirq steal
    return busy / hz, fields[7] / hz


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# -- inputs -------------------------------------------------------------------------------------


def make_source(path: Path, seconds: float, noise: int) -> None:
    tmp = path.with_suffix(".part.mp4")
    subprocess.run(
        [ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=s=1920x1080:r={FPS},noise=alls={noise}:allf=t",
         "-f", "lavfi", "-i", "sine=frequency=220:sample_rate=48000",
         "-f", "lavfi", "-i", "anoisesrc=a=0.05:r=48000",
         "-filter_complex", "[1:a][2:a]amix=inputs=2,aformat=channel_layouts=stereo[a]",
         "-map", "0:v", "-map", "[a]", "-t", str(seconds),
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(tmp)],
        check=True,
    )
    tmp.replace(path)


def _srt_time(t: float) -> str:
    ms = round(t * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def make_transcript(seconds: float, work: Path) -> tuple[str, int]:
    """An SRT whose cues spread the sentences so the last word ends END_MARGIN before the
    clip does; for a short clip only the first sentences that fit. (text, words)."""
    from shorts_desktop.core.render.narration.espeak import EspeakProvider
    from shorts_desktop.core.render.transcript import parse_transcript
    from shorts_desktop.core.render.types import CancelToken

    # Each sentence's spoken length, with the voice the job uses (plain text: one piece each).
    plain = parse_transcript(" ".join(SENTENCES), "t.txt")
    narration = EspeakProvider().narrate(plain, VOICE, work / "plain", cancel=CancelToken(),
                                         max_seconds=600)
    words, lengths = narration.words, []
    i = 0
    for sentence in SENTENCES:
        n = len(sentence.split())
        lengths.append(words[i + n - 1].end - words[i].start + 0.05)
        i += n
    shutil.rmtree(work / "plain", ignore_errors=True)
    budget = seconds - END_MARGIN
    keep: list[float] = []
    for length in lengths:  # a short clip keeps the sentences that fit with 0.25 s gaps
        if sum(keep) + length + 0.25 * len(keep) > budget:
            break
        keep.append(length)
    if not keep:
        raise SystemExit(f"--seconds {seconds} is too short for one sentence")
    slack = (budget - sum(keep)) / max(1, len(keep) - 1) if len(keep) > 1 else 0.0
    blocks, t = [], 0.0
    for n, length in enumerate(keep):
        if n == len(keep) - 1:
            t = budget - length  # the last one ends exactly at the budget
        blocks.append(f"{n + 1}\n{_srt_time(t)} --> {_srt_time(t + length)}\n{SENTENCES[n]}\n")
        t += length + slack
    return "\n".join(blocks), sum(len(s.split()) for s in SENTENCES[: len(keep)])


def prepare_moviepy_inputs(work: Path, source: Path, srt: str) -> dict[str, Any]:
    """What the MoviePy peers get ready-made: the narration WAV (the app's eSpeak provider,
    from the same SRT) and the caption lines (the app's grouping)."""
    from shorts_desktop.core.render import captions
    from shorts_desktop.core.render.narration.espeak import EspeakProvider
    from shorts_desktop.core.render.short import short_length
    from shorts_desktop.core.render.transcript import parse_transcript
    from shorts_desktop.core.render.types import CancelToken

    work.mkdir(parents=True, exist_ok=True)
    transcript = parse_transcript(srt, "transcript.srt")
    narration = EspeakProvider().narrate(transcript, VOICE, work, cancel=CancelToken(),
                                         max_seconds=180)
    lines = captions.caption_lines(narration.words)
    (work / "captions.srt").write_text(captions.to_srt(lines), encoding="utf-8")
    link = work / "source.mp4"
    if not link.exists():
        os.link(source, link) if source.stat().st_dev == work.stat().st_dev else \
            shutil.copyfile(source, link)
    style = captions.caption_style(W, H)
    timed: list[list[Any]] = [
        [ln.words[0].start, ln.words[-1].end, " ".join(w.text for w in ln.words)] for ln in lines
    ]
    # Each line shows until the next one starts (as the ASS script does), at most 1 s after.
    for a, b in itertools.pairwise(timed):
        a[1] = min(max(a[1], b[0]), a[1] + 1.0)
    meta = {
        "duration": short_length(narration, 10**6, 180),
        "narration": narration.audio.name if narration.audio else None,
        "lines": timed,
        "font_size": style.font_size, "outline": style.outline,
        "margin_v": style.margin_v,
    }
    (work / "moviepy.json").write_text(json.dumps(meta), encoding="utf-8")
    return meta


# -- the MoviePy peer (a child process) -------------------------------------------------------


def moviepy_child(variant: str, work: Path, out: Path, seconds: float | None) -> None:
    import numpy as np
    from moviepy import (
        AudioFileClip,
        ColorClip,
        CompositeAudioClip,
        CompositeVideoClip,
        TextClip,
        VideoFileClip,
        afx,
    )
    from PIL import Image, ImageFilter

    meta = json.loads((work / "moviepy.json").read_text())
    duration = float(seconds or meta["duration"])
    src = VideoFileClip(str(work / "source.mp4"))
    src = src.subclipped(0, min(duration, src.duration))
    sw, sh = src.size
    factor = min(W / sw, H / sh)
    fw, fh = round(sw * factor / 2) * 2, round(sh * factor / 2) * 2
    fg = src.resized(new_size=(fw, fh)).with_position(((W - fw) // 2, (H - fh) // 2))
    if variant == "fit":
        bg = ColorClip((W, H), color=(0, 0, 0), duration=duration)
    elif variant == "blur":
        cw = min(sw, round(sh * W / H / 2) * 2)  # the 9:16 middle of the frame
        x0 = (sw - cw) // 2
        small = (W // 4, H // 4)

        def blur(frame: Any) -> Any:
            img = Image.fromarray(frame[:, x0:x0 + cw]).resize(small, Image.Resampling.BILINEAR)
            img = img.filter(ImageFilter.BoxBlur(10)).filter(ImageFilter.BoxBlur(10))
            arr = np.asarray(img, dtype=np.int16) - 20  # eq=brightness=-0.08
            img = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
            return np.asarray(img.resize((W, H), Image.Resampling.BILINEAR))

        bg = src.image_transform(blur)
        bg.size = (W, H)
    else:
        raise SystemExit(f"unknown variant {variant}")
    texts = []
    for start, end, text in meta["lines"]:
        if start >= duration:
            break
        clip = TextClip(font=str(FONT), text=text, font_size=meta["font_size"],
                        color="white", stroke_color="black", stroke_width=meta["outline"],
                        method="label", margin=(10, 10))
        clip = clip.with_start(start).with_duration(min(end, duration) - start)
        texts.append(clip.with_position(("center", H - meta["margin_v"] - clip.h)))
    video = CompositeVideoClip([bg, fg, *texts], size=(W, H)).with_duration(duration)
    voice = AudioFileClip(str(work / meta["narration"]))
    bed = src.audio.with_effects([afx.MultiplyVolume(10 ** (-12 / 20))])
    audio = CompositeAudioClip([bed, voice.with_duration(min(voice.duration, duration))])
    video = video.with_audio(audio.with_duration(duration))
    video.write_videofile(
        str(out), fps=FPS, codec="libx264", preset=PRESET, audio_codec="aac",
        audio_bitrate="160k", audio_fps=48000, threads=2,
        ffmpeg_params=["-crf", str(CRF)], temp_audiofile_path=str(out.parent), logger=None,
    )
    src.close()
    voice.close()


# -- measuring ------------------------------------------------------------------------------------



PAGE = os.sysconf("SC_PAGE_SIZE")


class TreeSampler(threading.Thread):
    """Every 50 ms: the RSS of every process under `root` (not root itself), summed;
    the peaks of the whole tree, of its ffmpeg processes and of the rest."""

    def __init__(self, root: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.stop = threading.Event()
        self.peak = {"tree": 0, "ffmpeg": 0, "app": 0}
        self.samples = 0
        self._parents: dict[int, tuple[int, str]] = {}

    def _info(self, pid: int) -> tuple[int, str] | None:
        if pid not in self._parents:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                return None
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            self._parents[pid] = (int(stat[stat.rindex(")") + 2 :].split()[1]), comm)
        return self._parents[pid]

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
            children: dict[int, list[int]] = {}
            for pid in pids:
                info = self._info(pid)
                if info is not None:
                    children.setdefault(info[0], []).append(pid)
            todo, tree = list(children.get(self.root, [])), []
            while todo:
                pid = todo.pop()
                tree.append(pid)
                todo.extend(children.get(pid, []))
            sums = {"tree": 0, "ffmpeg": 0, "app": 0}
            for pid in tree:
                try:
                    rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
                except (OSError, IndexError, ValueError):
                    continue
                sums["tree"] += rss
                sums["ffmpeg" if self._parents[pid][1].startswith("ffmpeg") else "app"] += rss
            self.samples += 1
            for k, v in sums.items():
                self.peak[k] = max(self.peak[k], v)


def measure(cmd: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Wall, CPU (user+sys, children included) and peak RSS of one run (see the module doc).

    The launcher (python -S) forks and execs the command, so its ru_maxrss starts from the
    launcher's small image, not from this process's."""
    read_fd, write_fd = os.pipe()
    busy0, steal0 = machine_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-S", "-c", LAUNCHER, str(write_fd), *cmd], env=env, cwd=cwd,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(write_fd,),
    )
    os.close(write_fd)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    busy1, steal1 = machine_cpu()
    sampler.stop.set()
    sampler.join()
    with os.fdopen(read_fd, "rb") as f:
        report = f.read().decode()
    if proc.returncode != 0 or not report:
        raise RuntimeError(f"{cmd[:4]} failed ({proc.returncode}): "
                           f"{err.decode(errors='replace')[-1500:]}")
    utime, stime, maxrss_kib = report.split()
    mib = 1024 * 1024
    return {
        "wall": wall, "cpu": float(utime) + float(stime), "user": float(utime),
        "sys": float(stime), "maxrss_single": int(maxrss_kib) / 1024,
        "rss_tree": sampler.peak["tree"] / mib, "rss_app": sampler.peak["app"] / mib,
        "rss_ffmpeg": sampler.peak["ffmpeg"] / mib, "samples": sampler.samples,
        # What the rest of the machine used meanwhile (other sessions), and the hypervisor.
        "others_cpu": max(0.0, busy1 - busy0 - float(utime) - float(stime)),
        "steal": steal1 - steal0,
        "stdout": out.decode(errors="replace"),
    }


def probe_output(path: Path) -> dict[str, Any]:
    """Duration, size and the video stream line of a rendered file."""
    done = subprocess.run([ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True,
                          text=True, check=False)
    text = done.stderr
    m = re.search(r"Duration:\s*(\d+):(\d+):(\d+\.\d+)", text)
    seconds = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3]) if m else 0.0
    video = next((ln.strip() for ln in text.splitlines() if "Video:" in ln), "")
    return {"seconds": seconds, "bytes": path.stat().st_size, "video": video,
            "mbit_s": path.stat().st_size * 8 / 1e6 / seconds if seconds else 0.0}


# -- ours ----------------------------------------------------------------------------------------


def app_command() -> list[str]:
    exe = Path(sys.executable).with_name("shorts-desktop")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "shorts_desktop"]


def app_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("S3_", "AWS_", "SHORTS_DESKTOP_", "OPENAI_"))}
    env.update(SHORTS_DESKTOP_HOME=str(home), SHORTS_DESKTOP_TTS="espeak",
               SHORTS_DESKTOP_REFRAME="blur", SHORTS_DESKTOP_CAPTIONS="1",
               PYTHONDONTWRITEBYTECODE="1")
    return env


def run_ours(tmp: Path, source: Path, srt_path: Path, n: int) -> dict[str, Any]:
    home = tmp / f"ours-{n}"
    cwd = home / "cwd"  # no .env here
    cwd.mkdir(parents=True)
    env = app_env(home)
    cli = app_command()

    def setup(*args: str) -> dict[str, Any]:
        done = subprocess.run([*cli, *args, "--json"], env=env, cwd=cwd, capture_output=True,
                              text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{args[:2]} failed: {done.stderr[-1500:]}")
        data: dict[str, Any] = json.loads(done.stdout)
        return data

    video = setup("upload", "video", str(source))
    transcript = setup("upload", "transcript-file", str(srt_path))
    job = setup("job", "create", "--title", "Harbour morning", "--voice", VOICE,
                "--video", video["id"], "--transcript", transcript["id"])
    result = measure([*cli, "job", "process", job["id"], "--json"], env, cwd)
    data = json.loads(result.pop("stdout"))
    manifest = next((home / "data" / "library").rglob("manifest.json"))
    m = json.loads(manifest.read_text())
    result["stages"] = m.get("stage_seconds", {})
    result["render"] = m.get("render", {})
    preview = home / "data" / "cache" / "previews" / job["id"] / "short.mp4"
    result["output"] = probe_output(preview)
    result["seconds"] = float((data.get("render_info") or {}).get("duration") or 0)
    shutil.rmtree(home, ignore_errors=True)
    return result


def run_moviepy(tmp: Path, work: Path, variant: str, n: int,
                seconds: float | None) -> dict[str, Any]:
    out = tmp / f"moviepy-{variant}-{n}.mp4"
    cmd = [sys.executable, str(HERE), "--child", variant, str(work), str(out)]
    if seconds:
        cmd += ["--child-seconds", str(seconds)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = measure(cmd, env, tmp)
    result.pop("stdout")
    result["output"] = probe_output(out)
    result["seconds"] = result["output"]["seconds"]
    out.unlink()
    return result


# -- diagnosis: the render command alone, varied --------------------------------------------------


def diagnose(tmp: Path, source: Path, srt: str, rounds: int, save: Callable[[Any], None],
             only: list[str] | None = None) -> list[dict[str, Any]]:
    """ffmpeg's share and what each part of its graph costs: the app's own ComposeSpec and
    build_command, varied one thing at a time, interleaved over `rounds`. A diagnosis of
    the render command alone (inputs prepared), not a proof of the target. Other sessions
    on a shared machine inflate CPU seconds too (cache, SMT, the host): compare the
    minimum over rounds, and look at others_cpu."""
    import dataclasses

    from shorts_desktop.core.render import captions, compose
    from shorts_desktop.core.render.narration.espeak import EspeakProvider
    from shorts_desktop.core.render.probe import probe
    from shorts_desktop.core.render.short import FONT_FILE, FONT_NAME, short_length
    from shorts_desktop.core.render.transcript import parse_transcript
    from shorts_desktop.core.render.types import CancelToken

    work = tmp / "diag"
    (work / "fonts").mkdir(parents=True)
    shutil.copyfile(FONT, work / "fonts" / FONT_FILE)
    os.link(source, work / "source.mp4")
    narration = EspeakProvider().narrate(parse_transcript(srt, "t.srt"), VOICE, work,
                                         cancel=CancelToken(), max_seconds=180)
    lines = captions.caption_lines(narration.words)
    captions.write_captions(lines, work, W, H, FONT_NAME)
    info = probe(work / "source.mp4")
    base = compose.ComposeSpec(source="source.mp4", info=info, output="out.mp4",
                               duration=short_length(narration, info.duration, 180),
                               narration="narration.wav", captions="captions.ass",
                               fonts_dir="fonts")
    app = compose.build_command(base)
    t = f"{base.duration:g}"

    def spec(**changes: Any) -> list[str]:
        return compose.build_command(dataclasses.replace(base, **changes))

    def graph(old: str, new: str) -> list[str]:
        """The app's command with one piece of its filter graph replaced."""
        i = app.index("-filter_complex") + 1
        if old not in app[i]:
            raise SystemExit(f"the render graph no longer has {old!r}: update --diagnose")
        return [*app[:i], app[i].replace(old, new), *app[i + 1 :]]

    def before_output(*extra: str) -> list[str]:
        return [*app[:-1], *extra, app[-1]]

    def before_input(*extra: str) -> list[str]:
        i = app.index("-i")
        return [*app[:i], *extra, *app[i:]]

    def no_encode(args: list[str]) -> list[str]:
        i = args.index("-t")
        return [*args[:i], "-t", t, "-f", "null", "-"]

    def bg_fps(args: list[str], rate: int) -> list[str]:
        """The blurred background made `rate` times a second and held (x264 skips it)."""
        i = args.index("-filter_complex") + 1
        old_in, old_out = "[bgin]scale=", ":flags=bilinear[bg]"
        if old_in not in args[i] or old_out not in args[i]:
            raise SystemExit("the render graph's background changed: update --diagnose")
        g = args[i].replace(old_in, f"[bgin]fps={rate},scale=").replace(
            old_out, f":flags=bilinear,fps={FPS}[bg]")
        return [*args[:i], g, *args[i + 1 :]]

    fg = f"scale={1080}:{608}[fg]"
    variants: list[tuple[str, list[str]]] = [
        ("app: blur, veryfast, crf 21", app),
        ("decode only", ["-i", "source.mp4", "-t", t, "-map", "0:v", "-f", "null", "-"]),
        ("decode + filters + audio, no encode", no_encode(app)),
        ("  same, reframe fit", no_encode(spec(reframe="fit"))),
        ("  same, no captions", no_encode(spec(captions=None))),
        ("reframe fit (no blur)", spec(reframe="fit")),
        ("no captions", spec(captions=None)),
        ("fg scale flags=bilinear", graph(fg, fg.replace("[fg]", ":flags=bilinear[fg]"))),
        ("crf 23", spec(crf=23)),
        ("preset faster", spec(preset="faster")),
        ("preset superfast", spec(preset="superfast")),
        ("veryfast + me=dia", before_output("-x264-params", "me=dia")),
        ("veryfast + subme=1", before_output("-x264-params", "subme=1")),
        ("veryfast + rc-lookahead=0:mbtree=0", before_output("-x264-params",
                                                             "rc-lookahead=0:mbtree=0")),
        ("x264 threads 2", before_output("-threads:v", "2")),
        ("decoder threads 2", before_input("-threads", "2")),
        ("decoder threads 1", before_input("-threads", "1")),
        ("x264 rc-lookahead 5", before_output("-rc-lookahead", "5")),
        ("filter_complex_threads 1", before_input("-filter_complex_threads", "1")),
        ("decoder skip_loop_filter", before_input("-skip_loop_filter", "all")),
        ("superfast + rc-lookahead=10:mbtree=1", [*spec(preset="superfast")[:-1],
                                                  "-x264-params", "rc-lookahead=10:mbtree=1",
                                                  app[-1]]),
        ("combo: veryfast + subme=1:me=dia", before_output("-x264-params", "subme=1:me=dia")),
        ("combo: subme=1:me=dia + skip_loop_filter",
         [*before_input("-skip_loop_filter", "all")[:-1], "-x264-params", "subme=1:me=dia",
          app[-1]]),
        ("combo: fit + subme=1:me=dia", [*spec(reframe="fit")[:-1], "-x264-params",
                                         "subme=1:me=dia", app[-1]]),
        ("bg 15 fps (held frames)", bg_fps(app, 15)),
        ("bg 10 fps (held frames)", bg_fps(app, 10)),
        ("combo: bg 10 fps + subme=1:me=dia",
         bg_fps([*app[:-1], "-x264-params", "subme=1:me=dia", app[-1]], 10)),
        ("combo: bg 15 fps + subme=1:me=dia",
         bg_fps([*app[:-1], "-x264-params", "subme=1:me=dia", app[-1]], 15)),
        ("suggested: bg 10 fps + subme=1:me=dia + rc-lookahead 5 + decoder threads 1",
         bg_fps([*before_input("-threads", "1")[:-1], "-rc-lookahead", "5",
                 "-x264-params", "subme=1:me=dia", app[-1]], 10)),
        ("suggested, background at 30 fps: subme=1:me=dia + rc-lookahead 5 + decoder "
         "threads 1", [*before_input("-threads", "1")[:-1], "-rc-lookahead", "5",
                       "-x264-params", "subme=1:me=dia", app[-1]]),
        # Measured after subme=1:me=dia became the app's: the app's -x264-params, extended.
        ("app + x264 partitions=i8x8,i4x4 (superfast's)",
         before_output("-x264-params", "subme=1:me=dia:partitions=i8x8,i4x4")),
        ("app + x264 weightp=0", before_output("-x264-params", "subme=1:me=dia:weightp=0")),
        ("app + x264 bframes=1", before_output("-x264-params", "subme=1:me=dia:bframes=1")),
        ("app + x264 aq-mode=0", before_output("-x264-params", "subme=1:me=dia:aq-mode=0")),
        ("app + bg 15 fps", bg_fps(app, 15)),
        # Session 5: what is left to take without a look the creator would notice.
        ("app + bg upscale fast_bilinear", graph(":flags=bilinear[bg]",
                                                 ":flags=fast_bilinear[bg]")),
        ("app + bg 10 fps", bg_fps(app, 10)),
        ("app + bg 10 fps + bg upscale fast_bilinear",
         [a.replace(":flags=bilinear,fps=", ":flags=fast_bilinear,fps=")
          for a in bg_fps(app, 10)]),
        ("app + x264 no-chroma-me", before_output("-x264-params",
                                                  "subme=1:me=dia:chroma-me=0")),
        ("app + x264 keyint 250", [*app[:app.index("-g")], "-g", "250",
                                   *app[app.index("-g") + 2:]]),
        ("app + decoder flags2 fast", before_input("-flags2", "+fast")),
        ("memory: rc-lookahead 5 + decoder threads 1",
         [*before_input("-threads", "1")[:-1], "-rc-lookahead", "5", app[-1]]),
    ]
    if only:  # --variants: the baseline and the variants whose names contain one of these
        variants = [v for i, v in enumerate(variants) if i == 0 or any(o in v[0] for o in only)]
    # The picture the encoder was given, for SSIM against what it wrote (untimed).
    reference = ";".join(compose._video_graph(base))
    def changes_picture(name: str) -> bool:  # SSIM against the app's picture is meaningless
        return any(k in name for k in ("reframe", "fit", "captions"))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in variants}
    for n in range(rounds):
        for name, args in variants if n % 2 == 0 else variants[::-1]:
            cmd = [ffmpeg(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args]
            r = measure(cmd, os.environ.copy(), work)
            r.pop("stdout")
            r["load"] = loadavg()
            if (work / "out.mp4").exists():
                r["output"] = probe_output(work / "out.mp4")
                if n == 0 and not changes_picture(name):
                    r["ssim"] = ssim(work, reference, t)
                (work / "out.mp4").unlink()
            runs[name].append(r)
            save(runs)
            print(f"  round {n + 1} {name:<36} wall {r['wall']:6.1f} s  CPU {r['cpu']:6.1f} s  "
                  f"RSS {r['maxrss_single']:4.0f} MiB  others {r['others_cpu']:5.1f} CPU-s  "
                  f"load {r['load']}", flush=True)
    results = []
    for name, rs in runs.items():
        cpu = statistics.median(r["cpu"] for r in rs)
        wall = statistics.median(r["wall"] for r in rs)
        results.append({
            "name": name, "seconds": base.duration, "wall": wall, "cpu": cpu,
            "cpu_min": min(r["cpu"] for r in rs), "wall_min": min(r["wall"] for r in rs),
            "others_cpu": statistics.median(r["others_cpu"] for r in rs),
            "steal": statistics.median(r["steal"] for r in rs),
            "realtime": base.duration / wall, "cpu_per_video_s": cpu / base.duration,
            "maxrss_single": max(r["maxrss_single"] for r in rs),
            "mbit_s": statistics.median(r["output"]["mbit_s"] for r in rs)
            if "output" in rs[0] else None,
            "ssim": rs[0].get("ssim"),
            "cpus": [round(r["cpu"], 1) for r in rs], "loads": [r["load"] for r in rs],
        })
    return results


def ssim(work: Path, reference: str, seconds: str) -> dict[str, float]:
    """SSIM and PSNR of out.mp4 against the picture the app's graph makes from the source."""
    done = subprocess.run(
        [ffmpeg(), "-hide_banner", "-nostdin", "-i", "source.mp4", "-i", "out.mp4",
         "-filter_complex", f"{reference};[1:v:0]setsar=1[o];[o]split[o1][o2];"
         f"[v]split[v1][v2];[o1][v1]ssim;[o2][v2]psnr", "-t", seconds, "-f", "null", "-"],
        cwd=work, capture_output=True, text=True, check=False)
    s = re.search(r"SSIM .*All:([\d.]+) \(([\d.]+|inf)\)", done.stderr)
    p = re.search(r"PSNR .*average:([\d.]+|inf)", done.stderr)
    if done.returncode != 0 or s is None or p is None:
        raise RuntimeError(f"ssim failed: {done.stderr[-800:]}")
    return {"ssim": float(s[1]), "ssim_db": float(s[2]), "psnr": float(p[1])}


# -- the run ---------------------------------------------------------------------------------------


def summarize(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    med = {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu", "seconds")}
    return {
        "name": name, "runs": len(runs), **med,
        "realtime": med["seconds"] / med["wall"],
        "cpu_per_video_s": med["cpu"] / med["seconds"],
        "rss_tree": max(r["rss_tree"] for r in runs),
        "rss_app": max(r["rss_app"] for r in runs),
        "rss_ffmpeg": max(r["rss_ffmpeg"] for r in runs),
        "maxrss_single": max(r["maxrss_single"] for r in runs),
        "walls": [round(r["wall"], 2) for r in runs],
        "mbit_s": statistics.median(r["output"]["mbit_s"] for r in runs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="clip length (default 60)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-moviepy", action="store_true")
    ap.add_argument("--moviepy", default="fit,blur", help="MoviePy variants: fit,blur")
    ap.add_argument("--moviepy-seconds", type=float,
                    help="MoviePy renders only the first N s of the Short (when a full one is "
                         "unbearably slow); speed-ups then compare x realtime")
    ap.add_argument("--noise", type=int, default=8, help="testsrc2 noise strength (8: ~10 Mbit/s)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "bench-render",
                    help="where the generated source clip is kept between runs")
    ap.add_argument("--diagnose", action="store_true",
                    help="instead: time ffmpeg variants of the app's render command")
    ap.add_argument("--variants", help="with --diagnose: only the variants whose names contain "
                                       "one of these (comma-separated), and the app's command")
    ap.add_argument("--json", type=Path, help="write all figures here")
    ap.add_argument("--out", type=Path, help="also write the printed lines (markdown) here")
    ap.add_argument("--child", nargs=3, metavar=("VARIANT", "WORK", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--child-seconds", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        variant, work, out = args.child
        moviepy_child(variant, Path(work), Path(out), args.child_seconds)
        return

    args.cache.mkdir(parents=True, exist_ok=True)
    source = args.cache / f"source-{args.seconds:g}s-noise{args.noise}.mp4"
    if not source.exists():
        print(f"# making {source} (untimed) ...", flush=True)
        make_source(source, args.seconds, args.noise)
    tmp = Path(tempfile.mkdtemp(prefix="bench-render-", dir=args.cache))
    lines: list[str] = []

    def emit(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    try:
        srt, nwords = make_transcript(args.seconds, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    srt_path = tmp / "transcript.srt"
    srt_path.write_text(srt, encoding="utf-8")
    report: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "cpu": next((ln.split(":", 1)[1].strip() for ln in
                                 Path("/proc/cpuinfo").read_text().splitlines()
                                 if ln.startswith("model name")), "?")},
        "load_before": loadavg(), "source": str(source), "source_bytes": source.stat().st_size,
        "words": nwords, "git": git_state(),
    }
    from shorts_desktop.core.render.ffmpeg import ffmpeg_version

    report["ffmpeg"] = ffmpeg_version()

    def save(data: dict[str, Any]) -> None:  # after every run: a killed run keeps its figures
        if args.json:
            args.json.write_text(json.dumps(data, indent=2, default=str) + "\n")
    try:
        if args.diagnose:
            emit(f"# diagnose: ffmpeg variants of the app's render command, {args.seconds:g} s "
                 f"clip, {args.rounds} round(s), medians; commit {report['git']}; "
                 f"load before {report['load_before']}")
            report["diagnose"] = diagnose(tmp, source, srt, args.rounds,
                                          lambda runs: save({**report, "partial": runs}),
                                          args.variants.split(",") if args.variants else None)
            emit()
            emit("| variant | wall s | x realtime | CPU s (min) | CPU-s per video s (min) "
                 "| RSS MiB | Mbit/s | SSIM (dB) | PSNR dB |")
            emit("|---|---|---|---|---|---|---|---|---|")
            for d in report["diagnose"]:
                q = d["ssim"] or {}
                emit(f"| {d['name'].strip()} | {d['wall']:.1f} | {d['realtime']:.2f} "
                     f"| {d['cpu']:.1f} ({d['cpu_min']:.1f}) | {d['cpu_per_video_s']:.2f} "
                     f"({d['cpu_min'] / d['seconds']:.2f}) | {d['maxrss_single']:.0f} "
                     f"| {d['mbit_s'] or 0:.2f} | "
                     + (f"{q['ssim']:.4f} ({q['ssim_db']:.1f}) | {q['psnr']:.2f} |" if q
                        else "- | - |"))
            report["load_after"] = loadavg()
            emit(f"# load after {report['load_after']}")
            return
        peers = ["ours"]
        if not args.skip_moviepy:
            try:
                import importlib.metadata

                import moviepy  # noqa: F401

                report["moviepy"] = importlib.metadata.version("moviepy")
                peers += [f"moviepy-{v}" for v in args.moviepy.split(",") if v]
                prepare_moviepy_inputs(tmp / "moviepy", source, srt)
            except ModuleNotFoundError:
                emit("# MoviePy is not installed: its peer is skipped "
                     "(.venv/bin/pip install moviepy; not an app dependency)")
        emit(f"# {args.seconds:g} s 1920x1080 {FPS} fps clip ({source.stat().st_size / 1e6:.0f} MB,"
             f" {source.stat().st_size * 8 / 1e6 / args.seconds:.1f} Mbit/s), {nwords}-word "
             f"transcript, {args.rounds} round(s) of {', '.join(peers)}; "
             f"ffmpeg {report['ffmpeg']}; commit {report['git']}; "
             f"load before {report['load_before']}")
        runs: dict[str, list[dict[str, Any]]] = {p: [] for p in peers}
        for n in range(args.rounds):
            # ours before every MoviePy render (it is the short one): more samples of ours
            # under whatever else the machine runs meanwhile; MoviePy variants alternate.
            others = peers[1:] if n % 2 == 0 else peers[:0:-1]
            order = [p for other in others for p in ("ours", other)] or ["ours"]
            for peer in order:
                if peer == "ours":
                    r = run_ours(tmp, source, srt_path, n)
                else:
                    r = run_moviepy(tmp, tmp / "moviepy", peer.split("-", 1)[1], n,
                                    args.moviepy_seconds)
                r["load"] = loadavg()
                runs[peer].append(r)
                save({**report, "partial": runs})
                stages = " ".join(f"{k} {v:.1f}" for k, v in r.get("stages", {}).items())
                emit(f"# round {n + 1} {peer}: {r['seconds']:.1f} s video in {r['wall']:.1f} s "
                     f"(x{r['seconds'] / r['wall']:.2f}), CPU {r['cpu']:.1f} s, RSS tree "
                     f"{r['rss_tree']:.0f} MiB, others {r['others_cpu']:.0f} CPU-s, "
                     f"load {r['load']}"
                     + (f"; stages: {stages}" if stages else ""))
        report["load_after"] = loadavg()
        summary = [summarize(p, rs) for p, rs in runs.items() if rs]
        report["summary"], report["runs"] = summary, runs
        ours = summary[0]
        emit()
        counts = ", ".join(f"{s['name']} {s['runs']}" for s in summary)
        emit(f"medians of all runs ({counts}); RSS: max over runs; "
             "ours faster by = ours' x realtime / the peer's")
        emit()
        emit("| renderer | Short s | wall s | x realtime | CPU s | CPU-s per video s "
             "| peak RSS tree MiB (Python + ffmpeg) | largest process MiB | output Mbit/s "
             "| ours faster by |")
        emit("|---|---|---|---|---|---|---|---|---|---|")
        for s in summary:
            speed = "-" if s is ours else f"{ours['realtime'] / s['realtime']:.1f}x"
            emit(f"| {s['name']} | {s['seconds']:.1f} | {s['wall']:.1f} | {s['realtime']:.2f} "
                 f"| {s['cpu']:.1f} | {s['cpu_per_video_s']:.2f} | {s['rss_tree']:.0f} "
                 f"({s['rss_app']:.0f} + {s['rss_ffmpeg']:.0f}) | {s['maxrss_single']:.0f} "
                 f"| {s['mbit_s']:.1f} | {speed} |")
        stage_names = list(runs["ours"][0].get("stages", {}))
        if stage_names:
            emit()
            emit("ours, stage seconds (manifest.json stage_seconds), median: " + ", ".join(
                f"{k} {statistics.median(r['stages'][k] for r in runs['ours']):.2f}"
                for k in stage_names))
        emit(f"load average before {report['load_before']}, after {report['load_after']}")
    finally:
        if args.json:
            args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
        if args.out:
            args.out.write_text("\n".join(lines) + "\n")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
