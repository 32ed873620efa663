"""What every CLI command shares: the exit codes of the contract and the one-line error."""

from __future__ import annotations

import sys

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_USAGE = 2
EXIT_MISMATCH = 3
EXIT_IO = 4
EXIT_CANCELLED = 130


# What to do, by what the system said: for messages that only carry an OS error.
_HINTS = (
    ("No such file or directory", "check the path"),
    ("Permission denied", "check the permissions, or run it as a user who may read/write there"),
    ("Operation not permitted", "check the permissions"),
    ("No space left on device", "free some space, then run the same command again"),
    ("Disk quota exceeded", "free some space, then run the same command again"),
    ("Read-only file system", "choose a folder you can write to"),
    ("Is a directory", "give a file's name, not a folder's"),
    ("Not a directory", "check the path"),
    ("File name too long", "choose a shorter name or folder"),
    ("Input/output error", "the medium may be damaged: back it up first, or try another drive"),
    ("No medium found", "insert a disc and run it again"),
    ("Device or resource busy", "close the program using it and run it again"),
    ("not an ISO 9660, UDF or HFS image", "give a disc image (.iso, .cue) or a drive"),
    ("too small", "give a whole disc image (.iso, .cue) or a drive"),
)
_BY_CODE = {
    EXIT_USAGE: "see discvault --help",
    EXIT_CANCELLED: "run the same command again to go on",
    EXIT_MISMATCH: "see the checks above",
}


def with_hint(message: str, code: int = EXIT_IO) -> str:
    """The message, ending with what to do (the README's promise): kept when it already says
    it, else from the OS error it names, else from the exit code."""
    if " — " in message:
        return message
    for words, hint in _HINTS:
        if words in message:
            return f"{message} — {hint}"
    return f"{message} — {_BY_CODE.get(code, 'check it, then run the same command again')}"


def fail(message: str, code: int = EXIT_IO) -> int:
    """One line on stderr, ``discvault: <what happened> — <what to do>``; returns ``code``."""
    print(f"discvault: {with_hint(message, code)}", file=sys.stderr)
    return code


def say(text: str) -> None:
    """Print to stdout; a reader that went away (``discvault rip … | head -1``) is not an
    error of ours: the rest of the output is dropped, the command's work and exit code stand."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        silence_stdout()


def silence_stdout() -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail too
    os.close(devnull)
