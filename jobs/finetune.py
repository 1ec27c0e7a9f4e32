"""finetune: learn "Where was X born?" -> place on birth_places_train.tsv (CS224n birth places, `run.py finetune`).

    python main.py finetune --preset smoke                              # from scratch, < 1 min CPU
    python main.py finetune                                             # CS224n: 75 epochs from scratch
    python main.py finetune --preset pretrained init_from=runs/pretrain/cs224n-XXXXXXXX   # 10 epochs
    python main.py finetune --preset pretrained init_from=DIR --print-run-dir   # for chained jobs

Writes runs/finetune/<name>-<hash8>/ like pretrain, plus data.json (pairs used and skipped).
init_from must be a finished pretrain run with the same architecture and vocabulary; its
checkpoints/best.pt is loaded strictly. With data.text_fidelity=original (default) the train file
is read as CS224n's NameDataset reads it: non-ASCII characters dropped ("Gödel" -> "Gdel");
data.text_fidelity=clean keeps them (pairs whose characters are outside wiki.txt are skipped). The "val" loss is on data.val_split (birth_dev.tsv) and
only monitors: `evaluate` scores the final weights (last.pt), so dev answers never pick them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from gpt import rundir
from gpt.birthplace import NameDataset, example_problem
from gpt.config import OptimConfig, RunConfig, TrainConfig, model_preset
from gpt.overrides import from_dict, to_dict
from gpt.tokenizer import CharTokenizer, load_tokenizer
from jobs.birthplace_data import PRETRAIN_DATASET, read_pairs, resolve_file, vocabulary
from jobs.common import run_dir_of, with_vocab
from jobs.context import JobContext
from jobs.cs224n import FINETUNE_DATA, SMOKE_MODEL, WIKI_VOCABULARY, cs224n_optim
from jobs.errors import UserError
from jobs.stage import train_stage

JOB = "finetune"
# architecture fields that may differ between a pretrain run and its finetuning
FREE_MODEL_FIELDS = {"vocab_size", "dropout"}


def _cs224n(name: str, epochs: int) -> RunConfig:
    """CS224n finetuning: batch 256, lr 6e-4, minGPT's token schedule with the pretraining's
    final_tokens (200 x 2,938 x 128, as run.py passes len(pretrain_dataset)): 75 epochs end
    at ~85 % of the rate, 10 epochs near 100 %. Epochs as its DataLoader: file order, the last
    batch partial (2,000 pairs: 8 batches, the last of 208)."""
    return RunConfig(name=name, model=model_preset("cs224n"), data=FINETUNE_DATA,
                     optim=cs224n_optim(6e-4),
                     train=TrainConfig(epochs=epochs, batch_size=256, eval_interval=50, eval_iters=0,
                                       log_interval=10, epoch_batches="ordered"))


def _smoke(name: str, epochs: int) -> RunConfig:
    return RunConfig(name=name, model=SMOKE_MODEL, data=FINETUNE_DATA,
                     optim=OptimConfig(lr=3e-3, schedule="mingpt", warmup_tokens=64 * 79 * 5,
                                       final_tokens=64 * 79 * 200),
                     train=TrainConfig(epochs=epochs, batch_size=64, eval_interval=50, eval_iters=2,
                                       log_interval=10))


PRESETS: dict[str, Callable[[], RunConfig]] = {
    "default": lambda: _cs224n("scratch", 75),          # no pretraining
    "pretrained": lambda: _cs224n("pretrained", 10),    # with init_from=<pretrain run dir>
    "smoke": lambda: _smoke("smoke-scratch", 2),
    "smoke_pretrained": lambda: _smoke("smoke-pretrained", 1),
}


def check_pretrain_run(cfg: RunConfig, tokenizer: CharTokenizer) -> None:
    """UserError unless cfg.init_from is a finished pretrain run this model and vocabulary fit."""
    src = Path(cfg.init_from)
    if not (src / rundir.CONFIG).is_file():
        raise UserError(f"init_from={src} is not a run dir (no {rundir.CONFIG}); pass the dir that "
                        f"`main.py pretrain ... --print-run-dir` prints")
    if not rundir.is_complete(src):
        raise UserError(f"init_from={src} has not finished (no {rundir.SUMMARY}); wait for the pretrain "
                        f"job, or rerun it to resume")
    try:
        src_cfg = from_dict(rundir.read_json(src / rundir.CONFIG))
        src_tok = load_tokenizer(src / rundir.TOKENIZER)
    except ValueError as exc:
        raise UserError(f"init_from={src}: {exc}") from None
    if src_cfg.data.dataset != PRETRAIN_DATASET:
        raise UserError(f"init_from={src} is a {src_cfg.data.dataset!r} run, not a pretrain run "
                        f"(data.dataset={PRETRAIN_DATASET!r}); finetune from runs/pretrain/...")
    ours, theirs = to_dict(cfg.model), to_dict(src_cfg.model)
    differ = sorted(k for k in set(ours) | set(theirs)
                    if k not in FREE_MODEL_FIELDS and ours.get(k) != theirs.get(k))
    if differ:
        shown = ", ".join(f"model.{k}={ours.get(k)} (pretrained: {theirs.get(k)})" for k in differ)
        raise UserError(f"init_from={src}: architecture differs: {shown}; use the pretrain run's model "
                        f"settings")
    if src_tok.to_json() != tokenizer.to_json():
        raise UserError(f"init_from={src}: its tokenizer.json is not the wiki.txt vocabulary this "
                        f"finetuning uses; pretrain again on the same data root")


def _usable_pairs(ctx: JobContext, name: str, tokenizer: CharTokenizer, block_size: int,
                  ascii: bool = False):
    """(pairs that fit, skipped reasons): unknown characters or too long are skipped and counted.

    ascii=True strips non-ASCII characters first (CS224n's NameDataset does, on the train file)."""
    path = resolve_file(ctx, name)
    kept, skipped = [], []
    for n, (question, place) in enumerate(read_pairs(path, ascii), 1):
        problem = example_problem(tokenizer, block_size, question, place)
        if problem:
            skipped.append(f"{name} pair {n}: {problem}")
        else:
            kept.append((question, place))
    if not kept:
        raise UserError(f"{path}: none of its pairs can be used ({skipped[0]})")
    return kept, skipped


def run(cfg: RunConfig, ctx: JobContext) -> dict:
    """Finetune on (question, place) pairs, from scratch or from a pretrain run; returns the summary."""
    run_dir = run_dir_of(JOB, cfg, ctx)
    tokenizer = vocabulary(ctx)
    if cfg.init_from and not (run_dir / rundir.LAST).exists():   # the trainer reads it only then
        check_pretrain_run(cfg, tokenizer)
    splits, report = {}, {}
    for split, name in (("train", cfg.data.train_split), ("val", cfg.data.val_split)):
        ascii = split == "train" and cfg.data.text_fidelity == "original"
        splits[split], skipped = _usable_pairs(ctx, name, tokenizer, cfg.model.block_size, ascii)
        report[split] = {"file": name, "pairs": len(splits[split]), "skipped": len(skipped),
                         "skipped_reasons": skipped[:20]}
        if skipped:
            print(f"[finetune] skipped {len(skipped)} pair(s) of {name}, e.g. {skipped[0]}", flush=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    rundir.write_json(run_dir / rundir.DATA_REPORT, report)
    batches = NameDataset(splits, tokenizer, cfg.model.block_size)
    return train_stage(with_vocab(cfg, tokenizer, WIKI_VOCABULARY), ctx, run_dir, batches, tokenizer)
