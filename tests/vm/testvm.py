"""A real (emulated) optical drive: a small QEMU guest whose kernel drives a SCSI CD-ROM.

The guest is Debian's kernel + a busybox initramfs; it mounts the host's root read-only over 9p
and chroots into it, so it runs this very checkout with the host's Python. QEMU's ``scsi-cd``
answers MMC commands; ``blkdebug`` turns chosen sectors into MEDIUM ERRORs (sense 03/11/00),
exactly what a scratched disc returns. Results come back through a writable 9p folder.
Recipe: ../shared/VM-DRIVE.md.

With ``usb=True`` and no ``disc``, the guest instead loads the USB gadget stack and has no SCSI
CD: ``tests/vm/usbdrive`` then makes an emulated USB drive whose firmware is ours the guest's
/dev/sr0 (use ``tests.vm.usbdrive.host.usb_drive_guest``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tests.conftest import install_hint

MODULES = [
    "virtio_ring",
    "virtio",
    "virtio_pci_legacy_dev",
    "virtio_pci_modern_dev",
    "virtio_pci",
    "scsi_common",
    "scsi_mod",
    "cdrom",
    "crc-itu-t",
    "udf",  # a third reader of UDF 2.50 metadata partitions (tests/vm/test_udf_kernel.py)
    "isofs",  # the kernel's ISO 9660 reader judges multi-session discs (tests/vm/test_usb_drive.py)
    "sr_mod",
    "sg",
    "virtio_scsi",
    "netfs",
    "fscache",
    "9pnet",
    "9pnet_virtio",
    "9p",
]

# Loaded only when the kernel command line says dvide=1: libata for QEMU's ATAPI drive
# (``-device ide-cd``), the second drive implementation the raw path is checked on.
IDE_MODULES = ["libata", "ata_piix"]

# Loaded only when the kernel command line says dvusb=1: USB host + gadget on dummy_hcd, with
# usb-storage binding the emulated drive (tests/vm/usbdrive/gadget.py).
USB_MODULES = [
    "usb-common",
    "usbcore",
    "udc-core",
    "configfs",
    "libcomposite",
    "usb_f_fs",
    "dummy_hcd",
    "usb-storage",
]

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in __MODULES__; do insmod /lib/modules/$m.ko 2>/dev/null; done
usb=0; case " $(cat /proc/cmdline) " in *" dvusb=1 "*) usb=1;; esac
if [ $usb = 1 ]; then
  for m in __USB_MODULES__; do insmod /lib/modules/$m.ko 2>/dev/null; done
fi
case " $(cat /proc/cmdline) " in *" dvide=1 "*)
  for m in __IDE_MODULES__; do insmod /lib/modules/$m.ko 2>/dev/null; done;;
esac
mkdir -p /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro hostroot /newroot
mount -t 9p -o trans=virtio,version=9p2000.L out /newroot/mnt
mount --bind /dev /newroot/dev; mount --bind /proc /newroot/proc; mount --bind /sys /newroot/sys
mkdir -p /newroot/mnt/tmp
script=$(sed -n 's/.*dvscript=\([^ ]*\).*/\1/p' /proc/cmdline)
[ $usb = 0 ] && for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /dev/sr0 ] && break; sleep 0.5; done
chroot /newroot /usr/bin/env HOME=/mnt/tmp TMPDIR=/mnt/tmp /bin/sh "$script" \
  > /newroot/mnt/guest.log 2>&1
echo $? > /newroot/mnt/guest.rc
sync
poweroff -f
"""


def unavailable_reason() -> str | None:
    for tool in ("qemu-system-x86_64", "busybox", "cpio"):
        if not shutil.which(tool):
            return f"{tool} is not installed — {install_hint(tool)}"
    return None


def cache_dir() -> Path:
    return Path(
        os.environ.get("DISCVAULT_VM_CACHE", Path(tempfile.gettempdir()) / "discvault-testvm")
    )


def kernel_package() -> str:
    out = subprocess.run(
        ["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True
    ).stdout
    for line in out.splitlines():
        if "Depends:" in line and "linux-image-" in line:
            return line.split()[-1]
    raise RuntimeError("apt-cache knows no linux-image-amd64: run apt-get update")


def build(cache: Path | None = None) -> tuple[Path, Path]:
    """Kernel and initramfs, made once and cached."""
    import hashlib

    every = MODULES + USB_MODULES + IDE_MODULES
    recipe = hashlib.sha256((INIT + " ".join(every)).encode()).hexdigest()[:12]
    top = cache or cache_dir()
    cache = top / recipe  # a changed init script never reuses a stale one
    kernel, initrd = cache / "vmlinuz", cache / "initrd.gz"
    if kernel.exists() and initrd.exists():
        return kernel, initrd
    cache.mkdir(parents=True, exist_ok=True)
    pkg = kernel_package()
    deb_dir = top / "deb"  # one download of the kernel for every recipe
    deb_dir.mkdir(exist_ok=True)
    if not list(deb_dir.glob(f"{pkg}_*.deb")):
        subprocess.run(["apt-get", "download", pkg], cwd=deb_dir, check=True, capture_output=True)
    (deb,) = deb_dir.glob(f"{pkg}_*.deb")
    root = cache / "kroot"
    subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    (vmlinuz,) = (root / "boot").glob("vmlinuz-*")
    moddir = next((root / "lib" / "modules").iterdir())
    ird = cache / "initramfs"
    shutil.rmtree(ird, ignore_errors=True)
    for d in ("bin", "proc", "sys", "dev", "lib/modules", "newroot"):
        (ird / d).mkdir(parents=True)
    shutil.copy(shutil.which("busybox") or "/bin/busybox", ird / "bin" / "busybox")
    for m in every:
        (src,) = moddir.rglob(f"{m}.ko")
        shutil.copy(src, ird / "lib" / "modules" / f"{m}.ko")
    init = ird / "init"
    init.write_text(
        INIT.replace("__MODULES__", " ".join(MODULES))
        .replace("__USB_MODULES__", " ".join(USB_MODULES))
        .replace("__IDE_MODULES__", " ".join(IDE_MODULES))
    )
    init.chmod(0o755)
    files = subprocess.run(["find", "."], cwd=ird, capture_output=True, check=True).stdout
    cpio = subprocess.run(
        ["cpio", "-o", "-H", "newc", "--quiet"],
        cwd=ird,
        input=files,
        capture_output=True,
        check=True,
    ).stdout
    import gzip

    initrd.write_bytes(gzip.compress(cpio, 6))
    shutil.copy(vmlinuz, kernel)
    shutil.rmtree(root, ignore_errors=True)
    return kernel, initrd


def faults_conf(bad: list[int], flaky: list[int]) -> str:
    """blkdebug rules; ``sector`` counts 512-byte units and any read of the 2048-byte LBA
    covers its first one, so one rule per LBA (several "once" rules would fail it repeatedly)."""
    return "\n".join(
        f'[inject-error]\nevent = "read_aio"\nerrno = "61"\nsector = "{lba * 4}"\nonce = "{once}"\n'
        for lba, once in [(b, "off") for b in bad] + [(f, "on") for f in flaky]
    )


def _empty_drives(drives: int) -> list[str]:
    """QEMU arguments for drives 2..N: scsi-cd ``cddevK`` (SCSI id K, the guest's /dev/srK),
    with no disc in them at boot."""
    out: list[str] = []
    for k in range(1, drives):
        out += [
            "-drive",
            f"if=none,id=cd{k},media=cdrom,readonly=on",
            "-device",
            f"scsi-cd,drive=cd{k},bus=scsi0.0,id=cddev{k},scsi-id={k}",
        ]
    return out


class Guest:
    """One boot of the guest running ``script`` (a shell script path on the host).

    ``disc`` is the image in QEMU's scsi-cd (with ``bad``/``flaky`` LBAs); ``disc=None`` boots
    without a SCSI CD, and ``usb=True`` loads the USB gadget modules (see tests/vm/usbdrive).
    ``drives=2`` adds a second scsi-cd (``cddev1``, the guest's /dev/sr1), empty at boot: put
    discs in it (or swap the first one) with ``change_medium`` — a person or an autoloader."""

    def __init__(
        self,
        script: Path,
        disc: Path | None,
        workdir: Path,
        bad: list[int],
        flaky: list[int],
        timeout: float = 600,
        usb: bool = False,
        drives: int = 1,
        ide: bool = False,
    ) -> None:
        kernel, initrd = build()
        self.workdir = workdir
        self._changes = 0  # fault files written by change_medium
        self.out = workdir / "out"
        self.out.mkdir(parents=True, exist_ok=True)
        # The guest sees the out folder as /mnt (the host's root is read-only there; /mnt/tmp is
        # its scratch space, so a checkout under /tmp stays visible).
        shutil.copy(script, self.out / "guest.sh")
        conf = workdir / "faults.conf"
        conf.write_text(faults_conf(bad, flaky) or "# no faults\n")
        self.qmp_path = workdir / "qmp.sock"
        # /dev/kvm can exist and still hang a guest (nested virtualisation): TCG always works,
        # unless DISCVAULT_VM_KVM=1 says this machine's KVM is good.
        accel = (
            ["-accel", "kvm"] if os.environ.get("DISCVAULT_VM_KVM") == "1" else ["-accel", "tcg"]
        )
        self.cmd = [
            "qemu-system-x86_64",
            *accel,
            "-m",
            "1024",
            "-nographic",
            "-no-reboot",
            "-kernel",
            str(kernel),
            "-initrd",
            str(initrd),
            "-append",
            "console=ttyS0 panic=-1 loglevel=3 dvscript=/mnt/guest.sh"
            + (" dvusb=1" if usb else "")
            + (" dvide=1" if ide else ""),
            *(
                [
                    *([] if ide else ["-device", "virtio-scsi-pci,id=scsi0"]),
                    "-drive",
                    f"file=blkdebug:{conf}:{disc},if=none,id=cd0,media=cdrom,format=raw,"
                    "readonly=on",
                    "-device",
                    "ide-cd,drive=cd0,id=cddev"
                    if ide
                    else "scsi-cd,drive=cd0,bus=scsi0.0,id=cddev,scsi-id=0",
                    *_empty_drives(drives),
                ]
                if disc is not None
                else []
            ),
            "-virtfs",
            "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
            "-virtfs",
            f"local,path={self.out},mount_tag=out,security_model=none",
            "-qmp",
            f"unix:{self.qmp_path},server,nowait",
        ]
        self.timeout = timeout
        self.console = workdir / "console.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Guest:
        self.log = open(self.console, "wb")  # noqa: SIM115 (closed in wait)
        self.proc = subprocess.Popen(
            self.cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT
        )
        return self

    def wait(self) -> int:
        assert self.proc is not None
        try:
            self.proc.wait(self.timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise RuntimeError(
                f"guest timed out; console: {self.console.read_text()[-2000:]}"
            ) from None
        finally:
            self.log.close()
        rc = self.out / "guest.rc"
        if not rc.exists():
            raise RuntimeError(
                f"guest script did not finish; console:\n"
                f"{self.console.read_text(errors='replace')[-3000:]}"
            )
        return int(rc.read_text().strip())

    def qmp(self, command: str, **arguments: object) -> dict[str, object]:
        """One QMP command (eject, blockdev-change-medium, …) to the running guest."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.qmp_path))
            f = s.makefile("rw")
            json.loads(f.readline())
            for msg in (
                {"execute": "qmp_capabilities"},
                {"execute": command, "arguments": arguments},
            ):
                f.write(json.dumps(msg) + "\n")
                f.flush()
                while True:
                    reply = json.loads(f.readline())
                    if "return" in reply or "error" in reply:
                        break
            return reply  # type: ignore[no-any-return]

    def change_medium(
        self,
        device: str,
        disc: Path,
        bad: Sequence[int] = (),
        flaky: Sequence[int] = (),
        every: bool = False,
    ) -> dict[str, object]:
        """Put ``disc`` in drive ``device`` (``cddev``, ``cddev1``) as an autoloader does: the
        tray opens, the disc changes, the tray closes. ``bad``/``flaky`` LBAs fail with MEDIUM
        ERROR; ``every`` makes every read fail (a disc with nothing readable on it)."""
        self._changes += 1
        conf = self.workdir / f"faults-{device}-{self._changes}.conf"
        text = faults_conf(list(bad), list(flaky))
        if every:
            text = '[inject-error]\nevent = "read_aio"\nerrno = "61"\nonce = "off"\n'
        conf.write_text(text or "# no faults\n")
        return self.qmp(
            "blockdev-change-medium",
            id=device,
            filename=f"blkdebug:{conf}:{disc}",
            format="raw",
            **{"read-only-mode": "read-only"},
        )

    def tray_open(self, device: str) -> bool:
        """Whether the drive's tray is open now (the guest ejected, or the host did)."""
        devs = self.qmp("query-block").get("return")
        for dev in devs if isinstance(devs, list) else []:
            if isinstance(dev, dict) and dev.get("qdev") == device:
                return bool(dev.get("tray_open"))
        raise KeyError(device)

    def wait_for_file(self, name: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while not (self.out / name).exists():
            if time.monotonic() > deadline or (self.proc and self.proc.poll() is not None):
                log = self.out / "guest.log"
                said = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise RuntimeError(f"guest never wrote {name}; its log:\n{said}")
            time.sleep(0.2)
