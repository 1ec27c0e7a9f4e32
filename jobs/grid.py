"""Grid sweeps from the command line: `key=v1,v2` axes -> the cartesian product of configs.

    python main.py sweep grid optim.lr=1e-3,3e-4 model.attention=fused,explicit --job full_run --preset smoke
    python main.py sweep grid "optim.betas=0.9,0.99;0.9,0.95" --job full_run --preset smoke

Syntax (one rule per field kind, so a value is never split two ways):
- scalar fields (numbers, bools, strings): values separated by commas, `optim.lr=1e-3,3e-4`;
- tuple fields (`optim.betas`, `sample.temperatures`, `sample.prompts`): a comma (or `|` for
  prompts) stays inside ONE value, as in a plain override; values are separated by `;`
  (quote it in the shell): `"optim.betas=0.9,0.99;0.9,0.95"` is two points.
A key with one value is a fixed override applied to every point. A `;` on a scalar field,
an empty value, a key given twice, two values that give the same config, an invalid point (each
is validated whole: base + fixed overrides + its values) or more points than `--max-points` is
refused before anything runs.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
import re
import typing
from dataclasses import dataclass

from gpt.config import MAX_NAME_CHARS, ConfigError, RunConfig
from gpt.overrides import apply_overrides, config_hash

DEFAULT_MAX_POINTS = 256
TUPLE_SEP = ";"


@dataclass(frozen=True)
class Axis:
    """One swept key: its dotted name, the values as typed, and the short name used in labels."""
    key: str
    values: tuple[str, ...]
    short: str


@dataclass(frozen=True)
class Point:
    """One grid point: its config and the label naming the axes' values (`lr=1e-3 attention=fused`)."""
    cfg: RunConfig
    label: str


def _field_type(cfg: RunConfig, key: str):
    """The declared type of dotted `key` in `cfg`, or None for keys the override parser owns."""
    node, typ = cfg, type(cfg)
    for part in key.split("."):
        if not dataclasses.is_dataclass(node):
            return None
        hints = typing.get_type_hints(type(node))
        if part not in hints:
            return None          # unknown: apply_overrides gives the message listing valid keys
        typ, node = hints[part], getattr(node, part)
    return typ


def _is_tuple(cfg: RunConfig, key: str) -> bool:
    return typing.get_origin(_field_type(cfg, key)) is tuple


def _split(cfg: RunConfig, item: str) -> tuple[str, tuple[str, ...]]:
    """`key=a,b` -> (key, values) by the key's field kind; ConfigError on an ambiguous spelling."""
    if "=" not in item:
        raise ConfigError(f"grid item {item!r} must look like key=v1,v2 (e.g. optim.lr=1e-3,3e-4)")
    key, text = (s.strip() for s in item.split("=", 1))
    if _is_tuple(cfg, key):
        values = tuple(text.split(TUPLE_SEP)) if TUPLE_SEP in text else (text,)
    else:
        if TUPLE_SEP in text:
            raise ConfigError(f"{key}={text!r}: ';' separates values of tuple fields only; {key} "
                              f"is a single value, separate its values by commas: {key}=a,b")
        values = tuple(text.split(",")) if key != "init_from" else (text,)  # paths may hold commas
    values = tuple(v.strip() for v in values)
    if len(values) > 1 and any(v == "" for v in values):
        raise ConfigError(f"{key}={text!r}: empty value in the list; remove the extra separator")
    if values == ("",) and not _is_tuple(cfg, key):
        raise ConfigError(f"{key}= has no value; give one or more, e.g. {key}=a,b")
    if len(set(values)) != len(values):
        dup = next(v for v in values if values.count(v) > 1)
        raise ConfigError(f"{key}: value {dup!r} is listed twice; each grid point must differ")
    return key, values


def _short_names(keys: list[str]) -> dict[str, str]:
    """Last dotted part (`optim.lr` -> `lr`) unless two axes share it, then the full key."""
    lasts = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: (last if lasts.count(last) == 1 else k) for k, last in zip(keys, lasts)}


def parse_axes(base: RunConfig, items: list[str]) -> tuple[list[str], list[Axis]]:
    """(fixed overrides, swept axes) of `items`, split by the kind of each key's field in `base`."""
    fixed, swept, seen = [], [], set()
    for item in items:
        key, values = _split(base, item)
        if key in seen:
            raise ConfigError(f"{key} is given twice; list all its values once: {key}=a,b")
        seen.add(key)
        if key == "name" and len(values) > 1:
            raise ConfigError("name cannot be a grid axis: every point gets its own name from its values")
        # values are checked per point (expand): one may be valid only with another axis's value
        if len(values) == 1:
            fixed.append(f"{key}={values[0]}")
        else:
            swept.append((key, values))
    shorts = _short_names([k for k, _ in swept])
    return fixed, [Axis(k, v, shorts[k]) for k, v in swept]


def _run_name(base_name: str, pairs: list[tuple[str, str]]) -> str:
    """`smoke` + (lr, 1e-3), (attention, fused) -> `smoke.lr-1e-3.attention-fused`: only the
    characters a run name may hold (gpt.config.NAME_PATTERN), cut to MAX_NAME_CHARS; run dirs stay
    distinct through their config hash even if two cut names coincide."""
    text = ".".join(f"{short}-{value}" for short, value in pairs)
    return f"{base_name}.{re.sub(r'[^A-Za-z0-9._-]', '_', text)}"[:MAX_NAME_CHARS]


def expand(base: RunConfig, items: list[str], max_points: int = DEFAULT_MAX_POINTS) -> tuple[list[Axis], list[Point]]:
    """The axes and every grid point of `items` over `base`; ConfigError before building if too many.

    Each point is `base` + the fixed overrides + its axis values, validated as a whole: a grid
    whose values are valid together (`model.n_embd=64,128 model.n_head=4,8` over a 3-head base)
    is accepted, and the first invalid point is named."""
    fixed, axes = parse_axes(base, items)
    n_points = math.prod(len(a.values) for a in axes)
    if n_points > max_points:
        sizes = " x ".join(f"{len(a.values)} ({a.short})" for a in axes)
        raise ConfigError(f"grid of {n_points} points ({sizes}) is over --max-points {max_points}; "
                          f"shrink the grid or pass --max-points {n_points}")
    points, hashes = [], {}
    for combo in itertools.product(*(a.values for a in axes)):
        pairs = [(a.short, v) for a, v in zip(axes, combo)]
        label = " ".join(f"{s}={v}" for s, v in pairs) or "base"
        overrides = [f"{a.key}={v}" for a, v in zip(axes, combo)]
        try:
            cfg = apply_overrides(base, fixed + overrides)
        except ConfigError as exc:
            raise ConfigError(f"grid point {label!r}: {exc}; nothing was run") from None
        digest = config_hash(cfg)   # before the point's own name: equal configs, equal hashes
        cfg = dataclasses.replace(cfg, name=_run_name(cfg.name, pairs)) if pairs else cfg
        if digest in hashes:
            raise ConfigError(f"grid points {hashes[digest]!r} and {label!r} are the same config; "
                              "drop one of the values")
        hashes[digest] = label
        points.append(Point(cfg, label))
    return axes, points


def default_sweep_name(job: str, preset: str, items: list[str]) -> str:
    """`grid-<job>-<preset>-<8 hex of the items>`: the same command line finds the same index."""
    digest = hashlib.sha256("\0".join(items).encode()).hexdigest()[:8]
    return f"grid-{job}-{preset}-{digest}"
