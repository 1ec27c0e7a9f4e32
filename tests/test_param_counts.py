"""Trainable and frozen parameters are counted apart (IFT6135's frozen embeddings): in the start
row, summary.json, the trainer's log line, the run card and the summary table."""
import json

import numpy as np

from gpt import build_model, rundir
from gpt.batches import TokenStream
from gpt.config import GPTConfig, OptimConfig, RunConfig, TrainConfig
from gpt.config_model import LSTMConfig
from gpt.param_counts import param_counts
from gpt.trainer import train
from reports.cards import run_card
from reports.discover import RunRef
from reports.load import load_run
from reports.summary import run_row

V = 30


def test_frozen_embeddings_are_counted_apart_and_a_tied_head_once():
    gpt = build_model(GPTConfig(vocab_size=V, n_layer=1, n_head=2, n_embd=8, block_size=8,
                                freeze_embeddings=True))
    counts = param_counts(gpt)
    assert counts["n_frozen"] == V * 8                        # wte, which the tied head shares
    assert counts["n_params"] == gpt.num_params() == counts["n_trainable"] + counts["n_frozen"]
    lstm = build_model(LSTMConfig(vocab_size=V, n_embd=8, hidden_size=8, freeze_embeddings=True))
    assert param_counts(lstm)["n_frozen"] == V * 8
    assert param_counts(build_model(GPTConfig(vocab_size=V, n_layer=1, n_head=2, n_embd=8,
                                              block_size=8)))["n_frozen"] == 0


def test_a_run_with_frozen_embeddings_records_and_reports_both(tmp_path, capsys):
    rng = np.random.default_rng(0)
    stream = TokenStream({"train": rng.integers(0, V, 500), "val": rng.integers(0, V, 200)}, 8)
    cfg = RunConfig(name="frozen", device="cpu", optim=OptimConfig(lr=1e-2),
                    model=GPTConfig(vocab_size=V, n_layer=1, n_head=2, n_embd=8, block_size=8,
                                    freeze_embeddings=True),
                    train=TrainConfig(max_iters=2, batch_size=4, eval_interval=2, eval_iters=1,
                                      log_interval=1, progress="lines"))
    run_dir = tmp_path / "full_run" / "frozen-00000000"
    summary = train(cfg, run_dir, stream)
    frozen, total = V * 8, summary["n_params"]
    assert summary["n_frozen"] == frozen and summary["n_trainable"] == total - frozen
    start = next(r for r in rundir.read_jsonl(run_dir / rundir.METRICS) if r["kind"] == "start")
    assert (start["n_trainable"], start["n_frozen"]) == (total - frozen, frozen)
    assert json.loads((run_dir / rundir.SUMMARY).read_text())["n_frozen"] == frozen
    assert f"({total - frozen:,} trainable, {frozen:,} frozen)" in capsys.readouterr().out
    run = load_run(RunRef(run_dir, "full_run", "full_run", None))
    card = dict(run_card(run).rows)
    assert card["parameters"] == f"{total:,} ({total - frozen:,} trainable, {frozen:,} frozen)"
    assert run_row(run)["params"] == total - frozen
