"""A request body over bytes in memory or a range of a file, with our hooks in its reads.

Every read is a chance to honour the bandwidth limit, report bytes as they go and stop
for a pause. Chunks are at least 256 KiB (http.client asks for 8-16 KiB), which keeps
the Python work per GiB small. Over plain HTTP botocore reads the body once to sign its
SHA-256 before sending it; that first pass is not counted or throttled.
"""

from __future__ import annotations

import os

from shorts_desktop.core.transfers.bandwidth import TokenBucket
from shorts_desktop.core.transfers.state import Transfer

CHUNK = 256 * 1024


class SendBody:
    """A seekable, file-like request body for botocore."""

    def __init__(
        self,
        transfer: Transfer,
        limiter: TokenBucket,
        length: int,
        *,
        data: bytes | memoryview | None = None,
        fd: int | None = None,
        offset: int = 0,
        skip_first_pass: bool = False,
    ) -> None:
        if (data is None) == (fd is None):
            raise ValueError("give either data or fd")
        self._t = transfer
        self._limiter = limiter
        self._data = memoryview(data) if data is not None else None
        self._fd = fd
        self._offset = offset
        self._len = length
        self._pos = 0
        self._counting = not skip_first_pass
        self.credited = 0  # bytes added to the transfer's counter by this body

    def read(self, n: int | None = -1) -> bytes | memoryview:
        self._t.check()
        left = self._len - self._pos
        if left <= 0:
            return b""
        size = left if n is None or n < 0 else min(left, max(n, CHUNK))
        chunk: bytes | memoryview
        if self._data is not None:
            view = self._data[self._pos : self._pos + size]
            # A bounded read (the socket, the signer) gets a view, no copy; read-it-all
            # callers (moto's in-process stub, some wrappers) expect real bytes.
            chunk = view if n is not None and n >= 0 else bytes(view)
        else:
            assert self._fd is not None
            chunk = os.pread(self._fd, size, self._offset + self._pos)
            if not chunk:
                raise OSError("the file became shorter while it was being sent")
        if self._counting:
            self._limiter.consume(len(chunk), self._t.should_stop)
            self._t.check()
        self._pos += len(chunk)
        if self._counting and self._pos > self.credited:
            self._t.add_bytes(self._pos - self.credited)
            self.credited = self._pos
        return chunk

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 1:
            pos += self._pos
        elif whence == 2:
            pos += self._len
        if pos == 0 and self._pos >= self._len:
            self._counting = True  # a full pass (signing) is over: the next one is the send
        self._pos = max(0, min(pos, self._len))
        return self._pos

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def settle(self, success: bool) -> None:
        """Make the counter exact: a sent part counts in full, a failed one not at all."""
        if success:
            self._t.add_bytes(self._len - self.credited)
            self.credited = self._len
        else:
            self._t.add_bytes(-self.credited)
            self.credited = 0
