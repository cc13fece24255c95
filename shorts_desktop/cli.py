"""The `shorts-desktop` command: headless use of the same services as the window.

Exit codes: 0 success, 2 bad input or usage, 1 storage or network failure, 130 when
interrupted. Errors are one sentence on stderr; tracebacks go to the log only.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from shorts_desktop import __version__
from shorts_desktop.core.errors import ShortsError, TargetExistsError, UserError
from shorts_desktop.core.render.narration import VOICE_NAMES as VOICES
from shorts_desktop.core.units import human_age, human_duration, human_size, plural

if TYPE_CHECKING:
    from shorts_desktop.core.config import AppPaths

log = logging.getLogger("shorts_desktop.cli")



class UsageError(UserError):
    """A command line the parser accepted but that makes no sense."""


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one sentence and exit code 2."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        sys.stderr.write(f"error: {message[0].upper() + message[1:]}.\n")
        raise SystemExit(2)


class ProgressBar:
    """A one-line progress bar on a terminal, redrawn at most 10 times a second."""

    def __init__(self, total: int, label: str, stream: TextIO) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream
        self.done = 0
        self.started = time.monotonic()
        self.last_draw = 0.0
        self.enabled = stream.isatty()

    def __call__(self, delta: int) -> None:
        self.done += delta
        now = time.monotonic()
        if self.enabled and (now - self.last_draw >= 0.1 or self.done >= self.total):
            self.last_draw = now
            self.draw(now)

    def draw(self, now: float) -> None:
        frac = min(self.done / self.total, 1.0)
        rate = self.done / max(now - self.started, 1e-6)
        eta = (self.total - self.done) / rate if rate > 0 else 0
        bar = "#" * int(frac * 30)
        name = self.label if len(self.label) <= 30 else self.label[:27] + "..."
        self.stream.write(
            f"\r{name:<30} [{bar:<30}] {frac * 100:5.1f}% {human_size(rate)}/s "
            f"ETA {human_duration(eta):<12}"
        )
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


# -- output -------------------------------------------------------------------------------------


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


def emit_rows(args: argparse.Namespace, rows: list[dict[str, Any]],
              describe: Callable[[dict[str, Any]], str], empty: str) -> int:
    """A listing as JSON, or one description per row, or a sentence when there is none."""
    if args.json:
        emit_json(rows)
    elif not rows:
        print(empty)
    else:
        for row in rows:
            print(describe(row))
    return 0


def report_uploaded(args: argparse.Namespace, data: dict[str, Any]) -> int:
    """What `upload`, `resume` and `retry` print once a file is stored."""
    if getattr(args, "json", False):
        emit_json(data)
    else:
        print(f"Uploaded {data['original_name']} ({human_size(data['size'])}) as {data['id']}.")
        print(describe_upload(data))
    return 0


def describe_upload(u: dict[str, Any]) -> str:
    where = "temporary" if u["is_temp"] else "permanent"
    location = f"s3://{u['bucket']}/{u['key']}" if u["bucket"] else (u["key"] or u["file_path"])
    return (
        f"{u['id']}  {u['kind']:<10} {u['status']:<9} {where:<9} "
        f"{human_size(u['size']):>9}  {u['original_name']}\n    {location}"
    )


def describe_job(j: dict[str, Any]) -> str:
    tags = ", ".join(j["tags"]) or "-"
    text = (
        f"{j['id']}  {j['status']:<10} {j['title']}\n"
        f"    voice {j['voice']}, {j['privacy']}, tags: {tags}\n"
        f"    video {j['video_upload_id']}  transcript {j['transcript_upload_id']}"
    )
    if j.get("stage"):
        text += f"\n    stage: {j['stage']}"
    if j.get("error"):
        text += f"\n    reason: {j['error']}"
    if j.get("result_keys"):
        info = j.get("render_info") or {}
        length = f" ({info['duration']:.1f} s)" if info.get("duration") else ""
        names = ", ".join(k.rsplit("/", 1)[-1] for k in j["result_keys"])
        text += f"\n    results{length}: {names}"
    if j.get("published_video_url"):
        text += f"\n    on YouTube: {j['published_video_url']}"
    return text


class JobProgressLine:
    """One line on a terminal: the job's stage, a bar over the whole job, and an ETA."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.last_draw = 0.0
        self.last_stage = ""

    def __call__(self, progress: Any) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last_draw < 0.1 and progress.stage == self.last_stage
                                and progress.fraction < 1.0):
            return
        self.last_draw, self.last_stage = now, progress.stage
        bar = "#" * int(progress.fraction * 30)
        eta = f"ETA {human_duration(progress.eta_seconds)}" if progress.eta_seconds else ""
        self.stream.write(f"\r{progress.stage:<11} [{bar:<30}] {progress.fraction * 100:5.1f}% "
                          f"{eta:<14}")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


# -- commands -----------------------------------------------------------------------------------


#: The services the command built, closed by `main` when it ends: the database is then
#: checkpointed and closed by us, not left to a garbage collector that never sees what
#: was frozen once the S3 client was built (`S3Storage._build_client`), and its -wal and
#: -shm files go with it.
_built: list[Any] = []


def _services(args: argparse.Namespace) -> Any:
    from shorts_desktop.app import build_services

    services = build_services()
    _built.append(services)
    return services


def _close_built() -> None:
    while _built:
        try:
            _built.pop().close()
        except Exception:  # the command's own outcome is what it says; this goes to the log
            log.warning("could not close the services", exc_info=True)


def cmd_upload(args: argparse.Namespace) -> int:
    if args.what == "video":  # the video's probe needs it first: found while the services
        from shorts_desktop.core.render.ffmpeg import find_ffmpeg_ahead  # are built

        find_ffmpeg_ahead()
    ahead = None
    if args.what != "transcript-text":  # hashed while the app's modules load and check them
        from shorts_desktop.core.services.hash_ahead import HashAhead

        ahead = HashAhead([Path(p) for p in args.paths])
    svc = _services(args)
    if ahead is not None:
        svc.uploads.hash_ahead(ahead)
    is_temp = not args.permanent
    if args.what == "transcript-text":
        if args.text is not None and args.stdin:
            raise UsageError("Give the transcript either with --text or as - (stdin), not both.")
        if args.text is None and not args.stdin:
            raise UsageError("Give the transcript with --text TEXT, or - to read it from stdin.")
        text = sys.stdin.read() if args.stdin else args.text
        upload = svc.uploads.upload_transcript_text(text, is_temp=is_temp, name=args.name)
    else:
        return _upload_files(args, svc, is_temp)
    return report_uploaded(args, upload.to_dict())


def _upload_files(args: argparse.Namespace, svc: Any, is_temp: bool) -> int:
    """Every file and folder named is checked before the first byte is sent (a bad file
    named uploads nothing); then they go through the window's upload queue, as many at
    once as the settings allow, under one progress bar. One that fails stops those not
    started yet; the ones already stored stay stored."""
    from shorts_desktop.core.services.intake import take

    _warm_up_sending(svc)
    kind = "video" if args.what == "video" else "transcript"
    paths = [Path(p) for p in args.paths]
    intake = take(paths, kind)
    named = intake.named_refused
    for refusal in intake.refused:
        if refusal is not (named[0] if named else None):
            print(f"note: {refusal.reason}", file=sys.stderr)
    if named:
        if len(paths) == 1 and not intake.files:
            raise UserError(named[0].reason)
        more = f" ({len(named) - 1} more cannot be uploaded either)" if len(named) > 1 else ""
        raise UserError(f"{named[0].reason.rstrip('.')}{more}; nothing was uploaded.")
    if not intake.files:
        raise UserError(f"None of the {kind}s in the folders named can be uploaded (the notes "
                        "above say why); nothing was uploaded.")
    if len(paths) == 1 and intake.files[0].path == paths[0]:  # one file: its own sentences
        checked = intake.files[0]
        bar = ProgressBar(checked.size, checked.path.name, sys.stderr)
        try:
            upload = svc.uploads.upload_file(checked.path, kind, is_temp=is_temp, progress=bar,
                                             content_type=checked.content_type)
        finally:
            bar.finish()
        return report_uploaded(args, upload.to_dict())
    ended = _send_through_queue(svc, intake.files, kind, is_temp,
                                ProgressBar(intake.total_size, f"{len(intake.files)} files",
                                            sys.stderr))
    done = [item.upload for item in ended if item.state == "completed" and item.upload]
    count = len(ended)
    failed = next((item for item in ended if item.state == "failed"), None)
    paused = [item for item in ended if item.state == "paused"]
    if failed is not None or paused:
        if args.json:
            emit_json(done)
        for item in paused:  # `shorts-desktop pause ID` from another terminal
            print(f"note: {item.name} was paused; `shorts-desktop resume {item.upload_id}` "
                  "continues it.", file=sys.stderr)
        left = sum(1 for item in ended if item.state == "cancelled" and not item.upload_id)
        rest = f"; {plural(left, 'file')} not tried" if left else ""
        what = (f" before {failed.name} failed" if failed is not None
                else f"; {plural(len(paused), 'file')} paused")
        print(f"Uploaded {len(done)} of {plural(count, 'file')} "
              f"({human_size(sum(int(u['size']) for u in done))}){what}{rest}.", file=sys.stderr)
        if failed is not None:
            error = UserError if failed.exit_code == UserError.exit_code else ShortsError
            raise error(failed.error or f"{failed.name} could not be uploaded.")
        return 1
    if args.json:
        emit_json(done)
        return 0
    for row in done:
        print(describe_upload(row))
    where = "temporary" if is_temp else "permanent"
    print(f"Uploaded {plural(count, 'file')} ({human_size(intake.total_size)}) to {where} "
          "storage.")
    return 0


def _warm_up_sending(svc: Any) -> None:
    """Build the storage's sending side (S3: botocore's client and the engine, ~0.15 s) on
    a thread while this one checks the files and probes a video (ffprobe: a wait in which
    the GIL is free). A problem is left for the upload to say."""
    import threading

    def warm() -> None:
        try:
            svc.storage.warm_up(for_puts=True)
        except Exception:
            log.debug("the storage could not be set up ahead", exc_info=True)

    threading.Thread(target=warm, daemon=True, name="shorts-desktop-warm-up").start()


def _send_through_queue(svc: Any, files: Sequence[Any], kind: str, is_temp: bool,
                        bar: ProgressBar) -> list[Any]:
    """Queue `files` (checked by the intake) and wait until each has ended; returns their
    last snapshots in the order given. The first failure cancels the files not started.
    Ctrl-C stops the command: what was being sent keeps its parts for `resume`."""
    import threading

    queue = svc.upload_queue
    lock = threading.Condition()
    mine: dict[int, Any] = {}
    sent: dict[int, int] = {}
    ending = ("completed", "failed", "cancelled", "paused")
    failure = [False]
    waiting: set[int] = set()  # not ended yet: the command waits for these

    def on_event(event: Any) -> None:
        item = event.item
        if item is None:
            return
        with lock:
            if item.item_id not in mine:
                return
            mine[item.item_id] = item
            delta = item.bytes_done - sent.get(item.item_id, 0)
            if delta > 0:
                sent[item.item_id] = item.bytes_done
                bar(delta)
            first_failure = item.state == "failed" and not failure[0]
            failure[0] = failure[0] or item.state == "failed"
            if item.state in ending:
                waiting.discard(item.item_id)
                if not waiting:
                    lock.notify_all()
        if first_failure:  # stop what has not started; what is being sent finishes
            for other in list(mine.values()):
                if other.state == "queued" and other.upload_id is None:
                    queue.cancel(other.item_id)

    queue.subscribe(on_event)
    order: list[int] = []
    try:
        try:
            for checked in files:
                with lock:
                    if failure[0]:
                        break
                    item = queue.add_file(checked.path, kind, is_temp,
                                          content_type=checked.content_type,
                                          size=checked.size)
                    mine.setdefault(item.item_id, item)
                    order.append(item.item_id)
                    if mine[item.item_id].state not in ending:
                        waiting.add(item.item_id)
            with lock:
                while waiting:  # woken when the last one ends, not for every event
                    lock.wait(0.5)  # a timeout, so that Ctrl-C gets through
        finally:
            bar.finish()
    except KeyboardInterrupt:
        svc.close()  # the engine stops; each unfinished upload keeps its parts and row
        raise UploadsInterrupted() from None
    ended = [mine[i] for i in order]  # then the files not added after the failure
    return ended + [_NotTried(f.path.name) for f in files[len(order):]]


class _NotTried:
    """A file the command did not queue because an earlier one had failed."""

    state = "cancelled"
    upload_id = None
    upload = None

    def __init__(self, name: str) -> None:
        self.name = name


class UploadsInterrupted(ShortsError):
    """Ctrl-C while several files were being sent."""

    exit_code = 130

    def __init__(self) -> None:
        super().__init__("Interrupted; the files being sent keep what they sent: "
                         "`shorts-desktop queue` lists them and `shorts-desktop resume ID` "
                         "continues one.")


def _notice(message: str) -> None:
    print(f"\nnote: {message}", file=sys.stderr)


def cmd_queue(args: argparse.Namespace) -> int:
    svc = _services(args)
    rows = [
        {**u.to_dict(), "bytes_done": int(u.bytes_done or 0), "attempts": int(u.attempts or 0)}
        for u in svc.uploads.unfinished()
    ]
    if args.json:
        emit_json(rows)
    elif not rows:
        print("Nothing is waiting: every upload finished.")
    else:
        for row in rows:
            done = f"{human_size(row['bytes_done'])} of {human_size(row['size'])}"
            print(f"{row['id']}  {row['status']:<10} {done:>22}  {row['original_name']}")
            if row["error"]:
                print(f"    {row['error']}")
    return 0


def cmd_transfer(args: argparse.Namespace) -> int:
    """pause, resume, cancel and retry of one upload."""
    svc = _services(args)
    if args.command == "pause":
        row = svc.uploads.pause(args.id)
        print(f"{row.original_name} is paused; `shorts-desktop resume {row.id}` continues it.")
        return 0
    if args.command == "cancel":
        row = svc.uploads.cancel(args.id)
        print(f"Cancelled {row.original_name}; what it had sent was removed.")
        return 0
    from shorts_desktop.core.services.uploads import find_upload

    row = find_upload(args.id)
    if args.command == "resume" and row.status in ("failed", "cancelled"):
        raise UserError(f"Upload {row.id} is {row.status}; use `shorts-desktop retry {row.id}`.")
    if args.command == "retry" and row.status not in ("failed", "cancelled"):
        raise UserError(f"Upload {row.id} is {row.status}; only a failed or cancelled one is "
                        "retried (`resume` continues a stopped one).")
    bar = ProgressBar(row.size, row.original_name, sys.stderr)
    try:
        done = svc.uploads.continue_upload(row.id, progress=bar, notice=_notice)
    finally:
        bar.finish()
    return report_uploaded(args, done.to_dict())


def cmd_uploads(args: argparse.Namespace) -> int:
    svc = _services(args)
    is_temp = True if args.temp else False if args.permanent else None
    rows = [u.to_dict() for u in svc.uploads.list(args.kind, is_temp, include_deleted=args.all,
                                                  thumbnails=False)]
    return emit_rows(args, rows, describe_upload, "No uploads yet.")


def cmd_url(args: argparse.Namespace) -> int:
    svc = _services(args)
    url, seconds = svc.uploads.presigned_url(args.id, args.expires)
    if seconds > 86400:
        print(f"warning: this link works for {seconds / 86400:.1f} days.", file=sys.stderr)
    print(url)
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from shorts_desktop.core.services.uploads import find_upload

    svc = _services(args)

    row = find_upload(args.id)
    bar = ProgressBar(row.size, row.original_name, sys.stderr)
    try:
        target = svc.uploads.download(
            args.id, Path(args.output) if args.output else None, overwrite=args.force,
            progress=bar,
        )
    finally:
        bar.finish()
    print(f"Saved {target}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    svc = _services(args)
    upload, changed = svc.uploads.promote(args.id)
    data = upload.to_dict()
    if args.json:
        emit_json({**data, "changed": changed})
    elif changed:
        print(f"Moved {data['original_name']} to permanent storage.")
        print(describe_upload(data))
    else:
        print(f"{data['original_name']} is already permanent.")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    svc = _services(args)
    data = svc.uploads.delete(args.id).to_dict()
    if args.json:
        emit_json(data)
    else:
        print(f"Deleted {data['original_name']} ({data['id']}).")
    return 0


def cmd_cleanup(args: argparse.Namespace) -> int:
    svc = _services(args)
    ran = svc.cleanup.run(args.hours, dry_run=args.dry_run)
    result = ran.to_dict()
    if args.json:
        emit_json(result)
        return 0
    verb = "Would delete" if result["dry_run"] else "Deleted"
    print(
        f"{verb} {plural(len(result['deleted']), 'temporary file')} older than "
        f"{result['hours']:g} h, "
        f"freeing {human_size(result['freed_bytes'])}."
    )
    gone = set(result["deleted"])
    for item in ran.plan.delete:
        if item.upload_id in gone:
            print(f"  {item.name}  {human_age(item.age_hours)} old  {human_size(item.size)}  "
                  f"({item.upload_id[:8]})")
    for item in result["aborted_multipart_uploads"]:
        verb2 = "Would abort" if result["dry_run"] else "Aborted"
        print(f"{verb2} unfinished upload of {item['key']} ({human_size(item['bytes'])}).")
    for item in result["skipped"]:
        print(f"Kept {item['id']}: {item['reason']}.")
    return 0


def _describe_multipart(e: dict[str, Any]) -> str:
    from datetime import UTC, datetime

    age = (datetime.now(UTC) - datetime.fromisoformat(e["initiated"])).total_seconds() / 3600
    text = f"{e['key']}  {human_age(age)} old  {human_size(e['bytes'])}\n    id {e['upload_id']}"
    if e["known"]:
        text += f"\n    kept: {e['reason']} ({e['owner_kind']} {e['owner']})"
    return text


def cmd_multipart(args: argparse.Namespace) -> int:
    """`multipart list` and `multipart abort ID | --older-than HOURS`."""
    svc = _services(args)
    multipart = svc.multipart()
    if args.multipart_cmd == "list":
        rows = [e.to_dict() for e in multipart.pending()]
        where = ", ".join(multipart.prefixes())
        return emit_rows(args, rows, _describe_multipart,
                         f"No unfinished multipart uploads under {where}.")
    if (args.id is None) == (args.older_than is None):
        raise UsageError("Give either the id of one upload or --older-than HOURS.")
    if args.id is not None:
        if args.include_resumable or args.dry_run:
            raise UsageError("--include-resumable and --dry-run go with --older-than.")
        entry = multipart.abort(args.id)
        if args.json:
            emit_json(entry.to_dict())
            return 0
        print(f"Aborted the unfinished upload of {entry.info.key} "
              f"({human_size(entry.info.size)}).")
        if entry.known:
            print(f"note: {entry.owner_text} was {entry.known}; resuming it starts over.")
        return 0
    plan = multipart.abort_older_than(args.older_than, include_known=args.include_resumable,
                                      dry_run=args.dry_run)
    if args.json:
        emit_json(plan.to_dict())
        return 0
    verb = "Would abort" if plan.dry_run else "Aborted"
    print(f"{verb} {plural(len(plan.abort), 'unfinished upload')} older than {plan.hours:g} h, "
          f"freeing {human_size(plan.freed_bytes)}.")
    for entry in plan.abort:
        print(f"  {entry.info.key}  {human_age(entry.age_hours())} old  "
              f"{human_size(entry.info.size)}")
    for entry in plan.kept:
        print(f"Kept {entry.info.key} ({entry.owner_text}): {entry.known}; "
              "--include-resumable aborts it too.")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    svc = _services(args)
    data = svc.stats.overview(include_bucket=args.bucket)
    if args.json:
        emit_json(data)
        return 0
    print(f"Storage: {data['storage']}")
    print(f"Files:   {data['uploads']['count']} ({human_size(data['uploads']['bytes'])})")
    for kind, v in data["by_kind"].items():
        print(f"  {kind + 's':<12} {v['count']:>6}  {human_size(v['bytes']):>10}")
    for name in ("temp", "permanent"):
        v = data[name]
        print(f"  {name:<12} {v['count']:>6}  {human_size(v['bytes']):>10}")
    jobs = ", ".join(f"{k} {v}" for k, v in data["jobs_by_status"].items() if v) or "none"
    print(f"Jobs:    {jobs}")
    if "bucket" in data:
        print(f"Bucket:  {data['bucket']['location']}")
        for p in data["bucket"]["prefixes"].values():
            mp = p["incomplete_multipart"]
            extra = (
                f" + {plural(mp['count'], 'unfinished upload')} {human_size(mp['bytes'])}"
                if mp["count"] else ""
            )
            print(f"  {p['prefix']:<14} {p['count']:>6}  {human_size(p['bytes']):>10}{extra}")
        classes = data["bucket"]["bytes_by_storage_class"]
        if classes:
            print("  by storage class: " + ", ".join(
                f"{name} {human_size(size)}" for name, size in sorted(classes.items())))
    return 0


def _draft(args: argparse.Namespace) -> Any:
    from shorts_desktop.core.services.jobs import JobDraft

    return JobDraft(
        title=args.title,
        description=args.description,
        voice=args.voice,
        tags=args.tag or [],
        video_upload_id=args.video,
        transcript_upload_id=args.transcript,
        privacy=args.privacy,
    )


def cmd_job(args: argparse.Namespace) -> int:
    svc = _services(args)
    if args.job_cmd == "create":
        job = svc.jobs.create(_draft(args))
        data = job.to_dict()
        if args.json:
            emit_json(data)
        else:
            print(f"Created job {data['id']}.")
            print(describe_job(data))
        return 0
    if args.job_cmd == "show":
        data = svc.jobs.get(args.id).to_dict()
        if args.json:
            emit_json(data)
        else:
            print(describe_job(data))
            if data["description"]:
                print("    " + data["description"].replace("\n", "\n    "))
        return 0
    if args.job_cmd == "process":
        line = JobProgressLine(sys.stderr)
        try:
            job = svc.processing.process(args.id, line)
        finally:
            line.finish()
        data = job.to_dict()
        if args.json:
            emit_json(data)
        else:
            length = (data["render_info"] or {}).get("duration") or 0
            print(f"Job {data['id']} is processed: a {length:.1f} s Short is in storage.")
            print(describe_job(data))
        return 0
    if args.job_cmd == "preview":
        processing = svc.processing
        job = svc.jobs.get(args.id)
        size = int((job.render_info or {}).get("size") or 0)
        bar = ProgressBar(size, "short.mp4", sys.stderr)
        try:
            target = processing.save_short(job.id, Path(args.output) if args.output else None,
                                           overwrite=args.force, progress=bar)
        finally:
            bar.finish()
        print(f"Saved {target}")
        return 0
    if args.job_cmd == "url":
        url, seconds = svc.processing.short_link(args.id, args.expires)
        if seconds > 86400:
            print(f"warning: this link works for {seconds / 86400:.1f} days.", file=sys.stderr)
        print(url)
        return 0
    if args.job_cmd == "publish":
        return _publish(args, svc)
    if args.job_cmd == "cancel":
        data = svc.jobs.cancel(args.id).to_dict()
        if args.json:
            emit_json(data)
        else:
            print(f"Cancelled job {data['id']}.")
        return 0
    # published
    result = svc.jobs.mark_published(args.id, args.video_url)
    data = {
        **result.job.to_dict(),
        "inputs_deleted": result.deleted,
        "inputs_promoted": result.promoted,
        "inputs_kept": result.kept,
    }
    if args.json:
        emit_json(data)
    else:
        print(f"Job {data['id']} is published.")
        _print_cleanup(result)
    return 0


def _publish(args: argparse.Namespace, svc: Any) -> int:
    job = svc.jobs.get(args.id)
    size = int((job.render_info or {}).get("size") or 0)
    bar = ProgressBar(size, f"YouTube: {job.title}", sys.stderr)
    done = [0]

    def progress(sent: int, total: int) -> None:
        bar.total = max(total, 1)
        bar(sent - done[0])
        done[0] = sent

    try:
        outcome = svc.publishing.publish(job.id, progress=progress, notice=_notice,
                                         publish_at=args.publish_at)
    finally:
        bar.finish()
    result = outcome.result
    data = {
        **result.job.to_dict(),
        "youtube_url": outcome.url,
        "forced_private": outcome.forced_private,
        "notes": outcome.notes,
        "inputs_deleted": result.deleted,
        "inputs_promoted": result.promoted,
        "inputs_kept": result.kept,
        "results_removed": outcome.results_removed,
    }
    if args.json:
        emit_json(data)
        return 0
    print(f"Published {data['title']!r} on YouTube: {outcome.url}")
    for note in outcome.notes:
        print(f"note: {note}")
    _print_cleanup(result)
    if outcome.results_removed:
        print(f"  removed {plural(outcome.results_removed, 'processed file')}")
    return 0


def _print_cleanup(result: Any) -> None:
    for uid in result.deleted:
        print(f"  deleted temporary input {uid}")
    for uid in result.promoted:
        print(f"  moved input {uid} to permanent storage")
    for item in result.kept:
        print(f"  kept input {item['id']}: {item['reason']}")


def cmd_youtube(args: argparse.Namespace) -> int:
    svc = _services(args)
    publishing = svc.publishing
    if args.youtube_cmd == "login":
        def show(url: str) -> None:
            print("Sign in to Google in your browser (if it did not open, visit this address):",
                  file=sys.stderr)
            print(url, file=sys.stderr)

        client = Path(args.client_secrets) if args.client_secrets else None
        channel = publishing.connect(client, open_browser=not args.no_browser, on_url=show)
        print(f"Connected the YouTube channel {channel.title!r} ({channel.channel_id}).")
        return 0
    if args.youtube_cmd == "logout":
        if not publishing.connected():
            print("No YouTube account is connected.")
            return 0
        note = publishing.disconnect()
        print("Disconnected the YouTube account; its sign-in was removed from the OS keyring.")
        if note:
            print(f"note: {note}", file=sys.stderr)
        return 0
    channel = publishing.status()
    if args.json:
        emit_json({"connected": channel is not None,
                   "channel_id": channel.channel_id if channel else None,
                   "channel_title": channel.title if channel else None})
    elif channel is None:
        print("No YouTube account is connected (`shorts-desktop youtube login`).")
    else:
        print(f"Connected to the YouTube channel {channel.title!r} ({channel.channel_id}).")
    return 0


def _when(text: str) -> Any:
    from datetime import UTC, datetime

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date and time such as 2026-12-24T18:00+01:00"
        ) from None
    return value if value.tzinfo else value.astimezone(UTC)


def cmd_jobs(args: argparse.Namespace) -> int:
    svc = _services(args)
    rows = [j.to_dict() for j in svc.jobs.list(args.status)]
    return emit_rows(args, rows, describe_job, "No jobs yet.")


def cmd_migrate(args: argparse.Namespace) -> int:
    from shorts_desktop.core.config import AppPaths
    from shorts_desktop.core.db.schema import migrate

    path = Path(args.db) if args.db else AppPaths.from_environ().db_path
    if args.db and not path.exists():
        raise UserError(f"{path} does not exist.")
    result = migrate(path)
    if not result.changed:
        print(f"{path} is up to date (schema version {result.to_version}).")
    else:
        print(f"Migrated {path} from schema {result.from_version} to {result.to_version}.")
        if result.backup:
            print(f"Backup of the old file: {result.backup}")
    return 0


def cmd_migrate_to_s3(args: argparse.Namespace) -> int:
    svc = _services(args)
    mover = svc.migrate_to_s3()
    report = mover.run(lambda u: print(f"Moving {u.original_name} ...", file=sys.stderr))
    data = {"moved": report.moved, "failed": report.failed, "remaining": report.remaining}
    if args.json:
        emit_json(data)
    else:
        print(f"Moved {plural(len(report.moved), 'file')} to {svc.storage.describe()}.")
        for item in report.failed:
            print(f"Not moved {item['id']}: {item['reason']}")
    return 1 if report.failed else 0


def cmd_sync(args: argparse.Namespace) -> int:
    svc = _services(args)
    report = svc.reconcile().run()
    data = {"added": report.added, "moved": report.moved, "promoted": report.promoted,
            "adopted": report.adopted, "deleted": report.deleted, "missing": report.missing,
            "foreign": report.foreign}
    if args.json:
        emit_json(data)
    else:
        print(f"Synced with {svc.storage.describe()}: {len(report.added)} added, "
              f"{len(report.moved)} moved, {len(report.promoted)} promoted, "
              f"{len(report.adopted)} found again, {len(report.deleted)} deleted, "
              f"{len(report.missing)} missing.")
        if report.foreign:
            were = "was" if len(report.foreign) == 1 else "were"
            print(f"{plural(len(report.foreign), 'object')} under our prefixes {were} not made "
                  f"by shorts-desktop and {were} left alone.")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    svc = _services(args)
    results = svc.check()
    if args.json:
        emit_json(
            {
                "storage": svc.storage.describe(),
                "ok": all(r.ok for r in results),
                "checks": [{"name": r.name, "ok": r.ok, "warning": r.warning,
                            "detail": r.detail} for r in results],
            }
        )
    else:
        print(f"Checking {svc.storage.describe()}")
        for r in results:
            mark = "FAIL" if not r.ok else "warn" if r.warning else "ok  "
            print(f"  {mark} {r.name:<12} {r.detail}")
    missing = [r.name for r in results if not r.ok]
    if missing and not args.json:
        print(f"error: Not ready: {', '.join(missing)} failed.", file=sys.stderr)
    return 1 if missing else 0


def missing_display(environ: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """Why the window cannot open on this Linux session, or None: without a display Qt
    aborts the process with a core dump and advice to reinstall."""
    if not platform.startswith("linux"):
        return None
    wanted = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0]
    if wanted not in ("", "xcb", "wayland", "wayland-egl"):
        return None  # offscreen, vnc, eglfs...: Qt needs no desktop session
    display, wayland = environ.get("DISPLAY", ""), environ.get("WAYLAND_DISPLAY", "")
    if not display and not (wayland and wanted != "xcb"):
        return ("There is no display to open the window on (DISPLAY is not set); start "
                "shorts-desktop in a desktop session, or use its commands (see "
                "`shorts-desktop --help`).")
    return None


def cmd_gui(args: argparse.Namespace) -> int:
    problem = missing_display(os.environ)
    if problem is not None:
        raise UsageError(problem)
    from shorts_desktop.desktop import run_app

    shot = Path(args.screenshot) if args.screenshot else None
    if shot is not None and not shot.parent.is_dir():
        raise UsageError(f"The folder {shot.parent} does not exist.")
    return run_app(sys.argv[:1], panel=args.panel, screenshot=shot)


def cmd_bucket_policy(args: argparse.Namespace) -> int:
    from shorts_desktop.core.config import load_settings
    from shorts_desktop.core.services.policy import bucket_policy

    emit_json(bucket_policy(load_settings()))
    return 0


def _read_secret(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().strip()


def cmd_config(args: argparse.Namespace) -> int:
    from shorts_desktop.core import config

    paths = config.AppPaths.from_environ()
    if args.config_cmd in ("set", "unset"):
        value = args.value if args.config_cmd == "set" else ""
        settings = config.save_settings_file(paths, {args.name: value},
                                             config.active_profile(paths))
        print(f"Saved {args.name} in profile {settings.profile}.")
        return 0
    settings = config.load_settings()
    if args.json:
        emit_json({"profile": settings.profile, "settings_file": str(paths.settings_file),
                   "variables": settings.as_variables(), "sources": dict(settings.sources)})
        return 0
    print(f"Profile {settings.profile}; settings file {paths.settings_file}")
    for name, value in settings.as_variables().items():
        print(f"  {name:<32} {value or '-':<24} ({settings.sources.get(name, 'default')})")
    return 0


def _profile_service() -> Any:
    from shorts_desktop.core.config import AppPaths
    from shorts_desktop.core.services.profiles import ProfileService

    return ProfileService(AppPaths.from_environ())


def cmd_profile(args: argparse.Namespace) -> int:
    profiles = _profile_service()
    if args.profile_cmd == "use":
        profiles.use(args.name)
        print(f"Now using profile {args.name}.")
    elif args.profile_cmd == "delete":
        deleted = profiles.delete(args.name)
        print(f"Deleted profile {args.name}.")
        if deleted.keyring_problem:
            print(f"note: {deleted.keyring_problem}", file=sys.stderr)
    else:
        listing = profiles.profiles()
        for name in listing.names:
            print(f"{'*' if name == listing.in_use else ' '} {name}")
        if listing.chosen_by_environment:
            print(f"(SHORTS_DESKTOP_PROFILE selects {listing.in_use} for this shell)")
    return 0


def cmd_credentials(args: argparse.Namespace) -> int:
    profiles = _profile_service()
    if args.profile is None:
        args.profile = profiles.in_use()
    if args.openai:
        return _openai_credentials(args, profiles)
    if args.cred_cmd == "set":
        key_id = _read_secret("AWS access key id: ")
        secret = _read_secret("AWS secret access key: ")
        key = profiles.save_access_key(args.profile, key_id, secret)
        print(f"Saved the access key {key.access_key_id[:4]}… for profile {args.profile} in "
              "the OS keyring.")
        return 0
    if args.cred_cmd == "clear":
        removed = profiles.clear_access_key(args.profile)
        print(
            f"Removed the keys of profile {args.profile} from the OS keyring."
            if removed
            else f"The OS keyring held no keys for profile {args.profile}."
        )
        return 0
    resolved = profiles.access_key_source(args.profile)
    print(f"Credentials come from: {resolved.source}")
    if resolved.key:
        print(f"Access key id: {resolved.key.access_key_id[:4]}…")
    if resolved.keyring_problem:
        print(resolved.keyring_problem)
    return 0


def _openai_credentials(args: argparse.Namespace, profiles: Any) -> int:
    if args.cred_cmd == "set":
        profiles.save_openai_key(args.profile, _read_secret("OpenAI API key: "))
        print(f"Saved the OpenAI key for profile {args.profile} in the OS keyring.")
        return 0
    if args.cred_cmd == "clear":
        removed = profiles.clear_openai_key(args.profile)
        print(f"Removed the OpenAI key of profile {args.profile} from the OS keyring."
              if removed else f"The OS keyring held no OpenAI key for profile {args.profile}.")
        return 0
    source = profiles.openai_key_source(args.profile)
    if source == "environment":
        print("The OpenAI key comes from: the OPENAI_API_KEY variable")
    elif source == ".env":
        print("The OpenAI key comes from: the OPENAI_API_KEY variable in .env")
    elif source == "keyring":
        print(f"The OpenAI key comes from: OS keyring (profile {args.profile})")
    else:
        print("No OpenAI key is set (only needed with SHORTS_DESKTOP_TTS=openai).")
    return 0


# -- parser -------------------------------------------------------------------------------------


def _temp_flags(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--temp", dest="permanent", action="store_false", default=False,
                       help="store under the temporary prefix (default, as in the guide)")
    group.add_argument("--permanent", dest="permanent", action="store_true",
                       help="store under the permanent prefix")


def _positive_seconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds") from None
    if not 1 <= value <= 604800:
        raise argparse.ArgumentTypeError("a link must expire within 1 to 604800 seconds (7 days)")
    return value


def _hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of hours") from None
    if not 0 <= value <= 87600 or value != value:
        raise argparse.ArgumentTypeError("hours must be between 0 and 87600")
    return value


def build_parser() -> Parser:
    p = Parser(
        prog="shorts-desktop",
        description="Store the videos and transcripts of YouTube Shorts in your S3 bucket, "
        "make the Shorts and publish them. Ids of uploads and jobs may be shortened to their "
        "first 8 characters. `shorts-desktop COMMAND --help` describes a command.",
    )
    p.add_argument("--version", action="version", version=f"shorts-desktop {__version__}")
    p.add_argument("--selftest", action="store_true",
                   help="start the app offscreen, check that every part loads, and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    up = sub.add_parser("upload", help="upload a video or a transcript")
    upsub = up.add_subparsers(dest="what", metavar="KIND", required=True, parser_class=Parser)
    for name, help_text, what in (
        ("video", "video files (MP4/MOV, WebM/MKV, AVI) and folders of them", "video"),
        ("transcript-file", ".txt, .srt or .vtt files and folders of them", "transcript"),
    ):
        q = upsub.add_parser(
            name, help=help_text,
            description=f"Upload {help_text}. Every file is checked before the first byte is "
            "sent: a file named that cannot be uploaded stops the command and nothing is "
            f"uploaded; a folder's files that are not {what}s, or cannot be uploaded, are "
            "left out with a note. The files go one after another under one progress bar.",
        )
        q.add_argument("paths", nargs="+", metavar="PATH",
                       help=f"files or folders to upload; a folder adds every {what} in it "
                       "and its subfolders (hidden ones left out)")
        _temp_flags(q)
        q.add_argument("--json", action="store_true",
                       help="print the uploads as JSON: one object when PATH is one file, "
                       "else a list")
        q.set_defaults(func=cmd_upload)
    q = upsub.add_parser("transcript-text", help="transcript text given inline or on stdin")
    q.add_argument("stdin", nargs="?", choices=["-"], default=None,
                   help="- reads the text from stdin")
    q.add_argument("--text", help="the transcript text")
    q.add_argument("--name", default="transcript.txt", help="file name to store it under")
    _temp_flags(q)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_upload)

    q = sub.add_parser("uploads", help="list uploads")
    q.add_argument("--kind", choices=["video", "transcript"], help="only videos or transcripts")
    g = q.add_mutually_exclusive_group()
    g.add_argument("--temp", action="store_true", help="only temporary files")
    g.add_argument("--permanent", action="store_true", help="only permanent files")
    q.add_argument("--all", action="store_true", help="include deleted uploads")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_uploads)

    q = sub.add_parser("queue", help="uploads that have not finished (interrupted, paused, "
                       "failed)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_queue)
    for name, help_text in (
        ("pause", "pause an upload; `resume` continues it later"),
        ("resume", "continue an interrupted or paused upload from the parts already sent"),
        ("cancel", "stop an upload and remove what it sent"),
        ("retry", "upload a failed or cancelled file again from its source"),
    ):
        q = sub.add_parser(name, help=help_text)
        q.add_argument("id")
        if name in ("resume", "retry"):
            q.add_argument("--json", action="store_true")
        q.set_defaults(func=cmd_transfer)

    q = sub.add_parser("url", help="print a short-lived download link")
    q.add_argument("id")
    q.add_argument("--expires", type=_positive_seconds, metavar="SECONDS",
                   help="link lifetime (default S3_PRESIGNED_URL_EXPIRY)")
    q.set_defaults(func=cmd_url)

    q = sub.add_parser("download", help="save an upload to a file")
    q.add_argument("id")
    q.add_argument("-o", "--output", metavar="PATH", help="file or folder to save to")
    q.add_argument("--force", action="store_true", help="overwrite an existing file")
    q.set_defaults(func=cmd_download)

    q = sub.add_parser("promote", help="move a temporary upload to permanent storage")
    q.add_argument("id")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_promote)

    q = sub.add_parser("delete", help="delete an upload from storage")
    q.add_argument("id")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_delete)

    q = sub.add_parser("cleanup-temp", help="delete temporary files older than H hours")
    q.add_argument("--hours", type=_hours, help="age in hours (default S3_CLEANUP_TEMP_HOURS)")
    q.add_argument("--dry-run", action="store_true", help="only show what would be deleted")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_cleanup)

    mp = sub.add_parser("multipart", help="unfinished multipart uploads under the app's prefixes")
    msub = mp.add_subparsers(dest="multipart_cmd", metavar="ACTION", required=True,
                             parser_class=Parser)
    q = msub.add_parser("list", help="list them; those a paused or interrupted upload resumes "
                        "are marked kept")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_multipart)
    q = msub.add_parser("abort", help="abort one by its id, or those older than HOURS that no "
                        "upload resumes")
    q.add_argument("id", nargs="?", help="the upload id `multipart list` shows")
    q.add_argument("--older-than", type=_hours, metavar="HOURS",
                   help="abort every one started more than HOURS ago")
    q.add_argument("--include-resumable", action="store_true",
                   help="with --older-than, also those a paused or interrupted upload resumes")
    q.add_argument("--dry-run", action="store_true", help="only show what would be aborted")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_multipart)

    q = sub.add_parser("stats", help="upload and storage statistics")
    q.add_argument("--bucket", action="store_true", help="also list what the bucket holds")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_stats)

    job = sub.add_parser("job", help="create and follow Shorts jobs")
    jsub = job.add_subparsers(dest="job_cmd", metavar="ACTION", required=True, parser_class=Parser)
    q = jsub.add_parser("create", help="create a job from a video and a transcript")
    q.add_argument("--title", required=True,
                   help="the Short's title on YouTube (up to 100 characters)")
    q.add_argument("--description", default="", help="its description on YouTube")
    q.add_argument("--voice", required=True, choices=VOICES, metavar="VOICE",
                   help=f"narration voice: {', '.join(VOICES)}")
    q.add_argument("--tag", action="append", help="a tag (repeat for more)")
    q.add_argument("--video", required=True, metavar="ID",
                   help="the video upload's id (as `uploads` shows it)")
    q.add_argument("--transcript", required=True, metavar="ID",
                   help="the transcript upload's id (as `uploads` shows it)")
    q.add_argument("--privacy", choices=["private", "unlisted", "public"], default="private",
                   help="who can watch it on YouTube once published (default: private)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_job)
    for name, help_text in (
        ("show", "show one job"),
        ("cancel", "cancel a job"),
        ("process", "make the Short now: fetch, narrate, caption, render, store in processed/"),
    ):
        q = jsub.add_parser(name, help=help_text)
        q.add_argument("id")
        q.add_argument("--json", action="store_true")
        q.set_defaults(func=cmd_job)
    q = jsub.add_parser("preview", help="save the processed Short (short.mp4), verified")
    q.add_argument("id")
    q.add_argument("-o", "--output", metavar="PATH", help="file or folder (default: here)")
    q.add_argument("-f", "--force", action="store_true", help="overwrite an existing file")
    q.set_defaults(func=cmd_job)
    q = jsub.add_parser("url", help="print a short-lived link to the processed Short")
    q.add_argument("id")
    q.add_argument("--expires", type=_positive_seconds, metavar="SECONDS",
                   help="link lifetime (default S3_PRESIGNED_URL_EXPIRY)")
    q.set_defaults(func=cmd_job)
    q = jsub.add_parser("publish", help="upload the processed Short to your YouTube channel")
    q.add_argument("id")
    q.add_argument("--publish-at", type=_when, metavar="WHEN",
                   help="schedule a private video to go public then (ISO 8601 date and time)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_job)
    q = jsub.add_parser("published", help="record that the Short was published on YouTube")
    q.add_argument("id")
    q.add_argument("--video-url", help="the Short's YouTube address")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_job)

    yt = sub.add_parser("youtube", help="connect the YouTube channel that Shorts go to")
    ysub = yt.add_subparsers(dest="youtube_cmd", metavar="ACTION", required=True,
                             parser_class=Parser)
    q = ysub.add_parser("login", help="sign in with Google in the browser (token to the keyring)")
    q.add_argument("--client-secrets", metavar="FILE",
                   help="the OAuth client JSON of your Google Cloud project (remembered)")
    q.add_argument("--no-browser", action="store_true",
                   help="only print the sign-in address")
    q.set_defaults(func=cmd_youtube)
    q = ysub.add_parser("status", help="name the connected channel")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_youtube)
    q = ysub.add_parser("logout", help="revoke the sign-in and remove it from the keyring")
    q.set_defaults(func=cmd_youtube)

    q = sub.add_parser("jobs", help="list jobs")
    q.add_argument("--status", choices=["created", "queued", "processing", "processed",
                                        "publishing", "published", "failed", "cancelled"],
                   help="only jobs with this status")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_jobs)

    q = sub.add_parser("migrate", help="bring the database to the current schema")
    q.add_argument("--db", metavar="PATH", help="database file (default: the app's own)")
    q.set_defaults(func=cmd_migrate)

    q = sub.add_parser("migrate-to-s3", help="move local-library files into the bucket")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_migrate_to_s3)

    q = sub.add_parser("gui", help="open the desktop window (the default with no command)")
    q.add_argument("--panel", choices=["uploads", "library", "bucket", "jobs", "cleanup",
                                       "stats", "settings"], help="panel to open")
    q.add_argument("--screenshot", metavar="FILE",
                   help="save a 1280x800 PNG of the window and exit")
    q.set_defaults(func=cmd_gui)

    q = sub.add_parser("sync", help="rebuild the database from what the bucket holds")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_sync)

    q = sub.add_parser("check", help="test credentials, bucket, region and permissions")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_check)

    q = sub.add_parser("bucket-policy",
                       help="print the least-privilege IAM policy for the bucket and prefixes")
    q.set_defaults(func=cmd_bucket_policy)

    cred = sub.add_parser("credentials", help="keep AWS (or OpenAI) keys in the OS keyring")
    csub = cred.add_subparsers(dest="cred_cmd", metavar="ACTION", required=True,
                               parser_class=Parser)
    for name, help_text in (
        ("set", "store keys (asked for at a prompt, never on the command line)"),
        ("clear", "remove stored keys"),
        ("show", "say where the credentials in use come from"),
    ):
        q = csub.add_parser(name, help=help_text)
        q.add_argument("--profile", help="profile to act on (default: the active one)")
        q.add_argument("--openai", action="store_true",
                       help="the OpenAI API key (for SHORTS_DESKTOP_TTS=openai) instead of AWS")
        q.set_defaults(func=cmd_credentials)

    conf = sub.add_parser("config", help="show or change settings of the active profile")
    fsub = conf.add_subparsers(dest="config_cmd", metavar="ACTION", required=True,
                               parser_class=Parser)
    q = fsub.add_parser("show", help="every setting, its value and where it comes from")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_config)
    q = fsub.add_parser("set", help="save a setting in the settings file")
    q.add_argument("name", metavar="VARIABLE",
                   help="the setting's name, e.g. S3_BUCKET_NAME (`config show` lists them)")
    q.add_argument("value", help="its new value")
    q.set_defaults(func=cmd_config)
    q = fsub.add_parser("unset", help="remove a setting from the settings file")
    q.add_argument("name", metavar="VARIABLE", help="the setting's name, e.g. S3_BUCKET_NAME")
    q.set_defaults(func=cmd_config)

    prof = sub.add_parser("profile", help="named set-ups (bucket, endpoint, keys); one is active")
    psub = prof.add_subparsers(dest="profile_cmd", metavar="ACTION", required=True,
                               parser_class=Parser)
    psub.add_parser("list", help="list profiles; * marks the active one").set_defaults(
        func=cmd_profile)
    for name, help_text in (("use", "switch to a profile (created when new)"),
                            ("delete", "delete a profile and its stored keys")):
        q = psub.add_parser(name, help=help_text)
        q.add_argument("name", help="the profile's name (`profile list` shows them)")
        q.set_defaults(func=cmd_profile)
    _describe_arguments(p)
    return p


#: What an argument means wherever a command takes it without saying more.
_ARGUMENT_HELP = {
    "paths": "files or folders to upload; a folder adds every video (or transcript) in it",
    "json": "print the result as JSON, for scripts",
}


def _describe_arguments(parser: argparse.ArgumentParser) -> None:
    """Give every argument of every command a line in its --help: ids say whose they are
    and that a prefix does, --json and paths say what they do."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                _describe_arguments(command)
        elif action.help is None:
            if action.dest == "id":
                whose = "job" if parser.prog.split()[1:2] == ["job"] else "upload"
                action.help = (f"the {whose}'s id (as `{whose}s` shows it); its first 8 "
                               "characters are enough")
            else:
                action.help = _ARGUMENT_HELP.get(action.dest)


def _app_paths() -> AppPaths | None:
    """Where the app keeps its files, or None when even that cannot be worked out."""
    from shorts_desktop.core.config import AppPaths

    try:
        return AppPaths.from_environ()
    except (OSError, ShortsError):
        return None


def _log_path() -> Path | None:
    from shorts_desktop.core.logsetup import configure_logging

    paths = _app_paths()
    return None if paths is None else configure_logging(paths.log_dir)


def _unexpected(command: str, log_path: Path | None) -> str:
    """The sentence for a bug: where its traceback is, or that it could not be kept."""
    from shorts_desktop.core.logsetup import log_file_works

    if log_path is not None and log_file_works():
        return f"Unexpected error, see the log at {log_path}."
    return (f"Unexpected error in {command}; the log file could not be written, so no details "
            "were kept.")


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; the services it built are closed when it ends (see `_built`)."""
    try:
        code = _run(argv)
    except BaseException:
        _built.clear()  # a usage error, or one that escaped `_run`: the process ends now
        raise
    if code == 130:  # Ctrl-C: leave now, as asked; what was sent keeps its parts
        _built.clear()
    else:
        _close_built()
    return code


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.selftest:  # before logging is set up: a self-test writes nothing of the user's
        from shorts_desktop.selftest import run as run_selftest

        return run_selftest()
    if not getattr(args, "func", None):
        args = parser.parse_args(["gui"])
    log_path = _log_path()
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ShortsError as exc:
        log.info("%s failed: %s", args.command, exc)
        hint = (" Add --force to replace it, or -o to save it under another name."
                if isinstance(exc, TargetExistsError) else "")  # the commands that save files
        print(f"error: {exc}{hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        from shorts_desktop.core.failures import explain

        known = explain(exc, _app_paths())
        if known is None:
            log.exception("unexpected error in %s", args.command)
            print(f"error: {_unexpected(args.command, log_path)}", file=sys.stderr)
            return 1
        log.info("%s failed: %s", args.command, known)
        print(f"error: {known}", file=sys.stderr)
        return known.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
