"""The attention-cost figure (JHU hw5 §4.1: full attention is quadratic in T, kernel and sparse
variants linear): milliseconds per attention layer against sequence length, log-log, one line per
variant, with dashed O(T) and O(T^2) guides. Drawn from the JSON `bench attention` writes, so this
module, like every reports/ module, never imports torch.

    fig = cost_figure(json.loads(Path("attention_cost.json").read_text()))
"""
from __future__ import annotations

import math

from matplotlib import colormaps

from reports.figures import Figure, log_y, new_figure, pin_axis_labels, set_title

MARKERS = "os^vD<>ph*"


def loglog_slope(lengths: list[int], ms: list[float]) -> float | None:
    """Least-squares slope of log(ms) against log(T): ~1 for linear cost, ~2 for quadratic."""
    points = [(math.log(t), math.log(m)) for t, m in zip(lengths, ms) if m and m > 0]
    if len(points) < 2:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else None


def cost_figure(result: dict) -> Figure:
    """One log-log line per variant of `result` (bench attention's JSON: lengths, variants{ms})."""
    lengths = result["lengths"]
    fig, (ax,) = new_figure()
    names = list(result["variants"])
    colours = colormaps["tab20"].resampled(max(len(names), 1))
    for k, name in enumerate(names):
        ms = result["variants"][name]["ms"]
        slope = loglog_slope(lengths, ms)
        label = f"{name} (slope {slope:.2f})" if slope is not None else name
        ax.plot(lengths, ms, marker=MARKERS[k % len(MARKERS)], color=colours(k), label=label)
    everything = [m for v in result["variants"].values() for m in v["ms"] if m and m > 0]
    if everything and len(lengths) > 1:   # guides through the smallest first point
        t0, m0 = lengths[0], min(v["ms"][0] for v in result["variants"].values())
        for power, style in ((1, ":"), (2, "--")):
            ax.plot(lengths, [m0 * (t / t0) ** power for t in lengths], style, color="grey",
                    label=f"O(T^{power})" if power > 1 else "O(T)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(lengths, [str(t) for t in lengths])
    log_y(ax)
    ax.set_xlabel("sequence length T (tokens)")
    ax.set_ylabel("ms per attention layer")
    pin_axis_labels(ax, y_offset_in=0.6)
    passes = "forward + backward" if result.get("backward") else "forward"
    set_title(ax, f"attention cost vs length ({passes}; {result.get('device', '?')}, batch "
                  f"{result.get('batch_size', '?')}, {result.get('n_embd', '?')} dims, "
                  f"{result.get('n_head', '?')} heads)")
    ax.legend(fontsize="small", ncol=2 if len(names) > 6 else 1, loc="upper left")
    return fig
