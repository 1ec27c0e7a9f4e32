"""The named sweeps: each a list of runs (job, config, label), built and validated before anything runs.

    runs = build("smoke", ["train.max_iters=30"])         # 4 SweepRuns, overrides applied to each
    runs = build_grid("full_run", "smoke", ["optim.lr=1e-3,3e-4"], max_points=256)

`python main.py sweep NAME` (jobs/tools/sweep_cli.py) runs or submits them and keeps their index.
Jobs are looked up through the registry (jobs.job_module), not imported: a sweep names the job
that runs it and the preset it starts from.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from gpt.config import ConfigError, DataConfig, OptimConfig, RunConfig, SampleConfig, TrainConfig, model_preset
from gpt.overrides import apply_overrides
from jobs import JOBS, ablations, grid, job_module


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep: its experiment number, job, config and a label for tables."""

    exp: int | None      # experiment number kept from the assignment (None: not numbered)
    job: str             # the job module that runs it (a key of jobs.JOBS)
    cfg: RunConfig
    label: str           # short human description for tables and legends


def ift6135_12() -> list[SweepRun]:
    """IFT6135: LSTM vs GPT-1 on WikiText-2 (GPT-1 BPE), batch 16, 10 epochs, lr 1e-3, no dropout.

    The original froze OpenAI's GPT-1 embeddings: add `model.embeddings_file=embeddings.npz
    model.freeze_embeddings=true` (the file is not offline; learned embeddings otherwise)."""
    base = RunConfig(
        data=DataConfig(dataset="wikitext2-gpt1", tokenizer="gpt1"),
        # 9,205 training sequences of 256 / batch 16 = 575 steps: one evaluation per epoch
        train=TrainConfig(epochs=10, batch_size=16, eval_interval=575, eval_iters=0, log_interval=50,
                          loss_reduction="sequence"),   # the assignment's per-sequence mean
        sample=SampleConfig(prompts=(" The best way to learn",), max_new_tokens=30, top_k=40))
    plan = [(1, "lstm", 1, "adam"), (2, "lstm", 1, "adamw"), (3, "lstm", 1, "sgd"),
            (4, "lstm", 1, "momentum"), (5, "minigpt1", 1, "adam"), (6, "minigpt1", 1, "adamw"),
            (7, "minigpt1", 1, "sgd"), (8, "minigpt1", 1, "momentum"), (9, "lstm", 2, "adamw"),
            (10, "lstm", 4, "adamw"), (11, "minigpt1", 2, "adamw"), (12, "minigpt1", 4, "adamw")]
    runs = []
    for exp, arch, layers, opt in plan:
        # torch's Adam/AdamW/SGD defaults, as run_exp.py used them: no decay for adam, the
        # others decay every parameter (model.parameters()); no clipping
        optim = OptimConfig(name=opt, lr=1e-3, betas=(0.9, 0.999), momentum=0.9, grad_clip=0.0,
                            weight_decay=0.0 if opt == "adam" else 5e-4, decay_scope="all")
        arch_name = "LSTM" if arch == "lstm" else "GPT-1"
        cfg = dataclasses.replace(base, name=f"exp{exp:02d}-{arch}-{layers}l-{opt}", optim=optim,
                                  model=model_preset(arch, n_layer=layers))
        runs.append(SweepRun(exp, "full_run", cfg, f"{arch_name} {layers} layer(s) {opt}"))
    return runs


def smoke() -> list[SweepRun]:
    """Four tiny char GPTs (full_run's smoke preset varied): each well under 30 s on a CPU."""
    base = job_module("full_run").PRESETS["smoke"]()
    variants = [("base", "base", {}), ("lr1e-3", "lr=1e-3", {"optim.lr": "1e-3"}),
                ("2layer", "n_layer=2", {"model.n_layer": "2"}),
                ("64d", "n_embd=64 n_head=4", {"model.n_head": "4", "model.n_embd": "64"})]
    return [SweepRun(None, "full_run", apply_overrides(base, [f"name=smoke-{key}"] +
                                                       [f"{k}={v}" for k, v in changes.items()]), label)
            for key, label, changes in variants]


def attention_ablations(overrides: list[str]) -> list[SweepRun]:
    """Every attention variant of jobs/ablations.py on one base (smoke-sized char GPT by default).

    The overrides change the base; each variant's own keys are applied after them."""
    base = apply_overrides(job_module("attention_ablation").PRESETS["smoke"](), overrides)
    runs = []
    for key, label, changes in ablations.VARIANTS:
        try:
            cfg = apply_overrides(base, [f"name={base.name}-{key}", *changes])
        except ConfigError as exc:
            raise ConfigError(f"sweep attention_ablations, variant {key}: {exc}; nothing was run") from None
        runs.append(SweepRun(None, "attention_ablation", cfg, label))
    return runs


SWEEPS = {"ift6135_12": ift6135_12, "smoke": smoke, "attention_ablations": None, "grid": None}


def build(name: str, overrides: list[str]) -> list[SweepRun]:
    """All runs of a named sweep with the overrides applied; ConfigError names the invalid run."""
    if name not in SWEEPS or name == "grid":
        raise ConfigError(f"unknown sweep {name!r}; choose one of: {', '.join(SWEEPS)}")
    if name == "attention_ablations":
        return attention_ablations(overrides)
    runs = []
    for run in SWEEPS[name]():
        try:
            runs.append(dataclasses.replace(run, cfg=apply_overrides(run.cfg, overrides)))
        except ConfigError as exc:
            raise ConfigError(f"sweep {name}, run {run.cfg.name}: {exc}; nothing was run") from None
    return runs


def build_grid(job: str, preset: str, items: list[str], max_points: int) -> list[SweepRun]:
    """The grid points of `items` over `job`'s `preset`, one run each (see jobs/grid.py)."""
    if job not in JOBS:
        raise ConfigError(f"--job {job!r} is not a job; choose one of: {', '.join(JOBS)}")
    presets = job_module(job).PRESETS
    if preset not in presets:
        raise ConfigError(f"--preset {preset!r} is not a preset of {job}; choose one of: {', '.join(presets)}")
    if max_points < 1:  # --max-points 0 or negative
        raise ConfigError(f"--max-points {max_points} must be at least 1")
    _, points = grid.expand(presets[preset](), items, max_points)
    return [SweepRun(None, job, p.cfg, p.label) for p in points]
