"""The drive's front panel, for guest scripts: swap, eject, close, inspect, stop.

Inside the guest, while the drive serves::

    python -m tests.vm.usbdrive.control load /path/other.json   # autoloader: swap the disc
    python -m tests.vm.usbdrive.control eject [--force]         # the eject button
    python -m tests.vm.usbdrive.control close | remove | status | stop
    python -m tests.vm.usbdrive.control configure '{"refuse": ["SET CD SPEED"], "delay": 0.05}'

or from Python ``control.request("load", path=...)``. Each prints/returns a JSON object with
``ok``. The channel is an abstract Unix socket (the guest's root is read-only 9p).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from typing import Any

from tests.vm.usbdrive.disc import Disc
from tests.vm.usbdrive.mmc import Drive
from tests.vm.usbdrive.scsi import OPCODES

ADDRESS = "\0discvault-usbdrive"


def handle(drive: Drive, req: dict[str, Any]) -> dict[str, Any]:
    cmd = req.get("cmd")
    if cmd == "load":
        drive.load(Disc.load(req["path"]))
        return {"ok": True}
    if cmd == "eject":
        return {"ok": drive.press_eject(bool(req.get("force")))}
    if cmd == "close":
        drive.close_tray()
        return {"ok": True}
    if cmd == "remove":
        drive.remove()
        return {"ok": True}
    if cmd == "status":
        return {
            "ok": True,
            "disc": drive.disc.source if drive.disc else None,
            "tray_open": drive.tray_open,
            "prevent": drive.prevent,
            "read_retry_count": drive.mode.read_retry_count,
            "read_speed": drive.read_speed,
            "requested_speed": drive.requested_speed,
            "failures": {str(k): v for k, v in drive.failures.items()},
            "commands": drive.commands_seen,
            "mechanics": drive.mech.status(),
        }
    if cmd == "configure":  # firmware knobs while it runs (tests: a drive that refuses, is slow)
        if "refuse" in req:
            names = {name: op for op, name in OPCODES.items()}
            drive.refused = {names[n] for n in req["refuse"]}
        if "delay" in req:
            drive.mech.delay = float(req["delay"])
        return {"ok": True}
    return {"ok": False, "error": f"unknown command {cmd!r}"}


def serve(drive: Drive, lock: threading.Lock) -> threading.Thread:
    """Answer control requests in a daemon thread; ``stop`` ends the whole process."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(ADDRESS)
    srv.listen(4)

    def loop() -> None:
        while True:
            conn, _ = srv.accept()
            with conn, conn.makefile("rw") as f:
                try:
                    req = json.loads(f.readline())
                    if req.get("cmd") == "stop":
                        f.write(json.dumps({"ok": True}) + "\n")
                        f.flush()
                        os._exit(0)
                    with lock:
                        reply = handle(drive, req)
                except (ValueError, KeyError, OSError) as e:
                    reply = {"ok": False, "error": str(e)}
                f.write(json.dumps(reply) + "\n")

    t = threading.Thread(target=loop, name="control", daemon=True)
    t.start()
    return t


def request(cmd: str, **args: Any) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(ADDRESS)
        f = s.makefile("rw")
        f.write(json.dumps({"cmd": cmd, **args}) + "\n")
        f.flush()
        reply: dict[str, Any] = json.loads(f.readline() or '{"ok": false}')
        return reply


def main(argv: list[str]) -> int:
    if not argv:
        print(
            "usage: control load PATH | eject [--force] | close | remove | status | stop"
            " | configure JSON"
        )
        return 2
    cmd, rest = argv[0], argv[1:]
    args: dict[str, Any] = {}
    if cmd == "load":
        args["path"] = os.path.abspath(rest[0])
    if cmd == "eject":
        args["force"] = "--force" in rest
    if cmd == "configure":
        args.update(json.loads(rest[0]))
    reply = request(cmd, **args)
    print(json.dumps(reply))
    return 0 if reply.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
