"""Data parallel on the real cluster: a 2-task gloo smoke full_run through sbatch of multi_gpu.sh and
through `--executor slurm --tasks-per-node 2` equals one process with the same global batch."""
from __future__ import annotations

import subprocess

import pytest
from slurm_helpers import SMALL, job_field, main_py, metrics, report, sbatch, wait_for, wait_gone

pytestmark = pytest.mark.slurm

ARGS = ["--preset", "smoke", "train.max_iters=20", "train.eval_interval=10", "train.log_interval=5",
        "train.eval_iters=2", "sample.max_new_tokens=5"]
TWO_TASKS = ["--gres=gpu:2", "--ntasks-per-node=2", "--cpus-per-task=1", "--mem=2G"]


def _losses(runs) -> dict:
    [run_dir] = (runs / "full_run").iterdir()
    return {(r["kind"], r["step"]): r["loss"] for r in metrics(run_dir, "train") + metrics(run_dir, "val")}


def _close(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and all(abs(a[k] - b[k]) <= 1e-5 for k in a), (a, b)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data_root):
    import os
    env = {**os.environ, "DATA_ROOT": str(data_root)}
    runs = tmp_path_factory.mktemp("one-process")
    main_py("full_run", *ARGS, "--runs-root", str(runs), env=env)
    return _losses(runs)


def test_multi_gpu_template_two_tasks_equal_one_process(env, tmp_path, reference):
    runs = tmp_path / "runs"
    job = sbatch(*TWO_TASKS, "sbatch_templates/multi_gpu.sh", "full_run", *ARGS, "--runs-root", str(runs),
                 env=env, log_dir=tmp_path)
    wait_gone([job])
    log = (tmp_path / f"multi_gpu-{job}.out").read_text()
    assert job_field(job, "JobState") == "COMPLETED", log
    [run_dir] = (runs / "full_run").iterdir()
    [start] = metrics(run_dir, "start")
    assert start["world_size"] == 2, log
    _close(_losses(runs), reference)


def test_executor_slurm_tasks_per_node_2_equals_one_process(env, tmp_path, reference):
    runs = tmp_path / "runs"
    main_py("full_run", *ARGS, "--runs-root", str(runs), "--executor", "slurm", "--tasks-per-node", "2",
            "--gpus", "2", *SMALL, "--wait", env=env)
    [run_dir] = (runs / "full_run").iterdir()
    assert metrics(run_dir, "start")[0]["world_size"] == 2
    _close(_losses(runs), reference)


def test_usr2_to_two_task_job_requeues_once_and_resumes_to_identical_losses(env, tmp_path):
    steps = 120   # the USR2 sent after step 20 must land before the end (CI: ~0.3-1 s a step)
    args = ["full_run", "--preset", "smoke", f"train.max_iters={steps}", "train.log_interval=5",
            "train.eval_interval=60", "sample.max_new_tokens=5"]
    ref = sbatch(*TWO_TASKS, "sbatch_templates/multi_gpu.sh", *args, "--runs-root", str(tmp_path / "ref"),
                 env=env, log_dir=tmp_path)
    wait_gone([ref])
    job = sbatch(*TWO_TASKS, "sbatch_templates/multi_gpu.sh", *args, "--runs-root", str(tmp_path / "cut"),
                 env=env, log_dir=tmp_path)
    cut = tmp_path / "cut" / "full_run"
    wait_for(lambda: cut.is_dir() and any(r["step"] >= 20 for d in cut.iterdir() for r in metrics(d, "train")),
             what="20 steps of the job to interrupt")
    subprocess.run(["scancel", "--signal=USR2", job], check=True)
    wait_gone([job])
    log = (tmp_path / f"multi_gpu-{job}.out").read_text()
    assert job_field(job, "JobState") == "COMPLETED" and job_field(job, "Restarts") == "1", log
    [run_dir] = cut.iterdir()
    stop, starts = metrics(run_dir, "stop"), metrics(run_dir, "start")
    assert len(stop) == 1 and [s["attempt"] for s in starts] == [0, 1] and starts[1]["step"] == stop[0]["step"]
    assert _losses(tmp_path / "cut") == _losses(tmp_path / "ref")     # same ranks, same order: exact
    report("requeue_to_resume_s (multi_gpu template, 2 tasks)", round(starts[1]["time"] - stop[0]["time"], 1))
