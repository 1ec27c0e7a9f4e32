"""One run dir -> a `Run`: its JSON files, metrics as pandas frames, and what was wrong with it.

Every file is optional. A missing or corrupt file, a truncated metrics line or steps repeated
by a resume become entries in `Run.warnings`; loading never raises for a damaged run dir.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

from gpt import rundir
from reports.discover import RunRef

KNOWN_CONFIG_KEYS = {"name", "seed", "device", "model", "data", "optim", "train", "sample", "init_from",
                     # evaluate's own config (jobs/evaluate.py EvalConfig)
                     "run_dir", "eval_file", "checkpoint", "max_answer_chars", "text_fidelity"}


@dataclass
class Run:
    """Everything the report knows about one run; frames are empty when there is no data."""

    ref: RunRef
    config: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    start: dict = field(default_factory=dict)        # the last "start" row of metrics.jsonl
    rows: list[dict] = field(default_factory=list)   # metrics.jsonl, file order
    train: pd.DataFrame = field(default_factory=pd.DataFrame)  # last row per step, by step
    val: pd.DataFrame = field(default_factory=pd.DataFrame)
    samples: list[dict] = field(default_factory=list)
    comparison: dict | None = None
    evals: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def completed(self) -> bool:
        """summary.json is written last: its presence means done (old ones may lack "status")."""
        return bool(self.summary) and self.summary.get("status", "completed") == "completed"

    @property
    def trained(self) -> bool:
        """A training run: it logged metrics, or may still (not completed). Evaluation and
        baseline jobs complete without metrics and only feed the accuracy and timing tables."""
        return bool(self.rows) or not self.completed

    @property
    def status(self) -> str:
        """"completed" when summary.json is there, else "incomplete"."""
        return "completed" if self.completed else "incomplete"

    def cfg(self, dotted: str, default=None):
        """A config value by dotted key (`optim.lr`), or `default` if any part is missing."""
        node = self.config
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node


def _read_optional_json(run: Run, name: str, expected: type = dict):
    path = run.ref.run_dir / name
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        run.warnings.append(f"{name} is unreadable ({exc.__class__.__name__}: {exc}); ignored")
        return None
    if not isinstance(value, expected):
        run.warnings.append(f"{name} should hold a JSON {expected.__name__}; ignored")
        return None
    return value


def _frame(rows: list[dict], kind: str) -> pd.DataFrame:
    frame = pd.DataFrame(rundir.latest_per_step(rows, kind)).drop(columns="kind", errors="ignore")
    # a hand-edited or foreign row may hold a string: that column is made numeric, text -> NaN
    for column in frame.columns[frame.dtypes == object]:   # noqa: E721 (elementwise, on a Series)
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def _read_metrics(run: Run) -> None:
    path = run.ref.run_dir / rundir.METRICS
    if not path.is_file():
        if not run.completed:
            run.warnings.append("no metrics.jsonl yet (the run has not started training)")
        return
    run.rows = rundir.read_jsonl(path)
    with open(path, "rb") as f:
        n_lines = sum(1 for line in f if line.strip())
    if n_lines > len(run.rows):
        run.warnings.append(f"metrics.jsonl: {n_lines - len(run.rows)} unreadable line(s) skipped "
                            "(a write cut short by a kill?)")
    for kind in ("train", "val"):
        steps = [r.get("step") for r in run.rows if r.get("kind") == kind]
        repeated = len(steps) - len(set(steps))
        if repeated:
            run.warnings.append(f"metrics.jsonl: {repeated} {kind} step(s) written twice "
                                "(resumed run); the last row of each step is used")
    starts = [r for r in run.rows if r.get("kind") == "start"]
    run.start = starts[-1] if starts else {}
    run.train, run.val = _frame(run.rows, "train"), _frame(run.rows, "val")
    if not run.val.empty and "epoch" not in run.val and run.start.get("iters_per_epoch"):
        run.val["epoch"] = run.val["step"] / run.start["iters_per_epoch"]


def _read_evals(run: Run) -> None:
    for path in sorted((run.ref.run_dir / rundir.EVAL).glob("*.json")):
        result = _read_optional_json(run, f"{rundir.EVAL}/{path.name}")
        if result is not None:
            run.evals.append({**result, "file": path.name})


def load_run(ref: RunRef) -> Run:
    """Read every file of the run dir that exists; problems go to `Run.warnings`."""
    run = Run(ref)
    try:
        _read_files(run)
    except OSError as exc:  # permissions, a file turned folder, a vanished network mount
        run.warnings.append(f"could not read the run dir ({exc}); shown with what was read")
    return run


def _read_files(run: Run) -> None:
    ref = run.ref
    if not ref.run_dir.is_dir() or not any(ref.run_dir.iterdir()):
        run.warnings.append("empty run folder (the job has not written anything)")
        return
    run.config = _read_optional_json(run, rundir.CONFIG) or {}
    if not run.config and not (ref.run_dir / rundir.CONFIG).exists():
        run.warnings.append("config.json missing: architecture and optimizer are unknown")
    unknown = sorted(set(run.config) - KNOWN_CONFIG_KEYS)
    if unknown:
        run.warnings.append(f"config.json has keys this report does not know: {', '.join(unknown)}")
    run.env = _read_optional_json(run, rundir.ENV) or {}
    run.summary = _read_optional_json(run, rundir.SUMMARY) or {}
    _read_metrics(run)
    run.samples = [s for s in _read_optional_json(run, rundir.SAMPLES_JSON, list) or [] if isinstance(s, dict)]
    run.comparison = _read_optional_json(run, rundir.COMPARISON)
    _read_evals(run)
