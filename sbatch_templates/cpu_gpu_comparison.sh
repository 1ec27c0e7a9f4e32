#!/bin/bash
# cpu_gpu_comparison: the same model for 50 steps on CPU, then on the GPU; prints both times.
# Submit from the repository root:
#
#   sbatch sbatch_templates/cpu_gpu_comparison.sh --preset smoke
#
# Arguments after the script go to `python main.py cpu_gpu_comparison` unchanged (quoted, never re-split).
# Preemption and time limits: Slurm sends USR2 120 s before the end (--signal); the job saves at a
# step boundary and requeues itself (--requeue); the next attempt resumes from checkpoints/last.pt.
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
#SBATCH --output=slurm/%x-%j.out
#SBATCH --open-mode=append
#SBATCH --signal=USR2@120
#SBATCH --requeue
set -eo pipefail   # (no -u: conda's activate scripts read unset variables)

# The conda env of environment.yml, unless the submitting shell had a Python env active
# (sbatch passes the environment on: VIRTUAL_ENV for a venv, CONDA_DEFAULT_ENV for conda).
# module load anaconda/3 cuda/12.1
if [ -z "${VIRTUAL_ENV:-}" ] && [ "${CONDA_DEFAULT_ENV:-}" != slm-toolkit ]; then
  source "$(conda info --base)/etc/profile.d/conda.sh"
  conda activate slm-toolkit
fi

srun python -u main.py cpu_gpu_comparison "$@"
