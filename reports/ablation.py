"""The attention ablation section: one table, val curves of every variant, loss against length.

Reads the runs of the `attention_ablation` job (`python main.py sweep attention_ablations`):
summary.json (params, best val ppl, tokens/s), metrics.jsonl (val curves, GPU peak memory) and
eval/lengths.json (written by the job, or by `python main.py eval_lengths`).
A variant is named by the attention settings that differ from the defaults.
"""
from __future__ import annotations

import math

from matplotlib import colormaps
from matplotlib.ticker import LogLocator, NullLocator

from reports.figures import Figure, log_y, new_figure, set_title
from reports.load import Run
from reports.tables import Table, fmt

JOB = "attention_ablation"
LENGTHS_FILE = "lengths.json"
# the attention settings and their defaults (GPTConfig); old configs lack the newer keys
SETTINGS = {"attention": "fused", "mask": "causal", "score": "scaled_dot", "qkv": "separate",
            "pos_embedding": "learned"}
SHORT = {"pos_embedding": "pos"}
MAX_SAMPLE_CHARS = 100
LEGEND_IN_PER_CHAR = 0.055   # width of one x-small legend character (inches)


def variant_label(run: Run) -> str:
    """`attention=explicit mask=naive`, or `fused (default)` when every setting is the default."""
    parts = [f"{SHORT.get(k, k)}={run.cfg(f'model.{k}', d)}" for k, d in SETTINGS.items()
             if run.cfg(f"model.{k}", d) != d]
    return " ".join(parts) or "fused (default)"


def _lengths(run: Run) -> dict | None:
    return next((e for e in run.evals if e.get("file") == LENGTHS_FILE and e.get("kind") == "lengths"), None)


def _ppl_at(lengths: dict | None, length: int) -> float | None:
    for row in (lengths or {}).get("rows") or []:
        if isinstance(row, dict) and row.get("length") == length and "ppl" in row:
            return row["ppl"]
    return None


def _peak_mem_mb(run: Run) -> float | None:
    column = next((c for c in ("gpu_mem_peak_allocated_mb", "gpu_mem_allocated_mb") if c in run.train), None)
    if column is None or run.train[column].dropna().empty:
        return None
    return float(run.train[column].max())


def ablation_rows(runs: list[Run]) -> list[dict]:
    """One dict per completed ablation run, in the order found (the sweep's order)."""
    rows = []
    for run in runs:
        if run.ref.job != JOB or not run.completed:
            continue
        block = run.cfg("model.block_size")
        lengths = _lengths(run)
        rows.append({"run": run, "variant": variant_label(run), "params": run.summary.get("n_params"),
                     "best_val_ppl": run.summary.get("best_val_ppl"),
                     "tokens_per_s": run.summary.get("tokens_per_s"), "peak_mem_mb": _peak_mem_mb(run),
                     "ppl_2x": _ppl_at(lengths, 2 * block) if isinstance(block, int) else None,
                     "lengths": lengths, "block_size": block})
    return rows


def _best(values: list, lowest: bool) -> int | None:
    finite = [(v, i) for i, v in enumerate(values) if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return None
    return (min(finite) if lowest else max(finite))[1]


def ablation_table(rows: list[dict]) -> Table:
    """Variant, params, best val ppl, tokens/s, peak memory, val ppl at 2x length; best in bold."""
    columns = ["variant", "params", "best val ppl", "tokens/s", "peak GPU MB", "val ppl at 2x length"]
    keys = ["variant", "params", "best_val_ppl", "tokens_per_s", "peak_mem_mb", "ppl_2x"]
    specs = ["s", ",d", ".2f", ",.0f", ",.0f", ".2f"]
    raw = [[row[k] for k in keys] for row in rows]
    display = [[fmt(v, spec) for v, spec in zip(values, specs)] for values in raw]
    bold = set()
    for col, lowest in ((2, True), (3, False), (4, True), (5, True)):
        best = _best([r[col] for r in raw], lowest)
        if best is not None:
            bold.add((best, col))
    blocks = sorted({r["block_size"] for r in rows if isinstance(r["block_size"], int)})
    capped = [r["variant"] for r in rows if r["lengths"] and r["lengths"].get("max_context") is not None]
    caption = ("Attention ablation: every variant trained on the same base"
               f"{f' (block_size {blocks[0]})' if len(blocks) == 1 else ''}. best val ppl: lowest "
               "validation perplexity of the run; tokens/s: training throughput (median over the "
               "run's log windows); peak GPU MB: — on CPU runs; val ppl at 2x length: evaluated on "
               "contexts twice the training length (eval/lengths.json), — where the model cannot "
               f"run past block_size ({len(capped)} of {len(rows)} variants: learned positions or "
               "per-position parameters). Best of each column in bold.")
    return Table(columns, display, caption, bold=bold, raw_rows=raw)


def _styles(n: int) -> list[tuple[tuple, str]]:
    """(colour, line style) per run: tab10 colours, then the same colours dashed and dotted."""
    colours = colormaps["tab10"].colors
    dashes = ["-", "--", ":", "-."]
    return [(colours[i % 10], dashes[(i // 10) % 4]) for i in range(n)]


def _figure(rows: list[dict]) -> tuple[Figure, object]:
    """A 6 x 4.5 in plot plus a right margin wide enough for the longest legend label."""
    legend_in = 0.6 + LEGEND_IN_PER_CHAR * max(len(r["variant"]) for r in rows)
    fig, (ax,) = new_figure(figsize_in=(6.0 + legend_in, 4.5), right_in=legend_in)
    return fig, ax


def _legend(ax) -> None:
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)


def curves_figure(rows: list[dict]) -> Figure | None:
    """Validation perplexity against step, one line per variant (log y); None without curves."""
    rows = [r for r in rows if not r["run"].val.empty and "ppl" in r["run"].val]
    if not rows:
        return None
    fig, ax = _figure(rows)
    for row, (colour, dash) in zip(rows, _styles(len(rows))):
        val = row["run"].val
        ax.plot(val["step"], val["ppl"], color=colour, linestyle=dash, linewidth=1.2, label=row["variant"])
    log_y(ax)
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0)))  # a short range
    ax.set_xlabel("training step")
    ax.set_ylabel("validation perplexity (log scale)")
    set_title(ax, f"Validation perplexity of {len(rows)} attention variants")
    _legend(ax)
    return fig


def lengths_figure(rows: list[dict]) -> Figure | None:
    """Val loss against context length (log2 x), one line per variant; None without lengths.json."""
    rows = [r for r in rows if r["lengths"]]
    if not rows:
        return None
    fig, ax = _figure(rows)
    for row, (colour, dash) in zip(rows, _styles(len(rows))):
        points = [(p["length"], p["loss"]) for p in row["lengths"].get("rows") or []
                  if isinstance(p, dict) and isinstance(p.get("loss"), (int, float))]
        if points:
            xs, ys = zip(*points)
            ax.plot(xs, ys, color=colour, linestyle=dash, marker="o", markersize=3, linewidth=1.2,
                    label=row["variant"])
    blocks = sorted({r["block_size"] for r in rows if isinstance(r["block_size"], int)})
    for block in blocks:
        ax.axvline(block, color="0.4", linewidth=0.8, linestyle=":")
        ax.annotate(f"training length {block}", (block, 0.0), xycoords=("data", "axes fraction"),
                    xytext=(3, 4), textcoords="offset points", fontsize="x-small", color="0.3")
    ax.set_xscale("log", base=2)
    lengths = sorted({p["length"] for r in rows for p in r["lengths"].get("rows") or [] if isinstance(p, dict)})
    ax.set_xticks(lengths, [str(n) for n in lengths])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("context length (tokens, log scale)")
    ax.set_ylabel("validation loss (nats/token)")
    set_title(ax, "Length generalisation: val loss against context length")
    _legend(ax)
    return fig


def samples_table(rows: list[dict]) -> Table | None:
    """The first sample of each variant, newlines shown as ⏎, cut to MAX_SAMPLE_CHARS."""
    body = []
    for row in rows:
        samples = row["run"].samples
        if samples:
            s = samples[0]
            text = (str(s.get("prompt", "")) + str(s.get("text", ""))).replace("\n", "⏎")
            cut = text[:MAX_SAMPLE_CHARS] + ("…" if len(text) > MAX_SAMPLE_CHARS else "")
            body.append([row["variant"], fmt(s.get("temperature")), cut])
    if not body:
        return None
    return Table(["variant", "temperature", "sample (best weights)"], body,
                 f"One sample per variant (first {MAX_SAMPLE_CHARS} characters; ⏎ = newline).")
