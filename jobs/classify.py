"""classify: finetune a sequence classifier on labelled text (UW CSE 447/517 attention assignment §3: RoBERTa on SST-2).

    python main.py classify --preset smoke                              # our GPT, tiny set, < 1 min CPU
    python main.py classify --preset smoke --init-from runs/full_run/smoke-XXXXXXXX model.block_size=32
    python main.py classify                                             # roberta-base on SST-2 (GPU)
    python main.py classify optim.name=adagrad                          # the assignment's other optimizers
    python main.py classify data.dataset=DIR                            # DIR/{train,valid,test}.tsv

Data: `text<TAB>label` files (labels any strings; see jobs/classify_data.py), SST-2 after
`python data.py download sst2-sentences --data-root DIR` (UW CSE 447/517 A2's sentence-level SST-2: train
6,920 / valid 872 / test 1,821; the default preset's), `data.dataset=sst2` (SentEval's copy: train
is GLUE's 67,349 phrases), or a `datasets.save_to_disk` folder.
Backbones: model.source=hf:NAME (any Hugging Face encoder by name or folder, from the local cache,
needs `pip install -r requirements-extra.txt`), or model.source=gpt (our GPT: from scratch with a
char tokenizer, or from a finished LM run with --init-from, its tokenizer and architecture).
With train.epochs > 0 the run evaluates and checkpoints once per epoch (the course's loop);
checkpoints/best.pt is the epoch of highest validation accuracy (train.select_by) and is scored
once on the test split: summary.json test_accuracy. labels.json maps class ids to label strings.
"""
from __future__ import annotations

import dataclasses
import math
from contextlib import nullcontext
from pathlib import Path
from typing import Callable

import torch

from gpt import rundir
from gpt.batches import ArrayExamples
from gpt.checkpoint import load_checkpoint, load_model_state
from gpt.classifier import GPTClassifier, encode_examples
from gpt.config import ClassifierConfig, DataConfig, GPTConfig, OptimConfig, RunConfig, TrainConfig
from gpt.overrides import from_dict
from gpt.tokenizer import CharTokenizer, load_tokenizer
from gpt.trainer import evaluate, resolve_device
from jobs.classify_data import SMOKE, label_names, read_splits
from jobs.common import run_dir_of
from jobs.context import JobContext
from jobs.errors import UserError
from jobs.stage import train_stage
from reports.classify import write_accuracy_plot

JOB = "classify"


def default() -> RunConfig:
    """UW CSE 447/517 A2 §3: roberta-base on SST-2, batch 64, AdamW lr 5e-5 (eps 1e-8, torch's weight decay
    0.01, betas 0.9/0.999), no clipping (zero_grad, backward, step), 10 epochs; best by val accuracy.
    The assignment's SST-2 is the sentence-level split (train 6,920 / valid 872 / test 1,821)."""
    return RunConfig(name="roberta-sst2", model=ClassifierConfig(source="hf:roberta-base", block_size=128),
                     data=DataConfig(dataset="sst2-sentences"),
                     optim=OptimConfig(name="adamw", lr=5e-5, betas=(0.9, 0.999), weight_decay=0.01,
                                       grad_clip=0.0),
                     train=TrainConfig(epochs=10, batch_size=64, eval_iters=20, log_interval=50,
                                       select_by="val_accuracy"))


def smoke() -> RunConfig:
    """A 2-layer GPT from scratch on the smoke set (Shakespeare vs Wikipedia), 4 epochs: seconds."""
    return RunConfig(name="smoke", device="cpu",
                     model=ClassifierConfig(block_size=48, backbone=GPTConfig(
                         n_layer=2, n_head=2, n_embd=64, block_size=48, dropout=0.0)),
                     data=DataConfig(dataset=SMOKE),
                     optim=OptimConfig(lr=2e-3, weight_decay=0.01),
                     train=TrainConfig(epochs=4, batch_size=32, eval_iters=0, log_interval=5,
                                       select_by="val_accuracy"))


PRESETS: dict[str, Callable[[], RunConfig]] = {"default": default, "smoke": smoke}


def _per_epoch(cfg: RunConfig, cfg_train: int) -> RunConfig:
    """With train.epochs > 0: evaluate (and so checkpoint) once per epoch, like the course loop."""
    if cfg.train.epochs <= 0:
        return cfg
    steps = max(1, math.ceil(cfg_train / (cfg.train.batch_size * cfg.train.grad_accum)))
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, eval_interval=steps,
                                                              checkpoint_interval=0))


def _gpt_backbone(cfg: RunConfig, run_dir: Path, texts: list[str]):
    """(cfg with the backbone filled in, tokenizer, checkpoint to start from or None)."""
    if not cfg.init_from:
        tokenizer = CharTokenizer.from_text("".join(texts))
        return cfg, tokenizer, None
    src = Path(cfg.init_from)
    if not rundir.is_complete(src) or not (src / rundir.TOKENIZER).is_file():
        raise UserError(f"init_from={src} is not a finished language-model run (needs {rundir.SUMMARY} "
                        f"and tokenizer.json); pass the dir `main.py full_run ... --print-run-dir` prints")
    src_model = from_dict(rundir.read_json(src / rundir.CONFIG)).model
    if not isinstance(src_model, GPTConfig):
        raise UserError(f"init_from={src} is a model.arch={src_model.arch} run; classify starts "
                        f"from GPT runs only")
    backbone = dataclasses.replace(src_model, dropout=cfg.model.backbone.dropout)
    model_cfg = dataclasses.replace(cfg.model, backbone=backbone)   # validates block_size
    ckpt = src / (rundir.BEST if (src / rundir.BEST).exists() else rundir.LAST)
    return dataclasses.replace(cfg, model=model_cfg), load_tokenizer(src / rundir.TOKENIZER), ckpt


def _char_safe(tokenizer):
    """encode() that drops characters a char vocabulary lacks (valid/test may hold unseen ones)."""
    if not isinstance(tokenizer, CharTokenizer):
        return tokenizer.encode
    return lambda text: tokenizer.encode("".join(c for c in text if c in tokenizer.stoi))


def build_classifier(cfg: RunConfig, run_dir: Path, splits: dict, n_classes: int):
    """(cfg filled from the data, model, encode, pad id, tokenizer to save or None) for the
    configured backbone."""
    torch.manual_seed(cfg.seed)   # the fresh head's init is a function of the seed
    if cfg.model.source != "gpt":
        from jobs.hf_classifier import load_hf_classifier   # optional extra, imported on use
        model_cfg = dataclasses.replace(cfg.model, n_classes=n_classes)
        model, encode, pad = load_hf_classifier(cfg.model.hf_name, n_classes, cfg.model.block_size)
        return dataclasses.replace(cfg, model=model_cfg), model, encode, pad, None
    cfg, tokenizer, ckpt = _gpt_backbone(cfg, run_dir, splits["train"][0])
    model_cfg = dataclasses.replace(cfg.model, n_classes=n_classes, vocab_size=tokenizer.vocab_size)
    cfg = dataclasses.replace(cfg, model=model_cfg)
    model = GPTClassifier(model_cfg)
    if ckpt is not None and not (run_dir / rundir.LAST).exists():
        model.load_backbone(ckpt)
    return cfg, model, _char_safe(tokenizer), 0, tokenizer   # pads are never read: causal + masked pooling


def _check_given(cfg: RunConfig, names: list[str]) -> None:
    if cfg.model.arch != "classifier":
        raise UserError(f"classify needs model.arch=classifier (got {cfg.model.arch}); start from a "
                        f"classify preset")
    if cfg.init_from and cfg.model.source != "gpt":
        raise UserError(f"init_from starts our GPT from a language-model run; model.source="
                        f"{cfg.model.source} brings its own weights: drop one of them")
    if cfg.model.n_classes not in (0, len(names)):
        raise UserError(f"model.n_classes={cfg.model.n_classes} but the data has {len(names)} labels "
                        f"({', '.join(names[:10])}); leave model.n_classes=0")


def _score_test(cfg: RunConfig, run_dir: Path, model, batches: ArrayExamples) -> dict:
    """checkpoints/best.pt on the test split: fields for summary.json (the trainer adds them
    before writing it, so a run killed while scoring is not complete and scores on rerun)."""
    device = resolve_device(cfg.device)
    ckpt = load_checkpoint(run_dir / rundir.BEST, device)
    model = model.to(device)
    load_model_state(model, ckpt["model"], run_dir / rundir.BEST)
    test = evaluate(model, batches, "test", cfg.train.batch_size, 0, device, nullcontext)
    return {"test_loss": test["loss"], "test_accuracy": test["accuracy"], "test_step": int(ckpt["step"]),
            "test_examples": batches.size("test")}


def run(cfg: RunConfig, ctx: JobContext) -> dict:
    """Finetune on data.dataset's train split, pick best.pt by validation, score it on test."""
    run_dir = run_dir_of(JOB, cfg, ctx)   # named by the config as given, like --print-run-dir
    splits = read_splits(cfg.data, ctx)
    names = label_names(splits)
    _check_given(cfg, names)
    run_dir.mkdir(parents=True, exist_ok=True)
    rundir.write_json(run_dir / rundir.LABELS, {"labels": names, **{f"{s}_examples": len(t) for s, (t, _) in
                                                             splits.items()}})
    cfg, model, encode, pad, tokenizer = build_classifier(cfg, run_dir, splits, len(names))
    ids = {name: i for i, name in enumerate(names)}
    arrays = {split: encode_examples(encode, texts, [ids[v] for v in labels], cfg.model.block_size, pad)
              for split, (texts, labels) in splits.items()}
    batches = ArrayExamples(arrays)
    cfg = _per_epoch(cfg, batches.size("train"))

    def after(path: Path) -> dict | None:   # before summary.json: the accuracy plot, the test score
        write_accuracy_plot(path)
        return _score_test(cfg, path, model, batches) if "test" in arrays else None
    return train_stage(cfg, ctx, run_dir, batches, tokenizer, model=model, after=after)
