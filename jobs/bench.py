"""Benchmarks that print figures (speed and memory are measured here, never asserted in tests).

    python main.py bench train --model gpt-nano --block-size 32 --batch-size 256 --steps 30
    python main.py bench train --model shakespeare-char --device cuda --compile
    python main.py bench report --runs 200          # reports/ on 200 synthetic run dirs
    python main.py bench train --attention all      # every attention variant, ratio to fused

`bench train` times forward+backward+AdamW on random tokens (no data loading), synchronising
the device before each clock read and skipping warm-up steps. It prints ms/step, tokens/s,
peak memory, and on a GPU the model FLOPs utilisation against that GPU's peak (table below).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from gpt import build_model
from gpt.config import MODEL_PRESETS, ConfigError, OptimConfig, RunConfig, model_preset, preset_name
from gpt.overrides import apply_overrides
from gpt.optim import make_optimizer
from gpt.trainer import resolve_device

# dense bf16 tensor-core peaks (FLOP/s) from the vendors' data sheets, matched by name substring
GPU_PEAK_BF16 = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "A6000": 155e12, "L40S": 362e12,
                 "L4": 121e12, "A10": 125e12, "V100": 125e12, "RTX 4090": 165e12,
                 "RTX 3090": 71e12, "T4": 65e12}


def flops_per_token(cfg) -> float:
    """Training FLOPs per token: 6 x params (fwd+bwd matmuls) + attention's 12 x L x C x T (PaLM)."""
    n_params = sum(p.numel() for p in build_model(cfg).parameters())
    attention = 12 * getattr(cfg, "n_layer", 0) * cfg.n_embd * cfg.block_size if cfg.arch == "gpt" else 0
    return 6 * n_params + attention


def peak_flops(device: torch.device) -> tuple[str, float | None]:
    if device.type != "cuda":
        return "cpu", None
    name = torch.cuda.get_device_name(device)
    return name, next((v for k, v in GPU_PEAK_BF16.items() if k in name), None)


def bench_train(args: argparse.Namespace) -> dict:
    device = resolve_device(args.device)
    changes = {"vocab_size": args.vocab_size, "dropout": 0.0}
    if args.block_size:
        changes["block_size"] = args.block_size
    cfg = model_preset(args.model, **changes)
    if getattr(args, "model_overrides", ()):   # an attention variant (jobs/ablations.py)
        cfg = apply_overrides(RunConfig(model=cfg), list(args.model_overrides)).model
    torch.manual_seed(0)
    model = build_model(cfg).to(device)
    opt = make_optimizer(model, OptimConfig(), device.type)
    step_fn = torch.compile(model) if args.compile else model
    use_amp = device.type == "cuda"
    x = torch.randint(0, args.vocab_size, (args.batch_size, cfg.block_size), device=device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for step in range(args.warmup + args.steps):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            _, loss = step_fn(x, x)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if step >= args.warmup:
            times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    tokens = args.batch_size * cfg.block_size
    name, peak = peak_flops(device)
    achieved = flops_per_token(cfg) * tokens / sec
    return {"model": args.model, "device": name, "params": sum(p.numel() for p in model.parameters()),
            "batch_size": args.batch_size, "block_size": cfg.block_size, "ms_per_step": sec * 1000,
            "tokens_per_s": tokens / sec, "model_tflops": achieved / 1e12,
            "mfu_pct": 100 * achieved / peak if peak else None,
            "peak_mem_mb": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
            "torch_threads": torch.get_num_threads(), "compile": args.compile, "steps_timed": args.steps}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="what", required=True, metavar="what")
    t = sub.add_parser("train", help="time training steps of a model preset on random tokens")
    t.add_argument("--model", default="gpt-nano", choices=sorted(MODEL_PRESETS),
                   type=lambda name: preset_name(name, MODEL_PRESETS))
    t.add_argument("--block-size", type=int, default=0, help="0 = the preset's")
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--vocab-size", type=int, default=8192)
    t.add_argument("--steps", type=int, default=20, help="timed steps (after --warmup)")
    t.add_argument("--warmup", type=int, default=3)
    t.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    t.add_argument("--compile", action="store_true", help="torch.compile the model first")
    t.add_argument("--attention", default=None, metavar="VARIANTS",
                   help="'all' or a comma list of attention variants (jobs/ablations.py keys): "
                        "time each in this one process, print tokens/s and the ratio to fused")
    t.set_defaults(bench=_bench_train)
    r = sub.add_parser("report", help="build a report of N synthetic run dirs, twice, and time it")
    r.add_argument("--runs", type=int, default=200)
    r.set_defaults(bench=_bench_report)


def _bench_train(args: argparse.Namespace) -> None:
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
    print(f"{first['device']}, {args.model} block {first['block_size']} batch {args.batch_size}, "
          f"{args.steps} timed steps, {first['torch_threads']} threads")
    print(f"{'variant':<20} {'params':>9} {'ms/step':>9} {'tokens/s':>11} {'vs fused':>9}")
    for key, r in rows:
        print(f"{key:<20} {r['params']:>9,} {r['ms_per_step']:>9.1f} {r['tokens_per_s']:>11,.0f} "
              f"{r['tokens_per_s'] / reference:>8.2f}x")


def _bench_report(args: argparse.Namespace) -> None:
    from reports import bench
    bench.main(["--runs", str(args.runs)])


def main(args: argparse.Namespace) -> int:
    args.bench(args)
    return 0
