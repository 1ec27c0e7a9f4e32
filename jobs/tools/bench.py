"""Benchmarks that print figures (speed and memory are measured here, never asserted in tests).

    python main.py bench train --preset jhu-nano --steps 20 --device cpu
    python main.py bench train --preset gpt2-124m --device cuda --compile --compare plain
    python main.py bench report --runs 200          # reports/ on 200 synthetic run dirs
    python main.py bench job full_run --preset smoke  # a whole job, split by phase (jobs/tools/bench_job.py)
    python main.py bench train --attention all      # every attention variant, ratio to fused
    python main.py bench train --tasks 2 --device cpu  # data-parallel scaling (jobs/tools/bench_scaling.py)
    python main.py bench attention --lengths 64,128,256,512   # one layer's cost vs T (jobs/tools/bench_attention.py)

`bench train` runs the real trainer (`gpt.trainer.train`, prefetch and logging included) on random
tokens in a throw-away run dir and reads back the trainer's own steady-state ms/step (the first
log window, which holds warm-up and compilation, is skipped; evaluation and checkpoints are kept
out of the clock). It prints ms/step, tokens/s, MFU against this GPU's dense bf16 peak
(gpt/perf.py; omitted with the reason on CPUs and unknown GPUs) and peak memory.
`--compare plain` also times a minimal hand-written loop (forward, backward, clip, AdamW on one
batch already on the device) over the same model in the same process: `trainer_vs_plain` is the
trainer's tokens/s over the plain loop's, a measured ratio of the trainer's overhead.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from gpt import build_model, perf
from gpt.batches import TokenStream
from gpt.config import MODEL_PRESETS, ConfigError, RunConfig, preset_name
from gpt.optim import make_optimizer
from gpt.rundir import METRICS, read_jsonl
from gpt.trainer import resolve_device, train
from jobs.tools.bench_scaling import bench_scaling
from jobs.tools.bench_setup import PRESETS, model_and_batch, random_tokens, run_config

def time_trainer(cfg: RunConfig, batches: TokenStream) -> dict:
    """The trainer's own steady-state figures for `cfg`, from a throw-away run dir."""
    device = resolve_device(cfg.device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        summary = train(cfg, Path(tmp) / "run", batches)
        rows = [r for r in read_jsonl(Path(tmp) / "run" / METRICS) if r["kind"] == "train"]
    ms = summary["ms_per_step"]                      # median over the timed windows
    tokens = cfg.train.batch_size * cfg.train.grad_accum * cfg.model.block_size
    return {"ms_per_step": ms, "tokens_per_s": tokens / (ms / 1000),
            "windows_timed": max(0, len(rows) - 1),
            "peak_mem_mb": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None}


def time_plain(cfg: RunConfig, batches: TokenStream, steps: int, warmup: int) -> dict:
    """A minimal hand loop over the same model and batch: the floor the trainer is compared to."""
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model).to(device)
    opt = make_optimizer(model, cfg.optim, device.type)
    step_fn = torch.compile(model) if cfg.train.compile else model
    x, y, _ = batches.train_batch(cfg.seed, 0, cfg.train.batch_size)
    x, y = x.to(device), y.to(device)
    use_amp = device.type == "cuda" and cfg.train.amp

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            _, loss = step_fn(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(warmup):
        step()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()                                   # one sync per window, as the trainer does
    sec = (time.perf_counter() - start) / steps
    return {"ms_per_step": sec * 1000, "tokens_per_s": cfg.train.batch_size * cfg.model.block_size / sec}


def bench_train(args: argparse.Namespace) -> dict:
    """Figures for one model/batch: the trainer's, and with --compare plain the hand loop's too."""
    model_cfg, batch = model_and_batch(args)
    cfg = run_config(model_cfg, batch, args)
    device = resolve_device(cfg.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    batches = random_tokens(model_cfg, batch)
    n_params = build_model(model_cfg).num_params()
    fpt = perf.flops_per_token(model_cfg, n_params)
    peak, no_peak = perf.device_peak(device)
    trainer = time_trainer(cfg, batches)
    out = {"preset": args.preset or args.model,
           "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
           "torch": torch.__version__, "params": n_params, "batch_size": batch,
           "block_size": model_cfg.block_size, "compile": args.compile,
           "amp_bf16": device.type == "cuda", **trainer,
           "model_tflops": fpt * trainer["tokens_per_s"] / 1e12,
           "mfu_pct": perf.mfu_pct(fpt, trainer["tokens_per_s"], peak),
           "torch_threads": torch.get_num_threads()}
    if no_peak:
        out["mfu_omitted"] = no_peak
    if args.compare == "plain":
        plain = time_plain(cfg, batches, args.steps, args.warmup)
        out["plain"] = {**plain, "mfu_pct": perf.mfu_pct(fpt, plain["tokens_per_s"], peak)}
        out["trainer_vs_plain"] = trainer["tokens_per_s"] / plain["tokens_per_s"]
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `bench train` and `bench report` subcommands and their flags."""
    sub = parser.add_subparsers(dest="what", required=True, metavar="what")
    t = sub.add_parser("train", help="time the trainer on random tokens (ms/step, tokens/s, MFU, memory)")
    t.add_argument("--preset", choices=sorted(PRESETS), default=None,
                   help="model + batch of a reference setting: " + ", ".join(sorted(PRESETS)))
    t.add_argument("--model", default="gpt-nano", choices=sorted(MODEL_PRESETS),
                   type=lambda name: preset_name(name, MODEL_PRESETS),
                   help="model size preset when no --preset is given")
    t.add_argument("--block-size", type=int, default=0, help="0 = the preset's")
    t.add_argument("--batch-size", type=int, default=0, help="0 = the preset's (64 with --model)")
    t.add_argument("--vocab-size", type=int, default=8192, help="with --model only")
    t.add_argument("--steps", type=int, default=20, help="timed steps (after --warmup)")
    t.add_argument("--warmup", type=int, default=5, help="untimed steps first (also the log window)")
    t.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    t.add_argument("--compile", action="store_true", help="torch.compile the model (warm-up not timed)")
    t.add_argument("--compare", choices=("plain",), default=None,
                   help="plain: also time a minimal hand loop and print trainer_vs_plain")
    t.add_argument("--attention", default=None, metavar="VARIANTS",
                   help="'all' or a comma list of attention variants (jobs/ablations.py keys): "
                        "time each in this one process, print tokens/s and the ratio to fused")
    t.add_argument("--tasks", type=int, default=1,
                   help="K > 1: time 1 and K data-parallel ranks (torchrun, per-rank batch kept) and "
                        "print the scaling efficiency")
    t.set_defaults(bench=_bench_train)
    from jobs.tools.bench_attention import add_parser as add_attention   # `bench attention`
    add_attention(sub)
    from jobs.tools import bench_job
    j = sub.add_parser("job", help="time a whole job end to end in a fresh process; print the split "
                       "(start-up, data, train loop, eval, plots, sampling, writes)",
                       description=bench_job.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench_job.add_arguments(j)
    j.set_defaults(bench=bench_job.main)
    r = sub.add_parser("report", help="build a report of N synthetic run dirs, twice, and time it")
    r.add_argument("--runs", type=int, default=200)
    r.set_defaults(bench=_bench_report)


def _checked(args: argparse.Namespace) -> argparse.Namespace:
    from jobs.errors import UserError
    for name in ("steps", "warmup", "block_size", "batch_size", "vocab_size", "tasks"):
        value = getattr(args, name)
        if value < 0 or (name in ("steps", "vocab_size", "tasks") and value == 0):
            raise UserError(f"bench train --{name.replace('_', '-')}={value} must be "
                            f"{'> 0' if name in ('steps', 'vocab_size', 'tasks') else '>= 0'}")
    if args.tasks > 1 and (args.attention or args.compare):
        raise UserError("bench train --tasks goes alone: drop --attention/--compare (time those with --tasks 1)")
    return args


def _bench_train(args: argparse.Namespace) -> None:
    args = _checked(args)
    if args.tasks > 1:
        print(json.dumps(bench_scaling(args), indent=2))
        return
    if args.attention is None:
        print(json.dumps(bench_train(args), indent=2))
        return
    from jobs import ablations
    try:
        variants = ablations.select(args.attention)
    except ValueError as exc:
        raise ConfigError(f"--attention: {exc}") from None
    if ablations.DEFAULT_KEY not in [key for key, _, _ in variants]:  # the ratios' reference
        variants.insert(0, ablations.VARIANTS[0])
    rows = []
    for key, _, overrides in variants:
        args.model_overrides = overrides
        rows.append((key, bench_train(args)))
    reference = dict(rows)[ablations.DEFAULT_KEY]["tokens_per_s"]
    first = rows[0][1]
    print(f"{first['device']}, {first['preset']} block {first['block_size']} batch {first['batch_size']}, "
          f"{args.steps} timed steps, {first['torch_threads']} threads")
    print(f"{'variant':<20} {'params':>9} {'ms/step':>9} {'tokens/s':>11} {'vs fused':>9}")
    for key, r in rows:
        print(f"{key:<20} {r['params']:>9,} {r['ms_per_step']:>9.1f} {r['tokens_per_s']:>11,.0f} "
              f"{r['tokens_per_s'] / reference:>8.2f}x")


def _bench_report(args: argparse.Namespace) -> None:
    from reports import bench
    bench.main(["--runs", str(args.runs)])


def main(args: argparse.Namespace) -> int:
    """Run the chosen benchmark (it prints its figures); exit code 0."""
    args.bench(args)
    return 0
