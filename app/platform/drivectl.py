"""Drive-level control during a rescue, over any SCSI pass-through (Linux SG_IO, Windows
SCSI_PASS_THROUGH_DIRECT): the read retry count and the read speed, set per pass, restored on
every exit path.

Why: a drive's firmware retries an unreadable sector internally (its read retry count, MODE
page 01h byte 3) before it reports the error, and every internal retry costs at least a
revolution and a re-seek; at the drive's default a single failed read takes seconds. In the
fast passes (copy, trim, scrape) DiscVault only needs to know *that* a sector fails, so the
count goes to 0 (copy) or 1 (trim, scrape: one cheap second chance for a marginal sector next
to damage); the retry passes, which exist to squeeze out marginal sectors, get the drive's
default count back (MODE SENSE with PC=2 says what it is) and a slower spin (SET CD SPEED on
CDs, SET STREAMING on DVD/BD, where marginal sectors read better); copy runs at full speed.

Crash safety: the original settings go to a state file (``drivestate.py``) before the first
change. ``restore()`` (every exit path of a rescue: end, error, cancel) puts them back and
removes the file; after a crash, ``recover()`` on the next open of the same drive finds the
file and restores them.

Fail-soft: a drive that refuses MODE SENSE/SELECT keeps its retry count, one that refuses both
speed commands keeps its speed; each refusal is noted once (the report's
``source.drive_control``, the app's log), never per read, and never asked again in the run.
No OS calls here: ``send(cdb, data_len, data_out)`` is the transport.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from app.platform import sgio
from app.platform.drivestate import Saved, StateFile

LOG = logging.getLogger("discvault.drive")

# send(cdb, data_len, data_out) -> data in; raises OSError (sgio.ScsiError with the sense)
Send = Callable[[bytes, int, bytes | None], bytes]

FAST_RETRIES = {"copy": 0, "trim": 1, "scrape": 1}
RETRY_PHASE = "retry"
MAX_SPEED = 0xFFFF  # SET CD SPEED: "as fast as the drive can"
# Retry speeds: 4x CD, 2x DVD, 2x BD (drives pick their nearest supported speed).
RETRY_SPEED_KBS = {"CD": 4 * 176, "DVD": 2 * 1385, "BD": 2 * 4495}


# ---- CDBs and pages (MMC-6) ---------------------------------------------------------------
def mode_sense10_cdb(page: int, pc: int = 0, alloc: int = 64) -> bytes:
    """MODE SENSE(10), DBD=1; ``pc`` 0 current values, 2 the drive's defaults."""
    return bytes([0x5A, 0x08, (pc & 3) << 6 | page & 0x3F, 0, 0, 0, 0, alloc >> 8, alloc & 0xFF, 0])


def set_streaming_cdb(length: int = 28) -> bytes:
    return bytes([0xB6, 0, 0, 0, 0, 0, 0, 0, 0, length >> 8, length & 0xFF, 0])  # type 0


def performance_descriptor(end_lba: int, read_kbs: int | None) -> bytes:
    """SET STREAMING type 0: read ``read_kbs`` kB each second over the whole disc; None sets
    RDD (restore the drive's defaults)."""
    d = bytearray(28)
    if read_kbs is None:
        d[0] = 0x04  # RDD
        return bytes(d)
    d[4:8] = (0).to_bytes(4, "big")
    d[8:12] = max(end_lba, 0).to_bytes(4, "big")
    d[12:16] = read_kbs.to_bytes(4, "big")  # read size, kB ...
    d[16:20] = (1000).to_bytes(4, "big")  # ... per read time, ms
    d[20:24] = read_kbs.to_bytes(4, "big")
    d[24:28] = (1000).to_bytes(4, "big")
    return bytes(d)


def current_read_speed(mode_data: bytes) -> int | None:
    """Page 2Ah's current read speed (kB/s, bytes 14-15 of the page), None when absent."""
    bdl = int.from_bytes(mode_data[6:8], "big") if len(mode_data) >= 8 else 0
    p = 8 + bdl
    if len(mode_data) < p + 16 or mode_data[p] & 0x3F != 0x2A:
        return None
    speed = int.from_bytes(mode_data[p + 14 : p + 16], "big")
    return speed or None


def drive_identity(send: Send, fallback: str) -> str:
    """Vendor, product, revision and serial number (INQUIRY, VPD page 80h); ``fallback`` (the
    device path) when the drive does not say."""
    try:
        std = send(bytes([0x12, 0, 0, 0, 96, 0]), 96, None)
    except OSError:
        return fallback
    words = [std[8:16], std[16:32], std[32:36]] if len(std) >= 36 else []
    try:
        vpd = send(bytes([0x12, 1, 0x80, 0, 64, 0]), 64, None)
        if len(vpd) >= 4 and vpd[1] == 0x80:
            words.append(vpd[4 : 4 + vpd[3]])
    except OSError:
        pass
    text = " ".join(w.decode("ascii", "replace").strip() for w in words).strip()
    return text or fallback


def _why(e: OSError) -> str:
    return e.strerror or str(e)


class DriveControl:
    """Per-pass drive settings for one open drive; see the module's docstring."""

    def __init__(
        self,
        send: Send,
        medium: str | None,
        sectors: int,
        path: str,
        notes: list[str],
        store: StateFile | None = None,
        identity: str | None = None,
    ) -> None:
        self._send = send
        self.medium = medium or "CD"
        self.sectors = sectors
        self.path = path
        self.notes = notes
        self.identity = identity or drive_identity(send, path)
        self.store = store if store is not None else StateFile(self.identity)
        self.refused: set[str] = set()  # "retries", "speed", "all": never asked again
        self._page: bytes | None = None  # MODE SENSE page 01h before any change
        self._original_retries = 0
        self._default_retries = 0
        self._retries: int | None = None  # what we set last; None: the drive's own
        self._speed: str | None = None  # "max" / "slow" as we set it; None: the drive's own
        self._speed_method = ""
        self._original_speed: int | None = None
        self._saved: Saved | None = None  # what the state file holds now

    # ---- the engine's hooks ------------------------------------------------------------------
    def enter(self, phase: str) -> None:
        if phase in FAST_RETRIES:
            self._set_retries(FAST_RETRIES[phase], phase)
            self._set_speed("max")
        elif phase == RETRY_PHASE:
            self._set_retries(None, phase)
            self._set_speed("slow")
        else:
            self.restore()

    def restore(self) -> None:
        """Put back what was changed; the state file goes only when everything is back."""
        if self._saved is None:
            return
        ok = True
        if self._retries is not None and self._page is not None:
            ok &= self._apply_page(self._page, self._original_retries, "restore")
            if ok:
                self._retries = None
        if self._speed is not None:
            ok &= self._apply_speed_restore(self._speed_method, self._original_speed)
            if ok:
                self._speed = None
        if ok:
            self.store.remove()
            self._saved = None
            self._note("drive settings restored")

    def recover(self) -> None:
        """At open: settings an earlier DiscVault changed and never restored (it crashed) are
        put back now."""
        try:
            saved = self.store.load()
        except ValueError as e:
            self._note(str(e))
            return
        if saved is None:
            return
        if saved.owner_alive:
            self.refused.add("all")
            self._note(
                f"another DiscVault (pid {saved.pid}) has this drive's settings changed: "
                "they are left alone"
            )
            return
        ok = True
        if saved.page01 is not None:
            page = bytes.fromhex(saved.page01)
            ok &= self._apply_page(page, sgio.read_retry_count(page) or 0, "recover")
        if saved.speed_method:
            ok &= self._apply_speed_restore(saved.speed_method, saved.speed)
        if ok:
            self.store.remove()
            self._note(
                "restored the drive settings an earlier run left changed (it did not finish)"
            )

    # ---- read retry count --------------------------------------------------------------------
    def _set_retries(self, count: int | None, phase: str) -> None:
        if self.refused & {"retries", "all"}:
            return
        if self._page is None and not self._learn_page():
            return
        want = self._default_retries if count is None else count
        if want == (self._original_retries if self._retries is None else self._retries):
            return
        if not self._save_state():
            return
        assert self._page is not None
        if self._apply_page(self._page, want, phase):
            self._retries = want
            what = "the drive's default" if count is None else "lowered"
            self._note(f"drive read retries {want} for {phase} ({what})")
        elif self._retries is None:
            self.refused.add("retries")
            self._forget("page01")

    def _learn_page(self) -> bool:
        try:
            page = self._cmd(mode_sense10_cdb(0x01), 64)
        except OSError as e:
            return self._refuse("retries", f"the drive keeps its read retries ({_why(e)})")
        count = sgio.read_retry_count(page)
        if count is None:
            return self._refuse("retries", "the drive reports no read retry count (page 01h)")
        self._page, self._original_retries = page, count
        try:
            default = sgio.read_retry_count(self._cmd(mode_sense10_cdb(0x01, pc=2), 64))
        except OSError:
            default = None
        # A drive left at 0 by a crash of an older version reports 0 as current: the default
        # page knows better; without it, what it had.
        self._default_retries = default if default is not None else count
        return True

    def _apply_page(self, page: bytes, count: int, why: str) -> bool:
        params = sgio.with_retry_count(page, count)
        try:
            self._cmd(sgio.mode_select10_cdb(len(params)), 0, params)
            return True
        except OSError as e:
            self._refuse(
                "retries", f"the drive refused to change its read retries ({_why(e)}; {why})"
            )
            return False

    # ---- speed -------------------------------------------------------------------------------
    def _set_speed(self, which: str) -> None:
        if self.refused & {"speed", "all"} or self._speed == which:
            return
        if not self._speed_method:  # the first change: learn and save what the drive had
            self._original_speed = self._learn_speed()
            self._speed_method = "cd" if self.medium == "CD" else "streaming"
            if not self._save_state():
                self._speed_method = ""
                return
        kbs = MAX_SPEED if which == "max" else RETRY_SPEED_KBS.get(self.medium, MAX_SPEED)
        if self._send_speed(kbs, which):
            self._speed = which
            if which == "slow":
                self._note(f"drive slowed to {kbs} kB/s for the retry passes")
        elif self._speed is None:
            self._speed_method = ""
            self._forget("speed")

    def _learn_speed(self) -> int | None:
        try:
            return current_read_speed(self._cmd(mode_sense10_cdb(0x2A, alloc=64), 64))
        except OSError:
            return None

    def _send_speed(self, kbs: int, which: str) -> bool:
        """SET STREAMING on DVD/BD (SET CD SPEED if it is refused), SET CD SPEED on CDs."""
        if self._speed_method == "streaming":
            desc = performance_descriptor(self.sectors - 1, None if which == "max" else kbs)
            try:
                self._cmd(set_streaming_cdb(len(desc)), 0, desc)
                return True
            except OSError:
                self._speed_method = "cd"  # many DVD drives take SET CD SPEED as well
        try:
            self._cmd(sgio.set_cd_speed_cdb(kbs), 0)
            return True
        except OSError as e:
            return self._refuse("speed", f"the drive keeps its speed ({_why(e)})")

    def _apply_speed_restore(self, method: str, speed: int | None) -> bool:
        if method == "streaming":
            desc = performance_descriptor(self.sectors - 1, speed)
            try:
                self._cmd(set_streaming_cdb(len(desc)), 0, desc)
                return True
            except OSError:
                pass  # it may have taken SET CD SPEED instead
        try:
            self._cmd(sgio.set_cd_speed_cdb(speed or MAX_SPEED), 0)
            return True
        except OSError as e:
            self._note(f"could not restore the drive's speed ({_why(e)})")
            return False

    # ---- the state file ----------------------------------------------------------------------
    def _save_state(self) -> bool:
        """Write what the drive had before changing anything; False (and no change) when it
        cannot be written: a crash would then leave the drive changed for good."""
        saved = self._saved or Saved.mine(self.identity, self.path)
        if self._page is not None:
            saved.page01 = self._page.hex()
        saved.speed, saved.speed_method = self._original_speed, self._speed_method
        try:
            self.store.save(saved)
        except OSError as e:
            self.refused.add("all")
            self._note(
                f"drive settings left as they are: cannot save them to restore after a crash "
                f"({self.store.path}: {_why(e)})"
            )
            return False
        self._saved = saved
        return True

    def _forget(self, what: str) -> None:
        """A first change was refused: nothing of it needs restoring."""
        if self._saved is None:
            return
        if what == "page01":
            self._saved.page01 = None
            self._page = None
        else:
            self._saved.speed, self._saved.speed_method = None, ""
        if self._saved.page01 is None and not self._saved.speed_method:
            self.store.remove()
            self._saved = None
            return
        # If this fails, the file still restores the rest, and a refused setting harmlessly.
        with contextlib.suppress(OSError):
            self.store.save(self._saved)

    # ---- plumbing ----------------------------------------------------------------------------
    def _cmd(self, cdb: bytes, data_len: int, data_out: bytes | None = None) -> bytes:
        """One command; a unit attention (the disc was changed or the drive reset since the
        last command) is reported once and then the command goes through."""
        try:
            return self._send(cdb, data_len, data_out)
        except sgio.ScsiError as e:
            if e.sense is None or e.sense.key != 0x06:
                raise
        return self._send(cdb, data_len, data_out)

    def _refuse(self, what: str, message: str) -> bool:
        if what not in self.refused:
            self.refused.add(what)
            self._note(message)
        return False

    def _note(self, message: str) -> None:
        self.notes.append(message)
        LOG.info("%s: %s", self.path, message)
