# Sourced by every sbatch template, found through Slurm (the submitted script's path) or
# $TOOLKIT_REPO: the repository, the job's Python environment, and one log line saying where the
# job runs and logs.   source "$TOOLKIT_REPO/sbatch_templates/job_env.sh"

# The repository is the folder above this file. The job stays in the folder you submitted from,
# so relative paths in the arguments (and ./runs) mean what they meant there.
TOOLKIT_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ -f "$TOOLKIT_REPO/main.py" ] || { echo "no main.py in $TOOLKIT_REPO: set TOOLKIT_REPO=/path/to/slm-toolkit" >&2; exit 2; }

# The conda env of environment.yml, unless the submitting shell had a Python env active
# (sbatch passes the environment on: VIRTUAL_ENV for a venv, CONDA_DEFAULT_ENV for conda).
# module load anaconda/3 cuda/12.1
if [ -z "${VIRTUAL_ENV:-}" ] && [ "${CONDA_DEFAULT_ENV:-}" != slm-toolkit ]; then
  source "$(conda info --base)/etc/profile.d/conda.sh"
  conda activate slm-toolkit
fi
export TOOLKIT_REPO
# An array task by <array id>_<task>: its own record (the array's id alone names every task)
TOOLKIT_JOB=${SLURM_ARRAY_JOB_ID:+${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}}
TOOLKIT_JOB=${TOOLKIT_JOB:-${SLURM_JOB_ID:-}}
if [ -n "$TOOLKIT_JOB" ]; then   # the log path goes into the run's slurm/jobs.jsonl (`status` shows it)
  export TOOLKIT_LOG=$(scontrol show job -o "$TOOLKIT_JOB" | sed -n '1s/.* StdOut=\([^ ]*\).*/\1/p')
  echo "[template] job $TOOLKIT_JOB: repo $TOOLKIT_REPO, working dir $PWD, log $TOOLKIT_LOG"
fi
