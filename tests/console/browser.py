"""Debian's chromium driven by Playwright for Python (never `playwright install`:
nothing is downloaded at run time). Used by the console's browser tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("TTHC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[object]:
    """A headless chromium `Browser`; fails the test (with the fix) when chromium is missing."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)",
                    pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot_dir() -> Path | None:
    """Where to keep page screenshots: `TTHC_CONSOLE_SCREENSHOTS` (e.g. docs/), else nowhere."""
    configured = os.environ.get("TTHC_CONSOLE_SCREENSHOTS", "").strip()
    return Path(configured) if configured else None
