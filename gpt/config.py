"""Frozen run configuration: one tree of dataclasses, each component gets only its part.

    cfg = RunConfig(name="demo", model=model_preset("gpt-nano"))
    cfg = apply_overrides(cfg, ["optim.lr=3e-4", "model.n_layer=4"])

Validation lives in `__post_init__` and says what to do; derived values are properties.
Overrides and JSON loading are in `gpt/overrides.py`.

This module is the config tree's public entry point: it defines the root, RunConfig, and imports
the parts it is made of, so `from gpt.config import ...` names every config class, ConfigError and
the model presets. The parts: gpt/config_model.py (model configs, attention option tables, size
presets), gpt/config_train.py (data, optim, train, sample), gpt/config_fields.py (validators and
the `added`/`cosmetic` field kinds a new field is declared with).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from gpt.config_fields import ConfigError, check_choice
from gpt.config_model import (MODEL_PRESETS, ClassifierConfig, GPTConfig, LSTMConfig, ModelConfig,
                              model_preset, preset_name)
from gpt.config_train import DataConfig, OptimConfig, SampleConfig, TrainConfig

__all__ = ["ConfigError", "GPTConfig", "LSTMConfig", "ClassifierConfig",
           "ModelConfig", "MODEL_PRESETS", "model_preset", "preset_name", "DataConfig",
           "OptimConfig", "TrainConfig", "SampleConfig", "MAX_NAME_CHARS", "NAME_PATTERN", "RunConfig"]

MAX_NAME_CHARS = 100   # + "-<hash8>" stays far below the 255-byte file-name limit
NAME_PATTERN = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9._-]{{0,{MAX_NAME_CHARS - 1}}}")


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """One run: name, seed, device and each component's config (model, data, optim,
    train, sample); hashed into the run-dir name."""

    name: str = "run"
    seed: int = 1337
    device: str = "auto"          # auto (cuda if available) | cpu | cuda
    model: ModelConfig = field(default_factory=GPTConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    init_from: str = ""           # run dir of a finished run whose weights start this one

    def __post_init__(self) -> None:
        check_choice("device", self.device, ("auto", "cpu", "cuda"))
        # the name becomes a folder and a Slurm job name: no shell or path characters
        if not NAME_PATTERN.fullmatch(self.name):
            raise ConfigError(f"name={self.name[:40]!r}{'...' if len(self.name) > 40 else ''} is not "
                              f"valid: use 1-{MAX_NAME_CHARS} of A-Z a-z 0-9 . _ - (not starting with . or -)")
        if not 0 <= self.seed < 2**32:
            raise ConfigError(f"seed={self.seed} must be in [0, 2**32) (torch and numpy seeds are 32/64-bit)")
