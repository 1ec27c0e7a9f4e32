"""Sweeps: SPEC B's twelve configurations, the smoke sweep, validation of every run first, the index."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import main
from gpt.config import ConfigError
from jobs.tools.status import find_runs, rows
from jobs.tools.sweep_cli import write_index
from jobs.sweeps import build
from jobs.launcher.tasks import make_tasks

REPO = Path(__file__).resolve().parents[1]
TINY = ["train.max_iters=4", "train.eval_interval=4", "train.eval_iters=1", "train.batch_size=4",
        "sample.max_new_tokens=4", "sample.temperatures=1.0"]


def test_ift6135_12_has_spec_b_settings_and_experiment_numbers():
    runs = build("ift6135_12", [])
    assert [r.exp for r in runs] == list(range(1, 13))
    plan = [(r.cfg.model.arch, r.cfg.model.n_layer, r.cfg.optim.name) for r in runs]
    opts = ["adam", "adamw", "sgd", "momentum"]
    assert plan == ([("lstm", 1, o) for o in opts] + [("gpt", 1, o) for o in opts] +
                    [("lstm", 2, "adamw"), ("lstm", 4, "adamw"), ("gpt", 2, "adamw"), ("gpt", 4, "adamw")])
    for r in runs:
        c = r.cfg
        assert (c.train.batch_size, c.train.epochs, c.optim.lr, c.optim.momentum) == (16, 10, 1e-3, 0.9)
        assert c.optim.weight_decay == (0.0 if c.optim.name == "adam" else 5e-4)
        assert (c.data.dataset, c.data.tokenizer, c.model.block_size) == ("wikitext2-gpt1", "gpt1", 256)
    gpt = runs[4].cfg.model
    assert (gpt.n_embd, gpt.n_head, gpt.norm_position, gpt.layernorm) == (768, 12, "post", "manual")
    assert (runs[0].cfg.model.n_embd, runs[0].cfg.model.hidden_size) == (768, 512)
    assert len({r.cfg.name for r in runs}) == 12


def test_smoke_sweep_is_a_few_distinct_tiny_runs():
    runs = build("smoke", ["train.max_iters=10"])
    assert 3 <= len(runs) <= 4 and {r.job for r in runs} == {"full_run"}
    assert len({r.cfg.name for r in runs}) == len(runs) and all(r.cfg.train.max_iters == 10 for r in runs)


def test_one_invalid_run_fails_the_whole_sweep_naming_it():
    with pytest.raises(ConfigError, match=r"sweep smoke, run smoke-64d: model.n_embd 64 is not divisible"):
        build("smoke", ["model.n_head=3"])
    with pytest.raises(ConfigError, match="unknown sweep 'nope'; choose one of: ift6135_12, smoke"):
        build("nope", [])


def test_index_format_keeps_earlier_submissions(tmp_path):
    runs = build("smoke", [])
    tasks = [make_tasks(r.job, [r.cfg], tmp_path)[0] for r in runs]
    write_index(tmp_path, "smoke", tasks, runs, {"array_job_id": "7", "time": 1.0, "n_tasks": 4})
    path = write_index(tmp_path, "smoke", tasks, runs, {"array_job_id": "9", "time": 2.0, "n_tasks": 1})
    index = json.loads(path.read_text())
    assert path == tmp_path.resolve() / "sweeps" / "smoke" / "index.json"
    assert set(index) == {"sweep", "runs", "submissions"} and index["sweep"] == "smoke"
    assert [s["array_job_id"] for s in index["submissions"]] == ["7", "9"]
    row = index["runs"][0]
    assert set(row) == {"exp", "name", "job", "run_dir", "label"} and row["exp"] is None
    assert Path(row["run_dir"]).is_absolute() and row["run_dir"] == str(tasks[0].run_dir)


def _sweep(*args):
    return subprocess.run([sys.executable, "main.py", "sweep", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_list_shows_runs_and_writes_nothing(tmp_path):
    res = _sweep("ift6135_12", "--list", "--runs-root", str(tmp_path / "runs"))
    assert res.returncode == 0 and len(res.stdout.splitlines()) == 12 and "exp 12" in res.stdout
    assert not (tmp_path / "runs").exists()


def test_task_index_out_of_range_says_the_valid_range(tmp_path):
    res = _sweep("smoke", "--task-index", "9", "--runs-root", str(tmp_path / "runs"))
    assert res.returncode == 2 and "has runs 0..3 (use --array=0-3)" in res.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("flags, message", [
    (["--max-points", "0"], "--max-points 0 must be at least 1"),
    (["--max-points", "-3"], "--max-points -3 must be at least 1"),
    (["--sweep-name", ".."], "--sweep-name '..' is not valid"),
    (["--sweep-name", "../escape"], "--sweep-name '../escape' is not valid"),
    (["--sweep-name", ""], "--sweep-name '' is not valid"),
    (["--sweep-name", "a b"], "--sweep-name 'a b' is not valid"),
])
def test_grid_flags_are_refused_in_one_line_and_write_nothing(flags, message, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main.main(["sweep", "grid", "optim.lr=1e-3,3e-4", "--preset", "smoke", *flags,
                      "--runs-root", str(runs)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err, err
    assert not runs.exists() and not (tmp_path / "sweeps").exists()


def test_a_sweep_resubmitted_with_other_overrides_keeps_its_earlier_runs(tmp_path, data_root, capsys):
    """Run 0 of `smoke` with seed 1, then with seed 2: the index keeps all eight run dirs, so
    `status smoke` shows both trained runs (it once forgot the first)."""
    where = ["--runs-root", str(tmp_path / "runs"), "--data-root", str(data_root),
             "--cache-dir", str(tmp_path / "cache")]
    for seed in (1, 2):
        assert main.main(["sweep", "smoke", *TINY, f"seed={seed}", "--task-index", "0", *where]) == 0
    assert "[sweep] smoke: the index keeps 4 earlier run(s) of other overrides and adds 4; `status smoke` lists all 8" \
        in capsys.readouterr().out
    found = find_runs("smoke", (tmp_path / "runs").resolve())
    assert len(found) == len({f["run_dir"] for f in found}) == 8
    done = [r for r in rows(found) if r["state"] == "completed"]
    assert len(done) == 2 and len({r["run"] for r in done}) == 2
    # the same overrides again: nothing added, no note
    assert main.main(["sweep", "smoke", *TINY, "seed=2", "--task-index", "0", *where]) == 0
    assert "earlier run" not in capsys.readouterr().out
    assert len(json.loads((tmp_path / "runs" / "sweeps" / "smoke" / "index.json").read_text())["runs"]) == 8
