"""`--pack K`: each Slurm array task of a sweep runs K points, so tiny runs share one allocation.

    python main.py sweep grid optim.lr=1e-3,3e-3,1e-2 seed=1,2 --preset smoke --executor slurm --pack 3

Array task i runs points [i*K, (i+1)*K) of the task list; its job step is
`python -m jobs.launcher.pack_worker <tasks.json>` (jobs/launcher/pack_worker.py), which starts one child process
per point (an inline run, as jobs/launcher/worker.py does) along the lanes this module plans:
- seq (auto without GPUs): one lane, the points one after another;
- gpus (auto with 2+ GPUs): one lane per GPU, each child with its own CUDA_VISIBLE_DEVICES;
- shared: every point at once on the one device; on a GPU, only as many as its free memory holds
  (a coarse estimate per point, below), the rest queue behind them.
USR2 or SIGTERM is forwarded to every running child, which saves at a step boundary; once all have
exited, USR2 requeues the array task (`scontrol requeue`) and the points resume, completed ones
being skipped (run_inline: summary.json). A failing point does not stop its neighbours: it gets a
`failed` row in its slurm/jobs.jsonl (shown by `status`) and the array task exits 1.
The lane plan is the pure function `plan`, so the GPU modes are tested without a GPU.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

from jobs.errors import LaunchError

MODES = ("auto", "seq", "gpus", "shared")
FREE_MEMORY_SHARE = 0.9     # shared GPU: leave 10% of the free memory to the CUDA context & co.


@dataclass(frozen=True)
class Lane:
    """Points run one after another by child processes; cuda_visible: their CUDA_VISIBLE_DEVICES
    (None: inherited)."""
    points: tuple[int, ...]
    cuda_visible: str | None = None


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add --pack and --pack-mode (sweep, sweep grid, reproduce) to `p`."""
    p.add_argument("--pack", type=int, default=None, metavar="K",
                   help="slurm: run K points in each array task (fewer, fuller allocations for tiny runs; "
                        "clamped to the number of points); see --pack-mode")
    p.add_argument("--pack-mode", choices=MODES, default="auto",
                   help="how a packed task runs its K points: seq (one after another), gpus (one process "
                        "per GPU of the allocation), shared (all at once on one device; a GPU's free memory "
                        "is checked first); auto: gpus with 2+ GPUs, else seq")


def check_flags(pack: int | None, mode: str, executor: str, task_index: int | None) -> None:
    """Refuse --pack values and combinations that cannot work (LaunchError, one line)."""
    if mode not in MODES:
        raise LaunchError(f"--pack-mode {mode!r}; choose one of: {', '.join(MODES)}")
    if pack is None:
        if mode != "auto":
            raise LaunchError(f"--pack-mode {mode} goes with --pack K")
        return
    if pack < 1:
        raise LaunchError(f"--pack {pack} must be at least 1 (points per Slurm array task)")
    if executor != "slurm" or task_index is not None:
        raise LaunchError("--pack goes with --executor slurm (and without --task-index); "
                          "inline and local runs already run one after another")


def points_per_task(pack: int | None, mode: str, n_points: int, gpus: int) -> int:
    """K, clamped to the number of points (with a note); refuses --pack-mode gpus without GPUs."""
    k = pack or 1
    if k > 1 and mode == "gpus" and gpus < 1:
        raise LaunchError("--pack-mode gpus runs one point per GPU: submit with --gpus N (N >= 2)")
    if k > n_points:
        print(f"[launch] note: --pack {k} > {n_points} point(s) to submit: one task runs them all",
              file=sys.stderr)
    return max(1, min(k, n_points))


def n_array_tasks(n_points: int, k: int) -> int:
    """How many array tasks K points each take (the last may hold fewer)."""
    return -(-n_points // k)


def task_points(array_index: int, k: int, n_points: int) -> range:
    """The points array task `array_index` runs: [i*K, (i+1)*K) within the list."""
    return range(array_index * k, min((array_index + 1) * k, n_points))


def need_bytes(n_params: int, batch: int, block: int, n_embd: int, n_layer: int) -> int:
    """Coarse GPU memory of one training process: fp32 weights, grads and AdamW's two moments
    (16 bytes a parameter), plus activations ~16 fp32 tensors of (batch, block, n_embd) per layer."""
    return 16 * n_params + 16 * 4 * batch * block * n_embd * max(1, n_layer)


def plan(points: list[int], mode: str, gpus: list[str], free_bytes: int | None = None,
         need: int = 0) -> list[Lane]:
    """The lanes that run `points`: pure, so every mode is tested without a GPU.

    gpus: the allocation's visible GPU ids; free_bytes/need: the shared GPU's free memory and one
    point's estimate (None: CPU, every point at once). LaunchError when the mode cannot run here."""
    if mode == "auto":
        mode = "gpus" if len(gpus) > 1 else "seq"
    if mode == "seq" or len(points) <= 1:
        return [Lane(tuple(points))]
    if mode == "gpus":
        if not gpus:
            raise LaunchError("--pack-mode gpus needs GPUs in the allocation: submit with --gpus N")
        n = min(len(gpus), len(points))
        return [Lane(tuple(points[j::n]), gpus[j]) for j in range(n)]
    at_once = len(points)
    if free_bytes is not None:          # one GPU: as many processes as its free memory holds
        at_once = min(at_once, int(free_bytes * FREE_MEMORY_SHARE) // max(1, need))
        if at_once < 1:
            raise LaunchError(f"--pack-mode shared: one point needs ~{need / 2**30:.1f} GiB, the GPU has "
                              f"{free_bytes / 2**30:.1f} GiB free; use --pack-mode seq or a larger GPU")
    return [Lane(tuple(points[j::at_once])) for j in range(at_once)]


def visible_gpus() -> list[str]:
    """The allocation's GPU ids (CUDA_VISIBLE_DEVICES, else every GPU torch sees)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g for g in visible.split(",") if g.strip()]
    import torch
    return [str(i) for i in range(torch.cuda.device_count())]


def shared_memory(tasks: list) -> tuple[int | None, int]:
    """(free bytes of the one GPU, the largest point's estimate); (None, 0) without a GPU."""
    import torch
    if not torch.cuda.is_available():
        return None, 0
    from gpt import build_model
    needs = []
    for t in tasks:
        try:
            m, n_params = t.cfg.model, sum(p.numel() for p in build_model(t.cfg.model).parameters())
            batch = t.cfg.train.batch_size
        except (AttributeError, KeyError) as exc:   # e.g. a Hugging Face classifier: no estimate
            raise LaunchError(f"--pack-mode shared cannot estimate the memory of a {t.job} run ({exc}); "
                              "use --pack-mode seq or gpus") from None
        needs.append(need_bytes(n_params, batch, getattr(m, "block_size", 1),
                                getattr(m, "n_embd", 1), getattr(m, "n_layer", 1)))
    return torch.cuda.mem_get_info()[0], max(needs)
