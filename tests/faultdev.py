"""A real block device with real read errors: loop device (2048-byte sectors) over faultfs.

Used by the integration tests and the benchmarks. Needs root, /dev/fuse, libfuse and losetup.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def unavailable_reason() -> str | None:
    """Why fault devices cannot be made here, or None when they can."""
    if not sys.platform.startswith("linux"):
        return "not Linux"
    if os.geteuid() != 0:
        return "needs root for losetup and mount"
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing"
    if not shutil.which("losetup"):
        return "losetup is missing (util-linux)"
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as e:
        return f"mfusepy/libfuse unavailable: {e}"
    return None


class FaultDevice:
    """``/dev/loopN`` serving ``backing`` with the defects in ``faults``."""

    def __init__(
        self, backing: Path, workdir: Path, faults: list[dict[str, Any]], error_delay: float = 0.0
    ) -> None:
        self.backing = backing
        self.mnt = workdir / "faultfs"
        self.mnt.mkdir(parents=True, exist_ok=True)
        spec = workdir / "faults.json"
        spec.write_text(json.dumps({"faults": faults, "error_delay": error_delay}))
        self.log = open(workdir / "faultfs.log", "wb")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "faultfs.py"), str(backing), str(self.mnt), str(spec)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while not os.path.ismount(self.mnt):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError(
                    f"faultfs did not mount: {(workdir / 'faultfs.log').read_text()}"
                )
            time.sleep(0.05)
        out = subprocess.run(
            ["losetup", "-f", "--show", "-r", "--sector-size", "2048", str(self.mnt / "disc")],
            check=True,
            capture_output=True,
            text=True,
        )
        self.path = out.stdout.strip()

    def control(self, command: str) -> None:
        with open(self.mnt / "control", "w") as f:
            f.write(command)

    def vanish(self) -> None:
        """The disc is pulled: every read fails and the device reports size 0, as sr does."""
        self.control("vanish")
        subprocess.run(["losetup", "-c", self.path], check=True)

    def restore(self) -> None:
        self.control("restore")
        subprocess.run(["losetup", "-c", self.path], check=True)

    def stats(self) -> dict[str, Any]:
        return json.loads((self.mnt / "stats").read_text())  # type: ignore[no-any-return]

    def close(self) -> None:
        subprocess.run(["losetup", "-d", self.path], check=False, capture_output=True)
        for _ in range(50):
            r = subprocess.run(["umount", str(self.mnt)], capture_output=True)
            if r.returncode == 0 or not os.path.ismount(self.mnt):
                break
            time.sleep(0.1)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def expected_image(data: bytes, bad: set[int], sector: int = 2048) -> bytes:
    """What a perfect rescue produces: the source with unreadable sectors left zero."""
    out = bytearray(data)
    for lba in bad:
        out[lba * sector : (lba + 1) * sector] = bytes(sector)
    return bytes(out)
