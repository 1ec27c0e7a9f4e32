"""Jobs users run. Each module has a docstring with a CPU example, `PRESETS` and `run(cfg, ctx)`.

`JOBS` maps a job name (the `main.py` subcommand) to its module path; modules are imported on use
so `main.py --help` stays fast.
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
