"""The trainer's figures: the speed of each log window, and the summary a finished run leaves.

- SpeedWindow times the optimizer steps between two train rows (ms/step, tokens/s, MFU %) with
  evaluation and checkpoint time kept out; the first WARMUP_LOGS windows after a (re)start
  (torch.compile, allocator warm-up) stay out of the medians that go into the summary.
- run_summary builds summary.json from metrics.jsonl: the best and the final evaluation (the
  latest row per step, so rows a resumed run wrote again count once), speed and memory medians.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import torch

from gpt import perf, rundir
from gpt.config import RunConfig
from gpt.loss import PPL_DEFINITIONS

WARMUP_LOGS = 1   # log intervals right after a (re)start excluded from speed figures (and compile)


class SpeedWindow:
    """Wall time of the steps since the last train row, less evaluation/checkpoint time."""

    def __init__(self, cfg: RunConfig, n_params: int, device: torch.device, world_size: int):
        self.device = device
        # tokens of one optimizer step over all ranks: train.batch_size is the global batch
        self.tokens_per_step = cfg.train.batch_size * cfg.train.grad_accum * cfg.model.block_size
        self.flops_per_token = perf.flops_per_token(cfg.model, n_params)
        self.peak_flops, self.no_mfu_reason = perf.device_peak(device)
        if self.peak_flops is not None:
            self.peak_flops *= world_size      # MFU of the whole job: all devices' peak
        self.speeds: list[tuple[float, float, float | None]] = []   # (ms/step, tokens/s, MFU %)
        self.windows = 0                       # windows closed since this (re)start
        self.restart()

    def restart(self) -> None:
        """Open a new window now: no steps, no paused time."""
        self.start_s, self.steps, self.paused_s = time.perf_counter(), 0, 0.0

    def paused(self, action) -> None:
        """Run `action` (evaluation, a checkpoint) with its time kept out of the window."""
        self._sync()
        start_s = time.perf_counter()
        action()
        self._sync()
        self.paused_s += time.perf_counter() - start_s

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)   # the clock must not run ahead of the GPU

    def close(self) -> tuple[float, float, float | None]:
        """(ms per step, tokens/s, MFU % or None) of the window; kept for the medians once past
        the warm-up. The caller has just synchronised with the device (it read the loss)."""
        ms = ((time.perf_counter() - self.start_s - self.paused_s) * 1000 / self.steps)
        tokens_per_s = self.tokens_per_step / (ms / 1000)
        mfu = perf.mfu_pct(self.flops_per_token, tokens_per_s, self.peak_flops)
        self.windows += 1
        if self.windows > WARMUP_LOGS:
            self.speeds.append((ms, tokens_per_s, mfu))
        return ms, tokens_per_s, mfu


def attempts(metrics: Path) -> int:
    """How many times the run started (its `start` rows): the one count of attempts, read by
    summary.json, the next attempt's number and `status` alike (a resubmission after scancel
    restarts Slurm's own counter at 0, so SLURM_RESTART_COUNT alone undercounts)."""
    return sum(r.get("kind") == "start" for r in rundir.read_jsonl(metrics))


def run_summary(cfg: RunConfig, state, metrics: Path, speeds: list, *, per_epoch: float,
                params: dict[str, int], device: str, world_size: int) -> dict:
    """summary.json of a completed run: best (by train.select_by) and final evaluation, medians of
    ms/step, tokens/s, MFU and GPU memory (the last train row's speed when every window was
    warm-up, e.g. a short run or one resumed near its end). `params`: gpt.param_counts's
    n_params (all), n_trainable and n_frozen."""
    rows = [r for r in rundir.read_metrics(metrics) if r["step"] <= state.step]   # none from the future
    vals = rundir.latest_per_step(rows, "val")
    final = vals[-1] if vals else {}
    best = next((r for r in vals if r["step"] == state.best_step), final)
    trains = rundir.latest_per_step(rows, "train")
    speeds = speeds or [(r["ms_per_step"], r["tokens_per_s"], r.get("mfu_pct")) for r in trains[-1:]]
    mems = [r for r in trains[len(trains) // 10:] if "gpu_mem_allocated_mb" in r]   # past the first 10 %
    return {
        "status": "completed", "name": cfg.name, "steps": state.step, "epochs": state.step / per_epoch,
        "best_val_loss": state.best_val_loss, "best_val_ppl": math.exp(min(state.best_val_loss, 50)),
        "best_step": state.best_step, "best_epoch": state.best_step / per_epoch,
        "best_train_ppl": best.get("train_ppl"), "select_by": cfg.train.select_by,
        "best_val_accuracy": best.get("accuracy"), "best_train_accuracy": best.get("train_accuracy"),
        "final_val_accuracy": final.get("accuracy"), "final_train_accuracy": final.get("train_accuracy"),
        "final_val_loss": final.get("loss"), "final_val_ppl": final.get("ppl"),
        "final_train_loss": final.get("train_loss"), "final_train_ppl": final.get("train_ppl"),
        "wall_s": state.elapsed_s, **params, "device": device,
        "ms_per_step": _median([m for m, _, _ in speeds]),
        "tokens_per_s": _median([v for _, v, _ in speeds]),
        "mfu_pct": _median([u for _, _, u in speeds if u is not None]),
        "gpu_mem_allocated_mb": _median([r["gpu_mem_allocated_mb"] for r in mems]),
        "gpu_mem_reserved_mb": _median([r["gpu_mem_reserved_mb"] for r in mems]),
        "gpu_mem_peak_allocated_mb": max((r["gpu_mem_peak_allocated_mb"] for r in mems), default=None),
        "attempts": attempts(metrics), "world_size": world_size,
        "loss_reduction": cfg.train.loss_reduction,
        "ppl_definition": PPL_DEFINITIONS[cfg.train.loss_reduction],
    }


def _median(values: list[float]) -> float | None:
    values = sorted(values)
    return values[len(values) // 2] if values else None   # the upper median: a measured value
