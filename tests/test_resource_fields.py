"""One source for a resource (issue 20): each field of `Resources` (jobs/launcher/sbatch.py) is
its `--flag` on every job (when flagged), its $TOOLKIT_<FIELD> variable (when it has one) and its
cluster-profile key, and every field changes the rendered sbatch script. A new #SBATCH option is
then one field plus one render line; forgetting the render line, or leaving the option out of
MANAGED_OPTIONS (so --sbatch-opt could set it twice), fails here."""
import argparse
import dataclasses
import json
import re
from pathlib import Path

import pytest

from jobs.errors import LaunchError
from jobs.launcher import cluster, request
from jobs.launcher.sbatch import MANAGED_OPTIONS, Resources, SbatchSpec, env_var, flag_types, render

FIELDS = dataclasses.fields(Resources)


def _other(f: dataclasses.Field):
    """A valid value of field `f` other than its default."""
    if isinstance(f.default, tuple):
        return ("echo one",) if f.name == "setup" else ("--mail-type=END",)
    return "x1" if isinstance(f.default, str) else f.default + 1


OTHER = {f.name: _other(f) for f in FIELDS}


@pytest.fixture(autouse=True)
def no_profile(tmp_path, monkeypatch):
    (tmp_path / "cluster.json").write_text("{}")
    monkeypatch.setenv("TOOLKIT_CLUSTER_PROFILE", str(tmp_path / "cluster.json"))
    for f in FIELDS:
        monkeypatch.delenv(f"TOOLKIT_{f.name.upper()}", raising=False)
    monkeypatch.delenv("TOOLKIT_PROFILE", raising=False)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(exit_on_error=False)
    request.add_arguments(parser)
    return parser


def test_each_flagged_field_is_a_flag_and_the_others_are_not():
    assert request.RESOURCE_FLAGS == flag_types()
    flags = {a.dest for g in _parser()._action_groups for a in g._group_actions if a.option_strings}
    for f in FIELDS:
        if f.metadata["flag"]:
            args = _parser().parse_args([f"--{f.name.replace('_', '-')}", str(OTHER[f.name])])
            assert request.from_args(args).resources == {f.name: OTHER[f.name]}
        else:
            assert f.name not in flags or f.name == "sbatch_options", f.name   # its flag: --sbatch-opt


def test_each_field_with_a_variable_is_read_from_it_and_named_in_the_docs(monkeypatch):
    for f in FIELDS:
        variable = env_var(f.name)
        if variable is None:
            assert isinstance(f.default, tuple), f.name          # lists come from flags or profiles
            continue
        monkeypatch.setenv(variable, str(OTHER[f.name]))
        assert getattr(cluster.load_resources({}), f.name) == OTHER[f.name], variable
        monkeypatch.delenv(variable)
        assert variable in cluster.__doc__, f"jobs/launcher/cluster.py's docstring lists ${variable}"


def test_each_field_is_a_profile_key_and_nothing_else_is(tmp_path, monkeypatch):
    path = tmp_path / "cluster.json"
    monkeypatch.setenv("TOOLKIT_CLUSTER_PROFILE", str(path))
    path.write_text(json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in OTHER.items()}))
    assert cluster.load_resources({}) == Resources(**OTHER)
    path.write_text(json.dumps({"gpu": 1}))
    with pytest.raises(LaunchError, match="unknown key"):
        cluster.load_resources({})


def test_every_field_changes_the_script_and_every_option_written_is_managed():
    spec = SbatchSpec(job_name="j", folder=Path("runs/x/slurm"), command=("true",))
    base = render(spec, Resources())
    for f in FIELDS:
        assert render(spec, dataclasses.replace(Resources(), **{f.name: OTHER[f.name]})) != base, f.name
    everything = dataclasses.replace(Resources(**{**OTHER, "sbatch_options": ()}), time_min=600)
    written = set(re.findall(r"^#SBATCH --([a-z-]+)", render(spec, everything), re.M))
    assert written <= set(MANAGED_OPTIONS), written - set(MANAGED_OPTIONS)
