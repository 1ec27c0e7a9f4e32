"""What a job needs besides its config: where runs and data live, its run dir, attempt and a stop request."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class JobContext:
    """What a job needs besides its config: where runs, raw corpora and the data cache are,
    the run dir the launcher located for this task, the attempt number and a stop request.

    run_dir is None only when a job is called directly (tests, or a job running another as a
    stage without naming its dir); jobs.common.run_dir_of then locates it from the config.
    """

    runs_root: Path
    data_root: Path | None            # raw corpora (may be read-only); None = $DATA_ROOT
    cache_dir: Path                   # prepared arrays and tokenizers
    stop: threading.Event | None = None  # set -> the trainer saves at the next step and returns
    run_dir: Path | None = None       # this task's run dir, as the launcher located it
    attempt: int = 0                  # 0-based: requeues and Slurm restarts count up
