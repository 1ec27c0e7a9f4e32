#!/bin/bash
# A sweep as one job array: task i runs run number i of the sweep (`python main.py sweep NAME --list`
# numbers them). Submit from any folder (logs
# <job name>-<array id>_<task>.out land there), with --array sized to the sweep and %N = most
# runs at once:
#
#   sbatch --array=0-11%4 sbatch_templates/sweep_array.sh ift6135_12
#   sbatch --array=0-3%2 sbatch_templates/sweep_array.sh smoke train.max_iters=100
#
# (`python main.py sweep NAME --executor slurm --parallel N` submits the same array from Python,
# skipping finished runs.) Arguments go to `python main.py sweep` unchanged. Each task is
# idempotent: a finished run returns at once, an interrupted one resumes. USR2 120 s before the time
# limit (--signal): the task saves at a step boundary and requeues itself (--requeue).
# Sizes: the defaults below suit one GPU node; flags given to sbatch before the script win, e.g. on a
# small cluster:  sbatch --cpus-per-task=2 --mem=4G sbatch_templates/sweep_array.sh ...
# Edit the header for your cluster:
#SBATCH --job-name=sweep
#SBATCH --array=0-11%4
##SBATCH --partition=<your partition>     # (remove one '#' to use) default: the cluster's default
##SBATCH --account=<your account>
#SBATCH --gres=gpu:1
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --time=12:00:00
#SBATCH --output=%x-%A_%a.out
#SBATCH --open-mode=append
#SBATCH --signal=USR2@120
#SBATCH --requeue
set -eo pipefail   # (no -u: conda's activate scripts read unset variables)

# This repository: sbatch runs a copy of this file (from Slurm's spool), so ask Slurm where the
# original lies; $TOOLKIT_REPO overrides. The job stays in the folder you submitted from, so
# relative paths in the arguments (and ./runs) mean what they meant there.
if [ -z "${TOOLKIT_REPO:-}" ]; then
  script=$0
  [ -z "${SLURM_JOB_ID:-}" ] || script=$(scontrol show job -o "$SLURM_JOB_ID" | sed -n 's/.* Command=\([^ ]*\).*/\1/p')
  TOOLKIT_REPO=$(cd "$(dirname "$script")/.." && pwd)
fi
[ -f "$TOOLKIT_REPO/main.py" ] || { echo "no main.py in $TOOLKIT_REPO: set TOOLKIT_REPO=/path/to/slm-toolkit" >&2; exit 2; }
source "$TOOLKIT_REPO/sbatch_templates/job_env.sh"   # Python env, log line

srun python -u "$TOOLKIT_REPO/main.py" sweep "$@" --task-index "$SLURM_ARRAY_TASK_ID"
