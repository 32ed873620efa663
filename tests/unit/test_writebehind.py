"""Write-behind: a range is reported done only after its write returned; an error surfaces once
in the caller, and nothing is written after it."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from app.core.base.writebehind import WriteBehind


def test_writes_land_in_order_and_are_reported_only_when_written(tmp_path: Path) -> None:
    p = tmp_path / "img"
    fd = os.open(p, os.O_RDWR | os.O_CREAT)
    gate = threading.Event()
    written: list[int] = []

    def write(lba: int, data: bytes) -> None:
        gate.wait()
        os.pwrite(fd, data, lba * 2048)
        written.append(lba)

    w = WriteBehind(fd, 2048, write, depth=4)
    chunks = {lba: bytes([lba]) * 2048 * 3 for lba in range(0, 30, 3)}
    for lba in list(chunks)[:3]:
        w.put(lba, chunks[lba])
    assert w.done() == []  # nothing written yet: nothing may be marked finished
    gate.set()
    for lba in list(chunks)[3:]:
        w.put(lba, chunks[lba])
    done = w.drain()
    assert done == [(lba, 3) for lba in chunks] and written == list(chunks)
    assert p.read_bytes() == b"".join(chunks.values())
    w.close()
    os.close(fd)


def test_an_error_is_raised_once_and_stops_the_writes(tmp_path: Path) -> None:
    written: list[int] = []

    def write(lba: int, data: bytes) -> None:
        if lba == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(lba)

    w = WriteBehind(-1, 2048, write)
    for lba in range(5):
        w.put(lba, bytes(2048))
    with pytest.raises(OSError) as e:
        w.drain()
    assert e.value.errno == errno.ENOSPC
    assert written == [0, 1]  # after the failure nothing more is written; the error is not
    # raised again, and what was written before it is still reported (the final save marks it)
    assert w.drain() == [(0, 1), (1, 1)]
    w.close()
