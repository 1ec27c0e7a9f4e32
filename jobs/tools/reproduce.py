"""reproduce: run one course's headline experiment at its original settings, then tabulate ours
against the reference numbers (jobs/tools/references.json) with the gap, hardware and wall time.

    python main.py reproduce cs224n_pretrain_finetune --scale smoke --runs-root /tmp/r   # CPU, minutes
    python main.py reproduce nanogpt_char device=cuda                       # full scale, on a GPU
    python main.py reproduce nanogpt_char_cpu       # nanoGPT's CPU recipe: minutes on a laptop
    python main.py reproduce ift6135_12 --executor slurm --gpus 1 --time-min 720   # one job array
    python main.py reproduce jhu_full_run        # needs `python data.py download wikitext103` and `gpt2`

Experiments: cs224n_pretrain_finetune (pretrain + finetune, no pretraining, London),
ift6135_12, nanogpt_char, nanogpt_char_cpu, jhu_full_run. The runs are ordinary jobs (same run dirs as the job
subcommands; `key=value` overrides apply to every run), inline, local or on Slurm. Writes
<runs_root>/reproduce/<experiment>.md and .json (`<experiment>.smoke.*` at --scale smoke, whose
numbers are marked smoke and are not comparable to the references). With --executor slurm the
table fills in as runs finish: rerun the same command to update it (completed runs are skipped).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from gpt import rundir
from gpt.overrides import apply_overrides
from jobs.context import add_path_arguments, context_from_args
from jobs.errors import UserError
from jobs.launcher.launch import dispatch
from jobs.launcher.pack import add_arguments as add_pack_arguments
from jobs.tools.reproductions import EXPERIMENTS, SCALES
from jobs.launcher.request import add_arguments as add_launch_arguments, from_args
from jobs.launcher.tasks import make_tasks

REFERENCES = Path(__file__).with_name("references.json")


def references() -> dict:
    """jobs/tools/references.json: {experiment: {"title", "metric", "references": [...]}}."""
    return json.loads(REFERENCES.read_text(encoding="utf-8"))


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the experiment name, its overrides, --scale and the launcher's flags to `p`."""

    p.add_argument("experiment", help=f"one of: {', '.join(EXPERIMENTS)}")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="applied to every run")
    p.add_argument("--scale", choices=SCALES, default="full",
                   help="full: the original settings; smoke: the same pipeline in minutes on a CPU")
    add_path_arguments(p)
    add_pack_arguments(p)
    add_launch_arguments(p)


def gap(ours: float | None, ref: dict) -> float | None:
    """ours - reference. A one-sided bound (`>= low` or `<= high`): ours - that bound, signed
    (15 against >= 10 is +5: met by 5). A range [low, high]: 0 inside it, else the signed
    distance to the nearest end."""
    if ours is None:
        return None
    if "value" in ref:
        return ours - ref["value"]
    low, high = ref.get("low"), ref.get("high")
    if high is None or low is None:
        return ours - (low if high is None else high)
    if ours < low:
        return ours - low
    if ours > high:
        return ours - high
    return 0.0


def gap_text(value: float | None, ref: dict | None) -> str:
    """The gap as a person reads it: `+5 (meets >= 10)`, `-2 (below >= 10)`, `0 (inside 140-146)`."""
    if value is None or ref is None:
        return "—"
    shown = f"{value:+.4g}"
    if "value" in ref:
        return shown
    low, high = ref.get("low"), ref.get("high")
    if low is not None and high is not None:
        return f"0 (inside {_reference_text(ref)})" if value == 0 else f"{shown} (outside {_reference_text(ref)})"
    met = value >= 0 if high is None else value <= 0
    return f"{shown} ({'meets' if met else 'misses'} {_reference_text(ref)})"


def _reference_text(ref: dict) -> str:
    if "value" in ref:
        return f"{ref['value']:g}"
    low, high = ref.get("low"), ref.get("high")
    if low is None:
        return f"<= {high:g}"
    return f">= {low:g}" if high is None else f"{low:g}-{high:g}"


def _hardware(tasks) -> str:
    """What the runs ran on, from their env.json (device name; CPU threads when not a GPU)."""
    names = set()
    for task in tasks:
        if (task.run_dir / rundir.ENV).is_file():
            env = rundir.read_json(task.run_dir / rundir.ENV)
            names.add(f"{env.get('device_name')} ({env.get('cpu_threads')} CPU threads) on {env.get('host')}")
    return ", ".join(sorted(names)) or "none yet (no run has started)"


def _stage_wall_s(tasks) -> float:
    """Training seconds of the finished runs (of every stage of a chain)."""
    total = 0.0
    for task in tasks:
        if not rundir.is_complete(task.run_dir):
            continue
        summary = rundir.read_json(task.run_dir / rundir.SUMMARY)
        stages = summary.get("stages") or [summary]
        total += sum(float(s.get("wall_s") or 0.0) for s in stages)
    return total


def tabulate(name: str, scale: str, tasks, command_wall_s: float) -> dict:
    """The result record: one row per reference comparison, plus hardware and wall times."""
    exp, refs = EXPERIMENTS[name], references()[name]
    by_key = {r["key"]: r for r in refs["references"]}
    rows = []
    for row in exp.collect(tasks):
        ref = by_key.get(row["ref"]) if row["ref"] else None
        rows.append({**row, "reference": _reference_text(ref) if ref else None,
                     "reference_label": ref["label"] if ref else None,
                     "source": ref["source"] if ref else None,
                     "gap": gap(row["ours"], ref) if ref else None,
                     "gap_text": gap_text(gap(row["ours"], ref), ref) if ref else "—",
                     "status": "done" if row["ours"] is not None else "pending"})
    return {"experiment": name, "title": refs["title"], "metric": refs["metric"], "scale": scale,
            "smoke": scale == "smoke", "setting": exp.notes[scale], "rows": rows,
            "hardware": _hardware(tasks), "train_wall_s": round(_stage_wall_s(tasks), 1),
            "command_wall_s": round(command_wall_s, 1), "written_at": time.time()}


def to_markdown(result: dict) -> str:
    """The table a person reads: ours against each reference, marked when smoke."""
    mark = " (SMOKE: not comparable to the references)" if result["smoke"] else ""
    fmt = lambda v: "—" if v is None else f"{v:.4g}"
    lines = [f"# Reproduction: {result['title']}{mark}", "",
             f"Metric: {result['metric']}. Setting ({result['scale']}): {result['setting']}.",
             f"Hardware: {result['hardware']}. Training wall time: {result['train_wall_s']} s; "
             f"this command: {result['command_wall_s']} s.", "",
             "| run | reference | ours | gap | source |", "|---|---|---|---|---|"]
    for r in result["rows"]:
        ours = fmt(r["ours"]) + (" (smoke)" if result["smoke"] and r["ours"] is not None else "")
        lines.append(f"| {r['label']} | {r['reference'] or '—'} | {ours} | {r.get('gap_text') or fmt(r['gap'])} | "
                     f"{r['source'] or '—'} |")
    return "\n".join(lines) + "\n"


def write_result(runs_root: Path, result: dict) -> Path:
    """<runs_root>/reproduce/<experiment>[.smoke].{json,md}; returns the .md path."""
    stem = result["experiment"] + (".smoke" if result["smoke"] else "")
    folder = Path(runs_root) / "reproduce"
    rundir.write_json(folder / f"{stem}.json", result)
    path = folder / f"{stem}.md"
    rundir.write_atomic(path, to_markdown(result).encode())
    return path


def main(args) -> int:
    """`python main.py reproduce EXPERIMENT [--scale smoke] ...`; 2 on a bad experiment name."""
    if args.experiment not in EXPERIMENTS:
        raise UserError(f"unknown experiment {args.experiment!r}; choose one of: {', '.join(EXPERIMENTS)}")
    exp = EXPERIMENTS[args.experiment]
    ctx = context_from_args(args)
    runs_root = ctx.runs_root
    request = from_args(args)
    tasks = make_tasks(exp.job, [apply_overrides(cfg, args.overrides) for cfg in exp.configs(args.scale)],
                       runs_root)
    start_s = time.perf_counter()
    code = dispatch(tasks, ctx, request).exit_code
    if request.print_run_dir or request.dry_run:
        return code
    result = tabulate(args.experiment, args.scale, tasks, time.perf_counter() - start_s)
    path = write_result(runs_root, result)
    print(to_markdown(result), flush=True)
    pending = sum(r["status"] == "pending" for r in result["rows"])
    print(f"wrote {path} and {path.with_suffix('.json')}"
          + (f"; {pending} row(s) pending: rerun this command once the runs finish" if pending else ""))
    return code
