"""A table once, written four ways: Markdown, HTML, LaTeX (booktabs) and CSV.

Cells are display strings; `bold` marks (row, column) cells to emphasise. CSV gets the raw
values (`raw_rows`, unformatted numbers) so that spreadsheets and pandas can read it back.
"""
from __future__ import annotations

import csv
import html
import io
import math
from dataclasses import dataclass, field

MISSING = "—"
_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}", MISSING: "--"}


@dataclass
class Table:
    """Cells as strings, a caption and which cells are bold; rendered to Markdown, HTML, LaTeX and CSV."""

    columns: list[str]
    rows: list[list[str]]
    caption: str = ""
    bold: set[tuple[int, int]] = field(default_factory=set)   # (row, column) indices
    raw_rows: list[list] | None = None                        # for CSV; default: `rows`


def _md_escape(text: str) -> str:
    return text.replace("|", r"\|").replace("\r", "").replace("\n", "<br>")


def to_markdown(table: Table) -> str:
    """A GitHub-flavoured Markdown table; bold cells as **x**."""
    lines = ["| " + " | ".join(_md_escape(c) for c in table.columns) + " |",
             "|" + "|".join("---" for _ in table.columns) + "|"]
    for r, row in enumerate(table.rows):
        cells = [f"**{text}**" if (r, c) in table.bold and text else text for c, text in enumerate(row)]
        lines.append("| " + " | ".join(_md_escape(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def to_html(table: Table) -> str:
    """An HTML <table> with a <caption>; text escaped, bold cells in <strong>."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = []
    for r, row in enumerate(table.rows):
        cells = []
        for c, text in enumerate(row):
            text = html.escape(text)
            cells.append(f"<td><strong>{text}</strong></td>" if (r, c) in table.bold else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{html.escape(table.caption)}</caption>" if table.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(body) + "\n</tbody></table>\n"


def latex_escape(text: str) -> str:
    """`text` with LaTeX's special characters escaped."""
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def _latex_align(table: Table) -> str:
    """"r" for columns whose present cells are all numbers (1,234 / 0.5 / 1.2M / -3), else "l"."""
    def numeric(text: str) -> bool:
        try:
            float(text.replace(",", "").rstrip("M"))
        except ValueError:
            return text == MISSING
        return True
    return "".join("r" if all(numeric(row[c]) for row in table.rows) else "l"
                   for c in range(len(table.columns)))


def to_latex(table: Table, label: str = "") -> str:
    """A booktabs `table` environment; bold cells as \\textbf{x}, caption above the tabular."""
    lines = [r"% needs \usepackage{booktabs,graphicx}", r"\begin{table}[t]", r"\centering", r"\small"]
    if table.caption:
        lines.append(r"\caption{" + latex_escape(table.caption) + "}")
    if label:
        lines.append(r"\label{" + label + "}")
    # wide tables shrink to the text width (needs \usepackage{graphicx} and booktabs)
    lines += [r"\resizebox{\linewidth}{!}{%", r"\begin{tabular}{" + _latex_align(table) + "}", r"\toprule",
              " & ".join(latex_escape(c) for c in table.columns) + r" \\", r"\midrule"]
    for r, row in enumerate(table.rows):
        cells = [latex_escape(text) for text in row]
        cells = [r"\textbf{" + text + "}" if (r, c) in table.bold and text else text
                 for c, text in enumerate(cells)]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    """CSV of the raw values (empty for missing), header = column names."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.raw_rows if table.raw_rows is not None else table.rows:
        writer.writerow(["" if v is None or v == MISSING else v for v in row])
    return out.getvalue()


def _is_missing(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and not math.isfinite(value))


def fmt(value, spec: str = "g") -> str:
    """`value` formatted with `spec` ("d" rounds to an integer, "s" is text), "—" if missing."""
    if _is_missing(value):
        return MISSING
    if spec == "s" or isinstance(value, str) or isinstance(value, bool):
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return MISSING
    return format(round(number), spec) if spec.endswith("d") else format(number, spec)
