"""Part sizes and the checksums that let S3 (and we) verify every part.

Part size: S3 allows at most 10,000 parts of 5 MiB to 5 GiB, so the size grows with the
file until any file up to 5 TiB fits; it is a multiple of 1 MiB so that a resumed
upload computes the same part boundaries.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from dataclasses import dataclass

import crc32c

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB
MAX_PART_SIZE = 5 * 1024 * MIB
MAX_PARTS = 10_000
MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MIB
DEFAULT_PART_SIZE = 16 * MIB

CHECKSUM_MODES = ("md5", "crc32", "crc32c", "sha256")
"""md5: Content-MD5, which every S3-compatible store checks or at least answers with
(the part ETag); crc32/crc32c/sha256: S3's flexible checksums (ChecksumAlgorithm),
cheaper (crc32c in hardware, crc32) or stronger (sha256) where the endpoint supports
them."""
#: The modes that send a CRC instead of Content-MD5 (no MD5 computed, no ETag check).
CRC_MODES = frozenset({"crc32", "crc32c"})


def part_size_for(size: int, preferred: int = DEFAULT_PART_SIZE) -> int:
    """The part size for a file of `size` bytes: >= preferred, <= 10,000 parts, MiB-aligned."""
    if size > MAX_OBJECT_SIZE:
        raise ValueError(f"{size} bytes is more than S3 accepts in one object (5 TiB).")
    part = max(MIN_PART_SIZE, -(-preferred // MIB) * MIB)
    needed = -(-size // MAX_PARTS)  # ceil(size / MAX_PARTS)
    if needed > part:
        part = -(-needed // MIB) * MIB
    return min(part, MAX_PART_SIZE)


def part_count(size: int, part_size: int) -> int:
    return max(1, -(-size // part_size))


def part_range(number: int, size: int, part_size: int) -> tuple[int, int]:
    """(offset, length) of the 1-based part `number`."""
    offset = (number - 1) * part_size
    return offset, min(part_size, size - offset)


@dataclass(frozen=True)
class PartDigest:
    """What we computed over a part's bytes before sending them."""

    md5: bytes
    extra: str | None  # base64 CRC32/CRC32C/SHA-256 for its Checksum* field, or None

    @property
    def md5_b64(self) -> str:
        return base64.b64encode(self.md5).decode("ascii")

    @property
    def md5_hex(self) -> str:
        return self.md5.hex()


class PartSums:
    """A part's checksums, fed the part piece by piece (see `upload.read_summed`).

    MD5 is kept outside the CRC modes (it is what the part ETag is), with the flexible
    checksum when the mode asks for one; a CRC mode skips MD5's cost (S3 verifies the CRC;
    the ETag check is skipped)."""

    def __init__(self, mode: str) -> None:
        self._mode = mode
        self._md5 = None if mode in CRC_MODES else hashlib.md5()
        self._sha = hashlib.sha256() if mode == "sha256" else None
        self._crc = 0

    def update(self, data: bytes | memoryview) -> None:
        if self._mode == "crc32c":
            self._crc = crc32c.crc32c(data, self._crc)
        elif self._mode == "crc32":
            self._crc = zlib.crc32(data, self._crc)
        if self._md5 is not None:
            self._md5.update(data)
        if self._sha is not None:
            self._sha.update(data)

    def digest(self) -> PartDigest:
        if self._mode in CRC_MODES:
            raw = (self._crc & 0xFFFFFFFF).to_bytes(4, "big")
            return PartDigest(b"", base64.b64encode(raw).decode("ascii"))
        assert self._md5 is not None
        sha = self._sha
        extra = None if sha is None else base64.b64encode(sha.digest()).decode("ascii")
        return PartDigest(self._md5.digest(), extra)


def digest_part(data: bytes | memoryview, mode: str) -> PartDigest:
    """The checksums of a part in memory (see `PartSums`)."""
    sums = PartSums(mode)
    sums.update(data)
    return sums.digest()


def multipart_etag(part_md5s: list[bytes]) -> str:
    """The ETag S3 gives a multipart object: MD5 of the parts' MD5s, dash, part count."""
    return f"{hashlib.md5(b''.join(part_md5s)).hexdigest()}-{len(part_md5s)}"


def composite_checksum(mode: str, part_checksums: list[str]) -> str:
    """S3's COMPOSITE checksum of a multipart object: checksum of the raw part checksums."""
    raw = b"".join(base64.b64decode(c) for c in part_checksums)
    digest = digest_part(raw, mode if mode in CRC_MODES else "sha256")
    return f"{digest.extra}-{len(part_checksums)}"


def looks_like_md5_etag(etag: str) -> bool:
    """Part ETags are MD5s on AWS (without SSE-KMS/SSE-C), MinIO, moto, R2 and most others."""
    return len(etag) == 32 and all(c in "0123456789abcdef" for c in etag.lower())
