"""Hand-off test fixtures.

pytest puts tests/ first on sys.path (tests/conftest.py has no package), so
`import console` would find the test package tests/console instead of the
console app; put the project root first and bind the real package before any
test imports it.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if sys.path[0] != ROOT:
    sys.path.insert(0, ROOT)
_console = sys.modules.get("console")
if _console is not None and not str(getattr(_console, "__file__", "")).startswith(
    str(Path(ROOT) / "console")
):
    del sys.modules["console"]

import console  # noqa: E402,F401  (the app package, not tests/console)
