"""Device choice and the CUDA speed settings: bf16 autocast, TF32, and torch.compile's failures.

    device = resolve_device(cfg.device)            # ConfigError for device=cuda without a GPU
    enable_tf32(device, cfg.train.amp)
    with autocast_for(device, cfg.train.amp)(): ...
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext

import torch

from gpt.config import ConfigError


def resolve_device(name: str) -> torch.device:
    """torch.device for `device=auto|cpu|cuda`; cuda without a visible GPU is a ConfigError."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda but no CUDA GPU is visible here (torch "
                          f"{torch.__version__}, CUDA build: {torch.version.cuda or 'none'}); "
                          "use device=cpu or device=auto, or run on a GPU node")
    return torch.device(name)


def enable_tf32(device: torch.device, amp: bool) -> None:
    """fp32 matmuls/convolutions on TF32 tensor cores (CUDA, when mixed precision is on)."""
    if device.type == "cuda" and amp:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def autocast_for(device: torch.device, amp: bool):
    """A factory of autocast contexts: bf16 on CUDA with `amp`, else a no-op (CPU stays fp32)."""
    if device.type == "cuda" and amp:
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext


def seed_device(seed: int, device: torch.device) -> None:
    """Seed the random numbers that ops on `device` draw, as torch.manual_seed does for it.

    On a CPU run that is the CPU generator alone: torch.manual_seed also queues a seeding of every
    backend not yet started (CUDA, XPU, MTIA), recording a stack trace each time, about 0.3 ms of a
    training step (measured at the trainer's call depth). Other devices keep torch.manual_seed.
    """
    if device.type == "cpu":
        torch.default_generator.manual_seed(seed)
    else:
        torch.manual_seed(seed)


@contextmanager
def compile_errors_as_config_errors(compiling: bool):
    """torch.compile failures (they surface at the first call) as one line suggesting compile=false."""
    try:
        yield
    except Exception as exc:
        if not compiling or not _from_compiler(exc):
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise ConfigError(f"train.compile=true but torch.compile failed ({type(exc).__name__}: "
                          f"{first}); set train.compile=false to train eagerly") from None


def _from_compiler(exc: BaseException) -> bool:
    """True for an error raised by torch.compile's stack (dynamo, inductor), told by the module of
    its class: torch exports no public exception type for them, and importing a private one ties
    the toolkit to internals that move between releases."""
    return any(c.__module__.startswith(("torch._dynamo", "torch._inductor")) for c in type(exc).__mro__)
