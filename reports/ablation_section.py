"""The report's attention-ablation sections: one per sweep of attention_ablation runs.

    sections = ablation_sections(builder, runs, table_items)   # called by reports.build

Each: the table ranked by leak-free val loss (reports.ablation), the ranking bars, val curves and
length generalisation as small multiples (reports.ablation_figures), and one sample per variant.
Files are named ablation* for one sweep, ablation-<sweep>* when the runs hold several.
"""
from __future__ import annotations

from reports import ablation, ablation_figures
from reports.discover import safe_name
from reports.document import FigureItem, Section, TableItem, TextItem
from reports.load import Run


def ablation_section(b, group: str, rows: list[dict], stem: str, table_items) -> Section:
    """One sweep's ablation (`b`: the Builder): table ranked by leak-free loss, ranking bars, val curves and
    length generalisation as small multiples, and samples; files named <stem>*."""
    items = table_items(b, stem, rows, lambda rs: ablation.ablation_table(rs, group), latex=True)
    ranking = [[r["variant"], r["leak_free_loss"], r["window_loss"], r["sees_future"]] for r in rows]
    if b.figure(f"{stem}_ranking.png", ranking, lambda: ablation_figures.ranking_figure(rows)):
        items.append(FigureItem(f"{stem}_ranking.png", "Leak-free val loss per variant, best at the top "
                                "(bars; diamonds: the whole-window val loss of the same tokens); "
                                "a red hatched bar is a variant that sees the future, whose "
                                "whole-window loss is flattered by the leak."))
    curves = [[r["variant"], r["sees_future"], r["run"].val.get("step", []).tolist(),
               r["run"].val.get("ppl", []).tolist()] for r in rows]
    if b.figure(f"{stem}_curves.png", curves, lambda: ablation_figures.curves_figure(rows)):
        items.append(FigureItem(f"{stem}_curves.png", "Validation perplexity (whole windows, as "
                                "logged in training) against step, one panel per variant in the "
                                "table's order, the default variant in grey for reference."))
    lengths = [[r["variant"], r["sees_future"], r["lengths"]] for r in rows]
    if b.figure(f"{stem}_lengths.png", lengths, lambda: ablation_figures.lengths_figure(rows)):
        items.append(FigureItem(f"{stem}_lengths.png", "Validation loss against context length, "
                                "one panel per variant; the dotted line is the training length. "
                                "Variants that cannot run past block_size stop there."))
    by_note: dict[str, list[str]] = {}
    for r in rows:
        if r["lengths"] and r["lengths"].get("note"):
            by_note.setdefault(r["lengths"]["note"], []).append(r["variant"])
    if by_note:
        items.append(TextItem("Length evaluation notes:", [
            f"{note} — {len(variants)} variant(s): {', '.join(variants)}" for note, variants in by_note.items()]))
    sample_table = ablation.samples_table(rows)
    if sample_table:
        items.append(TableItem(sample_table))
    title = f"sweep {group}" if group != ablation.JOB else "runs outside a sweep"
    return Section(f"Attention ablation: {title}", items)


def ablation_sections(b, runs: list[Run], table_items) -> list[Section]:
    """One section per sweep of attention_ablation runs (runs outside a sweep: one more).

    `b`: the report's Builder (figure, tables); `table_items`: build's helper writing a table."""
    groups = ablation.ablation_groups(runs)
    return [ablation_section(b, group, rows, "ablation" if len(groups) == 1 else f"ablation-{safe_name(group)}",
                             table_items) for group, rows in groups.items()]
