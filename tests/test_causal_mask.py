"""The causal mask is a non-persistent buffer built once at block_size: state dicts keep the keys
of checkpoints written before it was one, forwards slice it (no mask built per step), and a
sequence past block_size (RoPE, ALiBi, no positions) still gets a full mask."""
import hashlib

import pytest
import torch

from gpt import build_model
from gpt.config import GPTConfig
from gpt.config_model import ATTENTIONS
from gpt.model import GPT

# (number of keys, sha256 of the sorted keys joined by newlines, first 12 hex digits) of each
# family's state dict, computed before the mask became a buffer: a checkpoint of then loads now
BEFORE = {
    ("fused", "per_layer"): (41, "3e65c8681394"),
    ("explicit", "per_layer"): (41, "3e65c8681394"),
    ("linear", "per_layer"): (41, "3e65c8681394"),
    ("performer", "per_layer"): (44, "904d78c6a558"),
    ("lowrank", "per_layer"): (47, "1bfbcb5a7f4c"),
    ("aft", "per_layer"): (44, "3b82ce4aa2df"),
    ("synthesizer_dense", "per_layer"): (53, "f3271f6b4428"),
    ("synthesizer_random", "per_layer"): (44, "c3aeed7e011e"),
    ("perceiver", "per_layer"): (62, "d6039402b059"),
    ("perceiver", "cs224n"): (46, "4530c09f40a7"),
    ("bigbird", "per_layer"): (44, "3a85f47b722e"),
}


def _cfg(attention: str, layout: str = "per_layer", **fields) -> GPTConfig:
    extra = {"n_latents": 4, "perceiver_layout": layout} if attention == "perceiver" else {}
    extra |= {"sparse_block": 4} if attention == "bigbird" else {}
    return GPTConfig(vocab_size=11, n_layer=3, n_head=2, n_embd=16, block_size=16, dropout=0.0,
                     attention=attention, **extra, **fields)


def test_every_family_is_pinned():
    assert {a for a, _ in BEFORE} == set(ATTENTIONS)


@pytest.mark.parametrize("attention,layout", sorted(BEFORE))
def test_state_dict_keys_are_those_of_checkpoints_from_before(attention, layout):
    torch.manual_seed(0)
    keys = sorted(build_model(_cfg(attention, layout)).state_dict())
    assert (len(keys), hashlib.sha256("\n".join(keys).encode()).hexdigest()[:12]) == BEFORE[attention, layout]
    assert not any(k.endswith(".tril") for k in keys)


def test_a_forward_builds_no_mask(monkeypatch):
    torch.manual_seed(0)
    model = GPT(_cfg("explicit")).eval()

    def refuse(*args, **kwargs):
        raise AssertionError("a mask was built in the forward")
    monkeypatch.setattr(torch, "tril", refuse)
    model(torch.randint(0, 11, (2, 16)))      # block_size tokens
    model(torch.randint(0, 11, (2, 5)))       # fewer: a slice of the same buffer


@pytest.mark.parametrize("pos", ["rope", "alibi", "none"])
def test_past_block_size_explicit_still_equals_fused(pos):
    torch.manual_seed(0)
    fused = GPT(_cfg("fused", pos_embedding=pos)).eval()
    explicit = GPT(_cfg("explicit", pos_embedding=pos)).eval()
    explicit.load_state_dict(fused.state_dict())
    idx = torch.randint(0, 11, (2, 40))       # 2.5 x block_size
    assert (fused(idx)[0] - explicit(idx)[0]).abs().max() < 1e-5


def test_a_meta_device_build_keeps_the_mask_on_meta():
    with torch.device("meta"):
        model = GPT(_cfg("explicit"))
    assert model.blocks[0].attn.tril.is_meta and model.blocks[0].attn.tril.shape == (16, 16)
