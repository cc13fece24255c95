"""The object key layout and the metadata every object carries.

    {S3_TEMP_PREFIX}{upload_id}/{safe_name}          temporary upload
    {S3_VIDEOS_PREFIX}{upload_id}/{safe_name}        permanent video
    {S3_TRANSCRIPTS_PREFIX}{upload_id}/{safe_name}   permanent transcript
    {S3_PROCESSED_PREFIX}{job_id}/{name}             results of a job

Metadata holds enough (upload id, kind, original name, checksum) to rebuild the
database from the bucket alone. S3 metadata is ASCII, so the name is percent-encoded.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, unquote

MAX_SAFE_NAME = 200
_UNSAFE = re.compile(r"[^A-Za-z0-9._\-]+")


def safe_name(original: str) -> str:
    """A file name with no path separator, no `..`, no control characters, never empty."""
    base = original.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = _UNSAFE.sub("_", base)
    base = re.sub(r"[._]*\.[._]*", ".", base)  # a run with a dot becomes one dot
    stem, dot, ext = base.rpartition(".")
    if not dot or not 0 < len(ext) <= 10:
        stem, ext = base, ""
    limit = MAX_SAFE_NAME - (len(ext) + 1 if ext else 0)
    stem = stem[:limit].strip("._") or "file"
    return f"{stem}.{ext}" if ext else stem


def upload_key(prefix: str, upload_id: str, original_name: str) -> str:
    return f"{prefix}{upload_id}/{safe_name(original_name)}"


def processed_key(prefix: str, job_id: str, name: str) -> str:
    return f"{prefix}{job_id}/{safe_name(name)}"


def upload_id_from_key(prefix: str, key: str) -> str | None:
    """The upload id a key under `prefix` belongs to, or None when it is not ours."""
    if not key.startswith(prefix):
        return None
    rest = key[len(prefix) :]
    uid, slash, name = rest.partition("/")
    if not slash or not name or not re.fullmatch(r"[0-9a-f\-]{32,36}", uid):
        return None
    return uid


def object_metadata(
    upload_id: str, kind: str, original_name: str, checksum: str | None, is_temp: bool,
    media: tuple[float, int, int] | None = None,
) -> dict[str, str]:
    """`media`: a video's (duration, width, height), so that `sync` restores them too.
    Without a `checksum` the engine adds the one it computes, when it has it before the
    first byte (a single PUT); a multipart object's SHA-256 is in its row only."""
    meta = {
        "upload-id": upload_id,
        "kind": kind,
        "original-name": quote(original_name, safe=""),
        "is-temp": "true" if is_temp else "false",
    }
    if checksum is not None:
        meta["sha256"] = checksum
    if media is not None:
        meta["duration"] = f"{media[0]:.3f}"
        meta["width"], meta["height"] = str(media[1]), str(media[2])
    return meta


def media_from_metadata(meta: dict[str, str]) -> tuple[float, int, int] | None:
    """A video's (duration, width, height) from its object's metadata, when it has them."""
    try:
        return float(meta["duration"]), int(meta["width"]), int(meta["height"])
    except (KeyError, ValueError):
        return None


def read_metadata(meta: dict[str, str]) -> dict[str, str]:
    """The metadata with the original name decoded again."""
    out = dict(meta)
    if "original-name" in out:
        out["original-name"] = unquote(out["original-name"])
    return out
