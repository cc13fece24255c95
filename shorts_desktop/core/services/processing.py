"""Turning a job into a Short: fetch its inputs, render, store the results, then record it.

`processed` and the result keys are written only after every result is verified in
storage. A run that fails or is cancelled removes what it stored; a run that died (kill
-9) is recognised by its lock file no longer being held, and the next run first deletes
whatever the dead one left under `processed/{job_id}/`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import shutil
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from shorts_desktop import __version__
from shorts_desktop.core.config import Settings
from shorts_desktop.core.db.connection import bound_database_path
from shorts_desktop.core.db.models import Job, Upload
from shorts_desktop.core.errors import ShortsError, StorageError, TargetExistsError, UserError
from shorts_desktop.core.failures import explain, os_error
from shorts_desktop.core.render.types import STAGES, CancelToken, RenderCancelled
from shorts_desktop.core.services import files
from shorts_desktop.core.services.jobs import JobService, find_job
from shorts_desktop.core.services.uploads import UploadService, find_upload
from shorts_desktop.core.storage.base import Storage
from shorts_desktop.core.storage.keys import processed_key, safe_name

log = logging.getLogger(__name__)
#: What a job was doing when the operating system refused: its files live in the work folder.
_IN_WORK_FOLDER = "write the job's work folder"

#: The results of a job, in the order they are stored; manifest.json comes last.
RESULT_CONTENT_TYPES = {
    "short.mp4": "video/mp4",
    "captions.srt": "application/x-subrip; charset=utf-8",
    "captions.ass": "text/x-ssa; charset=utf-8",
    "narration.wav": "audio/wav",
    "thumbnail.jpg": "image/jpeg",
    "manifest.json": "application/json",
}
#: How much of a job's time each stage takes, for one progress bar over the whole job.
STAGE_WEIGHTS = {"fetching": 0.1, "narrating": 0.1, "captioning": 0.02, "rendering": 0.7,
                 "storing": 0.08}


@dataclass(frozen=True)
class JobProgress:
    """Where a running job is: its stage, that stage's fraction, the whole job's, an ETA."""

    job_id: str
    stage: str
    stage_fraction: float
    fraction: float
    eta_seconds: float | None = None


ProgressSink = Callable[[JobProgress], None]


class JobLock:
    """An exclusive lock file per job: held while a process makes it, freed when it dies.

    A `processing` row whose lock can be taken belongs to a run that died; the row's pid
    alone could not tell (pids are reused).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+b")  # noqa: SIM115 - kept open while the lock is held
        try:
            if sys.platform == "win32":
                import msvcrt

                f.seek(0)
                msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            return False
        self._file = f
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing frees the lock
            self._file = None
            with contextlib.suppress(OSError):
                self.path.unlink()


def runner_name() -> str:
    return f"{os.getpid()}@{socket.gethostname()}"[:128]


def result_metadata(job_id: str, name: str, sha256: str) -> dict[str, str]:
    """What a result object carries, so `sync` can tell whose it is."""
    return {"job-id": job_id, "kind": "result", "original-name": quote(name, safe=""),
            "sha256": sha256}


class _Clock:
    """Turns stage fractions into one job fraction and an ETA."""

    def __init__(self, job_id: str, sink: ProgressSink | None) -> None:
        self.job_id = job_id
        self.sink = sink
        self.started = time.monotonic()
        self.stage = "fetching"
        self.stage_started = self.started
        self.timings: dict[str, float] = {}

    def enter(self, stage: str) -> None:
        now = time.monotonic()
        self.timings[self.stage] = round(now - self.stage_started, 3)
        self.stage, self.stage_started = stage, now
        self.report(stage, 0.0)

    def close(self) -> None:
        self.timings[self.stage] = round(time.monotonic() - self.stage_started, 3)

    def report(self, stage: str, fraction: float) -> None:
        if self.sink is None:
            return
        fraction = min(max(fraction, 0.0), 1.0)
        done = sum(STAGE_WEIGHTS[s] for s in STAGES[: STAGES.index(stage)])
        whole = min(done + STAGE_WEIGHTS[stage] * fraction, 1.0)
        eta: float | None = None
        elapsed = time.monotonic() - self.stage_started
        if stage == "rendering" and fraction > 0.02:  # ffmpeg's pace is steady: trust it
            eta = elapsed / fraction * (1 - fraction) + 2.0
        self.sink(JobProgress(self.job_id, stage, fraction, whole, eta))


class ProcessingService:
    """Makes one job's Short in the foreground (the CLI, and the job runner's thread)."""

    def __init__(self, settings: Settings, storage: Storage, jobs: JobService,
                 uploads: UploadService, work_root: Path, cache_root: Path,
                 make_short: Callable[..., Any], narrator: Callable[[str], Any],
                 fonts_dir: Path | None, nice: int = 0) -> None:
        self.settings = settings
        self.storage = storage
        self.jobs = jobs
        self.uploads = uploads
        self.work_root = work_root
        self.cache_root = cache_root
        self._make_short = make_short
        self._narrator = narrator  # provider name -> NarrationProvider (keys resolved late)
        self.fonts_dir = fonts_dir
        self.nice = nice

    # -- where things are -------------------------------------------------------------------

    def work_dir(self, job_id: str) -> Path:
        return self.work_root / job_id

    def preview_path(self, job_id: str) -> Path:
        return self.cache_root / "previews" / job_id / "short.mp4"

    def _lock(self, job_id: str) -> JobLock:
        return JobLock(self.work_root / f"{job_id}.lock")

    def is_running_elsewhere(self, job: Job) -> bool:
        """True while another run (this process or another) holds the job's lock."""
        if job.status != "processing":
            return False
        lock = self._lock(job.id)
        if lock.acquire():
            lock.release()
            return False
        return True

    # -- the run -----------------------------------------------------------------------------

    def process(self, job_id: str, progress: ProgressSink | None = None,
                cancel: CancelToken | None = None) -> Job:
        """Fetch, render and store now; returns the processed job or raises with the reason
        (the job is then marked failed with it, or cancelled)."""
        job = find_job(job_id)
        if job.status in ("processed", "publishing", "published"):
            raise UserError(f"Job {job.id} is already {job.status}.")
        cancel = cancel or CancelToken()
        lock = self._lock(job.id)
        if not lock.acquire():
            raise UserError(
                f"Job {job.id} is being processed right now (by {job.runner or 'another run'})."
            )
        stored: list[str] = []
        try:
            job = self.jobs.begin_processing(job.id, runner_name())
            clock = _Clock(job.id, progress)
            try:
                result_keys, info, thumb = self._run(job, clock, cancel, stored)
            except BaseException as exc:
                self._undo(job.id, stored)
                cancelled = isinstance(exc, RenderCancelled | KeyboardInterrupt)
                reason = self._reason(exc)
                with contextlib.suppress(Exception):
                    self.jobs.fail_processing(job.id, reason, cancelled=cancelled)
                if isinstance(exc, OSError):
                    raise os_error(exc, _IN_WORK_FOLDER) from None
                raise
            return self.jobs.finish_processing(job.id, result_keys, info, thumb)
        finally:
            lock.release()
            shutil.rmtree(self.work_dir(job_id), ignore_errors=True)

    @staticmethod
    def _reason(exc: BaseException) -> str:
        if isinstance(exc, ShortsError):
            return str(exc)
        if isinstance(exc, KeyboardInterrupt):
            return "The job was cancelled."
        if isinstance(exc, OSError):
            return str(os_error(exc, _IN_WORK_FOLDER))
        known = explain(exc, database=bound_database_path())
        if known is not None:
            return str(known)
        return f"Unexpected error ({type(exc).__name__}), see the log."

    def _run(self, job: Job, clock: _Clock, cancel: CancelToken,
             stored: list[str]) -> tuple[list[str], dict[str, object], bytes | None]:
        work = self.work_dir(job.id)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        video = find_upload(job.video_upload_id, "video")  # type: ignore[attr-defined]
        transcript = find_upload(job.transcript_upload_id, "transcript")  # type: ignore[attr-defined]
        clock.report("fetching", 0.0)
        self._remove_leftovers(job.id)
        video_path = self._fetch(video, work, "source", clock, cancel, share=0.9)
        transcript_path = self._fetch(transcript, work, "transcript", clock, cancel, share=0.1,
                                      offset=0.9)
        cancel.check()
        text = transcript_path.read_bytes()
        provider = self._narrator(self.settings.tts)

        def on_stage(stage: str, fraction: float) -> None:
            if stage != clock.stage:
                clock.enter(stage)
                self.jobs.set_stage(job.id, stage)
            clock.report(stage, fraction)

        short = self._make_short(
            work_dir=work,
            video=video_path.name,
            video_name=video.original_name,
            transcript=text,
            transcript_name=transcript.original_name,
            voice=job.voice,
            provider=provider,
            settings=self.settings,
            fonts_dir=self.fonts_dir,
            on_stage=on_stage,
            cancel=cancel,
            nice=self.nice,
        )
        on_stage("storing", 0.0)
        outputs: dict[str, Path] = short.outputs
        manifest: dict[str, Any] = {
            "job_id": job.id,
            "title": job.title,
            "app_version": __version__,
            "inputs": [
                {"role": role, "upload_id": u.id, "name": u.original_name, "sha256": u.checksum,
                 "size": u.size}
                for role, u in (("video", video), ("transcript", transcript))
            ],
            **short.manifest,
            "outputs": [],
        }
        sums = {name: files.digests(path) for name, path in outputs.items()}
        total = sum(d.size for d in sums.values()) or 1
        sent = [0]

        def on_bytes(delta: int) -> None:
            sent[0] += delta
            clock.report("storing", sent[0] / total)

        for name, path in outputs.items():
            cancel.check()
            key = self._store(job.id, name, path, sums[name], on_bytes)
            stored.append(key)
            entry: dict[str, Any] = {"name": name, "key": key, "sha256": sums[name].sha256,
                                     "size": sums[name].size}
            if name in short.durations:
                entry["duration"] = short.durations[name]
            manifest["outputs"].append(entry)
        clock.close()
        manifest["stage_seconds"] = {**clock.timings}
        manifest_path = work / "manifest.json"
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                 encoding="utf-8")
        stored.append(self._store(job.id, "manifest.json", manifest_path,
                                  files.digests(manifest_path), None))
        self._keep_preview(job.id, outputs["short.mp4"])
        clock.report("storing", 1.0)
        info: dict[str, object] = {
            "duration": short.durations.get("short.mp4"),
            "provider": short.manifest.get("narration", {}).get("provider"),
            "synthetic": short.manifest.get("narration", {}).get("synthetic"),
            "size": sums["short.mp4"].size,
            "sha256": sums["short.mp4"].sha256,
        }
        return list(stored), info, short.thumbnail_small

    def _fetch(self, upload: Upload, work: Path, stem: str, clock: _Clock, cancel: CancelToken,
               share: float, offset: float = 0.0) -> Path:
        if upload.status != "completed":
            raise UserError(
                f"The {upload.kind} {upload.original_name!r} is {upload.status}; upload it "
                "again and make a new job."
            )
        suffix = Path(safe_name(upload.original_name)).suffix.lower()
        dest = work / f"{stem}{suffix}"
        done = [0]

        def on_bytes(delta: int) -> None:
            done[0] += delta
            clock.report("fetching", offset + share * done[0] / max(upload.size, 1))

        path = self.uploads.download(upload.id, dest, overwrite=True, progress=on_bytes)
        cancel.check()
        return path

    def _store(self, job_id: str, name: str, path: Path, sums: files.Digests,
               progress: Callable[[int], None] | None) -> str:
        key = processed_key(self.settings.processed_prefix, job_id, name)
        assert sums.sha256 is not None  # results are hashed first: their manifest lists it
        self.storage.put_file(path, key, content_type=RESULT_CONTENT_TYPES[name],
                              metadata=result_metadata(job_id, name, sums.sha256),
                              md5_hex=sums.md5, progress=progress, sha256=sums.sha256)
        found = self.storage.head(key)
        if found is None or found.size != sums.size or (
            found.metadata.get("sha256") not in (None, sums.sha256)
        ):
            raise StorageError(f"The stored {name} could not be verified; the job was not "
                               "marked processed.")
        return key

    def _delete_results(self, job_id: str) -> tuple[int, list[str]]:
        """Delete everything under `processed/{job_id}/`: (how many there were, which failed)."""
        prefix = f"{self.settings.processed_prefix}{job_id}/"
        keys = [o.key for o in self.storage.list_objects(prefix)]
        return len(keys), self.storage.delete_many(keys) if keys else []

    def _remove_leftovers(self, job_id: str) -> None:
        """Results of an earlier, unfinished run never linger beside this run's."""
        if self._delete_results(job_id)[1]:
            raise StorageError(f"Results of an earlier run of job {job_id} could not be "
                               "removed; try again.")

    def _undo(self, job_id: str, stored: list[str]) -> None:
        try:
            self._remove_leftovers(job_id)
        except ShortsError as exc:  # the next run removes them first
            log.warning("could not remove partial results of %s: %s", job_id, exc)
        stored.clear()
        shutil.rmtree(self.preview_path(job_id).parent, ignore_errors=True)

    def _keep_preview(self, job_id: str, short: Path) -> None:
        target = self.preview_path(job_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.replace(short, target)

    # -- after ---------------------------------------------------------------------------------

    def save_short(self, job_id: str, dest: Path | None = None, *, overwrite: bool = False,
                   progress: Callable[[int], None] | None = None) -> Path:
        """short.mp4 of a processed job at `dest` (a file or a folder), verified."""
        job = find_job(job_id)
        info = job.render_info or {}
        key = self.short_key(job)
        target = Path(dest) if dest is not None else Path.cwd()
        if target.is_dir():
            target = target / f"{safe_name(job.title)}.mp4"
        if target.exists() and not overwrite:
            raise TargetExistsError(f"{target} already exists.")
        if not target.parent.is_dir():
            raise UserError(f"The folder {target.parent} does not exist.")
        cached = self.preview_path(job.id)
        sha = str(info.get("sha256") or "") or None
        if cached.is_file() and sha and files.digests(cached, md5=False).sha256 == sha:
            shutil.copyfile(cached, target)
            return target
        # Checked against the SHA-256 by the storage in its own read: nothing is left at
        # `target` when it does not match.
        self.storage.download_file(key, target, progress, sha256=sha)
        return target

    def preview(self, job_id: str, progress: Callable[[int], None] | None = None) -> Path:
        """A verified local copy of the Short to watch (fetched once, then cached)."""
        job = find_job(job_id)
        target = self.preview_path(job.id)
        sha = str((job.render_info or {}).get("sha256") or "") or None
        if target.is_file() and (sha is None or files.digests(target, md5=False).sha256 == sha):
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        return self.save_short(job.id, target, overwrite=True, progress=progress)

    def short_key(self, job: Job) -> str:
        if job.status not in ("processed", "publishing", "published"):
            raise UserError(f"Job {job.id} is {job.status}; it has no Short yet (process it "
                            "first).")
        key = processed_key(self.settings.processed_prefix, job.id, "short.mp4")
        if key not in (job.result_keys or []):
            raise UserError(f"Job {job.id} has no stored Short (its results were removed).")
        return key

    def short_link(self, job_id: str, expires: int | None = None) -> tuple[str, int]:
        job = find_job(job_id)
        seconds = self.settings.presigned_url_expiry if expires is None else expires
        url = self.storage.presigned_url(self.short_key(job), seconds,
                                         download_name=f"{safe_name(job.title)}.mp4")
        return url, seconds

    def remove_results(self, job_id: str) -> int:
        """Delete a job's processed/ objects (after publishing, when they are not kept)."""
        found, failed = self._delete_results(job_id)
        shutil.rmtree(self.preview_path(job_id).parent, ignore_errors=True)
        return found - len(failed)


# -- the background runner (the window) --------------------------------------------------------


@dataclass
class RunnerEvent:
    """What the job runner tells its subscribers, from its worker thread."""

    job_id: str
    kind: str  # "queued" | "progress" | "processed" | "failed" | "cancelled"
    progress: JobProgress | None = None
    message: str = ""


@dataclass
class _Pending:
    cancel: CancelToken = field(default_factory=CancelToken)


class JobRunner:
    """Makes queued jobs one at a time on a worker thread (rendering takes both cores)."""

    def __init__(self, processing: ProcessingService, jobs: JobService) -> None:
        self.processing = processing
        self.jobs = jobs
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[RunnerEvent], None]] = []
        self._thread: threading.Thread | None = None
        self._current: str | None = None
        self._stopping = False

    def subscribe(self, callback: Callable[[RunnerEvent], None]) -> None:
        self._subscribers.append(callback)

    def unsubscribe(self, callback: Callable[[RunnerEvent], None]) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(callback)

    def active(self) -> list[str]:
        """The jobs this runner holds: the one being made first, then those waiting."""
        with self._lock:
            ids = list(self._pending)
        current = self._current
        return sorted(ids, key=lambda job_id: job_id != current)

    def _emit(self, event: RunnerEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                log.exception("job runner subscriber failed")

    def submit(self, job_id: str) -> bool:
        """Queue a job (marked `queued` in the database); False when it is queued already."""
        with self._lock:
            if self._stopping:
                raise UserError("The app is closing; the job will be made at the next start.")
            if job_id in self._pending:
                return False
            job = find_job(job_id)
            if job.status != "queued":
                self.jobs.queue(job.id)
            self._pending[job.id] = _Pending()
            self._ensure_thread()
        self._queue.put(job.id)
        self._emit(RunnerEvent(job.id, "queued"))
        return True

    def restore(self) -> list[str]:
        """Queued jobs, and jobs whose run died, are taken up again."""
        taken: list[str] = []
        for job in Job.select().where(Job.status.in_(("queued", "processing"))).order_by(
            Job.created_at
        ):
            if job.status == "processing" and self.processing.is_running_elsewhere(job):
                continue
            if self.submit(job.id):
                taken.append(job.id)
        return taken

    def cancel(self, job_id: str) -> None:
        """Stop a queued or running job; it becomes cancelled."""
        with self._lock:
            pending = self._pending.get(job_id)
        if pending is not None:
            pending.cancel.cancel()
            if self._current != job_id:  # not started: nothing to stop, mark it now
                with self._lock:
                    self._pending.pop(job_id, None)
                self.jobs.fail_processing(job_id, "", cancelled=True)
                self._emit(RunnerEvent(job_id, "cancelled", message="The job was cancelled."))
            return
        self.jobs.cancel(job_id)
        self._emit(RunnerEvent(job_id, "cancelled", message="The job was cancelled."))

    def is_busy(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._pending

    def shutdown(self, timeout: float = 10) -> None:
        """Stop: the job being made is interrupted and, like those still waiting, stays
        `queued`, so the next runner (the next start, new settings) makes it again."""
        with self._lock:
            self._stopping = True
            for pending in self._pending.values():
                pending.cancel.cancel()
            thread = self._thread
        self._queue.put(None)
        if thread is not None:
            thread.join(timeout)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="job-runner", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            with self._lock:
                pending = self._pending.get(job_id)
                if self._stopping:  # left queued for the next runner
                    self._pending.pop(job_id, None)
                    continue
            if pending is None:  # cancelled while it waited
                continue
            self._current = job_id
            try:
                self._run_one(job_id, pending)
            finally:
                self._current = None
                with self._lock:
                    self._pending.pop(job_id, None)

    def _run_one(self, job_id: str, pending: _Pending) -> None:
        def on_progress(p: JobProgress) -> None:
            self._emit(RunnerEvent(job_id, "progress", progress=p))

        try:
            self.processing.process(job_id, on_progress, pending.cancel)
        except RenderCancelled as exc:
            if self._stopping:  # not the creator's cancel: the app is closing
                with contextlib.suppress(ShortsError):
                    self.jobs.queue(job_id)
                self._emit(RunnerEvent(job_id, "queued", message="Stopped; made again later."))
                return
            self._emit(RunnerEvent(job_id, "cancelled", message=str(exc)))
        except ShortsError as exc:
            self._emit(RunnerEvent(job_id, "failed", message=str(exc)))
        except Exception as exc:
            known = explain(exc, database=bound_database_path())
            if known is None:
                log.exception("unexpected error while processing job %s", job_id)
            message = str(known) if known is not None else "Unexpected error, see the log."
            self._emit(RunnerEvent(job_id, "failed", message=message))
        else:
            self._emit(RunnerEvent(job_id, "processed"))

