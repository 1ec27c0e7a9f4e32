"""Sample from a trained run.

    python main.py sample --run-dir runs/full_run/smoke-1a2b3c4d --prompt "ROMEO:" --temperature 0.8

Loads config.json, tokenizer.json and checkpoints/best.pt (or last.pt) of the run dir.
sample_texts/write_samples are also what training jobs write samples/ with (jobs/stage.py).
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from gpt import build_model, rundir
from gpt.checkpoint import load_checkpoint, load_model_state
from gpt.checkpoint_checks import check_run_files
from gpt.overrides import from_dict
from gpt.sampling import generate
from gpt.tokenizer import load_tokenizer
from gpt.trainer import resolve_device
from jobs.errors import UserError


def load_run_model(run_dir: Path, which: str = "best", device: str = "cpu"):
    """(model in eval mode, tokenizer, RunConfig) of a run dir; UserError if something is missing."""
    run_dir = Path(run_dir)
    if not (run_dir / rundir.CONFIG).is_file():
        raise UserError(f"{run_dir} is not a run dir (no {rundir.CONFIG}); pass a folder under runs/<job>/")
    try:
        cfg = from_dict(rundir.read_json(run_dir / rundir.CONFIG))
        tokenizer = load_tokenizer(run_dir / rundir.TOKENIZER)
    except ValueError as exc:   # name the file when the message does not (a bad field of config.json)
        raise UserError(str(exc) if str(run_dir) in str(exc) else f"{run_dir / rundir.CONFIG}: {exc}") from None
    ckpt = run_dir / (rundir.BEST if which == "best" else rundir.LAST)
    if which == "best" and not ckpt.exists():
        ckpt = run_dir / rundir.LAST
    if not ckpt.exists():
        raise UserError(f"{run_dir} has no checkpoint yet (looked for {rundir.BEST} and {rundir.LAST})")
    dev = resolve_device(device)
    state = load_checkpoint(ckpt, dev)
    check_run_files(cfg, tokenizer, state, ckpt, run_dir / rundir.TOKENIZER)   # before building the model
    model = build_model(cfg.model).to(dev)
    load_model_state(model, state["model"], ckpt)
    return model.eval(), tokenizer, cfg


def sample_texts(model, tokenizer, prompts, temperatures, max_new_tokens: int, top_k: int,
                 top_p: float, seed: int, device: torch.device) -> list[dict]:
    """One sample per (prompt, temperature).

    Sample k (prompts in order, each with every temperature) draws from its own generator seeded
    `seed + k * 2**32`, so the temperatures of a prompt run as one batch (one forward per token
    for all of them) and each sample is the same whichever others are drawn with it. A prompt
    that encodes to no tokens (the empty prompt, or "\n" under GPT-1's BPE, which keeps no
    whitespace) starts from token id 0 instead (a char model's first symbol, GPT-1's padding id);
    its rows say so in "start"."""
    rows = []
    for p, prompt in enumerate(prompts or ("",)):
        ids = tokenizer.encode(prompt) if prompt else []
        start = {} if ids else {"start": "token id 0 (the prompt encodes to no tokens)"}
        ids = ids or [0]
        gens = [torch.Generator(device=device).manual_seed(seed + (p * len(temperatures) + i) * 2**32)
                for i in range(len(temperatures))]
        idx = torch.tensor([ids] * len(temperatures), dtype=torch.long, device=device)
        out = generate(model, idx, max_new_tokens, list(temperatures), top_k, top_p, generator=gens)
        rows += [{"prompt": prompt, "temperature": temperature, "top_k": top_k, "top_p": top_p,
                  "max_new_tokens": max_new_tokens, **start,
                  "text": tokenizer.decode(out[i, len(ids):].tolist())}
                 for i, temperature in enumerate(temperatures)]
    return rows


def write_samples(run_dir: Path, rows: list[dict]) -> Path:
    """samples/samples.json (for reports) and samples/samples.md (to read)."""
    folder = run_dir / rundir.SAMPLES
    rundir.write_json(folder / "samples.json", rows)
    md = ["# Samples", ""]
    for r in rows:
        md += [f"## prompt {r['prompt']!r}, temperature {r['temperature']}, top-k {r['top_k']}, "
               f"top-p {r['top_p']}", "", "```", r["prompt"] + r["text"], "```", ""]
    rundir.write_atomic(folder / "samples.md", "\n".join(md).encode())
    return folder / "samples.md"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `sample` flags: run dir, prompts, temperatures, top-k/top-p, length, checkpoint, device."""
    parser.add_argument("--run-dir", type=Path, required=True, help="a run dir under runs/<job>/")
    parser.add_argument("--prompt", action="append", default=None,
                        help="text to continue (repeat for several); default: the run's own prompts")
    parser.add_argument("--temperature", type=float, action="append", default=None,
                        help="0 = greedy; repeat for several (default: the run's sample.temperatures)")
    parser.add_argument("--max-new-tokens", type=int, default=None)
    parser.add_argument("--top-k", type=int, default=None, help="0 = off")
    parser.add_argument("--top-p", type=float, default=None, help="1.0 = off")
    parser.add_argument("--checkpoint", choices=("best", "last"), default="best")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--seed", type=int, default=0, help="sampling seed in [0, 2**32) (default: 0)")


def check_arguments(args: argparse.Namespace) -> None:
    """UserError naming the flag for a value the sampler cannot use (before loading anything)."""
    problems = []
    if args.max_new_tokens is not None and args.max_new_tokens <= 0:
        problems.append(f"--max-new-tokens {args.max_new_tokens} must be >= 1")
    for t in args.temperature or ():
        if not (t >= 0 and math.isfinite(t)):
            problems.append(f"--temperature {t} must be a finite number >= 0 (0 = greedy)")
    if args.top_k is not None and args.top_k < 0:
        problems.append(f"--top-k {args.top_k} must be >= 0 (0 = off)")
    if args.top_p is not None and not 0 < args.top_p <= 1:
        problems.append(f"--top-p {args.top_p} must be in (0, 1] (1 = off)")
    if not 0 <= args.seed < 2**32:
        problems.append(f"--seed {args.seed} must be in [0, 2**32)")
    if problems:
        raise UserError("; ".join(problems))


def main(args: argparse.Namespace) -> int:
    """Sample from a run dir as the flags say and print each sample; exit code 0."""
    check_arguments(args)
    model, tokenizer, cfg = load_run_model(args.run_dir, args.checkpoint, args.device)
    s = cfg.sample
    prompts = args.prompt if args.prompt is not None else list(s.prompts)
    for prompt in prompts:
        try:
            tokenizer.encode(prompt)
        except ValueError as exc:
            raise UserError(f"prompt {prompt!r}: {exc}") from None
    rows = sample_texts(model, tokenizer, prompts, args.temperature or list(s.temperatures),
                        s.max_new_tokens if args.max_new_tokens is None else args.max_new_tokens,
                        s.top_k if args.top_k is None else args.top_k,
                        s.top_p if args.top_p is None else args.top_p,
                        args.seed, next(model.parameters()).device)
    for r in rows:
        print(f"--- prompt {r['prompt']!r} | temperature {r['temperature']} ---")
        print(r["prompt"] + r["text"])
    return 0

