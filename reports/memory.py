"""Steady-state GPU memory per run (IFT6135 A2): a table and a bar chart.

Steady state = the median over train rows after warm-up (the first tenth of the rows, at least
two), so the allocator's early growth and one-off peaks do not count. CPU runs have no memory rows:
they show "—" in the table and are left out of the chart.
"""
from __future__ import annotations

import math

import pandas as pd

from reports.figures import Figure, new_figure, set_title
from reports.load import Run
from reports.tables import Table, fmt

ALLOCATED, RESERVED, PEAK = "gpu_mem_allocated_mb", "gpu_mem_reserved_mb", "gpu_mem_peak_allocated_mb"
WARMUP_FRACTION = 0.1
MIN_WARMUP_ROWS = 2


def _after_warmup(values: pd.Series) -> pd.Series:
    values = values.dropna()
    skip = max(MIN_WARMUP_ROWS, math.ceil(len(values) * WARMUP_FRACTION))
    return values.iloc[min(skip, len(values) - 1):] if len(values) else values


def steady_memory(run: Run) -> dict[str, float | None]:
    """{allocated, reserved, peak} in MB; from train rows, else summary.json; None if unknown."""
    result = {"allocated": None, "reserved": None, "peak": None}
    for key, column in (("allocated", ALLOCATED), ("reserved", RESERVED)):
        if column in run.train:
            steady = _after_warmup(run.train[column])
            result[key] = float(steady.median()) if len(steady) else None
        if result[key] is None and isinstance(run.summary.get(column), (int, float)):
            result[key] = float(run.summary[column])
    if PEAK in run.train and run.train[PEAK].notna().any():
        result["peak"] = float(run.train[PEAK].max())
    return result


def memory_table(runs: list[Run]) -> Table:
    """One row per run: steady allocated and reserved memory, and the peak allocated."""
    rows, raw = [], []
    for run in runs:
        mem = steady_memory(run)
        device = run.env.get("device_name") or run.summary.get("device") or run.env.get("device")
        values = [run.ref.exp, run.ref.title, device, mem["allocated"], mem["reserved"], mem["peak"]]
        raw.append(values)
        rows.append([fmt(values[0], "d"), values[1], fmt(device, "s")] + [fmt(v, ",.0f") for v in values[3:]])
    caption = ("GPU memory per run in MB: steady state = median over training steps after warm-up "
               f"(the first {WARMUP_FRACTION:.0%} of logged steps, at least {MIN_WARMUP_ROWS}), as "
               "allocated by tensors and reserved by PyTorch's caching allocator; peak = highest "
               "allocation seen. — : no GPU memory logged (CPU run or older trainer).")
    return Table(["exp", "run", "device", "allocated MB", "reserved MB", "peak MB"], rows, caption,
                 raw_rows=raw)


def memory_figure(runs: list[Run]) -> Figure | None:
    """Horizontal bars of steady allocated and reserved MB per run; None if no run has any."""
    measured = [(r.ref.title, steady_memory(r)) for r in runs]
    measured = [(name, mem) for name, mem in measured if mem["allocated"] is not None]
    if not measured:
        return None
    fig, (ax,) = new_figure(figsize_in=(8.0, max(4.0, 1.2 + 0.35 * len(measured))), left_in=2.6)
    positions = range(len(measured))
    ax.barh([p + 0.2 for p in positions], [m["allocated"] for _, m in measured], height=0.4,
            label="allocated", color="C0")
    ax.barh([p - 0.2 for p in positions], [m["reserved"] or 0 for _, m in measured], height=0.4,
            label="reserved", color="C1")
    ax.set_yticks(list(positions), [label for label, _ in measured], fontsize="small")
    ax.invert_yaxis()
    ax.set_xlabel("steady-state GPU memory (MB)")
    ax.set_ylabel("run")
    ax.set_xlim(0, 1.35 * max(max(m["allocated"], m["reserved"] or 0) for _, m in measured))
    ax.legend(loc="lower right", fontsize="small")  # in the room the xlim leaves right of the bars
    set_title(ax, "GPU memory after warm-up")
    return fig
