#!/bin/bash
# The CS224n birth-place experiment in ONE job: pretrain -> finetune -> evaluate (dev, test) ->
# finetune from scratch -> evaluate -> London baseline, each stage skipping itself when done.
# Submit from any folder (the log, <job name>-<job id>.out, lands there):
#
#   sbatch sbatch_templates/pretrain_finetune.sh                         # CS224n settings
#   sbatch -c 1 --mem=2G --gres=none sbatch_templates/pretrain_finetune.sh --preset smoke   # minutes, any node
#   sbatch sbatch_templates/pretrain_finetune.sh device=cuda --runs-root /scratch/$USER/runs
#
# Arguments after the script go to `python main.py pretrain_finetune` unchanged. USR2 120 s before
# the time limit (--signal): the running stage saves at a step boundary and the job requeues itself
# (--requeue); the next attempt skips the finished stages and resumes the one that stopped.
# One Slurm job per stage instead (each with its own resources, chained with afterok, held until
# all are submitted; --dry-run prints every script), from the login node:
#   python main.py pretrain_finetune device=cuda --executor slurm --gpus 1 --time-min 240
# Both ways run the same stages in the same run dirs, so either resumes what the other started.
# Sizes: the defaults below suit one GPU node; flags given to sbatch before the script win, e.g. on a
# node without GPUs (--gres=none drops the header's GPU):
#   sbatch --cpus-per-task=2 --mem=4G --gres=none sbatch_templates/pretrain_finetune.sh ...
# Edit the header for your cluster:
#SBATCH --job-name=pretrain_finetune
##SBATCH --partition=<your partition>     # (remove one '#' to use) default: the cluster's default
##SBATCH --account=<your account>
#SBATCH --gres=gpu:1
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --time=8:00:00
#SBATCH --output=%x-%j.out
#SBATCH --open-mode=append
#SBATCH --signal=USR2@120
#SBATCH --requeue
set -eo pipefail   # (no -u: conda's activate scripts read unset variables)

# Slurm runs a copy of this file: job_env.sh (Python env, log line) is found next to the original
# (first line only: for the array task whose id is the array's, scontrol prints every task)
source "${TOOLKIT_REPO:-$(scontrol show job -o "${SLURM_JOB_ID:?submit with sbatch}" | sed -n '1s|.* Command=\([^ ]*\)/sbatch_templates/[^ ]*.*|\1|p')}/sbatch_templates/job_env.sh" || { echo "set TOOLKIT_REPO=/path/to/slm-toolkit" >&2; exit 2; }

srun python -u "$TOOLKIT_REPO/main.py" pretrain_finetune "$@"
