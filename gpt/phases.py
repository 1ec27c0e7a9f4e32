"""Wall time per phase of one process (data load, eval, plots, ...), for `main.py bench job`.

    with phases.timed("eval"):
        ...

Phases may nest (the trainer's "eval", and the plots and samples of its finish hook, run inside
the stage's "train"): each phase counts its own time only, without the phases inside it. When the environment variable named by `ENV` holds a file path, the
totals are written there as JSON when the process exits; without it a phase costs two clock reads.
"""
from __future__ import annotations

import atexit
import json
import os
import time
from contextlib import contextmanager

ENV = "SLM_PHASES_FILE"
_seconds: dict[str, float] = {}
_first_at: list[float] = []   # time.time() when the first phase began (start-up ends there)
_inner: list[float] = []      # per open phase: seconds spent in the phases inside it


@contextmanager
def timed(name: str):
    """Add the wall time of the `with` body, less that of the phases inside it, to phase `name`
    (summed over repeats)."""
    if not _first_at:
        _first_at.append(time.time())
    start = time.perf_counter()
    _inner.append(0.0)
    try:
        yield
    finally:
        took = time.perf_counter() - start
        _seconds[name] = _seconds.get(name, 0.0) + took - _inner.pop()
        if _inner:
            _inner[-1] += took


def snapshot() -> dict:
    """{"first_phase_at": epoch seconds or None, "seconds": {phase: s}, "at": epoch seconds now}."""
    return {"first_phase_at": _first_at[0] if _first_at else None, "seconds": dict(_seconds),
            "at": time.time()}


def _write_at_exit() -> None:
    with open(os.environ[ENV], "w", encoding="utf-8") as f:
        json.dump(snapshot(), f)


if os.environ.get(ENV):
    atexit.register(_write_at_exit)
