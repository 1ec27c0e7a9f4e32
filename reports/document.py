"""The report as a list of sections of figures, tables and paragraphs, rendered to Markdown
(index.md) and HTML (index.html). Every figure and table is numbered and captioned.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

from reports.tables import Table, to_html, to_markdown


@dataclass
class FigureItem:
    """A figure in a section: its file and caption."""

    path: str           # relative to the report folder, with forward slashes
    caption: str


@dataclass
class TableItem:
    """A table in a section."""

    table: Table


@dataclass
class TextItem:
    """A paragraph of Markdown in a section."""

    text: str
    bullets: list[str] = field(default_factory=list)


@dataclass
class Section:
    """A titled part of the report: figures, tables and text in order."""

    title: str
    items: list = field(default_factory=list)
    level: int = 2


def to_markdown_document(title: str, sections: list[Section]) -> str:
    """index.md: headings, images with "Figure N." captions, tables with "Table N." captions."""
    out, n_fig, n_tab = [f"# {title}\n"], 0, 0
    for section in sections:
        out.append(f"{'#' * section.level} {section.title}\n")
        for item in section.items:
            if isinstance(item, FigureItem):
                n_fig += 1
                out.append(f"![Figure {n_fig}]({item.path})\n\n*Figure {n_fig}. {item.caption}*\n")
            elif isinstance(item, TableItem):
                n_tab += 1
                out.append(f"*Table {n_tab}. {item.table.caption}*\n\n{to_markdown(item.table)}")
            else:
                bullets = "".join(f"- {b}\n" for b in item.bullets)
                out.append("\n".join(part for part in (item.text + "\n", bullets) if part.strip()))
    return "\n".join(out)


STYLE = ("body{font-family:sans-serif;max-width:70em;margin:auto;padding:1em}"
         "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;"
         "padding:.2em .5em;vertical-align:top;white-space:pre-wrap}caption{text-align:left;"
         "font-style:italic;padding:.3em 0}figure{margin:1em 0}img{max-width:100%}")


def _table_html(n: int, table: Table) -> str:
    numbered = Table(table.columns, table.rows, f"Table {n}. {table.caption}", table.bold)
    return to_html(numbered)


def to_html_document(title: str, sections: list[Section]) -> str:
    """index.html: the same content as index.md, text escaped, figures as <img> in <figure>."""
    esc = html.escape
    out = [f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
           f"<style>{STYLE}</style></head><body>\n<h1>{esc(title)}</h1>"]
    n_fig, n_tab = 0, 0
    for section in sections:
        out.append(f"<h{section.level}>{esc(section.title)}</h{section.level}>")
        for item in section.items:
            if isinstance(item, FigureItem):
                n_fig += 1
                out.append(f"<figure><img src=\"{esc(item.path)}\" alt=\"Figure {n_fig}\">"
                           f"<figcaption>Figure {n_fig}. {esc(item.caption)}</figcaption></figure>")
            elif isinstance(item, TableItem):
                n_tab += 1
                out.append(_table_html(n_tab, item.table))
            else:
                if item.text:
                    out.append(f"<p>{esc(item.text)}</p>")
                if item.bullets:
                    out.append("<ul>" + "".join(f"<li>{esc(b)}</li>" for b in item.bullets) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
