"""``python -m app`` / ``discvault``: no arguments starts the GUI, a subcommand runs the CLI."""

from __future__ import annotations

import sys

CLI_COMMANDS = {
    "rip",
    "verify",
    "inspect",
    "extract",
    "drives",
    "eject",
    "build",
    "library",
    "auto",
}


def main() -> int:
    args = sys.argv[1:]
    if args and (args[0] in CLI_COMMANDS or (args[0].startswith("-") and args[0] != "--self-test")):
        from app.cli import main as cli_main

        return cli_main(args)
    from app.gui.app import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    sys.exit(main())
