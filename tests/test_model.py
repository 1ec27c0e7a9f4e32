"""LayerNorm, initial loss, masked loss, sinusoidal positions, LSTM contract, sampling filters."""
import math

import pytest
import torch
import torch.nn as nn

from gpt import build_model
from gpt.config import GPTConfig, LSTMConfig
from gpt.loss import lm_loss
from gpt.model import GPT, LayerNorm
from gpt.sampling import filter_logits, generate


def test_manual_layernorm_equals_torch():
    torch.manual_seed(0)
    ours, ref = LayerNorm(24), nn.LayerNorm(24)
    with torch.no_grad():
        ours.weight.normal_()
        ours.bias.normal_()
        ref.weight.copy_(ours.weight)
        ref.bias.copy_(ours.bias)
    x = torch.randn(4, 7, 24) * 3 + 1
    assert (ours(x) - ref(x)).abs().max() < 1e-5


@pytest.mark.parametrize("model_cfg", [
    GPTConfig(vocab_size=500, n_layer=2, n_head=2, n_embd=32, block_size=16),
    GPTConfig(vocab_size=500, n_layer=2, n_head=2, n_embd=32, block_size=16, norm_position="post",
              layernorm="manual", pos_embedding="sinusoidal"),
    LSTMConfig(vocab_size=500, n_embd=32, hidden_size=48, n_layer=2, block_size=16),
])
def test_initial_loss_is_log_vocab(model_cfg):
    torch.manual_seed(0)
    model = build_model(model_cfg).eval()
    idx = torch.randint(0, 500, (8, 16))
    targets = torch.randint(0, 500, (8, 16))
    logits, loss = model(idx, targets)
    assert logits.shape == (8, 16, 500)
    assert abs(loss.item() - math.log(500)) < 0.1


def test_masked_loss_ignores_padding():
    torch.manual_seed(0)
    logits, targets = torch.randn(2, 5, 7), torch.randint(0, 7, (2, 5))
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.float)
    garbage = logits.clone()
    garbage[mask == 0] = 100.0                       # padded positions must not matter
    assert torch.allclose(lm_loss(logits, targets, mask), lm_loss(garbage, targets, mask))
    real = torch.nn.functional.cross_entropy(logits[mask.bool()], targets[mask.bool()])
    assert torch.allclose(lm_loss(logits, targets, mask), real)


def test_sinusoidal_positions_extrapolate_and_learned_refuse():
    torch.manual_seed(0)
    sin = GPT(GPTConfig(vocab_size=10, n_layer=1, n_head=1, n_embd=8, block_size=8, pos_embedding="sinusoidal"))
    assert sin(torch.zeros(1, 20, dtype=torch.long))[0].shape == (1, 20, 10)
    learned = GPT(GPTConfig(vocab_size=10, n_layer=1, n_head=1, n_embd=8, block_size=8))
    with pytest.raises(ValueError, match="exceeds block_size"):
        learned(torch.zeros(1, 20, dtype=torch.long))


def test_tied_weights_are_shared():
    model = GPT(GPTConfig(vocab_size=10, n_layer=1, n_head=1, n_embd=8))
    assert model.lm_head.weight is model.wte.weight


def test_filter_logits_top_k_and_top_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isinf(filter_logits(logits, top_k=2)).tolist() == [[False, False, True, True]]
    # nucleus 0.7: 0.5 alone < 0.7, 0.5+0.3 >= 0.7 -> keep two
    assert torch.isinf(filter_logits(logits, top_p=0.7)).tolist() == [[False, False, True, True]]
    assert torch.isinf(filter_logits(logits, top_p=0.4)).tolist() == [[False, True, True, True]]


def test_generate_crops_context_and_greedy_is_deterministic():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=13, n_layer=1, n_head=1, n_embd=8, block_size=4))
    idx = torch.zeros(1, 1, dtype=torch.long)
    a = generate(model, idx, 10, temperature=0.0)
    b = generate(model, idx, 10, temperature=0.0)
    assert a.shape == (1, 11) and torch.equal(a, b)
    g = torch.Generator().manual_seed(1)
    assert generate(model, idx, 10, temperature=1.0, top_k=3, generator=g).shape == (1, 11)


def test_generate_gives_a_model_without_context_limit_its_whole_context():
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=13, n_layer=2, n_head=2, n_embd=16, block_size=4, pos_embedding="rope",
                    dropout=0.0)
    assert cfg.max_context is None
    model = GPT(cfg).eval()
    seen = []                                                      # context length of each forward
    model.register_forward_pre_hook(lambda module, args: seen.append(args[0].size(1)))
    prompt = torch.randint(0, 13, (2, 6))                          # already longer than block_size
    out = generate(model, prompt, 7, temperature=0.0)
    assert seen == list(range(6, 13))                              # never cropped to 4
    logits, _ = model(out)                                         # one forward over the whole text
    assert torch.equal(out[:, 6:], logits[:, 5:-1].argmax(-1))     # each token from all before it
    learned = GPT(GPTConfig(vocab_size=13, n_layer=1, n_head=1, n_embd=8, block_size=4)).eval()
    seen.clear()
    learned.register_forward_pre_hook(lambda module, args: seen.append(args[0].size(1)))
    plain = generate(learned, prompt, 3, temperature=0.0, use_cache=False)
    assert plain.shape == (2, 9) and seen == [4, 4, 4]            # learned positions: cropped
    # the default path reads the same cropped windows (kv_cache.window_logits, not forward)
    assert torch.equal(generate(learned, prompt, 3, temperature=0.0), plain)
