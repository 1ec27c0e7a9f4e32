"""Rank-k SVD attention maps (seed 000 §4.3): k = T is the full model, effective ranks of known
maps, and the attention_rank tool end to end plus its one-line errors."""
import argparse
import math

import numpy as np
import pytest
import torch

import data
from gpt import rundir
from gpt.attention.rank import effective_ranks, rank_k, rank_k_losses
from gpt.batches import TokenStream
from gpt.config import DataConfig, GPTConfig, LSTMConfig, RunConfig, TrainConfig
from gpt.model import GPT
from gpt.overrides import to_dict
from gpt.tokenizer import save_tokenizer
from gpt.trainer import train
from jobs.tools import attention_rank
from jobs.errors import UserError

T = 16


def _sharp_model(**fields):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=30, n_layer=2, n_head=2, n_embd=16, block_size=T, dropout=0.0,
                          **fields)).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.5)                       # far from uniform maps
    return model


def test_rank_T_equals_the_full_model_and_low_rank_does_not():
    rng = np.random.default_rng(0)
    stream = TokenStream({"train": rng.integers(0, 30, 400), "val": rng.integers(0, 30, 400)}, T)
    model = _sharp_model()                                # fused: the tool switches to explicit
    out = rank_k_losses(model, stream, [1, T, 4 * T], batch_size=4, max_batches=3)
    assert abs(out["rank_k"][T] - out["full"]) < 1e-5 and abs(out["rank_k"][4 * T] - out["full"]) < 1e-5
    assert abs(out["rank_k"][1] - out["full"]) > 1e-2


def test_rank_k_is_the_truncated_svd_re_masked():
    w = torch.softmax(torch.randn(3, T, T).masked_fill(torch.ones(T, T).triu(1).bool(), -math.inf), -1)
    assert torch.allclose(rank_k(w, T), w, atol=1e-5)
    approx = rank_k(w, 2)
    assert (approx.triu(1) == 0).all()                    # cannot read future tokens
    U, S, Vh = torch.linalg.svd(w)
    best = (U[..., :2] * S[..., None, :2]) @ Vh[..., :2, :]
    assert torch.allclose(approx, best.tril(), atol=1e-5)


def test_effective_ranks_of_known_maps():
    entropy, energy = effective_ranks(torch.eye(T))
    assert abs(entropy.item() - T) < 1e-3 and energy.item() == math.ceil(0.9 * T)
    entropy, energy = effective_ranks(torch.ones(T, T) / T)   # every row the same: rank 1
    assert abs(entropy.item() - 1) < 1e-3 and energy.item() == 1


def _args(run_dir, cache, data_root, ks="1,4,16"):
    return argparse.Namespace(run_dir=run_dir, ks=ks, batches=2, batch_size=4, device="cpu",
                              data_root=data_root, cache_dir=cache)


def test_tool_on_a_trained_run(tmp_path, data_root, capsys):
    cache = tmp_path / "cache"
    corpus = data.load(DataConfig(), T, data_root, cache)
    cfg = RunConfig(name="r", device="cpu",
                    model=GPTConfig(vocab_size=corpus.tokenizer.vocab_size, n_layer=2, n_head=2,
                                    n_embd=16, block_size=T, dropout=0.0),
                    train=TrainConfig(max_iters=4, batch_size=4, eval_interval=4, eval_iters=1,
                                      progress="off"))
    run = tmp_path / "run"
    train(cfg, run, corpus.batches)
    save_tokenizer(corpus.tokenizer, run / "tokenizer.json")
    assert attention_rank.main(_args(run, cache, data_root)) == 0
    result = rundir.read_json(run / rundir.EVAL / attention_rank.RESULT)
    by_k = {row["k"]: row["val_loss"] for row in result["rank_k"]}
    assert abs(by_k[T] - result["full_val_loss"]) < 1e-5
    assert len(result["effective_rank"]["entropy"]) == 2 and len(result["effective_rank"]["entropy"][0]) == 2
    assert "val loss with rank-k attention maps" in capsys.readouterr().out


@pytest.mark.parametrize("model, finished, message", [
    (LSTMConfig(vocab_size=10, n_embd=8, hidden_size=8), True, "is a lstm run: attention_rank needs a GPT run"),
    (GPTConfig(vocab_size=10, attention="linear"), True, "model.attention=linear, which has no softmax"),
    (GPTConfig(vocab_size=10), False, r"has not finished \(no summary.json\)"),
])
def test_tool_refuses_what_it_cannot_analyse(tmp_path, model, finished, message):
    run = tmp_path / "run"
    rundir.write_json(run / rundir.CONFIG, to_dict(RunConfig(model=model)))
    if finished:
        rundir.write_json(run / rundir.SUMMARY, {"status": "completed"})
    with pytest.raises(UserError, match=message):
        attention_rank.main(_args(run, tmp_path, None))
    with pytest.raises(UserError, match="expected positive integers"):
        attention_rank.parse_ks("4,-1")
