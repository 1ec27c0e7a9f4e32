#!/bin/bash
# cpu_gpu_comparison: the same model for 50 steps on CPU, then on the GPU; prints both times.
# Submit from any folder (the log, <job name>-<job id>.out, lands there):
#
#   sbatch sbatch_templates/cpu_gpu_comparison.sh --preset smoke
#
# Arguments after the script go to `python main.py cpu_gpu_comparison` unchanged (quoted, never re-split).
# Preemption and time limits: Slurm sends USR2 120 s before the end (--signal); the job saves at a
# step boundary and requeues itself (--requeue); the next attempt resumes from checkpoints/last.pt.
# Sizes: the defaults below suit one GPU node; flags given to sbatch before the script win, e.g. on a
# small cluster:  sbatch --cpus-per-task=2 --mem=4G sbatch_templates/cpu_gpu_comparison.sh ...
# Edit the header for your cluster:
#SBATCH --job-name=cpu_gpu_comparison
##SBATCH --partition=<your partition>     # (remove one '#' to use) default: the cluster's default
##SBATCH --account=<your account>
#SBATCH --gres=gpu:1
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --time=0:30:00
#SBATCH --output=%x-%j.out
#SBATCH --open-mode=append
#SBATCH --signal=USR2@120
#SBATCH --requeue
set -eo pipefail   # (no -u: conda's activate scripts read unset variables)

# Slurm runs a copy of this file: job_env.sh (Python env, log line) is found next to the original
# (first line only: for the array task whose id is the array's, scontrol prints every task)
source "${TOOLKIT_REPO:-$(scontrol show job -o "${SLURM_JOB_ID:?submit with sbatch}" | sed -n '1s|.* Command=\([^ ]*\)/sbatch_templates/[^ ]*.*|\1|p')}/sbatch_templates/job_env.sh" || { echo "set TOOLKIT_REPO=/path/to/slm-toolkit" >&2; exit 2; }

srun python -u "$TOOLKIT_REPO/main.py" cpu_gpu_comparison "$@"
