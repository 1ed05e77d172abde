"""`python -m console`: run the console (same as `tthc console`)."""

import sys

from bot.cli import main

sys.exit(main(["console", *sys.argv[1:]]))
