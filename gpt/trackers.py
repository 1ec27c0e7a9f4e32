"""Copies of metrics.jsonl in the trackers people already use: TensorBoard and W&B (train.loggers).

    trackers = open_trackers(cfg, run_dir, on=world.is_main)   # train.loggers=tensorboard,wandb
    trackers.log(row)       # a metrics.jsonl row: train and val rows become scalars at row["step"]
    trackers.close()

metrics.jsonl stays the source of truth (reports and status read only it); a tracker is a mirror
for its UI, written by rank 0. TensorBoard: event files in <run_dir>/tensorboard/ (`tensorboard
--logdir runs`). W&B: a run in <run_dir>/wandb/, offline unless WANDB_MODE says otherwise (compute
nodes rarely reach the internet: `wandb sync <run_dir>/wandb/offline-run-*` from a login node), its
id and name the run dir's name (<name>-<hash8>), its group the job, its config the run's config;
project $WANDB_PROJECT or "slm-toolkit".

Resume: a rerun continues the same tracker run (same folder, same W&B id). Rows of steps an
earlier attempt already logged (it logged up to metrics.jsonl's last step; the rerun repeats the
steps since its checkpoint, with the same values) are not written again; a tracker turned on for a
run that already has rows is first filled from metrics.jsonl. Both packages are optional extras
(requirements-extra.txt), imported only when asked for.
"""
from __future__ import annotations

import os
from pathlib import Path

from gpt import rundir
from gpt.config import ConfigError, RunConfig
from gpt.config_train import logger_names

MIRRORED_KINDS = ("train", "val")
TB_DIR, WANDB_DIR = "tensorboard", "wandb"


def scalars(row: dict) -> dict[str, float]:
    """The numbers of a train/val row as tracker scalars, `kind/key` (step and time are axes)."""
    return {f"{row['kind']}/{key}": float(value) for key, value in row.items()
            if key not in ("kind", "step", "time") and isinstance(value, (int, float))
            and not isinstance(value, bool)}


def _missing(name: str, package: str) -> ConfigError:
    return ConfigError(f"train.loggers={name} needs the {package!r} package, which is not installed: "
                       f"pip install {package} (or pip install -r requirements-extra.txt), or drop {name}")


def check_installed(loggers: str) -> None:
    """ConfigError (one line: what to install) when a package train.loggers needs is missing; the
    launcher calls it before a job writes anything."""
    for name in logger_names(loggers):
        module = "torch.utils.tensorboard" if name == "tensorboard" else "wandb"
        try:
            __import__(module)
        except ImportError:
            raise _missing(name, name) from None


class _TensorBoard:
    def __init__(self, run_dir: Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise _missing("tensorboard", "tensorboard") from None
        self.writer = SummaryWriter(log_dir=str(run_dir / TB_DIR))

    def log(self, step: int, values: dict[str, float]) -> None:
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, global_step=step)

    def close(self) -> None:
        self.writer.close()


class _WandB:
    def __init__(self, cfg: RunConfig, run_dir: Path):
        try:
            import wandb
        except ImportError:
            raise _missing("wandb", "wandb") from None
        from gpt.overrides import to_dict
        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", "slm-toolkit"), dir=str(run_dir),
                              id=run_dir.name, name=run_dir.name, group=run_dir.parent.name,
                              config=to_dict(cfg), resume="allow",
                              mode=os.environ.get("WANDB_MODE", "offline"))

    def log(self, step: int, values: dict[str, float]) -> None:
        self.run.log(values, step=step)

    def close(self) -> None:
        self.run.finish()


class Trackers:
    """The trackers of one training attempt; a no-op without train.loggers (or off rank 0)."""

    def __init__(self, trackers: list, skip_through: int):
        self.trackers = trackers
        self.skip_through = skip_through   # the last step an earlier attempt logged

    def log(self, row: dict) -> None:
        """Mirror a metrics.jsonl row (train and val rows; steps already mirrored are skipped)."""
        if self.trackers and row.get("kind") in MIRRORED_KINDS and row["step"] > self.skip_through:
            values = scalars(row)
            for tracker in self.trackers:
                tracker.log(row["step"], values)

    def close(self) -> None:
        """Flush and close every tracker (W&B: finish the run)."""
        for tracker in self.trackers:
            tracker.close()
        self.trackers = []


def open_trackers(cfg: RunConfig, run_dir: Path, on: bool = True) -> Trackers:
    """The trackers train.loggers names, opened in `run_dir` (none when `on` is false)."""
    names = logger_names(cfg.train.loggers) if on else ()
    if not names:
        return Trackers([], 0)
    earlier = [r for r in rundir.read_jsonl(run_dir / rundir.METRICS) if r.get("kind") in MIRRORED_KINDS] \
        if (run_dir / rundir.METRICS).exists() else []
    skip_through = max((r["step"] for r in earlier), default=-1)
    trackers = []
    for name in names:
        fresh = not (run_dir / (TB_DIR if name == "tensorboard" else WANDB_DIR)).exists()
        tracker = _TensorBoard(run_dir) if name == "tensorboard" else _WandB(cfg, run_dir)
        if fresh:              # turned on for a run that already has rows: fill it from metrics.jsonl
            rows = [r for kind in MIRRORED_KINDS for r in rundir.latest_per_step(earlier, kind)]
            for row in sorted(rows, key=lambda r: r["step"]):   # W&B drops a step below the last one
                tracker.log(row["step"], scalars(row))
        trackers.append(tracker)
    return Trackers(trackers, skip_through)

