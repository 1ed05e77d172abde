"""`python -m bot.cli` is the same as the `tthc` console script."""

import sys

from bot.cli import main

sys.exit(main())
