"""train(cfg, run_dir, batches) -> summary: idempotent, resumable, every artefact in the run dir.

    summary = train(cfg, Path("runs/demo"), batches)     # batches: gpt.batches.TokenStream, ...

- done (summary.json present) -> returns the summary; checkpoints/last.pt present -> resumes;
  otherwise starts (from `cfg.init_from`'s weights if set).
- Batches and dropout are pure functions of (seed, step), and the optimizer state is restored,
  so a run stopped and resumed gives the same losses as one that never stopped (CPU: bit for bit).
- `stop` (a threading.Event) asks for a clean stop: the current step finishes, last.pt is
  written, and the summary returned has status "interrupted" (no summary.json).
"""
from __future__ import annotations

import math
import threading
import time
from contextlib import nullcontext
from pathlib import Path

import torch

from gpt import build_model
from gpt.batches import Batches
from gpt.checkpoint import CheckpointError, load_checkpoint, load_model_state, save_checkpoint
from gpt.config import RunConfig
from gpt.loss import PPL_DEFINITIONS, lm_loss
from gpt.optim import lr_at, make_optimizer
from gpt.overrides import from_dict, to_dict
from gpt.progress import Progress
from gpt import rundir
from gpt.rundir import append_jsonl, read_json, write_json

WARMUP_LOGS = 1   # log intervals right after a (re)start excluded from speed figures


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device=cuda but no CUDA GPU is visible; use device=cpu or device=auto")
    return torch.device(name)


def total_iters(cfg: RunConfig, batches: Batches) -> tuple[int, float]:
    """(max_iters, optimizer steps per epoch); train.epochs > 0 sets the budget in epochs."""
    per_epoch = batches.batches_per_epoch(cfg.train.batch_size) / cfg.train.grad_accum
    if cfg.train.epochs > 0:
        return max(1, math.ceil(cfg.train.epochs * per_epoch)), per_epoch
    return cfg.train.max_iters, per_epoch


def batch_loss(model, x, y, mask, reduction: str = "token"):
    """The training/eval loss of one batch under train.loss_reduction (see gpt.loss)."""
    if reduction == "token":
        return model(x, y, mask)[1]
    logits, _ = model(x)
    return lm_loss(logits, y, mask, reduction)


@torch.no_grad()
def evaluate(model, batches: Batches, split: str, batch_size: int, max_batches: int,
             device: torch.device, autocast, reduction: str = "token") -> dict:
    """{"loss": mean NLL, "accuracy": top-1 accuracy} over the counted targets of `split`.

    The loss is token-weighted ("token") or sequence-weighted ("sequence", train.loss_reduction).
    A mask shaped like the targets says which count (language models: perplexity = exp(loss),
    accuracy = next-token accuracy); otherwise every target counts once (a classifier's mask
    marks its input tokens, its targets are one label per sequence).
    """
    model.eval()
    total_nll, total_loss_weight, total_correct, total_count = 0.0, 0.0, 0.0, 0.0
    for x, y, mask in batches.eval_batches(split, batch_size, max_batches):
        x, y = x.to(device), y.to(device)
        mask = mask.to(device) if mask is not None else None
        with autocast():
            logits, loss = model(x, y, mask)
            if reduction == "sequence":
                loss = lm_loss(logits, y, mask, reduction)
        weight = mask if mask is not None and mask.shape == y.shape else torch.ones(y.shape, device=device)
        count = float(weight.sum())
        loss_weight = float(y.size(0)) if reduction == "sequence" else count
        total_nll += float(loss) * loss_weight
        total_loss_weight += loss_weight
        total_correct += float(((logits.argmax(-1) == y).float() * weight).sum())
        total_count += count
    model.train()
    return {"loss": total_nll / max(total_loss_weight, 1.0), "accuracy": total_correct / max(total_count, 1.0)}


def _gpu_memory(device: torch.device) -> dict:
    if device.type != "cuda":
        return {}
    mb = 1024 ** 2
    return {"gpu_mem_allocated_mb": torch.cuda.memory_allocated(device) / mb,
            "gpu_mem_reserved_mb": torch.cuda.memory_reserved(device) / mb,
            "gpu_mem_peak_allocated_mb": torch.cuda.max_memory_allocated(device) / mb}


def _init_from(model, run_dir: Path, source: str) -> None:
    """Start from the best weights of a finished run; the architecture must match."""
    src = Path(source)
    if not rundir.is_complete(src):
        raise CheckpointError(f"init_from={source}: not a finished run dir (no {rundir.SUMMARY}); "
                              "point it at a run that completed")
    ckpt = src / (rundir.BEST if (src / rundir.BEST).exists() else rundir.LAST)
    load_model_state(model, load_checkpoint(ckpt)["model"], ckpt)


class _State:
    """Everything that must survive a restart, beyond model and optimizer tensors."""

    def __init__(self, ckpt: dict | None):
        ckpt = ckpt or {}
        self.step = int(ckpt.get("step", 0))
        self.best_val_loss = float(ckpt.get("best_val_loss", math.inf))
        self.best_val_accuracy = float(ckpt.get("best_val_accuracy", -math.inf))
        self.best_step = int(ckpt.get("best_step", -1))
        self.elapsed_s = float(ckpt.get("elapsed_s", 0.0))

    def as_dict(self) -> dict:
        return {"step": self.step, "best_val_loss": self.best_val_loss,
                "best_val_accuracy": self.best_val_accuracy,
                "best_step": self.best_step, "elapsed_s": self.elapsed_s}


def train(cfg: RunConfig, run_dir: Path, batches: Batches, stop: threading.Event | None = None,
          attempt: int = 0, model: torch.nn.Module | None = None) -> dict:
    """Train (or resume, or return the finished summary). `model`: one the caller built and
    initialised (a Hugging Face classifier, a backbone from cfg.init_from); default build_model."""
    run_dir = Path(run_dir)
    if rundir.is_complete(run_dir):
        return read_json(run_dir / rundir.SUMMARY)
    _check_config(cfg, run_dir)
    device = resolve_device(cfg.device)
    if device.type == "cuda" and cfg.train.amp:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(cfg.seed)
    caller_built = model is not None
    model = (model if caller_built else build_model(cfg.model)).to(device)
    optimizer = make_optimizer(model, cfg.optim, device.type)
    ckpt = load_checkpoint(run_dir / rundir.LAST, device) if (run_dir / rundir.LAST).exists() else None
    if ckpt is not None:
        load_model_state(model, ckpt["model"], run_dir / rundir.LAST)
        optimizer.load_state_dict(ckpt["optimizer"])
    elif cfg.init_from and not caller_built:
        _init_from(model, run_dir, cfg.init_from)
    loop = _Loop(cfg, run_dir, batches, model, optimizer, device, _State(ckpt), attempt)
    return loop.run(stop)


def _check_config(cfg: RunConfig, run_dir: Path) -> None:
    """Write config.json once; a different config in the same dir is refused, not overwritten."""
    path = run_dir / rundir.CONFIG
    if path.exists():
        # through from_dict: a config.json written before a field existed gets its default
        if to_dict(from_dict(read_json(path))) != to_dict(cfg):
            raise ValueError(f"{path} holds a different config; use a new run dir "
                             "(the toolkit names dirs by config hash, so this means it was edited)")
    else:
        write_json(path, to_dict(cfg))


class _Loop:
    def __init__(self, cfg, run_dir, batches, model, optimizer, device, state, attempt):
        self.cfg, self.run_dir, self.batches = cfg, run_dir, batches
        self.raw_model, self.optimizer, self.device, self.state = model, optimizer, device, state
        self.model = torch.compile(model) if cfg.train.compile else model
        self.max_iters, self.per_epoch = total_iters(cfg, batches)
        self.attempt = attempt
        use_amp = device.type == "cuda" and cfg.train.amp
        self.autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_amp else nullcontext
        self.metrics = run_dir / rundir.METRICS
        self.progress = Progress(cfg.train.progress, self.max_iters, state.step, cfg.name)
        self.speeds: list[tuple[float, float]] = []   # (ms/step, tokens/s) after warm-up
        self.tokens_per_step = _tokens_per_step(cfg, batches) if cfg.optim.schedule == "mingpt" else 0

    def log(self, kind: str, **row) -> None:
        append_jsonl(self.metrics, {"kind": kind, "step": self.state.step, "time": time.time(), **row})

    def epoch(self) -> float:
        return self.state.step / self.per_epoch

    def run(self, stop) -> dict:
        s, t = self.state, self.cfg.train
        resumed = s.step > 0
        self.log("start", attempt=self.attempt, resumed=resumed, n_params=self.raw_model.num_params(),
                 max_iters=self.max_iters, iters_per_epoch=self.per_epoch, device=str(self.device),
                 loss_reduction=t.loss_reduction)
        self.progress.note(f"{'resuming at' if resumed else 'starting'} step {s.step}/{self.max_iters} "
                           f"on {self.device} ({self.raw_model.num_params():,} parameters)")
        ckpt_every = t.checkpoint_interval or t.eval_interval
        window_start, window_steps, logs_since_start = time.perf_counter(), 0, 0
        while True:
            if s.step % t.eval_interval == 0 or s.step == self.max_iters:
                self._evaluate()
            if s.step >= self.max_iters:
                break
            if s.step % ckpt_every == 0 and s.step > 0:
                self._save_last()
            loss = self._step()
            window_steps += 1
            if s.step % t.log_interval == 0 or s.step == self.max_iters:
                self._sync()
                ms = (time.perf_counter() - window_start) * 1000 / window_steps
                tps = t.batch_size * t.grad_accum * self.cfg.model.block_size / (ms / 1000)
                logs_since_start += 1
                if logs_since_start > WARMUP_LOGS:
                    self.speeds.append((ms, tps))
                s.elapsed_s += ms * window_steps / 1000
                lr = self.optimizer.param_groups[0]["lr"]
                self.log("train", epoch=self.epoch(), loss=loss, ppl=math.exp(min(loss, 50)), lr=lr,
                         ms_per_step=ms, tokens_per_s=tps, elapsed_s=s.elapsed_s,
                         **_gpu_memory(self.device))
                self.progress.update(s.step, loss, lr, ms, tps)
                window_start, window_steps = time.perf_counter(), 0
            if stop is not None and stop.is_set():
                return self._interrupt()
        self._save_last()
        return self._finish()

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)   # the clock must not run ahead of the GPU

    def _step(self) -> float:
        """One optimizer step over grad_accum micro-batches; returns the mean micro-batch loss."""
        cfg, s = self.cfg, self.state
        torch.manual_seed(cfg.seed * 1_000_003 + s.step)   # dropout: a pure function of (seed, step)
        lr = lr_at(s.step, cfg.optim, self.max_iters, self.tokens_per_step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        total = 0.0
        for micro in range(cfg.train.grad_accum):
            index = s.step * cfg.train.grad_accum + micro
            x, y, mask = self.batches.train_batch(cfg.seed, index, cfg.train.batch_size)
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            mask = mask.to(self.device, non_blocking=True) if mask is not None else None
            with self.autocast():
                loss = batch_loss(self.model, x, y, mask, cfg.train.loss_reduction)
            (loss / cfg.train.grad_accum).backward()
            total += loss.detach()
        if cfg.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.raw_model.parameters(), cfg.optim.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        s.step += 1
        loss_value = float(total) / cfg.train.grad_accum
        if not math.isfinite(loss_value):
            raise FloatingPointError(f"loss is {loss_value} at step {s.step}; lower optim.lr or "
                                     "enable optim.grad_clip (last.pt keeps the last good state)")
        return loss_value

    def _evaluate(self) -> None:
        s, t = self.state, self.cfg.train
        args = (t.batch_size, t.eval_iters, self.device, self.autocast, t.loss_reduction)
        val = evaluate(self.model, self.batches, "val", *args)
        train = evaluate(self.model, self.batches, "train", *args)
        self.log("val", epoch=self.epoch(), loss=val["loss"], ppl=math.exp(min(val["loss"], 50)),
                 accuracy=val["accuracy"], train_loss=train["loss"],
                 train_ppl=math.exp(min(train["loss"], 50)), train_accuracy=train["accuracy"],
                 elapsed_s=s.elapsed_s)
        self.progress.note(f"step {s.step}: val loss {val['loss']:.4f} (ppl {math.exp(min(val['loss'], 50)):.2f}, "
                           f"accuracy {val['accuracy']:.4f}), train loss {train['loss']:.4f}")
        if t.select_by == "val_accuracy":
            better = val["accuracy"] > s.best_val_accuracy     # ties keep the earlier checkpoint
        else:
            better = val["loss"] < s.best_val_loss
        if better:
            s.best_val_loss, s.best_val_accuracy, s.best_step = val["loss"], val["accuracy"], s.step
            save_checkpoint(self.run_dir / rundir.BEST, self._checkpoint())

    def _checkpoint(self) -> dict:
        return {"model": self.raw_model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "config": to_dict(self.cfg), **self.state.as_dict()}

    def _save_last(self) -> None:
        save_checkpoint(self.run_dir / rundir.LAST, self._checkpoint())

    def _interrupt(self) -> dict:
        self._save_last()
        self.log("stop", attempt=self.attempt, reason="stop requested")
        self.progress.note(f"stopped at step {self.state.step}; last.pt saved, rerun to resume")
        self.progress.close()
        return {"status": "interrupted", "steps": self.state.step, "max_iters": self.max_iters}

    def _finish(self) -> dict:
        s = self.state
        vals = rundir.latest_per_step(rundir.read_jsonl(self.metrics), "val")
        final = vals[-1] if vals else {}
        best = next((r for r in vals if r["step"] == s.best_step), final)
        trains = rundir.latest_per_step(rundir.read_jsonl(self.metrics), "train")
        speeds = sorted(self.speeds) or [(r["ms_per_step"], r["tokens_per_s"]) for r in trains[-1:]]
        mems = [r for r in trains[len(trains) // 10:] if "gpu_mem_allocated_mb" in r]
        summary = {
            "status": "completed", "name": self.cfg.name, "steps": s.step, "epochs": self.epoch(),
            "best_val_loss": s.best_val_loss, "best_val_ppl": math.exp(min(s.best_val_loss, 50)),
            "best_step": s.best_step, "best_epoch": s.best_step / self.per_epoch,
            "best_train_ppl": best.get("train_ppl"), "select_by": self.cfg.train.select_by,
            "best_val_accuracy": best.get("accuracy"), "best_train_accuracy": best.get("train_accuracy"),
            "final_val_accuracy": final.get("accuracy"), "final_train_accuracy": final.get("train_accuracy"),
            "final_val_loss": final.get("loss"), "final_val_ppl": final.get("ppl"),
            "final_train_loss": final.get("train_loss"), "final_train_ppl": final.get("train_ppl"),
            "wall_s": s.elapsed_s, "n_params": self.raw_model.num_params(), "device": str(self.device),
            "ms_per_step": _median([m for m, _ in speeds]), "tokens_per_s": _median([v for _, v in speeds]),
            "gpu_mem_allocated_mb": _median([r["gpu_mem_allocated_mb"] for r in mems]),
            "gpu_mem_reserved_mb": _median([r["gpu_mem_reserved_mb"] for r in mems]),
            "attempts": self.attempt + 1,
            "loss_reduction": self.cfg.train.loss_reduction,
            "ppl_definition": PPL_DEFINITIONS[self.cfg.train.loss_reduction],
        }
        self.log("end", attempt=self.attempt)
        write_json(self.run_dir / rundir.SUMMARY, summary)
        best_of = (f"val accuracy {s.best_val_accuracy:.4f}" if self.cfg.train.select_by == "val_accuracy"
                   else f"val loss {s.best_val_loss:.4f}")
        self.progress.note(f"done: best {best_of} at step {s.best_step}, "
                           f"{s.elapsed_s:.1f} s of training")
        self.progress.close()
        return summary


def _tokens_per_step(cfg: RunConfig, batches: Batches) -> int:
    """Target positions per optimizer step, as minGPT counts them (batches are full, fixed T)."""
    _, y, _ = batches.train_batch(cfg.seed, 0, cfg.train.batch_size)   # (B, T)
    return int(y.numel()) * cfg.train.grad_accum


def _median(values: list[float]) -> float | None:
    values = sorted(values)
    return values[len(values) // 2] if values else None
