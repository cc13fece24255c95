"""Intake: what a drop or a command line names becomes checked files, once, before any upload.

Folders are expanded here, every file is classified and validated here, and what that
learnt (kind, size, content type) travels with the file, so that the window and the CLI
refuse the same files with the same sentences. Reads the disk: call it off the GUI thread.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shorts_desktop.core.errors import ShortsError, UserError
from shorts_desktop.core.failures import explain
from shorts_desktop.core.services import files
from shorts_desktop.core.units import plural

if TYPE_CHECKING:
    from shorts_desktop.core.services.upload_queue import UploadQueue

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi")
TRANSCRIPT_EXTENSIONS = tuple(files.TRANSCRIPT_EXTENSIONS)
MEDIA_EXTENSIONS = VIDEO_EXTENSIONS + TRANSCRIPT_EXTENSIONS
MAX_FOLDER_FILES = 1000  # a folder with more is refused: probably the wrong one
KINDS = ("video", "transcript")


def _kind_by_name(path: Path) -> str | None:
    ext = path.suffix.lower()
    if ext in TRANSCRIPT_EXTENSIONS:
        return "transcript"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    return None


def _neither(path: Path) -> UserError:
    return UserError(
        f"{path.name} is neither a video (MP4, MOV, WebM, MKV, AVI) nor a transcript "
        "(.txt, .srt, .vtt)."
    )


def kind_for(path: Path) -> str:
    """Video or transcript, from the extension, or for an unknown one from the first bytes.

    Raises UserError with the reason when the file is neither. Reads the disk: call it
    from a worker thread.
    """
    kind = _kind_by_name(path)
    if kind is not None:
        return kind
    files.check_readable_file(path)
    try:
        files.sniff_video(path)
    except UserError:
        raise _neither(path) from None
    return "video"


@dataclass(frozen=True)
class CheckedFile:
    """A file the intake has validated: what the later steps need without looking again."""

    path: Path
    kind: str
    size: int
    content_type: str
    identity: tuple[int, int] | str  # (device, inode), or its real path where there are none


def check_file(path: Path, kind: str | None = None,
               st: os.stat_result | None = None) -> CheckedFile:
    """Classify (when `kind` is None) and validate a file in one pass over its first bytes;
    `st`: its stat, when the caller made it already.

    The same checks as `UploadService.inspect`, so a file accepted here is accepted when
    its upload is recorded; raises a ShortsError with the one sentence saying why not.
    """
    if kind is not None and kind not in KINDS:
        raise UserError(f"Unknown upload kind {kind!r}; use video or transcript.")
    try:
        st = files.regular_file_stat(path, st)
        # a file system without inode numbers (some network shares) says 0: the real path
        found = (st.st_dev, st.st_ino) if st.st_ino else str(path.resolve())
        try:  # reading the first bytes (or the transcript) is the test of readability
            if kind is None:
                kind = _kind_by_name(path)
                if kind is None:  # no known extension: the first bytes decide
                    try:
                        return CheckedFile(path, "video", st.st_size, files.sniff_video(path),
                                           found)
                    except UserError:
                        raise _neither(path) from None
            if kind == "video":
                content_type = files.sniff_video(path)
            else:
                content_type = files.check_transcript_file(path, st.st_size)
        except (PermissionError, IsADirectoryError) as exc:
            raise files.unreadable(path, exc) from None
    except OSError as exc:  # e.g. a name too long for the file system
        known = explain(exc)
        if known is None:
            raise UserError(_unreadable(path, exc)) from None
        raise known from None
    return CheckedFile(path, kind, st.st_size, content_type, found)


def _label(path: Path) -> str:
    return path.name or str(path)


def _walk(folder: Path) -> tuple[list[Path], int]:
    """The videos and transcripts in a folder and its subfolders, by name, hidden ones left
    out, and how many other files it holds."""
    found: list[Path] = []
    others = 0
    for where, subfolders, names in os.walk(folder):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            if name.lower().endswith(MEDIA_EXTENSIONS):
                found.append(Path(where) / name)
            else:
                others += 1
    return found, others


def _too_many(label: str, count: int) -> str:
    return (f"The folder {label} holds {count:,} videos and transcripts; add at most "
            f"{MAX_FOLDER_FILES:,} at a time.")


def expand_folders(paths: list[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files stay as they are; a folder becomes the videos and transcripts in it and its
    subfolders, by name, hidden ones left out. Returns the files and (name, reason) notes
    for what a folder held besides them (disk work: call it from a worker thread)."""
    expanded: list[Path] = []
    notes: list[tuple[str, str]] = []
    for path in paths:
        if not path.is_dir():
            expanded.append(path)
            continue
        found, others = _walk(path)
        label = _label(path)
        if len(found) > MAX_FOLDER_FILES:
            notes.append((label, _too_many(label, len(found))))
            continue
        if not found:
            notes.append((label, f"The folder {label} has no videos or transcripts."))
        elif others:
            notes.append((label, _others_note(others, label)))
        expanded.extend(found)
    return expanded, notes


@dataclass(frozen=True)
class Refusal:
    """Why something named, or found in a named folder, will not be uploaded."""

    name: str
    reason: str
    #: True for a file or folder the user named; False for a file a folder held (a note).
    named: bool


@dataclass
class Intake:
    """The checked files of a drop or a command line, in order, and what was refused."""

    files: list[CheckedFile] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    _seen: set[tuple[int, int] | str] = field(default_factory=set, repr=False)

    def add(self, checked: CheckedFile) -> None:
        """Take a checked file, unless the same file was taken already (named twice, or
        named and in a folder named too, or through a link)."""
        if checked.identity not in self._seen:
            self._seen.add(checked.identity)
            self.files.append(checked)

    @property
    def named_refused(self) -> list[Refusal]:
        return [r for r in self.refused if r.named]

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)


def take(paths: Iterable[Path], kind: str | None = None) -> Intake:
    """Expand folders, then classify and validate every file, each once.

    With `kind` only files of that kind are taken: a folder's files of the other kind are
    left out with a note, a named file of the other kind is refused, and a folder with
    none of that kind is refused. Without it (a drop on the window) both kinds are taken.
    """
    intake = Intake()
    for path in (Path(p) for p in paths):
        st = _stat(path)
        if st is None or not stat.S_ISDIR(st.st_mode):
            try:
                intake.add(check_file(path, kind, st))
            except ShortsError as exc:
                intake.refused.append(Refusal(_label(path), str(exc), True))
            continue
        _take_folder(intake, path, kind)
    return intake


def _stat(path: Path) -> os.stat_result | None:
    """The path's stat, the one a file's check uses too; None when there is none."""
    try:
        return os.stat(path)
    except OSError:  # gone, too long, or behind a folder that cannot be entered
        return None  # check_file says why


def _take_folder(intake: Intake, folder: Path, kind: str | None) -> None:
    label = _label(folder)
    found, others = _walk(folder)
    if len(found) > MAX_FOLDER_FILES:
        intake.refused.append(Refusal(label, _too_many(label, len(found)), True))
        return
    wanted = [p for p in found if kind is None or _kind_by_name(p) == kind]
    if not wanted:
        reason = (f"The folder {label} has no videos or transcripts." if kind is None
                  else f"{folder} is a folder with no {kind}s in it.")
        intake.refused.append(Refusal(label, reason, True))
        return
    if others:
        intake.refused.append(Refusal(label, _others_note(others, label), False))
    other_kind = len(found) - len(wanted)
    if other_kind:
        skipped = "transcript" if kind == "video" else "video"
        verb = "was" if other_kind == 1 else "were"
        intake.refused.append(Refusal(label, (
            f"{plural(other_kind, skipped)} in the folder {label} {verb} left out (only "
            f"{kind}s were asked for)."), False))
    for path in wanted:
        try:
            intake.add(check_file(path, kind))
        except ShortsError as exc:
            intake.refused.append(Refusal(path.name, str(exc), False))


def _others_note(count: int, label: str) -> str:
    verb = "was" if count == 1 else "were"
    return (f"{plural(count, 'other file')} in the folder {label} (neither videos nor "
            f"transcripts) {verb} left out.")



# -- the window's drop: duplicates held back, the rest queued ---------------------------------


@dataclass(frozen=True)
class HeldFile:
    """A file (or pasted text) not queued yet: the same content is already in the library."""

    name: str
    kind: str
    is_temp: bool
    #: The completed uploads with the same content (`to_dict()`), oldest first.
    same_as: list[dict[str, Any]]
    path: Path | None = None
    text: str | None = field(default=None, repr=False)


#: What adding files gives back: (name, reason) of the refused ones, and the held ones.
Added = tuple[list[tuple[str, str]], list[HeldFile]]


def queue_paths(queue: UploadQueue, paths: list[Path], is_temp: bool,
                check_duplicates: bool = True) -> Added:
    """Take and queue files (worker thread). Files whose content is already in the library
    are held back for the user to decide (see `HeldFile`); every file of the drop is
    checked before any of them is queued; hashed meanwhile (`HashAhead`)."""
    from shorts_desktop.core.services.hash_ahead import HashAhead  # it expands as we do

    queue.uploads.hash_ahead(HashAhead(paths))
    intake = take(paths)
    refused = [(r.name, r.reason) for r in intake.refused]
    ready: list[CheckedFile] = []
    held: list[HeldFile] = []
    stored = queue.uploads.sizes_stored(c.size for c in intake.files) if check_duplicates else ()
    for checked in intake.files:
        try:
            same = (queue.uploads.same_content_as(checked.path, size_stored=True)
                    if checked.size in stored else [])
        except ShortsError as exc:
            refused.append((checked.path.name, str(exc)))
            continue
        except OSError as exc:
            refused.append((checked.path.name, _unreadable(checked.path, exc)))
            continue
        if same:
            held.append(HeldFile(checked.path.name, checked.kind, is_temp,
                                 [u.to_dict() for u in same], path=checked.path))
        else:
            ready.append(checked)
    for checked in ready:
        _add(queue, checked.path, checked.kind, is_temp, refused, content_type=checked.content_type,
             size=checked.size)
    return refused, held


def queue_held(queue: UploadQueue, held: list[HeldFile]) -> Added:
    """Queue files the user chose to upload again (worker thread)."""
    refused: list[tuple[str, str]] = []
    for item in held:
        if item.text is not None:
            try:
                queue.add_text(item.text, item.name, item.is_temp)
            except ShortsError as exc:
                refused.append((item.name, str(exc)))
        else:
            assert item.path is not None
            _add(queue, item.path, item.kind, item.is_temp, refused, item.name)
    return refused, []


def _add(queue: UploadQueue, path: Path, kind: str, is_temp: bool,
         refused: list[tuple[str, str]], name: str | None = None,
         content_type: str | None = None, size: int | None = None) -> None:
    try:
        queue.add_file(path, kind, is_temp, content_type, size)
    except ShortsError as exc:
        refused.append((name or _label(path), str(exc)))
    except OSError as exc:
        refused.append((name or path.name, _unreadable(path, exc)))


def _unreadable(path: Path, exc: OSError) -> str:
    return f"{path.name} cannot be read: {exc.strerror or exc}."
