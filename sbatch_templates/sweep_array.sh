#!/bin/bash
# A sweep as one job array: task i runs run number i of the sweep (`python main.py sweep NAME --list`
# numbers them). Submit from any folder (logs
# <job name>-<array id>_<task>.out land there), with --array sized to the sweep and %N = most
# runs at once:
#
#   sbatch --array=0-11%4 sbatch_templates/sweep_array.sh ift6135_12
#   sbatch --array=0-3%2 -c 1 --mem=2G --gres=none sbatch_templates/sweep_array.sh smoke train.max_iters=100   # any node
#
# (`python main.py sweep NAME --executor slurm --parallel N` submits the same array from Python,
# skipping finished runs.) Arguments go to `python main.py sweep` unchanged. Each task is
# idempotent: a finished run returns at once, an interrupted one resumes. USR2 120 s before the time
# limit (--signal): the task saves at a step boundary and requeues itself (--requeue).
# Sizes: the defaults below suit one GPU node; flags given to sbatch before the script win, e.g. on a
# node without GPUs (--gres=none drops the header's GPU):
#   sbatch --cpus-per-task=2 --mem=4G --gres=none sbatch_templates/sweep_array.sh ...
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

# Slurm runs a copy of this file: job_env.sh (Python env, log line) is found next to the original
# (first line only: for the array task whose id is the array's, scontrol prints every task)
source "${TOOLKIT_REPO:-$(scontrol show job -o "${SLURM_JOB_ID:?submit with sbatch}" | sed -n '1s|.* Command=\([^ ]*\)/sbatch_templates/[^ ]*.*|\1|p')}/sbatch_templates/job_env.sh" || { echo "set TOOLKIT_REPO=/path/to/slm-toolkit" >&2; exit 2; }

srun python -u "$TOOLKIT_REPO/main.py" sweep "$@" --task-index "$SLURM_ARRAY_TASK_ID"
