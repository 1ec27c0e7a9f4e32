"""Dotted `key=value` overrides, JSON round trip and the config hash.

    apply_overrides(cfg, ["optim.lr=3e-4", "model=gpt-micro", "model.arch=lstm"])

Values are parsed by the field's declared type; unknown keys fail and list the valid ones.
No eval/exec: a value is a number, a bool, a string, or a tuple: numbers separated by commas
(`optim.betas=0.9,0.95`), strings by `|` (`sample.prompts=Once upon|The king`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import typing
from pathlib import Path
from typing import Any

from gpt import rundir
from gpt.config import (MODEL_PRESETS, ClassifierConfig, ConfigError, GPTConfig, LSTMConfig,
                        RunConfig, model_preset, preset_name)

_MODEL_CLASSES = {"gpt": GPTConfig, "lstm": LSTMConfig, "classifier": ClassifierConfig}


def _field_types(cls) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _parse_scalar(key: str, text: str, typ) -> Any:
    if typ is bool:
        low = text.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key}={text!r}: expected a bool (true/false)")
    if typ in (int, float):
        try:
            value = float(text) if typ is float else int(text)
        except ValueError:
            raise ConfigError(f"{key}={text!r}: expected {typ.__name__}") from None
        if not math.isfinite(value):
            raise ConfigError(f"{key}={text!r}: expected a finite number (not nan or inf)")
        return value
    return text


def parse_value(key: str, text: str, typ) -> Any:
    """Parse `text` as the annotated type `typ` (int, float, bool, str or tuple of those)."""
    if typing.get_origin(typ) is tuple:
        args = typing.get_args(typ)
        sep = "|" if args[0] is str else ","   # prompts may contain commas
        parts = [p for p in text.split(sep) if p.strip() != ""] if text.strip() else []
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_parse_scalar(key, p, args[0]) for p in parts)
        if len(parts) != len(args):
            raise ConfigError(f"{key}={text!r}: expected {len(args)} comma-separated values")
        return tuple(_parse_scalar(key, p, t) for p, t in zip(parts, args))
    return _parse_scalar(key, text, typ)


def _set(obj, path: list[str], text: str, prefix: str):
    name = path[0]
    key = f"{prefix}{name}"
    types = _field_types(type(obj))
    if name not in types:
        raise ConfigError(f"unknown config key {key!r}; valid keys here: "
                          f"{', '.join(prefix + k for k in types)}")
    current = getattr(obj, name)
    if name == "model" and len(path) == 1:       # model=gpt-micro: swap in a size preset
        text = preset_name(text, MODEL_PRESETS)  # model=gpt_micro too
        if text not in MODEL_PRESETS:
            raise ConfigError(f"model={text!r}: unknown preset; choose one of: {', '.join(MODEL_PRESETS)}")
        keep = {"vocab_size": current.vocab_size}
        return dataclasses.replace(obj, model=model_preset(text, **keep))
    if dataclasses.is_dataclass(current):
        if len(path) == 1:
            raise ConfigError(f"{key} is a section; set one of its keys, e.g. {key}.{dataclasses.fields(current)[0].name}=...")
        if name == "model" and path[1] == "arch":  # model.arch=lstm: same sizes where they exist
            cls = _MODEL_CLASSES.get(text)
            if cls is None:
                raise ConfigError(f"model.arch={text!r}: choose one of: {', '.join(_MODEL_CLASSES)}")
            shared = {f.name: getattr(current, f.name) for f in dataclasses.fields(cls)
                      if hasattr(current, f.name) and f.name != "arch"}
            return dataclasses.replace(obj, model=cls(**shared))
        return dataclasses.replace(obj, **{name: _set(current, path[1:], text, key + ".")})
    if len(path) > 1:
        raise ConfigError(f"{key} is a value, not a section: drop '.{'.'.join(path[1:])}'")
    return dataclasses.replace(obj, **{name: parse_value(key, text, types[name])})


def apply_overrides(cfg: RunConfig, overrides: list[str]) -> RunConfig:
    """Apply `key=value` strings in order; raise ConfigError naming the bad one.

    Each override is validated as it is applied, so one refused only because of a value a later
    one changes (`model.n_embd=64` before `model.n_head=4` over a 3-head config) is retried after
    the others; the first error is raised when no retry helps. A config class may map old key
    spellings to new ones in a `RENAMED` class attribute: the old key then fails with a message
    naming its replacement."""
    todo = list(overrides)
    while todo:
        left, first_error = [], None
        for item in todo:
            try:
                cfg = _apply_one(cfg, item)
            except ConfigError as exc:
                left.append(item)
                first_error = first_error or exc
        if len(left) == len(todo):
            raise first_error
        todo = left
    return cfg


def _apply_one(cfg, item: str):
    renamed = getattr(type(cfg), "RENAMED", {})
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like key=value, e.g. optim.lr=3e-4")
    key, text = item.split("=", 1)
    if key.strip() in renamed:
        new = renamed[key.strip()]
        raise ConfigError(f"{key.strip()}= is not a key of this config: it is now {new}= "
                          f"(write {new}={text})")
    return _set(cfg, key.strip().split("."), text, "")


def to_dict(cfg) -> dict:
    """Plain JSON-able dict (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def _build(cls, data: dict, prefix: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'} must be a JSON object, got {type(data).__name__}")
    types = _field_types(cls)
    unknown = sorted(set(data) - set(types))
    if unknown:
        raise ConfigError(f"unknown config key(s) {', '.join(prefix + k for k in unknown)}; "
                          f"valid: {', '.join(prefix + k for k in types)}")
    kwargs = {}
    for name, value in data.items():
        typ = types[name]
        if name == "model":
            arch = value.get("arch", "gpt") if isinstance(value, dict) else None
            if arch not in _MODEL_CLASSES:
                raise ConfigError(f"model.arch={arch!r}: choose one of: {', '.join(_MODEL_CLASSES)}")
            kwargs[name] = _build(_MODEL_CLASSES[arch], value, "model.")
        elif dataclasses.is_dataclass(typ):
            kwargs[name] = _build(typ, value, f"{prefix}{name}.")
        elif typing.get_origin(typ) is tuple:
            if not isinstance(value, list):
                raise ConfigError(f"{prefix}{name}={value!r} should be a list in config.json")
            kwargs[name] = tuple(_checked(f"{prefix}{name}", v, t) for v, t in
                                 zip(value, _item_types(typ, len(value))))
        else:
            kwargs[name] = _checked(f"{prefix}{name}", value, typ)
    return cls(**kwargs)


def _item_types(typ, n: int) -> list:
    args = typing.get_args(typ)
    return [args[0]] * n if len(args) == 2 and args[1] is Ellipsis else list(args)


def _checked(key: str, value, typ):
    """A JSON value of the declared type (an int is a fine float); ConfigError otherwise."""
    if not isinstance(typ, type):   # a union or other annotation: the dataclass checks it
        return value
    ok = isinstance(value, typ) and not (typ is int and isinstance(value, bool))
    # an int for a float field stays an int: the config read back hashes as the one written
    # (a preset's epochs=1 -> config.json 1 -> 1, not 1.0, so the job finds its own run dir)
    ok = ok or (typ is float and isinstance(value, int) and not isinstance(value, bool))
    if not ok:
        raise ConfigError(f"{key}={value!r} in config.json should be of type {typ.__name__}; fix the file "
                          f"or remove the run dir")
    return value


def from_dict(data: dict, cls: type = RunConfig):
    """Inverse of to_dict for a config of class `cls` (a job's own config class, RunConfig by
    default). Unknown keys fail; missing keys take today's defaults."""
    return _build(cls, data, "")


def results_only(cfg):
    """`cfg` with every `cosmetic(...)` field at its default: what decides the run's results."""
    if not dataclasses.is_dataclass(cfg):
        return cfg
    changes = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.metadata.get("results", True) is False:
            changes[f.name] = f.default
        elif dataclasses.is_dataclass(value):
            changes[f.name] = results_only(value)
    return dataclasses.replace(cfg, **changes)


def hashed_dict(obj) -> Any:
    """The dict the hash is taken of: fields marked `added(...)` (gpt/config_fields.py) drop out
    while at their default, so a config that predates them hashes as it always did."""
    if not dataclasses.is_dataclass(obj):
        return obj
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.metadata.get("hash_default", True) is False and value == f.default:
            continue
        out[f.name] = hashed_dict(value)
    return out


def digest(cfg) -> str:
    """8 hex digits of hashed_dict(cfg), every field as it is: config_hash is the digest of
    results_only(cfg); the digest of cfg itself names runs started before cosmetic fields left
    the hash (locate_run_dir still finds them)."""
    blob = json.dumps(json.loads(json.dumps(hashed_dict(cfg))), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:8]


def config_hash(cfg: RunConfig) -> str:
    """8 hex digits identifying what the config computes: same results -> same run dir -> resume.

    Cosmetic fields (train.log_interval, train.progress, train.checkpoint_interval) are hashed at
    their defaults, so a config that leaves them there hashes as it did before they were cosmetic."""
    return digest(results_only(cfg))


def locate_run_dir(runs_root: Path, job: str, cfg: RunConfig) -> Path:
    """runs/<job>/<name>-<hash8>. A run started before cosmetic fields left the hash (so named by
    the hash of its cosmetic values too) is still found: that older dir is used if only it exists."""
    path = rundir.run_dir_for(runs_root, job, cfg.name, config_hash(cfg))
    older = rundir.run_dir_for(runs_root, job, cfg.name, digest(cfg))
    return older if not path.exists() and older.exists() else path
