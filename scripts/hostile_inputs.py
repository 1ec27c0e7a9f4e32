"""Hostile inputs against main.py: each must end in ONE `error: ...` line (exit 2), or the stated
exit code, and leave every file as it was (sha256 of every file and the folder list, before/after;
env.json, where a run records each start, is left out).

    DATA_ROOT=DIR python scripts/hostile_inputs.py                    # prints a Markdown table

tests/test_hostile_inputs.py runs the same CASES. Each case runs main.main in this process (one
torch import for all; a file-size-limit case runs main.py in a subprocess) on its own copy of a
3-step smoke run, in a scratch folder (harness: scripts/hostile_base.py). Cases of run-dir files
(checkpoints, config, summary, metrics, eval, tokenizer, .lock): scripts/hostile_run_files.py;
classify inputs and a full disk: scripts/hostile_faults.py. The totals line counts tracebacks and
silent acceptances (exit 0 where an error was due).
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile_base import Case, make_base, run_case  # noqa: E402
from hostile_base import job as _job, write as _write  # noqa: E402
import hostile_faults  # noqa: E402
import hostile_run_files  # noqa: E402


def _read_only_root(work: Path, _run: Path) -> list[str]:
    if os.geteuid() == 0:             # root ignores permissions: sysfs refuses new folders
        return _job("--runs-root", "/sys/slm-toolkit-runs")
    (work / "ro").mkdir()
    (work / "ro").chmod(0o555)
    return _job("--runs-root", str(work / "ro"))


def _edited(rel: str, text: str, *argv: str) -> Callable[[Path, Path], list[str]]:
    def prepare(work: Path, run: Path) -> list[str]:
        _write(run / rel, text)
        return [a.replace("RUN", str(run)).replace("ROOT", str(work / "runs")) for a in argv]
    return prepare


def _other_optimizer(work: Path, run: Path) -> list[str]:
    import torch
    state = torch.load(run / "checkpoints/last.pt", weights_only=True)
    state["optimizer"] = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1).state_dict()
    torch.save(state, run / "checkpoints/last.pt")
    (run / "summary.json").unlink()
    return _job("--runs-root", str(work / "runs"))


def _no_optimizer(work: Path, run: Path) -> list[str]:
    import torch
    state = torch.load(run / "checkpoints/last.pt", weights_only=True)
    del state["optimizer"]
    torch.save(state, run / "checkpoints/last.pt")
    (run / "summary.json").unlink()
    return _job("--runs-root", str(work / "runs"))


def _latin1_corpus(work: Path, _run: Path) -> list[str]:
    _write(work / "data/tinyshakespeare/input.txt", "ROMEO: caf\xe9 na\xefve\n".encode("latin-1") * 50)
    return _job("--runs-root", str(work / "runs2"), "--data-root", str(work / "data"))


def _sample(*flags: str) -> Callable[[Path, Path], list[str]]:
    return lambda work, run: ["sample", "--run-dir", str(run), *flags]


def _report_into_runs(work: Path, _run: Path) -> list[str]:
    return ["report", str(work / "runs"), "--out", str(work / "runs")]


def _report_over_own_index(work: Path, _run: Path) -> list[str]:
    _write(work / "mine/index.md", "my own notes\n")
    return ["report", str(work / "runs"), "--out", str(work / "mine")]


def _status_metrics_folder(work: Path, run: Path) -> list[str]:
    (run / "metrics.jsonl").unlink()
    (run / "metrics.jsonl").mkdir()
    return ["status", str(work / "runs")]


def _checkpoints_file(work: Path, run: Path) -> list[str]:
    shutil.rmtree(run / "checkpoints")
    _write(run / "checkpoints", "")
    return ["sample", "--run-dir", str(run)]


def _no_tokenizer(work: Path, run: Path) -> list[str]:
    (run / "tokenizer.json").unlink()
    return ["sample", "--run-dir", str(run)]


def _has_cuda() -> bool:
    import torch
    return torch.cuda.is_available()


def _prepared(fn: Callable[[Path], list[str]]) -> Callable[[Path, Path], list[str]]:
    return lambda work, run: fn(work)


CASES: list[Case] = [
    # the list
    Case("read-only runs root", _read_only_root, "permissions, or pass a writable --runs-root"),
    Case("runs root is a file", _prepared(lambda w: (_write(w / "afile", "x"), _job("--runs-root", str(w / "afile")))[1]),
         "a file is where a folder should be"),
    Case("300-character name", _prepared(lambda w: _job("name=" + "a" * 300, "--runs-root", str(w / "r"))),
         "use 1-100 of A-Z"),
    Case("name with $( ) ; `", _prepared(lambda w: _job("name=x$(id);`id`", "--runs-root", str(w / "r"))),
         "is not valid: use"),
    Case("config.json truncated", _edited("config.json", '{"name": ', "sample", "--run-dir", "RUN"),
         "config.json is not valid JSON"),
    Case("config.json not an object", _edited("config.json", "[1, 2]", "sample", "--run-dir", "RUN"),
         "should hold a JSON object"),
    Case("config.json wrong type", _edited("config.json", '{"model": {"n_layer": "four"}}', "sample",
                                           "--run-dir", "RUN"), "model.n_layer='four' in config.json"),
    Case("config.json not UTF-8", _edited("config.json", "\xff\xfe{", "sample", "--run-dir", "RUN"),
         "is not valid JSON"),
    Case("summary.json truncated", _edited("summary.json", '{"status": ', *_job("--runs-root", "ROOT")),
         "summary.json is not valid JSON"),
    Case("optimizer state of another optimizer", _other_optimizer, "written by another optimizer"),
    Case("checkpoint without optimizer state", _no_optimizer, "has no optimizer state"),
    Case("checkpoint truncated", _edited("checkpoints/best.pt", "PK\x03\x04 cut", "sample", "--run-dir", "RUN"),
         "corrupt or truncated"),
    Case("non-UTF-8 corpus", _latin1_corpus, "is not UTF-8 text"),
    Case("optim.lr=nan", _prepared(lambda w: _job("optim.lr=nan")), "expected a finite number"),
    Case("optim.lr=inf", _prepared(lambda w: _job("optim.lr=inf")), "expected a finite number"),
    Case("huge seed", _prepared(lambda w: _job("seed=99999999999999999999999")), "must be in [0, 2**32)"),
    Case("sample --top-p 1.5", _sample("--top-p", "1.5"), "--top-p 1.5 must be in (0, 1]"),
    Case("sample --top-p 0", _sample("--top-p", "0"), "--top-p 0.0 must be in (0, 1]"),
    Case("sample --top-k -3", _sample("--top-k", "-3"), "--top-k -3 must be >= 0"),
    Case("sample --temperature nan", _sample("--temperature", "nan"), "--temperature nan must be"),
    Case("sample --temperature -1", _sample("--temperature", "-1"), "--temperature -1.0 must be"),
    Case("sample --max-new-tokens 0", _sample("--max-new-tokens", "0"), "--max-new-tokens 0 must be >= 1"),
    Case("report --out <runs root>", _report_into_runs, "is inside the input"),
    Case("report --out over a user's index.md", _report_over_own_index, "already holds files no report wrote"),
    Case("status: metrics.jsonl is a folder", _status_metrics_folder, "completed", code=0),
    # ten more, thought up as the tester
    Case("cache dir is a file", _prepared(lambda w: (_write(w / "cfile", "x"), _job("--runs-root", str(w / "r"),
                                          "--cache-dir", str(w / "cfile")))[1]), "cannot write to cache dir"),
    Case("data root is a file", _prepared(lambda w: (_write(w / "dfile", "x"), _job("--runs-root", str(w / "r"),
                                          "--data-root", str(w / "dfile")))[1]), "is not a folder"),
    Case("init_from does not exist", _prepared(lambda w: ["finetune", "--preset", "smoke", "--runs-root",
                                                          str(w / "r"), f"init_from={w}/nope"]), "nope"),
    Case("cluster profile not JSON", _prepared(lambda w: (_write(w / "p.json", "{"), _job(
        "--executor", "slurm", "--dry-run", "--runs-root", str(w / "r")))[1]), "is not valid JSON",
        env={"TOOLKIT_CLUSTER_PROFILE": "WORK/p.json"}),
    Case("evaluate init_from= (old spelling)", lambda w, run: ["evaluate", "--runs-root", str(w / "r"),
                                                              f"init_from={run}"], "it is now run_dir="),
    Case("evaluate of a non-birth-places run", lambda w, run: ["evaluate", "--runs-root", str(w / "r"),
                                                               f"run_dir={run}"], "not a birth-places run"),
    Case("negative seed", _prepared(lambda w: _job("seed=-1")), "must be in [0, 2**32)"),
    Case("train.max_iters=1e30", _prepared(lambda w: _job("train.max_iters=1e30")), "expected int"),
    Case("empty name", _prepared(lambda w: _job("name=")), "is not valid: use"),
    Case("name starting with '-'", _prepared(lambda w: _job("name=-rf")), "is not valid: use"),
    Case("sample --seed -1", _sample("--seed", "-1"), "--seed -1 must be in"),
    Case("checkpoints is a file", _checkpoints_file, "no checkpoint yet"),
    Case("tokenizer.json missing", _no_tokenizer, "tokenizer.json"),
    Case("--dry-run without --executor slurm", _prepared(lambda w: _job("--dry-run", "--runs-root", str(w / "r"))),
         "--dry-run and --wait go with --executor slurm"),
    Case("sweep --parallel 0", _prepared(lambda w: ["sweep", "smoke", "--parallel", "0", "--runs-root", str(w / "r")]),
         "--parallel 0 must be at least 1"),
    Case("sweep --task-index -1", _prepared(lambda w: ["sweep", "smoke", "--task-index", "-1", "--runs-root",
                                                       str(w / "r")]), "has runs 0..3 (use --array=0-3)"),
    # the cluster and sweep options of issues 23 and 25
    Case("sweep grid --max-points 0", _prepared(lambda w: ["sweep", "grid", "optim.lr=1e-3,3e-4", "--preset", "smoke",
                                                           "--max-points", "0", "--runs-root", str(w / "r")]),
         "--max-points 0 must be at least 1"),
    Case("sweep grid --sweep-name ..", _prepared(lambda w: ["sweep", "grid", "optim.lr=1e-3,3e-4", "--preset", "smoke",
                                                            "--sweep-name", "..", "--runs-root", str(w / "r")]),
         "--sweep-name '..' is not valid"),
    Case("--time-min at the USR2 warning", _prepared(lambda w: _job("--executor", "slurm", "--dry-run", "--time-min",
                                                                    "2", "--runs-root", str(w / "r"))),
         "--time-min 2 leaves no time to train"),
    Case("--sbatch-opt of a managed option", _prepared(lambda w: _job("--executor", "slurm", "--dry-run", "--sbatch-opt="
                                                                      "--time=5", "--runs-root", str(w / "r"))),
         "the launcher sets --time itself; use --time-min"),
    Case("--sbatch-opt not an option", _prepared(lambda w: _job("--executor", "slurm", "--dry-run",
                                                                "--sbatch-opt=;id", "--runs-root", str(w / "r"))),
         "give one long sbatch option"),
    # packing (issue 21) and the data-parallel timeout (issue 23)
    Case("sweep --pack 0", _prepared(lambda w: ["sweep", "smoke", "--executor", "slurm", "--dry-run", "--pack", "0",
                                                "--runs-root", str(w / "r")]), "--pack 0 must be at least 1"),
    Case("sweep --pack without slurm", _prepared(lambda w: ["sweep", "smoke", "--pack", "2", "--runs-root",
                                                            str(w / "r")]), "--pack goes with --executor slurm"),
    Case("--pack-mode gpus without --gpus", _prepared(lambda w: ["sweep", "smoke", "--executor", "slurm", "--dry-run",
                                                                 "--pack", "2", "--pack-mode", "gpus", "--allow-local-runs-root",
                                                                 "--runs-root", str(w / "r")]),
         "--pack-mode gpus runs one point per GPU"),
    Case("TOOLKIT_DIST_TIMEOUT_S=abc", _prepared(lambda w: _job("--runs-root", str(w / "r"))),
         "TOOLKIT_DIST_TIMEOUT_S='abc' must be a positive number", env={"TOOLKIT_DIST_TIMEOUT_S": "abc"}),
]
CASES += hostile_run_files.CASES + hostile_faults.CASES
if not _has_cuda():
    CASES.append(Case("device=cuda without a GPU", lambda w, r: _job("device=cuda", "--runs-root", str(w / "r")),
                      "no CUDA GPU is visible"))


def main_table() -> int:
    """Run every case, print the Markdown table and the totals; 1 if any case went wrong."""
    scratch = Path(tempfile.mkdtemp(prefix="hostile-"))
    cache = scratch / "cache"
    base = make_base(scratch / "base", cache)
    print("| # | case | exit | first line | files changed |\n|---|---|---|---|---|")
    bad = tracebacks = silent = 0
    for i, case in enumerate(CASES, 1):
        r = run_case(case, base, scratch, cache)
        bad += not (r["ok"] and r["unchanged"])
        tracebacks += r["traceback"]
        silent += r["silent"]
        msg = r["first"].replace("|", "\\|").replace(str(scratch), "<tmp>")
        files = ", ".join(r["changed"][:4]) + (" ..." if len(r["changed"]) > 4 else "") or "none"
        print(f"| {i} | {case.name} | {r['code']} | {msg[:220]} | {files}"
              f"{'' if r['unchanged'] else ' (NOT ALLOWED)'}{'' if r['ok'] else ' (UNEXPECTED)'} |")
    print(f"\n{len(CASES)} cases: {len(CASES) - bad} as expected, {bad} not; {tracebacks} tracebacks, "
          f"{silent} silent acceptances of a crafted value")
    shutil.rmtree(scratch, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main_table())
