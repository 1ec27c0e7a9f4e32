#!/bin/bash
# Data-parallel training on several GPUs (DistributedDataParallel over NCCL; gloo on CPUs): one
# Slurm task per GPU, train.batch_size is the GLOBAL batch (split across the ranks, so it must
# divide by nodes x tasks-per-node). Submit from any folder; the arguments go to `python main.py`:
#
#   sbatch sbatch_templates/multi_gpu.sh full_run --preset shakespeare_char device=cuda
#   sbatch --nodes=2 sbatch_templates/multi_gpu.sh full_run --preset spec_a device=cuda   # 2 x 4 GPUs
#   sbatch --gres=none --ntasks-per-node=2 --cpus-per-task=1 --mem=2G \
#          sbatch_templates/multi_gpu.sh full_run --preset smoke          # 2 CPU ranks (gloo), any node
#
# Only rank 0 writes the run dir, which must be on a filesystem every node sees (not /tmp).
# Preemption and time limits: every rank gets USR2 120 s before the end; all stop at the same
# step, rank 0 saves checkpoints/last.pt and requeues the job; the next attempt resumes.
# Edit the header for your cluster: --gres=gpu:K and --ntasks-per-node=K must agree (one task
# per GPU); for 2 nodes set --nodes=2 (8 ranks with the lines below).
#SBATCH --job-name=multi_gpu
##SBATCH --partition=<your partition>     # (remove one '#' to use) default: the cluster's default
##SBATCH --account=<your account>
#SBATCH --nodes=1
#SBATCH --gres=gpu:4
#SBATCH --ntasks-per-node=4
#SBATCH --cpus-per-task=4
#SBATCH --mem=64G
#SBATCH --time=4:00:00
#SBATCH --output=%x-%j.out
#SBATCH --open-mode=append
#SBATCH --signal=USR2@120
#SBATCH --requeue
set -eo pipefail   # (no -u: conda's activate scripts read unset variables)

# Slurm runs a copy of this file: job_env.sh (Python env, log line) is found next to the original
# (first line only: for the array task whose id is the array's, scontrol prints every task)
source "${TOOLKIT_REPO:-$(scontrol show job -o "${SLURM_JOB_ID:?submit with sbatch}" | sed -n '1s|.* Command=\([^ ]*\)/sbatch_templates/[^ ]*.*|\1|p')}/sbatch_templates/job_env.sh" || { echo "set TOOLKIT_REPO=/path/to/slm-toolkit" >&2; exit 2; }

# One task per GPU: srun starts every rank; each reads its rank, the world size and the master
# (the first node of the job, a port from the job id) from SLURM_* (gpt/distributed.py).
srun python -u "$TOOLKIT_REPO/main.py" "$@"
