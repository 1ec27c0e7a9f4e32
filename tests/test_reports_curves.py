"""Per-run loss and perplexity figures: axes, legends, and runs with few or no rows."""
import json
import math

from reports.curves import RunPlotter, read_curves, write_run_plots


def _write_metrics(run_dir, rows, tail=""):
    run_dir.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(row) + "\n" for row in rows) + tail
    (run_dir / "metrics.jsonl").write_text(text)


def _rows(n_steps=50, val_every=10):
    rows = [{"kind": "start", "step": 0}]
    for step in range(n_steps):
        loss = 4.0 - step / n_steps
        rows.append({"kind": "train", "step": step, "loss": loss, "ppl": math.exp(loss)})
        if step % val_every == 0:
            rows.append({"kind": "val", "step": step, "loss": loss + 0.1, "ppl": math.exp(loss + 0.1),
                         "train_loss": loss, "train_ppl": math.exp(loss)})
    return rows


def test_write_run_plots_writes_two_pngs_into_the_run_dir(tmp_path):
    run = tmp_path / "demo-1234abcd"
    _write_metrics(run, _rows(), tail='{"kind": "train", "st')  # truncated last line
    paths = write_run_plots(run)
    assert [p.name for p in paths] == ["loss.png", "ppl.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


def test_out_dir_and_runs_without_val_or_metrics(tmp_path):
    few = tmp_path / "few"
    _write_metrics(few, [{"kind": "train", "step": 0, "loss": 5.0, "ppl": math.exp(5.0)}])
    empty = tmp_path / "empty"
    empty.mkdir()
    for run in (few, empty):
        paths = write_run_plots(run, tmp_path / "out" / run.name)
        assert all(p.is_file() and p.parent == tmp_path / "out" / run.name for p in paths)


def test_figures_have_labels_legend_log_axis_and_title():
    curves = read_curves(_rows())
    loss_fig, ppl_fig = RunPlotter().draw(curves, "demo")
    for fig, ylabel in ((loss_fig, "loss"), (ppl_fig, "perplexity")):
        ax = fig.axes[0]
        assert ax.get_xlabel() == "step" and ylabel in ax.get_ylabel()
        assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["train", "validation"]
        assert "demo" in ax.get_title()
    assert ppl_fig.axes[0].get_yscale() == "log"
    assert loss_fig.axes[0].get_yscale() == "linear"


def test_resumed_steps_keep_the_last_row_and_ppl_falls_back_to_exp_loss():
    rows = [{"kind": "train", "step": 0, "loss": 9.0}, {"kind": "train", "step": 1, "loss": 2.0},
            {"kind": "train", "step": 1, "loss": 1.0}]
    curves = read_curves(rows)
    assert curves.train_step == [0, 1] and curves.train_loss == [9.0, 1.0]
    assert math.isclose(curves.train_ppl[1], math.e)
    assert curves.val_step == []


def test_train_curve_falls_back_to_the_evaluation_train_loss():
    rows = [{"kind": "val", "step": 0, "loss": 3.0, "ppl": 20.0, "train_loss": 2.9, "train_ppl": 18.0}]
    curves = read_curves(rows)
    assert curves.train_step == [0] and curves.train_ppl == [18.0]


def test_short_run_train_curve_takes_every_logged_step():
    """4 steps at log_interval 10: one train row, but evaluations measured the train split at 0, 2, 4."""
    rows = [{"kind": "val", "step": s, "loss": 3.0, "train_loss": 2.9 - s / 8} for s in (0, 2, 4)]
    rows.append({"kind": "train", "step": 4, "loss": 2.0})
    curves = read_curves(rows)
    assert curves.train_step == [0, 2, 4] and curves.train_loss == [2.9, 2.65, 2.0]   # the train row wins at 4


def _tick_labels(ax):
    low, high = ax.get_ylim()
    return [(t, f"{t:g}") for t in ax.get_yticks() if low <= t <= high]


def test_ppl_figure_labels_a_tick_below_the_final_value_and_writes_it():
    """The headline number (last val ppl) can be read off: a labelled tick at or below it, its
    value written on the figure; the y label clears 5-digit tick labels."""
    for final, first in ((12.35, 66.0), (1.9, 2.6), (31_000.0, 48_000.0), (140.0, 60_000.0)):
        ppls = [first * (final / first) ** (i / 9) for i in range(10)]
        rows = [{"kind": "val", "step": i * 10, "loss": math.log(p), "ppl": p} for i, p in enumerate(ppls)]
        _, fig = RunPlotter().draw(read_curves(rows), "demo")
        ax = fig.axes[0]
        ticks = _tick_labels(ax)
        assert ticks[0][0] <= final and len(ticks) >= 2, (final, ticks)
        texts = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any(t.startswith("final val ppl") and (f"{final:,.0f}" if final >= 1000 else f"{final:.2f}") in t
                   for t in texts), texts
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        label_right = ax.yaxis.label.get_window_extent(renderer).x1
        tick_left = min(t.get_window_extent(renderer).x0 for t in ax.get_yticklabels() if t.get_text())
        assert label_right < tick_left, (final, label_right, tick_left)
