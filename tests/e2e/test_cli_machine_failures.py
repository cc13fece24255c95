"""A full, nearly full or read-only disk, names too long, a folder that cannot be entered, a
damaged database, a log that cannot be written, a file changed while it is uploaded: each
through the real CLI, on real file systems (a tmpfs, a read-only remount, /dev/full), with
one true sentence, the exit code the README gives, no traceback, and nothing stored lost.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.e2e.media import make_mp4

LEGACY_DB = Path(__file__).parents[1] / "fixtures" / "legacy_v1.db"


def one_sentence(result: subprocess.CompletedProcess[str], code: int, *parts: str) -> str:
    """The single `error:` line of a failed run, checked for its code and its parts."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert "Logging error" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for part in parts:
        assert part in lines[0], lines[0]
    assert "not a shorts-desktop database" not in lines[0]
    assert "Unexpected error" not in lines[0]
    return lines[0]


def ok_json(result: subprocess.CompletedProcess[str]) -> object:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def bucket_keys(s3_bucket) -> list[str]:
    bucket, s3 = s3_bucket
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def integrity(db: Path) -> str:
    with closing(sqlite3.connect(db)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


# -- a small disk of its own for the app's home ------------------------------------------------


class SmallDisk:
    """A tmpfs mounted at the app's home: filled up, freed and made read-only for real."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.filler = root / "filler.bin"

    def fill(self, leave: int = 0) -> None:
        """Write a filler file until the disk holds only `leave` bytes more."""
        with self.filler.open("ab") as f:
            chunk = b"\0" * 65536
            while True:
                free = self.free()
                if free <= leave:
                    break
                try:
                    f.write(chunk[: max(1, min(len(chunk), free - leave))])
                    f.flush()
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
        assert self.free() <= leave

    def free(self) -> int:
        stats = os.statvfs(self.root)
        return stats.f_bavail * stats.f_frsize

    def empty(self) -> None:
        self.filler.unlink(missing_ok=True)

    def remount(self, options: str) -> None:
        mount("-o", f"remount,{options}", "tmpfs", str(self.root))


def mount(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def small_disk(shorts_home: Path) -> Iterator[SmallDisk]:
    """The app's whole home (database, logs, scratch) on a 4 MiB tmpfs. Skips where this
    system does not let the tests mount one (not root, or no CAP_SYS_ADMIN)."""
    if shutil.which("mount") is None:
        pytest.skip("no mount command to make a small disk")
    shorts_home.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(shorts_home)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or 'mount failed'}")
    try:
        yield SmallDisk(shorts_home)
    finally:
        subprocess.run(["mount", "-o", "remount,rw", "tmpfs", str(shorts_home)],
                       capture_output=True, check=False)
        subprocess.run(["umount", "-l", str(shorts_home)], capture_output=True, check=False)


def made_library(run_cli, tmp_path: Path) -> dict[str, dict]:
    """A video, a transcript and a job, stored the ordinary way."""
    video = ok_json(run_cli("upload", "video", str(make_mp4(tmp_path / "clip.mp4")), "--json"))
    text = ok_json(run_cli("upload", "transcript-text", "--text", "three tips", "--json"))
    assert isinstance(video, dict) and isinstance(text, dict)
    job = ok_json(run_cli("job", "create", "--title", "Tips", "--voice", "nova", "--video",
                          video["id"], "--transcript", text["id"], "--json"))
    assert isinstance(job, dict)
    return {"video": video, "text": text, "job": job}


def listing(run_cli) -> list[tuple[str, str, str]]:
    rows = ok_json(run_cli("uploads", "--all", "--json"))
    assert isinstance(rows, list)
    return sorted((r["id"], r["status"], r["key"]) for r in rows)


# -- a full disk --------------------------------------------------------------------------------


def test_full_disk_is_named_and_loses_nothing(run_cli, s3_bucket, shorts_home, small_disk,
                                              tmp_path) -> None:
    made = made_library(run_cli, tmp_path)
    before, keys = listing(run_cli), bucket_keys(s3_bucket)
    data = shorts_home / "data"

    small_disk.fill()
    for args in (
        ("upload", "transcript-text", "--text", "one more"),
        ("job", "create", "--title", "Again", "--voice", "nova", "--video",
         made["video"]["id"], "--transcript", made["text"]["id"]),
        ("delete", made["video"]["id"]),
        ("uploads",),
    ):
        one_sentence(run_cli(*args), 1, "The disk is full", f"the disk holding {data}",
                     "free some space")
    assert bucket_keys(s3_bucket) == keys  # nothing was sent, nothing deleted

    small_disk.empty()
    assert listing(run_cli) == before
    job = ok_json(run_cli("job", "show", made["job"]["id"], "--json"))
    assert isinstance(job, dict) and job["status"] == "created"
    assert integrity(data / "shorts-desktop.db") == "ok"


def test_nearly_full_disk_is_named_and_loses_nothing(run_cli, s3_bucket, shorts_home,
                                                     small_disk, tmp_path) -> None:
    made_library(run_cli, tmp_path)
    before, keys = listing(run_cli), bucket_keys(s3_bucket)
    big = make_mp4(tmp_path / "big.mp4", 300_000)

    small_disk.fill(leave=40 * 1024)  # tens of KiB: the database opens, then cannot grow
    message = one_sentence(run_cli("upload", "video", str(big)), 1, "The disk is full",
                           "free some space")
    assert str(shorts_home / "data") in message
    assert bucket_keys(s3_bucket) == keys

    small_disk.empty()
    assert listing(run_cli) == before  # no row of the refused upload, none of the others lost
    assert integrity(shorts_home / "data" / "shorts-desktop.db") == "ok"


def test_read_only_home_is_named_and_loses_nothing(run_cli, s3_bucket, shorts_home, small_disk,
                                                   tmp_path) -> None:
    made = made_library(run_cli, tmp_path)
    before = listing(run_cli)
    data = shorts_home / "data"

    small_disk.remount("ro")
    for args in (
        ("uploads",),
        ("upload", "transcript-text", "--text", "one more"),
        ("job", "create", "--title", "Again", "--voice", "nova", "--video",
         made["video"]["id"], "--transcript", made["text"]["id"]),
    ):
        one_sentence(run_cli(*args), 1, f"The folder {data} is read-only",
                     "its disk is mounted read-only", str(data / "shorts-desktop.db"))

    small_disk.remount("rw")
    assert listing(run_cli) == before
    assert integrity(data / "shorts-desktop.db") == "ok"


def test_a_log_that_cannot_be_written_falls_back_quietly(run_cli, shorts_home,
                                                         tmp_path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full, a device every write to fails with ENOSPC")
    logs = shorts_home / "logs"
    logs.mkdir(parents=True)
    (logs / "shorts-desktop.log").symlink_to("/dev/full")

    one_sentence(run_cli("job", "show", "0000dead-beef"), 2, "No job")
    listed = run_cli("uploads")
    assert listed.returncode == 0 and listed.stderr == "", listed.stderr

    (logs / "shorts-desktop.log").unlink()
    logs.rmdir()
    logs.write_text("a file where the log folder should be")  # the folder cannot be made
    one_sentence(run_cli("job", "show", "0000dead-beef"), 2, "No job")


# -- names, permissions -------------------------------------------------------------------------


@pytest.mark.usefixtures("s3_bucket")
def test_names_too_long_for_the_file_system(run_cli, tmp_path) -> None:
    long_name = "a" * 296 + ".mp4"
    one_sentence(run_cli("upload", "video", str(tmp_path / long_name)), 2,
                 "is too long for the file system", "300 characters", "255 bytes")

    deep = Path(tmp_path, *(["d" * 100] * 60), "clip.mp4")
    assert len(str(deep)) > 6000
    one_sentence(run_cli("upload", "video", str(deep)), 2, "The path",
                 "is too long for the file system", f"{len(str(deep))} characters")

    text = ok_json(run_cli("upload", "transcript-text", "--text", "hi", "--json"))
    assert isinstance(text, dict)
    one_sentence(run_cli("download", text["id"], "-o", str(tmp_path / ("b" * 300 + ".txt"))),
                 2, "is too long for the file system", "304 characters")
    assert listing(run_cli) == [(text["id"], "completed", text["key"])]


PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def without_root_file_powers() -> None:
    """In the child before exec: drop the two capabilities that let root ignore file
    permissions, so the CLI meets a locked folder the way a normal user does."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.usefixtures("s3_bucket")
def test_a_file_in_a_folder_that_cannot_be_entered(cli_env, tmp_path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    clip = make_mp4(locked / "clip.mp4")
    locked.chmod(0o600)  # readable names, but no x: the folder cannot be entered
    run = [sys.executable, "-m", "shorts_desktop", "upload", "video", str(clip)]
    kwargs = {"env": cli_env, "cwd": tmp_path, "capture_output": True, "text": True,
              "timeout": 120, "check": False}
    try:
        if os.geteuid() == 0:
            try:
                result = subprocess.run(run, preexec_fn=without_root_file_powers, **kwargs)
            except subprocess.SubprocessError as exc:
                pytest.skip(f"cannot drop root's file capabilities here: {exc}")
        else:
            result = subprocess.run(run, **kwargs)
    finally:
        locked.chmod(0o755)
    one_sentence(result, 2, f"No permission to open {clip}",
                 f"the folder {locked} cannot be entered")


# -- a damaged database -------------------------------------------------------------------------


def add_uploads(db: Path, count: int) -> None:
    """Rows written through the app's own models, so that the table spans many pages."""
    import uuid

    from shorts_desktop.core.db.connection import close_database, open_database
    from shorts_desktop.core.db.models import Upload

    handle, _ = open_database(db)
    try:
        with handle.atomic():
            for n in range(count):
                Upload.create(id=str(uuid.uuid4()), kind="transcript", status="completed",
                              original_name=f"notes-{n:04d}-{'x' * 120}.txt",
                              key=f"temp/{n}/notes.txt", backend="local")
    finally:
        close_database(handle)


def damage_a_page(db: Path) -> int:
    """Garbage over a leaf page in the middle of the upload table; returns its number."""
    with closing(sqlite3.connect(db)) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        try:
            pages = [p for (p,) in conn.execute(
                "SELECT pageno FROM dbstat WHERE name = 'upload' AND pagetype = 'leaf' "
                "ORDER BY pageno")]
        except sqlite3.OperationalError:  # SQLite built without dbstat: the file's middle
            pages = [conn.execute("PRAGMA page_count").fetchone()[0] // 2]
    page = pages[len(pages) // 2]
    with db.open("r+b") as f:
        f.seek((page - 1) * size + 8)
        f.write(os.urandom(size - 16))
    return page


def test_damaged_database_names_the_page_and_the_backup(run_cli, shorts_home) -> None:
    db = shorts_home / "data" / "shorts-desktop.db"
    db.parent.mkdir(parents=True)
    shutil.copyfile(LEGACY_DB, db)
    assert run_cli("uploads").returncode == 0  # migrates, and backs up the old file first
    (backup,) = db.parent.glob("shorts-desktop.db.v1-*.bak")
    add_uploads(db, 300)
    page = damage_a_page(db)
    damaged = db.read_bytes()

    message = one_sentence(run_cli("uploads", "--all"), 1, f"The database {db} is damaged",
                           f"at page {page}", f"its newest backup is {backup}",
                           "-wal and -shm files aside", f"copy the backup to {db}")
    stamp = re.search(r"\.v1-(\d{8}-\d{6})", backup.name)  # when it was made, in its name
    assert stamp is not None
    made = time.strptime(stamp.group(1), "%Y%m%d-%H%M%S")
    assert f"made on {time.strftime('%Y-%m-%d %H:%M', made)}" in message
    assert db.read_bytes() == damaged  # the damaged file is kept as it was, never "fixed"
    assert backup.exists()

    # Restored the way the sentence says, the app works again from the backup.
    aside = db.with_name("damaged.db")
    db.rename(aside)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, db)
    rows = ok_json(run_cli("uploads", "--all", "--json"))
    assert isinstance(rows, list) and len(rows) == 3  # the legacy file's uploads


def test_damaged_database_without_backup_says_so(run_cli, shorts_home, tmp_path) -> None:
    assert run_cli("upload", "transcript-text", "--text", "hello").returncode == 0
    db = shorts_home / "data" / "shorts-desktop.db"
    add_uploads(db, 300)
    page = damage_a_page(db)
    one_sentence(run_cli("uploads", "--all"), 1, f"The database {db} is damaged at page {page}",
                 "there is no backup of it", "shorts-desktop sync")
    assert list(db.parent.glob("*.bak")) == []


def test_a_file_that_is_not_sqlite_is_refused_as_such(run_cli, shorts_home) -> None:
    db = shorts_home / "data" / "shorts-desktop.db"
    db.parent.mkdir(parents=True)
    db.write_text("my shopping list, saved over the database by mistake\n" * 40)
    result = run_cli("uploads")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is not an SQLite file, so it is not a shorts-desktop database" in result.stderr


# -- a file changed while it is uploaded --------------------------------------------------------

MIB = 1024 * 1024


def wait_until_uploading(db: Path, process: subprocess.Popen[str], timeout: float = 60) -> None:
    """Until the CLI has recorded the upload and begun sending it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if db.exists():
            try:
                with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True,
                                             timeout=1)) as conn:
                    row = conn.execute("SELECT status FROM upload").fetchone()
            except sqlite3.OperationalError:
                row = None
            if row is not None and row[0] == "uploading":
                time.sleep(0.5)  # hashing is done; the first bytes are on their way
                return
        time.sleep(0.05)
    raise AssertionError("the upload never started")


def shrink(path: Path) -> None:
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 2)


def grow(path: Path) -> None:
    with path.open("ab") as f:
        f.write(os.urandom(MIB))


def rewrite(path: Path) -> None:
    size = path.stat().st_size
    path.write_bytes(path.read_bytes()[:24] + os.urandom(size - 24))


def remove(path: Path) -> None:
    path.unlink()


@pytest.mark.parametrize(
    ("change", "sentence"),
    [(shrink, "shrank from"), (grow, "grew from"), (rewrite, "was rewritten"),
     (remove, "was removed or moved")],
    ids=["shrinks", "grows", "rewritten", "disappears"],
)
def test_a_file_changed_during_its_upload_is_the_users_input(
    cli_env, s3_bucket, shorts_home, tmp_path, change: Callable[[Path], None], sentence: str,
) -> None:
    clip = make_mp4(tmp_path / "clip.mp4", 12 * MIB)
    env = {**cli_env, "S3_MULTIPART_THRESHOLD": str(5 * MIB),  # in parts, read as it goes,
           "SHORTS_DESKTOP_BANDWIDTH_LIMIT": str(2 * MIB)}   # for about 6 s
    process = subprocess.Popen(
        [sys.executable, "-m", "shorts_desktop", "upload", "video", str(clip), "--json"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_until_uploading(shorts_home / "data" / "shorts-desktop.db", process)
        change(clip)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    result = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    one_sentence(result, 2, str(clip), sentence, "while it was being uploaded")

    rows = ok_json(subprocess.run([sys.executable, "-m", "shorts_desktop", "uploads", "--all",
                                   "--json"], env=cli_env, cwd=tmp_path, capture_output=True,
                                  text=True, check=False))
    assert isinstance(rows, list)
    assert [(r["status"], sentence in (r["error"] or "")) for r in rows] == [("failed", True)]
    bucket, s3 = s3_bucket
    assert bucket_keys(s3_bucket) == []
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
