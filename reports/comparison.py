"""CPU vs GPU timing (the `cpu_gpu_comparison` job): a table and a bar chart of ms per step.

Read from each run's comparison.json: {"steps", "rows": [{device, device_name, total_s,
ms_per_step, tokens_per_s}], "speedup", "note"}.
"""
from __future__ import annotations

from reports.figures import Figure, new_figure, set_title
from reports.load import Run
from reports.tables import Table, fmt

CAPTION = ("The same model trained for the same number of steps on each device. total s: wall "
           "time of those steps; ms/step: mean time per optimizer step; speedup: CPU time / GPU "
           "time (— when one device was not available).")


def comparison_rows(runs: list[Run]) -> list[dict]:
    """One dict per (run, device) with run, steps, speedup, note and the device row's timings."""
    rows = []
    for run in runs:
        comparison = run.comparison or {}
        for device_row in comparison.get("rows") or []:
            if isinstance(device_row, dict):
                rows.append({"run": run.ref.title, "name": run.cfg("name"), "exp": run.ref.exp,
                             "steps": comparison.get("steps"),
                             "speedup": comparison.get("speedup"), "note": comparison.get("note", ""),
                             **device_row})
    return rows


def comparison_table(rows: list[dict]) -> Table:
    """Run, device, device name, steps, total seconds, ms/step, tokens/s and speedup."""
    columns = ["run", "device", "device name", "steps", "total s", "ms/step", "tokens/s", "speedup"]
    keys = ["run", "device", "device_name", "steps", "total_s", "ms_per_step", "tokens_per_s", "speedup"]
    specs = ["s", "s", "s", "d", ".1f", ".1f", ",.0f", ".1f"]
    raw = [[row.get(k) for k in keys] for row in rows]
    display = [[fmt(v, spec) for v, spec in zip(values, specs)] for values in raw]
    notes = sorted({row["note"] for row in rows if row.get("note")})
    caption = CAPTION + (" Notes: " + " ".join(notes) if notes else "")
    return Table(columns, display, caption, raw_rows=raw)


def comparison_figure(rows: list[dict]) -> Figure | None:
    """Horizontal bars of ms/step per run and device, speedups in the labels; None if no data."""
    rows = [r for r in rows if isinstance(r.get("ms_per_step"), (int, float))]
    if not rows:
        return None
    height_in = max(4.0, 1.2 + 0.4 * len(rows))   # a readable figure even for one or two bars
    fig, (ax,) = new_figure(figsize_in=(8.0, height_in), left_in=2.6)
    labels = [f"{r.get('name') or r['run']}: {r.get('device', '?')}" for r in rows]
    colors = ["C0" if r.get("device") == "cpu" else "C2" for r in rows]
    ax.barh(range(len(rows)), [r["ms_per_step"] for r in rows], color=colors, height=0.6)
    for i, row in enumerate(rows):
        ax.annotate(f" {row['ms_per_step']:.1f} ms", (row["ms_per_step"], i), va="center",
                    fontsize="small")
    ax.set_yticks(range(len(rows)), labels, fontsize="small")
    ax.invert_yaxis()
    ax.set_xlabel("time per training step (ms)")
    ax.set_ylabel("run: device")
    speedups = sorted({f"{r['speedup']:.1f}x" for r in rows if isinstance(r.get("speedup"), (int, float))})
    set_title(ax, "CPU vs GPU" + (f" (GPU speedup {', '.join(speedups)})" if speedups else ""))
    ax.margins(x=0.2)
    return fig
