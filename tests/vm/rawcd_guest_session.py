"""Runs inside the QEMU guest with the emulated USB drive as /dev/sr0 (tests/vm/test_usb_rawcd.py).

DiscVault itself, as a user runs it: ``discvault rip`` through the guest kernel's sr and
usb-storage and DiscVault's SG_IO source, then ``verify`` and ``inspect`` of what it wrote. Discs
are swapped through the drive's front panel between steps. Each command's exit code, stdout
and stderr land in $OUT/results/NAME.json.

    python -m tests.vm.rawcd_guest_session CONFIG.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.vm.usb_guest_session import settle
from tests.vm.usbdrive import control

OUT = Path(os.environ.get("OUT", "/mnt"))
RESULTS = OUT / "results"


def discvault(name: str, *args: str) -> dict[str, Any]:
    r = subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=900
    )
    got = {"rc": r.returncode, "stdout": r.stdout, "stderr": r.stderr}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(got, indent=1))
    return got


def load(path: str) -> None:
    control.request("load", path=path)
    settle()


def main(config_path: str) -> None:
    cfg = json.loads(Path(config_path).read_text())
    for d in ("mixed", "noraw"):
        (OUT / d).mkdir(parents=True, exist_ok=True)
    settle()
    discvault("drives", "drives", "--json")
    game = str(OUT / "mixed" / "Game.cue")
    # 1. a scratched, silently corrupting drive: exit 1, the bad sector never kept
    discvault("rip1", "rip", "/dev/sr0", game, "--read-offset", "6", "--retries", "2")
    discvault("verify1", "verify", game, "--json")
    # 2. the same disc in a better drive: it fills the gap (a resume, proven first)
    load(cfg["clean"])
    discvault("rip2", "rip", "/dev/sr0", game, "--read-offset", "6")
    discvault("verify2", "verify", game, "--json")
    discvault("inspect", "inspect", game, "--json", "--files")
    # 3. a drive without READ CD: the data as an .iso, the audio named and not imaged
    load(cfg["noraw"])
    discvault("noraw", "rip", "/dev/sr0", str(OUT / "noraw" / "Game.iso"))
    # 4. ... and an audio CD in it: nothing to image, one line
    load(cfg["audio_noraw"])
    discvault("audio_noraw", "rip", "/dev/sr0", str(OUT / "noraw" / "Album.iso"))


if __name__ == "__main__":
    main(sys.argv[1])
