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
the others; with other overrides (other run dirs) the index keeps the earlier runs and adds the
new ones, so `status NAME` lists both. The index, `<runs_root>/sweeps/<name>/index.json`, is
`{"sweep", "runs": [{"exp", "name", "job", "run_dir", "label"}], "submissions": [{"array_job_id",
"time", "n_tasks"}]}`; the array's sbatch script, task list and logs go to `<runs_root>/sweeps/<name>/slurm/`.

`grid` takes `key=v1,v2` axes instead of overrides and runs their cartesian product of any job's
preset (`--job`, `--preset`); its index is named by `--sweep-name` (default: grid-<job>-<preset>-
<hash of the axes>). Commas split scalar fields; tuple fields (optim.betas, sample.*) keep commas
inside one value and separate values by ';' ("optim.betas=0.9,0.99;0.9,0.95", quoted).
Every point is validated as a whole (values valid only together are fine). Grids over
--max-points (default 256, at least 1) are refused; --sweep-name follows the run-name rule.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from gpt import rundir
from gpt.config import MAX_NAME_CHARS, NAME_PATTERN, ConfigError, preset_name
from jobs import JOBS, grid
from jobs.context import JobContext, add_path_arguments, context_from_args
from jobs.launcher.launch import dispatch
from jobs.launcher.pack import add_arguments as add_pack_arguments
from jobs.launcher.request import add_arguments as add_launch_arguments, from_args
from jobs.sweeps import SWEEPS, SweepRun, build, build_grid
from jobs.launcher.tasks import Task, make_tasks


def index_path(runs_root: Path, name: str) -> Path:
    """Where sweep `name`'s index of run dirs lives: <runs_root>/sweeps/<name>/index.json."""
    return Path(runs_root).resolve() / "sweeps" / name / "index.json"


def write_index(runs_root: Path, name: str, tasks: list[Task], runs: list[SweepRun],
                submission: dict | None = None) -> Path:
    """Write the index with today's runs merged in: runs listed by an earlier call with other
    overrides stay (in their place, so `status NAME` still shows them), today's new run dirs
    are appended; earlier submissions are kept and a new one appended."""
    path = index_path(runs_root, name)
    try:
        earlier = rundir.read_json(path)
    except ValueError:
        earlier = {}
    today = {str(t.run_dir): {"exp": r.exp, "name": r.cfg.name, "job": r.job, "run_dir": str(t.run_dir),
                              "label": r.label} for r, t in zip(runs, tasks)}
    rows = earlier.get("runs") if isinstance(earlier.get("runs"), list) else []
    kept = [r for r in rows if isinstance(r, dict) and isinstance(r.get("run_dir"), str)]
    others = sum(r["run_dir"] not in today for r in kept)
    kept = [today.pop(r["run_dir"], r) for r in kept]
    if others and today:                # today's runs not yet listed: appended
        print(f"[sweep] {name}: the index keeps {others} earlier run(s) of other overrides and adds "
              f"{len(today)}; `status {name}` lists all {len(kept) + len(today)}")
    kept += today.values()
    submissions = earlier.get("submissions") if isinstance(earlier.get("submissions"), list) else []
    rundir.write_json(path, {"sweep": name, "runs": kept,
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
                   help=f"refuse grids with more points (at least 1; default: {grid.DEFAULT_MAX_POINTS})")
    g.add_argument("--sweep-name", default=None,
                   help="index name under <runs_root>/sweeps/, as a run name: A-Z a-z 0-9 . _ - "
                        "(default: grid-<job>-<preset>-<hash>)")
    p.add_argument("--list", action="store_true", help="show the runs and their run dirs; run nothing")
    p.add_argument("--parallel", type=int, default=None,
                   help="most runs at once (slurm: the array's %%N throttle; local: default 1)")
    p.add_argument("--task-index", type=int, default=None,
                   help="run only run number I, here (what sbatch_templates/sweep_array.sh does)")
    add_path_arguments(p)
    add_pack_arguments(p)
    add_launch_arguments(p)


def _print_list(runs: list[SweepRun], tasks: list[Task]) -> None:
    for i, (r, t) in enumerate(zip(runs, tasks)):
        done = "completed" if rundir.is_complete(t.run_dir) else "-"
        exp = "" if r.exp is None else f"exp {r.exp:>2}"
        print(f"{i:>3}  {exp:<6}  {r.label:<28}  {done:<9}  {t.run_dir}")


def _submitted(name: str, runs: list[SweepRun], tasks: list[Task], ctx: JobContext, ids: tuple) -> None:
    """Append the array submission to the index and say how to follow it."""
    array_id, n_tasks = ids[0].split("_")[0], len(set(ids))   # --pack: several runs per array task
    path = write_index(ctx.runs_root, name, tasks, runs,
                       {"array_job_id": array_id, "time": time.time(), "n_tasks": n_tasks})
    print(f"sweep {name}: array job {array_id}, {n_tasks} task(s) for {len(ids)} run(s); index {path}\n"
          f"follow it with: python main.py status {name} --runs-root {ctx.runs_root}")


def main(args) -> int:
    """`python main.py sweep NAME ...`; exit code 2 on a refused sweep."""
    ctx, request = context_from_args(args), from_args(args)
    name = args.name
    grid_flags = {"--job": args.job, "--preset": args.preset, "--max-points": args.max_points,
                  "--sweep-name": args.sweep_name}
    if name == "grid":
        job, preset = args.job or "full_run", args.preset or "default"
        if args.sweep_name is not None and not NAME_PATTERN.fullmatch(args.sweep_name):
            raise ConfigError(f"--sweep-name {args.sweep_name[:40]!r} is not valid: use 1-{MAX_NAME_CHARS} "
                              "of A-Z a-z 0-9 . _ - (not starting with . or -), as a run name")
        max_points = grid.DEFAULT_MAX_POINTS if args.max_points is None else args.max_points
        runs = build_grid(job, preset, args.overrides, max_points)
        name = args.sweep_name or grid.default_sweep_name(job, preset, args.overrides)
    else:
        given = [flag for flag, value in grid_flags.items() if value is not None]
        if given:
            raise ConfigError(f"{', '.join(given)} go with `sweep grid`; sweep {name} has its own runs")
        runs = build(name, args.overrides)
    tasks = [make_tasks(r.job, [r.cfg], ctx.runs_root)[0] for r in runs]
    if args.list or request.print_run_dir:
        _print_list(runs, tasks)
        return 0
    request.selected(tasks, f"sweep {name}")        # a bad --task-index: refused before the index
    if request.executor != "slurm" or request.task_index is not None:  # slurm: once submitted
        write_index(ctx.runs_root, name, tasks, runs)
    outcome = dispatch(tasks, ctx, request, name=f"sweep.{name}",
                       folder=index_path(ctx.runs_root, name).parent / rundir.SLURM)
    if outcome.job_ids:
        _submitted(name, runs, tasks, ctx, outcome.job_ids)
    return outcome.exit_code
