"""A read-only, seekable raw stream of known size: what pycdlib needs from a file object."""

from __future__ import annotations

import io


class SizedReader(io.RawIOBase):
    """Subclasses implement ``_read_at(pos, buf) -> int``; position bookkeeping lives here."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self._read_at(self.pos, memoryview(buf)[: max(0, self.size - self.pos)])
        self.pos += n
        return n

    def _read_at(self, pos: int, view: memoryview) -> int:
        raise NotImplementedError
