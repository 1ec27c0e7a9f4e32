"""A run card per run: what a grader asks of each run (parameter count, hyperparameters,
hardware, run time), from config.json, env.json, summary.json and the last start row.

    run_card(run)   # -> Table of (field, value) rows; missing values show as "—"
"""
from __future__ import annotations

from reports.load import Run
from reports.tables import MISSING, Table, fmt


def _duration(seconds) -> str:
    """1.2 s, 3.4 min or 2.1 h: the unit that keeps the number readable."""
    text = fmt(seconds, ".1f")
    if text == MISSING:
        return text
    seconds = float(seconds)
    if seconds >= 3 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 600 else f"{seconds:.1f} s"


def _model(run: Run) -> str:
    m = run.cfg("model") or {}
    if not isinstance(m, dict):
        return MISSING
    if m.get("arch", "gpt") == "lstm":
        shape = f"LSTM {m.get('n_layer', '?')} layer(s), {m.get('n_embd', m.get('hidden_size', '?'))} dims"
    else:
        shape = (f"GPT {m.get('n_layer', '?')} layers, {m.get('n_head', '?')} heads, "
                 f"{m.get('n_embd', '?')} dims")
    return f"{shape}, block {m.get('block_size', '?')}, dropout {fmt(m.get('dropout'), 'g')}"


def _training(run: Run) -> str:
    t = run.cfg("train") or {}
    length = (f"{fmt(t.get('epochs'), 'g')} epochs" if t.get("epochs") else
              f"{fmt(t.get('max_iters'), ',d')} steps")
    accum = t.get("grad_accum") or 1
    return f"{length}, batch {fmt(t.get('batch_size'), 'd')}" + (f" x {accum} accumulated" if accum > 1 else "")


def _optimizer(run: Run) -> str:
    o = run.cfg("optim") or {}
    parts = [str(o.get("name", MISSING)), f"lr {fmt(o.get('lr'), 'g')}",
             f"{o.get('schedule', 'constant')} schedule", f"weight decay {fmt(o.get('weight_decay'), 'g')}"]
    if o.get("warmup_iters"):
        parts.append(f"warmup {o['warmup_iters']} steps")
    if o.get("grad_clip"):
        parts.append(f"grad clip {fmt(o['grad_clip'], 'g')}")
    return ", ".join(parts)


def _hardware(run: Run) -> str:
    env = run.env
    device = run.summary.get("device") or env.get("device") or MISSING
    name = env.get("device_name")
    where = f"{device} ({name})" if name and name != device else str(device)
    threads = f", {env['cpu_threads']} CPU threads" if env.get("cpu_threads") else ""
    host = f" on {env['host']}" if env.get("host") else ""
    slurm = env.get("slurm") or {}
    job = f", Slurm job {slurm['job_id']}" + (f" ({slurm['partition']})" if slurm.get("partition") else "") \
        if slurm.get("job_id") else ""
    return f"{where}{threads}{host}{job}"


def _run_time(run: Run) -> str:
    s = run.summary
    wall = s.get("wall_s")
    if wall is None and "elapsed_s" in run.train and len(run.train):
        wall = run.train["elapsed_s"].dropna().iloc[-1] if run.train["elapsed_s"].notna().any() else None
    steps = fmt(s.get("steps"), ",d")
    per_step = fmt(s.get("ms_per_step"), ".1f")
    attempts = s.get("attempts")
    text = f"{_duration(wall)} of training"
    if steps != MISSING:
        text += f" for {steps} steps ({per_step} ms/step, {fmt(s.get('tokens_per_s'), ',.0f')} tokens/s)"
    return text + (f", {attempts} attempts" if attempts and attempts > 1 else "")


def run_card(run: Run) -> Table:
    """Parameter count, model, data, hyperparameters, hardware, run time and code of one run."""
    params = run.summary.get("n_params") or run.start.get("n_params")
    frozen = run.summary.get("n_frozen", run.start.get("n_frozen"))
    trainable = run.summary.get("n_trainable", run.start.get("n_trainable"))
    env = run.env
    data = run.cfg("data") or {}
    rows = [
        ["parameters", fmt(params, ",d") + (f" ({fmt(trainable, ',d')} trainable, {fmt(frozen, ',d')} "
                                            "frozen)" if frozen is not None else "")],
        ["model", _model(run)],
        ["data", f"{data.get('dataset', MISSING)} ({data.get('tokenizer', MISSING)} tokens)"
         if isinstance(data, dict) else MISSING],
        ["training", _training(run)],
        ["optimizer", _optimizer(run)],
        ["initialised from", str(run.cfg("init_from") or "random (from scratch)")],
        ["seed", fmt(run.cfg("seed"), "d")],
        ["hardware", _hardware(run)],
        ["run time", _run_time(run)],
        ["software", f"torch {env.get('torch', MISSING)}, Python {env.get('python', MISSING)}, "
                     f"git {str(env.get('git_sha') or MISSING)[:10]}{' (dirty)' if env.get('git_dirty') else ''}"],
    ]
    return Table(["field", "value"], rows, f"Run card of {run.ref.job}/{run.cfg('name') or run.ref.name}: "
                 "parameter count, hyperparameters, hardware and run time.")
