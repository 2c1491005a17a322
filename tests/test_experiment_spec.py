"""Experiment specs: validation (bad specs -> one line, exit 2, nothing written),
design sizes and seeds, and a dry run of every spec in experiments/studies/."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
from _helpers import ISHIGAMI

from sim.cli import main
from sim.experiment.design import build_design, n_runs, replicate_seeds
from sim.experiment.spec import ExperimentError, parse_spec

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "experiments" / "studies"
PI = math.pi


def spec_text(factors: str, design: str = 'method = "sobol"\nn = 8', extra: str = "") -> str:
    return f"""name = "t"
scenario = "default"
replicates = 2
seed = 5
outputs = ["composite"]
{extra}
[design]
{design}
[factors]
{factors}
"""


def run_cli(tmp_path, text, *args):
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    return main(["experiment", "run", str(spec), "--out", str(tmp_path / "out"), *args])


BAD = {
    "unknown parameter": (
        spec_text('"monitoring.overrun_treshold" = [0.0, 0.1]'),
        "unknown parameter",
    ),  # fmt: skip
    "bounds outside the table": (
        spec_text('"monitoring.overrun_threshold" = [0.0, 0.9]'),
        "outside the parameter's range",
    ),  # fmt: skip
    "sobol n not a power of two": (
        spec_text('"accounts.adjust_threshold" = [0.0, 0.1]', 'method = "sobol"\nn = 100'),
        "power of two",
    ),  # fmt: skip
    "unknown method": (
        spec_text('"accounts.adjust_threshold" = [0.0, 0.1]', 'method = "halton"\nn = 8'),
        "unknown method",
    ),  # fmt: skip
    "unknown output": (
        spec_text('"accounts.adjust_threshold" = [0.0, 0.1]').replace('"composite"', '"compsite"'),
        "unknown output",
    ),  # fmt: skip
    "unknown executor": (
        spec_text('"accounts.adjust_threshold" = [0.0, 0.1]', extra='executor = "mpi"'),
        "unknown executor",
    ),  # fmt: skip
    "unknown level": (
        spec_text('"accounts.rule" = ["fixed", "banking"]', 'method = "factorial"'),
        "is not one of",
    ),  # fmt: skip
    "factorial with bounds": (
        spec_text('"accounts.adjust_threshold" = [0.0, 0.1]', 'method = "factorial"'),
        "needs levels",
    ),  # fmt: skip
    "unknown spec key": (
        spec_text('"accounts.adjust_threshold" = [0.0, 0.1]', extra="replicate = 3"),
        "unknown key",
    ),  # fmt: skip
    "inconsistent bound": (
        spec_text('"monitoring.red_threshold" = [0.0, 0.2]'),
        "red_threshold",
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_spec_is_one_line_exit_2_nothing_written(case, tmp_path, capsys):
    text, reason = BAD[case]
    assert run_cli(tmp_path, text) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and reason in err, err
    assert err.startswith("carbon-budget: error:")
    assert not (tmp_path / "out").exists()


def test_unknown_executor_on_the_command_line(tmp_path, capsys):
    text = spec_text('"accounts.adjust_threshold" = [0.0, 0.1]')
    assert run_cli(tmp_path, text, "--executor", "threads") == 2
    assert "unknown executor 'threads'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_unreachable_scheduler(tmp_path, capsys):
    text = spec_text('"accounts.adjust_threshold" = [0.0, 0.1]')
    code = run_cli(tmp_path, text, "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "cannot connect to a Dask scheduler" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_folder_of_another_experiment_is_refused(tmp_path, capsys):
    ish = ISHIGAMI.format(n=8, reps=1, extra="", method="sobol")
    assert run_cli(tmp_path, ish, "--executor", "serial", "--no-progress") == 0
    before = sorted(p.name for p in (tmp_path / "out" / "parts").iterdir())
    capsys.readouterr()
    changed = ish.replace("seed = 1", "seed = 2")
    assert run_cli(tmp_path, changed, "--executor", "serial") == 2
    err = capsys.readouterr().err
    assert "different spec (differs in: seed)" in err
    assert sorted(p.name for p in (tmp_path / "out" / "parts").iterdir()) == before


def parse(text: str):
    import tomllib

    return parse_spec(tomllib.loads(text))


def test_sobol_design_size_is_n_d_plus_2_times_levels_times_replicates():
    spec = parse(spec_text('"accounts.adjust_threshold" = [0.0, 0.1]\n"monitoring.fast_noise" = [0.0, 0.1]\n'
                           '"abatement.lag_quarters" = [0, 6]\n"accounts.rule" = ["fixed", "threshold", "rebase"]',
                           'method = "sobol"\nn = 16'))  # fmt: skip
    d = build_design(spec)
    assert len(d) == n_runs(spec) == 16 * (3 + 2) * 3 * 2
    assert d["run_id"].tolist() == list(range(len(d)))
    # every level combination holds the same continuous design
    per = [g.sort_values(["sample", "replicate"])["monitoring.fast_noise"].to_numpy() for _, g in d.groupby("cell")]  # fmt: skip
    assert all(np.array_equal(per[0], p) for p in per[1:])
    assert sorted(d["accounts.rule"].unique()) == ["fixed", "rebase", "threshold"]
    # integer factors are rounded, inside the bounds
    lag = d["abatement.lag_quarters"]
    assert lag.dtype.kind == "i" and lag.min() >= 0 and lag.max() <= 6 and lag.nunique() > 3


def test_other_design_sizes():
    base = '"accounts.adjust_threshold" = [0.0, 0.1]\n"monitoring.fast_noise" = [0.0, 0.1]'
    sizes = {'method = "sobol"\nn = 8\nsecond_order = true': 8 * (2 * 2 + 2) * 2,
             'method = "morris"\nn = 5': 5 * 3 * 2, 'method = "fast"\nn = 70': 70 * 2 * 2,
             'method = "lhs"\nn = 9': 9 * 2}  # fmt: skip
    for design, expected in sizes.items():
        spec = parse(spec_text(base, design))
        assert len(build_design(spec)) == n_runs(spec) == expected, design
    fact = parse(spec_text('"accounts.rule" = ["fixed", "threshold"]\n"plan.reserve_share" = { levels = [0.0, 0.05, 0.1] }',
                           'method = "factorial"'))  # fmt: skip
    assert len(build_design(fact)) == 2 * 3 * 2


def test_seeds_common_to_all_rows_and_from_seed_sequence():
    spec = parse(spec_text('"accounts.adjust_threshold" = [0.0, 0.1]'))
    d = build_design(spec)
    seeds = replicate_seeds(5, 2)
    expected = [int(s.generate_state(1, np.uint64)[0] >> np.uint64(1)) for s in np.random.SeedSequence(5).spawn(2)]  # fmt: skip
    assert seeds == expected and seeds[0] != seeds[1]
    for _, g in d.groupby("row"):
        assert g.sort_values("replicate")["seed"].tolist() == seeds


def test_multi_period_output_expands_per_period():
    from sim.experiment.spec import resolve_outputs

    spec = parse(spec_text('"accounts.adjust_threshold" = [0.0, 0.1]').replace('"default"', '"chained"'))  # fmt: skip
    names = ["p0.composite", "p0.overshoot", "p1.composite", "p1.overshoot"]
    assert resolve_outputs(spec, names, []) == ("p0.composite", "p1.composite")
    with pytest.raises(ExperimentError, match="unknown output 'score'"):
        resolve_outputs(parse(spec_text('"accounts.adjust_threshold" = [0.0, 0.1]').replace('"composite"', '"score"')), names, [])  # fmt: skip


def test_world_factor_is_tagged():
    spec = parse(
        spec_text('"accounts.adjust_threshold" = [0.0, 0.1]\n"macro.sigma" = [0.001, 0.01]')
    )
    kinds = {f.name: f.param_kind for f in spec.factors}
    assert kinds == {"accounts.adjust_threshold": "policy", "macro.sigma": "world"}


def test_record_field_factor():
    spec = parse(spec_text('"cities.0.enforcement" = [0.3, 0.9]'))
    assert spec.factors[0].param_kind == "policy"
    with pytest.raises(ExperimentError, match="no cities record named or numbered 'Atlantis'"):
        parse(spec_text('"cities.Atlantis.enforcement" = [0.3, 0.9]'))


@pytest.mark.parametrize("path", sorted(STUDIES.glob("*.toml")), ids=lambda p: p.name)
def test_every_study_passes_a_dry_run(path, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["experiment", "run", str(path), "--out", str(out), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert f"experiment {path.stem}:" in text and "estimated time" in text
    assert not out.exists()


def test_every_study_has_a_line_in_the_readme():
    readme = (ROOT / "experiments" / "README.md").read_text()
    for path in STUDIES.glob("*.toml"):
        assert f"experiments/studies/{path.name}" in readme, path.name


def test_analysis_never_imports_the_model():
    banned = ("sim.model", "sim.runner", "sim.agents", "sim.policies", "sim.experiment.worker",
              "sim.experiment.sweep", "sim.experiment.executors")  # fmt: skip
    files = [*(ROOT / "sim" / "analysis").glob("*.py"), ROOT / "sim" / "experiment" / "store.py"]
    for f in files:
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(banned), f"{f.name} imports {node.module}"
            if isinstance(node, ast.Import):
                for a in node.names:
                    assert not a.name.startswith(banned), f"{f.name} imports {a.name}"
