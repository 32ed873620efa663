"""Entry point of the console tool in frozen builds (discvault / discvault-cli.exe)."""

import sys

from app.__main__ import main

sys.exit(main())
