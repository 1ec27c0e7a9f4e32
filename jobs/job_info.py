"""What main.py's help needs of a job, read from the job module's source without importing it.

    info = job_info("full_run")   # JobInfo(doc=..., presets=("default", "smoke", ...), takes_init_from=True)

Importing a job module imports torch (through jobs.stage and the trainer): seconds on a loaded
machine, for a `--help` that prints a docstring and a list of preset names. Those are plain literals
in every job module (the docstring, `PRESETS = {"name": fn, ...}`, `CONFIG = ClassName`), so they are
read from the module's syntax tree here. A module written otherwise (PRESETS built by a function, a
CONFIG from elsewhere) is imported instead: slower, never wrong. tests/test_help_is_light.py holds
the two ways equal for every job in JOBS.
"""
from __future__ import annotations

import ast
import dataclasses
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from gpt.config import RunConfig
from jobs import JOBS, config_type, job_module


@dataclass(frozen=True)
class JobInfo:
    """A job's help: its module docstring, its preset names (in source order), and whether its
    config has an `init_from` field (`--init-from` is shown only then)."""
    doc: str
    presets: tuple[str, ...]
    takes_init_from: bool


def job_info(name: str) -> JobInfo:
    """The help of job `name`: read from its source when it can be, else from the imported module."""
    return read_job_info(name) or imported_job_info(name)


def imported_job_info(name: str) -> JobInfo:
    """The help of job `name` from the imported module (imports torch)."""
    module = job_module(name)
    fields = {f.name for f in dataclasses.fields(config_type(name))}
    return JobInfo(module.__doc__ or "", tuple(module.PRESETS), "init_from" in fields)


def read_job_info(name: str) -> JobInfo | None:
    """The help of job `name` from its source alone, or None when the source does not say it in
    literals (then only importing the module tells)."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}; jobs: {', '.join(JOBS)}")
    spec = importlib.util.find_spec(JOBS[name])
    if spec is None or not spec.origin:
        return None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"), filename=spec.origin)
    presets, config = _assigned(tree, "PRESETS"), _assigned(tree, "CONFIG")
    if not isinstance(presets, ast.Dict) or not all(
            isinstance(k, ast.Constant) and isinstance(k.value, str) for k in presets.keys):
        return None
    if config is None:
        takes_init_from = "init_from" in {f.name for f in dataclasses.fields(RunConfig)}
    else:
        fields = _class_fields(tree, config.id) if isinstance(config, ast.Name) else None
        if fields is None:
            return None
        takes_init_from = "init_from" in fields
    return JobInfo(ast.get_docstring(tree, clean=False) or "", tuple(k.value for k in presets.keys),
                   takes_init_from)


def _assigned(tree: ast.Module, target: str) -> ast.expr | None:
    """The value of the last top-level `target = ...` (or `target: T = ...`), or None."""
    value = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == target
                                                for t in node.targets):
            value = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and \
                node.target.id == target:
            value = node.value
    return value


def _class_fields(tree: ast.Module, class_name: str) -> set[str] | None:
    """Dataclass field names of a top-level class (annotated names, ClassVar left out), or None."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            if node.bases:                    # inherited fields live elsewhere: import to know them
                return None
            return {s.target.id for s in node.body
                    if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
                    and "ClassVar" not in ast.unparse(s.annotation)}
    return None
