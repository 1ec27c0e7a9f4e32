"""Explicit attention = fused attention = PyTorch's multi_head_attention_forward; causality."""
import pytest
import torch
import torch.nn.functional as F

from gpt.config import GPTConfig
from gpt.model import GPT, CausalSelfAttention


def _attn(n_embd, n_head, attention):
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=11, n_embd=n_embd, n_head=n_head, block_size=64, dropout=0.0,
                    attention=attention)
    return CausalSelfAttention(cfg).eval()


@pytest.mark.parametrize("B,T,C,H", [(1, 1, 8, 1), (2, 7, 12, 3), (3, 16, 32, 4), (2, 33, 48, 6)])
def test_explicit_equals_fused_equals_torch_mha(B, T, C, H):
    explicit, fused = _attn(C, H, "explicit"), _attn(C, H, "fused")
    fused.load_state_dict(explicit.state_dict())
    x = torch.randn(B, T, C)
    y_explicit, weights = explicit(x, return_weights=True)
    y_fused, _ = fused(x)
    causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)   # True = masked
    xt = x.transpose(0, 1)                                                # (T, B, C)
    y_ref, _ = F.multi_head_attention_forward(
        xt, xt, xt, C, H, explicit.qkv.weight, explicit.qkv.bias, None, None, False, 0.0,
        explicit.proj.weight, explicit.proj.bias, training=False, need_weights=False,
        attn_mask=causal)
    y_ref = y_ref.transpose(0, 1)
    assert (y_explicit - y_fused).abs().max() < 1e-5
    assert (y_explicit - y_ref).abs().max() < 1e-5
    assert weights.shape == (B, H, T, T)
    assert torch.allclose(weights.sum(-1), torch.ones(B, H, T))
    assert (weights.masked_select(causal) == 0).all()


@pytest.mark.parametrize("attention", ["explicit", "fused"])
@pytest.mark.parametrize("norm_position", ["pre", "post"])
def test_future_tokens_do_not_change_the_past(attention, norm_position):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, n_layer=2, n_head=2, n_embd=16, block_size=12, dropout=0.0,
                          attention=attention, norm_position=norm_position)).eval()
    idx = torch.randint(0, 20, (2, 12))
    for t in range(11):
        changed = idx.clone()
        changed[:, t + 1] = (changed[:, t + 1] + 1) % 20
        a, _ = model(idx)
        b, _ = model(changed)
        assert torch.equal(a[:, : t + 1], b[:, : t + 1])
        assert not torch.allclose(a[:, t + 1], b[:, t + 1])


def test_whole_model_paths_agree():
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=30, n_layer=2, n_head=4, n_embd=32, block_size=16, dropout=0.0)
    fused = GPT(cfg).eval()
    explicit = GPT(GPTConfig(**{**cfg.__dict__, "attention": "explicit"})).eval()
    explicit.load_state_dict(fused.state_dict())
    idx = torch.randint(0, 30, (3, 16))
    assert (fused(idx)[0] - explicit(idx)[0]).abs().max() < 1e-5
    maps = fused.attention_maps(idx)
    assert len(maps) == 2 and maps[0].shape == (3, 4, 16, 16)
