#!/usr/bin/env bash
# scripts/gpu_session.sh -- everything issue 11 needs from a GPU, in one go (about 8 minutes on an
# H100/H200): tests/gpu, `bench train` (three presets, trainer vs plain loop), SPEC A's
# cpu_gpu_comparison, and full_run --preset shakespeare_char to its end. Writes
# docs/results/gpu-<UTC stamp>.md (device, date, torch version, each command and its figures) and the
# raw JSON beside it; commit that folder afterwards.
#
#   DATA_ROOT=/path/to/data bash scripts/gpu_session.sh          # from anywhere
#   PYTHON=/opt/venv/bin/python QUICK=1 bash scripts/gpu_session.sh  # QUICK=1: bench + tests only
#
# DATA_ROOT must hold tinyshakespeare/ and wikitext-2/ (the corpora of /work/shared/data, ~4 MB).
# Each step has its own time limit and the script goes on after a failure, so one broken step
# still leaves the others' figures; the exit status is 1 if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
: "${DATA_ROOT:?set DATA_ROOT to the folder holding tinyshakespeare/ and wikitext-2/}"
export DATA_ROOT PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

"$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' || {
    echo "gpu_session.sh: no CUDA GPU visible to $PY (torch $("$PY" -c 'import torch; print(torch.__version__)' 2>&1))" >&2
    exit 2; }

stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=docs/results/gpu-$stamp
mkdir -p "$results"
work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-session.XXXXXX")
runs=$work/runs
report=$results/README.md
failed=0

# run LIMIT_S NAME CMD...: run a step, keep its output in $results/NAME.log, note it in the report
run() {
    local limit=$1 name=$2; shift 2
    echo "== $name: $*" >&2
    local t0=$SECONDS rc=0
    timeout --kill-after=30 "$limit" "$@" > "$results/$name.log" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || failed=1
    { echo "### $name (exit $rc, $((SECONDS - t0)) s)"; echo; echo '```'; echo "$*"; echo '```'; echo; } >> "$report"
    tail -n 3 "$results/$name.log" >&2
    return 0
}

{
    echo "# GPU session $stamp"; echo
    echo "- device: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -n1)"
    echo "- torch: $("$PY" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version())')"
    echo "- python: $("$PY" -c 'import sys; print(sys.version.split()[0])')"
    echo "- git: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (dirty)')"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"; echo
} > "$report"

# 1. the GPU tests (compile tests dominate: ~1-2 min)
run 240 tests "$PY" -m pytest -q -m gpu tests/gpu -p no:cacheprovider

# 2. benchmarks: the trainer's own loop vs a plain hand loop, bf16, compiled (warm-up untimed)
for preset in gpt2-124m shakespeare-char; do
    run 180 "bench-$preset" "$PY" main.py bench train --preset "$preset" --device cuda --compile \
        --compare plain --steps 30 --warmup 10
done
# gpt-nano at B256 T32 is launch-bound: eager, as SPEC A runs it
run 90 bench-jhu-nano "$PY" main.py bench train --preset jhu-nano --device cuda --compare plain \
    --steps 50 --warmup 10

if [ -z "${QUICK:-}" ]; then
    # 3. SPEC A (JHU): gpt-nano, block 32, batch 256, 50 steps on CPU then on the GPU
    run 240 cpu_gpu_comparison "$PY" main.py cpu_gpu_comparison --runs-root "$runs" \
        --cache-dir "$work/cache" --executor inline
    # 4. nanoGPT's shakespeare_char to its end (5000 iters), compiled, bf16
    run 420 full_run-shakespeare_char "$PY" main.py full_run --preset shakespeare_char device=cuda \
        train.compile=true train.progress=lines --runs-root "$runs" --cache-dir "$work/cache" \
        --executor inline
fi

# the figures: bench JSON as a table, the comparison table, the full_run summary
"$PY" - "$results" "$runs" >> "$report" <<'EOF'
import json, sys
from pathlib import Path
results, runs = Path(sys.argv[1]), Path(sys.argv[2])
print("## bench train (tokens/s of the trainer; plain = minimal hand loop, same model, same run)\n")
print("| preset | compile | ms/step | tokens/s | MFU % | peak MiB | plain tokens/s | trainer/plain |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for log in sorted(results.glob("bench-*.log")):
    text = log.read_text()
    try:
        b = json.loads(text[text.index("{"):text.rindex("}") + 1])
    except ValueError:
        print(f"| {log.stem} | failed: see {log.name} |||||||"); continue
    (results / f"{log.stem}.json").write_text(json.dumps(b, indent=2) + "\n")
    mfu = f"{b['mfu_pct']:.1f}" if b.get("mfu_pct") is not None else f"n/a ({b.get('mfu_omitted')})"
    mem = f"{b['peak_mem_mb']:,.0f}" if b.get("peak_mem_mb") is not None else "n/a"
    print(f"| {b['preset']} | {b['compile']} | {b['ms_per_step']:.2f} | {b['tokens_per_s']:,.0f} | {mfu} | "
          f"{mem} | {b['plain']['tokens_per_s']:,.0f} | {b['trainer_vs_plain']:.3f} |")
for table in runs.glob("cpu_gpu_comparison/*/comparison.md"):
    print("\n## cpu_gpu_comparison (SPEC A)\n"); print(table.read_text())
for summary in runs.glob("full_run/*/summary.json"):
    s = json.loads(summary.read_text())
    (results / "full_run-shakespeare_char.summary.json").write_text(json.dumps(s, indent=2) + "\n")
    print("\n## full_run --preset shakespeare_char\n")
    for key in ("steps", "best_val_loss", "best_step", "wall_s", "ms_per_step", "tokens_per_s", "mfu_pct",
                "gpu_mem_peak_allocated_mb", "device"):
        print(f"- {key}: {s.get(key)}")
EOF
grep -h -E "passed|failed|error|skipped" "$results/tests.log" | tail -n 1 | sed 's/^/\ntests\/gpu: /' >> "$report"
echo "results in $results (exit $failed)" >&2
exit $failed
