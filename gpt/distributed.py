"""Data parallelism: the only module that knows torch.distributed.

    world = from_env()                     # World(rank=0, world_size=1) outside torchrun/srun
    with session(device) as world:         # joins the process group when world_size > 1
        rows = shard_rows(global_batch, world.rank, world.world_size)

Where the ranks come from: torchrun's RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT, else
Slurm's SLURM_PROCID/SLURM_STEP_NUM_TASKS/SLURM_LOCALID under `srun` (master = the first host of
SLURM_JOB_NODELIST, port derived from the job id, so every task finds the same one). World size 1
never creates a process group: the single-process code path is unchanged.
Backend: gloo on CPU, nccl on CUDA; TOOLKIT_DIST_BACKEND=gloo|nccl forces one.
A rank that dies (kill -9, OOM) or stops answering breaks the group: every other rank leaves with
one line (PeerLostError) at its next collective, or once a collective or the rendezvous has waited
TOOLKIT_DIST_TIMEOUT_S seconds (default 60; raise it when rank 0 alone can be busy longer, e.g. a
slow checkpoint write), never hanging; the same command then resumes from the last checkpoint.
At the end the others wait up to FINISH_TIMEOUT_S (an hour) for rank 0's plots, samples and evals.
"""
from __future__ import annotations

import contextlib
import datetime
import math
import os
import re
import subprocess
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch
import torch.distributed as dist

from gpt.config import ConfigError

BACKENDS = ("gloo", "nccl")
DEFAULT_TIMEOUT_S = 60.0   # a rank that never arrives or never answers fails the job, not hangs it
FINISH_TIMEOUT_S = 3600.0  # the others wait this long at the end for rank 0's plots, samples, evals


class DistributedError(ConfigError):
    """A multi-process launch that cannot work (printed as a one-line error by main.py)."""


class PeerLostError(DistributedError):
    """Another rank died or stopped answering: the group is broken, rerun to resume."""


def timeout_s(env: dict | None = None) -> float:
    """Seconds a collective or the rendezvous waits for the other ranks: TOOLKIT_DIST_TIMEOUT_S."""
    env = os.environ if env is None else env
    raw = env.get("TOOLKIT_DIST_TIMEOUT_S", "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise DistributedError(f"TOOLKIT_DIST_TIMEOUT_S={raw!r} must be a positive number of seconds "
                               f"(default {DEFAULT_TIMEOUT_S:g})")
    return value


def _peer_lost(exc: BaseException) -> bool:
    """A torch.distributed failure (a broken connection, a timeout), not a bug of ours."""
    if isinstance(exc, DistributedError):   # ours, already one line
        return False
    return isinstance(exc, dist.DistError) or (isinstance(exc, RuntimeError) and
                                               re.search(r"gloo|NCCL", str(exc)) is not None)


def _lost(world: World, exc: BaseException, seconds: float) -> PeerLostError:
    # gloo's text: "[/path/pair.cc:537] Read error [127.0.0.1]:11979: Connection reset by peer. This is..."
    first = re.sub(r"^\[[^\]]*\.(cc|cpp|hpp|h):\d+\]\s*", "", str(exc).strip().splitlines()[0])
    reason = first.split(". ")[0][:160]
    return PeerLostError(f"rank {world.rank} of {world.world_size}: the data-parallel group broke ({reason}); "
                         f"another rank died or did not answer within TOOLKIT_DIST_TIMEOUT_S={seconds:g} s "
                         "(its log says why); run the same command again to resume from the last checkpoint")


@dataclass(frozen=True, kw_only=True)
class World:
    """This process's place among the data-parallel ranks."""
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    master_addr: str = "127.0.0.1"
    master_port: int = 29500
    source: str = field(default="single")   # single | torchrun | slurm

    @property
    def is_main(self) -> bool:
        """Rank 0 writes every artefact of the run (metrics, checkpoints, samples, summary)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """More than one rank: a process group, DDP, sharded batches and evaluation."""
        return self.world_size > 1


def _int(env: dict, name: str) -> int:
    try:
        return int(env[name])
    except ValueError:
        raise DistributedError(f"{name}={env[name]!r} is not an integer; check the launcher's environment")


def _first_host(nodelist: str) -> str:
    """The first host of a Slurm nodelist such as `node[03-05],gpu1` (scontrol expands it)."""
    try:
        out = subprocess.run(["scontrol", "show", "hostnames", nodelist], capture_output=True,
                             text=True, timeout=30, check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        out = []
    if not out:
        if "[" in nodelist:
            raise DistributedError(f"cannot expand SLURM_JOB_NODELIST={nodelist!r} (scontrol failed); "
                                   "set MASTER_ADDR to the first node's host name")
        return nodelist.split(",")[0]
    return out[0]


def from_env(env: dict | None = None) -> World:
    """The World described by torchrun's or srun's variables; World() when neither launched us.

    Under Slurm only an `srun` step counts (SLURM_STEP_NUM_TASKS): the batch script itself also
    sees SLURM_NTASKS but is one process, and must not wait for peers that never start."""
    env = os.environ if env is None else env
    timeout_s(env)         # a bad value fails here, before anything is prepared or written, any world size
    if "WORLD_SIZE" in env and "RANK" in env:
        world = World(rank=_int(env, "RANK"), local_rank=_int(env, "LOCAL_RANK") if "LOCAL_RANK" in env else 0,
                      world_size=_int(env, "WORLD_SIZE"), master_addr=env.get("MASTER_ADDR", "127.0.0.1"),
                      master_port=_int(env, "MASTER_PORT") if "MASTER_PORT" in env else 29500,
                      source="torchrun")
    elif "SLURM_STEP_NUM_TASKS" in env and "SLURM_PROCID" in env and _int(env, "SLURM_STEP_NUM_TASKS") > 1:
        job = _int(env, "SLURM_JOB_ID") if "SLURM_JOB_ID" in env else 0
        addr = env.get("MASTER_ADDR") or _first_host(env.get("SLURM_JOB_NODELIST", "127.0.0.1"))
        world = World(rank=_int(env, "SLURM_PROCID"), local_rank=_int(env, "SLURM_LOCALID"),
                      world_size=_int(env, "SLURM_STEP_NUM_TASKS"), master_addr=addr,
                      master_port=_int(env, "MASTER_PORT") if "MASTER_PORT" in env else 20000 + job % 20000,
                      source="slurm")
    else:
        return World()
    if not 0 <= world.rank < world.world_size or world.world_size < 1:
        raise DistributedError(f"rank {world.rank} is outside world size {world.world_size}; "
                               "check RANK/WORLD_SIZE (or SLURM_PROCID/SLURM_STEP_NUM_TASKS)")
    return world


def backend_for(device: torch.device, env: dict | None = None) -> str:
    """nccl for CUDA, gloo for CPU; TOOLKIT_DIST_BACKEND overrides (nccl needs GPUs)."""
    env = os.environ if env is None else env
    backend = env.get("TOOLKIT_DIST_BACKEND", "").strip().lower() or ("nccl" if device.type == "cuda" else "gloo")
    if backend not in BACKENDS:
        raise DistributedError(f"TOOLKIT_DIST_BACKEND={backend!r}: choose one of {', '.join(BACKENDS)}")
    if backend == "nccl" and (device.type != "cuda" or not torch.cuda.is_available()):
        raise DistributedError("the nccl backend needs CUDA GPUs but this run is on "
                               f"{device}; use device=cuda on a GPU node, or TOOLKIT_DIST_BACKEND=gloo")
    return backend


def rank_device(device: torch.device, world: World) -> torch.device:
    """Each rank drives the GPU of its local rank (one task per GPU); CPU stays CPU."""
    if device.type != "cuda" or not world.distributed:
        return device
    if world.local_rank >= torch.cuda.device_count():
        raise DistributedError(f"local rank {world.local_rank} but only {torch.cuda.device_count()} GPU(s) "
                               "on this node; start one task per GPU (--ntasks-per-node = GPUs per node)")
    torch.cuda.set_device(world.local_rank)
    return torch.device("cuda", world.local_rank)


@contextlib.contextmanager
def session(device: torch.device, world: World | None = None) -> Iterator[World]:
    """Join the process group for the block (when world_size > 1 and nobody joined it yet)."""
    world = from_env() if world is None else world
    if not world.distributed or dist.is_initialized():
        yield world
        return
    backend, seconds = backend_for(device), timeout_s()
    try:
        dist.init_process_group(backend, init_method=f"tcp://{world.master_addr}:{world.master_port}",
                                rank=world.rank, world_size=world.world_size,
                                timeout=datetime.timedelta(seconds=seconds))
        # the last barrier waits while rank 0 alone writes plots, samples and evals (minutes on
        # a CPU), so it gets a group of its own with a long timeout; a peer that dies is still
        # seen at once (its connection drops)
        end_group = dist.new_group(backend="gloo",
                                   timeout=datetime.timedelta(seconds=max(seconds, FINISH_TIMEOUT_S)))
        ok = False
        try:
            yield world
            ok = True
        finally:
            if ok:
                dist.barrier(group=end_group)   # nobody leaves while a peer still needs the group
            dist.destroy_process_group()
    except Exception as exc:         # a dead peer: one line on every survivor, not a traceback
        if _peer_lost(exc):
            raise _lost(world, exc, seconds) from None
        raise


@contextlib.contextmanager
def main_first(world: World, device: torch.device, setup: Callable[[contextlib.ExitStack], None]):
    """Rank 0 runs `setup(stack)` (a lock it enters on `stack` is held for the block); the others
    wait for it, and fail with one line if it failed (rank 0 raises its own error)."""
    with contextlib.ExitStack() as stack:
        if world.is_main:
            try:
                setup(stack)
            except BaseException:
                all_true(world, False, device)
                raise
        if not all_true(world, True, device):
            raise DistributedError("rank 0 could not start the run (its error is in its log)")
        yield


def shard_rows(global_batch: int, rank: int, world_size: int) -> slice:
    """Rank `rank`'s rows of a global batch: [r*B/W, (r+1)*B/W); B must divide by W."""
    if global_batch % world_size:
        raise DistributedError(f"train.batch_size={global_batch} does not divide by the {world_size} ranks; "
                               f"use a multiple of {world_size} (it is the global batch, split across ranks)")
    per_rank = global_batch // world_size
    return slice(rank * per_rank, (rank + 1) * per_rank)


def check_same(world: World, what: str, value: str) -> None:
    """Every rank must hold the same `value` (a config hash); else a one-line error on every rank."""
    if not world.distributed:
        return
    values: list = [None] * world.world_size
    dist.all_gather_object(values, value)
    if len(set(values)) > 1:
        ranks = ", ".join(f"rank {r}: {v}" for r, v in enumerate(values))
        raise DistributedError(f"the ranks disagree on the {what} ({ranks}); start every rank with "
                               "the same command and overrides")


def all_true(world: World, flag: bool, device: torch.device) -> bool:
    """True when `flag` is true on every rank (a collective: every rank must call it)."""
    if not world.distributed:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item() > 0)


def any_true(world: World, flag: bool, device: torch.device) -> bool:
    """True when `flag` is true on some rank (a stop request on one rank stops them all)."""
    return not all_true(world, not flag, device)


def sum_(world: World, tensor: torch.Tensor) -> torch.Tensor:
    """In-place sum of `tensor` over the ranks (eval totals, losses); returned for chaining."""
    if world.distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def wrap(model: torch.nn.Module, world: World, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel around `model` when world_size > 1 (gradients averaged over ranks)."""
    if not world.distributed:
        return model
    ids = [device.index] if device.type == "cuda" else None
    # DDP copies parameters and buffers from rank 0 when it wraps the model. Our buffers (causal
    # masks, RoPE/ALiBi tables, performer features, bigbird's seed) never change after that, so they
    # are not broadcast again before every forward (n_layer x block_size^2 bytes of masks alone).
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids, broadcast_buffers=False)


def no_sync(model: torch.nn.Module, skip: bool):
    """DDP's no_sync for grad-accumulation micro-steps before the last (one all-reduce per step)."""
    if skip and isinstance(model, torch.nn.parallel.DistributedDataParallel):
        return model.no_sync()
    return contextlib.nullcontext()
