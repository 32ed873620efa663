"""Runs inside the QEMU guest with the emulated USB drive as /dev/sr0 (test_whole_disc_vm.py).

For each disc of the config, in order (the first is in the drive at boot, the others are
loaded through the drive's front panel): what the guest kernel shows (``mount -t iso9660``,
which finds the last session through CDROMMULTISESSION, ``session=N``, and ``-t hfs`` for a Mac
hybrid), then DiscVault as a user runs it: ``drives --json``, ``rip /dev/sr0 OUT.iso``,
``inspect --json OUT.iso``, ``verify OUT.iso --against /dev/sr0``. Every command's exit code,
output and duration goes to ``/mnt/whole/NAME.json``; images to ``/mnt/whole/NAME/``.

    python -m tests.vm.whole_disc_guest CONFIG.json
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.vm.usb_guest_session import DEV, kernel_view, settle
from tests.vm.usbdrive import control

OUT = Path("/mnt/whole")


def run(*args: str, timeout: float = 600) -> dict[str, Any]:
    """One DiscVault command as a user types it; never raises (a hang is a result too).
    ``seq``: the drive's command numbers before and after, to tell its commands apart."""
    before = control.request("status").get("commands")
    t0 = time.monotonic()
    try:
        r = subprocess.run(
            [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=timeout
        )
        rc, out, err = r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = -1, str(e.stdout or ""), f"timed out after {timeout} s"
    return {
        "argv": list(args),
        "rc": rc,
        "stdout": out,
        "stderr": err,
        "seconds": round(time.monotonic() - t0, 2),
        "seq": [before, control.request("status").get("commands")],
    }


def walk(top: Path) -> dict[str, Any]:
    """Every path under a mount point: kind, size and SHA-256 of the bytes the kernel reads."""
    out: dict[str, Any] = {}
    for d, dirs, files in os.walk(top):
        for name in dirs + files:
            p = Path(d) / name
            rel = "/" + str(p.relative_to(top))
            if p.is_dir():
                out[rel] = {"kind": "dir"}
                continue
            try:
                data = p.read_bytes()
                out[rel] = {"kind": "file", "size": len(data), "sha256": sha(data)}
            except OSError as e:
                out[rel] = {"kind": "error", "errno": e.errno}
    return out


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def mount_walk(fstype: str, *options: str, source: str = DEV) -> dict[str, Any]:
    where = Path("/mnt/tmp/mnt")
    where.mkdir(parents=True, exist_ok=True)
    opts = ",".join(("ro", *options))
    t0 = time.monotonic()
    r = subprocess.run(
        ["mount", "-t", fstype, "-o", opts, source, str(where)], capture_output=True, text=True
    )
    if r.returncode:
        return {"error": r.stderr.strip(), "rc": r.returncode}
    try:
        return {"files": walk(where), "seconds": round(time.monotonic() - t0, 2)}
    finally:
        subprocess.run(["umount", str(where)], check=True)


def one_disc(disc: dict[str, Any], first: bool) -> dict[str, Any]:
    name = disc["name"]
    res: dict[str, Any] = {"name": name}
    t0 = time.monotonic()
    if not first:
        res["load"] = control.request("load", path=disc["json"])
        settle()
    res["settle_seconds"] = round(time.monotonic() - t0, 2)
    try:
        res["kernel"] = kernel_view()
    except OSError as e:  # an audio CD or a DVD may refuse an ioctl: worth knowing, not fatal
        res["kernel"] = {"errno": e.errno}
    res["drives"] = run("drives", "--json")
    res["mounts"] = {}
    for label, fstype, *options in disc.get("mounts", []):
        res["mounts"][label] = mount_walk(fstype, *options)
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / f"{name}.iso"
    res["rip"] = run("rip", DEV, str(image))
    res["files_after_rip"] = sorted(p.name for p in folder.iterdir())
    if image.exists():
        res["image_mounts"] = {}
        for label, fstype, *options in disc.get("image_mounts", []):
            res["image_mounts"][label] = mount_walk(fstype, "loop", *options, source=str(image))
        res["inspect"] = run("inspect", "--json", str(image))
        res["verify"] = run("verify", "--json", str(image), "--against", DEV)
    res["inspect_drive"] = run("inspect", "--json", DEV)  # a user pointing inspect at the drive
    return res


def main(config_path: str) -> None:
    cfg = json.loads(Path(config_path).read_text())
    OUT.mkdir(parents=True, exist_ok=True)
    loaded = []  # loop and hfs: the guest kernel's own HFS driver judges a hybrid's Mac side
    for module in cfg.get("modules", []):
        r = subprocess.run(["busybox", "insmod", module], capture_output=True, text=True)
        loaded.append({"module": module, "rc": r.returncode, "err": r.stderr})
    (OUT / "insmod.json").write_text(json.dumps(loaded))
    for i, disc in enumerate(cfg["discs"]):
        res = one_disc(disc, first=i == 0)
        (OUT / f"{disc['name']}.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
