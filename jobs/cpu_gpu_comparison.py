"""cpu_gpu_comparison: the same config for 50 steps on CPU and on GPU; a table of times (GPT-from-scratch course).

    python main.py cpu_gpu_comparison --preset smoke     # CPU only here: says so, still times it
    python main.py cpu_gpu_comparison                    # the course's: gpt-nano, block 32, batch 256

Each device trains in its own sub-run (<run dir>/cpu, <run dir>/cuda, each with its curves). `total_s` is the training
time of all steps (evaluation excluded), `ms_per_step` and `tokens_per_s` are steady-state medians
(warm-up steps skipped, the GPU synchronised before each clock read). Writes comparison.json and
comparison.md, then summary.json.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import torch

from gpt import rundir
from gpt.config import DataConfig, OptimConfig, RunConfig, TrainConfig, model_preset
from gpt.overrides import to_dict
from jobs.common import prepare, write_env
from jobs.context import JobContext
from jobs.stage import train_stage

JOB = "cpu_gpu_comparison"
USES_GPU = True   # on Slurm it asks for a GPU by default: the comparison needs one


def spec_a() -> RunConfig:
    """The GPT-from-scratch course: gpt-nano, block 32, batch 256, AdamW 5e-4, on WikiText-2 (valid split; BPE 8192)."""
    return RunConfig(name="cpu-gpu-nano", model=model_preset("gpt-nano", block_size=32, dropout=0.1),
                     data=DataConfig(dataset="wikitext2", tokenizer="bpe", bpe_vocab_size=8192,
                                     train_split="valid", val_split="test"),
                     optim=OptimConfig(lr=5e-4),
                     train=TrainConfig(max_iters=50, batch_size=256, eval_interval=50, eval_iters=2,
                                       log_interval=5, progress="lines"))


def smoke() -> RunConfig:
    """Twenty steps of a tiny char GPT: the comparison's pipeline in seconds on a CPU."""
    return RunConfig(name="cpu-gpu-smoke", model=model_preset("gpt-nano", block_size=32, dropout=0.0),
                     train=TrainConfig(max_iters=20, batch_size=16, eval_interval=20, eval_iters=1,
                                       log_interval=5, progress="lines"))


# jhu_hw5: the JHU hw5 setting; spec_a is its old name, kept (same config, same run dirs)
PRESETS: dict[str, Callable[[], RunConfig]] = {"default": spec_a, "jhu_hw5": spec_a, "spec_a": spec_a,
                                               "smoke": smoke}


def _row(device: str, summary: dict, steps: int) -> dict:
    name = torch.cuda.get_device_name(0) if device == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    return {"device": device, "device_name": name, "steps": steps, "total_s": summary["wall_s"],
            "ms_per_step": summary["ms_per_step"], "tokens_per_s": summary["tokens_per_s"]}


def _markdown(result: dict) -> str:
    lines = [f"# CPU vs GPU: {result['steps']} training steps", "",
             "| device | name | total s | ms/step | tokens/s |", "|---|---|---:|---:|---:|"]
    for r in result["rows"]:
        lines.append(f"| {r['device']} | {r['device_name']} | {r['total_s']:.2f} | "
                     f"{r['ms_per_step']:.1f} | {r['tokens_per_s']:,.0f} |")
    speed = result["speedup"]
    lines += ["", f"GPU speedup (CPU ms/step / GPU ms/step): {speed:.1f}x" if speed else "",
              result["note"], ""]
    return "\n".join(lines)


def run(cfg: RunConfig, ctx: JobContext) -> dict:
    """Train the config on each available device; write the comparison table."""
    cfg, corpus, run_dir = prepare(JOB, cfg, ctx)
    if rundir.is_complete(run_dir):
        return rundir.read_json(run_dir / rundir.SUMMARY)
    rundir.write_json(run_dir / rundir.CONFIG, to_dict(cfg))   # the sub-runs differ only in device
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    note = "" if len(devices) == 2 else "No CUDA GPU visible: only the CPU was timed."
    if note:
        print(note, flush=True)
    rows = []
    for device in devices:
        sub_cfg = dataclasses.replace(cfg, device=device, name=f"{cfg.name}-{device}")
        summary = train_stage(sub_cfg, ctx, run_dir / device, corpus.batches, corpus.tokenizer)
        if summary.get("status") != "completed":
            return summary
        rows.append(_row(device, summary, summary["steps"]))
    speedup = rows[0]["ms_per_step"] / rows[1]["ms_per_step"] if len(rows) == 2 else None
    result = {"steps": cfg.train.max_iters, "rows": rows, "speedup": speedup, "note": note}
    rundir.write_json(run_dir / rundir.COMPARISON, result)
    table = _markdown(result)
    rundir.write_atomic(run_dir / rundir.COMPARISON_MD, table.encode())
    print(table, flush=True)
    write_env(run_dir, cfg.device, ctx.attempt)
    summary = {"status": "completed", "name": cfg.name, **result, "run_dir": str(run_dir)}
    rundir.write_json(run_dir / rundir.SUMMARY, summary)
    return summary
