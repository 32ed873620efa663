"""`discvault rip`, `verify`, `drives` and `eject`: the commands that touch discs (no Qt).

Imported only when one of them runs, so that `discvault inspect` starts without the engine.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
from types import FrameType

from app.cli_common import (
    EXIT_CANCELLED,
    EXIT_INCOMPLETE,
    EXIT_IO,
    EXIT_MISMATCH,
    EXIT_OK,
    EXIT_USAGE,
    fail,
    say,
)
from app.cli_progress import TerminalProgress
from app.core.base.events import CancelToken
from app.core.base.outcome import Outcome
from app.core.disc.sources import SourceError
from app.core.rescue import report
from app.core.rescue.backup import BackupOptions, run_backup
from app.core.rescue.outputs import UsageError
from app.core.rescue.types import DestinationError, RescueSettings
from app.core.verify import verifier as verify
from app.core.verify.dat import DatError
from app.platform import DriveInfo, close_tray, eject, list_drives, open_source

OUTCOME_EXIT = {
    Outcome.COMPLETE: EXIT_OK,
    Outcome.INCOMPLETE: EXIT_INCOMPLETE,
    Outcome.PROTECTED: EXIT_IO,
    Outcome.CANCELLED: EXIT_CANCELLED,
    Outcome.SOURCE_GONE: EXIT_IO,
    Outcome.DESTINATION_ERROR: EXIT_IO,
}


def cancel_on_signals(token: CancelToken) -> None:
    """SIGINT/SIGTERM stop the job the clean way: the mapfile is saved, the run resumable."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        token.cancel(f"stopped by {signal.Signals(signum).name}")

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def cmd_rip(args: argparse.Namespace) -> int:
    out = args.out
    if os.path.isdir(out):
        return fail(
            f"{out} is a folder: give the image's file name, e.g. {out}/disc.iso", EXIT_USAGE
        )
    fmt = args.format
    if fmt == "auto" and out.lower().endswith((".cue", ".bin")):
        fmt = "bincue"  # naming the sheet is asking for a BIN/CUE
    opts = BackupOptions(
        source_name=args.source,
        image=out,
        format=fmt,
        read_offset=args.read_offset,
        map_path=args.map or "",
        report_path=args.report or "",
        settings=RescueSettings(
            cluster=args.cluster,
            max_cluster=max(args.cluster, 512),
            retries=args.retries,
            fill=args.fill,
            save_interval=args.save_interval,
            max_time=args.max_time,
            max_failed_reads=args.max_failed_reads,
        ),
        verify=args.verify,
        eject=(lambda: eject(args.source)) if args.eject else None,
        force=args.force,
        command_line=shlex.join(["discvault", *sys.argv[1:]]),
    )
    token = CancelToken()
    cancel_on_signals(token)
    bar = TerminalProgress()
    try:
        done = run_backup(lambda: open_source(args.source), opts, bar, token)
    except UsageError as e:
        return fail(str(e), EXIT_USAGE)
    except (DestinationError, SourceError) as e:
        return fail(str(e))
    finally:
        bar.close()
    say(report.summary(done.result, done.image))
    code = OUTCOME_EXIT[done.result.outcome]
    if code == EXIT_IO and done.result.message:  # the run stopped: say why on stderr too
        fail(done.result.message)
    if done.verify is not None:
        say(verify_text(done.verify))
        code = max(code, VERIFY_EXIT[done.verify.outcome])
    for problem in done.problems:
        fail(problem)
    return max(code, EXIT_IO) if done.problems else code


VERIFY_EXIT = {
    "good": EXIT_OK,
    "incomplete": EXIT_INCOMPLETE,
    "mismatch": EXIT_MISMATCH,
    "cancelled": EXIT_CANCELLED,
}


def verify_text(r: verify.VerifyResult) -> str:
    head = {
        "good": "Verified: the image is good.",
        "incomplete": "Verified, but the image is incomplete.",
        "mismatch": "MISMATCH: the image is not what it should be.",
        "cancelled": "Verify stopped.",
    }[r.outcome]
    mark = {"ok": "ok", "mismatch": "MISMATCH", "incomplete": "incomplete", "info": "--"}
    lines = [head] + [f"  {mark.get(c.status, c.status):10s} {c.detail}" for c in r.checks]
    if r.hashes:
        lines += [f"  {a:7s} {r.hashes[a]}" for a in ("crc32", "md5", "sha1", "sha256")]
    for f in r.files:
        h = f.get("hashes")
        if isinstance(h, dict):
            lines.append(f"  {f['name']}: crc32 {h.get('crc32')}  sha1 {h.get('sha1')}")
    return "\n".join(lines)


def cmd_verify(args: argparse.Namespace) -> int:
    source = None
    token = CancelToken()
    cancel_on_signals(token)
    try:
        if args.against:
            source = open_source(args.against)
        bar = TerminalProgress()
        try:
            r = verify.verify(
                args.image,
                source=source,
                dat_path=args.dat,
                map_path=args.map,
                progress=bar,
                cancel=token,
            )
        finally:
            bar.close()
    except (SourceError, verify.VerifyInputError, DatError) as e:
        return fail(str(e))
    finally:
        if source is not None:
            source.close()
    if args.json:
        say(json.dumps(verify.to_json(r), indent=2))
    else:
        say(verify_text(r))
    return VERIFY_EXIT[r.outcome]


def drive_json(d: DriveInfo) -> dict[str, object]:
    return {
        "path": d.path,
        "name": d.name,
        "vendor": d.vendor,
        "model": d.model,
        "state": d.state,
        "profile": d.profile,
        "has_audio": d.has_audio,
        "label": d.label,
        "filesystem": d.filesystem,
        "mountpoint": d.mountpoint,
        "sectors": d.sectors,
        "bytes": d.sectors * 2048,
        "problem": d.problem,
        "layout": d.layout.to_json() if d.layout else None,
        "summary": d.layout.summary() if d.layout else None,
        "protection": d.protection or None,
    }


def cmd_drives(args: argparse.Namespace) -> int:
    drives = list_drives()
    if args.json:
        print(
            json.dumps(
                {"schema": "discvault.drives/1", "drives": [drive_json(d) for d in drives]},
                indent=2,
            )
        )
        return EXIT_OK
    if not drives:
        print("No optical drives found.")
    for d in drives:
        state = {
            "disc_ok": "disc",
            "no_disc": "no disc",
            "tray_open": "tray open",
            "not_ready": "getting ready",
            "unknown": "state unknown",
        }[d.state]
        parts = [d.path, d.title, state]
        if d.state == "disc_ok":
            parts += [p for p in (d.profile, d.label, f"{d.sectors * 2048 / 1e6:.1f} MB") if p]
            if d.layout is not None:
                parts.append(d.layout.summary())
                if not d.layout.data_tracks:
                    parts.append("an audio CD: backed up as BIN/CUE (raw reads)")
                elif d.layout.audio_tracks:
                    parts.append("audio tracks: backed up as BIN/CUE (raw reads)")
                elif any(t.kind == "mode2" for t in d.layout.tracks):
                    parts.append("Mode 2 tracks: backed up as BIN/CUE (raw reads)")
            elif d.has_audio:
                parts.append("audio tracks: backed up as BIN/CUE (raw reads)")
            if d.protection:
                parts.append(f"{d.protection} copy protection: DiscVault does not circumvent it")
        if d.problem:
            parts.append(d.problem)
        print("  ·  ".join(parts))
    return EXIT_OK


def cmd_eject(args: argparse.Namespace) -> int:
    try:
        (close_tray if args.close else eject)(args.drive)
    except OSError as e:
        return fail(f"{args.drive}: {e.strerror or e}")
    return EXIT_OK
