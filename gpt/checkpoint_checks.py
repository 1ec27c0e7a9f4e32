"""Checks of a checkpoint's contents against what the run loading it can be, before any is used.

    check_counters(ckpt, path, max_iters)          # step, best so far, training time
    check_weights(state_dict, own, path)           # names, shapes, dtypes, all finite
    check_optimizer(ckpt["optimizer"], optimizer, path)   # groups, hyper-parameters, moments
    check_written_for(ckpt, cfg, path)             # the config it was trained under is this one

A checkpoint is a file users copy, edit and share, so every value read from it is checked: a
crafted `step` beyond max_iters would mark a run complete with absurd epochs, a NaN weight would
train on silently, a moment tensor of another shape would fail deep inside torch. Each failure is a
CheckpointError `<file>: <what is wrong>; <what to do>` (one line, exit 2). The checkpoints hold no
RNG state to check: dropout and batches are pure functions of (seed, step).
"""
from __future__ import annotations

import math
from pathlib import Path

import torch

from gpt.rundir_checks import is_int, is_number

MAX_ELAPSED_S = 1e9    # 30 years of training time: more is a crafted value
FIX = "move it away to restart that run from scratch, or restore it from a backup"


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read or does not fit the model; the message says what to do."""


def _bad(path: Path, what: str, fix: str = FIX) -> CheckpointError:
    return CheckpointError(f"{path}: {what}; {fix}")


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_counters(ckpt: dict, path: Path, max_iters: int) -> dict:
    """{step, best_val_loss, best_val_accuracy, best_step, elapsed_s} of `ckpt`, each checked:
    0 <= best_step <= step <= max_iters (best_step -1: none yet), losses >= 0 (inf: none yet),
    accuracy in [0, 1] (-inf: none yet), elapsed_s in [0, 1e9) seconds."""
    out = {"step": ckpt.get("step"), "best_step": ckpt.get("best_step", -1),
           "best_val_loss": ckpt.get("best_val_loss", math.inf),
           "best_val_accuracy": ckpt.get("best_val_accuracy", -math.inf),
           "elapsed_s": ckpt.get("elapsed_s", 0.0)}
    step = out["step"]
    if not is_int(step) or not 0 <= step <= max_iters:
        raise _bad(path, f"step={_shown(step)} is not an integer in [0, {max_iters}] (this run's "
                         "max_iters)")
    if not is_int(out["best_step"]) or not -1 <= out["best_step"] <= step:
        raise _bad(path, f"best_step={_shown(out['best_step'])} is not an integer in [-1, step={step}]")
    loss, acc = out["best_val_loss"], out["best_val_accuracy"]
    if not ((is_number(loss) and loss >= 0) or loss == math.inf) or isinstance(loss, bool):
        raise _bad(path, f"best_val_loss={_shown(loss)} is not a number >= 0")
    if not ((is_number(acc) and 0 <= acc <= 1) or acc == -math.inf) or isinstance(acc, bool):
        raise _bad(path, f"best_val_accuracy={_shown(acc)} is not a number in [0, 1]")
    if (out["best_step"] >= 0) != (loss != math.inf):
        raise _bad(path, f"best_step={out['best_step']} and best_val_loss={loss} disagree (a best "
                         "step has a finite loss, none has inf)")
    if not is_number(out["elapsed_s"]) or not 0 <= out["elapsed_s"] < MAX_ELAPSED_S:
        raise _bad(path, f"elapsed_s={_shown(out['elapsed_s'])} is not a number of seconds in "
                         f"[0, {MAX_ELAPSED_S:.0e})")
    return {k: (v if k.endswith("step") else float(v)) for k, v in out.items()}


def check_weights(state_dict, own: dict, path: Path) -> None:
    """`state_dict` has exactly `own`'s tensor names with the same shapes and dtypes, all finite."""
    if not isinstance(state_dict, dict):
        raise _bad(path, f"'model' is a {type(state_dict).__name__}, not a dict of tensors")
    bad_shape = [k for k in own if isinstance(state_dict.get(k), torch.Tensor)
                 and own[k].shape != state_dict[k].shape]
    missing = [k for k in own if not isinstance(state_dict.get(k), torch.Tensor)]
    unexpected = [k for k in state_dict if k not in own]
    if bad_shape or missing or unexpected:
        detail = "; ".join(f"{label}: {', '.join(map(str, keys[:4]))}{' ...' if len(keys) > 4 else ''}"
                           for label, keys in (("shape differs", bad_shape), ("missing", missing),
                                               ("unexpected", unexpected)) if keys)
        raise CheckpointError(f"weights in {path} do not fit this model ({detail}); "
                              "the model config must match the run that wrote them")
    dtype = [k for k in own if state_dict[k].dtype != own[k].dtype]
    if dtype:
        k = dtype[0]
        raise _bad(path, f"tensor {k} is {state_dict[k].dtype}, this model's is {own[k].dtype}")
    # one host read for all: isfinite of every floating tensor, reduced on the device
    floats = [t for t in state_dict.values() if t.is_floating_point()]
    if floats and not bool(torch.stack([torch.isfinite(t).all() for t in floats]).all()):
        name = next(k for k, t in state_dict.items() if t.is_floating_point() and not torch.isfinite(t).all())
        raise _bad(path, f"tensor {name} holds NaN/inf (the toolkit never saves a diverged state, "
                         "so this file was altered or damaged)")


DEVICE_KEYS = ("fused", "foreach", "capturable", "differentiable")   # follow the device, not the run


def _check_group(saved: dict, own: dict, path: Path, g: int, optimizer: str) -> None:
    """Every hyper-parameter of the saved group equals this run's (they come from the optim
    config, which check_written_for compared), but lr (the schedule sets it each step) and the
    device-dependent switches."""
    for key, value in own.items():
        if key in ("params", *DEVICE_KEYS) or key not in saved:
            continue
        got = saved[key]
        if key == "lr":
            ok = is_number(got) and got >= 0
        else:
            same_type = type(got) is type(value) or (isinstance(value, tuple) and isinstance(got, list))
            ok = same_type and (tuple(got) if isinstance(got, list) else got) == value
        if not ok:
            raise _bad(path, f"optimizer group {g}: {key}={_shown(got)} differs from this run's "
                             f"optim.name={optimizer} ({_shown(value)})")


def check_optimizer(saved, optimizer: torch.optim.Optimizer, path: Path, step: int) -> None:
    """The saved optimizer state has this optimizer's groups (same sizes, sane hyper-parameters)
    and, per parameter, moment tensors of its shape and dtype, all finite; the largest per-parameter
    step count (Adam's) is the checkpoint's `step` (one optimizer step per trainer step)."""
    groups = saved.get("param_groups") if isinstance(saved, dict) else None
    state = saved.get("state") if isinstance(saved, dict) else None
    if not isinstance(groups, list) or not isinstance(state, dict) or not all(isinstance(x, dict) for x in groups):
        raise _bad(path, "the optimizer state is not {'state': {...}, 'param_groups': [...]}")
    own = optimizer.param_groups
    if len(groups) != len(own) or any(not isinstance(s.get("params"), list) or len(s["params"]) != len(o["params"])
                                      for s, o in zip(groups, own)):
        raise _bad(path, f"the optimizer has {[len(s.get('params') or []) for s in groups]} parameters "
                         f"per group, this model {[len(o['params']) for o in own]}",
                   "the model and optim config must match the run that wrote it")
    counts = []
    for g, (s, o) in enumerate(zip(groups, own)):
        _check_group(s, o, path, g, type(optimizer).__name__.lower())
        for index, param in zip(s["params"], o["params"]):
            moments = state.get(index, {})
            if not isinstance(moments, dict):
                raise _bad(path, f"optimizer state of parameter {_shown(index)} is not a dict")
            for name, t in moments.items():
                where = f"optimizer state {name} of parameter {index}"
                if not isinstance(t, torch.Tensor):
                    raise _bad(path, f"{where} is {_shown(t)}, not a tensor")
                if t.ndim and (t.shape != param.shape or t.dtype != param.dtype):
                    raise _bad(path, f"{where} is {tuple(t.shape)} {t.dtype}, the parameter "
                                     f"{tuple(param.shape)} {param.dtype}")
                if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                    raise _bad(path, f"{where} holds NaN/inf")
                if name in ("step", "exp_avg_sq") and bool((t < 0).any()):
                    raise _bad(path, f"{where} is negative")
                if name == "step" and t.numel() == 1:
                    counts.append(float(t))
    if counts and max(counts) != step:
        raise _bad(path, f"step={step} but the optimizer state has taken {max(counts):g} steps (the "
                         "counters were edited)")


def check_written_for(ckpt: dict, cfg, path: Path) -> None:
    """The config stored in `ckpt` computes the same as `cfg` (a checkpoint copied in from
    another run dir would resume this run with that run's weights and counters)."""
    from gpt.config import ConfigError
    from gpt.overrides import from_dict, results_only
    stored = ckpt.get("config")
    if stored is None:
        return          # written before checkpoints carried their config
    try:
        same = isinstance(stored, dict) and results_only(from_dict(stored)) == results_only(cfg)
    except (ConfigError, TypeError, ValueError):
        same = False
    if not same:
        raise _bad(path, "it was written by another config than this run's (copied in from another "
                         "run dir, or edited)", "move it away to restart this run, or use that run "
                                                "via init_from=RUN_DIR")


def check_run_files(cfg, tokenizer, ckpt: dict, ckpt_path: Path, tokenizer_path: Path) -> None:
    """A finished run's files agree before a model is built from them (sample, tools): the
    checkpoint was written under config.json's config (an edited config.json could otherwise ask
    for a model of 10**9 layers), and the tokenizer has the model's vocabulary size."""
    check_written_for(ckpt, cfg, ckpt_path)
    vocab = getattr(cfg.model, "vocab_size", 0)
    if vocab and tokenizer.vocab_size != vocab:
        raise CheckpointError(f"{tokenizer_path}: has {tokenizer.vocab_size} tokens but the model has "
                              f"vocab_size={vocab} (config.json); restore the run's own tokenizer.json")
