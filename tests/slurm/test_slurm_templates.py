"""The sbatch templates on a real cluster: full_run (a), the pretrain -> finetune -> evaluate chain
(c), and preemption of a template job: USR2 -> save -> requeue -> resume -> same losses (d)."""
from __future__ import annotations

import subprocess
import time

import pytest
from slurm_helpers import (REPO, SBATCH_SMALL, job_field, main_py, metrics, report, sbatch,
                      status_rows, wait_for, wait_gone)

from jobs import JOBS

pytestmark = pytest.mark.slurm


def test_full_run_template_completes_with_plots_samples_summary(env, tmp_path):
    runs = tmp_path / "runs"
    job = sbatch(*SBATCH_SMALL, "sbatch_templates/full_run.sh", "--preset", "smoke",
                 "--runs-root", str(runs), "sample.prompts=it's $HOME && echo; ls|ROMEO:",
                 env=env, log_dir=tmp_path)
    wait_gone([job])
    log = (tmp_path / f"full_run-{job}.out").read_text()
    assert job_field(job, "JobState") == "COMPLETED", log
    [run_dir] = (runs / "full_run").iterdir()
    for name in ("loss.png", "ppl.png", "summary.json", "samples/samples.md", "checkpoints/last.pt"):
        assert (run_dir / name).is_file(), name
    # the override reached the job verbatim: no shell expansion or word splitting
    assert "it's $HOME && echo; ls" in (run_dir / "samples" / "samples.md").read_text()
    [row] = status_rows(str(runs), env, runs)
    assert (row["slurm"], row["state"], row["job_id"], row["attempts"]) == ("COMPLETED", "completed", job, 1)


def _chain(env, tmp_path, *args: str) -> list[str]:
    res = subprocess.run(["bash", "sbatch_templates/pretrain_finetune.sh", *SBATCH_SMALL,
                          f"--output={tmp_path}/%x-%j.out", "--", "--runs-root", str(tmp_path / "runs"),
                          *args], cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**env, "PRETRAIN_PRESET": "smoke", "FINETUNE_PRESET": "smoke_pretrained"})
    assert res.returncode == 0, res.stdout + res.stderr
    first = res.stdout.splitlines()[0].split()     # pretrain ID -> finetune ID -> evaluate ID
    return [first[1], first[4], first[7]]


@pytest.mark.skipif("pretrain" not in JOBS, reason="jobs/pretrain.py, finetune.py, evaluate.py not there yet")
def test_pretrain_finetune_chain_runs_in_order(env, tmp_path):
    pre, ft, ev = _chain(env, tmp_path)
    assert "afterok:" + pre in job_field(ft, "Dependency") and "afterok:" + ft in job_field(ev, "Dependency")
    wait_gone([pre, ft, ev], timeout_s=600)
    assert [job_field(j, "JobState") for j in (pre, ft, ev)] == ["COMPLETED"] * 3
    assert job_field(ft, "StartTime") >= job_field(pre, "EndTime")
    assert job_field(ev, "StartTime") >= job_field(ft, "EndTime")
    [finetuned] = (tmp_path / "runs" / "finetune").iterdir()
    assert (finetuned / "eval" / "birth_dev.json").is_file()


@pytest.mark.skipif("pretrain" not in JOBS, reason="jobs/pretrain.py, finetune.py, evaluate.py not there yet")
def test_failing_pretrain_cancels_finetune_and_evaluate(env, tmp_path):
    # a data root that does not exist: fine on the login node, fails on the compute node
    pre, ft, ev = _chain(env, tmp_path, "--data-root", str(tmp_path / "no-such-data"))
    wait_gone([pre, ft, ev])
    assert job_field(pre, "JobState") == "FAILED"
    assert [job_field(j, "JobState") for j in (ft, ev)] == ["CANCELLED", "CANCELLED"]
    assert not (tmp_path / "runs" / "finetune").exists()
    [row] = status_rows(str(tmp_path / "runs"), env, tmp_path / "runs")
    assert (row["job"], row["job_id"], row["slurm"], row["state"]) == ("pretrain", pre, "FAILED", "started")


def _losses(run_dir) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in metrics(run_dir, "train")}


def test_usr2_requeues_template_job_which_resumes_to_identical_losses(env, tmp_path):
    """(d) on the template path (inline executor inside sbatch) against an uninterrupted run."""
    steps = 600   # the USR2 sent after step 20 must land before the end, however idle the machine
    args = ["--preset", "smoke", f"train.max_iters={steps}", "train.log_interval=1"]
    ref = sbatch(*SBATCH_SMALL, "sbatch_templates/full_run.sh", *args, "--runs-root",
                 str(tmp_path / "ref"), env=env, log_dir=tmp_path)
    job = sbatch(*SBATCH_SMALL, "sbatch_templates/full_run.sh", *args, "--runs-root",
                 str(tmp_path / "cut"), env=env, log_dir=tmp_path)
    cut = tmp_path / "cut" / "full_run"
    wait_for(lambda: cut.is_dir() and any(r["step"] >= 20 for d in cut.iterdir() for r in metrics(d, "train")),
             what="20 steps of the job to interrupt")
    running = status_rows(str(tmp_path / "cut"), env, tmp_path / "cut")
    assert [(r["slurm"], r["state"]) for r in running] == [("RUNNING", "started")]
    subprocess.run(["scancel", "--signal=USR2", job], check=True)
    wait_gone([ref, job])
    assert job_field(job, "JobState") == "COMPLETED" and job_field(job, "Restarts") == "1"
    [run_dir], [ref_dir] = cut.iterdir(), (tmp_path / "ref" / "full_run").iterdir()
    stop, starts = metrics(run_dir, "stop"), metrics(run_dir, "start")
    assert len(stop) == 1 and [s["attempt"] for s in starts] == [0, 1] and starts[1]["resumed"]
    assert starts[1]["step"] == stop[0]["step"] < steps
    assert _losses(run_dir) == _losses(ref_dir) and len(_losses(ref_dir)) == steps   # bit for bit
    assert [v["loss"] for v in metrics(run_dir, "val")] == [v["loss"] for v in metrics(ref_dir, "val")]
    report("requeue_to_resume_s (template, USR2 -> scontrol requeue)",
           round(starts[1]["time"] - stop[0]["time"], 1))
    [row] = status_rows(str(tmp_path / "cut"), env, tmp_path / "cut")
    assert (row["slurm"], row["state"], row["attempts"], row["step"]) == ("COMPLETED", "completed", 2, steps)


def test_scancel_cancels_a_template_job_and_does_not_requeue_it(env, tmp_path):
    """Issue 9.5: scancel's SIGTERM saves at a step and lets the job end CANCELLED (no requeue);
    USR2 requeues (test above)."""
    runs = tmp_path / "runs"
    job = sbatch(*SBATCH_SMALL, "sbatch_templates/full_run.sh", "--preset", "smoke", "train.max_iters=100000",
                 "train.log_interval=1", "--runs-root", str(runs), env=env, log_dir=tmp_path)
    cut = runs / "full_run"
    wait_for(lambda: cut.is_dir() and any(r["step"] >= 5 for d in cut.iterdir() for r in metrics(d, "train")),
             what="5 steps of the job to cancel")
    subprocess.run(["scancel", job], check=True)
    wait_gone([job])
    time.sleep(3)                                     # a requeue would show up as PENDING again
    log = (tmp_path / f"full_run-{job}.out").read_text()
    assert job_field(job, "JobState") == "CANCELLED" and job_field(job, "Restarts") == "0", log
    assert "not requeued" in log and "requeueing" not in log
    [run_dir] = cut.iterdir()
    assert [s["attempt"] for s in metrics(run_dir, "start")] == [0] and len(metrics(run_dir, "stop")) == 1
