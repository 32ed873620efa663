"""SG_IO answered by the drive model in this process: DiscVault's SG_IO drive layer on the host.

The boundary is the ioctl: ``app.platform.sgio.command`` (the one function that sends a CDB
through SG_IO) is replaced by a call to ``mmc.Drive.execute``, and everything above it —
``SgDriveSource``, drive control, the rescue engine — runs unchanged. The VM tests
(``test_usb_drive.py``, ``test_drive_control.py``) check the same code through the real
kernel; this harness makes the model's clock usable for figures and fast tests::

    with model_sg(drive, tmp_path) as dev:        # dev: a file standing for /dev/sr0
        src = SgDriveSource(dev)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.platform import sgio
from tests.vm.usbdrive.mmc import Drive
from tests.vm.usbdrive.scsi import GOOD, fixed_sense


def model_command(drive: Drive) -> object:
    def command(
        fd: int,
        cdb: bytes,
        data_len: int,
        timeout_ms: int = 30_000,
        data_out: bytes | None = None,
    ) -> bytes:
        reply = drive.execute(cdb, data_out or b"")
        if reply.status != GOOD:
            raw = fixed_sense(reply.sense, reply.info) if reply.sense else b""
            raise sgio.ScsiError(sgio.decode_sense(raw), reply.status)
        return reply.data[:data_len] if data_out is None else b""

    return command


@contextmanager
def model_sg(drive: Drive, folder: Path) -> Iterator[str]:
    """Route SG_IO to ``drive``; yields a device path to open (a sparse file as long as the
    disc, so the OS-level size queries agree with READ CAPACITY)."""
    assert drive.disc is not None
    dev = folder / "sr-model"
    with open(dev, "wb") as f:
        f.truncate(drive.disc.capacity * 2048)
    real = sgio.command
    sgio.command = model_command(drive)  # type: ignore[assignment]
    try:
        yield str(dev)
    finally:
        sgio.command = real
        os.unlink(dev)
