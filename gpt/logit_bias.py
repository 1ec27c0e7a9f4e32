"""JHU hw5 §2: recover a full next-token distribution from an API that shows only the top 2.

    api = TopTwoAPI(logits)                   # logits (V,) of one next-token prediction
    probs, calls = recover_distribution(api)  # probs (V,), calls <= V + 1

The API adds an optional logit bias {token: b} (|b| <= max_bias, as OpenAI's API clamps it to
100) before the softmax and returns only the two most probable (token, probability) pairs.

The algorithm. Call 0 without bias shows the argmax v* with p(v*) and the runner-up. For any
other token v, bias it by b: every logit but v's is unchanged, so the normaliser changes
(Z -> Z - e^{f(v)} + e^{f(v)+b}) but the RATIO of two returned probabilities does not depend
on it: p(v; b) / p(v*; b) = e^{f(v) + b - f(v*)}. So one call gives the logit gap exactly,
    f(v) - f(v*) = log p(v; b) - log p(v*; b) - b,
and p(v) = e^{f(v) - f(v*)} / sum_u e^{f(u) - f(v*)} once every gap is known. With b large v
becomes the top token and v* (the largest of the unbiased logits) the second, so both are in
the top 2. If v is still not in the top 2 at b = max_bias, then f(v) < f(v*) - max_bias and
p(v) < e^{-max_bias} (< 4e-44 at 100): it is set to 0. The runner-up's gap is read from call 0,
so the whole distribution takes 1 + (V - 2) = V - 1 calls, within the V + 1 allowed.
The API computes in float64, as a served model's softmax would be exposed rounded only at the end.
"""
from __future__ import annotations

import math

import numpy as np


class TopTwoAPI:
    """A next-token "API" over fixed logits (V,): top-2 (token, probability) after a logit bias."""

    def __init__(self, logits, max_bias: float = 100.0):
        self._logits = np.asarray(logits, dtype=np.float64).reshape(-1)   # (V,)
        if self._logits.size < 2:
            raise ValueError("the API needs a vocabulary of at least 2 tokens")
        self.vocab_size = int(self._logits.size)
        self.max_bias = float(max_bias)
        self.calls = 0

    def __call__(self, bias: dict[int, float] | None = None) -> list[tuple[int, float]]:
        """The two most probable (token, probability) after adding `bias`; counts one call."""
        self.calls += 1
        logits = self._logits.copy()
        for token, b in (bias or {}).items():
            if not 0 <= token < self.vocab_size:
                raise ValueError(f"bias token {token} is outside the vocabulary 0..{self.vocab_size - 1}")
            if abs(b) > self.max_bias:
                raise ValueError(f"logit bias {b} is over the API's limit of {self.max_bias}")
            logits[token] += b
        z = np.exp(logits - logits.max())                                 # (V,), max entry 1
        probs = z / z.sum()
        top = np.argsort(-probs, kind="stable")[:2]
        return [(int(t), float(probs[t])) for t in top]


def recover_distribution(api: TopTwoAPI) -> tuple[np.ndarray, int]:
    """The full distribution (V,) behind `api` and the number of calls it took (<= V + 1)."""
    start = api.calls
    (top, p_top), (second, p_second) = api()
    gaps = np.full(api.vocab_size, -math.inf)                            # f(v) - f(v*), (V,)
    gaps[top] = 0.0
    gaps[second] = math.log(p_second) - math.log(p_top) if p_second > 0.0 else -math.inf
    b = api.max_bias
    for v in range(api.vocab_size):
        if v in (top, second):
            continue
        seen = dict(api({v: b}))
        if v in seen and top in seen and seen[top] > 0.0:
            gaps[v] = math.log(seen[v]) - math.log(seen[top]) - b
        # else: f(v) < f(v*) - b, p(v) < e^-b: it stays 0
    z = np.exp(gaps)                                                     # exp(-inf) = 0
    return z / z.sum(), api.calls - start


def top_p_filter(probs: np.ndarray, top_p: float) -> np.ndarray:
    """The smallest set of most probable tokens whose mass reaches `top_p`, renormalised (V,)."""
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p={top_p} must be in (0, 1]")
    order = np.argsort(-probs, kind="stable")
    cumulative = np.cumsum(probs[order])
    keep = order[: int(np.searchsorted(cumulative, top_p * cumulative[-1]) + 1)]
    out = np.zeros_like(probs)
    out[keep] = probs[keep]
    return out / out.sum()
