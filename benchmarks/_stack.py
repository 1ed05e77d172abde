"""What every server benchmark starts from: the latest trained model and a
fresh temporary folder holding a SQLite product database with the catalog
imported (conversation_load, console_load, crash_form, fuzz_channels).

The servers themselves are started by the benchmark: `bot.runtime.loopback_stack`
for the chat and console loads, `channel_stack.Stack` for the channel ones.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from bot.runtime import latest_model
from catalog.importer import import_catalog
from core.db import open_database


@dataclass(frozen=True)
class BenchRun:
    """One benchmark run's model, folder and product database."""

    model: Path
    workdir: Path
    database_url: str
    factory: sessionmaker


def prepare_run(prefix: str) -> BenchRun | None:
    """The run's model and a new `prefix`… temporary folder with the catalog
    database; None, having said why on stderr, when no model is trained."""
    model = latest_model()
    if model is None:
        print("no model in models/: run `make train` first", file=sys.stderr)
        return None
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    url = f"sqlite:///{workdir / 'tthc.db'}"
    factory = open_database(url)
    import_catalog(factory)
    return BenchRun(model, workdir, url, factory)
