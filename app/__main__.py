"""``python -m app`` / ``discvault``: no arguments starts the GUI, a subcommand runs the CLI."""

from __future__ import annotations

import os
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


def _is_command_line(args: list[str]) -> bool:
    """A command or an option runs the command line; nothing, --self-test, or a file to open
    (the file manager's "Open with") starts the app. A word that is neither is a mistyped
    command: the command line says so, instead of a window opening on nothing."""
    if not args or args[0] == "--self-test":
        return False
    first = args[0]
    return first in CLI_COMMANDS or first.startswith("-") or not os.path.exists(first)


def main() -> int:
    args = sys.argv[1:]
    if _is_command_line(args):
        from app.cli import main as cli_main

        return cli_main(args)
    from app.gui.app import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    sys.exit(main())
