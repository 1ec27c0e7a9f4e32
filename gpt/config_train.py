"""What a run does with its model: which data, the optimizer and schedule, the training budget
and cadences, what to sample afterwards. Each component receives only its part."""
from __future__ import annotations

import math
from dataclasses import dataclass

from gpt.config_fields import ConfigError, added, check_choice, check_positive, cosmetic

LOGGERS = ("tensorboard", "wandb")   # what train.loggers may name (gpt/trackers.py)


def logger_names(loggers: str) -> tuple[str, ...]:
    """train.loggers ("tensorboard,wandb", "" or "none" for none) as a tuple of names."""
    names = tuple(n.strip() for n in loggers.split(",") if n.strip())
    return () if names == ("none",) else names


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    """Which corpus and tokenizer; `data.py` turns this into token arrays."""

    dataset: str = "tinyshakespeare"
    tokenizer: str = "char"       # char | word | bpe | gpt1 (what fits depends on the dataset)
    bpe_vocab_size: int = 4096    # only for tokenizer=bpe
    train_split: str = "train"
    val_split: str = "valid"
    val_fraction: float = 0.1     # for single-file corpora (tiny shakespeare, wiki.txt)
    # birth places: "original" reads the files as CS224n's starter (finetune file stripped to
    # ASCII, the empty last line of wiki.txt kept as a document, test prompts keep their
    # newline); "clean" keeps every character and drops empty lines
    text_fidelity: str = added("original")
    test_split: str = added("test")   # labelled data (classify): the split scored once, by best.pt
    text_column: str = added("text")  # labelled data from `datasets.load_from_disk`: its columns
    label_column: str = added("label")

    def __post_init__(self) -> None:
        check_choice("data.tokenizer", self.tokenizer, ("char", "word", "bpe", "gpt1", "gpt2"))
        check_choice("data.text_fidelity", self.text_fidelity, ("original", "clean"))
        if not 0.0 < self.val_fraction < 0.5:
            raise ConfigError(f"data.val_fraction={self.val_fraction} must be in (0, 0.5)")
        check_positive("data", bpe_vocab_size=self.bpe_vocab_size)


@dataclass(frozen=True, kw_only=True)
class OptimConfig:
    """Optimizer and learning-rate schedule (constant, cosine with warmup, or minGPT's
    token-based schedule)."""

    name: str = "adamw"           # adamw | adam | adagrad | sgd | momentum (sgd with momentum)
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = 0.1
    # matrices: >=2-D weights only; all: every parameter (IFT6135); except_biases: all but biases
    # (CS224n: its no-decay names "bias", "LayerNorm.weight" match no norm weight of its model)
    decay_scope: str = added("matrices")
    momentum: float = 0.9
    grad_clip: float = 1.0        # 0 disables clipping
    # constant | cosine (linear warmup, then cosine to min_lr) | mingpt (CS224n's minGPT:
    # warmup and decay counted in tokens, floor at 10 %; needs warmup_tokens and final_tokens)
    schedule: str = "constant"
    warmup_iters: int = 0
    min_lr: float = 0.0
    warmup_tokens: int = added(0)  # mingpt only
    final_tokens: int = added(0)   # mingpt only: tokens at which the cosine reaches its floor

    def __post_init__(self) -> None:
        check_choice("optim.name", self.name, ("adamw", "adam", "adagrad", "sgd", "momentum"))
        check_choice("optim.schedule", self.schedule, ("constant", "cosine", "mingpt"))
        check_choice("optim.decay_scope", self.decay_scope, ("matrices", "all", "except_biases"))
        if self.schedule == "mingpt" and not 0 <= self.warmup_tokens < self.final_tokens:
            raise ConfigError(f"optim.schedule=mingpt needs 0 <= optim.warmup_tokens < "
                              f"optim.final_tokens (got {self.warmup_tokens} and {self.final_tokens}); "
                              f"CS224n: warmup_tokens=10240 final_tokens=200*len(dataset)*block_size")
        if self.schedule != "mingpt" and (self.warmup_tokens or self.final_tokens):
            raise ConfigError("optim.warmup_tokens and optim.final_tokens go with optim.schedule=mingpt")
        check_positive("optim", lr=self.lr)
        if not all(v >= 0 and math.isfinite(v) for v in (self.weight_decay, self.grad_clip,
                                                         self.warmup_iters, self.min_lr, self.momentum)):
            raise ConfigError("optim.weight_decay, grad_clip, warmup_iters, min_lr and momentum must be "
                              "finite numbers >= 0")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"optim.betas={self.betas} must be two numbers in [0, 1), e.g. 0.9,0.95")


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Iteration budget and cadences. `epochs > 0` replaces max_iters by epochs x iters/epoch."""

    max_iters: int = 1000
    epochs: float = 0.0
    batch_size: int = 32
    grad_accum: int = 1
    eval_interval: int = 200      # also evaluated at step 0 and at the last step
    eval_iters: int = 20          # batches per split per evaluation; 0 = the whole split
    # cosmetic: the loss is computed every step; these set when it is printed/logged and when
    # last.pt is written (resume is exact either way), so they stay out of the run-dir hash
    log_interval: int = cosmetic(10)
    checkpoint_interval: int = cosmetic(0)  # 0 = at every evaluation
    compile: bool = False
    amp: bool = True              # bf16 autocast + TF32, on CUDA only
    progress: str = cosmetic("auto")  # auto (bar on a terminal, lines otherwise) | bar | lines | off
    loggers: str = cosmetic("", new=True)   # metrics.jsonl mirrored: tensorboard, wandb, both (a,b) or none
    # token: mean NLL over all real tokens; sequence: mean over each sequence's real tokens,
    # then over the batch (IFT6135 A2); perplexity is exp of the same mean
    loss_reduction: str = added("token")
    select_by: str = added("val_loss")  # which evaluation is best.pt: lowest val_loss | highest val_accuracy
    # example datasets: continuous (epochs run into each other, full batches) | aligned (ceil(N/B)
    # batches an epoch, the last partial, shuffled) | ordered (as aligned, in dataset order: CS224n)
    epoch_batches: str = added("continuous")

    def __post_init__(self) -> None:
        check_positive("train", max_iters=self.max_iters, batch_size=self.batch_size,
                        grad_accum=self.grad_accum, eval_interval=self.eval_interval,
                        log_interval=self.log_interval)
        if self.epochs < 0 or self.eval_iters < 0 or self.checkpoint_interval < 0:
            raise ConfigError("train.epochs, eval_iters and checkpoint_interval must be >= 0")
        check_choice("train.progress", self.progress, ("auto", "bar", "lines", "off"))
        check_choice("train.loss_reduction", self.loss_reduction, ("token", "sequence"))
        names = logger_names(self.loggers)
        if set(names) - set(LOGGERS) or len(set(names)) != len(names):
            raise ConfigError(f"train.loggers={self.loggers}: choose from {', '.join(LOGGERS)} "
                              f"(each once, comma-separated), e.g. train.loggers=tensorboard,wandb")
        check_choice("train.select_by", self.select_by, ("val_loss", "val_accuracy"))
        check_choice("train.epoch_batches", self.epoch_batches, ("continuous", "aligned", "ordered"))
        if self.epoch_batches != "continuous" and self.grad_accum != 1:
            raise ConfigError(f"train.epoch_batches={self.epoch_batches} takes one optimizer step per "
                              f"batch, as a DataLoader loop does: use train.grad_accum=1 (got "
                              f"{self.grad_accum}), or train.epoch_batches=continuous")


@dataclass(frozen=True, kw_only=True)
class SampleConfig:
    """What a job samples after training. Empty prompts = one unconditioned sample."""

    prompts: tuple[str, ...] = ()
    temperatures: tuple[float, ...] = (1.0,)
    max_new_tokens: int = 200
    top_k: int = 0                # 0 = no top-k filtering
    top_p: float = 1.0            # 1.0 = no nucleus filtering

    def __post_init__(self) -> None:
        check_positive("sample", max_new_tokens=self.max_new_tokens)
        if not all(t >= 0 and math.isfinite(t) for t in self.temperatures):
            raise ConfigError(f"sample.temperatures={self.temperatures} must be finite and >= 0 (0 = greedy)")
        if not 0 < self.top_p <= 1 or self.top_k < 0:
            raise ConfigError("sample.top_p must be in (0, 1] and sample.top_k >= 0")
