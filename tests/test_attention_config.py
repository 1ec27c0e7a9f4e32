"""Attention config fields: refused combinations list the valid choices, old run dirs keep loading
under the same hash; positions: which evaluate past block_size, RoPE and ALiBi properties."""
import pytest
import torch

from gpt.config import ConfigError, GPTConfig, RunConfig, model_preset
from gpt.model import GPT
from gpt.overrides import apply_overrides, config_hash, from_dict, to_dict
from gpt.positions import RoPE, alibi_slopes


@pytest.mark.parametrize("fields, message", [
    (dict(attention="flash"), "model.attention='flash' is not valid; choose one of: fused, explicit, linear"),
    (dict(mask="future"), "choose one of: causal, naive"),
    (dict(score="mlp"), "choose one of: scaled_dot, dot, additive, bilinear, cosine"),
    (dict(qkv="tied"), "choose one of: separate, shared_qk, shared_qkv, mlp"),
    (dict(pos_embedding="relative"), "choose one of: learned, sinusoidal, rope, alibi, none"),
    (dict(mask="naive"), "model.mask=naive needs model.attention=explicit (got fused)"),
    (dict(attention="linear", mask="naive"), "model.mask=naive needs model.attention=explicit"),
    (dict(score="additive"), "use model.attention=explicit, or a fused score: scaled_dot, dot, bilinear, cosine"),
    (dict(attention="aft", score="dot"), "model.score=dot applies to softmax attention only"),
    (dict(attention="perceiver", qkv="mlp"), "model.qkv=mlp needs a mixer with q/k/v projections (fused, explicit, linear, performer, lowrank, bigbird)"),
    (dict(attention="performer", pos_embedding="rope"), "with model.attention=performer choose learned, sinusoidal or none"),
    (dict(attention="synthesizer_dense", pos_embedding="alibi"), "choose learned, sinusoidal or none"),
    (dict(n_embd=12, n_head=4, pos_embedding="rope"), "head_dim 3 (n_embd/n_head) must be even"),
    (dict(attention="lowrank", attn_rank=200), "model.attn_rank=200 must be <= model.block_size 128"),
    (dict(attention="perceiver", n_latents=128), "model.n_latents=128 must be < model.block_size 128"),
    (dict(n_features=0), "model.n_features=0 must be > 0"),
])
def test_bad_attention_configs_are_refused(fields, message):
    with pytest.raises(ConfigError) as info:
        GPTConfig(**fields)
    assert message in str(info.value)


def test_overrides_reach_the_new_fields():
    cfg = apply_overrides(RunConfig(), ["model.attention=explicit", "model.score=cosine",
                                        "model.pos_embedding=rope", "model.qkv=shared_qk"])
    assert (cfg.model.attention, cfg.model.score, cfg.model.pos_embedding, cfg.model.qkv) == \
        ("explicit", "cosine", "rope", "shared_qk")
    with pytest.raises(ConfigError, match="needs model.attention=explicit"):
        apply_overrides(RunConfig(), ["model.mask=naive"])


def test_old_config_json_loads_with_todays_behaviour_and_hash():
    old = to_dict(RunConfig(model=model_preset("gpt-nano", block_size=32)))
    for key in ("mask", "score", "qkv", "attn_rank", "n_latents", "n_features"):
        del old["model"][key]                                 # a config.json written before them
    cfg = from_dict(old)
    assert (cfg.model.attention, cfg.model.mask, cfg.model.score, cfg.model.qkv) == \
        ("fused", "causal", "scaled_dot", "separate")
    assert config_hash(cfg) == config_hash(RunConfig(model=model_preset("gpt-nano", block_size=32)))


def test_new_fields_leave_old_hashes_alone_and_change_when_set():
    from jobs.full_run import PRESETS
    assert config_hash(PRESETS["smoke"]()) == "b39395d2"      # the smoke run dir name before them
    base = RunConfig()
    assert config_hash(apply_overrides(base, ["model.attention=linear"])) != config_hash(base)
    assert config_hash(apply_overrides(base, ["model.n_latents=8"])) != config_hash(base)


@pytest.mark.parametrize("fields, bounded", [
    (dict(), True), (dict(pos_embedding="sinusoidal"), False), (dict(pos_embedding="none"), False),
    (dict(pos_embedding="rope"), False), (dict(pos_embedding="alibi"), False),
    (dict(pos_embedding="none", attention="linear"), False),
    (dict(pos_embedding="none", attention="perceiver", n_latents=4), False),
    (dict(pos_embedding="none", attention="lowrank", attn_rank=4), True),
    (dict(pos_embedding="none", attention="aft"), True),
    (dict(pos_embedding="none", attention="synthesizer_random"), True),
])
def test_max_context_and_lengths_beyond_block_size(fields, bounded):
    cfg = GPTConfig(vocab_size=10, n_layer=1, n_head=2, n_embd=8, block_size=8, **fields)
    assert cfg.max_context == (8 if bounded else None)
    torch.manual_seed(0)
    model = GPT(cfg).eval()
    long = torch.zeros(1, 20, dtype=torch.long)
    if bounded:
        with pytest.raises(ValueError, match="20 tokens exceeds block_size 8"):
            model(long)
    else:
        assert torch.isfinite(model(long)[0]).all() and model(long)[0].shape == (1, 20, 10)


def test_rope_scores_depend_on_relative_position_only():
    rope = RoPE(8)
    q, k = torch.randn(1, 1, 1, 8).expand(1, 1, 12, 8), torch.randn(1, 1, 1, 8).expand(1, 1, 12, 8)
    rq, rk = rope(q, k)
    scores = rq[0, 0] @ rk[0, 0].T                          # same q, k at every position
    assert torch.allclose(scores[3, 1], scores[10, 8], atol=1e-5)   # distance 2 both
    assert torch.allclose(rq.norm(dim=-1), q.norm(dim=-1))  # a rotation keeps lengths


def test_alibi_slopes_follow_the_paper():
    assert torch.allclose(alibi_slopes(8), torch.tensor([2.0 ** -(i + 1) for i in range(8)]))
    six = alibi_slopes(6)                                   # 4 of a power of two + odd ones of 8
    assert torch.allclose(six[:4], alibi_slopes(4)) and torch.allclose(six[4:], alibi_slopes(8)[0::2][:2])


def test_an_old_run_dir_without_the_new_fields_still_trains(tmp_path):
    """train() compares config.json through from_dict, so missing new fields count as defaults."""
    import numpy as np
    from gpt import rundir
    from gpt.batches import TokenStream
    from gpt.config import TrainConfig
    from gpt.trainer import train
    cfg = RunConfig(name="old", device="cpu",
                    model=GPTConfig(vocab_size=20, n_layer=1, n_head=2, n_embd=8, block_size=8),
                    train=TrainConfig(max_iters=2, batch_size=2, eval_interval=2, eval_iters=1,
                                      progress="off"))
    old = to_dict(cfg)
    for key in ("mask", "score", "qkv", "attn_rank", "n_latents", "n_features"):
        del old["model"][key]
    rundir.write_json(tmp_path / rundir.CONFIG, old)
    rng = np.random.default_rng(0)
    stream = TokenStream({"train": rng.integers(0, 20, 200), "val": rng.integers(0, 20, 100)}, 8)
    assert train(cfg, tmp_path, stream)["status"] == "completed"
