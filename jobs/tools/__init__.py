"""Tools: `main.py` subcommands that are not training jobs (no run dir of their own).

Each module has `add_arguments(parser)` and `main(args)` and is listed in main.py's TOOLS;
its top-level imports stay free of torch, so its `--help` is instant. A tool may use jobs'
helpers (`jobs.run_model`, `jobs.length_eval`, ...) and the launcher's public entry (dispatch,
request, tasks); no job, job helper or launcher module imports a tool (tests/test_layout.py).
"""
