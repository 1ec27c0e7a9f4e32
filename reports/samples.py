"""Text samples as tables: one per run, and one per temperature across character models (the
char-GPT temperature assignment); each temperature's caption says what its samples measure.

Read from samples/samples.json: [{"prompt", "temperature", "top_k", "top_p", "max_new_tokens",
"text"}]. Newlines in samples are kept (Markdown <br>, HTML pre-wrap).
"""
from __future__ import annotations

from reports.load import Run
from reports.tables import Table, fmt

CHAR_TOKENIZER = "char"
NGRAM = 4   # repetition is measured on character 4-grams: long enough to be words, short enough for 40 chars


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


def repetition(text: str, n: int = NGRAM) -> float | None:
    """Share of the text's character n-grams that occur more than once in it (None if too short)."""
    grams = [text[i:i + n] for i in range(len(text) - n + 1)]
    if not grams:
        return None
    counts: dict[str, int] = {}
    for g in grams:
        counts[g] = counts.get(g, 0) + 1
    return sum(1 for g in grams if counts[g] > 1) / len(grams)


def _caption(temperature: float, texts: list[str], runs: set[str], reps: dict[float, float]) -> str:
    """What this temperature's own samples show: repetition and distinct characters, measured."""
    rep = reps.get(temperature)
    distinct = sum(len(set(t)) for t in texts) / len(texts)
    measured = (f"on average {rep:.0%} of each sample's {NGRAM}-character sequences occur more "
                f"than once in it, and a sample uses {distinct:.0f} distinct characters"
                if rep is not None else "too short to measure repetition")
    rank = ""
    if rep is not None and len(reps) > 1:
        if rep == max(reps.values()):
            rank = f"; the most repetitive of the {len(reps)} temperatures here"
        elif rep == min(reps.values()):
            rank = f"; the least repetitive of the {len(reps)} temperatures here"
    return (f"{len(texts)} sample(s) at temperature {temperature:g} from {len(runs)} character-level "
            f"run(s): {measured}{rank}.")


def temperature_tables(runs: list[Run]) -> list[tuple[float, Table]]:
    """For character-level runs: one table per sampling temperature, hottest first, each
    captioned with what its own samples measure (repetition, distinct characters)."""
    by_temperature: dict[float, list[list[str]]] = {}
    texts: dict[float, list[str]] = {}
    names: dict[float, set[str]] = {}
    for run in runs:
        if run.cfg("data.tokenizer") != CHAR_TOKENIZER:
            continue
        for sample in run.samples:
            temperature = sample.get("temperature")
            if isinstance(temperature, (int, float)) and not isinstance(temperature, bool):
                t = float(temperature)
                by_temperature.setdefault(t, []).append(
                    [run.ref.title, fmt(sample.get("prompt"), "s"), fmt(sample.get("text"), "s")])
                texts.setdefault(t, []).append(str(sample.get("text") or ""))
                names.setdefault(t, set()).add(run.ref.title)
    reps = {}
    for t, group in texts.items():
        measured = [r for r in map(repetition, group) if r is not None]
        if measured:
            reps[t] = sum(measured) / len(measured)
    return [(t, Table(["run", "prompt", "text"], by_temperature[t], _caption(t, texts[t], names[t], reps)))
            for t in sorted(by_temperature, reverse=True)]
