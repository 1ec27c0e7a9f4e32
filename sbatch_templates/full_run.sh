#!/bin/bash
# full_run on one GPU: train, evaluate, plot, sample. Submit from any folder (the log,
# <job name>-<job id>.out, lands there):
#
#   sbatch -c 1 --mem=2G --gres=none sbatch_templates/full_run.sh --preset smoke   # minutes, any node
#   sbatch sbatch_templates/full_run.sh --preset shakespeare_char optim.lr=3e-4 --runs-root /scratch/$USER/runs
#   sbatch --partition=long --time=8:00:00 sbatch_templates/full_run.sh  # flags before the script win
#
# Arguments after the script go to `python main.py full_run` unchanged (quoted, never re-split).
# Preemption and time limits: Slurm sends USR2 120 s before the end (--signal); the job saves at a
# step boundary and requeues itself (--requeue); the next attempt resumes from checkpoints/last.pt.
# `scancel JOBID` (SIGTERM) saves too but is not requeued: the job ends CANCELLED.
# Sizes: the defaults below suit one GPU node; flags given to sbatch before the script win, e.g. on a
# node without GPUs (--gres=none drops the header's GPU):
#   sbatch --cpus-per-task=2 --mem=4G --gres=none sbatch_templates/full_run.sh ...
# Edit the header for your cluster:
#SBATCH --job-name=full_run
##SBATCH --partition=<your partition>     # (remove one '#' to use) default: the cluster's default
##SBATCH --account=<your account>
#SBATCH --gres=gpu:1
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --time=2:00:00
#SBATCH --output=%x-%j.out
#SBATCH --open-mode=append
#SBATCH --signal=USR2@120
#SBATCH --requeue
set -eo pipefail   # (no -u: conda's activate scripts read unset variables)

# Slurm runs a copy of this file: job_env.sh (Python env, log line) is found next to the original
# (first line only: for the array task whose id is the array's, scontrol prints every task)
source "${TOOLKIT_REPO:-$(scontrol show job -o "${SLURM_JOB_ID:?submit with sbatch}" | sed -n '1s|.* Command=\([^ ]*\)/sbatch_templates/[^ ]*.*|\1|p')}/sbatch_templates/job_env.sh" || { echo "set TOOLKIT_REPO=/path/to/slm-toolkit" >&2; exit 2; }

srun python -u "$TOOLKIT_REPO/main.py" full_run "$@"
