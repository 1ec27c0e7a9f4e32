"""Training progress: a bar on a terminal, one plain line per log interval otherwise (Slurm logs)."""
from __future__ import annotations

import sys


def _fmt_eta(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rem = divmod(seconds, 3600)
    return f"{h}h{rem // 60:02d}m" if h else f"{rem // 60}m{rem % 60:02d}s"


class Progress:
    """`mode`: auto | bar | lines | off. `update` is called once per log interval."""

    def __init__(self, mode: str, total_steps: int, start_step: int, name: str):
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        self.mode, self.total, self.name = mode, total_steps, name
        self.bar = None
        if mode == "bar":
            from tqdm import tqdm
            self.bar = tqdm(total=total_steps, initial=start_step, desc=name, unit="step",
                            dynamic_ncols=True)
        self.last_step = start_step

    def update(self, step: int, loss: float, lr: float, ms_per_step: float, tokens_per_s: float) -> None:
        """Show the state after `step`: advance the bar, or print one line (with an ETA)."""
        if self.bar is not None:
            self.bar.update(step - self.last_step)
            self.bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2e}", tok_s=f"{tokens_per_s:,.0f}")
        elif self.mode == "lines":
            eta = (self.total - step) * ms_per_step / 1000
            print(f"[{self.name}] step {step}/{self.total} | loss {loss:.4f} | lr {lr:.2e} | "
                  f"{ms_per_step:.1f} ms/step | {tokens_per_s:,.0f} tok/s | eta {_fmt_eta(eta)}",
                  flush=True)
        self.last_step = step

    def note(self, text: str) -> None:
        """A message that must show in every mode but 'off' (evaluations, resume, stop)."""
        if self.bar is not None:
            self.bar.write(f"[{self.name}] {text}")
        elif self.mode != "off":
            print(f"[{self.name}] {text}", flush=True)

    def close(self) -> None:
        """Close the bar, if one is shown."""
        if self.bar is not None:
            self.bar.close()
