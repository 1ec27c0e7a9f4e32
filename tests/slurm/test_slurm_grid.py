"""A command-line grid sweep is ONE Slurm job array: one sbatch call, one task per grid point."""
from __future__ import annotations

import json

import pytest
from slurm_helpers import SMALL, main_py, status_rows

pytestmark = pytest.mark.slurm

TINY = ["train.max_iters=4", "train.eval_interval=4", "train.eval_iters=1", "train.batch_size=4",
        "sample.max_new_tokens=4", "sample.temperatures=1.0"]


def test_grid_of_two_points_is_one_array(env, tmp_path, sbatch_log):
    runs = tmp_path / "runs"
    main_py("sweep", "grid", "optim.lr=1e-3,3e-3", *TINY, "--preset", "smoke", "--sweep-name", "g",
            "--executor", "slurm", "--wait", *SMALL, "--runs-root", str(runs), env=sbatch_log.env)
    index = json.loads((runs / "sweeps" / "g" / "index.json").read_text())
    assert [r["label"] for r in index["runs"]] == ["lr=1e-3", "lr=3e-3"]
    assert [s["n_tasks"] for s in index["submissions"]] == [2] and len(sbatch_log.calls()) == 1
    rows = status_rows("g", env, runs)
    assert [r["state"] for r in rows] == ["completed"] * 2
    array_id = index["submissions"][0]["array_job_id"]
    assert [r["job_id"] for r in rows] == [f"{array_id}_0", f"{array_id}_1"]
