"""Jobs users run. Each module has a docstring with a CPU example, `PRESETS` and `run(cfg, ctx)`.

`JOBS` maps a job name (the `main.py` subcommand) to its module path. Importing this package
imports no job; main.py reads each job's help from its source (jobs/job_info.py). Job modules
are leaves: none imports another; shared pieces are the helpers beside them (jobs/common.py,
jobs/stage.py, jobs/run_model.py, jobs/cs224n.py, jobs/eval_results.py, ...), and a job that runs
others reaches them by name with `job_module`. The launcher (jobs/launcher/) and the tools
(jobs/tools/) sit apart; tests/test_layout.py holds who may import whom.
"""
JOBS = {
    "full_run": "jobs.full_run",
    "cpu_gpu_comparison": "jobs.cpu_gpu_comparison",
    "pretrain": "jobs.pretrain",
    "finetune": "jobs.finetune",
    "evaluate": "jobs.evaluate",
    "london_baseline": "jobs.london_baseline",
    "pretrain_finetune": "jobs.pretrain_finetune",
    "attention_ablation": "jobs.attention_ablation",
    "classify": "jobs.classify",
}


def job_module(name: str):
    """The module of job `name`, imported on first use: how a job that runs others as stages
    (pretrain_finetune) or a tool reaches them, so job modules never import each other."""
    import importlib
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}; jobs: {', '.join(JOBS)}")
    return importlib.import_module(JOBS[name])


def config_type(name: str) -> type:
    """The frozen config class job `name` runs on: its module's CONFIG (evaluate's EvalConfig),
    else RunConfig; what the launcher rebuilds a task's config with."""
    from gpt.config import RunConfig
    return getattr(job_module(name), "CONFIG", RunConfig)
