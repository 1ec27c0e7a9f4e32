"""`main.py bench job`: a real job in a fresh process, its wall time split by phase (gpt/phases.py)."""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import main
from gpt import phases
from jobs.tools.bench_job import ROWS, split

REPO = Path(__file__).resolve().parents[1]


def test_phases_sum_repeated_time_and_leave_nested_phases_out():
    with phases.timed("test-outer"):
        time.sleep(0.05)
        for _ in range(2):
            with phases.timed("test-inner"):
                time.sleep(0.1)
    snap = phases.snapshot()
    assert snap["seconds"]["test-inner"] >= 0.2
    assert 0.05 <= snap["seconds"]["test-outer"] < 0.2    # its own time only, not the inner 0.2 s
    assert snap["first_phase_at"] <= snap["at"]


def test_split_accounts_for_the_whole_wall_time():
    record = {"first_phase_at": 102.0, "at": 120.0,
              "seconds": {"data": 1.0, "train": 9.5, "eval": 2.0, "checkpoints": 0.5, "plots": 1.5,
                          "sampling": 2.0, "writes": 0.25}}
    sp = split(100.0, 121.0, record)
    assert sp["start-up"] == 2.0 and sp["train loop"] == 9.5 and sp["exit"] == 1.0
    assert sum(sp[row] for row in ROWS) == pytest.approx(sp["total"]) == 21.0


def test_bench_job_times_a_real_smoke_run(data_root, tmp_path):
    out = subprocess.run([sys.executable, "main.py", "bench", "job", "full_run", "--preset", "smoke",
                          "--data-root", str(data_root), "--cache-dir", str(tmp_path / "cache"), "--json",
                          "train.max_iters=6", "train.eval_interval=3", "train.eval_iters=2",
                          "sample.max_new_tokens=5"],
                         cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    (sp,) = result["splits"]
    assert sp["total"] > 0 and sum(sp[row] for row in ROWS) == pytest.approx(sp["total"], rel=1e-6)
    for row in ("start-up", "train loop", "eval", "plots", "sampling"):
        assert sp[row] > 0, row                      # each phase of full_run ran and was timed
    assert result["ms_per_step"][0] > 0
    assert not list(tmp_path.glob("runs*"))           # the runs root was a throw-away folder


@pytest.mark.parametrize("argv, message", [
    (["--repeat", "0"], "--repeat=0 must be >= 1"),
    (["--preset", "nope"], "has no preset 'nope'"),
    (["train.max_iters=-1"], "exited 2: error: train.max_iters"),
])
def test_bench_job_refuses_bad_input_in_one_line(argv, message, capsys):
    code = main.main(["bench", "job", "full_run", "--preset", "smoke", *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
