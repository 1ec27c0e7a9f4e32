"""Build the whole report from runs roots, sweep indexes and run dirs.

    build_report([Path("runs")], Path("report"))    # -> report/index.md

Layout of the report folder:
    index.md  index.html           every figure and table below, captioned
    summary.md  summary.tex  summary.csv  memory.csv  comparison.csv  birthplace.csv  classify.csv
    reproduction.md/.tex/.csv      from <runs_root>/reproduce/*.json (`main.py reproduce`)
    groups/<group>/ppl.png         loss and perplexity of the runs overlaid against epochs and
                                   wall-clock, per sweep or job
    memory.png  comparison.png  birthplace.png
    ablation.md/.tex/.csv  ablation_ranking.png  ablation_curves.png  ablation_lengths.png
                                   one set per sweep of attention_ablation runs (ablation-<sweep>*
                                   when there are several)
    runs/<job>__<run>/loss.png  ppl.png   each run also gets a run card (table) in index.md
                                   (accuracy.png: classification runs)
    .report-state.json             fingerprints: unchanged outputs are reused, not redrawn
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from gpt import rundir
from reports import cards, classify, comparison, evals, memory, reproduction, samples, summary
from reports.ablation_section import ablation_sections
from reports.curves import read_curves
from reports.discover import discover, safe_name
from reports.document import FigureItem, Section, TableItem, TextItem, to_html_document, to_markdown_document
from reports.figures import Figure, save_figure
from reports.groups import MAX_LEGEND_RUNS, group_curves
from reports.labels import figure_title, group_labels
from reports.load import Run, load_run
from reports.render import GroupPlotTask, RunPlotTask, draw_all
from reports.state import ReportState, fingerprint
from reports.tables import Table, to_csv, to_latex, to_markdown

TITLE = "Training report"


class Builder:
    """Holds the report folder and its state while sections are made; one per build."""

    def __init__(self, out_dir: Path, log: Callable[[str], None]) -> None:
        self.out_dir = Path(out_dir)
        self.state = ReportState(self.out_dir)
        self.log = log
        self.pending: list = []   # figure tasks to draw in parallel once every section is known
        self.errors: list[str] = []  # figures that could not be drawn

    def rel(self, path: Path) -> str:
        """`path` relative to the report folder, with forward slashes (for links)."""
        return Path(path).relative_to(self.out_dir).as_posix()

    def figure(self, rel_path: str, digest_parts, draw: Callable[[], Figure | None]) -> bool:
        """Draw and save a figure unless an identical one is there; False if there is nothing to draw."""
        path = self.out_dir / rel_path
        if self.state.is_fresh([path], fingerprint(rel_path, digest_parts)):
            return True
        try:
            fig = draw()
            if fig is not None:
                self.state.wrote(save_figure(fig, path))
        except Exception as exc:  # noqa: BLE001 - a figure that fails is reported, not fatal
            self.errors.append(f"{rel_path} not drawn: {exc.__class__.__name__}: {exc}")
            return False
        return fig is not None

    def tables(self, stem: str, table: Table, latex: bool = False) -> None:
        """Write `<stem>.csv` (and `.md`, `.tex` when `latex`) next to index.md."""
        self.state.write_text(self.out_dir / f"{stem}.csv", to_csv(table))
        if latex:
            self.state.write_text(self.out_dir / f"{stem}.md", f"{table.caption}\n\n{to_markdown(table)}")
            self.state.write_text(self.out_dir / f"{stem}.tex", to_latex(table, label=f"tab:{stem}"))


def _run_section(b: Builder, run: Run) -> Section:
    """The run card, loss and perplexity figures and the samples table of one run."""
    curves = read_curves(run.rows)
    folder = b.out_dir / "runs" / run.ref.key
    paths = [folder / rundir.LOSS_PLOT, folder / rundir.PPL_PLOT]
    title = figure_title(run)
    fresh = b.state.is_fresh(paths, fingerprint(title, dataclasses.asdict(curves)))
    if not fresh:
        b.pending.append(RunPlotTask(curves, title, folder))
    b.log(f"  {run.ref.job}/{run.ref.name}: {run.status}, {len(run.train)} train / {len(run.val)} val "
          f"rows{f', {len(run.warnings)} warning(s)' if run.warnings else ''}"
          f"{', plots reused' if fresh else ''}")
    items = [TextItem(f"Status: {run.status}. Run dir: {run.ref.run_dir}"), TableItem(cards.run_card(run)),
             FigureItem(b.rel(paths[0]), f"Training and validation loss against steps: {title}."),
             FigureItem(b.rel(paths[1]), f"Training and validation perplexity against steps "
                                         f"(log scale): {title}.")]
    table = samples.run_samples_table(run)
    if table:
        items.append(TableItem(table))
    return Section(f"{run.ref.job}/{run.ref.name}", items, level=3)


def _group_section(b: Builder, group: str, runs: list[Run]) -> Section:
    """Train and val loss and perplexity of a group's runs against epochs and wall-clock time."""
    labels = {key: label + ("" if run.completed else " (incomplete)")
              for (key, label), run in zip(group_labels(runs).items(), runs)}
    curves = {run.ref.key: group_curves(run) for run in runs}
    rel_path = f"groups/{safe_name(group)}/ppl.png"
    digest = [labels, {key: [["/".join(k), xs.tolist(), ys.tolist()] for k, (xs, ys) in c.items()]
                       for key, c in curves.items()}]
    if not b.state.is_fresh([b.out_dir / rel_path], fingerprint(rel_path, digest)):
        b.pending.append(GroupPlotTask(group, curves, labels, b.out_dir / rel_path))
    note = ("" if len(runs) <= MAX_LEGEND_RUNS else
            f" Legend omitted: {len(runs)} runs are too many to tell apart; see the table.")
    caption = (f"Loss (top) and perplexity (bottom) of the {len(runs)} run(s) of {group} against "
               "epochs (left) and training wall-clock time (right, summed over attempts): validation solid, train "
               "dashed, both measured at each evaluation; runs are labelled by the config keys "
               f"that differ between them.{note}")
    return Section(f"Group {group}", [FigureItem(rel_path, caption)], level=3)


def _accuracy_group_section(b: Builder, group: str, runs: list[Run]) -> Section:
    """Validation and train accuracy of a group's classification runs against epochs; the best
    by val accuracy named with its test accuracy."""
    labels = {key: label + ("" if run.completed else " (incomplete)")
              for (key, label), run in zip(group_labels(runs).items(), runs)}
    series = {labels[run.ref.key]: classify.accuracy_series(run.rows) for run in runs}
    rows = classify.classify_rows(runs)
    best = classify.best_run(rows)
    best_label = labels[best["key"]] if best else None
    rel_path = f"groups/{safe_name(group)}/accuracy.png"
    note = (f"(best: val {best['best val acc']:.3f}, test "
            f"{'—' if best['test acc'] is None else format(best['test acc'], '.3f')})" if best else "")
    b.figure(rel_path, [series, best_label, note],
             lambda: classify.group_accuracy_figure(group, series, best_label, note))
    chosen = (f" Best by validation accuracy (thick line, * in the legend): {best_label}, val "
              f"{best['best val acc']:.4f} at epoch {best['best epoch'] or 0:g}, test "
              f"{'—' if best['test acc'] is None else format(best['test acc'], '.4f')} (the test "
              "accuracy of that checkpoint)." if best else "")
    caption = (f"Accuracy of the {len(runs)} classification run(s) of {group} against epochs: "
               "validation (left) and train (right), measured at each evaluation; runs are "
               f"labelled by the config keys that differ between them.{chosen}")
    return Section(f"Group {group} (classification)", [FigureItem(rel_path, caption)], level=3)


def _summary_section(b: Builder, runs: list[Run], n_untrained: int) -> Section:
    table = summary.summary_table(runs)
    b.tables("summary", table, latex=True)
    n_done = sum(run.completed for run in runs)
    others = (f" {n_untrained} completed job(s) without training metrics (evaluations, baselines, "
              "comparisons) appear only in the sections below." if n_untrained else "")
    return Section("Summary", [
        TextItem(f"{len(runs)} training run(s): {n_done} completed, {len(runs) - n_done} incomplete. "
                 f"Also as summary.md, summary.tex (LaTeX, booktabs) and summary.csv.{others}"),
        TableItem(table)])


def _memory_section(b: Builder, runs: list[Run]) -> Section:
    table = memory.memory_table(runs)
    b.tables("memory", table)
    measured = [row for row in table.raw_rows if row[3] is not None]
    items = [TableItem(table)]
    if b.figure("memory.png", measured, lambda: memory.memory_figure(runs)):
        skipped = len(runs) - len(measured)
        items.append(FigureItem("memory.png", "Steady-state GPU memory per run, allocated and "
                                "reserved (MB)." + (f" {skipped} run(s) without GPU memory rows "
                                                    "are not shown." if skipped else "")))
    else:
        items.append(TextItem("No run logged GPU memory (CPU runs): no chart."))
    return Section("GPU memory", items)


def _table_items(b: Builder, stem: str, rows, table_fn, latex: bool = False) -> list | None:
    """[the table of `rows`], written as <stem>.csv (and .md/.tex with `latex`); None without rows."""
    if not rows:
        return None
    table = table_fn(rows)
    b.tables(stem, table, latex=latex)
    return [TableItem(table)]


def _rows_section(b: Builder, title: str, stem: str, rows, table_fn, figure_fn,
                  caption: str) -> Section | None:
    """A table of `rows` (as <stem>.csv) and its chart <stem>.png; None without rows."""
    items = _table_items(b, stem, rows, table_fn)
    if items is None:
        return None
    if b.figure(f"{stem}.png", rows, lambda: figure_fn(rows)):
        items.append(FigureItem(f"{stem}.png", caption))
    return Section(title, items)


def _comparison_section(b: Builder, runs: list[Run]) -> Section | None:
    return _rows_section(b, "CPU vs GPU", "comparison", comparison.comparison_rows(runs),
                         comparison.comparison_table, comparison.comparison_figure,
                         "Milliseconds per training step on CPU and on GPU for the same model "
                         "and steps; the title gives the speedup.")


def _evals_section(b: Builder, runs: list[Run]) -> Section | None:
    return _rows_section(b, "Birth-place accuracy (pretrain / finetune)", "birthplace",
                         evals.eval_rows(runs), evals.eval_table, evals.eval_figure,
                         "Dev accuracy per variant (best run of each), the always-London "
                         "baseline dashed.")


def _reproduction_section(b: Builder, inputs: list[Path]) -> Section | None:
    results, warnings = reproduction.find_results(inputs)
    b.errors.extend(warnings)
    items = _table_items(b, "reproduction", results, reproduction.reproduction_table, latex=True)
    return Section("Reproduction", items) if items else None


def _classify_section(b: Builder, runs: list[Run]) -> Section | None:
    """The grid of classification runs (best in bold) and each run's accuracy curves."""
    items = _table_items(b, "classify", classify.classify_rows(runs), classify.classify_table, latex=True)
    if items is None:
        return None
    for run in filter(classify.is_classifier, runs):
        rel_path = f"runs/{run.ref.key}/{rundir.ACCURACY_PLOT}"
        digest = [run.ref.title, classify.accuracy_series(run.rows)]
        if b.figure(rel_path, digest, lambda run=run: classify.accuracy_figure(run.rows, run.ref.title)):
            items.append(FigureItem(rel_path, f"Train and validation accuracy against epochs, "
                                              f"measured at each evaluation: {run.ref.title}."))
    return Section("Classification accuracy", items)


def _temperature_section(runs: list[Run]) -> Section | None:
    tables = samples.temperature_tables(runs)
    if not tables:
        return None
    return Section("Samples by temperature (character models)", [TableItem(t) for _, t in tables])


def _warnings_section(warnings: list[str], runs: list[Run]) -> Section | None:
    bullets = warnings + [f"{run.ref.job}/{run.ref.name}: {w}" for run in runs for w in run.warnings]
    if not bullets:
        return None
    return Section("Warnings", [TextItem("Problems found while reading the runs; the report "
                                         "uses what could be read.", bullets)])


def _load_runs(b: Builder, inputs: list[Path]) -> tuple[list[Run], list[str]]:
    """Every run found in `inputs` (not those inside the report folder), plus discovery warnings."""
    refs, warnings = discover([Path(p) for p in inputs])
    inside_out = b.out_dir.resolve()  # a report written under the runs root is not a run
    runs = [load_run(ref) for ref in refs if inside_out not in ref.run_dir.resolve().parents]
    for run in runs:
        if not run.trained:
            b.log(f"  {run.ref.job}/{run.ref.name}: {run.status}, no training metrics (an "
                  "evaluation or a baseline: tables only)")
    return runs, warnings


def build_report(inputs: list[Path], out_dir: Path, log: Callable[[str], None] = print) -> Path:
    """Write the report for the runs found in `inputs` into `out_dir`; returns index.md's path.

    `inputs` are runs roots, sweep index files (or their folders) and run dirs. Outputs whose
    inputs did not change are reused. `log` receives one line per run and a final count.
    """
    b = Builder(Path(out_dir), log)
    runs, warnings = _load_runs(b, inputs)
    trained = [run for run in runs if run.trained]
    run_sections = [_run_section(b, run) for run in trained]
    groups: dict[str, list[Run]] = {}
    for run in trained:
        groups.setdefault(run.ref.group, []).append(run)
    group_sections = []
    for name, members in groups.items():   # classifiers by accuracy, language models by ppl
        lms = [run for run in members if not classify.is_classifier(run)]
        group_sections += [_group_section(b, name, lms)] if lms else []
        if len(lms) < len(members):
            group_sections.append(_accuracy_group_section(b, name, [r for r in members if r not in lms]))
    summary_section = _summary_section(b, trained, len(runs) - len(trained))
    others = [_reproduction_section(b, inputs), *ablation_sections(b, trained, _table_items),
              _memory_section(b, trained), _comparison_section(b, runs),
              _evals_section(b, runs), _classify_section(b, trained), _temperature_section(runs)]
    b.pending.sort(key=lambda task: not isinstance(task, GroupPlotTask))  # slowest first
    written, failures = draw_all(b.pending)
    b.state.wrote(*written)
    sections = [summary_section, _warnings_section(warnings + b.errors + failures, runs),
                Section("Loss and perplexity by group", []), *group_sections, *others,
                Section("Runs", []), *run_sections]
    sections = [s for s in sections if s is not None]
    index = b.state.write_text(b.out_dir / "index.md", to_markdown_document(TITLE, sections))
    b.state.write_text(b.out_dir / "index.html", to_html_document(TITLE, sections))
    b.state.save()
    log(f"wrote {len(b.state.written)} files, reused {len(b.state.reused)} -> {index}")
    return index
