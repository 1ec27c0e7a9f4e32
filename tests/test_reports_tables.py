"""Summary table values, order and bold cells; memory steady state; labels; figure contents."""
import math
from pathlib import Path

import pandas as pd

from reports import comparison, evals, memory, summary
from reports.discover import RunRef
from reports.groups import group_curves, group_figure
from reports.labels import differing_keys, group_labels
from reports.load import Run
from reports.tables import Table, fmt, to_csv, to_latex, to_markdown


def _run(name, arch="lstm", n_layer=1, optim="adam", val_ppls=(), exp=None, done=True, train=None,
         group="g"):
    """A Run built in memory: val rows at epochs 0, 1, ... with the given perplexities."""
    val = pd.DataFrame({"step": range(len(val_ppls)), "epoch": [float(e) for e in range(len(val_ppls))],
                        "ppl": list(val_ppls), "train_ppl": [p * 0.9 for p in val_ppls],
                        "elapsed_s": [10.0 * e for e in range(len(val_ppls))]})
    config = {"model": {"arch": arch, "n_layer": n_layer}, "optim": {"name": optim, "lr": 1e-3}} if arch else {}
    return Run(RunRef(Path(f"/runs/{group}/{name}"), group, group, exp), config=config,
               summary={"status": "completed", "n_params": 2_500_000} if done else {},
               val=val, train=train if train is not None else pd.DataFrame())


RUNS = [
    _run("gpt-sgd", "gpt", 1, "sgd", (2000, 1100), exp=7),
    _run("lstm-adamw", "lstm", 1, "adamw", (300, 141, 150), exp=2),
    _run("gpt-adam", "gpt", 1, "adam", (400, 146, 144), exp=5),
    _run("lstm4", "lstm", 4, "adamw", (300, 160), exp=10, done=False),
    _run("lstm-adam", "lstm", 1, "adam", (300, 145), exp=1),
    _run("lstm2", "lstm", 2, "adamw", (280, 139.5), exp=9),
]


def test_summary_columns_values_and_order():
    frame = summary.summary_frame(RUNS)
    assert list(frame.columns) == ["exp", "run", "job", "dataset", "status", "arch", "layers", "optimizer", "lr",
                                   "weight decay", "params", "best val ppl", "best val acc", "best epoch",
                                   "train ppl", "test acc", "s/epoch", "tokens/s", "GPU MB"]
    assert list(frame["exp"]) == [5, 7, 1, 2, 9, 10]   # arch, then layers, then optimizer
    row = frame.set_index("run").loc["lstm-adamw"]
    # best across epochs (141 at epoch 1), not the last evaluation (150)
    assert (row["best val ppl"], row["best epoch"], row["train ppl"]) == (141, 1, 141 * 0.9)
    assert row["s/epoch"] == 10.0 and row["params"] == 2_500_000
    assert frame.set_index("run").loc["lstm4", "status"] == "incomplete"


def test_best_of_each_architecture_is_bold_in_markdown_and_latex():
    table = summary.summary_table(RUNS)
    markdown, latex = to_markdown(table), to_latex(table)
    assert "**144.00**" in markdown and "**139.50**" in markdown        # gpt-adam, lstm2
    assert markdown.count("**") == 4
    assert r"\textbf{144.00}" in latex and r"\textbf{139.50}" in latex and latex.count(r"\textbf") == 2
    lines = markdown.splitlines()
    assert "| 9 | lstm2 | g | — | completed | lstm | 2 | adamw |" in lines[6]
    assert table.caption.startswith("Runs sorted by dataset, job, architecture") and "Bold" in table.caption
    assert "GPU MB" not in table.columns          # no run measured GPU memory: no empty column
    csv_lines = to_csv(table).splitlines()
    assert csv_lines[1].startswith("5,gpt-adam,g,,completed,gpt,1,adam,0.001,,2500000,144.0,2.0,129.6,10.0,")


def test_bold_compares_runs_of_one_dataset_and_job_only_and_empty_columns_go():
    def on(run, dataset, job="full_run"):
        run.config["data"] = {"dataset": dataset}
        run.ref = RunRef(run.ref.run_dir, job, job, None)
        return run
    runs = [on(_run("shakespeare-a", "gpt", val_ppls=(9, 5)), "tinyshakespeare"),
            on(_run("shakespeare-b", "gpt", val_ppls=(9, 6)), "tinyshakespeare"),
            on(_run("wiki", "gpt", val_ppls=(90, 50)), "wikitext2"),           # alone: nothing to beat
            on(_run("birth", "gpt", val_ppls=(3, 2)), "birth_places_finetune", "finetune")]
    table = summary.summary_table(runs)
    assert table.columns[:3] == ["run", "job", "dataset"]                    # no exp numbers: no exp column
    bold_rows = {table.rows[r][0] for r, _ in table.bold}
    assert bold_rows == {"shakespeare-a"}
    assert [row[2] for row in table.rows] == ["birth_places_finetune", "tinyshakespeare", "tinyshakespeare", "wikitext2"]
    assert {row[table.columns.index("params")] for row in table.rows} == {"2,500,000"}


def test_runs_without_config_or_values_sort_last_and_show_a_dash():
    runs = RUNS + [_run("mystery", arch=None, val_ppls=(), done=False)]
    table = summary.summary_table(runs)
    assert table.rows[-1][:6] == ["—", "mystery", "g", "—", "incomplete", "—"]
    assert all((len(runs) - 1, c) not in table.bold for c in range(len(table.columns)))


def test_latex_and_markdown_escaping():
    table = Table(["name_x", "50%"], [["a|b", "R&D #1"]], caption="under_score", bold={(0, 1)})
    assert r"name\_x & 50\% \\" in to_latex(table)
    assert r"\textbf{R\&D \#1}" in to_latex(table) and r"\caption{under\_score}" in to_latex(table)
    assert r"| a\|b | **R&D #1** |" in to_markdown(table)
    assert fmt(float("nan")) == "—" and fmt(None) == "—" and fmt(3.0, "d") == "3" and fmt("x", "d") == "x"


def test_steady_memory_skips_warmup_and_chart_omits_cpu_runs():
    train = pd.DataFrame({"step": range(20), "gpu_mem_allocated_mb": [100.0] * 2 + [500.0] * 18,
                          "gpu_mem_reserved_mb": [300.0] * 2 + [800.0] * 18,
                          "gpu_mem_peak_allocated_mb": [900.0] * 20})
    gpu, cpu = _run("gpu", train=train, exp=1), _run("cpu", exp=2)
    assert memory.steady_memory(gpu) == {"allocated": 500.0, "reserved": 800.0, "peak": 900.0}
    assert memory.steady_memory(cpu) == {"allocated": None, "reserved": None, "peak": None}
    table = memory.memory_table([gpu, cpu])
    assert table.rows[1][3:] == ["—", "—", "—"]
    fig = memory.memory_figure([gpu, cpu])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["gpu"]
    assert ax.get_xlabel() == "steady-state GPU memory (MB)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["allocated", "reserved"]
    assert memory.memory_figure([cpu]) is None


def test_labels_name_only_the_keys_that_differ():
    configs = [{"model": {"arch": "lstm", "n_layer": 2, "hidden_size": 512}, "optim": {"name": "adamw"},
                "name": "a", "seed": 1},
               {"model": {"arch": "gpt", "n_layer": 1, "n_head": 12}, "optim": {"name": "adamw"},
                "name": "b", "seed": 1}]
    assert differing_keys(configs) == ["model.arch", "model.n_layer"]
    labels = group_labels([_run("a", "lstm", 2, "adamw", exp=9), _run("b", "gpt", 1, "sgd"),
                           _run("c", None)])
    assert labels == {"g__a": "exp9 arch=lstm n_layer=2 optim=adamw", "g__b": "arch=gpt n_layer=1 optim=sgd",
                      "g__c": "c"}


def test_group_figure_axes_and_legend():
    runs = [RUNS[1], RUNS[4]]
    labels = group_labels(runs)
    fig = group_figure("b", {r.ref.key: group_curves(r) for r in runs}, labels)
    loss_epoch, loss_time, by_epoch, by_time = fig.axes
    assert by_epoch.get_xlabel() == "epoch" and by_time.get_xlabel() == "training wall-clock time (s)"
    assert all(ax.get_ylabel() == "perplexity (log scale)" and ax.get_yscale() == "log" for ax in (by_epoch, by_time))
    assert all(ax.get_ylabel() == "loss (nats/token)" and ax.get_yscale() == "linear" for ax in (loss_epoch, loss_time))
    assert "loss against epoch" in loss_epoch.get_title()
    legend = [t.get_text() for t in loss_time.get_legend().get_texts()]
    assert legend == ["exp2 optim=adamw", "exp1 optim=adam", "validation", "train"]
    assert len(by_epoch.get_lines()) == 4   # train and val per run
    val_line = by_epoch.get_lines()[0]
    assert list(val_line.get_ydata()) == [300, 141, 150] and list(val_line.get_xdata()) == [0, 1, 2]


def test_comparison_and_eval_figures():
    run = _run("cmp")
    run.comparison = {"steps": 50, "speedup": 20.0, "rows": [
        {"device": "cpu", "ms_per_step": 2400.0}, {"device": "cuda", "ms_per_step": 120.0}]}
    rows = comparison.comparison_rows([run])
    ax = comparison.comparison_figure(rows).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cmp: cpu", "cmp: cuda"]
    assert "20.0x" in ax.get_title() and ax.get_xlabel() == "time per training step (ms)"
    run.evals = [{"kind": "birthplace_accuracy", "variant": v, "accuracy": a}
                 for v, a in (("pretrain_finetune", 21.0), ("london", 5.0))]
    rows = evals.eval_rows([run])
    assert [r["variant"] for r in rows] == ["london", "pretrain_finetune"]
    assert evals.eval_table(rows).rows[1][-1] == "+16.0"
    ax = evals.eval_figure(rows).axes[0]
    assert ax.get_ylabel() == "dev accuracy (%)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["london baseline (5.0%)"]
    assert math.isclose(ax.get_lines()[0].get_ydata()[0], 5.0)
