#!/bin/bash
# Check an allocation before a long run: which node, which GPU, and whether PyTorch can use it.
# Exits 0 when torch sees a CUDA GPU, 1 otherwise. Submit from any folder (the log,
# <job name>-<job id>.out, lands there):
#
#   sbatch sbatch_templates/test_allocation.sh && cat test_allocation-*.out
#   sbatch --partition=long --gres=gpu:a100:1 sbatch_templates/test_allocation.sh
#
# Sizes: the defaults below suit one GPU node; flags given to sbatch before the script win, e.g. on a
# small cluster:  sbatch --cpus-per-task=2 --mem=4G sbatch_templates/test_allocation.sh ...
#SBATCH --job-name=test_allocation
##SBATCH --partition=<your partition>     # (remove one '#' to use) default: the cluster's default
##SBATCH --account=<your account>
#SBATCH --gres=gpu:1
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=1
#SBATCH --mem=4G
#SBATCH --time=0:05:00
#SBATCH --output=%x-%j.out
set -eo pipefail   # (no -u: conda's activate scripts read unset variables)

# The conda env of environment.yml, unless the submitting shell had a Python env active
# (sbatch passes the environment on: VIRTUAL_ENV for a venv, CONDA_DEFAULT_ENV for conda).
# module load anaconda/3 cuda/12.1
if [ -z "${VIRTUAL_ENV:-}" ] && [ "${CONDA_DEFAULT_ENV:-}" != slm-toolkit ]; then
  source "$(conda info --base)/etc/profile.d/conda.sh"
  conda activate slm-toolkit
fi

echo "job $SLURM_JOB_ID on $(hostname) partition=$SLURM_JOB_PARTITION CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-}"
nvidia-smi || echo "nvidia-smi: not available on this node"
srun python -u -c '
import sys, torch
print(f"torch {torch.__version__}, CUDA build {torch.version.cuda}, GPUs visible: {torch.cuda.device_count()}")
if not torch.cuda.is_available():
    sys.exit("no usable CUDA GPU in this allocation: check --gres/--gpus and the CUDA build of torch")
x = torch.randn(1024, 1024, device="cuda")
print(f"{torch.cuda.get_device_name(0)}: matmul ok, checksum {float((x @ x).sum()):.3f}")
'
