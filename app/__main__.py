"""``python -m app``: no arguments starts the GUI, a subcommand runs the CLI."""

from __future__ import annotations

import sys


def main() -> int:
    from app.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
