"""Jobs users run. Each module has a docstring with a CPU example, `PRESETS` and `run(cfg, ctx)`.

`JOBS` maps a job name (the `main.py` subcommand) to its module path. Importing this package
imports no job; main.py imports every one when it builds its parser (each subcommand's help is
the module's docstring and its --preset choices are the module's PRESETS).
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
