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


DATA_ROOT_HELP = ("raw corpora (default: $DATA_ROOT; also searched: ~/.cache/slm-toolkit/data, where "
                  "missing ones are downloaded, and the repository's corpora/)")


def add_path_arguments(parser, runs_help: str = "where run dirs go (default: $RUNS_ROOT or ./runs); "
                                                 "on a cluster: a shared filesystem") -> None:
    """--runs-root, --data-root and --cache-dir, the folders every JobContext is built from."""
    parser.add_argument("--runs-root", type=Path, default=None, help=runs_help)
    parser.add_argument("--data-root", type=Path, default=None, help=DATA_ROOT_HELP)
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="prepared arrays and tokenizers (default: $DATA_CACHE or ./.cache/data)")


def context_from_args(args) -> JobContext:
    """The JobContext of the path flags (`~` expanded; each flag, else its variable, else its
    default): the one way main.py, sweep and reproduce build it."""
    from data import default_cache_dir
    from gpt.rundir import runs_root

    def expand(value: Path | None) -> Path | None:   # the shell does not expand `--cache-dir=~/x`
        return value.expanduser() if value is not None else None
    return JobContext(runs_root=runs_root(args.runs_root).resolve(), data_root=expand(args.data_root),
                      cache_dir=(expand(args.cache_dir) or default_cache_dir()).resolve())
