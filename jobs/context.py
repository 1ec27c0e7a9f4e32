"""What a job needs besides its config: where runs and data live, and a stop request."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class JobContext:
    """What a job needs besides its config: where runs, raw corpora and the data cache
    are, and an optional stop request."""

    runs_root: Path
    data_root: Path | None            # raw corpora (may be read-only); None = $DATA_ROOT
    cache_dir: Path                   # prepared arrays and tokenizers
    stop: threading.Event | None = None  # set -> the trainer saves at the next step and returns
