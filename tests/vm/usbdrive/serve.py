"""The drive's firmware process, run inside the test VM by ``gadget.py``::

    python -m tests.vm.usbdrive.serve DISC.json --ffs /dev/ffs-dv --log /mnt/usbdrive/commands.jsonl

Loads the disc, answers USB on the FunctionFS mount, takes front-panel requests
(``control.py``) and appends every SCSI command, as one JSON object a line, to the log.
"""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path
from typing import TextIO

from tests.vm.usbdrive import control
from tests.vm.usbdrive.disc import Disc
from tests.vm.usbdrive.ffs import Transport
from tests.vm.usbdrive.mmc import Drive, LogEntry


def packet_size() -> int:
    """Bulk max packet size at the speed dummy_hcd enumerated the gadget."""
    for speed in Path("/sys/class/udc").glob("*/current_speed"):
        text = speed.read_text().strip()
        return {"super-speed": 1024, "high-speed": 512}.get(text, 64)
    return 512


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("disc", type=Path)
    ap.add_argument("--ffs", type=Path, required=True)
    ap.add_argument("--log", type=Path)
    args = ap.parse_args()
    drive = Drive(Disc.load(args.disc))
    if args.log is not None:
        args.log.parent.mkdir(parents=True, exist_ok=True)
        out: TextIO = open(args.log, "a")  # noqa: SIM115 (lives as long as the process)

        def record(e: LogEntry) -> None:
            out.write(json.dumps(e.to_json()) + "\n")
            out.flush()  # the guest may be powered off at any moment

        drive.on_command = record
    lock = threading.Lock()
    transport = Transport.open(drive, args.ffs, lock, packet_size)
    control.serve(drive, lock)
    threading.Thread(target=transport.control_loop, name="ep0", daemon=True).start()
    transport.bulk_loop()


if __name__ == "__main__":
    main()
