"""What scripts/gpu_session.sh writes into its results folder after each step, so a stage killed at
its time limit still leaves every finished step's figures. Markdown goes to stdout (the script
appends it to the folder's README.md); raw files are written beside it.

    python scripts/gpu_session_results.py env                  # GPU, driver, torch, CUDA, cuDNN, git, date
    python scripts/gpu_session_results.py bench LOG OUT.json   # the JSON `bench train` printed -> a table
    python scripts/gpu_session_results.py run RUN_DIR DEST     # a run dir's small files (no checkpoints) + figures
"""
from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

BENCH_HEADER = ("| preset | device | compile | B x T | ms/step | tokens/s | MFU % | peak MiB | plain tokens/s "
                "| trainer/plain |\n|---|---|---|---|---:|---:|---:|---:|---:|---:|")
SUMMARY_KEYS = ("status", "steps", "best_val_loss", "best_step", "wall_s", "ms_per_step", "tokens_per_s",
                "mfu_pct", "gpu_mem_peak_allocated_mb", "device")


def _run(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({type(exc).__name__})"
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else "unavailable"


def environment() -> str:
    """Markdown lines: the machine and software a stage ran on (the GPU as nvidia-smi and torch name it)."""
    import torch
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none visible (CPU only)"
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    git = _run(["git", "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "diff", "--quiet"], capture_output=True, check=False).returncode
    return "\n".join([
        f"- GPU: {gpu}",
        f"- nvidia-smi: {_run(['nvidia-smi', '--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'])}",
        f"- torch {torch.__version__}, CUDA {torch.version.cuda or 'none'}, cuDNN {cudnn or 'none'}",
        f"- python {platform.python_version()} on {platform.node()} ({platform.machine()})",
        f"- git: {git}{' (uncommitted changes)' if dirty else ''}", ""])


def bench(log: Path, out: Path) -> str:
    """The JSON object `bench train` printed (the last one in the log), saved to `out`; a table with
    its row."""
    text = log.read_text(errors="replace")
    try:
        result = json.loads(text[text.rindex("\n{") + 1:text.rindex("}") + 1] if "\n{" in text else
                            text[text.index("{"):text.rindex("}") + 1])
    except ValueError:
        return f"{BENCH_HEADER}\n| {log.stem} | no result: see {log.name} |||||||||"
    out.write_text(json.dumps(result, indent=2) + "\n")
    plain = result.get("plain") or {}

    def num(value, fmt: str) -> str:
        return format(value, fmt) if isinstance(value, (int, float)) else "n/a"
    mfu = num(result.get("mfu_pct"), ".1f") if result.get("mfu_pct") is not None else \
        f"n/a ({result.get('mfu_omitted', '')})"
    return (f"{BENCH_HEADER}\n| {result.get('preset')} | {result.get('device')} | {result.get('compile')} | "
            f"{result.get('batch_size')} x {result.get('block_size')} | {num(result.get('ms_per_step'), '.2f')} | "
            f"{num(result.get('tokens_per_s'), ',.0f')} | {mfu} | {num(result.get('peak_mem_mb'), ',.0f')} | "
            f"{num(plain.get('tokens_per_s'), ',.0f')} | {num(result.get('trainer_vs_plain'), '.3f')} |")


def keep_run(run_dir: Path, dest: Path) -> str:
    """Copy a run dir without its checkpoints to `dest`; markdown of its summary and comparison table."""
    if not run_dir.is_dir():
        return f"(no run dir {run_dir}: the step failed before training)\n"
    shutil.copytree(run_dir, dest, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("checkpoints", "*.pt", "*.lock", "slurm"))
    lines = []
    for table in sorted(dest.glob("comparison.md")):
        lines.append(table.read_text())
    summary = dest / "summary.json"
    if summary.is_file():
        s = json.loads(summary.read_text())
        lines += [f"- {key}: {s[key]}" for key in SUMMARY_KEYS if key in s]
    else:
        lines.append("(no summary.json: the run did not finish; its metrics.jsonl is kept, rerun the stage "
                     "to resume it)")
    figures = sorted(p.relative_to(dest.parent).as_posix() for p in dest.rglob("*.png"))
    lines += [f"![{Path(f).stem}]({f})" for f in figures]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """`env`, `bench LOG OUT.json` or `run RUN_DIR DEST`; markdown to stdout."""
    if argv[:1] == ["env"] and len(argv) == 1:
        print(environment())
    elif argv[:1] == ["bench"] and len(argv) == 3:
        print(bench(Path(argv[1]), Path(argv[2])))
    elif argv[:1] == ["run"] and len(argv) == 3:
        print(keep_run(Path(argv[1]), Path(argv[2])))
    else:
        print("error: usage: gpu_session_results.py env | bench LOG OUT.json | run RUN_DIR DEST", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
