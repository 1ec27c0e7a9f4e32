"""What every job does around the trainer: data, run dir, env.json, samples."""
from __future__ import annotations

import dataclasses
import os
import platform
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

import data
from gpt import distributed, rundir
from gpt.config import RunConfig
from gpt.overrides import locate_run_dir
from gpt.sampling import generate
from gpt.tokenizer import save_tokenizer
from jobs.context import JobContext
from jobs.errors import UserError

REPO = Path(__file__).resolve().parents[1]
SLURM_VARS = {"job_id": "SLURM_JOB_ID", "array_job_id": "SLURM_ARRAY_JOB_ID",
              "array_task_id": "SLURM_ARRAY_TASK_ID", "restart_count": "SLURM_RESTART_COUNT",
              "partition": "SLURM_JOB_PARTITION", "nodelist": "SLURM_JOB_NODELIST",
              "job_name": "SLURM_JOB_NAME"}


def run_dir_of(job: str, cfg: RunConfig, ctx: JobContext) -> Path:
    """This task's run dir: the one the launcher located (ctx.run_dir), or, for a job called
    directly (ctx.run_dir None), the dir the config as given maps to (vocab_size 0 = from the
    data), found the way the launcher finds it."""
    return Path(ctx.run_dir) if ctx.run_dir is not None else locate_run_dir(ctx.runs_root, job, cfg)


def _git_state() -> tuple[str | None, bool | None]:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                             text=True, timeout=10).stdout.strip() or None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip() != ""
        return sha, dirty if sha else None
    except (OSError, subprocess.SubprocessError):
        return None, None


def write_env(run_dir: Path, device: str, attempt: int) -> None:
    """env.json describes the latest attempt; earlier attempts are kept under "previous"."""
    path = run_dir / rundir.ENV
    previous = []
    if path.exists():
        try:
            old = rundir.read_json(path)
            previous = old.pop("previous", []) + [old]
        except ValueError:
            previous = []
    sha, dirty = _git_state()
    cuda = torch.cuda.is_available() and device != "cpu"
    rundir.write_json(path, {
        "host": socket.gethostname(), "git_sha": sha, "git_dirty": dirty,
        "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
        "device": device, "device_name": torch.cuda.get_device_name(0) if cuda else platform.processor() or "cpu",
        "cpu_threads": torch.get_num_threads(), "attempt": attempt, "started_at": time.time(),
        "slurm": {k: os.environ[v] for k, v in SLURM_VARS.items() if v in os.environ},
        "previous": previous,
    })


def prepare(job: str, cfg: RunConfig, ctx: JobContext) -> tuple[RunConfig, "data.Corpus", Path]:
    """Load the corpus, fill model.vocab_size from its tokenizer, make the run dir."""
    run_dir = run_dir_of(job, cfg, ctx)
    corpus = data.load(cfg.data, cfg.model.block_size, ctx.data_root, ctx.cache_dir)
    vocab = corpus.tokenizer.vocab_size
    if cfg.model.vocab_size not in (0, vocab):
        raise UserError(f"model.vocab_size={cfg.model.vocab_size} but the {cfg.data.tokenizer} "
                        f"tokenizer has {vocab} tokens; leave model.vocab_size=0 to take it from the data")
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, vocab_size=vocab))
    run_dir.mkdir(parents=True, exist_ok=True)
    if distributed.from_env().is_main and not (run_dir / "tokenizer.json").exists():   # rank 0 writes
        save_tokenizer(corpus.tokenizer, run_dir / "tokenizer.json")
    return cfg, corpus, run_dir


def sample_texts(model, tokenizer, prompts, temperatures, max_new_tokens: int, top_k: int,
                 top_p: float, seed: int, device: torch.device) -> list[dict]:
    """One sample per (prompt, temperature); an empty prompt starts from the first token id."""
    rows = []
    gen = torch.Generator(device=device).manual_seed(seed)
    for prompt in prompts or ("",):
        ids = tokenizer.encode(prompt) if prompt else [0]
        for temperature in temperatures:
            idx = torch.tensor([ids], dtype=torch.long, device=device)
            out = generate(model, idx, max_new_tokens, temperature, top_k, top_p, generator=gen)
            rows.append({"prompt": prompt, "temperature": temperature, "top_k": top_k, "top_p": top_p,
                         "max_new_tokens": max_new_tokens,
                         "text": tokenizer.decode(out[0, len(ids):].tolist())})
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
