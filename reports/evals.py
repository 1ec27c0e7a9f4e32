"""Birth-place accuracy (CS224n a5): dev accuracy per variant next to the "always London" baseline.

Read from eval/*.json results of evaluate runs: {"kind": "birthplace_accuracy", "variant",
"eval_file", "correct", "total", "accuracy" (percent), "skipped"}.
"""
from __future__ import annotations

from reports.figures import Figure, new_figure, set_title
from reports.load import Run
from reports.tables import Table, fmt

KIND = "birthplace_accuracy"
BASELINE = "london"
CAPTION = ("Dev-set accuracy of greedy answers per variant; london = always answering "
           "\"London\", the baseline a model must beat; vs london: difference in percentage points.")


def eval_rows(runs: list[Run]) -> list[dict]:
    """Every scored birth-place result (not unlabelled test predictions), baseline first, then
    by variant and run."""
    rows = [{"run": run.ref.title, **result} for run in runs for result in run.evals
            if result.get("kind") == KIND and isinstance(result.get("accuracy"), (int, float))]
    return sorted(rows, key=lambda r: (str(r.get("variant")) != BASELINE, str(r.get("variant")), r["run"]))


def _baseline(rows: list[dict]) -> float | None:
    scores = [r["accuracy"] for r in rows if r.get("variant") == BASELINE
              and isinstance(r.get("accuracy"), (int, float))]
    return max(scores) if scores else None


def eval_table(rows: list[dict]) -> Table:
    """Variant, run, eval file, correct, total, accuracy % and the gap to the London baseline."""
    baseline = _baseline(rows)
    columns = ["variant", "run", "eval file", "correct", "total", "accuracy %", "vs london (pp)"]
    raw, display = [], []
    for row in rows:
        accuracy = row.get("accuracy")
        gap = accuracy - baseline if baseline is not None and isinstance(accuracy, (int, float)) else None
        values = [row.get("variant"), row["run"], row.get("eval_file"), row.get("correct"),
                  row.get("total"), accuracy, gap]
        raw.append(values)
        display.append([fmt(v, spec) for v, spec in zip(values, ["s", "s", "s", "d", "d", ".1f", "+.1f"])])
    caption = CAPTION + ("" if baseline is not None else " No London baseline result was found.")
    return Table(columns, display, caption, raw_rows=raw)


def eval_figure(rows: list[dict]) -> Figure | None:
    """Bars of accuracy per variant (best run of each), the London baseline as a dashed line."""
    best: dict[str, float] = {}
    for row in rows:
        if isinstance(row.get("accuracy"), (int, float)):
            variant = str(row.get("variant"))
            best[variant] = max(best.get(variant, float("-inf")), row["accuracy"])
    if not best:
        return None
    fig, (ax,) = new_figure()
    variants = list(best)
    ax.bar(range(len(variants)), [best[v] for v in variants],
           color=["0.6" if v == BASELINE else "C0" for v in variants])
    for i, v in enumerate(variants):   # a 0 % bar has no height: the number still shows
        ax.annotate(f"{best[v]:.1f}%", (i, best[v]), ha="center", va="bottom", fontsize="small")
    ax.set_xticks(range(len(variants)), variants, fontsize="small")
    baseline = _baseline(rows)
    if baseline is not None:
        ax.axhline(baseline, color="C3", ls="--", label=f"london baseline ({baseline:.1f}%)")
        ax.legend(loc="upper right", fontsize="small")
    ax.set_ylim(0, max([*best.values(), baseline or 0, 1.0]) * 1.25)   # room for labels and legend
    ax.set_xlabel("variant")
    ax.set_ylabel("dev accuracy (%)")
    set_title(ax, "Birth-place prediction accuracy")
    return fig
