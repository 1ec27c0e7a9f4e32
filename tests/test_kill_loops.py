"""Kill -9 loops at toy scale (scripts/kill_loop.py): each job is SIGKILLed at seeded random times,
rerun until it completes, and its metrics rows (losses, lrs, accuracies, steps) and summaries are
compared bit for bit with an uninterrupted run: classify (our GPT, a tiny HF RoBERTa), a 2-rank
torchrun run on CPU, pretrain_finetune (kills across its stages) and a sweep grid. A rank killed
alone ends the other with one line in bounded time, and rerunning resumes exactly.

The large-scale loops (dozens of kills) are the same driver with more --kills (README, crash safety).
"""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import kill_loop  # noqa: E402
from gpt import distributed  # noqa: E402
from gpt.distributed import DistributedError  # noqa: E402
from test_classify import tiny_roberta, write_set  # noqa: E402

MAIN = [sys.executable, str(REPO / "main.py")]
TOY_GPT = ["model.backbone.n_layer=1", "model.backbone.n_embd=32", "model.block_size=32",
           "model.backbone.block_size=32", "train.batch_size=16", "train.log_interval=2"]
DDP = ["full_run", "--preset", "smoke", "train.max_iters=24", "train.eval_interval=8",
       "train.checkpoint_interval=4", "train.log_interval=4", "train.eval_iters=2", "sample.max_new_tokens=4"]


def _env(data_root, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "RANK", "WORLD_SIZE"))}
    return {**env, "DATA_ROOT": str(data_root), "OMP_NUM_THREADS": "1", **extra}


def _loop(job, command, tmp_path, data_root, kills=2, seed=0, tries=3, **kw) -> kill_loop.Outcome:
    """Run the kill loop until one of `tries` seeds lands a kill mid-run; every loop must pass.

    A toy job lasts seconds, so on a busy machine each drawn trigger row can come only after the
    job's last row (a late kill, then nothing left to kill): that loop is still checked, and the
    next seed draws other rows.
    """
    for attempt in range(tries):
        out = kill_loop.run_job(job, command, tmp_path / f"loop{attempt}", kills, seed=seed + attempt,
                                timeout_s=300, env=_env(data_root), **kw)
        print(out.line())
        assert out.ok, out.line()
        assert out.kills + out.late_kills + out.outrun_kills <= kills, out.line()
        if out.kills >= 1:
            return out
    raise AssertionError(f"no kill landed mid-run in {tries} loops: {out.line()}")


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    return write_set(tmp_path_factory.mktemp("set"), sizes=(96, 24, 24))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def test_classify_gpt(labelled, cache, data_root, tmp_path):
    command = [*MAIN, "classify", "--preset", "smoke", f"data.dataset={labelled}", "train.epochs=3",
               *TOY_GPT, "--runs-root", "{runs_root}", "--cache-dir", str(cache)]
    out = _loop("classify-gpt", command, tmp_path, data_root)
    assert out.rows_compared >= 12 and out.files_compared == 1     # 9 train + 4 val rows, summary


def test_classify_tiny_hf_encoder(labelled, cache, data_root, tmp_path):
    folder = tiny_roberta(tmp_path / "roberta")                    # built here: nothing downloaded
    command = [*MAIN, "classify", "--preset", "smoke", f"data.dataset={labelled}", "train.epochs=3",
               f"model.source=hf:{folder}", "model.block_size=16", "train.batch_size=16",
               "train.log_interval=2", "--runs-root", "{runs_root}", "--cache-dir", str(cache)]
    _loop("classify-hf", command, tmp_path, data_root, seed=1)


@pytest.fixture(scope="module")
def torchrun_loop(cache, data_root, tmp_path_factory):
    """A 2-rank torchrun run killed whole (agent and ranks) twice; its reference run is reused."""
    work = tmp_path_factory.mktemp("torchrun")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
               "{port}", str(REPO / "main.py"), *DDP, "--runs-root", "{runs_root}", "--cache-dir", str(cache)]
    out = kill_loop.run_job("torchrun-2", command, work, 2, seed=2, timeout_s=300, env=_env(data_root))
    return out, work


def test_torchrun_two_ranks(torchrun_loop):
    out, _ = torchrun_loop
    print(out.line())
    assert out.ok and out.kills >= 1, out.line()
    assert out.rows_compared == 6 + 4                 # train rows every 4 of 24 steps, val at 0, 8, 16, 24


def _ranks(root: Path, cache: Path, data_root, port: int, timeout_s: str) -> list[subprocess.Popen]:
    env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": "2",
           "TOOLKIT_DIST_TIMEOUT_S": timeout_s}
    return [subprocess.Popen([*MAIN, *DDP, "--runs-root", str(root), "--cache-dir", str(cache)], cwd=REPO,
                             env=_env(data_root, RANK=str(r), LOCAL_RANK=str(r), **env), text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for r in range(2)]


@pytest.mark.parametrize("victim", [0, 1])
def test_a_killed_rank_ends_the_other_in_one_line_and_the_rerun_resumes_exactly(
        victim, torchrun_loop, cache, data_root, tmp_path):
    """As under srun: nobody tears the survivor down, it must see the loss itself, within the
    collective timeout (here 20 s; the connection reset comes at once). Rank 0 (the writer, lock
    holder and rendezvous host) killed: the rerun takes its lock over and resumes exactly."""
    root = tmp_path / "runs"
    procs = _ranks(root, cache, data_root, kill_loop.free_port(), "20")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(p.stat().st_size for p in root.rglob("metrics.jsonl")):
        time.sleep(0.05)
    time.sleep(0.5)                                   # inside the loop: a collective every step
    procs[victim].send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    survivor = procs[1 - victim]
    code = survivor.wait(timeout=60)
    exit_s, text = time.monotonic() - killed_at, survivor.stdout.read()
    procs[victim].wait()
    assert code == 2 and exit_s < 20, (code, exit_s, text)
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in text, text
    assert re.match(rf"error: rank {1 - victim} of 2: the data-parallel group broke \(.+\); another rank "
                    r"died or did not answer within TOOLKIT_DIST_TIMEOUT_S=20 s", errors[0]), errors[0]
    assert "run the same command again to resume" in errors[0]
    if victim == 1:
        return                                        # the resume is the same as victim 0's
    again = _ranks(root, cache, data_root, kill_loop.free_port(), "20")
    assert [p.wait(timeout=240) for p in again] == [0, 0], [p.stdout.read() for p in again]
    out = kill_loop.Outcome(f"ddp-kill-rank-{victim}")
    kill_loop.compare(torchrun_loop[1] / "straight", root, out)
    assert out.ok and out.rows_compared == 10, out.line()


def test_a_peer_that_never_arrives_is_one_line_after_the_timeout(cache, data_root, tmp_path):
    env = _env(data_root, RANK="0", LOCAL_RANK="0", WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
               MASTER_PORT=str(kill_loop.free_port()), TOOLKIT_DIST_TIMEOUT_S="3")
    start = time.monotonic()
    done = subprocess.run([*MAIN, *DDP, "--runs-root", str(tmp_path), "--cache-dir", str(cache)], cwd=REPO,
                          env=env, text=True, capture_output=True, timeout=120, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "error: rank 0 of 2: the data-parallel group broke (Timed out" in done.stderr
    assert time.monotonic() - start < 60
    env["TOOLKIT_DIST_TIMEOUT_S"] = "abc"
    done = subprocess.run([*MAIN, *DDP, "--runs-root", str(tmp_path / "bad"), "--cache-dir", str(cache)],
                          cwd=REPO, env=env, text=True, capture_output=True, timeout=120, check=False)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "error: TOOLKIT_DIST_TIMEOUT_S='abc' must be a positive number of seconds (default 60)"]
    assert not (tmp_path / "bad").exists()            # refused before anything is written
    for bad in ("0", "-5", "nan", "inf", ""):
        world = {"RANK": "0", "WORLD_SIZE": "2", "TOOLKIT_DIST_TIMEOUT_S": bad}
        if bad:
            with pytest.raises(DistributedError, match=f"TOOLKIT_DIST_TIMEOUT_S={bad!r} must be a positive"):
                distributed.from_env(world)
        else:
            assert distributed.from_env(world).world_size == 2 and distributed.timeout_s(world) == 60


def test_pretrain_finetune_across_stage_boundaries(cache, data_root, tmp_path):
    command = [*MAIN, "pretrain_finetune", "--preset", "smoke", "train.epochs=0", "train.max_iters=8",
               "train.eval_interval=4", "--runs-root", "{runs_root}", "--cache-dir", str(cache)]
    out = _loop("pretrain_finetune", command, tmp_path, data_root, seed=3)
    assert out.files_compared >= 4                    # stage summaries, eval results, the chain's
    assert max(out.done_at_kill) >= 1, out.line()     # a kill after the first stage had finished


def test_sweep_grid(labelled, cache, data_root, tmp_path):
    command = [*MAIN, "sweep", "grid", "optim.lr=1e-3,3e-3", "--job", "classify", "--preset", "smoke",
               f"data.dataset={labelled}", "train.epochs=2", *TOY_GPT[:2], *TOY_GPT[4:], "--runs-root", "{runs_root}",
               "--cache-dir", str(cache)]
    out = _loop("sweep-grid", command, tmp_path, data_root, seed=4)
    assert out.files_compared == 2                    # one summary per point


def test_a_kill_after_the_checkpoints_but_before_the_summary_is_resumed(labelled, cache, data_root,
                                                                         tmp_path, monkeypatch):
    """Found by the loop: a kill after training but before the work that follows it (classify's
    test score, full_run's samples) must not leave a run that looks complete. That work runs before
    summary.json, so such a kill leaves last.pt at the last step and no summary: made exactly here
    (summary and samples removed), the rerun does the work again, with the same results."""
    import json
    import main
    from gpt import rundir
    monkeypatch.setenv("DATA_ROOT", str(data_root))
    args = ["classify", "--preset", "smoke", f"data.dataset={labelled}", "train.epochs=1", *TOY_GPT,
            "--runs-root", str(tmp_path), "--cache-dir", str(cache)]
    assert main.main(args) == 0
    (run,) = tmp_path.glob("classify/*")
    full = json.loads((run / rundir.SUMMARY).read_text())
    (run / rundir.SUMMARY).unlink()
    assert main.main(args) == 0
    assert json.loads((run / rundir.SUMMARY).read_text())["test_accuracy"] == full["test_accuracy"]
    ddp = [*DDP[:3], "train.max_iters=2", "train.eval_interval=2", "--runs-root", str(tmp_path),
           "--cache-dir", str(cache)]
    assert main.main(ddp) == 0
    (run,) = tmp_path.glob("full_run/*")
    samples = (run / rundir.SAMPLES / "samples.json").read_text()
    (run / rundir.SAMPLES / "samples.json").unlink()
    (run / rundir.SUMMARY).unlink()
    assert main.main(ddp) == 0
    assert (run / rundir.SAMPLES / "samples.json").read_text() == samples
