"""The "Reproduction" section: every <runs_root>/reproduce/*.json as one table (ours vs reference).

Files are written by `main.py reproduce`; smoke-scale ones are kept and marked, never mixed up
with full-scale numbers.
"""
from __future__ import annotations

from pathlib import Path

from gpt.rundir import read_json
from reports.tables import MISSING, Table

COLUMNS = ["experiment", "scale", "run", "metric", "reference", "ours", "gap", "hardware", "wall (s)"]


def find_results(inputs: list[Path]) -> tuple[list[dict], list[str]]:
    """The reproduce results under each input folder, plus warnings for unreadable files."""
    results, warnings = [], []
    for folder in inputs:
        for path in sorted(Path(folder).glob("reproduce/*.json")):
            try:
                results.append(read_json(path))
            except ValueError as exc:
                warnings.append(f"{path}: {exc}")
    return results, warnings


def _num(value) -> str:
    return MISSING if value is None else f"{value:.4g}"


def reproduction_table(results: list[dict]) -> Table:
    """One row per (experiment, run, reference); smoke rows say so in the scale column."""
    rows, raw = [], []
    for res in sorted(results, key=lambda r: (r["experiment"], r["scale"])):
        for row in res["rows"]:
            cells = [res["experiment"], res["scale"] + (" (not comparable)" if res["smoke"] else ""),
                     row["label"], res["metric"], row["reference"] or MISSING, _num(row["ours"]),
                     row.get("gap_text") or _num(row["gap"]), res["hardware"], f"{res['train_wall_s']:g}"]
            rows.append(cells)
            raw.append(cells[:5] + [row["ours"], row["gap"], res["hardware"], res["train_wall_s"]])
    return Table(COLUMNS, rows, raw_rows=raw,
                 caption="Ours against each course's reference number (jobs/tools/references.json, "
                         "sources in the .md files); gap = ours - reference; against a one-sided "
                         "bound (>= low) ours - low, positive = met; 0 inside a range. "
                         "Smoke rows run the same pipeline at toy scale and are not comparable.")
