"""The trainer on real data at toy scale: learning, exact resume, checkpoints, bad state."""
import dataclasses
import math
import os
from pathlib import Path

import numpy as np
import pytest

import data
from gpt import rundir
from gpt.batches import ArrayExamples
from gpt.checkpoint import CheckpointError, load_checkpoint
from gpt.config import DataConfig, GPTConfig, LSTMConfig, OptimConfig, RunConfig, TrainConfig
from gpt.trainer import train
from stop_after import StopAfter


@pytest.fixture(scope="module")
def shakespeare(data_root, tmp_path_factory):
    return data.load(DataConfig(), 32, data_root, tmp_path_factory.mktemp("cache"))


def _cfg(vocab, **train):
    t = dict(max_iters=30, batch_size=8, eval_interval=10, eval_iters=2, log_interval=1, progress="off")
    t.update(train)
    return RunConfig(name="t", model=GPTConfig(vocab_size=vocab, n_layer=2, n_head=2, n_embd=32,
                                               block_size=32, dropout=0.1),
                     optim=OptimConfig(lr=3e-3, schedule="cosine", warmup_iters=5),
                     train=TrainConfig(**t))


def _losses(run_dir, kind="train", key="loss"):
    return [r[key] for r in rundir.latest_per_step(rundir.read_jsonl(run_dir / rundir.METRICS), kind)]


def test_short_run_learns_tiny_shakespeare(shakespeare, tmp_path):
    cfg = _cfg(shakespeare.tokenizer.vocab_size, max_iters=150, batch_size=16, eval_interval=50,
               eval_iters=8, log_interval=25)
    summary = train(cfg, tmp_path / "run", shakespeare.batches)
    assert summary["status"] == "completed"
    vals = _losses(tmp_path / "run", "val")
    assert vals[0] == pytest.approx(math.log(65), abs=0.15)       # starts at chance
    assert summary["best_val_loss"] == pytest.approx(2.806118, abs=1e-5)  # measured (CPU, 1 and 2 threads)
    for name in ("config.json", "metrics.jsonl", "summary.json", rundir.LAST, rundir.BEST):
        assert (tmp_path / "run" / name).exists()


@pytest.mark.parametrize("stop_at, accum", [(13, 1), (20, 2)])
def test_resume_is_bit_exact(shakespeare, tmp_path, stop_at, accum):
    cfg = _cfg(shakespeare.tokenizer.vocab_size, grad_accum=accum)
    straight = train(cfg, tmp_path / "a", shakespeare.batches)
    first = train(cfg, tmp_path / "b", shakespeare.batches, stop=StopAfter(stop_at))
    assert first["status"] == "interrupted" and first["steps"] == stop_at
    assert not (tmp_path / "b" / rundir.SUMMARY).exists()
    resumed = train(cfg, tmp_path / "b", shakespeare.batches)
    assert _losses(tmp_path / "a") == _losses(tmp_path / "b")     # bit for bit
    assert _losses(tmp_path / "a", "val") == _losses(tmp_path / "b", "val")
    assert straight["best_val_loss"] == resumed["best_val_loss"]
    assert resumed["attempts"] == 2
    kinds = [r["kind"] for r in rundir.read_jsonl(tmp_path / "b" / rundir.METRICS)]
    assert kinds.count("start") == 2 and kinds.count("stop") == 1


def test_lstm_with_masked_examples_resumes_exactly(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(1, 50, (40, 16))
    mask = (np.arange(16)[None, :] < rng.integers(4, 17, (40, 1))).astype(np.float32)
    batches = ArrayExamples({"train": (x, np.roll(x, -1, 1), mask), "val": (x[:8], x[:8], mask[:8])})
    cfg = RunConfig(name="l", model=LSTMConfig(vocab_size=50, n_embd=16, hidden_size=24, block_size=16,
                                               dropout=0.1, n_layer=2),
                    train=TrainConfig(epochs=3, batch_size=8, eval_interval=5, eval_iters=0,
                                      log_interval=1, progress="off"))
    full = train(cfg, tmp_path / "a", batches)
    assert full["steps"] == 15 and full["epochs"] == pytest.approx(3.0)
    train(cfg, tmp_path / "b", batches, stop=StopAfter(7))
    train(cfg, tmp_path / "b", batches)
    assert _losses(tmp_path / "a") == _losses(tmp_path / "b")


def test_completed_run_returns_its_summary_without_training(shakespeare, tmp_path):
    cfg = _cfg(shakespeare.tokenizer.vocab_size, max_iters=5, eval_interval=5)
    first = train(cfg, tmp_path / "r", shakespeare.batches)
    rows = len(rundir.read_jsonl(tmp_path / "r" / rundir.METRICS))
    assert train(cfg, tmp_path / "r", shakespeare.batches) == first
    assert len(rundir.read_jsonl(tmp_path / "r" / rundir.METRICS)) == rows


def test_corrupt_checkpoint_is_reported_and_kept(shakespeare, tmp_path):
    cfg = _cfg(shakespeare.tokenizer.vocab_size, max_iters=20)
    train(cfg, tmp_path / "r", shakespeare.batches, stop=StopAfter(12))
    last = tmp_path / "r" / rundir.LAST
    truncated = last.read_bytes()[:500]
    last.write_bytes(truncated)
    with pytest.raises(CheckpointError, match="corrupt or truncated.*move it away"):
        train(cfg, tmp_path / "r", shakespeare.batches)
    assert last.read_bytes() == truncated                          # nothing overwritten


def test_checkpoint_loads_with_weights_only(shakespeare, tmp_path):
    cfg = _cfg(shakespeare.tokenizer.vocab_size, max_iters=3, eval_interval=3)
    train(cfg, tmp_path / "r", shakespeare.batches)
    state = load_checkpoint(tmp_path / "r" / rundir.BEST)          # torch.load(weights_only=True)
    assert state["step"] == 3 and "wte.weight" in state["model"]


def test_a_different_config_in_the_same_dir_is_refused(shakespeare, tmp_path):
    cfg = _cfg(shakespeare.tokenizer.vocab_size, max_iters=3, eval_interval=3)
    train(cfg, tmp_path / "r", shakespeare.batches, stop=StopAfter(1))
    with pytest.raises(ValueError, match="different config"):
        train(dataclasses.replace(cfg, seed=2), tmp_path / "r", shakespeare.batches)


def test_init_from_needs_a_finished_run_with_matching_shapes(shakespeare, tmp_path):
    vocab = shakespeare.tokenizer.vocab_size
    base = _cfg(vocab, max_iters=3, eval_interval=3)
    train(base, tmp_path / "src", shakespeare.batches)
    child = dataclasses.replace(base, init_from=str(tmp_path / "src"))
    assert train(child, tmp_path / "ok", shakespeare.batches)["status"] == "completed"
    wider = dataclasses.replace(child, model=dataclasses.replace(base.model, n_embd=64))
    with pytest.raises(CheckpointError, match="do not fit this model.*shape differs"):
        train(wider, tmp_path / "bad", shakespeare.batches)
    with pytest.raises(CheckpointError, match="not a finished run dir"):
        train(dataclasses.replace(base, init_from=str(tmp_path / "nothing")), tmp_path / "x",
              shakespeare.batches)


def test_train_rows_reach_the_disk_with_each_last_pt_not_one_fsync_each(shakespeare, tmp_path, monkeypatch):
    synced = []   # the file each real fsync flushed, in order
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(Path(os.readlink(f"/proc/self/fd/{fd}")).name)
        real_fsync(fd)
    monkeypatch.setattr(os, "fsync", recording_fsync)
    cfg = _cfg(shakespeare.tokenizer.vocab_size, max_iters=20, checkpoint_interval=5)
    assert train(cfg, tmp_path / "run", shakespeare.batches)["status"] == "completed"
    rows = rundir.read_jsonl(tmp_path / "run" / rundir.METRICS)
    assert sum(r["kind"] == "train" for r in rows) == 20
    metric_syncs = synced.count(rundir.METRICS)
    assert metric_syncs < sum(r["kind"] != "train" for r in rows) + 20 // 5 + 1   # not one per train row
    # every write of last.pt comes after the metrics rows it covers were flushed
    for i, name in enumerate(synced):
        if "last.pt" in name:
            assert rundir.METRICS in synced[:i], synced[:i + 1]
            assert synced[i - 1] == rundir.METRICS or "last.pt" in synced[i - 1], synced[:i + 1]
