"""Hand-set attention (UW CSE 447/517 A2 §1.2-1.4, Practical 4 §2a-d): given keys K (n, d), values V (n, d)
and a query q (d,), what does attention return? Computed by the toolkit's real explicit
`SoftmaxAttention` with hand-set projection weights, not by a re-implementation.

    weights, output = attend(q, K, V)     # weights (n,) = softmax(K q), output (d,) = weights @ V

How an assignment's (q, K, V) becomes a self-attention input: one head, `score=dot` (the assignments'
alpha_i = exp(k_i . q) / sum_j exp(k_j . q), no 1/sqrt(d)), n_embd = 3d, and token i is
x_i = [k_i, v_i, q_i]. W_k, W_v, W_q copy the first, second and third d-slot of x into the head's
first d channels (the other 2d channels of q, k, v are zero, so they add nothing to the logits),
and the output projection is the identity. The last token (i = n-1) sees every key under the
causal mask, so its weights row is softmax(K q) over all n keys and its output is that weighted
sum of the v_i: exactly the assignments' attention. Rows i < n-1 are causal rows over keys 0..i; with
a query matrix Q (n, d) `attend` returns every row (UW CSE 447/517 A2 §1.2.2's "select all").
"""
from __future__ import annotations

import torch

from gpt.attention.softmax import SoftmaxAttention
from gpt.config import GPTConfig


def handset_layer(d: int) -> SoftmaxAttention:
    """The real explicit attention module (1 head, unscaled dot score, n_embd 3d) with W_k, W_v,
    W_q set by hand to read the k, v and q slots of x = [k, v, q]."""
    layer = SoftmaxAttention(GPTConfig(vocab_size=1, n_layer=1, n_head=1, n_embd=3 * d, dropout=0.0,
                                       attention="explicit", score="dot", block_size=1))
    eye = torch.eye(d)
    with torch.no_grad():
        w = torch.zeros(3 * 3 * d, 3 * d)     # LinearQKV rows: q (3d), k (3d), v (3d)
        w[0:d, 2 * d:3 * d] = eye             # q channels 0..d-1 <- x's q slot
        w[3 * d:3 * d + d, 0:d] = eye         # k channels 0..d-1 <- x's k slot
        w[6 * d:6 * d + d, d:2 * d] = eye     # v channels 0..d-1 <- x's v slot
        layer.qkv.weight.copy_(w)
        layer.qkv.bias.zero_()
        layer.proj.weight.copy_(torch.eye(3 * d))
        layer.proj.bias.zero_()
    return layer.eval()


def attend(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention of `query` (d,) over keys, values (n, d) through `handset_layer`:
    (weights (n,), output (d,)). A query matrix (n, d) gives (weights (n, n), outputs (n, d)):
    causal rows, row i over keys 0..i."""
    keys, values = keys.double(), values.double()
    n, d = keys.shape
    if values.shape != (n, d) or query.shape[-1] != d or query.dim() > 2 or (
            query.dim() == 2 and query.shape[0] != n):
        raise ValueError(f"shapes do not fit: keys {tuple(keys.shape)}, values {tuple(values.shape)}, "
                         f"query {tuple(query.shape)}; want keys and values (n, d), query (d,) or (n, d)")
    queries = torch.zeros(n, d, dtype=torch.float64)
    if query.dim() == 1:
        queries[-1] = query                    # only the last token's query is read
    else:
        queries = query.double()
    x = torch.cat([keys, values, queries], dim=-1)[None]        # (1, n, 3d) tokens [k, v, q]
    layer = handset_layer(d).double()
    with torch.no_grad():
        y, weights = layer(x, return_weights=True)             # y (1, n, 3d), weights (1, 1, n, n)
    if query.dim() == 1:
        return weights[0, 0, -1], y[0, -1, :d]
    return weights[0, 0], y[0, :, :d]
