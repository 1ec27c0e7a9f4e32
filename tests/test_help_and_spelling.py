"""Help texts describe experiments (no internal "SPEC X" names) and preset names are accepted
with `_` or `-` alike: run presets use `_`, model presets `-`, and users mix them up."""
from __future__ import annotations

import argparse
import json
import re

import pytest

import main
from gpt.config import ConfigError, model_preset, preset_name
from gpt.overrides import apply_overrides
from jobs.full_run import smoke


def _subparsers(parser: argparse.ArgumentParser):
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def test_no_internal_spec_names_in_any_help():
    parser = main.build_parser()
    texts = [parser.format_help()] + [p.format_help() for p in _subparsers(parser).values()]
    offenders = [t.splitlines()[0] for t in texts if re.search(r"\bSPEC [A-E]\b", t)]
    assert offenders == []


def test_preset_spelling_is_normalised_everywhere(capsys):
    assert preset_name("shakespeare-char", ["smoke", "shakespeare_char"]) == "shakespeare_char"
    assert preset_name("gpt_micro", ["gpt-micro"]) == "gpt-micro"
    assert model_preset("gpt_nano").n_embd == 48
    assert apply_overrides(smoke(), ["model=gpt_micro"]).model.n_embd == 128
    assert main.main(["full_run", "--preset", "shakespeare-char", "model=gpt_mini", "--print-config"]) == 0
    config = json.loads(capsys.readouterr().out)
    assert (config["name"], config["model"]["n_embd"]) == ("shakespeare-char", 192)
    assert main.main(["sweep", "ift6135-12", "--list", "--runs-root", "runs"]) == 0


def test_unknown_names_still_list_the_choices(capsys):
    with pytest.raises(ConfigError, match="choose one of: gpt-nano"):
        apply_overrides(smoke(), ["model=gpt_huge"])
    with pytest.raises(SystemExit):
        main.main(["full_run", "--preset", "shakespeare-chars"])
    assert "invalid choice: 'shakespeare-chars'" in capsys.readouterr().err
