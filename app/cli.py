"""The command-line interface over ``app.core`` (no Qt). Exit codes are part of the contract."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from app import __version__
from app.cli_inspect import add_parsers as add_inspect_parsers
from app.cli_progress import TerminalProgress
from app.core import report, verify
from app.core.dat import DatError
from app.core.events import CancelToken
from app.core.rescue import DestinationError, RescueSettings, rescue
from app.core.sources import SourceError
from app.platform import open_source

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_USAGE = 2
EXIT_MISMATCH = 3
EXIT_IO = 4
EXIT_CANCELLED = 130

OUTCOME_EXIT = {
    "complete": EXIT_OK,
    "incomplete": EXIT_INCOMPLETE,
    "cancelled": EXIT_CANCELLED,
    "source_gone": EXIT_IO,
    "destination_error": EXIT_IO,
}


def fail(message: str, code: int = EXIT_IO) -> int:
    print(f"discvault: {message}", file=sys.stderr)
    return code


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _non_negative(text: str) -> int:
    value = _positive(text) if text != "0" else 0
    return value


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
    map_path = args.map or out + ".map"
    report_path = args.report or out + ".report.json"
    settings = RescueSettings(
        cluster=args.cluster,
        max_cluster=max(args.cluster, 512),
        retries=args.retries,
        fill=args.fill,
        save_interval=args.save_interval,
    )
    try:
        source = open_source(args.source)
    except SourceError as e:
        return fail(str(e))
    token = CancelToken()
    cancel_on_signals(token)
    bar = TerminalProgress()
    try:
        result = rescue(
            source,
            out,
            map_path,
            settings,
            bar,
            token,
            command_line=shlex.join(["discvault", *sys.argv[1:]]),
            force=args.force,
        )
    except (DestinationError, SourceError) as e:
        bar.close()
        return fail(str(e))
    finally:
        source.close()
    bar.close()
    doc = report.build(result, args.source, out, map_path)
    try:
        report.write(doc, report_path)
        if result.hashes:
            report.write_sidecars(out, result.hashes)
    except OSError as e:
        print(report.summary(result, out))
        return fail(f"cannot write the report {report_path}: {e.strerror}")
    print(report.summary(result, out))
    code = OUTCOME_EXIT[result.outcome]
    if args.verify and result.outcome in ("complete", "incomplete"):
        code = max(code, _verify_after_rip(args, out, map_path, report_path, doc, token))
    return code


def _verify_after_rip(
    args: argparse.Namespace,
    out: str,
    map_path: str,
    report_path: str,
    doc: dict[str, object],
    token: CancelToken,
) -> int:
    """Re-read the disc and compare: the proof the backup is what the disc holds."""
    try:
        source = open_source(args.source)
    except SourceError as e:
        return fail(f"cannot verify: {e}")
    bar = TerminalProgress()
    try:
        vr = verify.verify(out, source=source, map_path=map_path, progress=bar, cancel=token)
    except verify.VerifyInputError as e:
        return fail(f"cannot verify: {e}")
    finally:
        bar.close()
        source.close()
    doc["verify"] = verify_json(vr)
    report.write(doc, report_path)
    print(verify_text(vr))
    return VERIFY_EXIT[vr.outcome]


VERIFY_EXIT = {
    "good": EXIT_OK,
    "incomplete": EXIT_INCOMPLETE,
    "mismatch": EXIT_MISMATCH,
    "cancelled": EXIT_CANCELLED,
}


def verify_json(r: verify.VerifyResult) -> dict[str, object]:
    return {
        "schema": "discvault.verify/1",
        "image": os.path.abspath(r.image),
        "sectors": r.sectors,
        "outcome": r.outcome,
        "hashes": r.hashes,
        "checks": [{"name": c.name, "status": c.status, "detail": c.detail} for c in r.checks],
        "missing_sectors": r.missing_sectors,
        "map_bad_sectors": r.map_bad_sectors,
        "mismatches": [{"lba": a, "count": n} for a, n in r.mismatches],
        "source_unreadable": [{"lba": a, "count": n} for a, n in r.source_unreadable],
        "now_readable": [{"lba": a, "count": n} for a, n in r.now_readable],
        "dat": None
        if r.dat_match is None
        else {
            "verdict": r.dat_match.verdict,
            "game": r.dat_match.entry.game if r.dat_match.entry else None,
            "rom": r.dat_match.entry.name if r.dat_match.entry else None,
            "dat": r.dat_match.dat,
        },
        "duration_seconds": round(r.duration, 3),
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
        print(json.dumps(verify_json(r), indent=2))
    else:
        print(verify_text(r))
    return VERIFY_EXIT[r.outcome]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="discvault",
        description="Back up optical discs to verified .iso images. Without a command: the app.",
        epilog="Exit status: 0 done and good, 1 sectors remain unreadable, 2 usage error, "
        "3 verify mismatch, 4 source/destination problem, 130 cancelled.",
    )
    p.add_argument("--version", action="version", version=f"discvault {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    rip = sub.add_parser(
        "rip",
        help="back up a disc, device or image to an .iso (resumes when run again)",
        description="Rescue every readable sector of SOURCE into OUT.iso, with a ddrescue "
        "mapfile (OUT.iso.map) so that running the same command again resumes.",
    )
    rip.add_argument(
        "source", metavar="SOURCE", help="drive (/dev/sr0, D:, disk2), device or image"
    )
    rip.add_argument("out", metavar="OUT.iso")
    rip.add_argument("--map", metavar="MAP", help="mapfile (default OUT.iso.map)")
    rip.add_argument(
        "--retries",
        type=_non_negative,
        default=3,
        metavar="N",
        help="retry passes over bad sectors (default 3)",
    )
    rip.add_argument(
        "--cluster",
        type=_positive,
        default=32,
        metavar="SECTORS",
        help="sectors per read near errors (default 32 = 64 KiB)",
    )
    rip.add_argument("--report", metavar="OUT.json", help="report (default OUT.iso.report.json)")
    rip.add_argument(
        "--fill",
        choices=("zero", "marker"),
        default="zero",
        help="what unreadable sectors hold in the image (default zero)",
    )
    rip.add_argument(
        "--save-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often the mapfile is saved while reading (default 5)",
    )
    rip.add_argument(
        "--force", action="store_true", help="overwrite an existing OUT.iso that has no mapfile"
    )
    rip.add_argument(
        "--verify",
        action="store_true",
        help="re-read the disc afterwards and compare it with the image",
    )
    rip.set_defaults(func=cmd_rip)
    ver = sub.add_parser(
        "verify",
        help="check an image: wholeness, checksum files, a DAT, or against the disc",
        description="Read IMAGE once: check it is whole, compare its hashes with IMAGE.md5/"
        ".sha1/.sha256 and IMAGE.report.json, look it up in a DAT, and with --against compare "
        "it sector by sector with a disc.",
    )
    ver.add_argument("image", metavar="IMAGE")
    ver.add_argument("--against", metavar="SOURCE", help="drive, device or image to compare with")
    ver.add_argument("--dat", metavar="FILE", help="Logiqx XML DAT to look the image up in")
    ver.add_argument("--map", metavar="MAP", help="the image's mapfile (default IMAGE.map)")
    ver.add_argument("--json", action="store_true", help="machine-readable output")
    ver.set_defaults(func=cmd_verify)
    add_inspect_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_OK
    code: int = args.func(args)
    return code
