"""Divergence: the error a NaN/inf loss or weight raises, and the cheap checks that find it.

The trainer checks the losses summed on the device since the last check at every log interval,
and those plus every parameter before each checkpoint write, so no saved state is ever non-finite.
"""
from __future__ import annotations

from pathlib import Path

import torch

from gpt.checkpoint import load_checkpoint
from gpt.config import ConfigError, OptimConfig


class DivergedError(ConfigError):
    """Loss or parameters became NaN/inf; nothing non-finite was saved. Says what to change."""


def all_finite(tensors) -> bool:
    """True when no element of any tensor is NaN/inf: one device-to-host read for all of them."""
    flags = [torch.isfinite(t).all() for t in tensors]
    return bool(torch.stack(flags).all()) if flags else True


def diverged(what: str, optim: OptimConfig, last: Path) -> DivergedError:
    """The one-line error: what happened, which checkpoint is still good, and what to change."""
    good = (f"{last} (step {load_checkpoint(last)['step']}) is the last good state and a rerun of this "
            "config resumes from it" if last.exists() else "no checkpoint was written yet")
    clip = "" if optim.grad_clip > 0 else ", set optim.grad_clip=1.0 (now 0 = off)"
    return DivergedError(f"training diverged: {what}; nothing non-finite was saved, {good}. "
                         f"Lower optim.lr (now {optim.lr:g}){clip} or lengthen optim.warmup_iters "
                         f"(now {optim.warmup_iters})")
