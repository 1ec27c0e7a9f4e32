"""The attention ablation: every attention variant of issue 8 as config overrides on one base.

    python main.py sweep attention_ablations train.max_iters=30        # all variants, here (CPU)
    python main.py sweep attention_ablations --executor slurm --cpus 1 --mem-gb 2
    python main.py bench train --attention all                          # tokens/s of each variant

Each variant changes ONE thing against the default (fused SDPA, causal mask, scaled dot product,
separate Q/K/V, learned positions). The naive mask and the additive score need the step-by-step
path, so the mask and score variants all set model.attention=explicit: the explicit row is
their reference.
"""
from __future__ import annotations

# (key, label, overrides): key is path-safe (run names), label is for tables and legends
VARIANTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("fused", "fused (default)", ()),
    ("explicit", "explicit", ("model.attention=explicit",)),
    ("mask-naive", "mask naive", ("model.attention=explicit", "model.mask=naive")),
    ("qkv-shared_qk", "qkv shared_qk", ("model.qkv=shared_qk",)),
    ("qkv-shared_qkv", "qkv shared_qkv", ("model.qkv=shared_qkv",)),
    ("qkv-mlp", "qkv mlp", ("model.qkv=mlp",)),
    ("score-dot", "score dot", ("model.attention=explicit", "model.score=dot")),
    ("score-additive", "score additive", ("model.attention=explicit", "model.score=additive")),
    ("score-bilinear", "score bilinear", ("model.attention=explicit", "model.score=bilinear")),
    ("score-cosine", "score cosine", ("model.attention=explicit", "model.score=cosine")),
    ("pos-sinusoidal", "pos sinusoidal", ("model.pos_embedding=sinusoidal",)),
    ("pos-rope", "pos rope", ("model.pos_embedding=rope",)),
    ("pos-alibi", "pos alibi", ("model.pos_embedding=alibi",)),
    ("pos-none", "pos none", ("model.pos_embedding=none",)),
    ("linear", "linear", ("model.attention=linear",)),
    ("performer", "performer", ("model.attention=performer",)),
    ("lowrank", "lowrank", ("model.attention=lowrank",)),
    ("aft", "aft", ("model.attention=aft",)),
    ("synthesizer_dense", "synthesizer dense", ("model.attention=synthesizer_dense",)),
    ("synthesizer_random", "synthesizer random", ("model.attention=synthesizer_random",)),
    ("perceiver", "perceiver", ("model.attention=perceiver",)),
    ("perceiver-cs224n", "perceiver (CS224n layout)",
     ("model.attention=perceiver", "model.perceiver_layout=cs224n")),
    ("bigbird", "bigbird", ("model.attention=bigbird",)),
]
DEFAULT_KEY = "fused"


def variant_keys() -> list[str]:
    """Every variant key, in table order."""
    return [key for key, _, _ in VARIANTS]


def select(spec: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """`all` or a comma list of variant keys -> those variants; ValueError lists the valid keys."""
    if spec.strip() == "all":
        return list(VARIANTS)
    by_key = {v[0]: v for v in VARIANTS}
    keys = [k.strip() for k in spec.split(",")]
    unknown = [k for k in keys if k not in by_key]
    if unknown or not keys:
        raise ValueError(f"unknown attention variant(s) {', '.join(map(repr, unknown))}; choose "
                         f"'all' or a comma list of: {', '.join(by_key)}")
    return [by_key[k] for k in dict.fromkeys(keys)]
