"""Which run dirs a report covers: from runs roots, sweep index files and single run dirs.

    runs/                          a runs root: runs/<job>/<run>/, grouped by job; runs listed
                                   in runs/sweeps/<sweep>/index.json are grouped by sweep instead
    runs/sweeps/<sweep>/index.json a sweep index (or its folder): its runs, with experiment numbers
    runs/<job>/<run>/              one run dir (it holds config.json, metrics.jsonl or summary.json)

Problems (a missing path, an unreadable index) become warnings, never exceptions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from gpt import rundir

SWEEPS = "sweeps"
INDEX = "index.json"
RUN_FILES = (rundir.CONFIG, rundir.METRICS, rundir.SUMMARY, rundir.ENV)
_EXP = re.compile(r"exp(\d+)")
_HASHED = re.compile(r"-[0-9a-f]{8}$")  # run dirs are named <name>-<hash8>


@dataclass(frozen=True)
class RunRef:
    """One run dir and how the report files it."""

    run_dir: Path
    job: str            # the folder above the run dir
    group: str          # sweep name for sweep runs, else the job
    exp: int | None     # experiment number: from the sweep index, else `exp<N>` in the name
    title: str = ""     # how tables show it: the folder name, or job/name where names repeat
    root: str = ""      # where job/name repeats across runs roots: the roots' distinguishing tail

    def __post_init__(self) -> None:
        if not self.title:
            object.__setattr__(self, "title", self.name)

    @property
    def name(self) -> str:
        """The run dir's folder name (<name>-<hash8>)."""
        return self.run_dir.name

    @property
    def key(self) -> str:
        """`<job>__<name>` (`<root>__<job>__<name>` when several roots hold that run name):
        unique folder name for this run's report outputs."""
        return safe_name(f"{self.root}__{self.job}__{self.name}" if self.root else f"{self.job}__{self.name}")


def safe_name(name: str) -> str:
    """`name` usable as one folder name: anything but letters, digits, `._-` becomes `_`."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "_"


def exp_from_name(name: str) -> int | None:
    """The experiment number in a run name like `exp07-...`, or None."""
    match = _EXP.search(name)
    return int(match.group(1)) if match else None


def _ref(run_dir: Path, group: str | None = None, exp: int | None = None) -> RunRef:
    run_dir = Path(run_dir)
    exp = exp if isinstance(exp, int) and not isinstance(exp, bool) else exp_from_name(run_dir.name)
    return RunRef(run_dir, run_dir.parent.name, group or run_dir.parent.name, exp)


def is_run_dir(path: Path) -> bool:
    """A run dir holds a run file, or is an empty `<name>-<hash8>` folder (nothing written yet)."""
    if any((path / name).is_file() for name in RUN_FILES):
        return True
    return bool(_HASHED.search(path.name)) and not any(path.iterdir())


def read_sweep_index(index_path: Path, warnings: list[str]) -> list[RunRef]:
    """The runs a sweep index lists; relative run dirs are resolved against its runs root."""
    try:
        index = rundir.read_json(index_path)
    except ValueError as exc:
        warnings.append(f"sweep index skipped: {exc}")
        return []
    sweep = str(index.get("sweep") or index_path.parent.name)
    roots = [index_path.parent.parent.parent]  # <runs_root>/sweeps/<sweep>/index.json
    if isinstance(index.get("runs_root"), str):
        roots.insert(0, index_path.parent / index["runs_root"])
    entries = index.get("runs")
    if not isinstance(entries, list):
        warnings.append(f"{index_path}: \"runs\" should be a list of run entries; index skipped")
        return []
    refs = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("run_dir"), str):
            warnings.append(f"{index_path}: entry without run_dir skipped: {entry!r}")
            continue
        candidates = [root / entry["run_dir"] for root in roots]
        run_dir = next((c for c in candidates if c.is_dir()), candidates[-1])
        if not run_dir.is_dir():
            warnings.append(f"{index_path}: run dir {entry['run_dir']} not found (not started yet?)")
            continue
        refs.append(_ref(run_dir, sweep, entry.get("exp")))
    return refs


def _subdirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def _scan(root: Path, warnings: list[str]) -> list[RunRef]:
    """Runs under a runs root (<root>/<job>/<run>) or a job folder (<root>/<run>)."""
    refs = []
    for index_path in sorted((root / SWEEPS).glob(f"*/{INDEX}")):
        refs.extend(read_sweep_index(index_path, warnings))
    for child in _subdirs(root):
        if is_run_dir(child):
            refs.append(_ref(child))
        elif child.name != SWEEPS:  # a job folder: every folder in it is a run, even an empty one
            refs.extend(_ref(run) for run in _subdirs(child))
    if not refs:
        warnings.append(f"no runs found under {root}")
    return refs


def discover(inputs: list[Path]) -> tuple[list[RunRef], list[str]]:
    """Run refs for runs roots, sweep indexes and run dirs, each run once; plus warnings.

    A run listed by a sweep index keeps the sweep's grouping even if a runs root lists it too.
    """
    warnings: list[str] = []
    found: list[RunRef] = []
    for path in map(Path, inputs):
        if path.is_file():
            found.extend(read_sweep_index(path, warnings))
        elif not path.is_dir():
            warnings.append(f"input {path} does not exist")
        elif (path / INDEX).is_file():
            found.extend(read_sweep_index(path / INDEX, warnings))
        elif is_run_dir(path):
            found.append(_ref(path))
        else:
            found.extend(_scan(path, warnings))
    unique: dict[Path, RunRef] = {}
    for ref in found:
        unique.setdefault(ref.run_dir.resolve(), ref)
    refs = _tag_roots(list(unique.values()))
    names = [ref.name for ref in refs]
    return [replace(ref, title=ref.name if names.count(ref.name) == 1 else
                    "/".join(p for p in (ref.root, ref.job, ref.name) if p)) for ref in refs], warnings


def _tag_roots(refs: list[RunRef]) -> list[RunRef]:
    """Refs whose job/name occurs in several run dirs get `root`: the shortest tail of their
    runs root's path that tells those roots apart (`a/runs` vs `b/runs` -> "a_runs", "b_runs")."""
    by_key: dict[str, list[int]] = {}
    for i, ref in enumerate(refs):
        by_key.setdefault(ref.key, []).append(i)
    out = list(refs)
    for members in by_key.values():
        if len(members) < 2:
            continue
        roots = [refs[i].run_dir.resolve().parent.parent.parts for i in members]
        depth = 1
        while depth < max(map(len, roots)) and len({r[-depth:] for r in roots}) < len(roots):
            depth += 1
        for i, root in zip(members, roots):
            out[i] = replace(refs[i], root="/".join(root[-depth:]))
    return out
