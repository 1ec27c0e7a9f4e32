"""Every attention variant: causal (naive masking documented as the leak it is), different from
the default, initial loss ~ ln(vocab), fused = explicit, trains through the real trainer."""
import math

import numpy as np
import pytest
import torch

from gpt import build_model
from gpt.attention import REGISTRY
from gpt.batches import TokenStream
from gpt.config import GPTConfig, OptimConfig, RunConfig, TrainConfig
from gpt.config_model import ATTENTIONS
from gpt.trainer import train

V, T = 40, 16
SMALL = dict(vocab_size=V, n_layer=2, n_head=2, n_embd=16, block_size=T, dropout=0.0,
             attn_rank=4, n_latents=4, n_features=16, sparse_block=2)   # bigbird: 8 blocks
VARIANTS = {   # name -> the GPTConfig fields it changes
    **{a: dict(attention=a) for a in ATTENTIONS},
    **{f"score={s}": dict(attention="explicit", score=s) for s in ("dot", "additive", "bilinear", "cosine")},
    **{f"qkv={q}": dict(qkv=q) for q in ("shared_qk", "shared_qkv", "mlp")},
    **{f"pos={p}": dict(pos_embedding=p) for p in ("sinusoidal", "rope", "alibi", "none")},
    "linear+qkv=mlp": dict(attention="linear", qkv="mlp"),
    "perceiver+cs224n": dict(attention="perceiver", perceiver_layout="cs224n", n_layer=3),
}
NAIVE = dict(attention="explicit", mask="naive")


def _model(seed=0, **fields):
    torch.manual_seed(seed)
    return build_model(GPTConfig(**{**SMALL, **fields})).eval()   # perceiver_layout=cs224n: its class


def _sharpen(model):
    """Larger weights than GPT-2's init, so attention is far from uniform and any leak is big."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.5)
    return model


def test_registry_covers_every_configured_attention():
    assert set(REGISTRY) == set(ATTENTIONS)


@pytest.mark.parametrize("name", VARIANTS)
def test_future_tokens_do_not_change_the_past(name):
    model = _sharpen(_model(**VARIANTS[name]))
    idx = torch.randint(0, V, (2, T), generator=torch.Generator().manual_seed(0))
    base = model(idx)[0]
    for t in (0, 1, 4, 7, 10, T - 2):
        changed = idx.clone()
        changed[:, t + 1] = (changed[:, t + 1] + 1) % V
        out = model(changed)[0]
        assert torch.equal(out[:, : t + 1], base[:, : t + 1]), f"{name}: position <= {t} saw token {t + 1}"
        assert not torch.allclose(out[:, t + 1], base[:, t + 1])


def test_naive_masking_leaks_the_future():
    """Zeroing weights after the softmax keeps future logits in the denominator: past outputs move."""
    model = _sharpen(_model(**NAIVE))
    idx = torch.randint(0, V, (2, T), generator=torch.Generator().manual_seed(0))
    changed = idx.clone()
    changed[:, -1] = (changed[:, -1] + 1) % V
    leak = (model(changed)[0][:, :-1] - model(idx)[0][:, :-1]).abs().max()
    assert leak > 1e-3
    weights = model.attention_maps(idx)[0]                  # (B, h, T, T)
    assert (weights.triu(1) == 0).all()                     # looks causal...
    rows = weights.sum(-1)                                  # ...but rows no longer sum to 1
    assert rows[..., :-1].mean() < 0.9 and torch.allclose(rows[..., -1], torch.ones(()))


@pytest.mark.parametrize("name", [n for n in VARIANTS if n not in ("fused", "explicit")] + ["naive"])
def test_variant_differs_from_default(name):
    """(explicit is the same computation as the default: test_fused_equals_explicit holds it equal)"""
    fields = NAIVE if name == "naive" else VARIANTS[name]
    default, variant = _model(), _model(**fields)
    # share every tensor the two have in common, so only the variant's own mechanism differs
    shared = {k: v for k, v in default.state_dict().items()
              if k in variant.state_dict() and variant.state_dict()[k].shape == v.shape}
    variant.load_state_dict(shared, strict=False)
    _sharpen(default), _sharpen(variant)
    idx = torch.randint(0, V, (2, T), generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(default(idx)[0], variant(idx)[0], atol=1e-4)


@pytest.mark.parametrize("name", list(VARIANTS) + ["naive"])
def test_initial_loss_is_log_vocab(name):
    model = _model(**(NAIVE if name == "naive" else VARIANTS[name]))
    g = torch.Generator().manual_seed(0)
    idx, targets = torch.randint(0, V, (8, T), generator=g), torch.randint(0, V, (8, T), generator=g)
    assert abs(model(idx, targets)[1].item() - math.log(V)) < 0.1


@pytest.mark.parametrize("fields", [dict(), dict(score="dot"), dict(score="bilinear"),
                                    dict(score="cosine"), dict(qkv="shared_qk"), dict(qkv="mlp"),
                                    dict(pos_embedding="rope"), dict(pos_embedding="alibi")])
def test_fused_equals_explicit(fields):
    fused = _sharpen(_model(attention="fused", **fields))
    explicit = _model(attention="explicit", **fields)
    explicit.load_state_dict(fused.state_dict())
    idx = torch.randint(0, V, (3, T), generator=torch.Generator().manual_seed(0))
    assert (fused(idx)[0] - explicit(idx)[0]).abs().max() < 1e-4


def test_default_state_dict_names_are_unchanged():
    keys = set(_model().state_dict())
    assert {"blocks.0.attn.qkv.weight", "blocks.0.attn.qkv.bias", "blocks.0.attn.proj.weight",
            "wpe.weight"} <= keys
    assert not any("score" in k or "rope" in k for k in keys)


def _stream(seed=0):
    rng = np.random.default_rng(seed)
    return TokenStream({"train": rng.integers(0, V, 2000).astype(np.int64),
                        "val": rng.integers(0, V, 500).astype(np.int64)}, T)


@pytest.mark.parametrize("name", list(VARIANTS) + ["naive"])
def test_every_variant_trains_through_the_trainer(name, tmp_path):
    fields = NAIVE if name == "naive" else VARIANTS[name]
    cfg = RunConfig(name="v", device="cpu", model=GPTConfig(**{**SMALL, **fields}),
                    optim=OptimConfig(lr=3e-3),
                    train=TrainConfig(max_iters=2, batch_size=4, eval_interval=2, eval_iters=1,
                                      log_interval=1, progress="off"))
    summary = train(cfg, tmp_path / "run", _stream())
    assert summary["status"] == "completed" and math.isfinite(summary["final_val_loss"])
