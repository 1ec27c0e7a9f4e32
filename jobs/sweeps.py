"""Named sweeps: lists of runs, submitted to Slurm as ONE job array, listed in an index for reports.

    python main.py sweep smoke --list                       # the runs and where they live
    python main.py sweep smoke                              # run them here, one after another (CPU)
    python main.py sweep smoke --executor slurm --parallel 2 --cpus 1 --mem-gb 2
    python main.py sweep ift6135_12 --executor slurm --parallel 4 --gpus 1 --time-min 720
    sbatch --array=0-11%4 sbatch_templates/sweep_array.sh ift6135_12   # the same, from a template
    python main.py sweep attention_ablations train.max_iters=30   # every attention variant (CPU, minutes)
    python main.py sweep grid optim.lr=1e-3,3e-4 model.attention=fused,explicit --job full_run --preset smoke

Every config is built and validated before anything runs or is submitted; `key=value` overrides
apply to every run. Submitting again skips runs that completed or are still queued and resumes
the others. The index, `<runs_root>/sweeps/<name>/index.json`, is
`{"sweep", "runs": [{"exp", "name", "job", "run_dir", "label"}], "submissions": [{"array_job_id",
"time", "n_tasks"}]}`; the array's sbatch script, task list and logs go to `<runs_root>/sweeps/<name>/slurm/`.

`grid` takes `key=v1,v2` axes instead of overrides and runs their cartesian product of any job's
preset (`--job`, `--preset`); its index is named by `--sweep-name` (default: grid-<job>-<preset>-
<hash of the axes>). Commas split scalar fields; tuple fields (optim.betas, sample.*) keep commas
inside one value and separate values by ';' ("optim.betas=0.9,0.99;0.9,0.95", quoted).
Grids over --max-points (default 256) are refused.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from gpt import rundir
from gpt.config import (ConfigError, DataConfig, OptimConfig, RunConfig, SampleConfig,
                        TrainConfig, model_preset, preset_name)
from gpt.overrides import apply_overrides
from jobs import JOBS, ablations, grid, launch
from jobs.cluster import LaunchError, pending_runs
from jobs.context import JobContext


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep: its experiment number, job, config and a label for tables."""

    exp: int | None      # experiment number kept from the assignment (None: not numbered)
    job: str             # the job module that runs it (a key of jobs.JOBS)
    cfg: RunConfig
    label: str           # short human description for tables and legends


def ift6135_12() -> list[SweepRun]:
    """IFT6135: LSTM vs GPT-1 on WikiText-2 (GPT-1 BPE), batch 16, 10 epochs, lr 1e-3, no dropout.

    The original froze OpenAI's GPT-1 embeddings: add `model.embeddings_file=embeddings.npz
    model.freeze_embeddings=true` (the file is not offline; learned embeddings otherwise)."""
    base = RunConfig(
        data=DataConfig(dataset="wikitext2-gpt1", tokenizer="gpt1"),
        # 9,205 training sequences of 256 / batch 16 = 575 steps: one evaluation per epoch
        train=TrainConfig(epochs=10, batch_size=16, eval_interval=575, eval_iters=0, log_interval=50,
                          loss_reduction="sequence"),   # the assignment's per-sequence mean
        sample=SampleConfig(prompts=(" The best way to learn",), max_new_tokens=30, top_k=40))
    plan = [(1, "lstm", 1, "adam"), (2, "lstm", 1, "adamw"), (3, "lstm", 1, "sgd"),
            (4, "lstm", 1, "momentum"), (5, "minigpt1", 1, "adam"), (6, "minigpt1", 1, "adamw"),
            (7, "minigpt1", 1, "sgd"), (8, "minigpt1", 1, "momentum"), (9, "lstm", 2, "adamw"),
            (10, "lstm", 4, "adamw"), (11, "minigpt1", 2, "adamw"), (12, "minigpt1", 4, "adamw")]
    runs = []
    for exp, arch, layers, opt in plan:
        # torch's Adam/AdamW/SGD defaults, as run_exp.py used them: no decay for adam, the
        # others decay every parameter (model.parameters()); no clipping
        optim = OptimConfig(name=opt, lr=1e-3, betas=(0.9, 0.999), momentum=0.9, grad_clip=0.0,
                            weight_decay=0.0 if opt == "adam" else 5e-4, decay_scope="all")
        arch_name = "LSTM" if arch == "lstm" else "GPT-1"
        cfg = dataclasses.replace(base, name=f"exp{exp:02d}-{arch}-{layers}l-{opt}", optim=optim,
                                  model=model_preset(arch, n_layer=layers))
        runs.append(SweepRun(exp, "full_run", cfg, f"{arch_name} {layers} layer(s) {opt}"))
    return runs


def smoke() -> list[SweepRun]:
    """Four tiny char GPTs (full_run's smoke preset varied): each well under 30 s on a CPU."""
    from jobs.full_run import smoke as smoke_cfg
    base = smoke_cfg()
    variants = [("base", "base", {}), ("lr1e-3", "lr=1e-3", {"optim.lr": "1e-3"}),
                ("2layer", "n_layer=2", {"model.n_layer": "2"}),
                ("64d", "n_embd=64 n_head=4", {"model.n_head": "4", "model.n_embd": "64"})]
    return [SweepRun(None, "full_run", apply_overrides(base, [f"name=smoke-{key}"] +
                                                       [f"{k}={v}" for k, v in changes.items()]), label)
            for key, label, changes in variants]


def attention_ablations(overrides: list[str]) -> list[SweepRun]:
    """Every attention variant of jobs/ablations.py on one base (smoke-sized char GPT by default).

    The overrides change the base; each variant's own keys are applied after them."""
    from jobs.attention_ablation import smoke as base_cfg
    base = apply_overrides(base_cfg(), overrides)
    runs = []
    for key, label, changes in ablations.VARIANTS:
        try:
            cfg = apply_overrides(base, [f"name={base.name}-{key}", *changes])
        except ConfigError as exc:
            raise ConfigError(f"sweep attention_ablations, variant {key}: {exc}; nothing was run") from None
        runs.append(SweepRun(None, "attention_ablation", cfg, label))
    return runs


SWEEPS = {"ift6135_12": ift6135_12, "smoke": smoke, "attention_ablations": None, "grid": None}


def build(name: str, overrides: list[str]) -> list[SweepRun]:
    """All runs of a named sweep with the overrides applied; ConfigError names the invalid run."""
    if name not in SWEEPS or name == "grid":
        raise ConfigError(f"unknown sweep {name!r}; choose one of: {', '.join(SWEEPS)}")
    if name == "attention_ablations":
        return attention_ablations(overrides)
    runs = []
    for run in SWEEPS[name]():
        try:
            runs.append(dataclasses.replace(run, cfg=apply_overrides(run.cfg, overrides)))
        except ConfigError as exc:
            raise ConfigError(f"sweep {name}, run {run.cfg.name}: {exc}; nothing was run") from None
    return runs


def build_grid(job: str, preset: str, items: list[str], max_points: int) -> list[SweepRun]:
    """The grid points of `items` over `job`'s `preset`, one run each (see jobs/grid.py)."""
    import importlib
    if job not in JOBS:
        raise ConfigError(f"--job {job!r} is not a job; choose one of: {', '.join(JOBS)}")
    presets = importlib.import_module(JOBS[job]).PRESETS
    if preset not in presets:
        raise ConfigError(f"--preset {preset!r} is not a preset of {job}; choose one of: {', '.join(presets)}")
    if max_points < 1:  # --max-points 0 or negative
        raise ConfigError(f"--max-points {max_points} must be at least 1")
    _, points = grid.expand(presets[preset](), items, max_points)
    return [SweepRun(None, job, p.cfg, p.label) for p in points]


def index_path(runs_root: Path, name: str) -> Path:
    """Where sweep `name`'s index of run dirs lives: <runs_root>/sweeps/<name>/index.json."""
    return Path(runs_root).resolve() / "sweeps" / name / "index.json"


def write_index(runs_root: Path, name: str, tasks: list[launch.Task], runs: list[SweepRun],
                submission: dict | None = None) -> Path:
    """(Re)write the index with today's runs; earlier submissions are kept, a new one appended."""
    path = index_path(runs_root, name)
    try:
        submissions = rundir.read_json(path).get("submissions", [])
    except ValueError:
        submissions = []
    rows = [{"exp": r.exp, "name": r.cfg.name, "job": r.job, "run_dir": str(t.run_dir), "label": r.label}
            for r, t in zip(runs, tasks)]
    rundir.write_json(path, {"sweep": name, "runs": rows,
                             "submissions": submissions + ([submission] if submission else [])})
    return path


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the sweep name, its overrides, the grid options and the launcher's flags to `p`."""

    p.add_argument("name", choices=sorted(SWEEPS), type=lambda name: preset_name(name, SWEEPS),
                   help="which sweep (`-` and `_` are the same)")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="applied to every run; for grid: key=v1,v2 axes (scalars split on ',', "
                        "tuple fields on ';') and key=value fixed overrides")
    g = p.add_argument_group("grid (sweep grid only)")
    g.add_argument("--job", default=None, help="the job to sweep (default: full_run): any of " + ", ".join(JOBS))
    g.add_argument("--preset", default=None, help="that job's starting config (default: default)")
    g.add_argument("--max-points", type=int, default=None,
                   help=f"refuse grids with more points (default: {grid.DEFAULT_MAX_POINTS})")
    g.add_argument("--sweep-name", default=None,
                   help="index name under <runs_root>/sweeps/ (default: grid-<job>-<preset>-<hash>)")
    p.add_argument("--list", action="store_true", help="show the runs and their run dirs; run nothing")
    p.add_argument("--parallel", type=int, default=None,
                   help="most runs at once (slurm: the array's %%N throttle; local: default 1)")
    p.add_argument("--task-index", type=int, default=None,
                   help="run only run number I, here (what sbatch_templates/sweep_array.sh does)")
    p.add_argument("--runs-root", type=Path, default=None, help="default: $RUNS_ROOT or ./runs")
    p.add_argument("--data-root", type=Path, default=None, help="raw corpora (default: $DATA_ROOT)")
    p.add_argument("--cache-dir", type=Path, default=None, help="default: $DATA_CACHE or ./.cache/data")
    launch.add_arguments(p)


def _context(args) -> JobContext:
    from data import default_cache_dir
    runs_root = rundir.runs_root(args.runs_root)
    return JobContext(runs_root=runs_root.resolve(), data_root=args.data_root,
                      cache_dir=(args.cache_dir.expanduser() if args.cache_dir else default_cache_dir()).resolve())


def _print_list(runs: list[SweepRun], tasks: list[launch.Task]) -> None:
    for i, (r, t) in enumerate(zip(runs, tasks)):
        done = "completed" if rundir.is_complete(t.run_dir) else "-"
        exp = "" if r.exp is None else f"exp {r.exp:>2}"
        print(f"{i:>3}  {exp:<6}  {r.label:<28}  {done:<9}  {t.run_dir}")


def _run(name: str, runs: list[SweepRun], tasks: list[launch.Task], ctx: JobContext, args) -> int:
    if args.task_index is not None:
        return launch.run_inline(tasks[args.task_index], ctx)
    if args.executor != "slurm" and (args.dry_run or args.wait):
        raise LaunchError("--dry-run and --wait go with --executor slurm (local always waits)")
    if args.executor == "inline":
        return launch.run_inline_all(tasks, ctx)
    if args.executor == "local":
        return launch.run_local(tasks, ctx, args, parallel=args.parallel or 1)
    todo = tasks if args.dry_run else pending_runs(tasks)
    if not todo:
        print(f"sweep {name}: nothing to submit")
        return 0
    folder = index_path(ctx.runs_root, name).parent / rundir.SLURM
    ids = launch.submit_slurm(todo, ctx, args, launch.resources(args, todo), name=f"sweep.{name}",
                              folder=folder, parallel=args.parallel)
    if ids:
        array_id = ids[0].split("_")[0]
        path = write_index(ctx.runs_root, name, tasks, runs,
                           {"array_job_id": array_id, "time": time.time(), "n_tasks": len(ids)})
        print(f"sweep {name}: array job {array_id}, {len(ids)} task(s); index {path}\n"
              f"follow it with: python main.py status {name} --runs-root {ctx.runs_root}")
    return 0


def main(args) -> int:
    """`python main.py sweep NAME ...`; exit code 2 on a refused sweep."""
    ctx = _context(args)
    name = args.name
    grid_flags = {"--job": args.job, "--preset": args.preset, "--max-points": args.max_points,
                  "--sweep-name": args.sweep_name}
    if name == "grid":
        job, preset = args.job or "full_run", args.preset or "default"
        runs = build_grid(job, preset, args.overrides, args.max_points or grid.DEFAULT_MAX_POINTS)
        name = args.sweep_name or grid.default_sweep_name(job, preset, args.overrides)
        if not name or any(c in name for c in "/\\ \t"):
            raise ConfigError(f"--sweep-name {name!r} must be non-empty, without slashes or spaces")
    else:
        given = [flag for flag, value in grid_flags.items() if value is not None]
        if given:
            raise ConfigError(f"{', '.join(given)} go with `sweep grid`; sweep {name} has its own runs")
        runs = build(name, args.overrides)
    try:
        tasks = [launch.make_tasks(r.job, [r.cfg], ctx.runs_root)[0] for r in runs]
        if args.list or args.print_run_dir:
            _print_list(runs, tasks)
            return 0
        if args.parallel is not None and args.parallel < 1:
            raise LaunchError(f"--parallel {args.parallel} must be at least 1")
        if args.task_index is not None and not 0 <= args.task_index < len(tasks):
            raise LaunchError(f"--task-index {args.task_index} out of range: sweep {name} has "
                              f"runs 0..{len(tasks) - 1} (use --array=0-{len(tasks) - 1})")
        if args.executor != "slurm" or args.task_index is not None:  # slurm: once submitted
            write_index(ctx.runs_root, name, tasks, runs)
        return _run(name, runs, tasks, ctx, args)
    except LaunchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
