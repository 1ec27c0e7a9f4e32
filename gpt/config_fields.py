"""What every config part is built from: the error it raises, its validators, and the two field
kinds the run-dir hash treats specially (`added`, `cosmetic`; read by gpt/overrides.py's hash).

The parts themselves: gpt/config_model.py (model), gpt/config_train.py (data, optim, train,
sample), gpt/config.py (RunConfig, the tree's root and its public entry point).
"""
from __future__ import annotations

import math
from dataclasses import field


class ConfigError(ValueError):
    """A configuration value is invalid; the message says how to fix it."""


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """Refuse `value` unless it is one of `choices`; the message lists them."""
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not valid; choose one of: {', '.join(choices)}")


def check_positive(owner: str, **values: float) -> None:
    """Refuse any of `values` (named `owner.key`) that is not a finite number > 0."""
    for key, value in values.items():
        if not value > 0 or not math.isfinite(value):   # NaN compares False to everything
            raise ConfigError(f"{owner}.{key}={value} must be > 0 (and finite)")


def added(default):
    """A field added after run dirs existed: left out of the config hash while at its default."""
    return field(default=default, metadata={"hash_default": False})


def cosmetic(default, *, new: bool = False):
    """A field that never changes a result (losses, weights, samples), only how a run is shown or
    how often it saves: the config hash sees its default, so changing it keeps the run dir.
    `new=True`: added after run dirs existed, so (as `added`) left out of the hash altogether."""
    return field(default=default, metadata={"results": False, **({"hash_default": False} if new else {})})
