"""A trained run's model, and the samples a run dir keeps: what jobs and tools share.

    model, tokenizer, cfg = load_run_model(run_dir)          # best weights (else last), eval mode
    write_samples(run_dir, sample_texts(model, tokenizer, ["ROMEO:"], [0.8], 100, 0, 1.0, 0, device))

Training jobs write samples/ with these (jobs/stage.py); evaluate loads the run it scores; the
`sample` tool and the evaluation tools (jobs/tools/) are command lines over them.
"""
from __future__ import annotations

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
    rundir.write_json(run_dir / rundir.SAMPLES_JSON, rows)
    md = ["# Samples", ""]
    for r in rows:
        md += [f"## prompt {r['prompt']!r}, temperature {r['temperature']}, top-k {r['top_k']}, "
               f"top-p {r['top_p']}", "", "```", r["prompt"] + r["text"], "```", ""]
    rundir.write_atomic(run_dir / rundir.SAMPLES_MD, "\n".join(md).encode())
    return run_dir / rundir.SAMPLES_MD
