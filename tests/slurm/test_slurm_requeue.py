"""`scontrol requeue` of a template job: the SIGTERM it sends saves at a step, the log says that
Slurm requeues the job (not "not requeued ... resubmit"), and the next attempt resumes by itself;
a later scancel of the same job still says "not requeued"."""
from __future__ import annotations

import subprocess

import pytest
from slurm_helpers import SBATCH_SMALL, job_field, metrics, sbatch, wait_for, wait_gone

pytestmark = pytest.mark.slurm


def test_scontrol_requeue_is_reported_as_a_requeue_and_the_job_resumes(env, tmp_path):
    runs = tmp_path / "runs"
    job = sbatch(*SBATCH_SMALL, "sbatch_templates/full_run.sh", "--preset", "smoke", "train.max_iters=100000",
                 "train.log_interval=1", "--runs-root", str(runs), env=env, log_dir=tmp_path)
    cut = runs / "full_run"

    def steps(at_least: int, attempt: int) -> bool:
        return cut.is_dir() and any(len(metrics(d, "start")) > attempt and
                                    any(r["step"] >= at_least for r in metrics(d, "train")) for d in cut.iterdir())
    wait_for(lambda: steps(5, 0), what="5 steps of the job to requeue")
    subprocess.run(["scontrol", "requeue", job], check=True)
    wait_for(lambda: steps(0, 1), timeout_s=240, what="the requeued attempt to start")
    [run_dir] = cut.iterdir()
    stop_step = metrics(run_dir, "stop")[0]["step"]
    wait_for(lambda: steps(stop_step + 2, 1), what="2 steps of the second attempt")
    subprocess.run(["scancel", job], check=True)
    wait_gone([job])
    log = (tmp_path / f"full_run-{job}.out").read_text()
    requeued = f"SIGTERM: saved; Slurm is requeueing job {job} (scontrol requeue)"
    assert log.count(requeued) == 1 and log.index(requeued) < log.index("saved, not requeued"), log
    assert job_field(job, "JobState") == "CANCELLED" and job_field(job, "Restarts") == "1", log
    starts = metrics(run_dir, "start")
    assert [(s["attempt"], s["resumed"]) for s in starts] == [(0, False), (1, True)]
    assert starts[1]["step"] == stop_step
