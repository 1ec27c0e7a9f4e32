"""What a run carries across restarts, and how the trainer (re)starts a run dir.

- TrainState: the counters saved in every checkpoint next to the model and optimizer tensors
  (step, best evaluation so far, training time); a fresh run starts them at zero.
- check_resume: a last.pt is used only once its counters fit this run (0 <= step <= max_iters,
  ...) and the config it stores is this run's (gpt.checkpoint_checks); weights and optimizer
  state are checked as they are loaded (gpt.checkpoint).
- check_config: config.json is written once; a run dir is never reused for a config that
  computes something else (a RunFileError naming the file: main.py prints it on one line).
- load_init_from: the weights of a finished run (cfg.init_from) as this run's starting point.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch

from gpt import rundir
from gpt.checkpoint import CheckpointError, load_checkpoint, load_model_state
from gpt.checkpoint_checks import check_counters, check_written_for
from gpt.config import ConfigError, RunConfig
from gpt.overrides import from_dict, results_only, to_dict
from gpt.rundir import RunFileError, read_json, write_json


class TrainState:
    """Everything that must survive a restart, beyond model and optimizer tensors; `ckpt` has
    been through check_resume (or is None: a fresh run)."""

    def __init__(self, ckpt: dict | None):
        ckpt = ckpt or {}
        self.step = int(ckpt.get("step", 0))      # optimizer steps done (= the next step's index)
        self.best_val_loss = float(ckpt.get("best_val_loss", math.inf))
        self.best_val_accuracy = float(ckpt.get("best_val_accuracy", -math.inf))
        self.best_step = int(ckpt.get("best_step", -1))
        self.elapsed_s = float(ckpt.get("elapsed_s", 0.0))   # training time over all attempts

    def as_dict(self) -> dict:
        """The counters as a checkpoint stores them (read back by `TrainState(ckpt)`)."""
        return {"step": self.step, "best_val_loss": self.best_val_loss,
                "best_val_accuracy": self.best_val_accuracy,
                "best_step": self.best_step, "elapsed_s": self.elapsed_s}


def check_resume(ckpt: dict, cfg: RunConfig, path: Path, max_iters: int) -> dict:
    """`ckpt` (last.pt at `path`) with its counters checked against this run; CheckpointError
    (one line, naming the file) when they cannot be this run's or it was written for another config."""
    check_written_for(ckpt, cfg, path)
    counters = check_counters(ckpt, path, max_iters)
    # the best so far was logged (fsync) before any checkpoint held it: the two must agree
    logged = rundir.latest_per_step(rundir.read_metrics(path.parent.parent / rundir.METRICS), "val")
    row = next((r for r in logged if r["step"] == counters["best_step"]), None)
    for key, column in (("best_val_loss", "loss"), ("best_val_accuracy", "accuracy")):
        if row is not None and row.get(column) is not None and row[column] != counters[key]:
            raise CheckpointError(f"{path}: {key}={counters[key]!r:.20} but metrics.jsonl logged "
                                  f"{column}={row[column]!r:.20} at best_step={counters['best_step']} "
                                  "(the counters were edited); move it away to restart that run from "
                                  "scratch, or restore it from a backup")
    return {**ckpt, **counters}


def check_config(cfg: RunConfig, run_dir: Path) -> None:
    """Write config.json once; a config that computes something else is refused, not overwritten
    (cosmetic fields such as train.progress may differ: they change no result)."""
    path = run_dir / rundir.CONFIG
    if path.exists():
        # through from_dict: a config.json written before a field existed gets its default
        try:
            stored = from_dict(read_json(path))
        except ConfigError as exc:   # a field of another type or value: name the file
            raise RunFileError(f"{path}: {exc}") from None
        if results_only(stored) != results_only(cfg):
            raise RunFileError(f"{path}: holds a different config than this run's (the toolkit names "
                               "run dirs by config hash, so it was edited); restore it, or start the "
                               "run in a new run dir (delete this one, or change name=...)")
    else:
        write_json(path, to_dict(cfg))


def load_init_from(model: torch.nn.Module, source: str) -> None:
    """Start from the best weights of a finished run; the architecture must match."""
    src = Path(source)
    if not rundir.is_complete(src):
        raise CheckpointError(f"init_from={source}: not a finished run dir (no {rundir.SUMMARY}); "
                              "point it at a run that completed")
    ckpt = src / (rundir.BEST if (src / rundir.BEST).exists() else rundir.LAST)
    load_model_state(model, load_checkpoint(ckpt)["model"], ckpt)
