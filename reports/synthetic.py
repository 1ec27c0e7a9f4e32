"""Synthetic run dirs in the trainer's format, for the benchmark and for trying the report.

    write_sweep(Path("/tmp/runs"), n_runs=24)   # runs/<job>/<name>-<hash8>/ + a sweep index

Curves are smooth exponentials with noise; GPU memory rows on every other run.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
from pathlib import Path

from gpt import rundir

ARCHS = ("lstm", "gpt")
OPTIMIZERS = ("adam", "adamw", "sgd", "momentum")


def write_run(run_dir: Path, config: dict | None = None, rows: list[dict] | None = None,
              summary: dict | None = None, **files) -> Path:
    """Write a run dir from plain values: config.json, metrics.jsonl, summary.json, and any
    `files` given as {relative path with "/" as "__": JSON value} (e.g. samples__samples_json)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (run_dir / rundir.CONFIG).write_text(json.dumps(config))
    if rows is not None:
        (run_dir / rundir.METRICS).write_text("".join(json.dumps(r) + "\n" for r in rows))
    if summary is not None:
        (run_dir / rundir.SUMMARY).write_text(json.dumps(summary))
    for name, value in files.items():
        path = run_dir / name.replace("__", "/").replace("_json", ".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    return run_dir


def metric_rows(n_train: int, n_val: int, final_ppl: float, gpu: bool, seed: int) -> list[dict]:
    """A start row, `n_train` train rows and `n_val` val rows over 10 epochs."""
    rng = random.Random(seed)
    steps_per_epoch, total = max(1, n_train // 10) * 10, max(1, n_train // 10) * 100
    rows = [{"kind": "start", "step": 0, "attempt": 0, "n_params": 1_000_000 + seed,
             "iters_per_epoch": steps_per_epoch, "max_iters": total}]
    for i in range(n_train):
        step = (i + 1) * total // n_train
        loss = math.log(final_ppl) + 4.0 * math.exp(-5 * step / total) + rng.gauss(0, 0.03)
        row = {"kind": "train", "step": step, "epoch": step / steps_per_epoch, "loss": loss,
               "ppl": math.exp(loss), "lr": 1e-3, "ms_per_step": 50.0, "tokens_per_s": 80_000.0,
               "elapsed_s": step * 0.05}
        if gpu:
            row.update(gpu_mem_allocated_mb=900 + 10 * min(i, 5), gpu_mem_reserved_mb=1200.0,
                       gpu_mem_peak_allocated_mb=1500.0)
        rows.append(row)
    for j in range(n_val):
        step = j * total // max(1, n_val - 1)
        loss = math.log(final_ppl) * 1.02 + 4.0 * math.exp(-5 * step / total)
        rows.append({"kind": "val", "step": step, "epoch": step / steps_per_epoch, "loss": loss,
                     "ppl": math.exp(loss), "train_loss": loss - 0.05,
                     "train_ppl": math.exp(loss - 0.05), "elapsed_s": step * 0.05})
    return rows


def synthetic_config(i: int) -> dict:
    """config.json of synthetic run `i`: arch, optimizer and depth cycle with `i`."""
    arch, optim = ARCHS[i // 4 % 2], OPTIMIZERS[i % 4]
    return {"name": f"exp{i + 1}", "seed": 1337, "device": "cuda",
            "model": {"arch": arch, "n_layer": 1 + i // 8 % 3, "n_embd": 768},
            "data": {"dataset": "wikitext2", "tokenizer": "gpt1"},
            "optim": {"name": optim, "lr": 1e-3, "weight_decay": 0.0 if optim == "adam" else 5e-4},
            "train": {"epochs": 10, "batch_size": 16}}


def write_sweep(runs_root: Path, n_runs: int, sweep: str = "synthetic", n_train: int = 100,
                n_val: int = 10) -> Path:
    """`n_runs` completed runs under runs_root/<sweep>/ and their index; returns the index path."""
    entries = []
    for i in range(n_runs):
        config = synthetic_config(i)
        digest = hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8]
        run_dir = rundir.run_dir_for(runs_root, sweep, config["name"], digest)
        rows = metric_rows(n_train, n_val, 140 + 7 * (i % 13), gpu=i % 2 == 0, seed=i)
        val = [r for r in rows if r["kind"] == "val"]
        best = min(val, key=lambda r: r["ppl"])
        write_run(run_dir, config, rows, {"status": "completed", "best_val_ppl": best["ppl"],
                                          "wall_s": rows[-1]["elapsed_s"], "epochs": 10})
        entries.append({"exp": i + 1, "name": config["name"], "job": sweep,
                        "run_dir": str(run_dir.relative_to(runs_root)), "label": config["name"]})
    index = Path(runs_root) / "sweeps" / sweep / "index.json"
    rundir.write_json(index, {"sweep": sweep, "runs": entries})
    return index
