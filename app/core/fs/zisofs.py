"""zisofs (Rock Ridge ZF): check a header for sense, and decompress a file block by block.

A zisofs file is a 16-byte header (magic, real size, header size / 4, log2 of the block size),
a table of block pointers, then one zlib stream per block. Nothing is trusted: the pointer
table must fit in the stored bytes, every block must decompress to exactly its size, and memory
stays at one block (at most 128 KiB) whatever the file's size.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator

from app.core.fs.node import Image, InspectError

MAGIC = b"\x37\xe4\x53\x96\xc9\xdb\xd6\x07"
HEADER = 16
BLOCK_SIZES = (15, 16, 17)  # log2: 32, 64 and 128 KiB, all zisofs knows
PTR_WINDOW = 4096  # block pointers read at a time
_SLACK = 1024  # zlib's worst-case growth of an incompressible block is far below this


def zisofs_problem(zf: tuple[int, int, int], stored: int) -> str:
    """Why a (header bytes, log2 block size, real size) triple cannot describe ``stored``
    bytes of zisofs data ("" when it can)."""
    hdr, log2, real = zf
    if log2 not in BLOCK_SIZES:
        return f"zisofs block size 2^{log2} is not valid"
    if hdr < HEADER:
        return f"zisofs header of {hdr} bytes is not valid"
    blocks = -(-real >> log2)
    if hdr + (blocks + 1) * 4 > stored:
        return f"zisofs claims {real} bytes, more than {stored} stored bytes can describe"
    return ""


def file_header(data: bytes) -> tuple[int, int, int] | None:
    """The (header bytes, log2 block size, real size) a zisofs file's own header states."""
    if len(data) < HEADER or data[:8] != MAGIC:
        return None
    return data[12] * 4, data[13], struct.unpack_from("<I", data, 8)[0]


def stored_reader(img: Image, spans: list[tuple[int, int]]) -> Callable[[int, int], bytes]:
    """read(offset, length) over a file's stored bytes, across its (image byte offset, bytes)
    spans, never past them."""

    def read(offset: int, length: int) -> bytes:
        out = bytearray()
        pos = 0
        for start, ln in spans:
            if length <= 0:
                break
            if offset < pos + ln:
                skip = max(offset - pos, 0)
                take = min(ln - skip, length)
                got = img.read(start + skip, take)
                out += got
                if len(got) < take:
                    raise InspectError("the image ends inside this file (truncated image)")
                offset += take
                length -= take
            pos += ln
        return bytes(out)

    return read


def decompress(
    read: Callable[[int, int], bytes],
    stored: int,
    check: Callable[[], None] | None = None,
    zf: tuple[int, int, int] | None = None,
) -> Iterator[bytes]:
    """The real bytes of a zisofs file, one block at a time; ``InspectError`` on anything
    that does not add up (the caller refuses that file alone). The file's own header rules;
    should it be absurd while the Rock Ridge ``zf`` entry is sound, the entry's values do."""
    head = file_header(read(0, HEADER))
    if head is None:
        raise InspectError("no zisofs header at the start of the file")
    why = zisofs_problem(head, stored)
    if why and zf is not None and not zisofs_problem(zf, stored):
        head, why = zf, ""
    if why:
        raise InspectError(why)
    hdr, log2, real = head
    block = 1 << log2
    blocks = -(-real >> log2)
    limit = block + _SLACK
    ptrs: tuple[int, ...] = ()
    first = 0  # index of ptrs[0] in the whole table
    for i in range(blocks):
        if check is not None:
            check()
        if i + 1 >= first + len(ptrs):  # the next window of pointers (it overlaps by one)
            first = i
            count = min(PTR_WINDOW, blocks + 1 - i)
            raw = read(hdr + 4 * i, 4 * count)
            if len(raw) != 4 * count:
                raise InspectError("zisofs block pointers run past the file")
            ptrs = struct.unpack(f"<{count}I", raw)
        a, b = ptrs[i - first], ptrs[i + 1 - first]
        want = min(block, real - i * block)
        if a == b:  # an all-zero block is stored as nothing
            yield bytes(want)
            continue
        if b < a or b - a > limit or b > stored:
            raise InspectError(f"zisofs block {i} has impossible pointers ({a}..{b})")
        d = zlib.decompressobj()
        try:
            data = d.decompress(read(a, b - a), want)  # bounded: no block grows past its size
        except zlib.error as e:
            raise InspectError(f"zisofs data is corrupt in block {i} ({e})") from None
        if len(data) != want:
            raise InspectError(f"zisofs block {i} decompresses to {len(data)} bytes, not {want}")
        yield data
