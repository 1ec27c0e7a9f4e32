#!/usr/bin/env bash
# Full-scale reproductions on one GPU, one command per experiment; results copied to docs/results/.
#   DATA_ROOT=/path/to/data bash scripts/reproduce_gpu.sh nanogpt_char cs224n_pretrain_finetune
# (no argument: the three that need no download; jhu_full_run first needs
#  `python data.py download wikitext103 --data-root $DATA_ROOT` and `... download gpt2`)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATA_ROOT:?set DATA_ROOT to the folder of raw corpora}"
RUNS_ROOT="${RUNS_ROOT:-runs}"
PY="${PYTHON:-python}"
mkdir -p docs/results
for exp in "${@:-nanogpt_char cs224n_pretrain_finetune ift6135_12}"; do
  for e in $exp; do
    start=$(date +%s)
    "$PY" -u main.py reproduce "$e" device=cuda train.progress=lines --runs-root "$RUNS_ROOT"
    cp "$RUNS_ROOT/reproduce/$e.md" "$RUNS_ROOT/reproduce/$e.json" docs/results/
    { echo; echo "Command: python main.py reproduce $e device=cuda ($(( $(date +%s) - start )) s wall," \
      "$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), $(date -u +%F))"; } >> "docs/results/$e.md"
  done
done
