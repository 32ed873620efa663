"""Runs inside the QEMU guest with the emulated USB drive as /dev/sr0 (tests/vm/test_usb_drive.py).

Each step asks the guest kernel (mount, CDROM ioctls, O_DIRECT) or the drive (SG_IO) something
and writes the answer to /mnt/results/NAME.json; the host test compares them with the disc
descriptions. Discs are swapped through the drive's front panel (``usbdrive.control``).

    python -m tests.vm.usb_guest_session CONFIG.json
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tests.vm.usbdrive import control
from tests.vm.usbdrive.sgprobe import Probe, sg_run

OUT = Path("/mnt/results")
DEV = "/dev/sr0"
CDROMMULTISESSION, CDROM_DISC_STATUS, CDROM_DRIVE_STATUS = 0x5310, 0x5327, 0x5326
CDROMREADTOCHDR, CDROMREADTOCENTRY = 0x5305, 0x5306
CDROMEJECT, CDROMCLOSETRAY = 0x5309, 0x5319
CDROM_LBA = 0x01
BLKGETSIZE64 = 0x80081272
SG_SCSI_RESET, SG_SCSI_RESET_DEVICE = 0x2284, 1


def save(name: str, value: Any) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(value, indent=1))


def sg(*probes: Probe) -> list[dict[str, Any]]:
    fd = os.open(DEV, os.O_RDWR | os.O_NONBLOCK)
    try:
        return [asdict(sg_run(fd, p)) for p in probes]
    finally:
        os.close(fd)


def cdb(*b: int) -> bytes:
    return bytes(b)


def read10(lba: int, count: int = 1) -> Probe:
    return Probe(
        f"read10 {lba}+{count}", cdb(0x28, 0, *lba.to_bytes(4, "big"), 0, 0, count, 0), count * 2048
    )


def read12(lba: int, count: int) -> Probe:
    c = bytes([0xA8, 0]) + lba.to_bytes(4, "big") + count.to_bytes(4, "big") + b"\0\0"
    return Probe(f"read12 {lba}+{count}", c, count * 2048)


def toc_probes() -> list[Probe]:
    return [
        Probe("toc0", cdb(0x43, 0, 0, 0, 0, 0, 0, 0x03, 0x24, 0), 804),
        Probe("toc0 msf", cdb(0x43, 2, 0, 0, 0, 0, 0, 0x03, 0x24, 0), 804),
        Probe("toc1", cdb(0x43, 0, 1, 0, 0, 0, 0, 0, 12, 0), 12),
        Probe("toc1 old-style", cdb(0x43, 0, 0, 0, 0, 0, 0, 0, 12, 0x40), 12),
        Probe("toc2", cdb(0x43, 2, 2, 0, 0, 0, 0, 0x03, 0x24, 0), 804),
        Probe("capacity", cdb(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0), 8),
        Probe("disc info", cdb(0x51, 0, 0, 0, 0, 0, 0, 0, 34, 0), 34),
        Probe("track 1", cdb(0x52, 1, 0, 0, 0, 1, 0, 0, 48, 0), 48),
        Probe("track 2", cdb(0x52, 1, 0, 0, 0, 2, 0, 0, 48, 0), 48),
        Probe("profile", cdb(0x46, 1, 0, 0, 0, 0, 0, 0, 8, 0), 8),
    ]


def ioctl_int(request: int, arg: int = 0) -> int:
    fd = os.open(DEV, os.O_RDONLY | os.O_NONBLOCK)
    try:
        return fcntl.ioctl(fd, request, arg)
    finally:
        os.close(fd)


def kernel_view() -> dict[str, Any]:
    """What the kernel's cdrom layer says about the disc."""
    fd = os.open(DEV, os.O_RDONLY | os.O_NONBLOCK)
    try:
        ms = bytearray(8)
        ms[5] = CDROM_LBA  # addr_format
        fcntl.ioctl(fd, CDROMMULTISESSION, ms)
        hdr = bytearray(2)
        fcntl.ioctl(fd, CDROMREADTOCHDR, hdr)
        entries = []
        for t in range(hdr[0], hdr[1] + 1):
            e = bytearray(12)
            e[0], e[2] = t, CDROM_LBA
            fcntl.ioctl(fd, CDROMREADTOCENTRY, e)
            entries.append({"track": t, "ctrl": e[1] >> 4, "lba": int.from_bytes(e[4:8], "little")})
        size = bytearray(8)
        fcntl.ioctl(fd, BLKGETSIZE64, size)
        return {
            "multisession_lba": int.from_bytes(ms[0:4], "little"),
            "xa_flag": ms[4],
            "disc_status": fcntl.ioctl(fd, CDROM_DISC_STATUS, 0),
            "first_last": [hdr[0], hdr[1]],
            "entries": entries,
            "size": int.from_bytes(size, "little"),
        }
    finally:
        os.close(fd)


def walk(top: Path) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for d, dirs, files in os.walk(top):
        for name in dirs + files:
            p = Path(d) / name
            rel = "/" + str(p.relative_to(top))
            if p.is_dir():
                out[rel] = ["dir"]
            else:
                try:
                    out[rel] = ["file", hashlib.sha256(p.read_bytes()).hexdigest()]
                except OSError as e:
                    out[rel] = ["error", errno.errorcode.get(e.errno or 0, str(e.errno))]
    return out


def mounted(name: str, *options: str) -> None:
    where = Path("/mnt/tmp") / name
    where.mkdir(parents=True, exist_ok=True)
    opts = ",".join(("ro", *options))
    r = subprocess.run(
        ["mount", "-t", "iso9660", "-o", opts, DEV, str(where)], capture_output=True, text=True
    )
    if r.returncode:
        save(name, {"error": r.stderr})
        return
    try:
        save(name, walk(where))
    finally:
        subprocess.run(["umount", str(where)], check=True)


def settle() -> None:
    """After a disc change: let the kernel notice (open), then wait until the drive is ready."""
    for _ in range(20):
        with contextlib.suppress(OSError):
            os.close(os.open(DEV, os.O_RDONLY | os.O_NONBLOCK))
        (tur,) = sg(Probe("tur", cdb(0, 0, 0, 0, 0, 0)))
        if tur["status"] == 0:
            return
        time.sleep(0.3)


def direct_read(lba: int) -> dict[str, Any]:
    fd = os.open(DEV, os.O_RDONLY | os.O_DIRECT)
    buf = ctypes.create_string_buffer(2048 + 4096)
    aligned = (ctypes.addressof(buf) + 4095) & ~4095
    view = (ctypes.c_char * 2048).from_address(aligned)
    try:
        n = os.preadv(fd, [memoryview(view).cast("B")], lba * 2048)
        return {"read": n, "sha": hashlib.sha256(bytes(view)).hexdigest()}
    except OSError as e:
        return {"errno": e.errno}
    finally:
        os.close(fd)


def main(config_path: str) -> None:
    cfg = json.loads(Path(config_path).read_text())
    sysfs = Path("/sys/block/sr0")
    save(
        "sysfs",
        {
            "vendor": (sysfs / "device/vendor").read_text().strip(),
            "model": (sysfs / "device/model").read_text().strip(),
            "max_hw_sectors_kb": int((sysfs / "queue/max_hw_sectors_kb").read_text()),
            "cdrom_info": Path("/proc/sys/dev/cdrom/info").read_text(),
        },
    )
    # --- the two-session CD-R ----------------------------------------------------------------
    ms = cfg["multisession"]
    save("ms_toc", sg(*toc_probes()))
    bad, flaky, runout, gap = ms["bad"], ms["flaky"], ms["runout"], ms["gap"]
    save(
        "ms_defects",
        sg(
            read10(bad),
            read10(bad),
            read10(flaky),
            read10(flaky),
            read10(flaky),
            read10(runout),
            read10(gap),
        ),
    )
    save("ms_direct_bad", direct_read(bad))
    save("ms_kernel", kernel_view())
    mounted("ms_last")
    mounted("ms_session0", "session=0")
    mode01 = Probe("mode sense 01", cdb(0x5A, 0x08, 0x01, 0, 0, 0, 0, 0, 20, 0), 20)
    (current,) = sg(mode01)
    params = bytearray.fromhex(current["data"])
    params[0:2] = b"\0\0"
    params[11] = 5  # read retry count
    settings = sg(
        Probe("mode select", cdb(0x55, 0x10, 0, 0, 0, 0, 0, 0, len(params), 0), 0, bytes(params)),
        mode01,
        Probe("set speed", cdb(0xBB, 0, 0x03, 0xE8, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0)),
        Probe("mode sense 2a", cdb(0x5A, 0x08, 0x2A, 0, 0, 0, 0, 0, 38, 0), 38),
        Probe("prevent", cdb(0x1E, 0, 0, 0, 1, 0)),
        Probe("eject while locked", cdb(0x1B, 0, 0, 0, 0x02, 0)),
        Probe("allow", cdb(0x1E, 0, 0, 0, 0, 0)),
    )
    save("ms_settings", settings)
    save("ms_big_reads", sg(read12(0, 60), read12(0, 64)))
    # SG_SCSI_RESET reaches the drive as a Bulk-Only Reset on ep0; reads go on afterwards
    fd = os.open("/dev/sg0", os.O_RDWR | os.O_NONBLOCK)
    try:
        fcntl.ioctl(fd, SG_SCSI_RESET, ctypes.c_int(SG_SCSI_RESET_DEVICE))
    finally:
        os.close(fd)
    settle()
    save("ms_after_reset", sg(read10(0, 4)))
    save("ms_status", control.request("status"))
    # --- CD-Extra: audio session, then data -------------------------------------------------
    save("extra_load", control.request("load", path=cfg["extra"]["json"]))
    settle()
    save("extra_kernel", kernel_view())
    audio = cfg["extra"]["audio_lba"]
    read_cd = cdb(0xBE, 0x04, *audio.to_bytes(4, "big"), 0, 0, 1, 0xF8, 0, 0)
    save("extra_reads", sg(read10(audio), Probe("read cd audio", read_cd, 2352)))
    mounted("extra_last")
    # --- an audio CD -------------------------------------------------------------------------
    save("audio_load", control.request("load", path=cfg["audio"]["json"]))
    settle()
    save("audio_kernel", {"disc_status": ioctl_int(CDROM_DISC_STATUS)})
    # --- a CSS DVD ---------------------------------------------------------------------------
    save("dvd_load", control.request("load", path=cfg["dvd"]["json"]))
    settle()
    scrambled, clear = cfg["dvd"]["scrambled"], cfg["dvd"]["clear"]
    save(
        "dvd",
        sg(
            Probe("profile", cdb(0x46, 1, 0, 0, 0, 0, 0, 0, 8, 0), 8),
            Probe("copyright", cdb(0xAD, 0, 0, 0, 0, 0, 0, 0x01, 0, 8, 0, 0), 8),
            read10(scrambled),
            read10(clear),
        ),
    )
    save("dvd_direct_scrambled", direct_read(scrambled))
    # --- the tray, through the kernel --------------------------------------------------------
    ioctl_int(CDROMEJECT)
    tray = {"after_eject": ioctl_int(CDROM_DRIVE_STATUS), "drive": control.request("status")}
    ioctl_int(CDROMCLOSETRAY)
    settle()
    tray["after_close"] = ioctl_int(CDROM_DRIVE_STATUS)
    save("tray", tray)


if __name__ == "__main__":
    main(sys.argv[1])
