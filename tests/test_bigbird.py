"""BigBird block-sparse attention: its key sets are window + global + random earlier blocks, it is
full causal attention when the window covers the sequence, and its settings are validated."""
import pytest
import torch

from gpt.attention.bigbird import block_pattern
from gpt.config import GPTConfig
from gpt.config_fields import ConfigError
from gpt.model import GPT

V, T = 30, 24
SMALL = dict(vocab_size=V, n_layer=2, n_head=2, n_embd=16, block_size=T, dropout=0.0)


def _model(**fields):
    torch.manual_seed(0)
    return GPT(GPTConfig(**{**SMALL, **fields})).eval()


def test_block_pattern_is_window_global_and_random_earlier_blocks():
    pattern = block_pattern(10, window=1, n_global=2, n_random=2, seed=3)
    for i, keys in enumerate(pattern):
        assert keys == sorted(set(keys)) and max(keys) == i       # own block, no later block
        assert set(range(min(2, i + 1))) | {max(0, i - 1), i} <= set(keys)   # global + window
        assert len(keys) == min(i + 1, len(set(range(min(2, i + 1))) | {max(0, i - 1), i}) + 2)
    assert block_pattern(10, 1, 2, 2, seed=3) == pattern            # fixed per seed
    assert block_pattern(10, 1, 2, 2, seed=4) != pattern
    assert block_pattern(6, 1, 2, 2, seed=3) == pattern[:6]          # independent of length


def test_attention_map_is_sparse_causal_and_sums_to_one():
    model = _model(attention="bigbird", sparse_block=4, sparse_window=1, sparse_global=1,
                   sparse_random=1)
    idx = torch.randint(0, V, (2, T), generator=torch.Generator().manual_seed(0))
    weights = model.attention_maps(idx)[0]                         # (B, h, T, T)
    assert (weights.triu(1) == 0).all()
    assert torch.allclose(weights.sum(-1), torch.ones(()), atol=1e-5)
    seed = int(model.blocks[0].attn.pattern_seed)
    pattern = block_pattern(T // 4, 1, 1, 1, seed)
    allowed = torch.zeros(T, T, dtype=torch.bool)
    for i, keys in enumerate(pattern):
        for j in keys:
            allowed[4 * i:4 * i + 4, 4 * j:4 * j + 4] = True
    assert (weights[..., ~allowed] == 0).all()
    assert (weights[..., allowed & torch.ones(T, T, dtype=torch.bool).tril()] > 0).all()
    assert (~allowed).tril().any()                                 # some past blocks are skipped


@pytest.mark.parametrize("T_run", [T, 21])                         # 21: a partly filled last block
def test_a_window_over_the_whole_sequence_is_full_causal_attention(T_run):
    full = _model(attention="explicit")
    sparse = _model(attention="bigbird", sparse_block=4, sparse_window=T, sparse_random=0)
    sparse.load_state_dict(full.state_dict(), strict=False)        # pattern_seed is its own
    idx = torch.randint(0, V, (2, T_run), generator=torch.Generator().manual_seed(1))
    assert (full(idx)[0] - sparse(idx)[0]).abs().max() < 1e-5
    assert torch.allclose(full.attention_maps(idx)[0], sparse.attention_maps(idx)[0], atol=1e-6)


def test_runs_past_block_size_without_learned_positions():
    model = _model(attention="bigbird", pos_embedding="sinusoidal", sparse_block=4)
    assert model.cfg.max_context is None
    idx = torch.randint(0, V, (1, 3 * T), generator=torch.Generator().manual_seed(2))
    assert model(idx)[0].shape == (1, 3 * T, V)


def test_the_pattern_seed_is_saved_with_the_model():
    a, b = _model(attention="bigbird", sparse_block=2), _model(attention="bigbird", sparse_block=2)
    b.blocks[0].attn.pattern_seed.fill_(12345)
    b.blocks[0].attn.seed = 12345
    b.load_state_dict(a.state_dict())
    assert b.blocks[0].attn.seed == int(b.blocks[0].attn.pattern_seed) == a.blocks[0].attn.seed
    idx = torch.randint(0, V, (1, T), generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.attention_maps(idx)[0], b.attention_maps(idx)[0])   # same pattern in use


@pytest.mark.parametrize("fields,words", [
    (dict(sparse_block=0), "sparse_block=0 must be > 0"),
    (dict(sparse_window=-1), "must be >= 0"),
    (dict(sparse_random=-2), "must be >= 0"),
    (dict(attention="bigbird", sparse_block=10**9), "sparse_block=1000000000 must be <= model.block_size 24"),
    (dict(attention="bigbird", score="additive"), "softmax attention only"),
    (dict(attention="bigbird", pos_embedding="rope"), "acts on softmax attention logits"),
])
def test_bad_settings_are_refused(fields, words):
    with pytest.raises(ConfigError, match=words):
        GPTConfig(**{**SMALL, **fields})
