"""The experiments `main.py reproduce` knows: which job runs them, at full and smoke scale, and
how our number(s) are read back from the finished run dirs.

Full scale is each original's settings (the presets that claim a course); smoke scale is the
same pipeline shrunk to minutes on a CPU, with the data substitutions listed in `notes`.
The reference numbers themselves live in jobs/tools/references.json.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

from gpt import rundir
from gpt.config import DataConfig, OptimConfig, RunConfig, TrainConfig, model_preset
from gpt.overrides import apply_overrides
from jobs import job_module, sweeps
from jobs.launcher.tasks import Task

SCALES = ("full", "smoke")


def _preset(job: str, name: str) -> RunConfig:
    """Preset `name` of job `job`, by registry name (the experiments start from the jobs' presets)."""
    return job_module(job).PRESETS[name]()


@dataclass(frozen=True)
class Experiment:
    """A course's headline experiment: the job that runs it, its configs per scale, and
    how its results become table rows next to the reference."""

    job: str                                       # a key of jobs.JOBS
    configs: Callable[[str], list[RunConfig]]      # scale -> the runs
    collect: Callable[[list[Task]], list[dict]]    # -> rows {"ref", "label", "ours", "run_dir"}
    notes: dict[str, str]                          # scale -> what differs from the original


def _summary(task: Task) -> dict | None:
    return rundir.read_json(task.run_dir / rundir.SUMMARY) if rundir.is_complete(task.run_dir) else None


# ---------------------------------------------------------------- CS224n birth places

def _cs224n_configs(scale: str) -> list[RunConfig]:
    return [_preset("pretrain", "default" if scale == "full" else "smoke")]


def _cs224n_collect(tasks: list[Task]) -> list[dict]:
    summary = _summary(tasks[0]) or {"stages": []}
    dev = {s["variant"]: s for s in summary["stages"]
           if s.get("kind") == "birthplace_accuracy" and s.get("eval_file") == "birth_dev.tsv"}
    rows = []
    for ref, variant, label in (("pretrain_finetune", "pretrain_finetune", "pretrain + finetune"),
                                ("pretrain_finetune_students", "pretrain_finetune", "pretrain + finetune"),
                                ("no_pretrain", "no_pretrain", "no pretraining"),
                                ("london", "london", "always London")):
        stage = dev.get(variant, {})
        rows.append({"ref": ref, "label": label, "ours": stage.get("accuracy"),
                     "run_dir": stage.get("run_dir", str(tasks[0].run_dir))})
    return rows


# ---------------------------------------------------------------- IFT6135 12 runs

def _ift6135_configs(scale: str) -> list[RunConfig]:
    cfgs = [run.cfg for run in sweeps.ift6135_12()]
    if scale == "full":
        return cfgs
    small = []
    for cfg in cfgs:   # 12 heads of 4 dims / a 32-unit LSTM, 8 steps of 4 sequences of 64
        shrink = {"n_embd": 48, "block_size": 64}
        if cfg.model.arch == "lstm":
            shrink["hidden_size"] = 32
        small.append(dataclasses.replace(
            cfg, name=cfg.name + "-smoke", model=dataclasses.replace(cfg.model, **shrink),
            train=dataclasses.replace(cfg.train, epochs=0, max_iters=8, batch_size=4, eval_interval=8,
                                      eval_iters=2, log_interval=4),
            sample=dataclasses.replace(cfg.sample, max_new_tokens=5)))
    return small


def _ift6135_collect(tasks: list[Task]) -> list[dict]:
    rows = []
    for task in tasks:
        opt = task.cfg.optim.name
        ref = {"adam": "adam_adamw", "adamw": "adam_adamw", "sgd": "sgd"}.get(opt)
        summary = _summary(task) or {}
        rows.append({"ref": ref, "label": task.cfg.name, "ours": summary.get("best_val_ppl"),
                     "run_dir": str(task.run_dir)})
    return rows


# ---------------------------------------------------------------- nanoGPT char, JHU full run

def _nanogpt_configs(scale: str) -> list[RunConfig]:
    cfg = _preset("full_run", "shakespeare_char")
    if scale == "smoke":
        cfg = dataclasses.replace(
            cfg, name="shakespeare-char-smoke",
            model=dataclasses.replace(cfg.model, n_layer=2, n_head=2, n_embd=64, block_size=64),
            train=dataclasses.replace(cfg.train, max_iters=50, batch_size=16, eval_interval=25,
                                      eval_iters=4, log_interval=25),
            sample=dataclasses.replace(cfg.sample, max_new_tokens=40))
    return [cfg]


# nanoGPT README "I only have a macbook": train_shakespeare_char.py with --device=cpu
# --compile=False --eval_iters=20 --log_interval=1 --block_size=64 --batch_size=12 --n_layer=4
# --n_head=4 --n_embd=128 --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0 (the cosine here
# always decays over max_iters, which is what lr_decay_iters=max_iters asks for)
NANOGPT_CPU = ("model.n_layer=4", "model.n_head=4", "model.n_embd=128", "model.block_size=64",
               "model.dropout=0.0", "train.batch_size=12", "train.eval_iters=20")


def nanogpt_cpu_recipe(max_iters: int = 2000) -> RunConfig:
    """full_run's shakespeare_char preset with nanoGPT's CPU recipe (its README), max_iters steps."""
    cfg = apply_overrides(_preset("full_run", "shakespeare_char"), [*NANOGPT_CPU, f"train.max_iters={max_iters}"])
    return dataclasses.replace(cfg, name="shakespeare-char-cpu")


def _nanogpt_cpu_configs(scale: str) -> list[RunConfig]:
    if scale == "full":
        return [nanogpt_cpu_recipe()]
    cfg = nanogpt_cpu_recipe(max_iters=100)
    return [dataclasses.replace(cfg, name="shakespeare-char-cpu-smoke",
                                train=dataclasses.replace(cfg.train, eval_interval=50),
                                sample=dataclasses.replace(cfg.sample, max_new_tokens=40))]


def _jhu_configs(scale: str) -> list[RunConfig]:
    if scale == "full":
        return [_preset("full_run", "jhu_wt103")]
    # offline: WikiText-2 valid/test and the toolkit's byte BPE stand in for WT-103 + GPT-2 BPE
    return [RunConfig(name="jhu-smoke", model=model_preset("gpt-nano", block_size=32, dropout=0.1),
                      data=DataConfig(dataset="wikitext2", tokenizer="bpe", bpe_vocab_size=1024,
                                      train_split="valid", val_split="test"),
                      optim=OptimConfig(lr=5e-4 * 4, betas=(0.9, 0.95), weight_decay=0.1, grad_clip=1.0),
                      train=TrainConfig(max_iters=60, batch_size=32, eval_interval=30, eval_iters=5,
                                        log_interval=10),
                      # the course's four prefixes (full_run's spec_a samples), shorter
                      sample=dataclasses.replace(_preset("full_run", "spec_a").sample, max_new_tokens=10))]


def _single(key: str, field: str) -> Callable[[list[Task]], list[dict]]:
    def collect(tasks: list[Task]) -> list[dict]:
        summary = _summary(tasks[0]) or {}
        return [{"ref": key, "label": tasks[0].cfg.name, "ours": summary.get(field),
                 "run_dir": str(tasks[0].run_dir)}]
    return collect


EXPERIMENTS: dict[str, Experiment] = {
    "cs224n_pretrain_finetune": Experiment(
        "pretrain_finetune", _cs224n_configs, _cs224n_collect,
        {"full": "CS224n a5 settings (4/8/256, 650 + 10 / 75 epochs, minGPT token schedule)",
         "smoke": "gpt-nano, block 80, 1 pretrain epoch, 1-2 finetune epochs"}),
    "ift6135_12": Experiment(
        "full_run", _ift6135_configs, _ift6135_collect,
        {"full": "run_exp.py settings; embeddings learned unless model.embeddings_file is given",
         "smoke": "n_embd 48, block 64, 8 steps of batch 4 per run"}),
    "nanogpt_char": Experiment(
        "full_run", _nanogpt_configs, _single("val_loss", "best_val_loss"),
        {"full": "config/train_shakespeare_char.py", "smoke": "2/2/64, block 64, 50 iters"}),
    "nanogpt_char_cpu": Experiment(
        "full_run", _nanogpt_cpu_configs, _single("val_loss", "best_val_loss"),
        {"full": "nanoGPT README's CPU recipe: 4/4/128, block 64, batch 12, dropout 0, eval_iters 20, "
                 "2000 iters (minutes on a laptop CPU)",
         "smoke": "the same model, 100 iters"}),
    "jhu_full_run": Experiment(
        "full_run", _jhu_configs, _single("val_ppl", "best_val_ppl"),
        {"full": "WikiText-103 raw + GPT-2 BPE (python data.py download wikitext103 gpt2)",
         "smoke": "WikiText-2 valid/test + toolkit byte BPE 1024 (offline), 60 iters"}),
}
