"""Runs inside the QEMU guest for test_changer.py: `discvault auto` over two SCSI CD drives.

The host plays the autoloader over QMP (``blockdev-change-medium``, ``eject``); this side runs
`discvault auto --eject --verify` on /dev/sr0 and /dev/sr1 with its event lines going to
/mnt/auto.jsonl (the host reads them as they come, to know when to act), and at the end leaves
what the library holds in /mnt for the host to check: `library list/show --json`, the journal,
and every disc folder's image and mapfile.

The library lives on a tmpfs in the guest: the shared folder (9p) is no place for SQLite.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

OUT = "/mnt"
PY = [sys.executable, "-m", "app"]
DISK = f"{OUT}/tmp/libdisk"
LIB = f"{DISK}/lib"


def wait_mark(name: str, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(f"{OUT}/{name}") and time.monotonic() < deadline:
        time.sleep(0.2)


def save(name: str, *args: str) -> None:
    r = subprocess.run([*PY, *args], capture_output=True, text=True)
    with open(f"{OUT}/{name}", "w") as f:
        f.write(r.stdout if r.returncode == 0 else f"rc {r.returncode}: {r.stderr}")


def main() -> None:
    os.makedirs(DISK, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400m", "tmpfs", DISK], check=True)
    with open(f"{OUT}/ready", "w") as f:
        f.write("1")
    wait_mark("go")  # the host has put the first discs in
    with open(f"{OUT}/auto.jsonl", "w") as log:
        proc = subprocess.Popen(
            [*PY, "auto", "--library", LIB, "--drives", "/dev/sr0", "/dev/sr1", "--eject",
             "--verify", "--json", "--poll", "0.5", "--progress-every", "0.5"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_mark("stop")
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(120)
    with open(f"{OUT}/auto.rc", "w") as f:
        f.write(str(rc))
    save("list.json", "library", "list", "--json", "--library", LIB)
    keep = f"{OUT}/lib"
    os.makedirs(keep, exist_ok=True)
    shutil.copy(f"{LIB}/.discvault/auto.jsonl", f"{keep}/journal.jsonl")
    for folder in sorted(os.listdir(LIB)):
        if folder.startswith("."):
            continue
        save(f"show-{folder}.json", "library", "show", folder, "--json", "--library", LIB)
        os.makedirs(f"{keep}/{folder}")
        for name in os.listdir(f"{LIB}/{folder}"):
            if name.endswith((".iso", ".map")):
                shutil.copy(f"{LIB}/{folder}/{name}", f"{keep}/{folder}/{name}")
    with open(f"{OUT}/done", "w") as f:
        f.write("1")


if __name__ == "__main__":
    main()
