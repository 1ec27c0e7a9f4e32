"""Pretrained embeddings (IFT6135): loaded, frozen bit-identical, bad files refused; LSTM state."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from gpt import build_model
from gpt.batches import TokenStream
from gpt.config import ConfigError, LSTMConfig, OptimConfig, RunConfig, TrainConfig, model_preset
from gpt.sampling import generate
from gpt.trainer import train


def _embeddings(path, vocab, dim, seed=0):
    np.savez(path, tokens=np.random.default_rng(seed).normal(size=(vocab, dim)).astype(np.float32))
    return str(path)


@pytest.mark.parametrize("arch", ["gpt", "lstm"])
def test_frozen_embeddings_stay_bit_identical_after_training(tmp_path, arch):
    file = _embeddings(tmp_path / "emb.npz", 20, 16)
    if arch == "gpt":
        model = model_preset("gpt-nano", n_embd=16, n_head=2, block_size=8, vocab_size=20)
    else:
        model = LSTMConfig(vocab_size=20, n_embd=16, hidden_size=16, block_size=8)
    model = dataclasses.replace(model, embeddings_file=file, freeze_embeddings=True, padding_idx=0)
    cfg = RunConfig(device="cpu", model=model,
                    optim=OptimConfig(lr=1e-2, decay_scope="all", weight_decay=0.1),
                    train=TrainConfig(max_iters=6, batch_size=4, eval_interval=6, eval_iters=1,
                                      log_interval=3, progress="off", loss_reduction="sequence"))
    tokens = np.random.default_rng(1).integers(0, 20, 400)
    train(cfg, tmp_path / "run", TokenStream({"train": tokens, "val": tokens[:100]}, 8))
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert torch.equal(state["wte.weight"], torch.from_numpy(np.load(file)["tokens"]))
    others = [k for k in state if k != "wte.weight" and k != "lm_head.weight" and state[k].dim() == 2]
    fresh = build_model(dataclasses.replace(model, embeddings_file="")).state_dict()
    assert any(not torch.equal(state[k], fresh[k]) for k in others)   # the rest did train


@pytest.mark.parametrize("shape,needle", [((19, 16), "(20, 16)"), ((20, 8), "n_embd=8")])
def test_embeddings_of_wrong_shape_or_vocab_are_one_line_errors(tmp_path, shape, needle):
    np.savez(tmp_path / "e.npz", tokens=np.zeros(shape, dtype=np.float32))
    cfg = model_preset("gpt-nano", n_embd=16, n_head=2, vocab_size=20,
                       embeddings_file=str(tmp_path / "e.npz"))
    with pytest.raises(ConfigError) as err:
        build_model(cfg)
    assert needle in str(err.value) and "\n" not in str(err.value)
    np.savez(tmp_path / "f.npz", other=np.zeros(3))
    with pytest.raises(ConfigError, match="no 'tokens'"):
        build_model(model_preset("gpt-nano", vocab_size=20, embeddings_file=str(tmp_path / "f.npz")))
    with pytest.raises(ConfigError, match="no such file"):
        build_model(model_preset("gpt-nano", vocab_size=20, embeddings_file=str(tmp_path / "x.npz")))
    with pytest.raises(ConfigError, match=".npz"):
        model_preset("gpt-nano", embeddings_file="emb.txt")


def test_lstm_state_carried_through_generation_equals_one_forward():
    torch.manual_seed(0)
    model = build_model(LSTMConfig(vocab_size=13, n_embd=8, hidden_size=12, n_layer=2, block_size=4)).eval()
    prompt = torch.randint(0, 13, (2, 3))
    out = generate(model, prompt, max_new_tokens=9, temperature=0.0)       # 12 > block_size 4
    logits, state = model.forward_with_state(out)                          # one pass over it all
    assert torch.equal(out[:, 3:], logits[:, 2:-1].argmax(-1))             # greedy = its argmax
    # the state after the prompt, continued token by token, ends where one forward ends
    _, s = model.forward_with_state(out[:, :3])
    for t in range(3, out.size(1)):
        _, s = model.forward_with_state(out[:, t:t + 1], s)
    assert torch.allclose(s[0], state[0], atol=1e-6) and torch.allclose(s[1], state[1], atol=1e-6)
    full_logits, _ = model(out)                                            # the trainer's contract
    assert torch.allclose(full_logits, logits)


def test_padding_idx_outside_the_vocabulary_is_one_line_error():
    with pytest.raises(ConfigError, match="padding_idx=30 must be -1"):
        model_preset("gpt-nano", vocab_size=20, padding_idx=30)
