"""The sweep template as a throttled job array (`--array=0-N%K`), as the README submits it: every
task starts, including the one whose job id is the array's own id (for that id `scontrol show
job` prints every task of the array, which once made the repo locator fail with
`job_env.sh: No such file or directory`)."""
from __future__ import annotations

import re

import pytest
from slurm_helpers import SBATCH_SMALL, job_field, sbatch, wait_gone

from gpt import rundir

pytestmark = pytest.mark.slurm

TINY = ["train.max_iters=4", "train.eval_interval=4", "train.eval_iters=1", "train.batch_size=4",
        "sample.max_new_tokens=4", "sample.temperatures=1.0"]


def _task_states(array_id: str, n_tasks: int) -> dict[str, str]:
    return {f"{array_id}_{i}": job_field(f"{array_id}_{i}", "JobState") for i in range(n_tasks)}


def test_throttled_sweep_array_runs_every_task(env, tmp_path):
    runs = tmp_path / "runs"
    array_id = sbatch(*SBATCH_SMALL, "--array=0-3%2", "sbatch_templates/sweep_array.sh", "smoke", *TINY,
                      "--runs-root", str(runs), env=env, log_dir=tmp_path)
    wait_gone([array_id], timeout_s=400)
    logs = {p.name: p.read_text() for p in tmp_path.glob("*.out")}
    assert _task_states(array_id, 4) == {f"{array_id}_{i}": "COMPLETED" for i in range(4)}, logs
    assert all("No such file" not in text for text in logs.values()), logs
    # each task names its own record in the log line, never the whole array
    for i in range(4):
        [line] = [ln for text in logs.values() for ln in text.splitlines()
                  if ln.startswith(f"[template] job {array_id}_{i}:")]
        assert re.search(r"log \S+\.out$", line), line
    assert len([d for d in (runs / "full_run").iterdir() if rundir.is_complete(d)]) == 4


def test_readme_array_pattern_0_11_throttled_4_starts_every_task(env, tmp_path):
    """The README's `--array=0-11%4` line (ift6135_12), each task only printing its help: the
    point is that all 12 tasks find the repository and its environment."""
    array_id = sbatch(*SBATCH_SMALL, "--mem=1G", "--array=0-11%4", "sbatch_templates/sweep_array.sh",
                      "ift6135_12", "--help", env=env, log_dir=tmp_path)
    wait_gone([array_id], timeout_s=400)
    logs = "\n".join(p.read_text() for p in tmp_path.glob("*.out"))
    assert _task_states(array_id, 12) == {f"{array_id}_{i}": "COMPLETED" for i in range(12)}, logs
    assert logs.count("[template] job ") == 12 and logs.count("usage: main.py sweep") == 12, logs
