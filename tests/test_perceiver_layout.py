"""CS224n a5's perceiver architecture (perceiver_layout=cs224n): one down block, n_layer - 2 blocks
on the m latents, one up block; causal; a token past the bottleneck sees only the first m tokens
and itself; refused where it cannot apply."""
import pytest
import torch

from gpt import build_model
from gpt.config import GPTConfig
from gpt.config_fields import ConfigError
from gpt.config_model import ClassifierConfig
from gpt.model import GPT
from gpt.perceiver_model import CS224nPerceiverGPT

V, T, M = 30, 16, 4
CFG = dict(vocab_size=V, n_layer=4, n_head=2, n_embd=16, block_size=T, dropout=0.0,
           attention="perceiver", n_latents=M, perceiver_layout="cs224n")


def _model():
    torch.manual_seed(0)
    return build_model(GPTConfig(**CFG)).eval()


def test_layout_is_down_then_latent_blocks_then_up():
    model = _model()
    assert isinstance(model, CS224nPerceiverGPT) and len(model.blocks) == 4 - 2
    assert model.down.C.shape == (M, 16)
    seen = []
    model.blocks[0].register_forward_hook(lambda _m, args, _out: seen.append(args[0].shape))
    logits, _ = model(torch.randint(0, V, (2, T)))
    assert seen == [(2, M, 16)] and logits.shape == (2, T, V)      # the blocks run on m latents
    assert type(model.blocks[0].attn).__name__ == "SoftmaxAttention"


def test_causal_and_past_the_bottleneck_only_the_first_m_tokens_and_itself_count():
    model = _model()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.5)
    idx = torch.randint(0, V, (2, T), generator=torch.Generator().manual_seed(0))
    base = model(idx)[0]
    for t in range(T - 1):
        changed = idx.clone()
        changed[:, t + 1] = (changed[:, t + 1] + 1) % V
        out = model(changed)[0]
        assert torch.equal(out[:, : t + 1], base[:, : t + 1]), f"position <= {t} saw token {t + 1}"
    changed = idx.clone()
    changed[:, M + 1] = (changed[:, M + 1] + 1) % V                  # a token after the m latents
    out = model(changed)[0]
    assert torch.equal(out[:, M + 2:], base[:, M + 2:])              # later tokens never see it
    assert not torch.allclose(out[:, M + 1], base[:, M + 1])         # but it sees itself


def test_default_layout_builds_the_per_layer_mixer_and_gpt_refuses_the_other():
    per_layer = build_model(GPTConfig(**{**CFG, "perceiver_layout": "per_layer"}))
    assert type(per_layer) is GPT and len(per_layer.blocks) == 4
    with pytest.raises(ValueError, match="build it with gpt.build_model"):
        GPT(GPTConfig(**CFG))


@pytest.mark.parametrize("fields,words", [
    (dict(perceiver_layout="nope"), "model.perceiver_layout='nope' is not valid"),
    (dict(attention="fused"), "needs model.attention=perceiver"),
    (dict(n_layer=2), "model.n_layer >= 3"),
])
def test_bad_layouts_are_refused(fields, words):
    with pytest.raises(ConfigError, match=words):
        GPTConfig(**{**CFG, **fields})


def test_a_classifier_backbone_keeps_the_per_layer_layout():
    with pytest.raises(ConfigError, match="language model only"):
        ClassifierConfig(backbone=GPTConfig(**{**CFG, "vocab_size": 0}))
