"""The sbatch templates on a real cluster: full_run (a), the pretrain_finetune chain as one job per
stage with afterok (c; `main.py pretrain_finetune --executor slurm`) and as one template job, and
preemption of a template job: USR2 -> save -> requeue -> resume -> same losses (d)."""
from __future__ import annotations

import subprocess
import time

import pytest
from slurm_helpers import (SBATCH_SMALL, SMALL, job_field, main_py, metrics, report, sbatch, status_rows,
                           wait_for, wait_gone)

from gpt import rundir
from jobs import job_module
from jobs.context import JobContext
from jobs.launcher.slurm_chain import chain_tasks
from jobs.launcher.tasks import make_tasks

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


def _chain(env, tmp_path, *args: str, check: bool = True) -> tuple[subprocess.CompletedProcess, list[str]]:
    """`main.py pretrain_finetune --executor slurm`: one job per stage; (result, job ids in order)."""
    res = main_py("pretrain_finetune", "--preset", "smoke", "--executor", "slurm", *SMALL,
                  "--runs-root", str(tmp_path / "runs"), *args, env=env, check=check)
    return res, [line.split()[2] for line in res.stdout.splitlines() if line.startswith("submitted job ")]


def _stages(tmp_path) -> list:
    """The stage tasks the chain submits, in order (the chained job itself last)."""
    ctx = JobContext(runs_root=tmp_path / "runs", data_root=None, cache_dir=tmp_path / "cache")
    [task] = make_tasks("pretrain_finetune", [job_module("pretrain_finetune").PRESETS["smoke"]()], ctx.runs_root)
    return chain_tasks(task, ctx)


def test_pretrain_finetune_chain_runs_in_order_and_the_template_finds_it_done(env, tmp_path):
    _, ids = _chain(env, tmp_path)
    stages = _stages(tmp_path)
    assert len(ids) == len(stages) == 8 and job_field(ids[0], "JobState") in ("PENDING", "RUNNING", "COMPLETED")
    for before, after in zip(ids, ids[1:]):
        assert "afterok:" + before in job_field(after, "Dependency")
    wait_gone(ids, timeout_s=900)
    assert [job_field(j, "JobState") for j in ids] == ["COMPLETED"] * len(ids)
    for before, after in zip(ids, ids[1:]):
        assert job_field(after, "StartTime") >= job_field(before, "EndTime")
    assert all((t.run_dir / "summary.json").is_file() for t in stages)
    [finetuned] = [t.run_dir for t in stages if t.job == "finetune" and "pretrained" in t.cfg.name]
    assert (finetuned / "eval" / "birth_dev.json").is_file()
    assert len(rundir.read_json(stages[-1].run_dir / "summary.json")["stages"]) == len(stages) - 1
    # the one-job template runs the same chain in the same run dirs: nothing left to do
    job = sbatch(*SBATCH_SMALL, "sbatch_templates/pretrain_finetune.sh", "--preset", "smoke",
                 "--runs-root", str(tmp_path / "runs"), env=env, log_dir=tmp_path)
    wait_gone([job])
    log = (tmp_path / f"pretrain_finetune-{job}.out").read_text()
    assert job_field(job, "JobState") == "COMPLETED" and f"already completed: {stages[-1].run_dir}" in log, log


def test_failing_pretrain_cancels_every_later_stage(env, tmp_path):
    # a data root that does not exist: fine on the login node, fails on the compute node
    _, ids = _chain(env, tmp_path, "--data-root", str(tmp_path / "no-such-data"))
    wait_gone(ids)
    assert [job_field(j, "JobState") for j in ids] == ["FAILED"] + ["CANCELLED"] * (len(ids) - 1)
    assert not list((tmp_path / "runs").glob("finetune/*/summary.json"))
    rows = {r["job_id"]: r for r in status_rows(str(tmp_path / "runs"), env, tmp_path / "runs")}
    assert (rows[ids[0]]["job"], rows[ids[0]]["slurm"], rows[ids[0]]["state"]) == ("pretrain", "FAILED", "started")
    assert [rows[j]["slurm"] for j in ids[1:]] == ["CANCELLED"] * (len(ids) - 1)


def test_a_refused_stage_submission_cancels_the_stages_already_submitted(env, tmp_path):
    """The third stage's slurm/ folder is a file: its script cannot be written, so the chain stops
    there and the two jobs already in (the first still held) are cancelled before anything ran."""
    third = _stages(tmp_path)[2].run_dir / "slurm"
    third.parent.mkdir(parents=True)
    third.write_text("in the way")
    res, ids = _chain(env, tmp_path, check=False)
    assert res.returncode == 2 and res.stderr.splitlines()[-1].startswith("error: "), res.stderr
    assert f"cancelled the job(s) already in ({ids[0]} {ids[1]})" in res.stderr and len(ids) == 2
    wait_gone(ids, timeout_s=60)
    assert [job_field(j, "JobState") for j in ids] == ["CANCELLED", "CANCELLED"]
    assert not any((t.run_dir / "metrics.jsonl").exists() for t in _stages(tmp_path))


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
