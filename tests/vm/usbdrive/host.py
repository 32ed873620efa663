"""The host side: boot the test VM with the emulated USB drive as its /dev/sr0.

    from tests.vm.usbdrive.host import usb_drive_guest, run_usb_drive_guest

    out = run_usb_drive_guest(disc_json, guest_script, workdir)   # one boot, returns /mnt
    with usb_drive_guest(disc_json, guest_script, workdir) as g:  # to act while it runs
        g.wait_for_file("step1.done"); ...
    g.rc, g.out, g.commands()

In the guest, once ``/dev/sr0`` is up, ``guest_script`` runs (``.py`` with the host's Python,
anything else with ``sh``) in the checkout with ``PYTHONPATH`` set; ``$OUT`` (= /mnt) is the
host's ``g.out`` folder, ``$PY`` the Python. It may swap discs with
``$PY -m tests.vm.usbdrive.control load other.json``. Afterwards ``g.out`` holds
``usbdrive/commands.jsonl`` (every SCSI command the drive received), ``usbdrive/ready.txt``
(guest uptime when the script started), ``dmesg.txt`` and ``guest.log``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.vm.testvm import Guest, unavailable_reason

ROOT = Path(__file__).resolve().parents[3]
__all__ = ["UsbDriveGuest", "run_usb_drive_guest", "unavailable_reason", "usb_drive_guest"]

WRAPPER = """\
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PYTHONPATH={root} PYTHONDONTWRITEBYTECODE=1 OUT=/mnt PY={py}
cd {root}
mkdir -p /mnt/usbdrive
if ! $PY -m tests.vm.usbdrive.gadget up {disc} --log /mnt/usbdrive/commands.jsonl \\
     > /mnt/usbdrive/up.log 2>&1; then
  dmesg > /mnt/dmesg.txt; exit 90
fi
cut -d' ' -f1 /proc/uptime > /mnt/usbdrive/ready.txt
{run} {script}
rc=$?
cut -d' ' -f1 /proc/uptime > /mnt/usbdrive/finished.txt
dmesg > /mnt/dmesg.txt
exit $rc
"""


class UsbDriveGuest:
    def __init__(self, guest: Guest) -> None:
        self.guest = guest
        self.out = guest.out
        self.rc: int | None = None

    def wait_for_file(self, name: str, timeout: float = 300) -> None:
        self.guest.wait_for_file(name, timeout)

    def commands(self) -> list[dict[str, Any]]:
        """Every SCSI command the drive answered, in order (see ``mmc.LogEntry.to_json``)."""
        log = self.out / "usbdrive" / "commands.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]

    def text(self, name: str) -> str:
        p = self.out / name
        return p.read_text(errors="replace") if p.exists() else ""

    def failure(self) -> str:
        """What went wrong, for an assertion message."""
        return "\n".join(
            f"--- {n}\n{self.text(n)[-3000:]}"
            for n in ("guest.log", "usbdrive/up.log", "usbdrive/commands.stderr", "dmesg.txt")
        )


@contextmanager
def usb_drive_guest(
    disc: Path, guest_script: Path, workdir: Path, timeout: float = 600
) -> Iterator[UsbDriveGuest]:
    """Boot, yield while the guest runs, wait for it to power off (``g.rc`` is then set)."""
    workdir.mkdir(parents=True, exist_ok=True)
    wrapper = workdir / "usbdrive-guest.sh"
    wrapper.write_text(
        WRAPPER.format(
            root=ROOT,
            py=sys.executable,
            disc=Path(disc).resolve(),
            script=Path(guest_script).resolve(),
            run="$PY" if str(guest_script).endswith(".py") else "sh",
        )
    )
    guest = Guest(wrapper, None, workdir, [], [], timeout=timeout, usb=True).start()
    g = UsbDriveGuest(guest)
    try:
        yield g
    except BaseException:
        if guest.proc is not None:
            guest.proc.kill()
        raise
    g.rc = guest.wait()


def run_usb_drive_guest(
    disc: Path, guest_script: Path, workdir: Path, timeout: float = 600
) -> UsbDriveGuest:
    """One boot, start to finish; ``RuntimeError`` with the guest's logs unless it exits 0."""
    with usb_drive_guest(disc, guest_script, workdir, timeout) as g:
        pass
    if g.rc != 0:
        raise RuntimeError(f"the USB drive guest exited {g.rc}\n{g.failure()}")
    return g
