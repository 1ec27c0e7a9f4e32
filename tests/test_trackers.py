"""train.loggers=tensorboard,wandb: metrics.jsonl mirrored into TensorBoard event files (read back
with tensorboard's own EventAccumulator) and an offline W&B run (its .wandb record log read back
with W&B's protobuf Record), continued on resume without duplicated steps; the run-dir hash does
not change; a missing package is one line and nothing is written."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from stop_after import StopAfter
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gpt import rundir
from gpt.batches import TokenStream
from gpt.config import ConfigError, RunConfig, TrainConfig, model_preset
from gpt.overrides import apply_overrides, config_hash
from gpt.trainer import train

REPO = Path(__file__).resolve().parents[1]


def _cfg(loggers: str) -> RunConfig:
    return RunConfig(name="t", device="cpu", model=model_preset("gpt-nano", block_size=16, vocab_size=32,
                                                                dropout=0.0),
                     train=TrainConfig(max_iters=12, batch_size=4, eval_interval=4, eval_iters=1, log_interval=2,
                                       progress="off", loggers=loggers))


@pytest.fixture(scope="module")
def stream():
    tokens = np.random.default_rng(0).integers(0, 32, 4000)
    return TokenStream({"train": tokens, "val": tokens[:800]}, 16)


def _metrics(run_dir: Path, kind: str) -> list[tuple[int, float]]:
    return [(r["step"], r["loss"]) for r in rundir.latest_per_step(rundir.read_jsonl(run_dir / rundir.METRICS), kind)]


def _same(mirrored: list[tuple[int, float]], expected: list[tuple[int, float]]) -> bool:
    """The same steps, and values equal up to float32 (what TensorBoard stores)."""
    return [s for s, _ in mirrored] == [s for s, _ in expected] and \
        [v for _, v in mirrored] == pytest.approx([v for _, v in expected], rel=1e-6)


def _stopped_and_resumed(cfg: RunConfig, run_dir: Path, stream) -> None:
    assert train(cfg, run_dir, stream, stop=StopAfter(7))["status"] == "interrupted"
    assert train(cfg, run_dir, stream)["status"] == "completed"


def test_loggers_keep_the_run_dir_hash_and_refuse_unknown_names():
    base = RunConfig()
    assert config_hash(apply_overrides(base, ["train.loggers=tensorboard,wandb"])) == config_hash(base)
    for bad in ("tensorbord", "wandb,wandb"):
        with pytest.raises(ConfigError, match="choose from tensorboard, wandb"):
            apply_overrides(base, [f"train.loggers={bad}"])


def test_tensorboard_events_hold_the_metrics_once_across_a_resume(tmp_path, stream):
    run_dir = tmp_path / "t-0123abcd"
    _stopped_and_resumed(_cfg("tensorboard"), run_dir, stream)
    acc = EventAccumulator(str(run_dir / "tensorboard"))
    acc.Reload()
    for kind in ("train", "val"):
        events = [(e.step, e.value) for e in acc.Scalars(f"{kind}/loss")]
        steps = [s for s, _ in events]
        assert steps == sorted(set(steps)), f"{kind}: duplicated or unordered steps {steps}"
        assert _same(events, _metrics(run_dir, kind))
    assert [s for s, _ in _metrics(run_dir, "train")] == [2, 4, 6, 8, 10, 12]


def test_tensorboard_turned_on_at_resume_is_filled_from_metrics(tmp_path, stream):
    run_dir = tmp_path / "t-0123abcd"
    assert train(_cfg(""), run_dir, stream, stop=StopAfter(7))["status"] == "interrupted"
    assert not (run_dir / "tensorboard").exists()
    train(_cfg("tensorboard"), run_dir, stream)     # same run dir: loggers is cosmetic
    acc = EventAccumulator(str(run_dir / "tensorboard"))
    acc.Reload()
    assert _same([(e.step, e.value) for e in acc.Scalars("train/loss")], _metrics(run_dir, "train"))


def _wandb_records(path: Path):
    """The records of a .wandb file: a LevelDB-style log (7-byte file header; 32 KiB blocks of
    chunks, each crc32 (4 bytes) + length (2, little-endian) + type (1: full, 2: first, 3: middle,
    4: last)) whose payloads are W&B's protobuf Records."""
    from wandb.proto.wandb_internal_pb2 import Record
    data, block = path.read_bytes(), 32768
    assert data[:4] == b":W&B", path
    pos, payload = 7, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:                  # a block's tail too short for a header: padding
            pos += block - pos % block
            continue
        length, kind = int.from_bytes(data[pos + 4:pos + 6], "little"), data[pos + 6]
        payload += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            record = Record()
            record.ParseFromString(payload)
            yield record
            payload = b""


def test_wandb_offline_run_is_resumed_with_the_same_id_and_no_duplicated_steps(tmp_path, stream, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run_dir = tmp_path / "full_run" / "t-0123abcd"
    _stopped_and_resumed(_cfg("wandb"), run_dir, stream)
    attempts = sorted((run_dir / "wandb").glob("offline-run-*/*.wandb"))
    assert len(attempts) == 2                           # one offline run dir per attempt, one W&B run
    history, ids = [], set()
    for path in attempts:
        for record in _wandb_records(path):
            kind = record.WhichOneof("record_type")
            if kind == "run":
                ids.add((record.run.run_id, record.run.display_name, record.run.run_group))
            elif kind == "history":
                items = {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item}
                if "train/loss" in items:
                    history.append((record.history.step.num, items["train/loss"]))
    assert ids == {("t-0123abcd", "t-0123abcd", "full_run")}
    assert _same(history, _metrics(run_dir, "train"))   # each step once, in order


def test_a_missing_tracker_package_is_one_line_and_writes_nothing(tmp_path, data_root):
    code = ("import runpy, sys\nsys.modules['wandb'] = None\nsys.argv = ['main.py', *sys.argv[1:]]\n"
            "runpy.run_path('main.py', run_name='__main__')")
    res = subprocess.run([sys.executable, "-c", code, "full_run", "--preset", "smoke", "train.loggers=wandb",
                          "--runs-root", str(tmp_path / "runs"), "--data-root", str(data_root),
                          "--cache-dir", str(tmp_path / "cache")], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 2, res.stderr[-2000:]
    assert res.stderr.strip().splitlines() == [
        "error: train.loggers=wandb needs the 'wandb' package, which is not installed: pip install wandb "
        "(or pip install -r requirements-extra.txt), or drop wandb"]
    assert not (tmp_path / "runs").exists()
