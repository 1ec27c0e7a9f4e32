"""Trainer safety at toy scale: divergence never saved, prefetch is exact, run-dir lock, tmp clean-up."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gpt import rundir
from gpt.batches import ArrayExamples, TokenStream
from gpt.checkpoint import load_checkpoint
from gpt.config import ConfigError, GPTConfig, OptimConfig, RunConfig, TrainConfig
from gpt.prefetch import Prefetcher
from gpt.runlock import LOCK, RunLock, RunLockError
from gpt.divergence import DivergedError
from gpt.trainer import resolve_device, train

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def stream():
    tokens = np.random.default_rng(0).integers(0, 50, 5000)
    return TokenStream({"train": tokens, "val": tokens[:1000]}, 16)


def _cfg(lr=3e-3, warmup=0, log_interval=1, max_iters=20, grad_clip=1.0):
    return RunConfig(name="s", model=GPTConfig(vocab_size=50, n_layer=1, n_head=2, n_embd=16, block_size=16),
                     optim=OptimConfig(lr=lr, warmup_iters=warmup, grad_clip=grad_clip),
                     train=TrainConfig(max_iters=max_iters, batch_size=4, eval_interval=5, eval_iters=1,
                                       log_interval=log_interval, progress="off"))


def _all_finite(path):
    state = load_checkpoint(path)["model"]
    return all(bool(torch.isfinite(t).all()) for t in state.values())


# lr ramps to ~1e6 * step / 1e5: finite for 10 steps, NaN between steps 10 and 15 (measured)
DIVERGES_LATE = dict(lr=1e6, warmup=100_000, grad_clip=0.0)


@pytest.mark.parametrize("log_interval", [1, 50])   # 50: only the checks before checkpoint writes
def test_a_divergent_run_never_saves_a_non_finite_state(stream, tmp_path, log_interval):
    cfg = _cfg(log_interval=log_interval, **DIVERGES_LATE)
    with pytest.raises(DivergedError, match=r"step 10\) is the last good state.*Lower optim.lr \(now 1e\+06\)"
                                            r", set optim.grad_clip=1.0"):
        train(cfg, tmp_path / "r", stream)
    last, best = tmp_path / "r" / rundir.LAST, tmp_path / "r" / rundir.BEST
    assert load_checkpoint(last)["step"] == 10 and _all_finite(last) and _all_finite(best)
    losses = [r["loss"] for r in rundir.read_jsonl(tmp_path / "r" / rundir.METRICS) if r["kind"] == "train"]
    assert all(np.isfinite(losses))                  # no NaN row either
    with pytest.raises(DivergedError, match="last good state"):   # the rerun resumes from step 10
        train(cfg, tmp_path / "r", stream)
    starts = [r for r in rundir.read_jsonl(tmp_path / "r" / rundir.METRICS) if r["kind"] == "start"]
    assert starts[-1]["resumed"] is True and starts[-1]["step"] == 10
    assert load_checkpoint(last)["step"] == 10 and _all_finite(last)
    assert not (tmp_path / "r" / LOCK).exists()      # the lock is released on the error path


def test_lr_1e6_diverges_with_a_one_line_error_and_no_checkpoint(stream, tmp_path):
    with pytest.raises(DivergedError) as info:
        train(_cfg(lr=1e6), tmp_path / "r", stream)
    assert "\n" not in str(info.value) and "no checkpoint was written yet" in str(info.value)
    assert not (tmp_path / "r" / rundir.LAST).exists()
    assert _all_finite(tmp_path / "r" / rundir.BEST)   # the step-0 evaluation's weights, still finite


def test_an_injected_inf_in_the_data_is_caught_before_any_save(tmp_path):
    x = np.random.default_rng(1).integers(1, 50, (16, 16))
    mask = np.ones((16, 16), np.float32)
    mask[3, 5] = np.inf                              # one hostile target weight
    batches = ArrayExamples({"train": (x, x, mask), "val": (x[:4], x[:4], np.ones((4, 16), np.float32))})
    cfg = _cfg(log_interval=50, max_iters=12)
    with pytest.raises(DivergedError, match="non-finite"):
        train(cfg, tmp_path / "r", batches)
    for path in (rundir.LAST, rundir.BEST):
        assert not (tmp_path / "r" / path).exists() or _all_finite(tmp_path / "r" / path)


@pytest.mark.parametrize("batches", ["stream", "examples"])
def test_prefetch_gives_the_batches_of_train_batch(stream, batches):
    if batches == "examples":
        x = np.arange(30 * 8).reshape(30, 8)
        stream = ArrayExamples({"train": (x, x + 1, np.ones((30, 8), np.float32))})
    for depth in (None, 2):   # None on a CPU: built inline; 2: on the thread, as for a GPU
        with Prefetcher(stream, 7, 4, first=3, device=torch.device("cpu"), depth=depth) as ahead:
            assert (ahead.pool is None) == (depth is None)
            got = [ahead.get(i) for i in range(3, 20)]
            with pytest.raises(ValueError, match="expected batch 20"):
                ahead.get(25)
        for i, (x, y, m) in zip(range(3, 20), got):
            ex, ey, em = stream.train_batch(7, i, 4)
            assert torch.equal(x, ex) and torch.equal(y, ey)
            assert (m is None and em is None) or torch.equal(m, em)


HOLD = """
import sys, time
from gpt.runlock import RunLock
with RunLock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_start_of_a_run_dir_is_refused_naming_the_holder(stream, tmp_path):
    run = tmp_path / "r"
    env = {**os.environ, "SLURM_JOB_ID": "4242", "PYTHONPATH": os.getcwd()}
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLockError) as info:
            train(_cfg(), run, stream)
        message = str(info.value)
        assert f"pid {holder.pid}" in message and socket.gethostname() in message
        assert "Slurm job 4242" in message and "\n" not in message
        assert not (run / rundir.METRICS).exists()    # the refused start wrote nothing
    finally:
        holder.kill()
        holder.wait()
    # killed (-9 leaves the file): the dead pid's lock is recognised and taken over
    assert json.loads((run / LOCK).read_text())["pid"] == holder.pid
    assert train(_cfg(max_iters=5), run, stream)["status"] == "completed"
    assert not (run / LOCK).exists()


def test_a_requeued_slurm_attempt_takes_over_its_earlier_attempts_lock(tmp_path, monkeypatch):
    (tmp_path / LOCK).write_text(json.dumps({"host": "other-node", "pid": 1, "job_id": "77", "restart": 0}))
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    monkeypatch.setenv("SLURM_RESTART_COUNT", "0")
    with pytest.raises(RunLockError, match="pid 1 on host other-node, Slurm job 77"):
        RunLock(tmp_path).acquire()                  # same attempt elsewhere: a live twin, refused
    monkeypatch.setenv("SLURM_RESTART_COUNT", "1")
    with RunLock(tmp_path):
        assert json.loads((tmp_path / LOCK).read_text())["restart"] == 1


def test_stale_tmp_files_of_killed_writes_are_removed(stream, tmp_path):
    run = tmp_path / "r"
    (run / "checkpoints").mkdir(parents=True)
    stale = [run / "checkpoints" / ".last.pt.abc123.tmp", run / ".metrics.json.x1.tmp"]
    for path in stale:
        path.write_bytes(b"half a write")
    keep = run / "checkpoints" / "notes.tmp"         # not the atomic-write pattern: left alone
    keep.write_text("mine")
    train(_cfg(max_iters=5), run, stream)
    assert not any(p.exists() for p in stale) and keep.exists()


def test_compile_failure_is_a_one_line_error_suggesting_compile_false(data_root, tmp_path):
    """A broken C++ toolchain (inductor reads $CXX) makes torch.compile fail at the first step:
    main.py prints one line that suggests train.compile=false, and no checkpoint is written."""
    env = {**os.environ, "CXX": str(tmp_path / "no-such-c++"), "DATA_ROOT": str(data_root),
           "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor")}
    out = subprocess.run([sys.executable, "main.py", "full_run", "--preset", "smoke", "train.compile=true",
                          "train.max_iters=2", "--runs-root", str(tmp_path / "runs"),
                          "--cache-dir", str(tmp_path / "cache")],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert out.returncode == 2, out.stderr[-2000:]
    assert len(errors) == 1 and "train.compile=true but torch.compile failed" in errors[0]
    assert "set train.compile=false" in errors[0] and "Traceback" not in out.stderr
    assert not list((tmp_path / "runs").rglob("last.pt"))


def test_device_cuda_without_a_gpu_is_a_one_line_config_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    with pytest.raises(ConfigError, match="device=cuda but no CUDA GPU is visible.*use device=cpu"):
        resolve_device("cuda")
