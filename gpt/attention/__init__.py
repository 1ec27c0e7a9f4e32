"""Token mixers ("attention") chosen by `GPTConfig.attention`, all with one contract:

    mixer = make_attention(cfg)
    y, weights = mixer(x, return_weights=False)    # x, y (B, T, C); weights (B, h, T, T) or None

One module per family: softmax (fused | explicit, with mask / score / qkv options), kernel
(linear, performer), lowrank, aft, synthesizer (dense, random), perceiver, bigbird (block-sparse).
"""
from __future__ import annotations

import torch.nn as nn

from gpt.attention.aft import AFTAttention
from gpt.attention.bigbird import BigBirdAttention
from gpt.attention.kernel import LinearAttention, PerformerAttention
from gpt.attention.lowrank import LowRankAttention
from gpt.attention.perceiver import PerceiverAttention
from gpt.attention.softmax import SoftmaxAttention
from gpt.attention.synthesizer import DenseSynthesizer, RandomSynthesizer
from gpt.config import GPTConfig

REGISTRY: dict[str, type[nn.Module]] = {
    "fused": SoftmaxAttention,
    "explicit": SoftmaxAttention,
    "linear": LinearAttention,
    "performer": PerformerAttention,
    "lowrank": LowRankAttention,
    "aft": AFTAttention,
    "synthesizer_dense": DenseSynthesizer,
    "synthesizer_random": RandomSynthesizer,
    "perceiver": PerceiverAttention,
    "bigbird": BigBirdAttention,
}


def make_attention(cfg: GPTConfig) -> nn.Module:
    """The mixer of one block, from `cfg.attention` (validated by GPTConfig)."""
    return REGISTRY[cfg.attention](cfg)
