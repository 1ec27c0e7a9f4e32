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
from gpt import rundir
from gpt.config import RunConfig
from gpt.overrides import locate_run_dir
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


def with_vocab(cfg: RunConfig, tokenizer, source: str) -> RunConfig:
    """cfg with model.vocab_size taken from the tokenizer (0 in the config means "from the data");
    UserError if the config names another size. `source` names the vocabulary in that message."""
    vocab = tokenizer.vocab_size
    if cfg.model.vocab_size not in (0, vocab):
        raise UserError(f"model.vocab_size={cfg.model.vocab_size} but {source} has {vocab} tokens; "
                        f"leave model.vocab_size=0 to take it from the data")
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, vocab_size=vocab))


def prepare(job: str, cfg: RunConfig, ctx: JobContext) -> tuple[RunConfig, "data.Corpus", Path]:
    """(cfg with model.vocab_size from the corpus's tokenizer, the corpus, the run dir); writes nothing."""
    run_dir = run_dir_of(job, cfg, ctx)   # named by the config as given, before vocab_size is filled
    corpus = data.load(cfg.data, cfg.model.block_size, ctx.data_root, ctx.cache_dir)
    return with_vocab(cfg, corpus.tokenizer, f"the {cfg.data.tokenizer} tokenizer"), corpus, run_dir
