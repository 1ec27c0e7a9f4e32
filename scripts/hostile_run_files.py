"""Hostile run-dir files (issue 23): crafted checkpoints, config.json, summary.json, metrics.jsonl,
tokenizer.json and .lock files, each fed to the command that reads it back (a resume, `sample`,
`status`). Each case: one `error: <file>: ...` line (exit 2) and nothing changed, or a correct run.
Used by scripts/hostile_inputs.py (the table) and tests/test_hostile_inputs.py.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Callable

from hostile_base import RUN, Case, resume

LAST, BEST = "checkpoints/last.pt", "checkpoints/best.pt"


def _ckpt(edit: Callable[[dict], None], which: str = LAST, then: str = "resume"):
    """A case preparer: edit the checkpoint's dict in place, then resume the run (or sample it)."""
    def prepare(work: Path, run: Path) -> list[str]:
        import torch
        state = torch.load(run / which, weights_only=True)
        edit(state)
        torch.save(state, run / which)
        if then == "sample":
            return ["sample", "--run-dir", str(run), "--max-new-tokens", "5"]
        (run / "summary.json").unlink()
        return resume(work)
    return prepare


def _set(key: str, value):
    return lambda s: s.__setitem__(key, value)


def _group(key: str, value):
    return lambda s: s["optimizer"]["param_groups"][0].__setitem__(key, value)


def _moment(name: str, fn):
    return lambda s: s["optimizer"]["state"][0].__setitem__(name, fn(s["optimizer"]["state"][0][name]))


def _tensor(name: str, fn):
    return lambda s: s["model"].__setitem__(name, fn(s["model"][name]))


def _nan(t):
    t = t.clone()
    t.view(-1)[0] = float("nan")
    return t


def _json_edit(rel: str, edit: Callable[[dict], None], then: str = "resume"):
    """Edit the JSON object in `rel`, then resume (summary.json removed unless it is the file
    edited), `sample` or `status`."""
    def prepare(work: Path, run: Path) -> list[str]:
        obj = json.loads((run / rel).read_text())
        edit(obj)
        (run / rel).write_text(json.dumps(obj))
        if then == "sample":
            return ["sample", "--run-dir", str(run), "--max-new-tokens", "5"]
        if rel != "summary.json":
            (run / "summary.json").unlink()
        return resume(work)
    return prepare


def _nested(path: str, value):
    def edit(obj: dict) -> None:
        *parents, key = path.split(".")
        for p in parents:
            obj = obj[p]
        obj[key] = value
    return edit


def _metrics_row(row: dict, then: str):
    def prepare(work: Path, run: Path) -> list[str]:
        with open(run / "metrics.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        if then == "status":
            return ["status", str(run)]
        (run / "summary.json").unlink()
        return resume(work)
    return prepare


def _completed(work: Path, run: Path) -> str | None:
    """A correct resumed run: summary.json says completed at step 3 of 3, 0 < epochs < 1, lock gone."""
    try:
        summary = json.loads((run / "summary.json").read_text())
    except (OSError, ValueError) as exc:
        return f"no readable summary.json ({exc})"
    if summary.get("steps") != 3 or not 0 < summary.get("epochs", -1) < 1:
        return f"summary steps={summary.get('steps')} epochs={summary.get('epochs')}"
    if not all(isinstance(summary.get(k), float) for k in ("best_val_loss", "final_val_loss")):
        return "summary losses are not numbers"
    return "the lock was left behind" if (run / ".lock").exists() else None


def _lock(content, then_ok: bool = False):
    def prepare(work: Path, run: Path) -> list[str]:
        text = content(work) if callable(content) else content
        (run / ".lock").write_text(text if isinstance(text, str) else json.dumps(text))
        (run / "summary.json").unlink()
        return resume(work)
    return prepare


HOST = socket.gethostname()


def _boot() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _live_pid_lock(reused: bool):
    """A lock naming a live process of this host (pid 1); `reused`: the start time it records is
    not that process's (the pid was reused), so the lock is provably stale."""
    def content(_work: Path) -> dict:
        fields = Path("/proc/1/stat").read_text().rsplit(")", 1)[1].split()
        return {"host": HOST, "pid": 1, "started": int(fields[19]) + (1 if reused else 0),
                "boot_id": _boot(), "job_id": "", "restart": 0}
    return content


def _dead_pid(_work: Path) -> dict:
    proc = subprocess.Popen(["true"])
    proc.wait()               # a pid that ran here and is gone
    return {"host": HOST, "pid": proc.pid, "job_id": "", "restart": 0}


RESUMED = (f"{RUN}",)        # a resume may write anything in the run dir
E = "checkpoints/last.pt: "  # how a last.pt error line names its file

CASES: list[Case] = [
    # checkpoint counters (every field read from last.pt)
    Case("last.pt step far beyond max_iters", _ckpt(_set("step", 10**6)), E + "step=1000000 is not an integer in [0, 3]"),
    Case("last.pt step 2.5", _ckpt(_set("step", 2.5)), E + "step=2.5 is not an integer"),
    Case("last.pt step 'x'", _ckpt(_set("step", "x")), E + "step='x' is not an integer"),
    Case("last.pt step -1", _ckpt(_set("step", -1)), E + "step=-1 is not an integer"),
    Case("last.pt step True", _ckpt(_set("step", True)), E + "step=True is not an integer"),
    Case("last.pt step missing", _ckpt(lambda s: s.pop("step")), E + "step=None is not an integer"),
    Case("last.pt step 1 (optimizer took 3)", _ckpt(lambda s: s.update(step=1, best_step=1)), "optimizer state has taken 3 steps"),
    Case("last.pt best_step after step", _ckpt(_set("best_step", 99)), E + "best_step=99 is not an integer in [-1, step=3]"),
    Case("last.pt best_val_loss NaN", _ckpt(_set("best_val_loss", float("nan"))), E + "best_val_loss=nan is not a number"),
    Case("last.pt best_val_loss -5", _ckpt(_set("best_val_loss", -5.0)), E + "best_val_loss=-5.0 is not a number >= 0"),
    Case("last.pt best_val_accuracy 7", _ckpt(_set("best_val_accuracy", 7.0)), E + "best_val_accuracy=7.0 is not"),
    Case("last.pt elapsed_s inf", _ckpt(_set("elapsed_s", float("inf"))), E + "elapsed_s=inf is not a number of seconds"),
    Case("last.pt of another config", _ckpt(_nested("config.optim.lr", 0.5)), E + "it was written by another config"),
    Case("last.pt config not a dict", _ckpt(_set("config", [1])), E + "it was written by another config"),
    # tensors: weights, optimizer groups and moments
    Case("last.pt NaN weight", _ckpt(_tensor("wte.weight", _nan)), E + "tensor wte.weight holds NaN/inf"),
    Case("last.pt float64 weight", _ckpt(_tensor("wte.weight", lambda t: t.double())), E + "tensor wte.weight is torch.float64"),
    Case("last.pt weight of another shape", _ckpt(_tensor("wte.weight", lambda t: t[:10])), "shape differs: wte.weight"),
    Case("last.pt weight missing", _ckpt(lambda s: s["model"].pop("wte.weight")), "missing: wte.weight"),
    Case("last.pt model not a dict", _ckpt(_set("model", [1, 2])), E + "'model' is a list"),
    Case("last.pt optimizer lr NaN", _ckpt(_group("lr", float("nan"))), E + "optimizer group 0: lr=nan"),
    Case("last.pt optimizer betas (2, 0)", _ckpt(_group("betas", (2.0, 0.0))), E + "optimizer group 0: betas="),
    Case("last.pt optimizer group params cut", _ckpt(lambda s: s["optimizer"]["param_groups"][0]["params"].pop()),
         "parameters per group"),
    Case("last.pt exp_avg of another shape", _ckpt(_moment("exp_avg", lambda t: t[:3])), "optimizer state exp_avg of parameter 0 is"),
    Case("last.pt exp_avg_sq negative", _ckpt(_moment("exp_avg_sq", lambda t: t - 1)), "exp_avg_sq of parameter 0 is negative"),
    Case("last.pt exp_avg NaN", _ckpt(_moment("exp_avg", _nan)), "exp_avg of parameter 0 holds NaN/inf"),
    Case("last.pt moment not a tensor", _ckpt(_moment("exp_avg", lambda t: "x")), "is 'x', not a tensor"),
    Case("best.pt NaN weight (sample)", _ckpt(_tensor("wte.weight", _nan), BEST, "sample"), "best.pt: tensor wte.weight holds NaN"),
    # config.json, summary.json, metrics.jsonl, tokenizer.json
    Case("config.json edited (valid, other lr)", _json_edit("config.json", _nested("optim.lr", 0.5)),
         "config.json: holds a different config"),
    Case("config.json model null", _json_edit("config.json", _nested("model", None), "sample"), "config.json: model.arch=None"),
    Case("config.json n_layer 1e9", _json_edit("config.json", _nested("model.n_layer", 10**9), "sample"),
         "best.pt: it was written by another config"),
    Case("summary.json steps 'x'", _json_edit("summary.json", _nested("steps", "x")), "summary.json: steps='x' is not an integer"),
    Case("summary.json best_val_loss NaN", _json_edit("summary.json", _nested("best_val_loss", float("nan"))),
         "summary.json: best_val_loss=nan is not a finite number"),
    Case("summary.json accuracy 5", _json_edit("summary.json", _nested("best_val_accuracy", 5)),
         "best_val_accuracy=5 is not a number in [0, 1]"),
    Case("summary.json status 7", _json_edit("summary.json", _nested("status", 7)), "status=7 is not a string"),
    Case("metrics.jsonl val loss 'x' (resume)", _metrics_row({"kind": "val", "step": 3, "loss": "x"}, "resume"),
         "completed", code=0, changes=RESUMED, check=_completed),
    Case("metrics.jsonl row of garbage (status)", _metrics_row({"kind": "val", "step": "9", "loss": [1]}, "status"),
         "completed", code=0),
    Case("tokenizer.json kind bogus", _json_edit("tokenizer.json", _nested("kind", "bogus"), "sample"),
         "unknown tokenizer kind 'bogus'"),
    Case("tokenizer.json chars not a list", _json_edit("tokenizer.json", _nested("chars", 5), "sample"), "tokenizer.json"),
    Case("tokenizer.json fewer chars than the model", _json_edit("tokenizer.json", lambda o: o.__setitem__(
        "chars", o["chars"][:5]), "sample"), "tokenizer.json"),
    # .lock
    Case(".lock pid 'abc'", _lock({"host": HOST, "pid": "abc"}), ".lock: not a lock this toolkit writes (pid='abc'"),
    Case(".lock null", _lock("null"), ".lock: not a lock this toolkit writes (it holds null"),
    Case(".lock pid huge", _lock({"host": HOST, "pid": 10**20}), "is not a process id"),
    Case(".lock restart 'z'", _lock({"host": HOST, "pid": 1, "job_id": "5", "restart": "z"}),
         "restart='z' is not a count"),
    Case(".lock garbage bytes", _lock("\x00\x01garbage"), ".lock: not a lock this toolkit writes (it is not JSON"),
    Case(".lock of another host", _lock({"host": "node-elsewhere", "pid": 4242, "job_id": ""}),
         "host node-elsewhere (another machine: its process cannot be checked from here)"),
    Case(".lock of a live process (pid 1)", _lock(_live_pid_lock(reused=False)), "is in use by pid 1 on host"),
    Case(".lock pid reused by another process", _lock(_live_pid_lock(reused=True)), "completed", code=0,
         changes=RESUMED, check=_completed),
    Case(".lock of a dead process", _lock(_dead_pid), "completed", code=0, changes=RESUMED, check=_completed),
    Case(".lock from before a reboot", _lock({"host": HOST, "pid": os.getpid(), "boot_id": "not-this-boot"}),
         "completed", code=0, changes=RESUMED, check=_completed),
]
