"""Launcher without a cluster: resources, refusals, dry run, inline stop/resume, and submitit's
LocalExecutor checkpoint -> requeue -> resume (real subprocesses, the same path as on Slurm)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import submitit

from gpt import rundir
from gpt.overrides import apply_overrides
from jobs.launcher.cluster import LaunchError, check_shared, gres_gpus, load_resources
from jobs.context import JobContext
from jobs.full_run import smoke
from jobs.launcher.launch_local import SubmittedRun
from jobs.launcher.tasks import make_tasks

REPO = Path(__file__).resolve().parents[1]


def _main(*args, env=None, **kw):
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO, capture_output=True, text=True,
                          env=env, timeout=300, **kw)


def test_resources_flags_beat_env_beat_profile(tmp_path, monkeypatch):
    profile = tmp_path / "cluster.json"
    profile.write_text(json.dumps({"partition": "gpu", "cpus": 8, "mem_gb": 32, "setup": ["module load cuda"]}))
    monkeypatch.setenv("TOOLKIT_CLUSTER_PROFILE", str(profile))
    monkeypatch.setenv("TOOLKIT_CPUS", "4")
    res = load_resources({"cpus": None, "mem_gb": 8.0})
    assert (res.partition, res.cpus, res.mem_gb, res.setup, res.gpus) == ("gpu", 4, 8.0, ("module load cuda",), 0)
    assert load_resources({"cpus": 2}).cpus == 2


@pytest.mark.parametrize("profile, env, message", [
    ({"cpu": 4}, {}, "unknown key(s) cpu; valid:"),
    ({}, {"TOOLKIT_CPUS": "four"}, "$TOOLKIT_CPUS='four' is not a valid int"),
    ({}, {"TOOLKIT_TIME_MIN": "0"}, "--time-min 0 must be positive"),
])
def test_resources_bad_values_say_what_to_fix(tmp_path, monkeypatch, profile, env, message):
    (tmp_path / "p.json").write_text(json.dumps(profile))
    monkeypatch.setenv("TOOLKIT_CLUSTER_PROFILE", str(tmp_path / "p.json"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(LaunchError) as err:
        load_resources({})
    assert message in str(err.value)


def test_gpus_parsed_from_sinfo_gres():
    gres = ("gpu:2", "gpu:a100:4(S:0-1),tmpdisk:100", "(null)", "gpu:a:2,gpu:b:1")
    assert [gres_gpus(g) for g in gres] == [2, 4, 0, 3]


def test_node_local_folders_refused_unless_allowed(tmp_path):
    for path in ("/tmp/runs", "/dev/shm/x", "/var/tmp", "/run/user/0/runs"):
        with pytest.raises(LaunchError, match="compute nodes do not share"):
            check_shared({"runs root": Path(path)}, allow_local=False)
        check_shared({"runs root": Path(path)}, allow_local=True)
    check_shared({"runs root": Path.home() / "runs", "data root": None}, allow_local=False)


@pytest.fixture
def no_slurm_env(tmp_path, data_root) -> dict:
    """PATH with no Slurm client at all."""
    (tmp_path / "empty-bin").mkdir()
    return {**os.environ, "PATH": str(tmp_path / "empty-bin"), "DATA_ROOT": str(data_root)}


def test_sbatch_missing_is_refused_before_anything(tmp_path, no_slurm_env):
    res = _main("full_run", "--preset", "smoke", "--executor", "slurm", "--allow-local-runs-root",
                "--runs-root", str(tmp_path / "runs"), env=no_slurm_env)
    assert res.returncode == 2 and res.stderr.startswith("error: sbatch not found on PATH")
    assert not (tmp_path / "runs").exists()


def test_dry_run_prints_the_sbatch_script_and_submits_nothing(tmp_path, no_slurm_env):
    res = _main("full_run", "--preset", "smoke", "--executor", "slurm", "--dry-run", "--allow-local-runs-root",
                "--cpus", "1", "--gpus", "1", "--time-min", "30", "--runs-root", str(tmp_path / "runs"),
                env=no_slurm_env)
    assert res.returncode == 0, res.stderr
    for line in ("#SBATCH --cpus-per-task=1", "#SBATCH --gpus-per-node=1", "#SBATCH --time=30",
                 "#SBATCH --requeue", "#SBATCH --signal=USR2@120", "-m jobs.launcher.worker"):
        assert line in res.stdout
    assert "--partition" not in res.stdout and "not checked" in res.stderr
    assert not (tmp_path / "runs").exists()


def _wait_steps(run_dir: Path, step: int, timeout_s: float = 120) -> None:
    t0 = time.time()
    while not any(r.get("kind") == "train" and r["step"] >= step
                  for r in rundir.read_jsonl(run_dir / rundir.METRICS)):
        assert time.time() - t0 < timeout_s, f"no step {step} in {run_dir}"
        time.sleep(0.2)


def test_inline_usr2_stops_at_a_step_and_the_rerun_resumes(tmp_path, data_root):
    cmd = [sys.executable, "main.py", "full_run", "--preset", "smoke", "train.max_iters=400",
           "train.log_interval=1", "--runs-root", str(tmp_path), "--data-root", str(data_root)]
    [run_dir] = _main(*cmd[2:], "--print-run-dir").stdout.split()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _wait_steps(Path(run_dir), 5)
    proc.send_signal(signal.SIGUSR2)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 3 and "run the same command again to resume" in out, out
    stop = [r for r in rundir.read_jsonl(Path(run_dir) / rundir.METRICS) if r["kind"] == "stop"]
    assert len(stop) == 1 and stop[0]["step"] < 400 and (Path(run_dir) / rundir.LAST).is_file()


def test_local_executor_checkpoints_requeues_and_resumes(tmp_path, data_root):
    """submitit's LocalExecutor: USR2 -> SubmittedRun.checkpoint -> same run requeued -> resumed."""
    ctx = JobContext(runs_root=tmp_path / "runs", data_root=data_root, cache_dir=tmp_path / "cache")
    # 600 steps: the USR2 sent after step 5 must land before the end, however idle the machine
    cfg = apply_overrides(smoke(), ["train.max_iters=600", "train.log_interval=1"])
    [task] = make_tasks("full_run", [cfg], ctx.runs_root)
    executor = submitit.LocalExecutor(folder=tmp_path / "submitit" / "%j")
    executor.update_parameters(timeout_min=10)
    job = executor.submit(SubmittedRun(task, ctx))
    _wait_steps(task.run_dir, 5)
    # USR2 to the task process, as `scancel --signal=USR2` or a time limit would send it
    [start] = [r for r in rundir.read_jsonl(task.run_dir / "slurm" / "jobs.jsonl") if r["kind"] == "start"]
    os.kill(start["pid"], signal.SIGUSR2)
    summary = job.result()
    assert summary["status"] == "completed" and summary["steps"] == 600
    starts = [r for r in rundir.read_jsonl(task.run_dir / rundir.METRICS) if r["kind"] == "start"]
    assert [(s["attempt"], s["resumed"]) for s in starts] == [(0, False), (1, True)]


def test_chained_job_dry_run_prints_one_script_per_stage_and_writes_nothing(tmp_path, no_slurm_env):
    """pretrain_finetune has stage_configs: --executor slurm submits one job per stage (afterok)."""
    res = _main("pretrain_finetune", "--preset", "smoke", "--executor", "slurm", "--dry-run",
                "--allow-local-runs-root", "--runs-root", str(tmp_path / "runs"), env=no_slurm_env)
    assert res.returncode == 0, res.stderr
    headers = [line for line in res.stdout.splitlines() if line.startswith("# ---- job ")]
    assert [h.split()[4] for h in headers] == ["pretrain", "finetune", "evaluate", "evaluate", "finetune",
                                               "evaluate", "london_baseline", "pretrain_finetune"]
    assert "--hold" in headers[0] and all("--dependency=afterok" in h for h in headers[1:])
    assert res.stdout.count("#!/bin/bash") == 8 and res.stdout.count("-m jobs.launcher.worker") == 8
    assert res.stderr.count("not checked") == 1 and not (tmp_path / "runs").exists()
