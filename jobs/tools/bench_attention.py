"""`bench attention`: time ONE attention layer of each variant at several sequence lengths.

    python main.py bench attention --lengths 64,128,256,512 --attention fused,explicit,linear,bigbird
    python main.py bench attention --attention all --device cuda --out docs/results/attention-cost

JHU hw5 §4.1 asks why self-attention costs O(n^2 h) in the sequence length n (and §4.3-4.4 how
low-rank / linear variants avoid it). This measures it on the real mixers of gpt/attention/: for
each length T, a mixer built by `make_attention` runs forward (and, unless --forward-only,
backward of y.sum()) on random (batch, T, n_embd) inputs. Repeats go round-robin over every
(variant, length) pair, so machine load spreads over all of them alike; the fastest call per
pair is kept as `ms` (the one least disturbed by other work on a shared machine; the median is
saved too, as `ms_median`). It prints a table (ms per layer; `slope` is the least-squares slope
of log ms against log T over all lengths, `last 2` the same between the two longest: near 2 for
quadratic cost, near 1 for linear once T is large enough that fixed overheads stop dominating)
and writes `attention_cost.json` and the log-log plot `attention_cost.png`
(drawn by reports/attention_cost.py) into --out.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

MAX_LENGTH = 16384   # an explicit (T, T) map per head beyond this does not fit in memory anyway


def parse_lengths(text: str) -> list[int]:
    """'64,128,256' -> [64, 128, 256]: ints in 2..MAX_LENGTH, at least two, increasing."""
    from jobs.errors import UserError
    try:
        lengths = [int(part) for part in text.split(",")]
    except ValueError:
        raise UserError(f"bench attention --lengths={text!r}: give a comma list of integers, "
                        "e.g. 64,128,256,512") from None
    if len(lengths) < 2 or lengths != sorted(set(lengths)) or not 2 <= lengths[0] <= lengths[-1] <= MAX_LENGTH:
        raise UserError(f"bench attention --lengths={text!r}: give at least two increasing lengths "
                        f"between 2 and {MAX_LENGTH}, e.g. 64,128,256,512")
    return lengths


def parse_variants(text: str) -> list[str]:
    """'all' or a comma list of model.attention values -> that list (unknown names refused)."""
    from gpt.config_model import ATTENTIONS
    from jobs.errors import UserError
    if text.strip() == "all":
        return list(ATTENTIONS)
    names = [n.strip() for n in text.split(",")]
    unknown = [n for n in names if n not in ATTENTIONS]
    if unknown or not all(names):
        raise UserError(f"bench attention --attention: unknown variant(s) "
                        f"{', '.join(map(repr, unknown or ['']))}; choose 'all' or a comma list of: "
                        f"{', '.join(ATTENTIONS)}")
    return list(dict.fromkeys(names))


def _layer(name: str, args, max_len: int, device):
    """One mixer of `name`, sized so every length runs (bounded mixers get block_size = max_len)."""
    from gpt.attention import make_attention
    from gpt.config import GPTConfig
    cfg = GPTConfig(vocab_size=1, n_layer=1, n_head=args.n_head, n_embd=args.n_embd, dropout=0.0,
                    block_size=max_len, attention=name, attn_rank=min(16, max_len),
                    n_latents=min(16, max_len - 1))
    return make_attention(cfg).to(device).train(not args.forward_only)


def _time_once(layer, x, backward: bool, sync) -> float:
    """Milliseconds of one forward (+ backward) of `layer` on `x`."""
    start = time.perf_counter()
    y, _ = layer(x)
    if backward:
        y.sum().backward()
    sync()
    return (time.perf_counter() - start) * 1e3


def measure(args: argparse.Namespace) -> dict:
    """Fastest (and median) ms per layer of each variant at each length, repeats round-robin; the
    JSON dict."""
    import torch

    from gpt.trainer import resolve_device
    device = resolve_device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.manual_seed(0)
    lengths, names = args.lengths, args.variants
    layers = {name: _layer(name, args, lengths[-1], device) for name in names}
    inputs = {T: torch.randn(args.batch_size, T, args.n_embd, device=device,
                             requires_grad=not args.forward_only) for T in lengths}
    times: dict[tuple[str, int], list[float]] = {(n, T): [] for n in names for T in lengths}
    with torch.set_grad_enabled(not args.forward_only):
        for repeat in range(args.warmup + args.repeats):
            for name in names:
                for T in lengths:
                    ms = _time_once(layers[name], inputs[T], not args.forward_only, sync)
                    if repeat >= args.warmup:
                        times[name, T].append(ms)
    return {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else
            f"cpu ({platform.processor() or platform.machine()})",
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "batch_size": args.batch_size, "n_embd": args.n_embd, "n_head": args.n_head,
            "backward": not args.forward_only, "repeats": args.repeats, "lengths": lengths,
            "variants": {n: {"ms": [min(times[n, T]) for T in lengths],
                             "ms_median": [statistics.median(times[n, T]) for T in lengths]}
                         for n in names}}


def table(result: dict) -> str:
    """The printed table: one row per variant, ms per length and the log-log slope."""
    from reports.attention_cost import loglog_slope
    lengths = result["lengths"]
    head = (f"{'variant':<20}" + "".join(f"{'T=' + str(t):>11}" for t in lengths)
            + f"{'slope':>7}{'last 2':>8}")
    lines = [head]
    for name, v in result["variants"].items():
        slopes = (loglog_slope(lengths, v["ms"]), loglog_slope(lengths[-2:], v["ms"][-2:]))
        lines.append(f"{name:<20}" + "".join(f"{m:>9.2f}ms" for m in v["ms"])
                     + "".join(f"{s:>7.2f} " if s is not None else f"{'-':>7} " for s in slopes))
    return "\n".join(lines)


def bench_attention(args: argparse.Namespace) -> None:
    """Check the flags, measure, print the table, write attention_cost.json and .png into --out."""
    from jobs.errors import UserError
    from reports.attention_cost import cost_figure
    from reports.figures import save_figure
    args.lengths, args.variants = parse_lengths(args.lengths), parse_variants(args.attention)
    for flag, most in (("batch_size", 1024), ("n_embd", 8192), ("n_head", 256), ("repeats", 1000)):
        if not 0 < getattr(args, flag) <= most:
            raise UserError(f"bench attention --{flag.replace('_', '-')}={getattr(args, flag)} must "
                            f"be > 0 and <= {most}")
    if args.warmup < 0:
        raise UserError(f"bench attention --warmup={args.warmup} must be >= 0")
    if args.n_embd % args.n_head:
        raise UserError(f"bench attention --n-embd={args.n_embd} must be divisible by "
                        f"--n-head={args.n_head}")
    result = measure(args)
    passes = "forward + backward" if result["backward"] else "forward"
    print(f"{result['device']}, torch {result['torch']}, {result['threads']} threads; batch "
          f"{args.batch_size}, {args.n_embd} dims, {args.n_head} heads; {passes}, fastest of "
          f"{args.repeats} (after {args.warmup} warm-up)")
    print(table(result))
    out = args.out.expanduser()
    out.mkdir(parents=True, exist_ok=True)
    (out / "attention_cost.json").write_text(json.dumps(result, indent=2) + "\n")
    save_figure(cost_figure(result), out / "attention_cost.png")
    print(f"wrote {out / 'attention_cost.json'} and {out / 'attention_cost.png'}")


def add_parser(sub) -> None:
    """Register `bench attention` on bench's subparsers."""
    a = sub.add_parser("attention", help="ms of one attention layer per variant and sequence length "
                                         "(table + log-log plot: quadratic vs linear)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--lengths", default="64,128,256,512",
                   help="comma list of sequence lengths, increasing (default: %(default)s)")
    a.add_argument("--attention", default="fused,explicit,linear,performer,bigbird",
                   help="'all' or a comma list of model.attention values (default: %(default)s)")
    a.add_argument("--batch-size", type=int, default=4, help="sequences per call (default: %(default)s)")
    a.add_argument("--n-embd", type=int, default=64, help="model width (default: %(default)s)")
    a.add_argument("--n-head", type=int, default=4, help="heads (default: %(default)s)")
    a.add_argument("--repeats", type=int, default=5,
                   help="timed calls per (variant, length); the fastest is kept (default: %(default)s)")
    a.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default: %(default)s)")
    a.add_argument("--forward-only", action="store_true", help="time forward only (no backward)")
    a.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    a.add_argument("--out", type=Path, default=Path("attention_cost"),
                   help="folder for attention_cost.json and attention_cost.png (default: ./%(default)s)")
    a.set_defaults(bench=bench_attention)
