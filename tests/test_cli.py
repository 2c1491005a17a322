"""The command line (ARCHITECTURE.md: ``build_parser()`` + ``main(argv)``):
a run folder on the tiny scenario, the listing commands, and bad input, which
must exit with 2 and one line on stderr, leaving --out absent."""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest
from _helpers import cli_main as _main

from sim import __version__, builtin_scenarios, load_scenario, run
from sim.cli import main
from sim.params import PARAMS, param_table

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("quarterly", "annual", "events", "monitoring")
GRADES = ("excellent", "good", "pass", "fail")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "tiny-3"
    rc, stdout, stderr = _main(["run", "tiny", "--seed", "3", "--out", str(out)])
    assert rc == 0, stderr
    return out, stdout


# ------------------------------------------------------------------- run --
def test_run_writes_the_run_folder(run_dir):
    out, _ = run_dir
    for name in ("manifest.json", "final_account.json", *(f"{t}.parquet" for t in TABLES)):
        assert (out / name).is_file(), name
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".tmp-run-")]


def test_manifest(run_dir):
    out, _ = run_dir
    m = json.loads((out / "manifest.json").read_text())
    assert m["seed"] == 3
    assert m["scenario_name"] == "tiny"
    assert m["regime"] == "budget"
    assert m["overrides"] == {}
    # the resolved scenario: every parameter, records included
    want = json.loads(json.dumps(load_scenario("tiny").to_dict()))
    assert m["scenario"] == want
    assert m["scenario"]["plan"]["reserve_share"] == 0.03
    assert [c["name"] for c in m["scenario"]["cities"]] == ["Harbour", "Millbrook", "Meadow"]
    v = m["versions"]
    assert v["numpy"] == np.__version__
    assert v["pandas"] == pd.__version__
    assert v["mesa"] == mesa.__version__
    assert v["python"] == platform.python_version()
    assert {"manifest.json", "final_account.json"} <= set(m["files"])


def test_tables_match_an_in_process_run(run_dir):
    out, _ = run_dir
    res = run(load_scenario("tiny"), seed=3)
    for t in TABLES:
        got = pd.read_parquet(out / f"{t}.parquet")
        pd.testing.assert_frame_equal(got, getattr(res, t), check_dtype=False)


def test_final_account_and_printed_grade(run_dir):
    out, stdout = run_dir
    fa = json.loads((out / "final_account.json").read_text())
    assert len(fa["periods"]) == 1
    p = fa["periods"][0]
    assert p["grade"] in GRADES
    assert f"grade {p['grade'].upper()}" in stdout
    assert "period 2026-2030" in stdout
    assert "seed 3" in stdout
    assert str(out) in stdout


def test_set_overrides_end_up_in_the_manifest(tmp_path):
    out = tmp_path / "o"
    rc, _, err = _main(
        ["run", "tiny", "--seed", "1", "--out", str(out), "--quiet", "--no-counterfactual",
         "--set", "plan.reserve_share=0.05", "--set", "cities.Harbour.enforcement=0.9",
         "--set", "plan.annual_shape=flat", "--regime", "budget_no_trading"]
    )  # fmt: skip
    assert rc == 0, err
    m = json.loads((out / "manifest.json").read_text())
    assert m["overrides"] == {
        "plan.reserve_share": 0.05,
        "cities.Harbour.enforcement": 0.9,
        "plan.annual_shape": "flat",
        "regime.name": "budget_no_trading",
    }
    assert m["scenario"]["plan"]["reserve_share"] == 0.05
    assert m["scenario"]["plan"]["annual_shape"] == "flat"
    assert m["scenario"]["cities"][0]["enforcement"] == 0.9
    assert m["regime"] == "budget_no_trading"
    annual = pd.read_parquet(out / "annual.parquet")
    prov = annual[(annual.city == "province") & (annual.period == 0)]
    # flat annual shape: five equal province targets
    assert np.allclose(prov.target_initial, prov.target_initial.iloc[0])


def test_run_via_python_dash_m(tmp_path, run_dir):
    out = tmp_path / "sub"
    res = subprocess.run(
        [sys.executable, "-m", "sim", "run", "tiny", "--seed", "3", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "grade" in res.stdout
    ref = run_dir[0]
    for t in TABLES:
        pd.testing.assert_frame_equal(
            pd.read_parquet(out / f"{t}.parquet"), pd.read_parquet(ref / f"{t}.parquet")
        )


def test_bad_input_via_python_dash_m(tmp_path):
    out = tmp_path / "never"
    res = subprocess.run(
        [sys.executable, "-m", "sim", "run", "tiny", "--set", "plan.reserve_share=2",
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "plan.reserve_share" in res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists()


# ---------------------------------------------------- listing commands ----
def test_scenarios_command():
    rc, out, err = _main(["scenarios"])
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == len(builtin_scenarios())
    for name, desc in builtin_scenarios().items():
        assert any(ln.startswith(name + " ") and ln.endswith(desc) for ln in lines), name


def test_params_text():
    rc, out, _ = _main(["params"])
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["name", "type", "unit", "default", "bounds"]
    assert len(lines) == len(param_table()) + 1
    row = next(ln for ln in lines if ln.startswith("plan.reserve_share "))
    assert "0.03" in row and "[0, 0.3]" in row


def test_params_csv_is_the_table():
    rc, out, _ = _main(["params", "--format", "csv"])
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows == param_table()
    by = {r["name"]: r for r in rows}
    assert by["plan.annual_shape"]["bounds"] == "path | flat | front_loaded"
    assert by["province.n_firms"]["type"] == "int"
    assert "cities[].enforcement" in by


def test_params_markdown():
    rc, out, _ = _main(["params", "--format", "markdown"])
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "| name | type | unit | default | bounds | kind | description | source |"
    assert lines[1] == "|---|---|---|---|---|---|---|---|"
    assert len(lines) == len(param_table()) + 2
    for ln in lines[2:]:
        # 9 column separators; pipes inside cells are escaped
        assert ln.replace("\\|", "").count("|") == 9, ln


def test_params_filter():
    rc, out, _ = _main(["params", "--format", "csv", "--filter", "plan."])
    assert rc == 0
    names = [r["name"] for r in csv.DictReader(io.StringIO(out))]
    assert names == [n for n in PARAMS if n.startswith("plan.")]
    assert "plan.reserve_share" in names


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


# ----------------------------------------------------------- bad input ----
def _check_bad(argv: list[str], words: str, out: Path | None) -> None:
    rc, stdout, stderr = _main(argv)
    assert rc == 2, (rc, stderr)
    assert stderr.count("\n") == 1 and stderr.endswith("\n"), stderr
    assert stderr.startswith("carbon-budget: error: ")
    assert words in stderr, stderr
    assert "Traceback" not in stderr
    assert stdout == ""
    if out is not None:
        assert not out.exists() or (out.is_dir() and not any(out.iterdir()))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "no_such_scenario"], "no_such_scenario"),
        (["run", "{tmp}/missing.toml"], "missing.toml"),
        (["run", "{tmp}/bad.toml"], "not valid TOML"),
        (["run", "tiny", "--set", "plan.reserve_shar=0.1"], "plan.reserve_share?"),
        (["run", "tiny", "--set", "plan.reserve_share=0.9"], "plan.reserve_share"),
        (["run", "tiny", "--set", "plan.reserve_share=abc"], "plan.reserve_share"),
        (["run", "tiny", "--set", "novalue"], "novalue"),
        (["run", "tiny", "--set", "plan.weight_equality=0.5"], "weights"),
        (["run", "tiny", "--set", "cities.Atlantis.enforcement=0.5"], "Atlantis"),
        (["run", "tiny", "--set", "monitoring.stat_lag_quarters=16"], "stat_lag_quarters"),
        (["run", "tiny", "--seed", "abc"], "--seed"),
        (["run", "tiny", "--regime", "nope"], "--regime"),
        (["run", "tiny", "--bogus-flag"], "--bogus-flag"),
        (["bogus"], "bogus"),
        ([], "COMMAND"),
        (["params", "--filter", "zzz"], "zzz"),
        (["params", "--format", "xml"], "xml"),
        (["compare", "tiny", "--regimes", "budget,nope"], "nope"),
        (["compare", "tiny", "--replicates", "0"], "--replicates"),
    ],
)
def test_bad_input(tmp_path, args, words):
    (tmp_path / "bad.toml").write_text("this is = = not toml\n")
    out = tmp_path / "out"
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if argv and argv[0] == "run":
        argv += ["--out", str(out)]
    _check_bad(argv, words, out)


def test_out_is_an_existing_file(tmp_path):
    f = tmp_path / "afile"
    f.write_text("keep me")
    _check_bad(["run", "tiny", "--out", str(f)], "--out", None)
    assert f.read_text() == "keep me"


def test_negative_seed_is_bad_input(tmp_path):
    out = tmp_path / "out"
    _check_bad(
        ["run", "tiny", "--seed", "-1", "--out", str(out), "--no-counterfactual"], "seed", out
    )


def test_binary_scenario_file_is_bad_input(tmp_path):
    p = tmp_path / "binary.toml"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    out = tmp_path / "out"
    _check_bad(["run", str(p), "--out", str(out)], "binary.toml", out)


def test_out_below_a_file_is_bad_input(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    _check_bad(["run", "tiny", "--out", str(f / "sub"), "--no-counterfactual"], "--out", None)


def test_default_out_folder_is_under_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, out, err = _main(["run", "tiny", "--seed", "2", "--quiet", "--no-counterfactual"])
    assert rc == 0, err
    assert (tmp_path / "runs" / "tiny-seed2" / "manifest.json").is_file()
    assert os.path.join("runs", "tiny-seed2") in out
