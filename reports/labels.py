"""Legend labels from what differs: `arch=lstm n_layer=2 optim=adamw` for runs of one group.

A config key labels a group's runs when every run has it and the values are not all equal.
Keys that name or describe a run rather than set it up (name, sampling, init_from) never do.
"""
from __future__ import annotations

from reports.load import Run

IGNORED_PREFIXES = ("name", "sample.", "init_from", "train.progress")
SHORT_NAMES = {"model.arch": "arch", "optim.name": "optim", "optim.weight_decay": "wd"}
PREFERRED = ("model.arch", "model.n_layer", "optim.name", "optim.lr", "optim.weight_decay")
MAX_KEYS = 5


def flatten(config: dict, prefix: str = "") -> dict[str, object]:
    """{"optim": {"lr": 1e-3}} -> {"optim.lr": 1e-3}; lists become tuples (hashable)."""
    flat = {}
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = tuple(value) if isinstance(value, list) else value
    return flat


def differing_keys(configs: list[dict]) -> list[str]:
    """Keys present in every config whose values differ, preferred ones first, at most MAX_KEYS."""
    flats = [flatten(c) for c in configs]
    if len(flats) < 2:
        return []
    common = set.intersection(*(set(f) for f in flats))
    keys = [k for k in common if not k.startswith(IGNORED_PREFIXES)
            and len({repr(f[k]) for f in flats}) > 1]
    keys.sort(key=lambda k: (PREFERRED.index(k) if k in PREFERRED else len(PREFERRED), k))
    return keys[:MAX_KEYS]


def _short(key: str, keys: list[str]) -> str:
    if key in SHORT_NAMES:
        return SHORT_NAMES[key]
    last = key.rsplit(".", 1)[-1]
    clashes = [k for k in keys if k.rsplit(".", 1)[-1] == last]
    return last if len(clashes) == 1 else key


def _value(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def figure_title(run: Run) -> str:
    """`job name` from the config (the folder's hash means nothing to a reader)."""
    return f"{run.ref.job} {run.cfg('name') or run.ref.name}"


def _init_part(run: Run, mixed: bool) -> list[str]:
    """"pretrained" / "from scratch" when some runs of the group start from weights and some not."""
    return ["pretrained" if run.cfg("init_from") else "from scratch"] if mixed else []


def group_labels(runs: list[Run]) -> dict[str, str]:
    """{run key: label} built from the config keys that differ between `runs`, after `exp<N>`.

    Runs without a config, or whose labels would collide, are labelled by their folder name;
    when some runs start from pretrained weights and others do not, labels say which first.
    """
    configured = [r for r in runs if r.config]
    keys = differing_keys([r.config for r in configured])
    flats = {r.ref.key: flatten(r.config) for r in configured}
    mixed_init = len({bool(r.cfg("init_from")) for r in configured}) > 1
    labels = {}
    for run in runs:
        flat = flats.get(run.ref.key)
        parts = [f"{_short(k, keys)}={_value(flat[k])}" for k in keys] if flat else []
        if mixed_init and flat:   # "pretrained epochs=1", not a bare "epochs=1" that hides why
            parts = _init_part(run, mixed_init) + parts
        label = " ".join(parts) or run.cfg("name") or run.ref.title
        labels[run.ref.key] = label if run.ref.exp is None else f"exp{run.ref.exp} {label}"
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return {key: (label if counts[label] == 1 else f"{label} ({key.split('__', 1)[-1]})")
            for key, label in labels.items()}
