"""The attention ablation section: per sweep, one table ranked by a leak-free val loss.

Reads the runs of the `attention_ablation` job (`python main.py sweep attention_ablations`):
summary.json (params, best val ppl, tokens/s), metrics.jsonl (val curves, GPU peak memory),
eval/causal.json (the leak-free val loss and the future-leak probe, jobs/causal_eval.py) and
eval/lengths.json (written by the job, or by `python main.py eval_lengths`).

The validation loss a run logs comes from one forward over whole windows: a variant that lets a
position see later tokens (the naive mask) scores better than it is. The table's main column is
therefore the leak-free loss (each position from its own prefix), rows are ranked by it, and a
variant the probe (or, for runs without causal.json, its config) shows to see the future is
flagged. Runs are grouped by sweep (`RunRef.group`), one table per sweep, so runs of other
sweeps or of other settings never share a table; the caption lists any setting other than the
attention that differs inside one.
"""
from __future__ import annotations

import math

from gpt import rundir
from reports.labels import flatten
from reports.load import Run
from reports.tables import Table, fmt

JOB = "attention_ablation"
# the attention settings and their defaults (GPTConfig); old configs lack the newer keys
SETTINGS = {"attention": "fused", "mask": "causal", "score": "scaled_dot", "qkv": "separate",
            "pos_embedding": "learned"}
SHORT = {"pos_embedding": "pos"}
# for runs without eval/causal.json: settings known to let a position see later tokens
# (tests/test_attention_variants.py: test_naive_masking_leaks_the_future)
KNOWN_LEAKS = {"model.mask": "naive"}
# keys that may differ between the variants of one ablation without changing what is compared
VARIANT_KEYS = ("name", "sample.", "train.progress", "model.attention", "model.mask", "model.score",
                "model.qkv", "model.pos_embedding", "model.attn_", "model.n_latents", "model.n_features")
MAX_SAMPLE_CHARS = 100
FLAG = "SEES FUTURE"


def variant_label(run: Run) -> str:
    """`attention=explicit mask=naive`, or `fused (default)` when every setting is the default."""
    parts = [f"{SHORT.get(k, k)}={run.cfg(f'model.{k}', d)}" for k, d in SETTINGS.items()
             if run.cfg(f"model.{k}", d) != d]
    return " ".join(parts) or "fused (default)"


def _eval(run: Run, file: str, kind: str) -> dict | None:
    return next((e for e in run.evals if e.get("file") == file and e.get("kind") == kind), None)


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


def _number(value) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def sees_future(run: Run, causal: dict | None) -> bool:
    """The probe's verdict in causal.json, else whether the config is a known leak."""
    if causal is not None and isinstance(causal.get("sees_future"), bool):
        return causal["sees_future"]
    return any(run.cfg(key) == value for key, value in KNOWN_LEAKS.items())


def _row(run: Run) -> dict:
    block = run.cfg("model.block_size")
    lengths, causal = _eval(run, rundir.LENGTHS, "lengths"), _eval(run, rundir.CAUSAL, "causal")
    return {"run": run, "variant": variant_label(run), "group": run.ref.group,
            "params": run.summary.get("n_params"), "best_val_ppl": run.summary.get("best_val_ppl"),
            "leak_free_loss": _number((causal or {}).get("loss")),
            "window_loss": _number((causal or {}).get("window_loss")),
            "sees_future": sees_future(run, causal), "causal": causal,
            "tokens_per_s": run.summary.get("tokens_per_s"), "peak_mem_mb": _peak_mem_mb(run),
            "ppl_2x": _ppl_at(lengths, 2 * block) if isinstance(block, int) else None,
            "lengths": lengths, "block_size": block}


def ablation_groups(runs: list[Run]) -> dict[str, list[dict]]:
    """{sweep (or job, for runs outside a sweep): rows of its completed ablation runs}, each list
    ranked by leak-free val loss (runs without one last), labels unique within a group."""
    groups: dict[str, list[dict]] = {}
    for run in runs:
        if run.ref.job == JOB and run.completed:
            groups.setdefault(run.ref.group, []).append(_row(run))
    for rows in groups.values():
        rows.sort(key=lambda r: (r["leak_free_loss"] is None, r["leak_free_loss"] or 0.0))
        counts: dict[str, int] = {}
        for r in rows:
            counts[r["variant"]] = counts.get(r["variant"], 0) + 1
        for r in rows:   # two runs of one variant (resubmitted with other overrides): name both
            if counts[r["variant"]] > 1:
                r["variant"] = f"{r['variant']} ({r['run'].ref.title})"
    return groups


def other_differences(rows: list[dict]) -> list[str]:
    """Config keys besides the attention settings whose values differ between the rows' runs."""
    flats = [flatten(r["run"].config) for r in rows]
    keys = sorted(set().union(*flats)) if flats else []
    return [k for k in keys if not k.startswith(VARIANT_KEYS)
            and len({repr(f.get(k)) for f in flats}) > 1]


def _best(values: list, lowest: bool) -> int | None:
    finite = [(v, i) for i, v in enumerate(values) if _number(v) is not None]
    if not finite:
        return None
    return (min(finite) if lowest else max(finite))[1]


def _caption(group: str, rows: list[dict]) -> str:
    blocks = sorted({r["block_size"] for r in rows if isinstance(r["block_size"], int)})
    differ = other_differences(rows)
    base = (f"the runs also differ in {', '.join(differ)}, so this is not a one-change comparison"
            if differ else "every run has the same base config (data, seed, optimizer, steps) and "
            "differs only in its attention settings")
    where = f"sweep {group}" if group != JOB else "attention_ablation runs outside any sweep"
    flagged = [r["variant"] for r in rows if r["sees_future"]]
    missing = sum(r["leak_free_loss"] is None for r in rows)
    capped = sum(1 for r in rows if r["lengths"] and r["lengths"].get("max_context") is not None)
    return (f"Attention ablation, {where}: {len(rows)} completed run(s), this group only; {base}"
            f"{f' (block_size {blocks[0]})' if len(blocks) == 1 else ''}. Ranked by leak-free val loss "
            "(nats/token, best weights, eval/causal.json): the logits at position t come from a "
            "forward over tokens 0..t alone, so no variant gains from seeing later tokens; lowest "
            f"in bold. {FLAG}: a change of the token at t+1 moved the trained model's logits at "
            f"positions <= t ({len(flagged)} variant(s){': ' + ', '.join(flagged) if flagged else ''}); "
            "its whole-window val loss and the columns after it (measured over whole windows, as in "
            "training) are marked † and are not comparable. whole-window val loss: one forward "
            "per window on the same tokens; best val ppl: lowest logged during training; tokens/s: "
            "median training throughput; peak GPU MB: — on CPU; val ppl at 2x length: eval/lengths.json "
            f"at twice the training length, — where the model cannot run past block_size ({capped} "
            f"of {len(rows)})."
            + (f" {missing} run(s) without eval/causal.json (run `python main.py eval_causal "
               "--run-dir RUN`) rank last." if missing else ""))


def ablation_table(rows: list[dict], group: str = JOB) -> Table:
    """Rank, variant, leak flag, leak-free val loss (main, bold lowest) and ppl, then the
    whole-window numbers († for a variant that sees the future), params, speed, memory, 2x length."""
    columns = ["rank", "variant", "sees future", "leak-free val loss", "leak-free ppl",
               "whole-window val loss", "best val ppl", "params", "tokens/s", "peak GPU MB",
               "val ppl at 2x length"]
    specs = ["d", "s", "s", ".3f", ".2f", ".3f", ".2f", ",d", ",.0f", ",.0f", ".2f"]
    raw, display = [], []
    for i, r in enumerate(rows):
        leak = r["causal"].get("future_leak") if r["causal"] else None
        flag = (f"{FLAG} ({leak:.1e})" if _number(leak) is not None else FLAG) if r["sees_future"] else "no"
        values = [i + 1, r["variant"], flag, r["leak_free_loss"],
                  math.exp(r["leak_free_loss"]) if r["leak_free_loss"] is not None else None,
                  r["window_loss"], r["best_val_ppl"], r["params"], r["tokens_per_s"],
                  r["peak_mem_mb"], r["ppl_2x"]]
        raw.append(values)
        cells = [fmt(v, spec) for v, spec in zip(values, specs)]
        if r["sees_future"]:
            cells = [c + " †" if j in (5, 6, 10) and c != "—" else c for j, c in enumerate(cells)]
        display.append(cells)
    bold = set()
    honest = [v if not r["sees_future"] else None for v, r in zip([x[6] for x in raw], rows)]
    for col, values, lowest in ((3, [x[3] for x in raw], True), (6, honest, True),
                                (8, [x[8] for x in raw], False), (9, [x[9] for x in raw], True)):
        best = _best(values, lowest)
        if best is not None:
            bold.add((best, col))
    return Table(columns, display, _caption(group, rows), bold=bold, raw_rows=raw)


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
                 f"One sample per variant (first {MAX_SAMPLE_CHARS} characters; ⏎ = newline), "
                 "in the table's order.")
