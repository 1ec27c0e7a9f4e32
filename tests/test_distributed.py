"""Data parallel on CPU (gloo): 2 ranks equal 1 process, rank 0 writes alone, stops agree, bad input.

Ranks are real processes of `main.py full_run --preset smoke` started the way torchrun starts
them (RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT), on localhost; one test goes through torchrun itself.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gpt import distributed
from gpt.distributed import DistributedError, World

REPO = Path(__file__).resolve().parents[1]
SMOKE = ["full_run", "--preset", "smoke", "train.max_iters=30", "train.eval_interval=15",
         "train.log_interval=5", "train.eval_iters=2", "sample.max_new_tokens=5"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data_root, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "RANK", "WORLD_SIZE"))}
    return {**env, "DATA_ROOT": str(data_root), "OMP_NUM_THREADS": "1", **extra}


def _main(args, root: Path, cache: Path) -> list[str]:
    return [sys.executable, str(REPO / "main.py"), *args, "--runs-root", str(root), "--cache-dir", str(cache)]


def _ranks(data_root, cache, roots, args_per_rank=None, env_extra=None):
    """Start 2 ranks (torchrun's variables, localhost); rank r writes under roots[r]."""
    port = str(_port())
    procs = []
    for rank in range(2):
        env = _env(data_root, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=port, **(env_extra or {}))
        args = (args_per_rank or [SMOKE, SMOKE])[rank]
        procs.append(subprocess.Popen(_main(args, roots[rank], cache), cwd=REPO, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    return procs


def _wait(procs, timeout=240):
    return [(p.wait(timeout=timeout), p.stdout.read()) for p in procs]


def _rows(root: Path, kind: str) -> list[dict]:
    (metrics,) = root.glob("full_run/*/metrics.jsonl")
    return [r for r in map(json.loads, metrics.read_text().splitlines()) if r["kind"] == kind]


def _losses(root: Path) -> dict:
    return {(r["kind"], r["step"]): (r["loss"], r.get("train_loss")) for r in
            _rows(root, "train") + _rows(root, "val")}


def _trained_to(root: Path, step: int) -> bool:
    try:
        return any(r["step"] >= step for r in _rows(root, "train"))
    except (ValueError, json.JSONDecodeError):   # no metrics yet, or a row being written
        return False


def _close(a: dict, b: dict, tol=1e-5):
    assert a.keys() == b.keys()
    for key in a:
        for x, y in zip(a[key], b[key]):
            assert (x is None and y is None) or abs(x - y) <= tol, (key, a[key], b[key])


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def single(data_root, cache, tmp_path_factory):
    """The same global batch in one process: the reference losses."""
    root = tmp_path_factory.mktemp("single")
    out = subprocess.run(_main(SMOKE, root, cache), cwd=REPO, env=_env(data_root), text=True,
                         capture_output=True, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr
    return root


def test_torchrun_two_ranks_equal_one_process(data_root, cache, single, tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(_port()), str(REPO / "main.py"), *SMOKE,
           "--runs-root", str(tmp_path), "--cache-dir", str(cache)]
    out = subprocess.run(cmd, cwd=REPO, env=_env(data_root), text=True, capture_output=True, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr
    _close(_losses(tmp_path), _losses(single))
    (start,) = _rows(tmp_path, "start")            # one writer: one start row, one row per step
    assert start["world_size"] == 2 and len(_rows(tmp_path, "train")) == 6
    (run,) = tmp_path.glob("full_run/*")
    assert json.loads((run / "summary.json").read_text())["world_size"] == 2
    assert sorted(p.name for p in run.iterdir()) == sorted(p.name for p in next(single.glob("full_run/*")).iterdir())


def test_rank_1_writes_nothing(data_root, cache, single, tmp_path):
    roots = [tmp_path / "rank0", tmp_path / "rank1"]     # each rank its own runs root
    results = _wait(_ranks(data_root, cache, roots))
    assert [code for code, _ in results] == [0, 0], results
    _close(_losses(roots[0]), _losses(single))
    (run1,) = roots[1].glob("full_run/*")
    assert list(run1.rglob("*")) == []                  # the dir is made, nothing is written in it


def test_stop_on_one_rank_stops_both_and_resume_is_exact(data_root, cache, single, tmp_path):
    roots = [tmp_path, tmp_path]
    procs = _ranks(data_root, cache, roots)
    deadline = time.time() + 120
    while time.time() < deadline and not _trained_to(tmp_path, 5):
        time.sleep(0.05)
    procs[1].send_signal(signal.SIGUSR2)                 # only rank 1 is asked to stop
    results = _wait(procs)
    (stop,) = _rows(tmp_path, "stop")
    assert stop["step"] < 30, results
    assert all("interrupted" in text for _, text in results), results
    results = _wait(_ranks(data_root, cache, roots))     # the same command again resumes
    assert [code for code, _ in results] == [0, 0], results
    _close(_losses(tmp_path), _losses(single))


def test_rank_0_finishing_longer_than_the_collective_timeout(data_root, cache, single, tmp_path):
    """Rank 0 samples after training (longer than TOOLKIT_DIST_TIMEOUT_S here) while rank 1
    waits at the end: the wait has its own long timeout, so both ranks finish."""
    long_samples = [*SMOKE[:-1], "sample.max_new_tokens=4000"]   # `single`: the data cache is warm
    procs = _ranks(data_root, cache, [tmp_path, tmp_path], [long_samples, long_samples],
                   env_extra={"TOOLKIT_DIST_TIMEOUT_S": "2"})
    results = _wait(procs)
    assert [code for code, _ in results] == [0, 0], results
    (run,) = tmp_path.glob("full_run/*")
    (end,) = _rows(tmp_path, "end")
    assert (run / "summary.json").stat().st_mtime - end["time"] > 2   # the case was exercised


def test_ranks_with_different_configs_refused(data_root, cache, tmp_path):
    args = [SMOKE, SMOKE + ["optim.lr=1e-3"]]
    results = _wait(_ranks(data_root, cache, [tmp_path, tmp_path], args_per_rank=args))
    for code, text in results:
        assert code == 2 and "error: the ranks disagree on the config hash" in text, text
        assert "Traceback" not in text


def test_batch_not_divisible_is_one_line_before_training(data_root, cache, tmp_path):
    # checked before the process group forms: one rank alone fails at once, it waits for no peer
    env = _env(data_root, RANK="0", WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_port()))
    out = subprocess.run(_main(SMOKE + ["train.batch_size=15"], tmp_path, cache), cwd=REPO, env=env,
                         text=True, capture_output=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert "error: train.batch_size=15 does not divide by the 2 ranks; use a multiple of 2" in out.stderr
    assert not list(tmp_path.glob("full_run/*/metrics.jsonl"))


def test_backend_choice_and_nccl_without_gpus():
    cpu = torch.device("cpu")
    assert distributed.backend_for(cpu, {}) == "gloo"
    assert distributed.backend_for(cpu, {"TOOLKIT_DIST_BACKEND": "GLOO"}) == "gloo"
    with pytest.raises(DistributedError, match="the nccl backend needs CUDA GPUs"):
        distributed.backend_for(cpu, {"TOOLKIT_DIST_BACKEND": "nccl"})
    with pytest.raises(DistributedError, match="TOOLKIT_DIST_BACKEND='mpi': choose one of gloo, nccl"):
        distributed.backend_for(cpu, {"TOOLKIT_DIST_BACKEND": "mpi"})


def test_from_env_torchrun_slurm_and_single():
    assert distributed.from_env({}) == World()
    w = distributed.from_env({"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "MASTER_ADDR": "n1",
                              "MASTER_PORT": "1234"})
    assert (w.rank, w.local_rank, w.world_size, w.master_addr, w.master_port, w.is_main) == \
        (1, 1, 4, "n1", 1234, False)
    slurm = {"SLURM_PROCID": "3", "SLURM_LOCALID": "1", "SLURM_NTASKS": "4", "SLURM_JOB_ID": "123",
             "SLURM_JOB_NODELIST": "nodeA,nodeB"}
    # the batch script itself (no srun step): one process, no peers to wait for
    assert distributed.from_env(slurm) == World()
    w = distributed.from_env({**slurm, "SLURM_STEP_NUM_TASKS": "4", "MASTER_ADDR": "nodeA"})
    assert (w.rank, w.local_rank, w.world_size, w.master_addr, w.master_port, w.source) == \
        (3, 1, 4, "nodeA", 20123, "slurm")
    with pytest.raises(DistributedError, match="rank 4 is outside world size 2"):
        distributed.from_env({"RANK": "4", "WORLD_SIZE": "2"})
    with pytest.raises(DistributedError, match="RANK='x' is not an integer"):
        distributed.from_env({"RANK": "x", "WORLD_SIZE": "2"})


def test_shard_rows_partition_the_global_batch():
    rows = [distributed.shard_rows(12, r, 3) for r in range(3)]
    assert [list(range(12))[s] for s in rows] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert distributed.shard_rows(12, 0, 1) == slice(0, 12)
    with pytest.raises(DistributedError, match="use a multiple of 5"):
        distributed.shard_rows(12, 0, 5)


def test_slurm_executor_asks_for_nodes_and_tasks_per_node(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "main.py"), "full_run", "--preset", "smoke",
                          "--executor", "slurm", "--dry-run", "--nodes", "2", "--tasks-per-node", "2",
                          "--gpus", "2", "--cpus", "1", "--mem-gb", "2", "--allow-local-runs-root", "--runs-root", str(tmp_path)],
                         cwd=REPO, text=True, capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "#SBATCH --nodes=2" in out.stdout and "#SBATCH --ntasks-per-node=2" in out.stdout
    assert "srun" in out.stdout
    bad = subprocess.run([sys.executable, str(REPO / "main.py"), "full_run", "--executor", "slurm",
                          "--dry-run", "--tasks-per-node", "0"], cwd=REPO, text=True, capture_output=True,
                         timeout=120)
    assert bad.returncode == 2 and "error: --tasks-per-node 0 must be positive" in bad.stderr
