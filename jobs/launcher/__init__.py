"""The launcher: how a job's tasks run (inline, local submitit, Slurm), never what a job does.

Its public entry is `jobs.launcher.launch.dispatch(tasks, ctx, request)`, with the tasks from
`jobs.launcher.tasks.make_tasks` and the one `LaunchRequest` from `jobs.launcher.request`; the
rest (Slurm rendering and submission, stage chains, packing, the worker a Slurm job runs) is
its own business. It reaches a job by name through the registry (`jobs.job_module`), never by
importing a job module or a tool (tests/test_layout.py).
"""
