"""The smoke run's first 20 train losses, pinned in tests/golden/smoke_losses.json.

Any change to the model, the optimizer, the batches or the seeding moves these numbers; if the
change is intended, regenerate the file with `GOLDEN_UPDATE=1 pytest tests/test_golden.py` and say
why in the commit. One CPU thread: matmul reductions split across threads round differently; the
tolerance (the file's "why_tol") covers what differs between processors, not real changes.
"""
import json
import os
from pathlib import Path

import pytest
import torch

from gpt import rundir
from gpt.overrides import apply_overrides
from gpt.trainer import train
from jobs.common import prepare
from jobs.context import JobContext
from jobs.full_run import PRESETS
from stop_after import StopAfter

GOLDEN = Path(__file__).parent / "golden" / "smoke_losses.json"


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_smoke_run_reproduces_its_golden_losses(data_root, tmp_path, one_thread):
    golden = json.loads(GOLDEN.read_text())
    cfg = apply_overrides(PRESETS[golden["preset"]](), golden["overrides"])
    ctx = JobContext(runs_root=tmp_path / "runs", data_root=data_root, cache_dir=tmp_path / "cache")
    cfg, corpus, run_dir = prepare(golden["job"], cfg, ctx)
    summary = train(cfg, run_dir, corpus.batches, stop=StopAfter(golden["steps"]))
    assert summary["status"] == "interrupted" and summary["steps"] == golden["steps"]
    rows = rundir.latest_per_step(rundir.read_jsonl(run_dir / rundir.METRICS), "train")
    assert [r["step"] for r in rows] == list(range(1, golden["steps"] + 1))
    losses = [r["loss"] for r in rows]
    if os.environ.get("GOLDEN_UPDATE") == "1":
        GOLDEN.write_text(json.dumps({**golden, "losses": losses}, indent=1) + "\n")
    assert losses == pytest.approx(golden["losses"], abs=golden["abs_tol"], rel=0)
