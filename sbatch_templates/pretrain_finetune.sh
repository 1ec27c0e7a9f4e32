#!/bin/bash
# The CS224n birth-place experiment as three Slurm jobs: pretrain -> finetune -> evaluate, chained with --dependency=afterok.
# Run it with BASH on the login node, from any folder; it submits the three jobs, each of
# which runs this same file under sbatch for its one stage:
#
#   bash sbatch_templates/pretrain_finetune.sh                               # CS224n settings
#   bash sbatch_templates/pretrain_finetune.sh device=cuda --runs-root /scratch/$USER/runs
#   PRETRAIN_PRESET=smoke FINETUNE_PRESET=smoke_pretrained bash sbatch_templates/pretrain_finetune.sh
#   bash sbatch_templates/pretrain_finetune.sh --partition=long --time=8:00:00 -- device=cuda
#
# Arguments go to every stage's `python main.py <stage>` unchanged (evaluate, which has its own
# config, gets the options and device= only); sbatch options may come first, ended by `--`. The run dirs are worked out here first (`--print-run-dir`), so a bad override fails
# before anything is submitted; pretrain is submitted held and released only once all three are in.
# If pretrain fails, Slurm cancels finetune and evaluate (with DependencyParameters=kill_invalid_depend;
# elsewhere they stay PENDING with reason DependencyNeverSatisfied: scancel them).
# Sizes: the defaults below suit one GPU node; flags given to sbatch before the script win, e.g. on a
# small cluster:  sbatch --cpus-per-task=2 --mem=4G sbatch_templates/pretrain_finetune.sh ...
# Edit the header for your cluster (it applies to all three stages):
#SBATCH --job-name=pretrain_finetune
##SBATCH --partition=<your partition>     # (remove one '#' to use) default: the cluster's default
##SBATCH --account=<your account>
#SBATCH --gres=gpu:1
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --time=4:00:00
#SBATCH --output=%x-%j.out
#SBATCH --open-mode=append
#SBATCH --signal=USR2@120
#SBATCH --requeue
set -eo pipefail   # (no -u: conda's activate scripts read unset variables)
PRETRAIN_PRESET=${PRETRAIN_PRESET:-default}          # CS224n: 650 epochs on wiki.txt
FINETUNE_PRESET=${FINETUNE_PRESET:-pretrained}       # CS224n: 10 epochs from the pretrained weights
EVALUATE_PRESET=${EVALUATE_PRESET:-default}          # greedy answers on birth_dev.tsv

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

if [ "${1:-}" = --stage ]; then          # inside a job: run the one stage it was given
  shift
  srun python -u "$TOOLKIT_REPO/main.py" "$@"
  exit
fi

sbatch_opts=()                           # sbatch options before a `--`, main.py arguments after
for arg in "$@"; do
  if [ "$arg" = -- ]; then
    while [ "$1" != -- ]; do sbatch_opts+=("$1"); shift; done
    shift
    break
  fi
done
pretrain=(pretrain --preset "$PRETRAIN_PRESET" "$@")
pretrain_dir=$(python "$TOOLKIT_REPO/main.py" "${pretrain[@]}" --print-run-dir)
finetune=(finetune --preset "$FINETUNE_PRESET" "init_from=$pretrain_dir" "$@")
finetune_dir=$(python "$TOOLKIT_REPO/main.py" "${finetune[@]}" --print-run-dir)
evaluate=(evaluate --preset "$EVALUATE_PRESET" "run_dir=$finetune_dir")
for arg in "$@"; do                      # evaluate's config has none of the training keys
  case $arg in -*|device=*) evaluate+=("$arg") ;; *=*) ;; *) evaluate+=("$arg") ;; esac
done
python "$TOOLKIT_REPO/main.py" "${evaluate[@]}" --print-run-dir >/dev/null

submitted=()
trap '[ ${#submitted[@]} -eq 0 ] || scancel "${submitted[@]}"; echo "submission failed: cancelled ${submitted[*]}" >&2' ERR
pre=$(sbatch --parsable --hold --job-name=pretrain "${sbatch_opts[@]}" "$0" --stage "${pretrain[@]}")
submitted+=("$pre")
ft=$(sbatch --parsable --job-name=finetune --dependency="afterok:$pre" "${sbatch_opts[@]}" "$0" --stage "${finetune[@]}")
submitted+=("$ft")
ev=$(sbatch --parsable --job-name=evaluate --dependency="afterok:$ft" "${sbatch_opts[@]}" "$0" --stage "${evaluate[@]}")
submitted+=("$ev")
scontrol release "$pre"
trap - ERR
echo "pretrain $pre -> finetune $ft -> evaluate $ev"
echo "  pretrain: $pretrain_dir"
echo "  finetune: $finetune_dir (evaluation results in its eval/)"
