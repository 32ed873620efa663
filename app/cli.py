"""The command-line interface over ``app.core`` (no Qt). Exit codes are part of the contract.

Each command's module is imported when that command runs: `discvault inspect` on a big image
should not first spend 50 ms importing the rescue engine and the drive layer.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from app import __version__
from app.cli_common import EXIT_OK, silence_stdout

_Sub = argparse._SubParsersAction  # the type add_subparsers returns


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from app import cli_disc  # here, not at the top: `inspect` need not load the engine

        code: int = getattr(cli_disc, name)(args)
        return code

    return run


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _duration(text: str) -> float:
    """ "90", "90s", "30m", "2h", "1h30m" -> seconds."""
    import re

    m = re.fullmatch(r"\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if not m or not any(m.groups()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a time (like 90s, 30m, 2h or 1h30m)")
    h, mi, s = m.groups()
    seconds = int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)
    if seconds <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return seconds


MAX_CLUSTER = 8192  # 16 MiB per read: more only buys memory (a whole DVD in one buffer)


def _cluster(text: str) -> int:
    value = _positive(text)
    if value > MAX_CLUSTER:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_CLUSTER} (16 MiB)")
    return value


def _seconds(text: str) -> float:
    """A finite, non-negative number of seconds: with nan or inf the mapfile was never saved
    while reading (every comparison with them is false)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more seconds")
    return value


def _offset(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of samples") from None
    if not -5000 <= value <= 5000:
        raise argparse.ArgumentTypeError("a drive's read offset lies within ±5000 samples")
    return value


def _non_negative(text: str) -> int:
    value = _positive(text) if text != "0" else 0
    return value


class _Parser(argparse.ArgumentParser):
    """Usage errors as every other error: one line, what to do, exit 2."""

    def error(self, message: str) -> NoReturn:
        from app.cli_common import EXIT_USAGE, fail

        command = self.prog.removeprefix("discvault").strip()
        what = f"{command}: {message}" if command else message
        fail(f"{what} — see {self.prog} --help", EXIT_USAGE)
        raise SystemExit(EXIT_USAGE)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or (``command``) of that command's group only: building
    all 17 costs `discvault inspect` about 20 ms, a tenth of listing a 100 000-file image."""
    p = _Parser(
        prog="discvault",
        description="Back up optical discs to verified .iso images. Without a command: the app.",
        epilog="Exit status: 0 done and good, 1 sectors remain unreadable, 2 usage error, "
        "3 verify mismatch, 4 source/destination problem, 130 cancelled.",
    )
    p.add_argument("--version", action="version", version=f"discvault {__version__}")
    sub: _Sub[argparse.ArgumentParser] = p.add_subparsers(  # type: ignore[assignment]
        dest="command", metavar="COMMAND"
    )
    adders = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for add in adders:
        add(sub)
    return p


def _add_disc_parsers(sub: _Sub[argparse.ArgumentParser]) -> None:
    rip = sub.add_parser(
        "rip",
        help="back up a disc, device or image to an .iso (resumes when run again)",
        description="Rescue every readable sector of SOURCE into OUT.iso, with a ddrescue "
        "mapfile (OUT.iso.map) so that running the same command again resumes.",
    )
    rip.add_argument(
        "source",
        metavar="SOURCE",
        help="drive (/dev/sr0, D:, disk2), device, image, or demo (the demo disc)",
    )
    rip.add_argument("out", metavar="OUT.iso|OUT.cue")
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
        type=_cluster,
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
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="how often the mapfile is saved while reading (default 5)",
    )
    rip.add_argument(
        "--max-time",
        type=_duration,
        metavar="TIME",
        help="stop reading after this long (90s, 30m, 2h), keep what was read, finish the "
        "backup; running it again goes on",
    )
    rip.add_argument(
        "--max-failed-reads",
        type=_positive,
        metavar="N",
        help="stop reading after N failed reads (each can cost seconds on a real drive)",
    )
    rip.add_argument(
        "--format",
        choices=("auto", "iso", "bincue"),
        default="auto",
        help="auto (default): BIN/CUE for a CD with audio or Mode 2 tracks (or when OUT ends "
        "in .cue), else .iso; bincue: one raw .bin per track and a .cue, every data sector "
        "checked by its EDC/ECC; iso: 2048-byte sectors",
    )
    rip.add_argument(
        "--read-offset",
        type=_offset,
        metavar="SAMPLES",
        help="the drive's audio read offset correction (AccurateRip's value, e.g. +6), for a "
        "drive DiscVault does not know",
    )
    rip.add_argument(
        "--force", action="store_true", help="overwrite an existing OUT.iso that has no mapfile"
    )
    rip.add_argument("--eject", action="store_true", help="eject the disc when done")
    rip.add_argument(
        "--verify",
        action="store_true",
        help="re-read the disc afterwards and compare it with the image",
    )
    rip.set_defaults(func=_command("cmd_rip"))
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
    ver.set_defaults(func=_command("cmd_verify"))


def _add_inspect_parsers(sub: _Sub[argparse.ArgumentParser]) -> None:
    from app.cli_inspect import add_parsers

    add_parsers(sub)


def _add_library_parsers(sub: _Sub[argparse.ArgumentParser]) -> None:
    from app.cli_library import add_parser

    add_parser(sub)


def _add_drive_parsers(sub: _Sub[argparse.ArgumentParser]) -> None:
    drv = sub.add_parser("drives", help="list optical drives and their discs")
    drv.add_argument("--json", action="store_true", help="machine-readable output")
    drv.set_defaults(func=_command("cmd_drives"))
    ej = sub.add_parser("eject", help="eject a drive's disc (or close its tray)")
    ej.add_argument("drive", metavar="DRIVE")
    ej.add_argument("--close", action="store_true", help="close the tray instead")
    ej.set_defaults(func=_command("cmd_eject"))


# Each command, and what adds its parser (with its group's other commands). A new command is
# added here and in its group's adder; app.__main__ sends every name here to the command line.
COMMANDS: dict[str, Callable[[_Sub[argparse.ArgumentParser]], None]] = {
    "rip": _add_disc_parsers,
    "verify": _add_disc_parsers,
    "inspect": _add_inspect_parsers,
    "extract": _add_inspect_parsers,
    "build": _add_inspect_parsers,
    "library": _add_library_parsers,
    "auto": _add_library_parsers,
    "drives": _add_drive_parsers,
    "eject": _add_drive_parsers,
}


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_in[0] if args_in else None)
    args = parser.parse_args(args_in)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_OK
    try:
        code: int = args.func(args)
    except BrokenPipeError:  # stdout's reader went away: nothing left to tell it
        silence_stdout()
        return 141  # what a shell reports for a process ended by SIGPIPE
    return code
