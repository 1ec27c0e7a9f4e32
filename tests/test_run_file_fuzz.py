"""Fuzz of the files a run dir holds (issue 23): every field of a real toy run's last.pt,
config.json, summary.json, metrics.jsonl and .lock is set to values of the wrong type, out of
range, huge, NaN or removed, and the run is resumed (main.main in this process; a sample through
`python main.py`). Each outcome is either ONE `error: <that file>: ...` line with exit 2, or a
correct run (summary.json completed at step 3 of 3 with finite losses): never a traceback, never
a crafted value accepted into the results."""
import json
import math
import shutil
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import hostile_base  # noqa: E402

VALUES = {"none": None, "str": "x", "negative": -1, "huge": 2**70, "nan": math.nan, "inf": math.inf,
          "fraction": 0.5, "bool": True, "list": [1], "missing": KeyError}


@pytest.fixture(scope="module")
def base(tmp_path_factory, data_root):
    import os
    os.environ.setdefault("DATA_ROOT", str(data_root))
    cache = tmp_path_factory.mktemp("cache")
    return hostile_base.make_base(tmp_path_factory.mktemp("base"), cache), cache


def _copy(base, tmp_path: Path, name: str) -> tuple[Path, Path]:
    run, _ = base
    work = tmp_path / name
    shutil.copytree(run.parent.parent.parent, work)
    return work, work / "runs" / "full_run" / run.name


def _set(obj: dict, dotted: str, value) -> None:
    *parents, key = dotted.split(".")
    for p in parents:
        obj = obj[p]
    if value is KeyError:
        obj.pop(key, None)
    else:
        obj[key] = value


def _judge(work: Path, run: Path, file: str, result: tuple) -> str:
    """'error' or 'ran'; fails the test on a traceback, a message that does not name the file, or
    a run whose results took a crafted value."""
    code, out, err = result
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != "traceback" and "Traceback" not in err, err[-1500:]
    if code == 2:
        assert len(lines) == 1 and lines[0].startswith("error: "), lines
        assert file in lines[0], f"the error does not name {file}: {lines[0]}"
        return "error"
    assert code == 0, (code, err[-1500:])
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 3 and 0 < summary["epochs"] < 1, summary
    for key in ("best_val_loss", "final_val_loss", "wall_s"):
        assert isinstance(summary[key], float) and math.isfinite(summary[key]), (key, summary[key])
    assert 0 <= summary["best_step"] <= 3
    return "ran"


def _resume(work: Path, cache: Path):
    return hostile_base.run_in_process([*hostile_base.resume(work), "--cache-dir", str(cache)], {})


CKPT_FIELDS = ["step", "best_step", "best_val_loss", "best_val_accuracy", "elapsed_s",
               "optimizer.param_groups.0.lr", "optimizer.param_groups.0.eps",
               "optimizer.param_groups.0.weight_decay", "optimizer.param_groups.0.betas"]
SHORT = ("none", "str", "huge", "nan", "list", "missing")   # the optimizer's fields: fewer values


@pytest.mark.parametrize("field", CKPT_FIELDS)
def test_every_checkpoint_field_mutated_is_refused_or_harmless(base, tmp_path, field):
    outcomes = {}
    for label, value in VALUES.items():
        if field.startswith("optimizer") and label not in SHORT:
            continue
        work, run = _copy(base, tmp_path, f"{field}-{label}")
        state = torch.load(run / "checkpoints/last.pt", weights_only=True)
        path = field.replace(".0.", ".")
        target = state["optimizer"]["param_groups"][0] if path.startswith("optimizer") else state
        _set(target, path.rsplit(".", 1)[-1], value)
        torch.save(state, run / "checkpoints/last.pt")
        (run / "summary.json").unlink()
        outcomes[label] = _judge(work, run, "last.pt", _resume(work, base[1]))
    # a huge, NaN, string or list value is never a counter or hyper-parameter a run can have
    # (but lr: the schedule sets it before every step, so a saved lr is never used)
    assert all(outcomes[k] == "error" for k in ("str", "huge", "nan", "list") if not (
        k == "huge" and field.endswith(".lr"))), outcomes


@pytest.mark.parametrize("mutation", ["nan", "inf", "float64", "int", "transposed"])
def test_every_weight_mutation_is_refused(base, tmp_path, mutation):
    work, run = _copy(base, tmp_path, mutation)
    state = torch.load(run / "checkpoints/last.pt", weights_only=True)
    t = state["model"]["lm_head.weight" if "lm_head.weight" in state["model"] else "wte.weight"]
    edits = {"nan": lambda: t.clone().fill_(math.nan), "inf": lambda: t.clone().fill_(math.inf),
             "float64": t.double, "int": lambda: t.long(), "transposed": lambda: t.t().contiguous()}
    for name in [k for k, v in state["model"].items() if v.shape == t.shape][:1]:
        state["model"][name] = edits[mutation]()
    torch.save(state, run / "checkpoints/last.pt")
    (run / "summary.json").unlink()
    assert _judge(work, run, "last.pt", _resume(work, base[1])) == "error"


def _json_fields(obj: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in obj.items():
        out += _json_fields(value, f"{prefix}{key}.") if isinstance(value, dict) else [f"{prefix}{key}"]
    return out


def test_every_config_json_field_mutated_is_refused_or_harmless(base, tmp_path):
    run, _ = base
    fields = _json_fields(json.loads((run / "config.json").read_text()))
    assert len(fields) > 40
    seen = set()
    for i, field in enumerate(fields):
        label = list(VALUES)[i % len(VALUES)]          # each field once, the values in turn
        work, copy = _copy(base, tmp_path, f"{i}")
        obj = json.loads((copy / "config.json").read_text())
        _set(obj, field, VALUES[label])
        (copy / "config.json").write_text(json.dumps(obj))
        (copy / "summary.json").unlink()
        seen.add(_judge(work, copy, "config.json", _resume(work, base[1])))
    assert "error" in seen


SUMMARY_FIGURES = ["steps", "epochs", "best_val_loss", "best_val_ppl", "best_step", "best_val_accuracy",
                   "final_val_loss", "final_train_ppl", "wall_s", "n_params", "ms_per_step", "attempts"]


@pytest.mark.parametrize("label", ["str", "nan", "inf", "list", "bool", "negative"])
def test_a_crafted_summary_figure_is_refused_by_the_launcher(base, tmp_path, label):
    for field in SUMMARY_FIGURES:
        if label == "negative" and field == "best_step":
            continue                                 # -1: no best step yet, a real value
        if label == "inf" and field.endswith(("_loss", "_ppl")):
            continue                                 # inf: never evaluated better, a real value
        work, run = _copy(base, tmp_path, f"{field}-{label}")
        obj = json.loads((run / "summary.json").read_text())
        obj[field] = VALUES.get(label, math.inf)
        (run / "summary.json").write_text(json.dumps(obj))
        assert _judge(work, run, "summary.json", _resume(work, base[1])) == "error", field


@pytest.mark.parametrize("field", ["loss", "step", "accuracy", "kind"])
def test_a_mutated_metrics_row_never_reaches_the_summary(base, tmp_path, field):
    for label in ("str", "nan", "huge"):
        work, run = _copy(base, tmp_path, f"{field}-{label}")
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        val = [r for r in rows if r["kind"] == "val"][-1]
        (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows)
                                           + json.dumps({**val, field: VALUES[label]}) + "\n")
        (run / "summary.json").unlink()
        # a row of another type is skipped; a plausible but different best loss contradicts last.pt
        _judge(work, run, "metrics.jsonl", _resume(work, base[1]))


@pytest.mark.parametrize("field", ["pid", "host", "job_id", "restart", "started"])
def test_every_lock_field_mutated_is_refused_or_taken_over_only_when_stale(base, tmp_path, field):
    from gpt.runlock import RunLock, started
    for label, value in VALUES.items():
        work, run = _copy(base, tmp_path, f"{field}-{label}")
        holder = {**RunLock(run).me, "pid": 1, "started": started(1)}   # pid 1 runs: a valid lock of it is held
        _set(holder, field, value)
        (run / ".lock").write_text(json.dumps(holder))
        (run / "summary.json").unlink()
        outcome = _judge(work, run, ".lock", _resume(work, base[1]))
        # only a start time that is not pid 1's proves the lock stale (its pid was reused)
        assert outcome == "error" or (field == "started" and label in ("negative", "huge")), (field, label)


def test_a_sample_of_mutations_through_main_py(base, tmp_path):
    """The same refusals when main.py runs as its own process (what a user sees)."""
    for field, value in (("elapsed_s", 1e300),):
        work, run = _copy(base, tmp_path, field)
        state = torch.load(run / "checkpoints/last.pt", weights_only=True)
        state[field] = value
        torch.save(state, run / "checkpoints/last.pt")
        (run / "summary.json").unlink()
        result = hostile_base.run_subprocess([*hostile_base.resume(work), "--cache-dir", str(base[1])], {}, None)
        assert _judge(work, run, "last.pt", result) == "error"
