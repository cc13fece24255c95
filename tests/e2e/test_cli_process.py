"""`job process`, `job show`, `job preview` and `job url` end to end: real renders of small
generated clips through the real CLI against the local S3 server, every failure as one
sentence with the job marked failed, and kill -9 in the middle of a run.
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests import media_gen
from tests.e2e.media import make_mp4
from tests.stubs.openai_stub import OpenAIStub

#: What `processed/{job_id}/` holds once a job is processed (with a narration).
RESULT_NAMES = ["captions.ass", "captions.srt", "manifest.json", "narration.wav", "short.mp4",
                "thumbnail.jpg"]
#: About 0.7 s spoken by espeak: a Short of under 2 s, quick to render.
SPEECH = "Hello there."
LONG_SPEECH = " ".join(["This sentence is here to make the narration far too long."] * 8)


# -- helpers ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clean_env(cli_env: dict[str, str]) -> None:
    """No OpenAI key or ffmpeg override of the developer's reaches the CLI."""
    for name in list(cli_env):
        if name.startswith("OPENAI_") or name == "IMAGEIO_FFMPEG_EXE":
            del cli_env[name]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Generated once for the module: a good 2 s clip and inputs that only look like videos."""
    folder = tmp_path_factory.mktemp("clips")
    return {
        "good": media_gen.small_clip(folder / "clip.mp4", duration=2.0),
        "garbage": make_mp4(folder / "garbage.mp4", 20_000),  # an ftyp box, then noise
        "truncated": media_gen.truncated_mp4(folder / "truncated.mp4"),
        "audio": media_gen.audio_only(folder / "voice.m4a"),
    }


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result


def ok_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(result).stdout)


def one_sentence(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    """The exit code is `code` and stderr is exactly one "error: " line; that sentence."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    message = lines[0][len("error: "):]
    for fragment in fragments:
        assert fragment in message, message
    return message


def parallel(fn: Callable[..., Any], items: Iterable[Any], workers: int = 3) -> list[Any]:
    """fn over items in a few threads (each call runs a CLI subprocess): faster on 2 cores."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def upload_video(run_cli, path: Path) -> dict[str, Any]:
    return ok_json(run_cli("upload", "video", str(path), "--json"))


def upload_text(run_cli, text: str, name: str = "transcript.txt") -> dict[str, Any]:
    return ok_json(run_cli("upload", "transcript-text", "--text", text, "--name", name,
                           "--json"))


def create_job(run_cli, video_id: str, transcript_id: str, title: str = "My Short") -> str:
    job = ok_json(run_cli("job", "create", "--title", title, "--voice", "alloy", "--video",
                          video_id, "--transcript", transcript_id, "--json"))
    assert job["status"] == "created"
    return job["id"]


def new_job(run_cli, clip: Path, text: str = SPEECH, title: str = "My Short") -> dict[str, Any]:
    video = upload_video(run_cli, clip)
    transcript = upload_text(run_cli, text)
    return {"id": create_job(run_cli, video["id"], transcript["id"], title),
            "video": video, "transcript": transcript}


def show(run_cli, job_id: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    return ok_json(run_cli("job", "show", job_id, "--json", env=env))


def result_prefix(job_id: str) -> str:
    return f"processed/{job_id}/"


def keys_under(s3_bucket, prefix: str) -> list[str]:
    bucket, s3 = s3_bucket
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
                  .get("Contents", []))


def result_names(s3_bucket, job_id: str) -> list[str]:
    prefix = result_prefix(job_id)
    return [k[len(prefix):] for k in keys_under(s3_bucket, prefix)]


def assert_failed(run_cli, s3_bucket, shorts_home: Path, job_id: str, message: str) -> None:
    """The job is failed with exactly that reason, and nothing of the run is left over."""
    job = show(run_cli, job_id)
    assert job["status"] == "failed", job
    assert job["error"] == message
    assert job["stage"] is None and job["result_keys"] == [] and job["render_info"] is None
    assert result_names(s3_bucket, job_id) == []
    assert not (shorts_home / "data" / "work" / job_id).exists()


def assert_results(s3_bucket, job: dict[str, Any]) -> dict[str, Any]:
    """processed/{id}/ holds exactly the six results, each matching the manifest's sha256;
    the job's result keys and render info agree. Returns the manifest."""
    bucket, s3 = s3_bucket
    prefix = result_prefix(job["id"])
    assert result_names(s3_bucket, job["id"]) == RESULT_NAMES
    assert sorted(job["result_keys"]) == [prefix + name for name in RESULT_NAMES]
    blobs = {name: s3.get_object(Bucket=bucket, Key=prefix + name)["Body"].read()
             for name in RESULT_NAMES}
    manifest = json.loads(blobs["manifest.json"])
    assert manifest["job_id"] == job["id"]
    listed = {entry["name"]: entry for entry in manifest["outputs"]}
    assert sorted(listed) == [n for n in RESULT_NAMES if n != "manifest.json"]
    for name, entry in listed.items():
        assert entry["key"] == prefix + name
        assert entry["sha256"] == hashlib.sha256(blobs[name]).hexdigest(), name
        assert entry["size"] == len(blobs[name]), name
    for name in RESULT_NAMES:
        head = s3.head_object(Bucket=bucket, Key=prefix + name)
        assert head["Metadata"]["job-id"] == job["id"]
        assert head["Metadata"]["sha256"] == hashlib.sha256(blobs[name]).hexdigest(), name
    short = blobs["short.mp4"]
    assert job["render_info"]["sha256"] == hashlib.sha256(short).hexdigest()
    assert job["render_info"]["size"] == len(short)
    return manifest


def cleanup_plan(run_cli) -> dict[str, Any]:
    return ok_json(run_cli("cleanup-temp", "--hours", "0", "--json"))


def assert_kept(plan: dict[str, Any], upload_ids: Iterable[str], status: str) -> None:
    skipped = {item["id"]: item["reason"] for item in plan["skipped"]}
    for upload_id in upload_ids:
        assert upload_id not in plan["deleted"], plan
        assert f"({status})" in skipped.get(upload_id, ""), plan


def processes_in(folder: Path) -> list[int]:
    """Live processes whose working folder is in `folder` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (cwd == str(folder) or cwd.startswith(f"{folder}/")):
            found.append(int(entry))
    return found


def wait_for(what: str, condition: Callable[[], Any], proc: subprocess.Popen[bytes],
             timeout: float = 60, interval: float = 0.02) -> Any:
    """Poll until `condition()` is true while `proc` still runs; fails if it ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"`job process` ended (exit {proc.returncode}) before {what}")
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}")


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "shorts_desktop", *args]


def run_with_tty_stderr(args: list[str], env: dict[str, str], cwd: Path,
                        timeout: float = 120) -> tuple[int, str, str]:
    """Run the CLI with stderr on a terminal (its progress line) and stdout on a pipe."""
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def pump() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    try:
        with subprocess.Popen(cli_command(*args), env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=slave) as proc:
            os.close(slave)
            slave = -1
            reader = threading.Thread(target=pump, daemon=True)
            reader.start()
            out, _ = proc.communicate(timeout=timeout)
            reader.join(10)
    finally:
        if slave != -1:
            os.close(slave)
        os.close(master)
    return proc.returncode, out.decode(), b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture
def tiny_work_folder(shorts_home: Path) -> Iterator[Callable[[int], None]]:
    """The work folder on a tmpfs; the function sets its size (bytes). Skips when this system
    does not allow mounting one (not root, or a container without CAP_SYS_ADMIN)."""
    work = shorts_home / "data" / "work"
    work.mkdir(parents=True, exist_ok=True)
    mounted = False

    def resize(size: int) -> None:
        nonlocal mounted
        options = f"size={size}" if not mounted else f"remount,size={size}"
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(work)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            if not mounted:
                pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or 'no mount'}")
            raise AssertionError(done.stderr)
        mounted = True

    if shutil.which("mount") is None:
        pytest.skip("no mount command to make a small work folder")
    try:
        yield resize
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(work)], check=False)


# -- the whole way: process, show, preview, url ---------------------------------------------


def test_process_show_preview_url(run_cli, cli_env, s3_bucket, shorts_home, tmp_path,
                                  clips) -> None:
    bucket, s3 = s3_bucket
    job = new_job(run_cli, clips["good"], title="My Short")
    job_id = job["id"]
    inputs = [job["video"]["id"], job["transcript"]["id"]]
    assert_kept(cleanup_plan(run_cli), inputs, "created")

    code, out, terminal = run_with_tty_stderr(["job", "process", job_id, "--json"], cli_env,
                                              tmp_path)
    assert code == 0, terminal
    assert "Traceback" not in terminal and "error" not in terminal
    for stage in ("fetching", "rendering", "storing"):
        assert stage in terminal, terminal
    assert terminal.endswith("\n"), terminal
    printed = json.loads(out)
    assert printed["id"] == job_id and printed["status"] == "processed"
    assert printed["error"] is None and printed["stage"] is None
    info = printed["render_info"]
    assert info["provider"] == "espeak" and info["synthetic"] is True
    assert 1.0 < info["duration"] <= 5.0
    assert not (shorts_home / "data" / "work" / job_id).exists()

    saved, link_args = tmp_path / "preview.mp4", ("job", "url", job_id, "--expires", "600")
    shown, plan, again, preview, here, link = parallel(lambda args: run_cli(*args), [
        ("job", "show", job_id, "--json"),
        ("cleanup-temp", "--hours", "0", "--json"),
        ("job", "process", job_id),
        ("job", "preview", job_id, "-o", str(saved)),
        ("job", "preview", job_id),  # default: named after the title, in the cwd
        link_args,
    ])
    shown = json.loads(ok(shown).stdout)
    assert shown["status"] == "processed" and shown["result_keys"] == printed["result_keys"]
    assert shown["render_info"] == info and shown["error"] is None and shown["stage"] is None
    manifest = assert_results(s3_bucket, shown)
    assert [i["upload_id"] for i in manifest["inputs"]] == inputs
    assert manifest["render"]["reframe"] == "blur" and manifest["render"]["captions_burned_in"]
    assert_kept(json.loads(ok(plan).stdout), inputs, "processed")  # not published yet
    one_sentence(again, 2, "already processed")

    short_bytes = s3.get_object(Bucket=bucket, Key=f"processed/{job_id}/short.mp4")[
        "Body"].read()
    assert str(saved) in ok(preview).stdout and saved.read_bytes() == short_bytes
    dump = media_gen.ffmpeg_dump(saved)
    assert "1080x1920" in dump and "Audio:" in dump
    default_path = Path(ok(here).stdout.strip().removeprefix("Saved ").strip())
    assert default_path.parent == tmp_path and default_path.suffix == ".mp4"
    assert default_path.read_bytes() == short_bytes
    url = ok(link).stdout.strip()
    assert url.startswith(cli_env["S3_ENDPOINT_URL"]) and f"processed/{job_id}/" in url
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read() == short_bytes

    one_sentence(run_cli("job", "preview", job_id, "-o", str(saved)), 2, "already exists",
                 "--force")
    # With no local copy left the Short comes from the bucket, checked against its checksum;
    # one changed in the bucket is refused and no copy of it is left behind.
    s3.put_object(Bucket=bucket, Key=f"processed/{job_id}/short.mp4",
                  Body=short_bytes[:-1000] + b"\0" * 1000)
    shutil.rmtree(shorts_home / "data" / "cache", ignore_errors=True)
    one_sentence(run_cli("job", "preview", job_id, "-o", str(saved), "-f"), 1, "checksum")
    assert saved.read_bytes() == short_bytes  # the earlier, verified copy is left as it was
    assert sorted(p.name for p in tmp_path.glob("preview*")) == ["preview.mp4"]

    # Cancelled, the job no longer holds its temporary inputs back from cleanup.
    assert ok_json(run_cli("job", "cancel", job_id, "--json"))["status"] == "cancelled"
    plan = cleanup_plan(run_cli)
    assert sorted(plan["deleted"]) == sorted(inputs)
    assert keys_under(s3_bucket, "temp/") == []


def test_disk_full_in_the_work_folder(run_cli, s3_bucket, shorts_home, clips,
                                      tiny_work_folder) -> None:
    job = new_job(run_cli, clips["good"])
    # The video fits; the caption font, the narration and the render do not fit beside it.
    tiny_work_folder(clips["good"].stat().st_size + 800_000)
    message = one_sentence(run_cli("job", "process", job["id"]), 1, "disk is full")
    assert_failed(run_cli, s3_bucket, shorts_home, job["id"], message)


# -- bad input: one sentence, exit 2, the job failed with that reason ---------------------------


def test_bad_inputs_fail_the_job_with_one_sentence(run_cli, cli_env, s3_bucket, shorts_home,
                                                   tmp_path, clips) -> None:
    markup = tmp_path / "markup.srt"
    markup.write_text("1\n00:00:00,000 --> 00:00:01,000\n<i></i>\n\n"
                      "2\n00:00:01,000 --> 00:00:02,000\n{\\an8}<b> </b>\n", encoding="utf-8")
    uploads = [upload_video(run_cli, clips["good"])]  # first alone: it makes the database
    uploads += parallel(lambda f: f(), [
        lambda: upload_text(run_cli, SPEECH),
        lambda: upload_video(run_cli, clips["garbage"]),
        lambda: upload_video(run_cli, clips["truncated"]),
        lambda: upload_video(run_cli, clips["audio"]),  # sniffed as MP4 (an ftyp box)
        lambda: ok_json(run_cli("upload", "transcript-file", str(markup), "--json")),
        lambda: upload_text(run_cli, LONG_SPEECH, "long.txt"),
    ])
    good, text, garbage, truncated, audio, srt, long = (u["id"] for u in uploads)
    assert all(u["status"] == "completed" for u in uploads)  # upload lets all of them through
    short_limit = {**cli_env, "SHORTS_DESKTOP_MAX_SECONDS": "5"}
    cases = [  # video, transcript, env, fragments of the sentence
        (garbage, text, None, ("garbage.mp4", "does not decode")),
        (truncated, text, None, ("truncated.mp4", "does not decode")),
        (audio, text, None, ("voice.m4a", "has no video stream")),
        (good, srt, None, ("markup.srt", "nothing to say")),
        (good, long, short_limit, ("would be about", "at most 5 s", "shorten")),
    ]
    jobs = parallel(lambda c: create_job(run_cli, c[0], c[1], f"Bad {c[0][:4]}{c[1][:4]}"),
                    cases)
    results = parallel(lambda pair: run_cli("job", "process", pair[0], env=pair[1][2]),
                       list(zip(jobs, cases, strict=True)))
    messages = [one_sentence(result, 2, *case[3])
                for case, result in zip(cases, results, strict=True)]
    seconds = int(re.search(r"about (\d+) s", messages[-1]).group(1))
    assert seconds > 5, messages[-1]
    failed = {j["id"]: j for j in ok_json(run_cli("jobs", "--status", "failed", "--json"))}
    assert sorted(failed) == sorted(jobs)
    for job_id, message in zip(jobs, messages, strict=True):
        assert failed[job_id]["error"] == message
        assert failed[job_id]["stage"] is None and failed[job_id]["result_keys"] == []
        assert result_names(s3_bucket, job_id) == []
        assert not (shorts_home / "data" / "work" / job_id).exists()

    # Failed jobs are unfinished: their temporary inputs stay.
    assert_kept(cleanup_plan(run_cli), [u["id"] for u in uploads], "failed")


def test_a_failed_job_can_be_cancelled_to_free_its_inputs(run_cli, s3_bucket, clips) -> None:
    job = new_job(run_cli, clips["garbage"])
    one_sentence(run_cli("job", "process", job["id"]), 2, "does not decode")
    cancelled = run_cli("job", "cancel", job["id"], "--json")
    assert ok_json(cancelled)["status"] == "cancelled"
    plan = cleanup_plan(run_cli)
    assert sorted(plan["deleted"]) == sorted([job["video"]["id"], job["transcript"]["id"]])
    assert keys_under(s3_bucket, "temp/") == []


def test_bad_video_sentence_does_not_show_the_work_folder(run_cli, shorts_home,
                                                           clips) -> None:
    job = new_job(run_cli, clips["garbage"])
    message = one_sentence(run_cli("job", "process", job["id"]), 2, "garbage.mp4")
    assert str(shorts_home) not in message and "/work/" not in message, message


# -- narration by OpenAI (the local stub): key, refusals, quota ---------------------------------


def test_openai_keys_refusals_and_quota(run_cli, cli_env, s3_bucket, shorts_home,
                                        clips) -> None:
    job = new_job(run_cli, clips["good"])
    job_id = job["id"]

    def fails(env: dict[str, str], code: int, *fragments: str, check: bool = True) -> str:
        result = run_cli("job", "process", job_id, env=env)
        message = one_sentence(result, code, *fragments)
        for key in ("sk-from-keyring", "sk-test-env-key"):  # never the key
            assert key not in result.stdout + result.stderr
        if check:
            assert_failed(run_cli, s3_bucket, shorts_home, job_id, message)
        return message

    with OpenAIStub(seconds_per_char=0.05) as stub:
        openai = {**cli_env, "SHORTS_DESKTOP_TTS": "openai", "OPENAI_BASE_URL": stub.base_url}
        fails(openai, 2, "needs an API key", "credentials set --openai")
        assert stub.requests == []

        # A key kept in the OS keyring is sent; OpenAI refusing it is one sentence.
        saved = run_cli("credentials", "set", "--openai", input="sk-from-keyring-5678\n")
        keyring = saved.returncode == 0 or "keyring" not in saved.stderr.lower()
        if keyring:  # tests/run.sh provides one; a bare pytest may have none
            ok(saved)
            try:
                stub.fail(401, code="invalid_api_key")
                fails(openai, 2, "refused the API key", check=False)
                assert stub.requests[-1].headers["authorization"] == "Bearer sk-from-keyring-5678"
            finally:
                assert "Removed" in ok(run_cli("credentials", "clear", "--openai")).stdout

            shown = ok(run_cli("credentials", "show", "--openai")).stdout
            assert "No OpenAI key is set" in shown

        keyed = {**openai, "OPENAI_API_KEY": "sk-test-env-key-1234"}
        stub.fail(401, code="invalid_api_key")
        fails(keyed, 2, "refused the API key", check=False)
        assert stub.requests[-1].headers["authorization"] == "Bearer sk-test-env-key-1234"
        stub.fail(429, code="insufficient_quota")
        fails(keyed, 1, "quota")

        asked = len(stub.requests)
        done = ok_json(run_cli("job", "process", job_id, "--json", env=keyed))
        assert done["status"] == "processed" and done["error"] is None
        assert done["render_info"]["provider"] == "openai"
        said = " ".join(r.body["input"] for r in stub.requests[asked:])
        assert said.split() == SPEECH.split()
    assert_results(s3_bucket, done)


# -- kill -9, a broken install, and running again ------------------------------------------


def test_kill_9_then_process_again(run_cli, cli_env, s3_bucket, shorts_home, tmp_path, clips,
                                   request: pytest.FixtureRequest) -> None:
    bucket, s3 = s3_bucket
    job = new_job(run_cli, clips["good"])
    job_id = job["id"]
    inputs = [job["video"]["id"], job["transcript"]["id"]]
    work = shorts_home / "data" / "work"
    started: list[subprocess.Popen[bytes]] = []
    request.addfinalizer(lambda: [(p.kill(), p.wait()) for p in started if p.poll() is None])

    def start(env: dict[str, str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(cli_command("job", "process", job_id), env=env, cwd=tmp_path,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        started.append(proc)
        return proc

    def kill(proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL

    def after_kill(stage: str) -> None:
        """Nothing is marked done; the inputs stay."""
        shown, plan = parallel(lambda args: run_cli(*args), [
            ("job", "show", job_id, "--json"), ("cleanup-temp", "--hours", "0", "--json"),
        ])
        killed = json.loads(ok(shown).stdout)
        assert killed["status"] == "processing" and killed["stage"] == stage, killed
        assert killed["result_keys"] == [] and killed["render_info"] is None
        assert_kept(json.loads(ok(plan).stdout), inputs, "processing")

    # 1. Killed while ffmpeg renders: nothing stored, and the render stops with it.
    proc = start(cli_env)
    wait_for("ffmpeg rendering", lambda: processes_in(work / job_id), proc, timeout=60)
    wait_for("the rendering stage", lambda: (work / job_id / "short.mp4").exists(), proc)
    kill(proc)
    deadline = time.monotonic() + 10
    while processes_in(work) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_in(work) == [], "ffmpeg went on rendering after its job was killed"
    assert result_names(s3_bucket, job_id) == []
    after_kill("rendering")

    # 2. Killed while storing, some results already in the bucket (a slow link makes room).
    proc = start({**cli_env, "SHORTS_DESKTOP_BANDWIDTH_LIMIT": "200000"})
    partial = wait_for("the first stored result",
                       lambda: result_names(s3_bucket, job_id), proc, timeout=90)
    kill(proc)
    assert "manifest.json" not in partial
    assert "short.mp4" in result_names(s3_bucket, job_id)  # the dead run's, left over
    after_kill("storing")
    one_sentence(run_cli("job", "preview", job_id, "-o", str(tmp_path / "p.mp4")), 2,
                 "no Short yet")
    assert not (tmp_path / "p.mp4").exists()

    # 3. A broken install (its ffmpeg gone): one sentence, failed, and the dead run's
    #    results (and a stray object) are removed all the same.
    s3.put_object(Bucket=bucket, Key=f"processed/{job_id}/stale-from-an-old-run.bin", Body=b"x")
    broken = {**cli_env, "IMAGEIO_FFMPEG_EXE": str(tmp_path / "no-such-ffmpeg")}
    message = one_sentence(run_cli("job", "process", job_id, env=broken), 1,
                           "ffmpeg is missing")
    assert_failed(run_cli, s3_bucket, shorts_home, job_id, message)

    # 4. Processed again (other settings): exactly this run's six results.
    s3.put_object(Bucket=bucket, Key=f"processed/{job_id}/stale-from-an-old-run.bin", Body=b"x")
    env = {**cli_env, "SHORTS_DESKTOP_REFRAME": "crop", "SHORTS_DESKTOP_CAPTIONS": "off"}
    done = ok(run_cli("job", "process", job_id, env=env))
    assert done.stderr == ""  # no terminal: no progress line
    assert re.match(rf"Job {job_id} is processed: a \d+\.\d s Short is in storage\.\n",
                    done.stdout), done.stdout
    finished = show(run_cli, job_id)
    assert finished["status"] == "processed" and finished["error"] is None
    manifest = assert_results(s3_bucket, finished)
    assert manifest["render"]["reframe"] == "crop"
    assert manifest["render"]["captions_burned_in"] is False
    assert processes_in(work) == [] and not (work / job_id).exists()


# -- two commands at once on a new install -----------------------------------------------------


def test_two_commands_at_once_on_a_new_install(cli_env, shorts_home, tmp_path) -> None:
    db_path = shorts_home / "data" / "shorts-desktop.db"
    db_path.parent.mkdir(parents=True)
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # as a first command that is migrating right now
        procs = [subprocess.Popen(cli_command("jobs", "--json"), env=cli_env, cwd=tmp_path,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for _ in range(2)]
        time.sleep(4)  # both have read the (empty) schema version and wait for the lock
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    errors = [proc.communicate(timeout=60)[1].decode() for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], errors
