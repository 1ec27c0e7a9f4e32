"""The train stage every training job runs: run dir, tokenizer, env.json, train, curves, samples.

    summary = train_stage(cfg, ctx, run_dir, batches, tokenizer)   # pretrain, finetune, classify, ...
    summary = train_and_sample("full_run", cfg, ctx)                # full_run, attention_ablation

Idempotent like the trainer: a finished run returns its summary, a checkpoint resumes. What
follows training (loss.png, ppl.png, samples, a job's own evaluations: `after`) runs inside the
trainer's finish hook, before summary.json is written: summary.json is the run's last file, so
a run whose sampling or evaluation fails is not complete, and rerunning it (it resumes at the
last step) does that work again. Data parallel: every rank trains; only rank 0 writes the run
dir's own files (tokenizer, env, plots, samples), as the trainer writes checkpoints and metrics.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gpt import distributed, phases, rundir
from gpt.config import RunConfig
from gpt.tokenizer import save_tokenizer
from gpt.trainer import train
from jobs.common import prepare, write_env
from jobs.context import JobContext
from jobs.errors import UserError
from jobs.run_model import load_run_model, sample_texts, write_samples


def train_stage(cfg: RunConfig, ctx: JobContext, run_dir: Path, batches, tokenizer=None,
                model=None, after: Callable[[Path], dict | None] | None = None) -> dict:
    """Train cfg in run_dir; at the end, before summary.json, loss.png, ppl.png and `after(run_dir)`
    (what it returns joins summary.json).

    tokenizer: saved as tokenizer.json unless there already (None: the caller saved it or has
    none); model: one the caller built (classify), else the trainer builds cfg.model. Returns
    the summary with run_dir.
    """
    run_dir = Path(run_dir)
    main_rank = distributed.from_env().is_main
    run_dir.mkdir(parents=True, exist_ok=True)
    if main_rank:
        with phases.timed("writes"):
            if tokenizer is not None and not (run_dir / rundir.TOKENIZER).exists():
                save_tokenizer(tokenizer, run_dir / rundir.TOKENIZER)
            write_env(run_dir, cfg.device, ctx.attempt)

    def finish(path: Path) -> dict | None:   # rank 0, best.pt and last.pt written, summary.json not yet
        with phases.timed("plots"):
            # matplotlib and pandas load here, once the run has something to draw
            from reports.curves import write_run_plots
            write_run_plots(path)
        return after(path) if after is not None else None
    with phases.timed("train"):
        summary = train(cfg, run_dir, batches, stop=ctx.stop, model=model, finish=finish)
    return {**summary, "run_dir": str(run_dir)}


def write_run_samples(run_dir: Path, cfg: RunConfig) -> None:
    """samples/ of the best weights as cfg.sample says (once: kept when already there); prints them."""
    if (run_dir / rundir.SAMPLES_JSON).exists():
        return
    with phases.timed("sampling"):
        model, tokenizer, _ = load_run_model(run_dir, "best", cfg.device)
        s = cfg.sample
        rows = sample_texts(model, tokenizer, s.prompts, s.temperatures, s.max_new_tokens, s.top_k,
                            s.top_p, cfg.seed, next(model.parameters()).device)
    with phases.timed("writes"):
        print(write_samples(run_dir, rows).read_text(), flush=True)


def check_prompts(cfg: RunConfig, tokenizer) -> None:
    """UserError (before any training) for a sample prompt the tokenizer cannot encode."""
    for prompt in cfg.sample.prompts:
        try:
            tokenizer.encode(prompt)
        except ValueError as exc:
            raise UserError(f"sample.prompts: {prompt!r} cannot be encoded ({exc}); use text of the "
                            "corpus, e.g. sample.prompts=ROMEO:") from None


def train_and_sample(job: str, cfg: RunConfig, ctx: JobContext,
                     after: Callable[[Path], dict | None] | None = None) -> dict:
    """A language model on cfg.data under runs/<job>/: train_stage; its samples (and `after`,
    e.g. a job's evaluations) before summary.json."""
    with phases.timed("data"):
        cfg, corpus, run_dir = prepare(job, cfg, ctx)
    check_prompts(cfg, corpus.tokenizer)

    def samples_then_after(path: Path) -> dict | None:
        write_run_samples(path, cfg)
        return after(path) if after is not None else None
    return train_stage(cfg, ctx, run_dir, corpus.batches, corpus.tokenizer, after=samples_then_after)
