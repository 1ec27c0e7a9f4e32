"""The key/value cache and batched temperatures give the tokens of plain sampling (gpt/kv_cache.py)."""
import pytest
import torch

from gpt import build_model
from gpt.config import GPTConfig
from gpt.kv_cache import KVCache, cached_logits, supports_cache, window_logits
from gpt.sampling import generate
from jobs.run_model import sample_texts


def _model(**changes):
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=17, n_layer=2, n_head=2, n_embd=16, block_size=12, dropout=0.0, **changes)
    return build_model(cfg).eval()


CACHED = [{}, {"attention": "explicit"}, {"pos_embedding": "sinusoidal"}, {"pos_embedding": "none"},
          {"norm_position": "post"}, {"score": "cosine"}, {"qkv": "shared_qk"}]


@pytest.mark.parametrize("changes", CACHED, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_cached_logits_match_the_full_forward(changes):
    model = _model(**changes)
    assert supports_cache(model)
    idx = torch.randint(0, 17, (3, 12), generator=torch.Generator().manual_seed(1))
    cache = KVCache()
    steps = [cached_logits(model, idx[:, :5], cache)]                 # a 5-token prompt, then 1 by 1
    steps += [cached_logits(model, idx[:, t:t + 1], cache) for t in range(5, 12)]
    with torch.no_grad():
        full = model(idx)[0]                                          # (3, 12, V)
    for t, logits in zip(range(4, 12), steps):
        torch.testing.assert_close(logits, full[:, t], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("changes", CACHED, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_a_window_read_afresh_gives_the_full_forwards_last_logits(changes):
    model = _model(**changes)
    for T in (1, 7, 12):     # one token, part of the block, the whole block (a cropped context)
        idx = torch.randint(0, 17, (3, T), generator=torch.Generator().manual_seed(T))
        with torch.no_grad():
            full = model(idx)[0][:, -1]                               # (3, V)
        torch.testing.assert_close(window_logits(model, idx), full, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("changes", [{}, {"pos_embedding": "sinusoidal"}])
def test_cached_and_uncached_sampling_draw_the_same_tokens(changes):
    model = _model(**changes)
    idx = torch.tensor([[3, 1, 4]])
    for temperature in (0.0, 0.8, 1.5):
        a, b = (generate(model, idx, 30, temperature, top_k=5, generator=torch.Generator().manual_seed(7),
                         use_cache=use) for use in (True, False))
        assert a.shape == (1, 33)          # 33 > block_size 12 for learned positions: past the cache
        assert torch.equal(a, b)


@pytest.mark.parametrize("changes", [{"mask": "naive", "attention": "explicit"}, {"pos_embedding": "rope"},
                                     {"pos_embedding": "alibi"}, {"attention": "linear"},
                                     {"attention": "explicit", "score": "additive"}])
def test_mixers_where_the_cache_is_not_exact_sample_through_the_full_forward(changes):
    model = _model(**changes)
    assert not supports_cache(model)
    idx = torch.tensor([[2, 7]])
    a, b = (generate(model, idx, 8, 1.0, generator=torch.Generator().manual_seed(3), use_cache=use)
            for use in (True, False))
    assert torch.equal(a, b)


def test_a_row_of_a_batch_draws_what_it_draws_alone():
    model = _model()
    temps = [1.5, 1.0, 0.5, 0.0]
    idx = torch.tensor([[5, 6]] * len(temps))
    batch = generate(model, idx, 20, temps, generator=[torch.Generator().manual_seed(i) for i in range(4)])
    for i, t in enumerate(temps):
        alone = generate(model, idx[:1], 20, t, generator=torch.Generator().manual_seed(i))
        assert torch.equal(batch[i:i + 1], alone)
    with pytest.raises(ValueError, match="3 temperatures"):
        generate(model, idx, 2, [1.0, 1.0, 1.0])


class _Chars:
    vocab_size = 17

    def encode(self, text):
        return [ord(c) % 17 for c in text]

    def decode(self, ids):
        return "".join(chr(97 + i) for i in ids)


def test_sample_texts_are_the_same_whichever_temperatures_come_with_them():
    model, tok = _model(), _Chars()
    both = sample_texts(model, tok, ["ab", ""], [1.0, 0.7], 15, 0, 1.0, 5, torch.device("cpu"))
    assert [(r["prompt"], r["temperature"]) for r in both] == [("ab", 1.0), ("ab", 0.7), ("", 1.0), ("", 0.7)]
    first = sample_texts(model, tok, ["ab"], [1.0, 0.3], 15, 0, 1.0, 5, torch.device("cpu"))[0]
    assert first["text"] == both[0]["text"] and len(first["text"]) == 15
    other_seed = sample_texts(model, tok, ["ab"], [1.0], 15, 0, 1.0, 6, torch.device("cpu"))[0]
    assert other_seed["text"] != first["text"]
