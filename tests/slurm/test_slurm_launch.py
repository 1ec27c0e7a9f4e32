"""`--executor slurm` on a real cluster: preemption and resume of the launcher's own sbatch job (d), --wait, cancelled
jobs in `status` (e), and every refusal, which must leave no job and no file behind."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from slurm_helpers import (REPO, SMALL, job_field, main_py, metrics, report, status_rows,
                           wait_for, wait_gone)

pytestmark = pytest.mark.slurm
# 600 steps: the USR2 sent after step 20 must land before the end, however idle the machine
STEPS = 600
ARGS = ["full_run", "--preset", "smoke", f"train.max_iters={STEPS}", "train.log_interval=1"]


def _job_id(stdout: str) -> str:
    return next(line.split()[2] for line in stdout.splitlines() if line.startswith("submitted job"))


def test_usr2_checkpoints_launcher_job_which_resumes_to_identical_losses(env, tmp_path):
    ref = subprocess.Popen([sys.executable, "main.py", *ARGS, "--executor", "slurm", "--wait", *SMALL,
                            "--runs-root", str(tmp_path / "ref")], cwd=REPO, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    job = _job_id(main_py(*ARGS, "--executor", "slurm", *SMALL, "--runs-root", str(tmp_path / "cut"),
                          env=env).stdout)
    cut = tmp_path / "cut" / "full_run"
    wait_for(lambda: any(r["step"] >= 20 for d in cut.iterdir() for r in metrics(d, "train")),
             what="20 steps of the job to interrupt")
    subprocess.run(["scancel", "--signal=USR2", job], check=True)
    out, _ = ref.communicate(timeout=900)   # bounds a hang; a loaded 2-core node needs minutes
    assert ref.returncode == 0 and "completed" in out, out      # --wait blocked until the end
    wait_gone([job])
    assert job_field(job, "JobState") == "COMPLETED" and job_field(job, "Restarts") == "1"
    [run_dir], [ref_dir] = cut.iterdir(), (tmp_path / "ref" / "full_run").iterdir()
    stop, starts = metrics(run_dir, "stop"), metrics(run_dir, "start")
    assert [s["attempt"] for s in starts] == [0, 1] and starts[1]["step"] == stop[0]["step"]
    losses = [{r["step"]: r["loss"] for r in metrics(d, "train")} for d in (run_dir, ref_dir)]
    assert losses[0] == losses[1] and len(losses[0]) == STEPS                       # bit for bit
    assert (run_dir / "slurm" / f"{job}_log.out").is_file()                       # logs in the run dir
    report("requeue_to_resume_s (launcher job: USR2 -> scontrol requeue)", round(starts[1]["time"] - stop[0]["time"], 1))


def test_status_shows_cancelled_job(env, tmp_path):
    runs = tmp_path / "runs"
    # far more steps than it can finish before scancel, however idle the machine
    job = _job_id(main_py(*ARGS, "train.max_iters=100000", "--executor", "slurm", *SMALL,
                          "--runs-root", str(runs), env=env).stdout)
    wait_for(lambda: job_field(job, "JobState") == "RUNNING", what="the job to run")
    [row] = status_rows(str(runs), env, runs)
    assert (row["job_id"], row["slurm"]) == (job, "RUNNING")
    subprocess.run(["scancel", job], check=True)
    wait_gone([job])
    [row] = status_rows(str(runs), env, runs)
    # scancel's SIGTERM saves last.pt at a step boundary (not requeued): "interrupted"
    assert row["slurm"] == "CANCELLED" and row["state"] in ("started", "not started", "interrupted"), row


def _refused(runs_root, sbatch_log, *args: str) -> str:
    res = main_py(*args, "--runs-root", str(runs_root), env=sbatch_log.env, check=False)
    assert res.returncode == 2 and res.stderr.startswith("error: "), res.stdout + res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert sbatch_log.calls() == [] and not runs_root.exists()   # nothing submitted, no file written
    return res.stderr


@pytest.mark.parametrize("flags, message", [
    (["--partition", "nope"], "partition 'nope' does not exist; choose one of: debug"),
    (["--cpus", "64"], "no node of partition debug has 64 CPUs"),
    (["--mem-gb", "4096"], "4096 GB"),
    (["--gpus", "8"], "and 8 GPUs"),
])
def test_refuses_what_no_node_can_run(tmp_path, sbatch_log, flags, message):
    args = ["full_run", "--preset", "smoke", "--executor", "slurm", "--allow-local-runs-root"]
    assert message in _refused(tmp_path / "runs", sbatch_log, *args, *flags)


def test_refuses_sweep_with_one_invalid_config(tmp_path, sbatch_log):
    err = _refused(tmp_path / "runs", sbatch_log, "sweep", "smoke", "model.n_head=3", "--executor", "slurm", *SMALL)
    assert "run smoke-64d" in err and "not divisible" in err


def test_refuses_node_local_runs_root(tmp_path, sbatch_log):
    runs_root = Path("/dev/shm") / f"{tmp_path.name}-runs"    # node-local wherever $TMPDIR points
    err = _refused(runs_root, sbatch_log, "full_run", "--preset", "smoke", "--executor", "slurm")
    assert "compute nodes do not share" in err and "--allow-local-runs-root" in err


def test_dry_run_prints_exactly_the_submitted_script_for_a_path_with_a_space(env, tmp_path):
    """Issue 9.1 / 15.6: the dry run's text is byte for byte the script sbatch got."""
    runs = tmp_path / "my runs"
    args = ["full_run", "--preset", "smoke", "train.max_iters=2", "--executor", "slurm", *SMALL,
            "--runs-root", str(runs)]
    dry = main_py(*args, "--dry-run", env=env).stdout
    assert not runs.exists()
    job = _job_id(main_py(*args, "--wait", env=env).stdout)
    [run_dir] = (runs / "full_run").iterdir()
    [script] = (run_dir / "slurm").glob("submission-*.sh")
    assert script.read_text() == dry
    assert job_field(job, "JobState") == "COMPLETED" and (run_dir / "summary.json").is_file()
    assert (run_dir / "slurm" / f"{job}_log.out").is_file()
