#!/usr/bin/env bash
# scripts/gpu_session.sh -- the CUDA path checked on a real GPU (issue 22), in two stages that each end
# well inside 8 minutes, most valuable first. Run from a checkout on a GPU node:
#
#   bash scripts/gpu_session.sh 1     # tests/gpu, then `bench train`: gpt2-124m (B12 T1024, compiled,
#                                     #   bf16, vs a plain loop), shakespeare-char, jhu-nano  (<= 6.5 min)
#   bash scripts/gpu_session.sh 2     # full_run --preset shakespeare_char device=cuda train.compile=true
#                                     #   to its end, then cpu_gpu_comparison (both legs)     (<= 6.3 min)
#   bash scripts/gpu_session.sh --dry 1   # the same stage on the CPU at toy size (or GPU_SESSION_DRY=1):
#                                         #   a rehearsal that costs no GPU time (tests/test_gpu_session.py)
#
# Each step has its own time limit (SIGTERM, then KILL 20 s later: a training run saves last.pt on
# SIGTERM, so running stage 2 again resumes it); a failed step does not stop the next. Each step's
# results land in the results folder as soon as it ends: its log, raw JSON (bench), the run dir's
# summary, metrics and figures (no checkpoints), and a section of README.md (command, exit code,
# seconds); each stage first writes the GPU name and torch/CUDA/cuDNN versions. So a stage killed
# at its limit still leaves every finished step. Commit the folder afterwards.
#
# Environment (all optional):
#   PYTHON=/path/to/python    the interpreter (default python3); needs torch with CUDA, numpy, pytest
#   DATA_ROOT=DIR             raw corpora, as for main.py (default: main.py's own resolution);
#                             stage 2's cpu_gpu_comparison needs wikitext-2/ (python data.py download
#                             wikitext2 --data-root DIR, on a machine with network)
#   GPU_SESSION_RESULTS=DIR   results folder (default docs/results/gpu-<UTC date>; dry: runs/gpu-session-dry/results)
#   GPU_SESSION_WORK=DIR      run dirs and prepared data (default runs/gpu-session; dry: runs/gpu-session-dry)
# Exit status: 0 if every step passed, 1 if one failed, 2 for a bad argument or no visible GPU.
set -uo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
stage="" dry=${GPU_SESSION_DRY:-}
for arg in "$@"; do
    case $arg in
        1|2) stage=$arg ;;
        --dry) dry=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "error: unknown argument '$arg'; run: bash scripts/gpu_session.sh [--dry] 1|2" >&2; exit 2 ;;
    esac
done
[ -n "$stage" ] || { echo "error: which stage? run: bash scripts/gpu_session.sh 1, then 2 (--dry: on the CPU)" >&2; exit 2; }

PY=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if [ -n "$dry" ]; then
    work=${GPU_SESSION_WORK:-runs/gpu-session-dry}
    results=${GPU_SESSION_RESULTS:-$work/results}
else
    work=${GPU_SESSION_WORK:-runs/gpu-session}
    results=${GPU_SESSION_RESULTS:-docs/results/gpu-$(date -u +%F)}
    "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' || {
        echo "error: no CUDA GPU visible to $PY (torch $("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo not importable));" \
             "run on a GPU node, or rehearse on the CPU: bash scripts/gpu_session.sh --dry $stage" >&2
        exit 2; }
fi
mkdir -p "$results" "$work" || exit 2
report=$results/README.md
failed=0
where=(--runs-root "$work/runs" --cache-dir "$work/cache" --executor inline)
[ -n "${DATA_ROOT:-}" ] && where+=(--data-root "$DATA_ROOT")

# The real command lines, written once. A dry run first checks each one exactly (parsed; a job's
# overrides resolved with --print-run-dir, which writes nothing), then runs it on the CPU at toy size:
# the toy arguments come after the real ones, and later flags and keys win. Only --compile is dropped
# (inductor on a CPU takes minutes), and gpt2-124m is swapped for jhu-nano (its AdamW state is 2 GB).
BENCH_GPT2=(--preset gpt2-124m --device cuda --compile --compare plain --steps 30 --warmup 10)   # B12 T1024
BENCH_CHAR=(--preset shakespeare-char --device cuda --compile --compare plain --steps 30 --warmup 10)
BENCH_NANO=(--preset jhu-nano --device cuda --compare plain --steps 50 --warmup 10)   # launch-bound: eager
FULL_RUN=(full_run --preset shakespeare_char device=cuda train.compile=true)
COMPARISON=(cpu_gpu_comparison --preset spec_a)
if [ -n "$dry" ]; then
    toy_bench=(--device cpu --steps 2 --warmup 1 --batch-size 2 --block-size 16)
    toy_full_run=(device=cpu train.compile=false train.max_iters=4 train.eval_interval=2 train.eval_iters=1
                  train.log_interval=2 train.batch_size=4 model.n_layer=1 model.n_head=2 model.n_embd=32
                  model.block_size=32 sample.max_new_tokens=8)
    toy_comparison=(--preset smoke train.max_iters=4 train.eval_interval=4)
else
    toy_bench=() toy_full_run=() toy_comparison=()
fi

# check NAME ARGS...: dry only: does the real `main.py ARGS` parse (and resolve, for a job)?
check() {
    local name=$1; shift
    [ -n "$dry" ] || return 0
    local probe=(-c 'import sys, main; main.parse(sys.argv[1:])')
    [ "$1" = bench ] || probe=(main.py)
    local extra=(); [ "$1" = bench ] || extra=("${where[@]}" --print-run-dir)
    if "$PY" "${probe[@]}" "$@" "${extra[@]}" >> "$results/$name.check.log" 2>&1; then
        echo "real command checked: \`python main.py $*\`" >> "$report"
    else
        failed=1
        echo "**the real command does not parse**: \`python main.py $*\` (see $name.check.log)" >> "$report"
    fi
    echo >> "$report"
}

# step NAME LIMIT_S CMD...: run CMD with its own time limit, output in $results/NAME.log; then note
# its command, exit code and seconds in README.md and steps.jsonl
step() {
    local name=$1 limit=$2; shift 2
    echo "== $name (limit ${limit} s): $*" >&2
    local t0=$SECONDS rc=0
    timeout --kill-after=20 "$limit" "$@" > "$results/$name.log" 2>&1 || rc=$?
    local took=$(( SECONDS - t0 ))
    [ "$rc" -eq 0 ] || failed=1
    local verdict="exit $rc"; [ "$rc" -eq 124 ] && verdict="killed at its ${limit} s limit (exit 124)"
    { echo "### $name ($verdict, $took s)"; echo; echo '```'; printf '%q ' "$@"; echo; echo '```'; echo; } >> "$report"
    "$PY" -c 'import json, sys; print(json.dumps(dict(step=sys.argv[1], exit=int(sys.argv[2]), seconds=int(sys.argv[3]),
        limit_s=int(sys.argv[4]), command=sys.argv[5:])))' "$name" "$rc" "$took" "$limit" "$@" >> "$results/steps.jsonl"
    tail -n 3 "$results/$name.log" >&2
    return 0
}

# bench_step NAME LIMIT_S ARGS...: `bench train ARGS` (trainer vs a plain loop); its JSON and table row
bench_step() {
    local name=$1 limit=$2; shift 2
    check "$name" bench train "$@"
    local args=()
    for a in "$@"; do [ -n "$dry" ] && [ "$a" = --compile ] || args+=("$a"); done
    [ -n "$dry" ] && [ "$name" = bench-gpt2-124m ] && args+=(--preset jhu-nano)
    step "$name" "$limit" "$PY" main.py bench train "${args[@]}" "${toy_bench[@]}"
    { "$PY" scripts/gpu_session_results.py bench "$results/$name.log" "$results/$name.json"; echo; } >> "$report"
}

# run_step NAME LIMIT_S JOB_ARGS... -- TOY_ARGS...: a job run inline; its run dir (no checkpoints)
# copied to $results/NAME
run_step() {
    local name=$1 limit=$2; shift 2
    local args=() run_dir
    while [ "$1" != -- ]; do args+=("$1"); shift; done
    shift
    check "$name" "${args[@]}"
    args+=("$@" train.progress=lines "${where[@]}")
    run_dir=$("$PY" main.py "${args[@]}" --print-run-dir 2>>"$results/$name.log" | tail -n 1)
    step "$name" "$limit" "$PY" main.py "${args[@]}"
    "$PY" scripts/gpu_session_results.py run "${run_dir:-/nonexistent}" "$results/$name" >> "$report"
    echo >> "$report"
}

{ echo "## stage $stage$([ -n "$dry" ] && echo ' (dry: CPU, toy sizes)') -- $(date -u '+%Y-%m-%d %H:%M UTC')"; echo
  "$PY" scripts/gpu_session_results.py env; } >> "$report"

case $stage in
1)  # 6.5 min of limits: the GPU tests (two compiled runs dominate), then three benchmarks
    step tests 120 "$PY" -m pytest -q -rs -m gpu tests/gpu -p no:cacheprovider --junitxml="$results/tests.xml"
    grep -h -E "passed|failed|error|skipped" "$results/tests.log" | tail -n 1 | sed 's/^/tests\/gpu: /' >> "$report"
    echo >> "$report"
    bench_step bench-gpt2-124m 130 "${BENCH_GPT2[@]}"
    bench_step bench-shakespeare-char 80 "${BENCH_CHAR[@]}"
    bench_step bench-jhu-nano 45 "${BENCH_NANO[@]}"
    ;;
2)  # 6.3 min of limits: nanoGPT's shakespeare_char for its 5000 steps (nanoGPT: ~3 min on an A100),
    # then the course's CPU-vs-GPU table (50 steps on each)
    run_step full_run-shakespeare_char 270 "${FULL_RUN[@]}" -- "${toy_full_run[@]}"
    run_step cpu_gpu_comparison 110 "${COMPARISON[@]}" -- "${toy_comparison[@]}"
    ;;
esac
echo "stage $stage: results in $results (exit $failed)" >&2
exit $failed
