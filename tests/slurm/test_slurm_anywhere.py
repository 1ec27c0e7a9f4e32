"""Templates submitted from outside the repository: the job finds the repo, runs in the submit
dir, always leaves a log there, and a resubmitted finished config says "already completed"."""
from __future__ import annotations

import subprocess

import pytest
from slurm_helpers import REPO, SBATCH_SMALL, job_field, wait_gone

pytestmark = pytest.mark.slurm


def _submit(cwd, env, *args: str) -> str:
    """sbatch from `cwd` with the template header's own --output (no override)."""
    res = subprocess.run(["sbatch", "--parsable", *SBATCH_SMALL, str(REPO / "sbatch_templates" / "full_run.sh"),
                          *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip().split(";")[0]


def test_template_from_another_folder_runs_logs_and_then_says_already_completed(env, tmp_path):
    elsewhere = tmp_path / "my scratch"          # no slurm/ folder, a space in the path
    elsewhere.mkdir()
    args = ("--preset", "smoke", "train.max_iters=10", "train.eval_interval=10", "sample.max_new_tokens=5")
    first = _submit(elsewhere, env, *args)
    wait_gone([first])
    log = elsewhere / f"full_run-{first}.out"
    assert log.is_file(), sorted(p.name for p in elsewhere.iterdir())
    text = log.read_text()
    assert job_field(first, "JobState") == "COMPLETED", text
    assert f"repo {REPO}" in text and f"working dir {elsewhere}" in text
    [run_dir] = (elsewhere / "runs" / "full_run").iterdir()  # ./runs of the submit dir
    assert (run_dir / "summary.json").is_file() and (run_dir / "loss.png").is_file()

    again = _submit(elsewhere, env, *args)
    wait_gone([again])
    text = (elsewhere / f"full_run-{again}.out").read_text()
    assert job_field(again, "JobState") == "COMPLETED", text
    assert f"already completed: {run_dir}" in text


def test_template_with_a_bad_repo_fails_with_a_log_that_says_why(env, tmp_path):
    job = _submit(tmp_path, {**env, "TOOLKIT_REPO": str(tmp_path / "nowhere")}, "--preset", "smoke")
    wait_gone([job])
    assert job_field(job, "JobState") == "FAILED"
    assert "set TOOLKIT_REPO=/path/to/slm-toolkit" in (tmp_path / f"full_run-{job}.out").read_text()
