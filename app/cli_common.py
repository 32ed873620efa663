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
