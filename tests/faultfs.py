"""A FUSE filesystem that serves one disc image with injected defects, for loop-device tests.

Run as its own process (so its GIL never competes with the code under test):

    python tests/faultfs.py BACKING MOUNTPOINT SPEC.json

It serves ``MOUNTPOINT/disc`` (the image, read-only, direct I/O so every kernel read reaches
us), ``MOUNTPOINT/control`` (write a command: ``vanish``, ``restore``, ``reset``) and
``MOUNTPOINT/stats`` (JSON read counters). A loop device with 2048-byte sectors over ``disc``
then fails reads with EIO through the kernel exactly where the spec says, as a scratched disc
does. SPEC: ``{"faults": [{"lba": 100, "count": 4, "kind": "bad"|"flaky"|"slow",
"fails": 2, "delay": 0.05}], "error_delay": 0.0}``. As on a drive, a read stops at the first
sector that fails: a flaky sector after it in the same request is not attempted.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
import threading
import time
from typing import Any

import mfusepy

SECTOR = 2048


class FaultFS(mfusepy.Operations):  # type: ignore[misc]
    def __init__(self, backing: str, spec: dict[str, Any]) -> None:
        self.fd = os.open(backing, os.O_RDONLY)
        self.size = os.fstat(self.fd).st_size
        self.spec = spec
        self.lock = threading.Lock()
        self.error_delay = float(spec.get("error_delay", 0.0))
        self.vanished = False
        self.control_text = b""
        self.reset()

    def reset(self) -> None:
        self.bad: set[int] = set()
        self.flaky: dict[int, int] = {}
        self.slow: dict[int, float] = {}
        for f in self.spec.get("faults", []):
            for lba in range(f["lba"], f["lba"] + f.get("count", 1)):
                if f["kind"] == "bad":
                    self.bad.add(lba)
                elif f["kind"] == "flaky":
                    self.flaky[lba] = int(f.get("fails", 1))
                elif f["kind"] == "slow":
                    self.slow[lba] = float(f.get("delay", 0.05))
        self.reads = 0
        self.failed = 0
        self.failed_on_bad = 0  # failed reads that touched a permanently bad sector
        self.bytes_read = 0
        self.sector_reads: dict[int, int] = {}

    # ---- metadata -----------------------------------------------------------------------
    def getattr(self, path: str, fh: Any = None) -> dict[str, Any]:
        now = time.time()
        base = {"st_uid": 0, "st_gid": 0, "st_atime": now, "st_mtime": now, "st_ctime": now}
        if path == "/":
            return {**base, "st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2}
        if path == "/disc":
            size = 0 if self.vanished else self.size
            return {**base, "st_mode": stat.S_IFREG | 0o444, "st_nlink": 1, "st_size": size}
        if path == "/control":
            return {**base, "st_mode": stat.S_IFREG | 0o644, "st_nlink": 1, "st_size": 0}
        if path == "/stats":
            return {**base, "st_mode": stat.S_IFREG | 0o444, "st_nlink": 1, "st_size": 0}
        raise mfusepy.FuseOSError(errno.ENOENT)

    def readdir(self, path: str, fh: Any) -> list[str]:
        return [".", "..", "disc", "control", "stats"]

    def open(self, path: str, fi: Any) -> int:
        fi.direct_io = 1  # no page cache between the loop device and the defects
        fi.fh = 0
        return 0

    def truncate(self, path: str, length: int, fh: Any = None) -> int:
        return 0

    # ---- data ---------------------------------------------------------------------------
    def read(self, path: str, size: int, offset: int, fh: Any) -> bytes:
        if path == "/stats":
            return self._stats()[offset : offset + size]
        if path != "/disc":
            return b""
        first, last = offset // SECTOR, (offset + size - 1) // SECTOR
        with self.lock:
            self.reads += 1
            fail = self.vanished
            on_bad = False
            delay = 0.0
            # A drive reads a request's sectors in order and gives up at the first one it
            # cannot read: sectors after it are not attempted (a marginal one there gets no try).
            for lba in range(first, last + 1):
                if fail:
                    break
                if lba in self.bad or lba in self.flaky or lba in self.slow:
                    self.sector_reads[lba] = self.sector_reads.get(lba, 0) + 1
                if lba in self.bad:
                    fail = on_bad = True
                elif self.flaky.get(lba, 0) > 0:
                    self.flaky[lba] -= 1
                    fail = True
                delay = max(delay, self.slow.get(lba, 0.0))
            if fail:
                self.failed += 1
                self.failed_on_bad += on_bad
                delay = max(delay, self.error_delay)
            else:
                self.bytes_read += size
        if delay:
            time.sleep(delay)
        if fail:
            raise mfusepy.FuseOSError(errno.EIO)
        return os.pread(self.fd, size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: Any) -> int:
        if path != "/control":
            raise mfusepy.FuseOSError(errno.EROFS)
        for cmd in data.decode().split():
            with self.lock:
                if cmd == "vanish":
                    self.vanished = True
                elif cmd == "restore":
                    self.vanished = False
                elif cmd == "reset":
                    self.reset()
                else:
                    raise mfusepy.FuseOSError(errno.EINVAL)
        return len(data)

    def _stats(self) -> bytes:
        with self.lock:
            doc = {
                "reads": self.reads,
                "failed": self.failed,
                "failed_on_bad": self.failed_on_bad,
                "bytes_read": self.bytes_read,
                "sector_reads": {str(k): v for k, v in sorted(self.sector_reads.items())},
            }
        return json.dumps(doc).encode()


def main() -> None:
    backing, mountpoint, spec_path = sys.argv[1:4]
    with open(spec_path) as f:
        spec = json.load(f)
    # attr_timeout=0: a vanished disc must show size 0 to `losetup -c` at once.
    mfusepy.FUSE(
        FaultFS(backing, spec),
        mountpoint,
        foreground=True,
        raw_fi=True,
        nothreads=False,
        attr_timeout=0,
        entry_timeout=0,
    )


if __name__ == "__main__":
    main()
