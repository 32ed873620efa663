"""Bring the emulated USB drive up inside the test VM: a configfs gadget with one FunctionFS
function on dummy_hcd's UDC, our firmware behind it, and the guest's usb-storage + sr in front.

    python -m tests.vm.usbdrive.gadget up DISC.json [--log FILE]    # returns once /dev/sr0 is up
    python -m tests.vm.usbdrive.gadget down

Needs the modules usb-common usbcore udc-core configfs libcomposite usb_f_fs dummy_hcd
usb-storage (loaded by the VM's init when the kernel command line says dvusb=1).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

CONFIGFS = Path("/sys/kernel/config")
GADGET = CONFIGFS / "usb_gadget" / "dv"
FFS = Path("/dev/ffs-dv")


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _wait(what: str, ok: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not (ok() if callable(ok) else ok):
        if time.monotonic() > deadline:
            raise SystemExit(f"usbdrive: {what} did not happen within {timeout:.0f} s")
        time.sleep(0.1)


def up(disc: Path, log: Path | None, timeout: float) -> int:
    if not (CONFIGFS / "usb_gadget").exists():
        subprocess.run(["mount", "-t", "configfs", "none", str(CONFIGFS)], check=True)
    GADGET.mkdir()
    _write(GADGET / "idVendor", "0x1d6b")  # Linux Foundation
    _write(GADGET / "idProduct", "0x0104")  # multifunction composite gadget
    _write(GADGET / "bcdUSB", "0x0200")
    _write(GADGET / "bcdDevice", "0x0100")
    strings = GADGET / "strings" / "0x409"
    strings.mkdir()
    _write(strings / "manufacturer", "DiscVault tests")
    _write(strings / "product", "Emulated USB optical drive")
    _write(strings / "serialnumber", "DV0001")
    config = GADGET / "configs" / "c.1"
    config.mkdir()
    (config / "strings" / "0x409").mkdir()
    _write(config / "strings" / "0x409" / "configuration", "mass storage")
    _write(config / "MaxPower", "100")
    function = GADGET / "functions" / "ffs.dv"
    function.mkdir()
    os.symlink(function, config / "ffs.dv")
    FFS.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "functionfs", "dv", str(FFS)], check=True)
    cmd = [sys.executable, "-m", "tests.vm.usbdrive.serve", str(disc), "--ffs", str(FFS)]
    if log is not None:
        cmd += ["--log", str(log)]
    errors = open(log.with_suffix(".stderr") if log else os.devnull, "ab")  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=errors, stderr=errors, start_new_session=True)
    _wait("the firmware writing its USB descriptors", lambda: (FFS / "ep2").exists(), timeout)
    if proc.poll() is not None:
        raise SystemExit(f"usbdrive: the firmware exited with {proc.returncode}")
    (udc,) = os.listdir("/sys/class/udc")
    _write(GADGET / "UDC", udc)
    _wait(
        "/dev/sr0", lambda: Path("/sys/block/sr0").exists() and Path("/dev/sr0").exists(), timeout
    )
    print(proc.pid)
    return 0


def down() -> int:
    from tests.vm.usbdrive import control

    with contextlib.suppress(OSError):
        control.request("stop")
    if GADGET.exists():
        _write(GADGET / "UDC", "\n")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="action", required=True)
    u = sub.add_parser("up")
    u.add_argument("disc", type=Path)
    u.add_argument("--log", type=Path)
    u.add_argument("--timeout", type=float, default=60)
    sub.add_parser("down")
    args = ap.parse_args()
    if args.action == "up":
        return up(args.disc, args.log, args.timeout)
    return down()


if __name__ == "__main__":
    sys.exit(main())
