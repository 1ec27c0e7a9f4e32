"""--pack K (jobs/launcher/pack.py): the lane plan of every mode (no GPU needed), the points of each array
task, the refusals of hostile values, and the dry-run script of a packed grid."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jobs.errors import LaunchError
from jobs.launcher.pack import (
    Lane,
    n_array_tasks,
    need_bytes,
    plan,
    points_per_task,
    task_points,
)

GRID = ["sweep", "grid", "optim.lr=1e-3,2e-3,3e-3", "seed=1,2", "--preset", "smoke", "train.max_iters=4"]
SLURM = ["--executor", "slurm", "--dry-run", "--cpus", "1", "--mem-gb", "2", "--allow-local-runs-root"]


class Result:
    """main.main run in this process: exit code, stdout, stderr."""

    def __init__(self, capsys, *args: str, runs: Path):
        import main
        try:
            self.returncode = main.main([*args, "--runs-root", str(runs)])
        except SystemExit as exc:          # argparse's own refusals
            self.returncode = exc.code
        captured = capsys.readouterr()
        self.stdout, self.stderr = captured.out, captured.err


def test_array_task_i_runs_points_i_k_to_i_plus_1_k():
    assert [list(task_points(i, 3, 7)) for i in range(n_array_tasks(7, 3))] == [[0, 1, 2], [3, 4, 5], [6]]
    assert n_array_tasks(6, 3) == 2 and n_array_tasks(6, 6) == 1 and n_array_tasks(1, 1) == 1


def test_plan_seq_is_one_lane_and_auto_on_cpu_is_seq():
    assert plan([3, 4, 5], "seq", ["0", "1", "2"]) == [Lane((3, 4, 5))]
    assert plan([3, 4, 5], "auto", []) == [Lane((3, 4, 5))]
    assert plan([3, 4, 5], "auto", ["0"]) == [Lane((3, 4, 5))]          # one GPU: in turn


def test_plan_gpus_gives_each_process_its_own_device_round_robin():
    assert plan([0, 1, 2], "auto", ["0", "1", "2"]) == [Lane((0,), "0"), Lane((1,), "1"), Lane((2,), "2")]
    # fewer GPUs than points: the extra points queue behind the first ones, on the same device
    assert plan([0, 1, 2], "gpus", ["4", "7"]) == [Lane((0, 2), "4"), Lane((1,), "7")]
    with pytest.raises(LaunchError, match="needs GPUs"):
        plan([0, 1], "gpus", [])


def test_plan_shared_runs_as_many_at_once_as_the_free_memory_holds():
    gib = 2**30
    assert plan([0, 1, 2], "shared", []) == [Lane((0,)), Lane((1,)), Lane((2,))]   # CPU: all at once
    assert plan([0, 1, 2], "shared", [], free_bytes=10 * gib, need=3 * gib) == [Lane((0,)), Lane((1,)), Lane((2,))]
    assert plan([0, 1, 2], "shared", [], free_bytes=10 * gib, need=4 * gib) == [Lane((0, 2)), Lane((1,))]
    with pytest.raises(LaunchError, match="needs ~12.0 GiB"):
        plan([0, 1, 2], "shared", [], free_bytes=10 * gib, need=12 * gib)


def test_memory_estimate_counts_adamw_state_and_activations():
    # 1M parameters: 16 MB of weights, grads and moments; (8, 64, 128) activations x 16 x 4 layers
    assert need_bytes(10**6, 8, 64, 128, 4) == 16 * 10**6 + 16 * 4 * 8 * 64 * 128 * 4


def test_pack_bigger_than_the_points_is_clamped_with_a_note(capsys):
    assert points_per_task(10, "auto", 6, gpus=0) == 6 and "one task runs them all" in capsys.readouterr().err
    assert points_per_task(None, "auto", 6, gpus=0) == 1
    with pytest.raises(LaunchError, match="--gpus N"):
        points_per_task(2, "gpus", 6, gpus=0)


def test_dry_run_prints_the_packed_script_two_tasks_for_six_points(tmp_path, capsys):
    res = Result(capsys, *GRID, *SLURM, "--pack", "3", runs=tmp_path / "runs")
    assert res.returncode == 0, res.stderr
    assert "#SBATCH --array=0-1\n" in res.stdout and " -m jobs.launcher.pack_worker " in res.stdout
    spec = re.search(r"jobs\.launcher\.pack_worker (\S+)", res.stdout).group(1)
    assert not Path(spec).exists()                      # a dry run writes nothing
    unpacked = Result(capsys, *GRID, *SLURM, runs=tmp_path / "runs")
    assert "#SBATCH --array=0-5\n" in unpacked.stdout and " -m jobs.launcher.worker " in unpacked.stdout
    clamped = Result(capsys, *GRID, *SLURM, "--pack", "99", runs=tmp_path / "runs")
    assert clamped.returncode == 0 and "--array" not in clamped.stdout and "--pack 99 > 6" in clamped.stderr


@pytest.mark.parametrize("flags, message", [
    (["--pack", "0"], "--pack 0 must be at least 1"),
    (["--pack", "-2"], "--pack -2 must be at least 1"),
    (["--pack", "2.5"], "invalid int value: '2.5'"),
    (["--pack", "three"], "invalid int value: 'three'"),
    (["--pack-mode", "gpus"], "--pack-mode gpus goes with --pack K"),
    (["--pack-mode", "disk"], "invalid choice: 'disk'"),
])
def test_hostile_pack_values_are_refused_in_one_line(tmp_path, capsys, flags, message):
    res = Result(capsys, *GRID, *SLURM, *flags, runs=tmp_path / "runs")
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "runs").exists()


def test_pack_without_slurm_and_gpus_mode_without_gpus_are_refused(tmp_path, capsys):
    inline = Result(capsys, *GRID, "--pack", "3", runs=tmp_path / "runs")
    assert inline.returncode == 2 and "--pack goes with --executor slurm" in inline.stderr
    no_gpu = Result(capsys, *GRID, *SLURM, "--pack", "3", "--pack-mode", "gpus", runs=tmp_path / "runs")
    assert no_gpu.returncode == 2 and "submit with --gpus N" in no_gpu.stderr
    assert not (tmp_path / "runs").exists()


def test_packed_task_list_names_k_and_mode_and_unpacked_is_unchanged(tmp_path):
    from jobs.launcher.sbatch import Resources
    from jobs.context import JobContext
    from jobs.launcher.slurm_submit import build_script, task_spec
    from jobs.sweeps import build_grid
    from jobs.launcher.tasks import make_tasks
    runs = build_grid("full_run", "smoke", ["seed=1,2,3"], 16)
    tasks = [make_tasks(r.job, [r.cfg], tmp_path)[0] for r in runs]
    ctx = JobContext(runs_root=tmp_path, cache_dir=tmp_path / "cache", data_root=None)
    args = (tasks, ctx, Resources(), "debug", "x", tmp_path, None)
    _text, _path, data = build_script(*args, 2, "shared")
    assert json.loads(data) | {"pack": 0} == task_spec(tasks, ctx) | {"pack": 0, "pack_mode": "shared"}
    assert json.loads(data)["pack"] == 2
    assert build_script(*args) == build_script(*args, 1, "shared")     # K=1: the unpacked script
