"""train(cfg, run_dir, batches) -> summary: idempotent, resumable, every artefact in the run dir.

    summary = train(cfg, Path("runs/demo"), batches)     # batches: gpt.batches.TokenStream, ...

- done (summary.json present) -> returns the summary; checkpoints/last.pt present -> resumes;
  otherwise starts (from `cfg.init_from`'s weights if set).
- Batches and dropout are pure functions of (seed, step), and the optimizer state is restored,
  so a run stopped and resumed gives the same losses as one that never stopped (CPU: bit for bit).
- `stop` (a threading.Event) asks for a clean stop: the current step finishes, last.pt is
  written, and the summary returned has status "interrupted" (no summary.json).
- One trainer per run dir (gpt.runlock): a second start gets a one-line error naming the holder.
- No host sync per step: losses stay on the device and are read at log intervals, where their
  finiteness is checked; before every checkpoint write the losses since the last check and the
  parameters are checked too, so last.pt/best.pt never hold a diverged state (DivergedError).
- Input is built ahead on a thread for an accelerator, inline on a CPU (gpt.prefetch); on CUDA: bf16 autocast, TF32, fused AdamW,
  optional torch.compile, memory and MFU (gpt.perf) in the train rows.
- Data parallel (gpt.distributed; started by torchrun or srun): train.batch_size is the global
  batch, rank r trains on rows [r*B/W, (r+1)*B/W) of the same (seed, step) batch under DDP, so W
  ranks match one process up to float reduction order; evaluation is sharded and summed; only
  rank 0 takes the lock and writes; a stop request on any rank stops all at the same step.

Pieces: the resume counters and config.json check (gpt.trainer_state), the speed window and the
summary (gpt.trainer_metrics), finiteness checks (gpt.divergence), batches (gpt.batches).
"""
from __future__ import annotations

import math
from collections.abc import Callable
import threading
import time
from pathlib import Path

import torch

from gpt import build_model, distributed, perf, phases, rundir
from gpt.batches import Batches
from gpt.checkpoint import load_checkpoint, load_model_state, load_optimizer_state, save_checkpoint
from gpt.config import RunConfig
from gpt.device import autocast_for, compile_errors_as_config_errors, enable_tf32, resolve_device, seed_device
from gpt.divergence import all_finite, diverged
from gpt.epoch_batches import for_training, token_counter, total_iters
from gpt.evaluation import batch_loss, evaluate
from gpt.optim import lr_at, make_optimizer
from gpt.overrides import config_hash, to_dict
from gpt.param_counts import describe, param_counts
from gpt.prefetch import Prefetcher
from gpt.progress import Progress
from gpt.rundir import append_jsonl, write_json
from gpt.runlock import RunLock, remove_stale_tmp
from gpt.trackers import open_trackers
from gpt.trainer_metrics import SpeedWindow, attempts, run_summary
from gpt.trainer_state import TrainState, check_config, check_resume, load_init_from


def train(cfg: RunConfig, run_dir: Path, batches: Batches, stop: threading.Event | None = None,
          model: torch.nn.Module | None = None, finish: Callable | None = None) -> dict:
    """Train (or resume, or return the finished summary). `model`: one the caller built and
    initialised (a Hugging Face classifier, a backbone from cfg.init_from); default build_model.
    `finish(run_dir) -> dict | None` (plots, samples, evals; joins the summary): rank 0, before summary.json.
    The rows' attempt: metrics.jsonl's count of starts (the job writes the launcher's to env.json)."""
    run_dir = Path(run_dir)
    if rundir.is_complete(run_dir):   # idempotent: a requeued or repeated job trains nothing again
        return rundir.read_summary(run_dir / rundir.SUMMARY)
    world = distributed.from_env()    # ranks from torchrun/srun variables; one process without them
    batches = for_training(batches, cfg.train, world.world_size)   # train.epoch_batches
    device = distributed.rank_device(resolve_device(cfg.device), world)
    if world.distributed:   # before any rank starts: the same config everywhere, a batch that splits
        distributed.shard_rows(cfg.train.batch_size, world.rank, world.world_size)

    def claim(stack) -> None:   # rank 0 alone; the other ranks wait for it (or fail with it)
        stack.enter_context(RunLock(run_dir))
        remove_stale_tmp(run_dir)      # leftovers of writes a kill interrupted; nobody else writes now
        check_config(cfg, run_dir)
    with distributed.session(device, world):
        distributed.check_same(world, "config hash", config_hash(cfg))
        with distributed.main_first(world, device, claim):
            with compile_errors_as_config_errors(cfg.train.compile):
                return _train_locked(cfg, run_dir, batches, stop, device, model, world, finish)


def _train_locked(cfg, run_dir, batches, stop, device, model, world, finish) -> dict:
    enable_tf32(device, cfg.train.amp)
    torch.manual_seed(cfg.seed)   # the initial weights: a pure function of the seed
    caller_built = model is not None
    model = (model if caller_built else build_model(cfg.model)).to(device)
    optimizer = make_optimizer(model, cfg.optim, device.type)
    # resume: last.pt replaces the initial weights and restores the optimizer moments and the
    # counters (step, best so far); init_from only seeds a run that has no last.pt yet
    ckpt = load_checkpoint(run_dir / rundir.LAST, device) if (run_dir / rundir.LAST).exists() else None
    if ckpt is not None:   # every counter and tensor checked against this run before it is used
        ckpt = check_resume(ckpt, cfg, run_dir / rundir.LAST, total_iters(cfg, batches)[0])
        load_model_state(model, ckpt["model"], run_dir / rundir.LAST)
        load_optimizer_state(optimizer, ckpt, run_dir / rundir.LAST)
    elif cfg.init_from and not caller_built:
        load_init_from(model, cfg.init_from)
    # a rank that cannot see rank 0's last.pt would start over while the others resume
    distributed.check_same(world, "step to resume from (the run dir must be on a filesystem every "
                           "rank sees)", str(int(ckpt["step"]) if ckpt else 0))
    return _Loop(cfg, run_dir, batches, model, optimizer, device, TrainState(ckpt), world, finish).run(stop)


class _Loop:
    """The training loop of one run. Each iteration, with s optimizer steps done: evaluate (step 0,
    every eval_interval, the end), write last.pt (every checkpoint_interval), one optimizer step,
    a train row (every log_interval: the only host sync between evaluations and checkpoints),
    honour a stop request."""

    def __init__(self, cfg, run_dir, batches, model, optimizer, device, state, world, finish):
        self.cfg, self.run_dir, self.batches = cfg, run_dir, batches
        self.raw_model, self.optimizer, self.device, self.state = model, optimizer, device, state
        self.world, self.finish = world, finish   # rank 0, after the last checkpoint, before summary.json
        self.model = torch.compile(model) if cfg.train.compile else model   # evaluation: no DDP
        self.train_model = distributed.wrap(self.model, world, device)      # gradients averaged
        self.max_iters, self.per_epoch = total_iters(cfg, batches)
        self.metrics, self.attempt = run_dir / rundir.METRICS, attempts(run_dir / rundir.METRICS)   # starts before
        self.autocast = autocast_for(device, cfg.train.amp)
        self.progress = Progress(cfg.train.progress if world.is_main else "off", self.max_iters,
                                 state.step, cfg.name)
        self.speed = SpeedWindow(cfg, model.num_params(), device, world.world_size)
        self.trackers = open_trackers(cfg, run_dir, on=world.is_main)
        # losses stay on the device: summed since the last finiteness check, read at log intervals
        self.unchecked = torch.zeros((), device=device)
        self.checked_step = state.step      # every step before this one had a finite loss
        self.last_loss = torch.zeros((), device=device)   # sum of the last step's micro-batch losses
        # minGPT schedule: tokens seen before each step (the last batch of an epoch may be smaller)
        self.tokens_before = (token_counter(batches, cfg.seed, cfg.train.batch_size, cfg.train.grad_accum)
                              if cfg.optim.schedule == "mingpt" else None)

    def log(self, kind: str, **row) -> None:
        """Append a metrics.jsonl row stamped with the step and wall time (rank 0 only)."""
        if self.world.is_main:
            row = {"kind": kind, "step": self.state.step, "time": time.time(), **row}
            append_jsonl(self.metrics, row, durable=kind != "train")   # train rows: synced with last.pt
            self.trackers.log(row)            # train.loggers: the same row into TensorBoard / W&B

    def epoch(self) -> float:
        """Epochs done: optimizer steps over steps per epoch (a fraction mid-epoch)."""
        return self.state.step / self.per_epoch

    def run(self, stop) -> dict:
        """Train to max_iters (the completed summary) or until `stop` (an interrupted one)."""
        s, t = self.state, self.cfg.train
        resumed = s.step > 0
        mfu_note = {"mfu_omitted": self.speed.no_mfu_reason} if self.speed.no_mfu_reason else {}
        counts = param_counts(self.raw_model)   # n_params (all), n_trainable, n_frozen
        self.log("start", attempt=self.attempt, resumed=resumed, **counts,
                 max_iters=self.max_iters, iters_per_epoch=self.per_epoch, device=str(self.device),
                 loss_reduction=t.loss_reduction, world_size=self.world.world_size, **mfu_note)
        self.progress.note(f"{'resuming at' if resumed else 'starting'} step {s.step}/{self.max_iters} "
                           f"on {self.device}, {describe(counts)}")
        ckpt_every = t.checkpoint_interval or t.eval_interval
        self.speed.restart()
        rows = distributed.shard_rows(t.batch_size, self.world.rank, self.world.world_size)
        # micro-batch i of the run is a pure function of (seed, i): a resumed run asks for the
        # one after the last step last.pt holds, so it sees exactly the batches it would have seen
        with Prefetcher(self.batches, self.cfg.seed, t.batch_size, s.step * t.grad_accum, self.device,
                        rows=rows) as ahead:
            while True:
                # s.step optimizer steps are done: evaluate (and maybe write best.pt) at step 0,
                # every eval_interval and at the end, on the weights after exactly s.step steps
                if s.step % t.eval_interval == 0 or s.step == self.max_iters:
                    self.speed.paused(self._evaluate)
                if s.step >= self.max_iters:
                    break
                # last.pt of step s holds what step s+1 needs (weights, optimizer moments, counters)
                if s.step % ckpt_every == 0 and s.step > 0:
                    self.speed.paused(self._save_last)
                self._step(ahead)
                self.speed.steps += 1
                if s.step % t.log_interval == 0 or s.step == self.max_iters:
                    self._log_train()
                if self._stop_requested(stop, at_log=s.step % t.log_interval == 0):
                    return self._interrupt()
        self._save_last()
        return self._finish()

    def _step(self, ahead: Prefetcher) -> None:
        """One optimizer step over grad_accum micro-batches; the loss stays on the device."""
        cfg, s = self.cfg, self.state
        accum = cfg.train.grad_accum
        seed_device(cfg.seed * 1_000_003 + s.step, self.device)   # dropout: a function of (seed, step)
        lr = lr_at(s.step, cfg.optim, self.max_iters, self.tokens_before)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        total = torch.zeros((), device=self.device)        # sum of micro-batch losses, on device
        for micro in range(accum):
            x, y, mask = ahead.get(s.step * accum + micro)   # (B/W, T) each: this rank's rows
            # DDP all-reduces the gradients on the last micro-batch only
            with distributed.no_sync(self.train_model, micro < accum - 1):
                with self.autocast():
                    loss = batch_loss(self.train_model, x, y, mask, cfg.train.loss_reduction)   # ()
                # gradients add up over micro-batches: scale so they are those of the mean loss
                (loss / accum).backward()
            total += loss.detach()   # no .item(): reading the loss would wait for the device
        if cfg.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.raw_model.parameters(), cfg.optim.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)   # free the gradients' memory until the next backward
        s.step += 1
        self.last_loss = total
        self.unchecked += total

    def _log_train(self) -> None:
        """A train row and a progress line: the one host sync of a log interval."""
        s, accum = self.state, self.cfg.train.grad_accum
        self._check_finite(params=False)   # reads the losses since the last check: waits for the device
        distributed.sum_(self.world, self.last_loss).div_(self.world.world_size)   # mean over ranks
        ms, tokens_per_s, mfu = self.speed.close()
        s.elapsed_s += ms * self.speed.steps / 1000   # training time: evaluation/checkpoints left out
        lr = self.optimizer.param_groups[0]["lr"]
        loss = float(self.last_loss) / accum          # mean over the step's micro-batches
        extra = perf.memory_stats(self.device) | ({"mfu_pct": mfu} if mfu is not None else {})
        self.log("train", epoch=self.epoch(), loss=loss, ppl=math.exp(min(loss, 50)), lr=lr,
                 ms_per_step=ms, tokens_per_s=tokens_per_s, elapsed_s=s.elapsed_s, **extra)
        self.progress.update(s.step, loss, lr, ms, tokens_per_s)
        self.speed.restart()

    def _stop_requested(self, stop, at_log: bool) -> bool:
        """One process: every step. Several ranks: at log intervals, agreed by all (a stop on any
        rank stops every rank at the same step, with no extra sync per step)."""
        asked = stop is not None and stop.is_set()
        if not self.world.distributed:
            return asked
        return at_log and distributed.any_true(self.world, asked, self.device)

    def _check_finite(self, params: bool) -> None:
        """Raise DivergedError if a loss since the last check (or, with `params`, a weight) is NaN/inf."""
        s = self.state
        distributed.sum_(self.world, self.unchecked)   # a NaN on any rank stops every rank
        if not bool(torch.isfinite(self.unchecked)):
            raise diverged(f"the loss became non-finite between steps {self.checked_step} and {s.step}",
                           self.cfg.optim, self.run_dir / rundir.LAST)
        if params and not all_finite(self.raw_model.parameters()):
            raise diverged(f"the parameters became non-finite by step {s.step}", self.cfg.optim,
                           self.run_dir / rundir.LAST)
        self.unchecked.zero_()
        self.checked_step = s.step

    def _evaluate(self) -> None:
        s, t = self.state, self.cfg.train
        # eval_iters batches per split (0: the whole split), sharded over the ranks and summed
        args = (t.batch_size, t.eval_iters, self.device, self.autocast, t.loss_reduction, self.world)
        with phases.timed("eval"):
            val = evaluate(self.model, self.batches, "val", *args)
            train = evaluate(self.model, self.batches, "train", *args)
        val_ppl = math.exp(min(val["loss"], 50))   # capped: exp of a diverging loss overflows
        self.log("val", epoch=self.epoch(), loss=val["loss"], ppl=val_ppl,
                 accuracy=val["accuracy"], train_loss=train["loss"],
                 train_ppl=math.exp(min(train["loss"], 50)), train_accuracy=train["accuracy"],
                 elapsed_s=s.elapsed_s)
        self.progress.note(f"step {s.step}: val loss {val['loss']:.4f} (ppl {val_ppl:.2f}, "
                           f"accuracy {val['accuracy']:.4f}), train loss {train['loss']:.4f}")
        better = (val["accuracy"] > s.best_val_accuracy if t.select_by == "val_accuracy"
                  else val["loss"] < s.best_val_loss)          # ties keep the earlier checkpoint
        if better:
            self._check_finite(params=True)   # best.pt, like last.pt, never holds a diverged state
            s.best_val_loss, s.best_val_accuracy, s.best_step = val["loss"], val["accuracy"], s.step
            if self.world.is_main:
                with phases.timed("checkpoints"):
                    save_checkpoint(self.run_dir / rundir.BEST, self._checkpoint())

    def _checkpoint(self) -> dict:
        return {"model": self.raw_model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "config": to_dict(self.cfg), **self.state.as_dict()}

    def _save_last(self) -> None:
        self._check_finite(params=True)       # never save a diverged state (every rank checks)
        if self.world.is_main:
            with phases.timed("checkpoints"):
                rundir.sync_file(self.metrics)   # the train rows up to here, before last.pt says "step s"
                save_checkpoint(self.run_dir / rundir.LAST, self._checkpoint())

    def _interrupt(self) -> dict:
        self._save_last()
        self.log("stop", attempt=self.attempt, reason="stop requested")
        self.progress.note(f"stopped at step {self.state.step}; last.pt saved, rerun to resume")
        self.trackers.close()
        self.progress.close()
        return {"status": "interrupted", "steps": self.state.step, "max_iters": self.max_iters}

    def _finish(self) -> dict:
        s = self.state
        if not self.world.is_main:   # rank 0 writes and returns the summary
            return {"status": "completed", "steps": s.step, "rank": self.world.rank,
                    "world_size": self.world.world_size}
        summary = run_summary(self.cfg, s, self.metrics, self.speed.speeds, per_epoch=self.per_epoch,
                              params=param_counts(self.raw_model), device=str(self.device),
                              world_size=self.world.world_size)
        self.log("end", attempt=self.attempt)
        self.trackers.close()
        if self.finish is not None:   # may add to the summary (a classifier's test accuracy)
            summary.update(self.finish(self.run_dir) or {})
        write_json(self.run_dir / rundir.SUMMARY, summary)
        best_of = (f"val accuracy {s.best_val_accuracy:.4f}" if self.cfg.train.select_by == "val_accuracy"
                   else f"val loss {s.best_val_loss:.4f}")
        self.progress.note(f"done: best {best_of} at step {s.best_step}, "
                           f"{s.elapsed_s:.1f} s of training")
        self.progress.close()
        return summary

