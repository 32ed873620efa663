"""What every CLI command shares: the exit codes of the contract and the one-line error."""

from __future__ import annotations

import sys

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_USAGE = 2
EXIT_MISMATCH = 3
EXIT_IO = 4
EXIT_CANCELLED = 130


def fail(message: str, code: int = EXIT_IO) -> int:
    """One line on stderr, ``discvault: <what happened> — <what to do>``; returns ``code``."""
    print(f"discvault: {message}", file=sys.stderr)
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
