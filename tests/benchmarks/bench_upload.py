"""Upload benchmark: what a creator gets from the app against boto3, aws-cli and rclone.

Not collected by pytest. Run on demand, e.g.

    python tests/benchmarks/bench_upload.py                    # full sizes, 3 rounds
    python tests/benchmarks/bench_upload.py --scale 0.25 --rounds 1 --servers sink-http

Clients: `app` is the window's path (the files go through `intake.queue_paths` into
the `UploadQueue` that `build_services` wires, as a drop on the window does: checks,
duplicate look-up, hashing, database rows, engine) with the part checksum that the
automatic setting picks on AWS (CRC32C), `app-md5` the same with the one it picks on other
endpoints (MD5); `cli` is `shorts-desktop upload video|transcript-file FILES...`;
`engine` is the transfer engine alone with each file's checksums computed beforehand (a
diagnosis, not what anyone gets). Inside each `app` run the drop itself is timed too
(files given to the queue → last one stored, storage warmed up first as the window does
when it opens): the row "app, drop on an open window", what a creator waits for after a
drop; the peers, command-line programs, always pay their start. Workloads: A 1 x 1 GiB
video (a 4-second 1080p H.264 clip, which the app probes and makes a thumbnail of as of
any video, then an MP4 `free` box of random bytes up to the size), B 200 x 1 MiB and C
2,000 x 8 KiB transcripts (random text), times --scale. Servers: moto's server over HTTP, and
../shared/bench/sink_s3.py over HTTP and HTTPS (skipped when absent); `local` is no server
but the local library (no bucket set: `app` and `cli` copy into the library folder, with
`cp -r` and `rclone copy` between two folders of the same disk as the peers). Every client runs
in its own process, so its CPU seconds and peak RSS are its own (os.wait4), interleaved
round by round. Peers that are not installed are skipped.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
HERE = Path(__file__).resolve()
SINK = HERE.parents[3] / "shared" / "bench" / "sink_s3.py"
CONCURRENCY = 8
PART = 16 * MIB
AWS: str | None = None  # --aws


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


# -- children: one client, one workload --------------------------------------------------------


def client_kwargs(endpoint: str) -> dict[str, Any]:
    from botocore.config import Config

    return {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "bench",
        "aws_secret_access_key": "bench",
        "config": Config(
            s3={"addressing_style": "path"},
            max_pool_connections=CONCURRENCY * 2 + 4,
            retries={"mode": "standard", "total_max_attempts": 1},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    }


def ours_client_kwargs(endpoint: str) -> dict[str, Any]:
    """The client the app builds for its engine (S3Storage.transfers): one attempt per
    call, and no payload SHA-256 over plain HTTP (each part carries a signed checksum)."""
    from botocore.config import Config

    kwargs = client_kwargs(endpoint)
    kwargs["config"] = kwargs["config"].merge(
        Config(s3={"addressing_style": "path", "payload_signing_enabled": False})
    )
    return kwargs


def child(kind: str, endpoint: str, bucket: str, src: Path) -> None:
    if kind in ("app", "app-md5"):
        app_child(src)  # the app imports what it needs itself
        return
    import boto3

    files = sorted(p for p in src.iterdir() if p.is_file())
    if kind.startswith("engine"):
        from shorts_desktop.core.transfers import EngineConfig, TransferEngine, UploadRequest

        # The app hashes every file (SHA-256 + MD5) when it records the upload, before it
        # calls the engine, and passes both: so does the benchmark (hashed by the parent).
        sums = json.loads((src.parent / f"{src.name}.sums.json").read_text())
        client = boto3.client("s3", **ours_client_kwargs(endpoint))
        config = EngineConfig(
            multipart_threshold=PART, part_size=PART, files_in_flight=CONCURRENCY,
            parts_in_flight=CONCURRENCY if len(files) == 1 else 2,
            checksum="md5" if kind == "engine-md5" else "crc32c",
        )
        with TransferEngine(client, config) as engine:
            handles = [
                engine.upload(UploadRequest(
                    uuid.uuid4().hex, f, bucket, f"engine/{f.name}",
                    sha256=sums[f.name][0], md5=sums[f.name][1],
                ))
                for f in files
            ]
            for h in handles:
                if h.wait() != "completed":
                    raise SystemExit(f"failed: {h.error}")
    elif kind == "boto3":
        from boto3.s3.transfer import TransferConfig, create_transfer_manager

        client = boto3.client("s3", **client_kwargs(endpoint))
        tc = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART,
                            max_concurrency=CONCURRENCY, use_threads=True)
        if len(files) == 1:
            client.upload_file(str(files[0]), bucket, f"boto3/{files[0].name}", Config=tc)
        else:
            with create_transfer_manager(client, tc) as manager:
                futures = [manager.upload(str(f), bucket, f"boto3/{f.name}") for f in files]
                for fut in futures:
                    fut.result()
    else:
        raise SystemExit(f"unknown client {kind}")


#: The row of the drop alone, timed inside each `app` run (see `app_child`).
WINDOW_OPEN = "app, drop on an open window"
PEERS = ("boto3", "aws-cli", "rclone")


def app_child(src: Path) -> None:
    """The window's path: the folder dropped, every file through the queue, all stored.

    As the window does at its start, the storage is warmed up (`Services.warm_up`) before
    the drop; the drop itself, from the files given to the queue to the last one stored,
    is timed too (wall and CPU) and written to $BENCH_DROP_REPORT: what a creator waits
    for after dropping files on a window that is already open."""
    import resource
    import threading

    from shorts_desktop.app import build_services
    from shorts_desktop.core.services.intake import queue_paths

    def cpu() -> float:
        used = resource.getrusage(resource.RUSAGE_SELF)
        return used.ru_utime + used.ru_stime

    services = build_services()  # the environment names the bucket, keys and home
    services.warm_up()
    queue = services.upload_queue
    idle = threading.Event()
    queue.subscribe(lambda event: idle.set() if event.kind == "finished" else None)
    started, cpu_before = time.perf_counter(), cpu()
    # The files, as a multi-selection in Add files… gives them (a folder of more than
    # 1,000 is refused as probably the wrong one).
    refused, held = queue_paths(queue, [src / name for name in sorted(os.listdir(src))],
                                is_temp=True)
    if refused or held:
        raise SystemExit(f"refused: {refused[:3]} held: {len(held)}")
    idle.wait()
    drop = (time.perf_counter() - started, cpu() - cpu_before)
    bad = [i for i in queue.items() if i.state != "completed"]
    services.close()
    if bad:
        raise SystemExit(f"{len(bad)} not stored, e.g. {bad[0].name}: {bad[0].error}")
    report = os.environ.get("BENCH_DROP_REPORT")
    if report:
        Path(report).write_text(f"{drop[0]} {drop[1]}")


def app_env(endpoint: str, bucket: str, home: Path, workload: str,
            kind: str) -> dict[str, str]:
    """The app's settings, as a creator would set them for this machine: as many files
    and parts in flight as the peers get, 16 MiB parts. The sink stands in for AWS S3,
    where the automatic part checksum is CRC32C (boto3, aws-cli and rclone send CRC32);
    `app-md5` keeps `auto`, which on an endpoint outside AWS means Content-MD5 parts."""
    return {"S3_BUCKET_NAME": bucket, "S3_ENDPOINT_URL": endpoint,
            "S3_PART_CHECKSUM": "auto" if kind == "app-md5" else "crc32c",
            "S3_ADDRESSING_STYLE": "path", "AWS_REGION": "us-east-1",
            "SHORTS_DESKTOP_HOME": str(home),
            "SHORTS_DESKTOP_FILES_IN_FLIGHT": str(CONCURRENCY),
            "SHORTS_DESKTOP_PARTS_IN_FLIGHT": str(CONCURRENCY if workload == "A" else 2),
            "S3_MULTIPART_THRESHOLD": str(PART)}


# -- parent ---------------------------------------------------------------------------------


def _content(size: int, video: bool, first: bool) -> bytes:
    """Bytes the app accepts: an MP4 header before random bytes, or random text lines."""
    if video:
        head = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" if first else b""
        return head + os.urandom(size - len(head))
    text = base64.b64encode(os.urandom(size))[:size]
    return b"\n".join(text[i:i + 79] for i in range(0, len(text), 80))[:size].ljust(size, b"\n")


def real_clip(root: Path) -> bytes:
    """A 4-second 1080p H.264/AAC MP4 (moov first), from the ffmpeg the app ships."""
    import imageio_ffmpeg

    out = root / "clip.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "4",
         "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-c:a", "aac",
         "-movflags", "+faststart", "-shortest", str(out)], check=True)
    data = out.read_bytes()
    out.unlink()
    return data


def _blocks(size: int, video: bool, clip: bytes) -> Iterator[bytes]:
    """A workload file's bytes, 8 MiB at a time: for a video the real `clip`, then a
    `free` box (which players and ffmpeg skip) filling up to `size`; else, or at a scale
    too small for the clip, `_content`."""
    left = size
    if video and size >= len(clip) + 8:
        head = clip + (size - len(clip)).to_bytes(4, "big") + b"free"
        yield head
        left -= len(head)
        while left:
            yield os.urandom(min(left, 8 * MIB))
            left -= min(left, 8 * MIB)
        return
    while left:
        block = _content(min(left, 8 * MIB), video, first=left == size)
        yield block
        left -= len(block)


def make_workloads(root: Path, scale: float, only: str) -> dict[str, Path]:
    specs = {"A": (1, int(1024 * MIB * scale)), "B": (max(1, int(200 * scale)), MIB),
             "C": (max(1, int(2000 * scale)), 8 * 1024)}
    out: dict[str, Path] = {}
    for name, (count, size) in specs.items():
        if name not in only:
            continue
        d = root / name
        d.mkdir()
        sums: dict[str, tuple[str, str]] = {}
        video = name == "A"
        clip = real_clip(root) if video else b""
        for i in range(count):
            sha, md5 = hashlib.sha256(), hashlib.md5()
            file_name = f"f{i:05d}.mp4" if video else f"f{i:05d}.txt"
            with (d / file_name).open("wb") as f:
                for block in _blocks(size, video, clip):
                    sha.update(block)
                    md5.update(block)
                    f.write(block)
            sums[file_name] = (sha.hexdigest(), md5.hexdigest())
        (root / f"{name}.sums.json").write_text(json.dumps(sums))  # not in the uploaded dir
        out[name] = d
    return out


Servers = dict[str, tuple[str, dict[str, str]]]
LOCAL = "local"  # the local library: no endpoint, no bucket
LOCAL_PEERS = ("cp", "rclone")


def start_servers(which: list[str], tmp: Path) -> tuple[Servers, list[Any]]:
    servers: Servers = {}
    procs: list[Any] = []
    if LOCAL in which:
        servers[LOCAL] = (LOCAL, {})
    if "moto-http" in which:
        port = free_port()
        code = ("import logging,time;logging.getLogger('werkzeug').setLevel(logging.ERROR);"
                "from moto.server import ThreadedMotoServer as S;"
                f"s=S(ip_address='127.0.0.1',port={port},verbose=False);s.start();"
                "time.sleep(10**9)")
        procs.append(subprocess.Popen([sys.executable, "-c", code],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(port)
        servers["moto-http"] = (f"http://127.0.0.1:{port}", {})
    if not SINK.is_file():
        print(f"# {SINK} is absent: sink servers skipped")
        return servers, procs
    if "sink-http" in which:
        port = free_port()
        procs.append(subprocess.Popen([sys.executable, str(SINK), "--port", str(port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(port)
        servers["sink-http"] = (f"http://127.0.0.1:{port}", {})
    if "sink-https" in which and shutil.which("openssl"):
        cert, key = tmp / "c.pem", tmp / "k.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
        port = free_port()
        procs.append(subprocess.Popen(
            [sys.executable, str(SINK), "--port", str(port), "--cert", str(cert), "--key",
             str(key)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(port)
        servers["sink-https"] = (f"https://127.0.0.1:{port}",
                                 {"AWS_CA_BUNDLE": str(cert), "SSL_CERT_FILE": str(cert)})
    return servers, procs


def peer_command(kind: str, endpoint: str, bucket: str, src: Path, tmp: Path) -> list[str] | None:
    if endpoint == LOCAL:  # the folder `bucket` beside the workloads stands for the library
        # The app fsyncs each copy before it records it; a peer's copy is made as durable
        # by a sync of the file system at its end, counted in its time.
        dest = str(tmp / f"copy-{bucket}")
        if kind == "cp":
            return ["/bin/sh", "-c", 'cp -r "$0" "$1" && sync -f "$1"', str(src), dest]
        if kind == "rclone" and shutil.which("rclone"):
            return ["/bin/sh", "-c", f'rclone copy --transfers={CONCURRENCY} "$0" "$1" && '
                    'sync -f "$1"', str(src), dest]
        if kind not in ("app", "app-md5", "cli"):
            return None
    elif kind == "cp":
        return None
    if kind == "aws-cli":
        aws = AWS
        if aws is None or not Path(aws).exists():
            return None
        return [aws, "s3", "cp", "--recursive", "--only-show-errors", "--endpoint-url", endpoint,
                str(src), f"s3://{bucket}/aws/"]
    if kind == "rclone":
        rclone = shutil.which("rclone")
        if rclone is None:
            return None
        return [rclone, "copy", "--s3-no-check-bucket", "--s3-chunk-size", "16M",
                f"--transfers={CONCURRENCY}", f"--s3-upload-concurrency={CONCURRENCY}",
                str(src), f"bench:{bucket}/rclone"]
    if kind == "cli":
        what = "video" if src.name == "A" else "transcript-file"
        return [sys.executable, "-m", "shorts_desktop", "upload", what,
                *map(str, sorted(src.iterdir()))]
    return [sys.executable, str(HERE), "--child", kind, endpoint, bucket, str(src)]


#: The app's first start, as far as its cache goes: botocore's data parsed and kept.
WARM_CACHE = """
import sys
from pathlib import Path
from shorts_desktop.core.storage.botocore_data import botocore_session
botocore_session(Path(sys.argv[1])).create_client(
    "s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9", aws_access_key_id="k",
    aws_secret_access_key="s")
"""


LAUNCHER = r"""
import os, sys
report = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    os.close(report)
    os.execv(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
os.write(report, f"{ru.ru_utime} {ru.ru_stime} {ru.ru_maxrss}".encode())
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user+sys) and peak RSS (MiB) of one client process.

    A small launcher (python -S) forks and execs the client and reports its rusage:
    the client starts from the launcher's small image, not from this process (a child
    forked or vforked from here would carry this process's peak RSS into its own
    ru_maxrss, which Linux keeps across exec). The rusage includes the client's own
    children. Wall time is the launcher's, ~20 ms more than the client's, alike for all.
    """
    read_fd, write_fd = os.pipe()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-S", "-c", LAUNCHER, str(write_fd), *cmd], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, pass_fds=(write_fd,),
    )
    os.close(write_fd)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.wait()
    wall = time.perf_counter() - start
    with os.fdopen(read_fd, "rb") as f:
        report = f.read().decode()
    if proc.returncode != 0 or not report:
        raise RuntimeError(f"{cmd[:4]} failed ({proc.returncode}): {err[-800:]}")
    utime, stime, maxrss_kib = report.split()
    return wall, float(utime) + float(stime), int(maxrss_kib) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--child", nargs=4, metavar=("CLIENT", "ENDPOINT", "BUCKET", "DIR"))
    ap.add_argument("--scale", type=float, default=1.0, help="shrink workloads (0.25 = quarter)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workloads", default="ABC")
    ap.add_argument("--servers", default="sink-http,sink-https,moto-http",
                    help=f"also: {LOCAL} (the local library; peers: cp, rclone)")
    ap.add_argument("--clients", default="app,cli,engine,boto3,aws-cli,rclone,cp",
                    help="also: engine-md5 (Content-MD5 parts instead of CRC32C), app-md5 "
                         "(the app's automatic part checksum: MD5 outside AWS)")
    ap.add_argument("--aws", default=shutil.which("aws"), help="the aws-cli executable")
    ap.add_argument("--out", type=Path, help="also write the tables (markdown) here")
    args = ap.parse_args()
    if args.child:
        kind, endpoint, bucket, src = args.child
        child(kind, endpoint, bucket, Path(src))
        return
    global AWS
    AWS = args.aws

    import boto3

    tmp = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    procs: list[Any] = []
    lines: list[str] = []

    def emit(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    # The app as installed carries its bytecode (pip compiles it, the bundle holds it); an
    # editable checkout under PYTHONDONTWRITEBYTECODE would compile every module at every
    # start, which no creator's app does.
    package = HERE.parents[2] / "shorts_desktop"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    # Likewise its cache: botocore's data, parsed at the app's first start, is kept for the
    # next ones; each run of the app gets a home of its own, with that cache in it.
    warm_cache = tmp / "warm-cache"
    subprocess.run([sys.executable, "-c", WARM_CACHE, str(warm_cache)], check=True)
    try:
        data = make_workloads(tmp, args.scale, args.workloads)
        servers, procs = start_servers(args.servers.split(","), tmp)
        clients = args.clients.split(",")
        emit(f"scale {args.scale}, {args.rounds} rounds, concurrency {CONCURRENCY}, part "
             f"{PART // MIB} MiB, medians (peak RSS: max); best peer / app = the fastest "
             "peer's wall / the app's wall (>= 1: the app is as fast or faster)")
        emit("")
        emit("| server | workload | client | wall s | MB/s | files/s | CPU s | CPU s/GiB "
             "| CPU ms/file | peak RSS MiB | peer / app |")
        emit("|---|---|---|---|---|---|---|---|---|---|---|")
        for sname, (endpoint, extra_env) in servers.items():
            env = {**os.environ, "BOTO_DISABLE_CRT": "true", "AWS_ACCESS_KEY_ID": "bench",
                   "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
                   "RCLONE_CONFIG_BENCH_TYPE": "s3", "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
                   "RCLONE_CONFIG_BENCH_ENDPOINT": endpoint,
                   "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": "bench",
                   "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": "bench", **extra_env}
            awscfg = tmp / "aws-config"
            awscfg.write_text(f"[default]\ns3 =\n  max_concurrent_requests = {CONCURRENCY}\n"
                              "  multipart_threshold = 16MB\n  multipart_chunksize = 16MB\n")
            env["AWS_CONFIG_FILE"] = str(awscfg)
            admin = None if endpoint == LOCAL else boto3.client(
                "s3", **client_kwargs(endpoint), verify=extra_env.get("AWS_CA_BUNDLE", True))
            for wname, src in data.items():
                files = [p for p in src.iterdir() if p.is_file()]
                total = sum(p.stat().st_size for p in files)
                nfiles = len(files)
                results: dict[str, list[tuple[float, float, float]]] = {}
                for turn in range(args.rounds):  # interleaved: every client once per round,
                    # each round starting one client later (none always runs first)
                    for kind in clients[turn % len(clients):] + clients[:turn % len(clients)]:
                        cmd = peer_command(kind, endpoint, "", src, tmp)
                        if cmd is None:
                            continue
                        bucket = f"bench-{uuid.uuid4().hex[:12]}"
                        if admin is not None:
                            admin.create_bucket(Bucket=bucket)
                        cmd = peer_command(kind, endpoint, bucket, src, tmp)
                        assert cmd is not None
                        cenv = dict(env)
                        if kind in ("app", "app-md5", "cli"):
                            home = tmp / f"home-{bucket}"
                            shutil.copytree(warm_cache, home / "cache")
                            cenv.update(app_env(endpoint, bucket, home, wname, kind))
                            if endpoint == LOCAL:  # no bucket: the library in that home
                                for name in ("S3_BUCKET_NAME", "S3_ENDPOINT_URL"):
                                    cenv.pop(name)
                        if kind == "rclone":  # rclone must not see AWS_CA_BUNDLE
                            cenv.pop("AWS_CA_BUNDLE", None)
                        else:
                            cenv.pop("SSL_CERT_FILE", None)
                        report = tmp / "drop-report"
                        report.unlink(missing_ok=True)
                        cenv["BENCH_DROP_REPORT"] = str(report)
                        if endpoint == LOCAL:
                            os.sync()  # no writeback left from the one before
                        measured = measure(cmd, cenv)
                        if endpoint == LOCAL:  # what was copied: gone before the next one
                            shutil.rmtree(tmp / f"copy-{bucket}", ignore_errors=True)
                            shutil.rmtree(tmp / f"home-{bucket}", ignore_errors=True)
                        results.setdefault(kind, []).append(measured)
                        if kind == "app" and report.exists():  # the drop, inside that run
                            drop_wall, drop_cpu = map(float, report.read_text().split())
                            results.setdefault(WINDOW_OPEN, []).append(
                                (drop_wall, drop_cpu, measured[2]))
                app = statistics.median(r[0] for r in results.get("app", [(0, 0, 0)]))
                peer_walls = [statistics.median(r[0] for r in runs)
                              for kind, runs in results.items()
                              if kind in (LOCAL_PEERS if endpoint == LOCAL else PEERS)]
                for kind, runs in results.items():
                    wall = statistics.median(r[0] for r in runs)
                    cpu = statistics.median(r[1] for r in runs)
                    rss = max(r[2] for r in runs)
                    ratio = f"{wall / app:.2f}" if app and kind != "app" else "-"
                    if kind == WINDOW_OPEN:  # this row against the peers, not against app
                        ratio = (f"best peer / this: {min(peer_walls) / wall:.2f}"
                                 if peer_walls else "-")
                    emit(f"| {sname} | {wname} | {kind} | {wall:.2f} | {total / wall / 1e6:.0f}"
                         f" | {nfiles / wall:.0f} | {cpu:.2f} | {cpu / (total / 2**30):.2f}"
                         f" | {cpu / nfiles * 1000:.1f} | {rss:.0f} | {ratio} |")
        if args.out:
            args.out.write_text("\n".join(lines) + "\n")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
