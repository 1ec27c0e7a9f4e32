"""Checkpoints: tensors and plain values only, loadable with `weights_only=True`, written atomically.

A checkpoint holds {"model", "optimizer", "step", "best_val_loss", "best_step", "elapsed_s",
"config"}. A truncated or corrupt file raises `CheckpointError` and is never overwritten; what
a loaded one holds is checked (gpt.checkpoint_checks) before it is used.
"""
from __future__ import annotations

import io
from pathlib import Path

import torch

from gpt.checkpoint_checks import CheckpointError, check_optimizer, check_weights
from gpt.rundir import write_atomic

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "load_model_state",
           "load_optimizer_state"]


def save_checkpoint(path: Path, state: dict) -> None:
    """Write `state` (tensors and plain values) to `path` atomically: a temp file, then a rename."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_atomic(Path(path), buffer.getvalue())


def load_checkpoint(path: Path, map_location="cpu") -> dict:
    """Load a checkpoint with weights_only=True; a missing or corrupt file is a CheckpointError."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} does not exist") from None
    except Exception as exc:  # torch raises several types for truncated zip / bad pickle
        raise CheckpointError(
            f"checkpoint {path} is corrupt or truncated ({type(exc).__name__}: {str(exc)[:120]}); "
            "move it away to restart that run from scratch, or restore it from a backup") from None
    if not isinstance(state, dict) or "model" not in state:
        raise CheckpointError(f"checkpoint {path} has no 'model' entry: not written by this toolkit")
    return state


def load_model_state(model: torch.nn.Module, state_dict: dict, source: Path) -> None:
    """Strict load after checking names, shapes, dtypes and finiteness (one-line CheckpointError)."""
    check_weights(state_dict, model.state_dict(), source)
    model.load_state_dict(state_dict, strict=True)


def load_optimizer_state(optimizer: torch.optim.Optimizer, checkpoint: dict, source: Path) -> None:
    """Restore the optimizer of a resumed run; CheckpointError when the state is absent or does
    not fit (another optimizer, parameter groups of another model, moments of other shapes).
    `checkpoint["step"]` must have been checked (gpt.checkpoint_checks.check_counters)."""
    if not isinstance(checkpoint.get("optimizer"), dict):
        raise CheckpointError(f"checkpoint {source} has no optimizer state, so the run cannot resume "
                              "exactly; move it away to restart the run, or use it via init_from=RUN_DIR")
    saved = checkpoint["optimizer"].get("param_groups") or [{}]
    own = {k for k in optimizer.param_groups[0] if k != "params"}
    if not isinstance(saved, list) or not isinstance(saved[0], dict) or {
            k for k in saved[0] if k != "params"} != own:   # torch would load it and fail at the step
        raise CheckpointError(f"optimizer state in {source} was written by another optimizer than "
                              f"optim.name={type(optimizer).__name__.lower()}; rerun with that run's optim "
                              "settings, or move the checkpoint away to restart")
    check_optimizer(checkpoint["optimizer"], optimizer, source, checkpoint["step"])
    try:
        optimizer.load_state_dict(checkpoint["optimizer"])
    except (ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"optimizer state in {source} does not fit optim.name="
                              f"{type(optimizer).__name__.lower()} and this model ({str(exc)[:100]}); "
                              "rerun with the optim settings of that run, or move the checkpoint away") from None
