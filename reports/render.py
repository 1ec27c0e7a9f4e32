"""Draw many figures on all cores: per-run loss/perplexity plots and group plots.

Drawing text and lines dominates a report's time and is independent per figure, so pending
figures are collected as picklable tasks and drawn by a pool of forked worker processes
(sequentially when there are few, or when fork is unavailable).
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from reports.curves import RunCurves, RunPlotter
from reports.figures import save_figure
from reports.groups import group_figure

MIN_TASKS_FOR_POOL = 16   # below this, starting workers costs more than it saves
MAX_WORKERS = 8


@dataclass
class RunPlotTask:
    """loss.png and ppl.png of one run, into `folder`."""

    curves: RunCurves
    title: str
    folder: Path


@dataclass
class GroupPlotTask:
    """The overlay figure of a group (see groups.group_figure), saved to `path`."""

    group: str
    curves: dict
    labels: dict[str, str]
    path: Path


_plotter: RunPlotter | None = None   # one per process: refilling figures beats rebuilding them


def draw(task: RunPlotTask | GroupPlotTask) -> tuple[list[Path], str]:
    """Draw and save one task's figures: (paths written, "" or why it failed).

    A figure that cannot be drawn (odd data, full disk) is reported, never fatal to the report.
    """
    global _plotter
    try:
        if isinstance(task, RunPlotTask):
            _plotter = _plotter or RunPlotter()
            return _plotter.write(task.curves, task.title, task.folder), ""
        return [save_figure(group_figure(task.group, task.curves, task.labels), task.path)], ""
    except Exception as exc:  # noqa: BLE001 - any drawing failure becomes a warning
        name = task.title if isinstance(task, RunPlotTask) else f"group {task.group}"
        return [], f"figure for {name} not drawn: {exc.__class__.__name__}: {exc}"


def default_workers() -> int:
    """The cores this process may use, at most MAX_WORKERS."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def draw_all(tasks: list, workers: int | None = None) -> tuple[list[Path], list[str]]:
    """Draw every task, in worker processes when it pays: (all paths written, failures)."""
    workers = workers or default_workers()
    if workers < 2 or len(tasks) < MIN_TASKS_FOR_POOL or "fork" not in multiprocessing.get_all_start_methods():
        results = [draw(task) for task in tasks]
    else:
        try:
            chunk = max(1, len(tasks) // (workers * 4))
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
                results = list(pool.map(draw, tasks, chunksize=chunk))
        except (OSError, BrokenProcessPool):  # no /dev/shm, a worker killed for memory...
            results = [draw(task) for task in tasks]
    return [p for paths, _ in results for p in paths], [error for _, error in results if error]
