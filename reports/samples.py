"""Text samples as tables: one per run, and one per temperature across character models (TU Graz char-level GPT assignment).

Read from samples/samples.json: [{"prompt", "temperature", "top_k", "top_p", "max_new_tokens",
"text"}]. Newlines in samples are kept (Markdown <br>, HTML pre-wrap).
"""
from __future__ import annotations

from reports.load import Run
from reports.tables import Table, fmt

CHAR_TOKENIZER = "char"


def run_samples_table(run: Run) -> Table | None:
    """Prompt, sampling settings and text of each sample of `run`; None if it has none."""
    if not run.samples:
        return None
    columns = ["prompt", "temperature", "top-k", "top-p", "new tokens", "text"]
    keys = ["prompt", "temperature", "top_k", "top_p", "max_new_tokens", "text"]
    specs = ["s", "g", "d", "g", "d", "s"]
    rows = [[fmt(sample.get(k), spec) for k, spec in zip(keys, specs)] for sample in run.samples]
    caption = (f"Samples of {run.ref.title}: the prompt, then the generated text (top-k 0 and top-p 1 "
               "mean no filtering).")
    return Table(columns, rows, caption)


def temperature_tables(runs: list[Run]) -> list[tuple[float, Table]]:
    """For character-level runs: one table per sampling temperature, hottest first."""
    by_temperature: dict[float, list[list[str]]] = {}
    for run in runs:
        if run.cfg("data.tokenizer") != CHAR_TOKENIZER:
            continue
        for sample in run.samples:
            temperature = sample.get("temperature")
            if isinstance(temperature, (int, float)) and not isinstance(temperature, bool):
                by_temperature.setdefault(float(temperature), []).append(
                    [run.ref.title, fmt(sample.get("prompt"), "s"), fmt(sample.get("text"), "s")])
    tables = []
    for temperature in sorted(by_temperature, reverse=True):
        caption = (f"Samples at temperature {temperature:g} from character-level models: low "
                   "temperatures repeat the most likely characters, high ones drift into noise.")
        tables.append((temperature, Table(["run", "prompt", "text"], by_temperature[temperature], caption)))
    return tables
