"""Entry point of the windowed app in frozen builds (DiscVault / DiscVault.exe)."""

import sys

from app.gui.app import main

sys.exit(main(sys.argv[1:]))
