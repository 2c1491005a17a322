"""Bad input, as a new user and a careless script would give it (issue 7): every
case ends in exactly one line naming the key or argument and the reason, exit
code 2, no traceback and nothing written -- and the same message from the API
(``ScenarioError``/``ValueError``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _helpers import cli_main as _main

from sim import load_scenario
from sim.cli import main
from sim.compare import compare
from sim.scenario import ScenarioError

BIG = "9" * 400  # a number too large for a float
HUGE = "9" * 5000  # longer than Python's int-to-str limit
DEEP = "[" * 3000 + "]" * 3000  # nested deeper than the recursion limit

TINY_CITIES = """
[[cities]]
name = "A"
gdp_share = 0.6
[[cities]]
name = "B"
gdp_share = 0.4
"""

# file name -> contents (written into the test's folder)
FILES = {
    "big.toml": f'extends = "tiny"\n[plan]\nreserve_share = {BIG}\n',
    "bigint.toml": f'extends = "tiny"\n[run]\nwarmup_years = {BIG}\n',
    "huge.toml": f'extends = "tiny"\n[plan]\nreserve_share = {HUGE}\n',
    "deep.toml": f'extends = "tiny"\n[plan]\nreserve_share = {DEEP}\n',
    "deeptable.toml": 'extends = "tiny"\nx = ' + "{a=" * 3000 + "1" + "}" * 3000 + "\n",
    "cities_int.toml": 'extends = "tiny"\ncities = 5\n',
    "cities_strs.toml": 'extends = "tiny"\ncities = ["a", "b"]\n',
    "dup_key.toml": 'extends = "tiny"\n"plan.reserve_share" = 0.1\n[plan]\nreserve_share = 0.05\n',
    "dup_key2.toml": 'extends = "tiny"\n[plan]\nreserve_share = 0.05\n[x]\n"y" = 1\n',
    "name_table.toml": 'extends = "tiny"\nname = {a = 1}\n',
    "name_int.toml": 'extends = "tiny"\nname = 5\n',
    "name_empty.toml": 'extends = "tiny"\nname = ""\n',
    "desc_list.toml": 'extends = "tiny"\ndescription = [1]\n',
    "extends_int.toml": "extends = 3\n",
    "extends_missing.toml": 'extends = "no_such_parent.toml"\n',
    "cycle_a.toml": 'extends = "cycle_b.toml"\n',
    "cycle_b.toml": 'extends = "cycle_a.toml"\n',
    "self.toml": 'extends = "self.toml"\n',
    "extends_nul.toml": 'extends = "a\\u0000b.toml"\n',
    "extends_long.toml": f'extends = "{"a" * 5000}.toml"\n',
    "zero_city.toml": 'extends = "tiny"\n' + TINY_CITIES.replace("0.4", "0.0"),
    "dotted_record.toml": 'extends = "tiny"\n"cities.0.name" = "X"\n',
    "bool_float.toml": 'extends = "tiny"\n[plan]\nreserve_share = true\n',
    "nan.toml": 'extends = "tiny"\n[plan]\nreserve_share = nan\n',
    "inf.toml": 'extends = "tiny"\n[plan]\nreserve_share = inf\n',
    "city_list.toml": 'extends = "tiny"\n[[cities]]\nname = "A"\ngdp_share = [1]\n',
    "firmless.toml": 'extends = "tiny"\n[sector.steel]\nfirm_share = 0.0\n'
    "[sector.other_industry]\nfirm_share = 0.63\n",
    "outputless.toml": 'extends = "tiny"\n[sector.steel]\ngdp_share = 0.0\n',
    "no_mix.toml": 'extends = "tiny"\n'
    + TINY_CITIES.replace("gdp_share = 0.6", "gdp_share = 0.6\nindustry_mix = 0.0").replace(
        "gdp_share = 0.4", "gdp_share = 0.4\nindustry_mix = 0.0"
    ),
    "empty.toml": "",
    "binary.toml": "\udcff",  # written as bytes below
}

# (argv, words expected in the one line); {tmp} is the test's folder
CASES = [
    # numbers too large, values nested too deeply
    (["run", "{tmp}/big.toml"], "plan.reserve_share: an integer of 400 digits is too large"),
    (["run", "{tmp}/bigint.toml"], "run.warmup_years"),
    (["run", "{tmp}/huge.toml"], "huge.toml: not valid TOML"),
    (["run", "tiny", "--set", f"plan.reserve_share={BIG}"], "plan.reserve_share"),
    (["run", "tiny", "--set", f"plan.reserve_share={HUGE}"], "plan.reserve_share"),
    (["run", "tiny", "--set", f"cities.0.gdp_share={BIG}"], "cities[0].gdp_share"),
    (["run", "tiny", "--set", f"periods.0.years={BIG}"], "periods[0].years"),
    (["run", "{tmp}/deep.toml"], "nested too deeply"),
    (["run", "{tmp}/deeptable.toml"], "nested too deeply"),
    (["run", "tiny", "--set", f"plan.reserve_share={DEEP}"], "nested too deeply"),
    # malformed records addressed with --set
    (["run", "{tmp}/cities_int.toml", "--set", "cities.0.name=X"], "cities.0.name"),
    (["run", "{tmp}/cities_strs.toml", "--set", "cities.0.name=X"], "cities.0.name"),
    (["run", "{tmp}/cities_int.toml"], "cities: expected a list of tables"),
    (["run", "tiny", "--set", "cities.9.name=X"], "cities.9.name"),
    (["run", "tiny", "--set", "cities.Harbour=X"], "cities.Harbour"),
    (["run", "tiny", "--set", "cities.Harbour.colour=red"], "cities[0].colour"),
    (["run", "tiny", "--set", "cities.Harbour.gdp_share=0"], "cities[0].gdp_share"),
    (["run", "tiny", "--set", "cities.Harbour.population_m=0"], "cities[0].population_m"),
    (["run", "tiny", "--set", "monitoring.fast_noise=0.5"], "cities[1].monitoring_capacity"),
    (["run", "tiny", "--set", "name=x"], "name: unknown parameter"),
    (["run", "tiny", "--set", "extends=default"], "extends: unknown parameter"),
    (["run", "tiny", "--set", "=1"], "expected key=value"),
    # duplicated keys, names that are not strings
    (["run", "{tmp}/dup_key.toml"], "plan.reserve_share: given twice"),
    (["run", "{tmp}/dup_key2.toml"], "x.y: unknown parameter"),
    (["run", "{tmp}/name_table.toml"], "name: expected a string"),
    (["run", "{tmp}/name_int.toml"], "name: expected a string"),
    (["run", "{tmp}/name_empty.toml"], "name: expected a non-empty string"),
    (["run", "{tmp}/desc_list.toml"], "description: expected a string"),
    (["run", "{tmp}/dotted_record.toml"], "cities.0.name: dotted keys cannot address cities"),
    # extends
    (["run", "{tmp}/extends_int.toml"], "extends: expected the name or path"),
    (["run", "{tmp}/extends_missing.toml"], "no_such_parent.toml: no such scenario"),
    (["run", "{tmp}/cycle_a.toml"], "circular reference"),
    (["run", "{tmp}/self.toml"], "self.toml: extends: circular reference"),
    (["run", "{tmp}/extends_nul.toml"], "cannot be read as a scenario file"),
    (["run", "{tmp}/extends_long.toml"], "cannot be read as a scenario file"),
    # other values
    (["run", "{tmp}/bool_float.toml"], "plan.reserve_share: expected a number"),
    (["run", "{tmp}/nan.toml"], "plan.reserve_share: expected a finite number"),
    (["run", "{tmp}/inf.toml"], "plan.reserve_share: expected a finite number"),
    (["run", "{tmp}/city_list.toml"], "cities[0].gdp_share: expected a number"),
    (["run", "{tmp}/zero_city.toml"], "cities[1].gdp_share"),
    (["run", "{tmp}/firmless.toml"], "sector.steel.firm_share"),
    (["run", "{tmp}/outputless.toml"], "sector.steel.gdp_share"),
    (["run", "tiny", "--set", "sector.steel.emission_share=2.2e-313"], "too close to 0"),
    (["run", "tiny", "--set", "cities.Meadow.industry_mix=1e-300"], "cities[2].industry_mix"),
    (["run", "{tmp}/no_mix.toml"], "cities[0].industry_mix: 0.0 is below the minimum 0.01"),
    (["run", "{tmp}/empty.toml"], "cities: at least one"),
    (["run", "{tmp}/binary.toml"], "binary.toml: cannot be read"),
    (["run", "{tmp}"], "not a file"),
    (["run", ""], "scenario: an empty name"),
    # arguments
    (["run", "tiny", "--seed", BIG], "--seed"),
    (["run", "tiny", "--seed", str(2**63)], "--seed"),
    (["run", "tiny", "--seed", "1.5"], "--seed"),
    (["compare", "tiny", "--regimes", ""], "--regimes"),
    (["compare", "tiny", "--regimes", ",, ,"], "--regimes"),
    (["compare", "tiny", "--regimes", "budget,budget"], "'budget' given more than once"),
    (["compare", "tiny", "--regimes", "budget, traditional,budget"], "given more than once"),
    (["compare", "tiny", "--replicates", "0"], "--replicates"),
    (["compare", "tiny", "--replicates", "10001"], "--replicates"),
    (["compare", "tiny", "--replicates", BIG], "--replicates"),
    (["compare", "tiny", "--replicates", "x"], "--replicates"),
    (["compare", "tiny", "--jobs", "0"], "--jobs"),
    (["compare", "tiny", "--jobs", "65"], "--jobs"),
    (["compare", "tiny", "--jobs", "-3"], "--jobs"),
    (["compare", "tiny", "--seed", "-1"], "--seed"),
    (["compare", "{tmp}/dup_key.toml", "--replicates", "1"], "given twice"),
    (["compare", "tiny", "--set", "plan.reserve_share=2"], "plan.reserve_share"),
    # output folders
    (["run", "tiny", "--out", ""], "--out"),
    (["run", "tiny", "--out", " "], "--out"),
    (["compare", "tiny", "--out", ""], "--out"),
    (["run", "tiny", "--out", "/proc/carbon-budget-test"], "--out"),
    (["run", "tiny", "--out", "/proc/self/carbon/x"], "--out"),
    (["run", "tiny", "--out", "/"], "--out"),
    (["run", "tiny", "--out", "{tmp}/afile"], "exists and is not a folder"),
    (["run", "tiny", "--out", "{tmp}/afile/below"], "exists and is not a folder"),
    (["run", "tiny", "--out", "{tmp}/dangling"], "dangling symbolic link"),
    (["run", "tiny", "--out", "{tmp}/dangling/below"], "dangling symbolic link"),
    (["run", "tiny", "--out", "{tmp}/notarun"], "is not a run folder"),
    (["compare", "tiny", "--out", "{tmp}/notarun"], "is not a comparison folder"),
    (["compare", "tiny", "--out", "/proc/carbon-budget-test"], "--out"),
    # names the file system cannot take
    (["run", "a" * 5000], "cannot be read as a scenario file"),
    (["run", "{tmp}/" + "a" * 5000 + ".toml"], "cannot be read as a scenario file"),
    (["run", "ti\x00ny"], "cannot be read as a scenario file"),
    (["run", "tiny", "--out", "{tmp}/" + "a" * 5000], "cannot be used as a folder"),
    (["run", "tiny", "--out", "{tmp}/x/" + "a" * 5000 + "/y"], "cannot be used as a folder"),
    (["run", "tiny", "--out", "{tmp}/a\x00b"], "cannot be used as a folder"),
    (["plot", "{tmp}/" + "a" * 5000], "cannot be read as a run folder"),
    # plot on things that are not run folders
    (["plot", "{tmp}/nowhere"], "not a folder"),
    (["plot", "{tmp}/afile"], "not a folder"),
    (["plot", "{tmp}/notarun"], "no manifest.json"),
]


def _snapshot(folder: Path) -> dict[str, float]:
    return {
        str(p.relative_to(folder)): p.lstat().st_mtime
        for p in sorted(folder.rglob("*"))
        if "runs" not in p.parts
    }


@pytest.fixture
def playground(tmp_path, monkeypatch):
    for name, text in FILES.items():
        if name == "binary.toml":
            (tmp_path / name).write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
        else:
            (tmp_path / name).write_text(text)
    (tmp_path / "afile").write_text("keep me")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    (tmp_path / "notarun").mkdir()
    (tmp_path / "notarun" / "thesis.txt").write_text("precious")
    monkeypatch.chdir(tmp_path)  # default run folders would land in ./runs
    return tmp_path


@pytest.mark.parametrize(("args", "words"), CASES, ids=[repr(" ".join(a))[:60] for a, _ in CASES])
def test_bad_input_gets_one_line_and_exit_2(playground, args, words):
    argv = [a.replace("{tmp}", str(playground)) for a in args]
    if argv[0] in ("run", "compare") and "--out" not in argv:
        argv += ["--out", str(playground / "out")]
    before = _snapshot(playground)
    rc, stdout, stderr = _main(argv)
    assert rc == 2, stderr
    assert stderr.startswith("carbon-budget: error: "), stderr
    assert stderr.count("\n") == 1 and stderr.endswith("\n"), stderr
    assert len(stderr) < 600, stderr
    assert words in stderr, stderr
    assert "Traceback" not in stderr
    assert stdout == ""
    # nothing written: no new file anywhere in the folder, nothing changed
    assert _snapshot(playground) == before
    assert not (playground / "runs").exists()
    assert (playground / "notarun" / "thesis.txt").read_text() == "precious"


# ---------------------------------------------------------------- API ----
@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"plan.reserve_share": 10**400}, "plan.reserve_share: an integer of 401 digits"),
        ({"plan.reserve_share": 10**5000}, "an integer of over 4000 digits"),
        ({"run.warmup_years": 10**400}, "run.warmup_years"),
        ({"cities.Harbour.gdp_share": 0.0}, "cities[0].gdp_share"),
        ({"cities.Harbour.name": {"a": 1}}, "cities[0].name: expected a string"),
        ({5: 1.0}, "override keys are dotted parameter names"),
        ({"cities.0": 1}, "record overrides take the form"),
        ({"plan.reserve_share": float("nan")}, "expected a finite number"),
    ],
)
def test_api_raises_scenario_error_with_the_same_message(overrides, words):
    with pytest.raises(ScenarioError) as info:
        load_scenario("tiny", overrides)
    msg = str(info.value)
    assert words in msg and "\n" not in msg


@pytest.mark.parametrize("seed", [-1, 1.5, "3", None, True])
def test_api_run_refuses_a_seed_that_is_not_a_non_negative_integer(tiny, seed):
    from sim import run

    with pytest.raises(ValueError, match="^seed: expected a non-negative integer"):
        run(tiny, seed, counterfactual=False)


def test_api_rejects_a_non_path_scenario():
    with pytest.raises(ScenarioError, match="expected a built-in name or a path"):
        load_scenario(5)  # type: ignore[arg-type]


def test_api_compare_refuses_duplicated_or_no_regimes(tiny):
    with pytest.raises(ValueError, match="'budget' given more than once"):
        compare(tiny, ["budget", "budget"], 1)
    with pytest.raises(ValueError, match="no regime given"):
        compare(tiny, [], 1)


def test_a_quoted_dotted_key_alone_is_the_parameter(tmp_path):
    p = tmp_path / "dotted.toml"
    p.write_text('extends = "tiny"\n"plan.reserve_share" = 0.07\n[plan]\nfront_loading = 0.2\n')
    sc = load_scenario(p)
    assert sc["plan.reserve_share"] == 0.07
    assert sc["plan.front_loading"] == 0.2


# ---------------------------------------------------------- extends ------
def test_relative_extends_is_resolved_from_the_file_folder(tmp_path, monkeypatch):
    (tmp_path / "base.toml").write_text('extends = "tiny"\n[plan]\nreserve_share = 0.05\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "child.toml").write_text(
        'extends = "../base.toml"\n[plan]\nfront_loading = 0.2\n'
    )
    (tmp_path / "sub" / "grandchild.toml").write_text('extends = "child.toml"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    sc = load_scenario(tmp_path / "sub" / "grandchild.toml")
    assert sc.name == "grandchild"
    assert sc["plan.reserve_share"] == 0.05
    assert sc["plan.front_loading"] == 0.2
    assert [c["name"] for c in sc.cities] == ["Harbour", "Millbrook", "Meadow"]
    # from a relative path too
    monkeypatch.chdir(tmp_path)
    assert load_scenario("sub/grandchild.toml")["plan.reserve_share"] == 0.05


def test_cycle_through_relative_paths_is_named(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "one.toml").write_text('extends = "../b/two.toml"\n')
    (tmp_path / "b" / "two.toml").write_text('extends = "../a/one.toml"\n')
    monkeypatch.chdir(tmp_path / "b")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "a" / "one.toml")
    msg = str(info.value)
    assert "circular reference" in msg and "one.toml -> " in msg and "two.toml" in msg


def test_a_builtin_name_still_wins_over_a_neighbour_file(tmp_path, monkeypatch):
    (tmp_path / "child.toml").write_text('extends = "tiny"\n')
    (tmp_path / "tiny").write_text("not toml at all = = =")
    monkeypatch.chdir(tmp_path)
    assert load_scenario(tmp_path / "child.toml").city_names == ["Harbour", "Millbrook", "Meadow"]


# --------------------------------------------------- folder names --------
@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("../../x", "x-seed0"),
        ("a/b\\c", "a_b_c-seed0"),
        ("..", "scenario-seed0"),
        (".hidden", "hidden-seed0"),
        ("省 情景", "省_情景-seed0"),
    ],
)
def test_scenario_name_is_made_safe_as_a_folder_name(tmp_path, monkeypatch, name, folder):
    work = tmp_path / "deep" / "work"
    work.mkdir(parents=True)
    (work / "s.toml").write_text(f'extends = "tiny"\nname = {name!r}\n'.replace("'", '"'))
    if "\\" in name:
        (work / "s.toml").write_text('extends = "tiny"\nname = "a/b\\\\c"\n')
    monkeypatch.chdir(work)
    rc, stdout, stderr = _main(["run", "s.toml", "--quiet", "--no-counterfactual", "--no-plots"])
    assert rc == 0, stderr
    made = [p for p in tmp_path.rglob("manifest.json")]
    assert made == [work / "runs" / folder / "manifest.json"]
    assert os.path.join("runs", folder) in stdout


def test_unexpected_exception_is_one_internal_error_line(monkeypatch):
    import sim.cli

    def boom(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(sim.cli, "_cmd_scenarios", boom)
    monkeypatch.delenv("CARBON_BUDGET_DEBUG", raising=False)
    rc, stdout, stderr = _main(["scenarios"])
    assert rc == 1
    assert stderr.startswith("carbon-budget: internal error: ZeroDivisionError")
    assert stderr.count("\n") == 1
    monkeypatch.setenv("CARBON_BUDGET_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["scenarios"])


def test_help_states_the_bounds_on_counts(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "1 to 10,000" in text  # --replicates
    assert "1 to 64" in text  # --jobs
