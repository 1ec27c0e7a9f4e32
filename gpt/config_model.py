"""Model configs: GPT (and its attention variants), LSTM, sequence classifier; the size presets.

    model_preset("gpt-nano", block_size=32)      # a preset, changed
    GPTConfig(n_layer=2, attention="explicit")   # validated in __post_init__

The option tables (ATTENTIONS and the families that say which options apply) are what
gpt/attention/ implements; a new variant adds its name here.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from gpt.config_fields import ConfigError, added, check_choice, check_positive

ATTENTIONS = ("fused", "explicit", "linear", "performer", "lowrank", "aft",
              "synthesizer_dense", "synthesizer_random", "perceiver", "bigbird")
SOFTMAX_ATTENTIONS = ("fused", "explicit")            # q.k logits -> softmax over the prefix
QKV_ATTENTIONS = SOFTMAX_ATTENTIONS + ("linear", "performer", "lowrank", "bigbird")   # project x to q, k, v
BOUNDED_ATTENTIONS = ("lowrank", "aft", "synthesizer_dense", "synthesizer_random")  # (.., block_size) params
MASKS = ("causal", "naive")
SCORES = ("scaled_dot", "dot", "additive", "bilinear", "cosine")
FUSED_SCORES = ("scaled_dot", "dot", "bilinear", "cosine")  # expressible as SDPA on changed q, k
QKVS = ("separate", "shared_qk", "shared_qkv", "mlp")
POS_EMBEDDINGS = ("learned", "sinusoidal", "rope", "alibi", "none")
PERCEIVER_LAYOUTS = ("per_layer", "cs224n")   # a mixer in every block | CS224n a5's down/latents/up


def _check_attention(cfg: "GPTConfig") -> None:
    """Refuse attention settings that are unknown or that the chosen mixer would silently ignore."""
    check_choice("model.attention", cfg.attention, ATTENTIONS)
    check_choice("model.mask", cfg.mask, MASKS)
    check_choice("model.score", cfg.score, SCORES)
    check_choice("model.qkv", cfg.qkv, QKVS)
    check_choice("model.pos_embedding", cfg.pos_embedding, POS_EMBEDDINGS)
    softmax = cfg.attention in SOFTMAX_ATTENTIONS
    if cfg.mask == "naive" and cfg.attention != "explicit":
        raise ConfigError(f"model.mask=naive needs model.attention=explicit (got {cfg.attention}): "
                          "fused SDPA can only mask before the softmax and the other mixers are causal "
                          "by construction; use model.mask=causal or model.attention=explicit")
    if cfg.score != "scaled_dot" and not softmax:
        raise ConfigError(f"model.score={cfg.score} applies to softmax attention only; with "
                          f"model.attention={cfg.attention} use model.score=scaled_dot, or choose "
                          f"model.attention among: {', '.join(SOFTMAX_ATTENTIONS)}")
    if cfg.attention == "fused" and cfg.score not in FUSED_SCORES:
        raise ConfigError(f"model.score={cfg.score} cannot run through fused SDPA (it scores every "
                          f"pair with a small network); use model.attention=explicit, or a fused "
                          f"score: {', '.join(FUSED_SCORES)}")
    if cfg.qkv != "separate" and cfg.attention not in QKV_ATTENTIONS:
        raise ConfigError(f"model.qkv={cfg.qkv} needs a mixer with q/k/v projections "
                          f"({', '.join(QKV_ATTENTIONS)}); model.attention={cfg.attention} has none: "
                          "use model.qkv=separate")
    if cfg.pos_embedding in ("rope", "alibi") and not softmax:
        raise ConfigError(f"model.pos_embedding={cfg.pos_embedding} acts on softmax attention logits; "
                          f"with model.attention={cfg.attention} choose learned, sinusoidal or none, "
                          f"or model.attention among: {', '.join(SOFTMAX_ATTENTIONS)}")
    if cfg.pos_embedding == "rope" and cfg.head_dim % 2:
        raise ConfigError(f"model.pos_embedding=rope rotates pairs of dims: head_dim "
                          f"{cfg.head_dim} (n_embd/n_head) must be even")
    check_positive("model", attn_rank=cfg.attn_rank, n_latents=cfg.n_latents,
                    n_features=cfg.n_features)
    check_positive("model", sparse_block=cfg.sparse_block)
    if min(cfg.sparse_window, cfg.sparse_global, cfg.sparse_random) < 0:
        raise ConfigError(f"model.sparse_window={cfg.sparse_window}, model.sparse_global="
                          f"{cfg.sparse_global} and model.sparse_random={cfg.sparse_random} are "
                          "counts of blocks: each must be >= 0")
    if cfg.attention == "bigbird" and cfg.sparse_block > cfg.block_size:
        raise ConfigError(f"model.sparse_block={cfg.sparse_block} must be <= model.block_size "
                          f"{cfg.block_size} (a block is a slice of the sequence)")
    if cfg.attention == "lowrank" and cfg.attn_rank > cfg.block_size:
        raise ConfigError(f"model.attn_rank={cfg.attn_rank} must be <= model.block_size "
                          f"{cfg.block_size} (a low-rank projection of the sequence)")
    check_choice("model.perceiver_layout", cfg.perceiver_layout, PERCEIVER_LAYOUTS)
    if cfg.perceiver_layout == "cs224n" and (cfg.attention != "perceiver" or cfg.n_layer < 3):
        raise ConfigError(f"model.perceiver_layout=cs224n (down block, n_layer - 2 latent blocks, up "
                          f"block) needs model.attention=perceiver and model.n_layer >= 3 (got "
                          f"{cfg.attention}, {cfg.n_layer})")
    if cfg.attention == "perceiver" and cfg.n_latents >= cfg.block_size:
        raise ConfigError(f"model.n_latents={cfg.n_latents} must be < model.block_size "
                          f"{cfg.block_size} (a bottleneck is shorter than the sequence)")


def _check_embeddings(cfg) -> None:
    if cfg.padding_idx < -1 or (cfg.vocab_size and cfg.padding_idx >= cfg.vocab_size):
        raise ConfigError(f"model.padding_idx={cfg.padding_idx} must be -1 (none) or a token id "
                          f"below vocab_size")
    if cfg.embeddings_file and not cfg.embeddings_file.endswith(".npz"):
        raise ConfigError(f"model.embeddings_file={cfg.embeddings_file!r} must be an .npz file with "
                          f"a 'tokens' array of shape (vocab_size, n_embd)")


@dataclass(frozen=True, kw_only=True)
class GPTConfig:
    """Decoder-only transformer. `vocab_size=0` means "take it from the data's tokenizer"."""

    arch: str = "gpt"
    vocab_size: int = 0
    block_size: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.1
    bias: bool = True
    attention: str = "fused"      # token mixer; see ATTENTIONS ("fused": SDPA, "explicit": step by step)
    norm_position: str = "pre"    # "pre": GPT-2/minGPT blocks; "post": GPT-1 blocks
    layernorm: str = "torch"      # "manual": hand-written LayerNorm with biased variance
    pos_embedding: str = "learned"  # see POS_EMBEDDINGS; learned is bounded by block_size
    tie_weights: bool = True
    # attention variants (gpt/attention/); added after the first runs, so `added` keeps them out
    # of the config hash while at their default and old run dirs keep their names
    mask: str = added("causal")        # softmax mixers: "causal" (-inf before) | "naive" (0 after)
    score: str = added("scaled_dot")   # softmax mixers: how a query and a key make a logit
    qkv: str = added("separate")       # how q, k, v are projected from x
    attn_rank: int = added(16)         # lowrank: k projected keys/values (k << block_size)
    n_latents: int = added(16)         # perceiver: m latents (m < block_size)
    n_features: int = added(64)        # performer: random features per head
    sparse_block: int = added(8)       # bigbird: tokens per block
    sparse_window: int = added(1)      # bigbird: earlier blocks in the sliding window (+ its own)
    sparse_global: int = added(1)      # bigbird: first blocks every block sees
    sparse_random: int = added(1)      # bigbird: random earlier blocks per query block
    perceiver_layout: str = added("per_layer")  # perceiver: see PERCEIVER_LAYOUTS (gpt/perceiver_model.py)
    pos_init: str = added("normal")      # "zeros": CS224n minGPT starts position embeddings at 0
    residual_init: str = added("scaled")  # "plain": N(0, 0.02) everywhere (minGPT); "scaled": GPT-2
    embeddings_file: str = added("")  # npz with "tokens" (V, n_embd) [+ "position"]: IFT6135's GPT-1
    freeze_embeddings: bool = added(False)  # keep the loaded (or initial) token embeddings fixed
    padding_idx: int = added(-1)   # token id whose embedding gets no gradient (-1: none; IFT6135: 0)

    def __post_init__(self) -> None:
        check_choice("model.arch", self.arch, ("gpt",))
        check_positive("model", block_size=self.block_size, n_layer=self.n_layer,
                        n_head=self.n_head, n_embd=self.n_embd)
        if self.vocab_size < 0:
            raise ConfigError(f"model.vocab_size={self.vocab_size} must be >= 0 (0 = from the tokenizer)")
        if self.n_embd % self.n_head:
            raise ConfigError(
                f"model.n_embd {self.n_embd} is not divisible by model.n_head {self.n_head}; "
                f"pick n_head among {[h for h in range(1, self.n_embd + 1) if self.n_embd % h == 0][:12]}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"model.dropout={self.dropout} must be in [0, 1)")
        check_choice("model.norm_position", self.norm_position, ("pre", "post"))
        check_choice("model.layernorm", self.layernorm, ("torch", "manual"))
        _check_attention(self)
        check_choice("model.pos_init", self.pos_init, ("normal", "zeros"))
        check_choice("model.residual_init", self.residual_init, ("scaled", "plain"))
        _check_embeddings(self)

    @property
    def head_dim(self) -> int:
        """Channels per head: n_embd // n_head."""
        return self.n_embd // self.n_head

    @property
    def max_context(self) -> int | None:
        """Longest sequence the model can run: None = any length, else block_size (learned
        positions, or a mixer whose parameters have one entry per position)."""
        if self.pos_embedding == "learned" or self.attention in BOUNDED_ATTENTIONS:
            return self.block_size
        return None


@dataclass(frozen=True, kw_only=True)
class LSTMConfig:
    """LSTM LM of IFT6135 A2: embedding -> LSTM stack -> MLP head tied to the embedding."""

    arch: str = "lstm"
    vocab_size: int = 0
    block_size: int = 128         # training sequence length (the LSTM itself has no limit)
    n_embd: int = 768
    hidden_size: int = 512
    n_layer: int = 1
    dropout: float = 0.0
    tie_weights: bool = True
    embeddings_file: str = added("")  # npz with "tokens" (V, n_embd): IFT6135's GPT-1 embeddings
    freeze_embeddings: bool = added(False)
    padding_idx: int = added(-1)  # -1: none; IFT6135: 0

    def __post_init__(self) -> None:
        check_choice("model.arch", self.arch, ("lstm",))
        check_positive("model", block_size=self.block_size, n_embd=self.n_embd,
                        hidden_size=self.hidden_size, n_layer=self.n_layer)
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"model.dropout={self.dropout} must be in [0, 1)")
        _check_embeddings(self)

    @property
    def max_context(self) -> int | None:
        """None: a recurrent model runs at any length (same property as GPTConfig's)."""
        return None


@dataclass(frozen=True, kw_only=True)
class ClassifierConfig:
    """Sequence classifier (UW CSE 447/517 attention assignment §3): a backbone encodes `block_size` tokens, a head picks a class.

    source="gpt": our GPT (`backbone`, or the model of `init_from`'s run) pooled at the last real
    token or by a masked mean; source="hf:NAME" (e.g. hf:roberta-base, or hf:/path/to/folder): a
    Hugging Face encoder with its own classification head, built by jobs/classify.py (optional
    `transformers`). `n_classes=0` means "from the data's labels", like vocab_size.
    """

    arch: str = "classifier"
    source: str = "gpt"
    n_classes: int = 0
    block_size: int = 64          # tokens per example: longer texts are truncated, shorter padded
    pooling: str = "last"         # gpt source: "last" (last non-pad token) | "mean" (over real tokens)
    vocab_size: int = 0           # gpt source: 0 = from the tokenizer
    backbone: GPTConfig = field(default_factory=lambda: GPTConfig(n_layer=2, n_head=2, n_embd=64))

    def __post_init__(self) -> None:
        check_choice("model.arch", self.arch, ("classifier",))
        check_choice("model.pooling", self.pooling, ("last", "mean"))
        if self.source != "gpt" and not (self.source.startswith("hf:") and len(self.source) > 3):
            raise ConfigError(f"model.source={self.source!r} is not valid; use gpt, or hf:NAME "
                              "(a Hugging Face model name or folder, e.g. hf:roberta-base)")
        check_positive("model", block_size=self.block_size)
        if self.n_classes < 0 or self.n_classes == 1:
            raise ConfigError(f"model.n_classes={self.n_classes} must be 0 (from the data) or >= 2")
        if self.backbone.perceiver_layout != "per_layer":
            raise ConfigError("model.backbone.perceiver_layout=cs224n is a language model only; a "
                              "classifier backbone uses perceiver_layout=per_layer")
        limit = self.backbone.max_context
        if self.source == "gpt" and limit is not None and self.block_size > limit:
            raise ConfigError(f"model.block_size={self.block_size} exceeds model.backbone.block_size="
                              f"{limit} (the backbone's longest context); lower model.block_size")

    @property
    def max_context(self) -> int:
        """Every example is padded or truncated to block_size tokens."""
        return self.block_size

    @property
    def hf_name(self) -> str:
        """The Hugging Face model name or folder ("" for the gpt source)."""
        return self.source[3:] if self.source.startswith("hf:") else ""


ModelConfig = GPTConfig | LSTMConfig | ClassifierConfig


MODEL_PRESETS: dict[str, ModelConfig] = {
    "gpt-nano": GPTConfig(n_layer=3, n_head=3, n_embd=48),
    "gpt-micro": GPTConfig(n_layer=4, n_head=4, n_embd=128),
    "gpt-mini": GPTConfig(n_layer=6, n_head=6, n_embd=192),
    # nanoGPT config/train_shakespeare_char.py
    "shakespeare-char": GPTConfig(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2,
                                  bias=False),
    # CS224n a5 (birth places): 4 layers, 8 heads, 256 dims, block 128
    # as its minGPT model.py: untied head, position embeddings from zero, N(0, 0.02) everywhere
    "cs224n": GPTConfig(n_layer=4, n_head=8, n_embd=256, block_size=128, dropout=0.1,
                        tie_weights=False, pos_init="zeros", residual_init="plain"),
    # IFT6135 A2 MiniGPT1: post-LN, hand-written LayerNorm, sequences of 256, no dropout,
    # padding id 0 (its frozen GPT-1 embeddings come with model.embeddings_file=...)
    "minigpt1": GPTConfig(n_layer=1, n_head=12, n_embd=768, block_size=256, dropout=0.0,
                          norm_position="post", layernorm="manual", attention="explicit",
                          padding_idx=0),
    "lstm": LSTMConfig(n_embd=768, hidden_size=512, n_layer=1, block_size=256, padding_idx=0),
    "gpt2": GPTConfig(n_layer=12, n_head=12, n_embd=768, block_size=1024, dropout=0.0),
}


def preset_name(name: str, names) -> str:
    """`name` as spelled in `names` when it differs only in `_` vs `-` (run presets use `_`,
    model presets `-`; users mix them up), else `name` unchanged."""
    wanted = name.replace("_", "-")
    return next((n for n in names if n.replace("_", "-") == wanted), name)


def model_preset(name: str, **changes) -> ModelConfig:
    """A size preset, optionally changed: `model_preset("gpt-nano", block_size=32)`."""
    name = preset_name(name, MODEL_PRESETS)
    if name not in MODEL_PRESETS:
        raise ConfigError(f"unknown model preset {name!r}; choose one of: {', '.join(MODEL_PRESETS)}")
    return dataclasses.replace(MODEL_PRESETS[name], **changes)
