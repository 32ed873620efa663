"""Runs inside the QEMU guest (see testvm.py): every drive-layer check, results to /mnt.

Steps that need the host (QMP eject/swap) are synchronised through marker files in /mnt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

OUT = "/mnt"
PY = [sys.executable, "-m", "app"]


def run(name: str, *args: str, env: dict[str, str] | None = None) -> int:
    r = subprocess.run(
        [*PY, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    with open(f"{OUT}/{name}.out", "w") as f:
        f.write(r.stdout + r.stderr)
    with open(f"{OUT}/{name}.rc", "w") as f:
        f.write(str(r.returncode))
    return r.returncode


def drives(name: str) -> None:
    run(name, "drives", "--json")


def mark(name: str) -> None:
    with open(f"{OUT}/{name}", "w") as f:
        f.write("1")


def wait_mark(name: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(f"{OUT}/{name}") and time.monotonic() < deadline:
        time.sleep(0.2)


def finished_some(mapfile: str) -> bool:
    try:
        with open(mapfile) as f:
            lines = f.read().splitlines()
    except OSError:
        return False
    return any(ln.startswith("0x") and ln.split()[2:3] == ["+"] for ln in lines)


def main() -> None:
    drives("drives1")
    # 1. rip the disc with permanent and flaky MEDIUM ERROR sectors: through SG_IO (the
    #    default on a drive), then again with plain O_DIRECT reads
    run("rip1", "rip", "/dev/sr0", f"{OUT}/rip1.iso")
    run("rip1b", "rip", "/dev/sr0", f"{OUT}/rip1b.iso", env={"DISCVAULT_NO_SGIO": "1"})
    # 1c. a rip killed with SIGKILL while the tray is locked: the eject below must still work
    killed = subprocess.Popen([*PY, "rip", "/dev/sr0", f"{OUT}/killed.iso"])
    while not os.path.exists(f"{OUT}/killed.iso.map") and killed.poll() is None:
        time.sleep(0.05)
    killed.kill()
    killed.wait()
    # 2. eject and close through the CDROM ioctls
    run("eject", "eject", "/dev/sr0")
    drives("drives_ejected")
    run("close", "eject", "--close", "/dev/sr0")
    time.sleep(1)
    drives("drives_closed")
    # 3. watch() while the host removes the disc and inserts another one (QMP)
    from app.platform import watch

    events: list[dict[str, str]] = []
    stop = threading.Event()

    def collect() -> None:
        for ev in watch(interval=0.5, stop=stop.is_set):
            events.append({"kind": ev.kind, "path": ev.drive.path, "label": ev.drive.label})

    t = threading.Thread(target=collect)
    t.start()
    time.sleep(1.5)
    mark("watch.ready")  # host: eject, wait, insert disc 2
    wait_mark("watch.swapped")
    time.sleep(3)
    stop.set()
    t.join()
    with open(f"{OUT}/events.json", "w") as f:
        json.dump(events, f)
    drives("drives_swapped")
    # 4. the disc is pulled while a rip runs
    proc = subprocess.Popen(
        [*PY, "rip", "/dev/sr0", f"{OUT}/rip2.iso", "--save-interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # once the mapfile vouches for some sectors (setting the drive up takes a while in TCG)
    while not finished_some(f"{OUT}/rip2.iso.map") and proc.poll() is None:
        time.sleep(0.05)
    mark("rip2.started")  # host: eject now
    out, _ = proc.communicate()
    with open(f"{OUT}/rip2.out", "w") as f:
        f.write(out)
    with open(f"{OUT}/rip2.rc", "w") as f:
        f.write(str(proc.returncode))
    mark("done")


if __name__ == "__main__":
    main()
