"""The documentation stays in sync with the code.

* docs/parameters.md is exactly what ``carbon-budget params --format markdown`` prints;
* every ``carbon-budget <command>`` in the docs is a real subcommand, and the README
  mentions every subcommand;
* every scenario named in the docs exists (built-in or file), and the README's table
  of built-in scenarios and of regimes lists exactly the ones in the code;
* the README quick start is the two commands ``make run`` and ``make test``;
* dotted parameter names quoted in the docs exist in the parameter table;
* the ODD's tables of quality sub-scores and default packages match the code, its
  table of event kinds lists every kind the code logs, and its monitoring section
  (8.4) names every ``monitoring.*`` parameter;
* every experiment file loads, has its own name and runs.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from sim import builtin_scenarios, load_scenario
from sim.cli import build_parser, main
from sim.params import PACKAGE_KEYS, PARAMS
from sim.policies.instruments import INSTRUMENT_IDS
from sim.policies.regimes import REGIMES
from sim.stages.final_account import SUBSCORES

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "sim"
README = ROOT / "README.md"
ODD = ROOT / "docs" / "ODD.md"
PARAMS_MD = ROOT / "docs" / "parameters.md"
GUIDE = ROOT / "docs" / "user_guide.md"
EXPERIMENTS = ROOT / "experiments"
DOCS = [README, ODD, GUIDE, EXPERIMENTS / "README.md"]

PARAM_SECTIONS = sorted({name.split(".", 1)[0] for name in PARAMS})
CMD = re.compile(r"carbon-budget\s+([a-z][a-z_-]*)")
SCENARIO_ARG = re.compile(r"carbon-budget\s+(?:run|compare)\s+([^\s`|\\]+)")


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def section(md: str, heading: str) -> str:
    """The text under the first markdown heading that starts with ``heading``, up to the
    next heading of the same or a higher level."""
    m = re.search(rf"^(#+)\s+{re.escape(heading)}.*$", md, flags=re.M)
    assert m, f"heading {heading!r} not found"
    level = len(m.group(1))
    rest = md[m.end() :]
    nxt = re.search(rf"^#{{1,{level}}}\s", rest, flags=re.M)
    return rest[: nxt.start()] if nxt else rest


def table_rows(md: str) -> list[list[str]]:
    """Cells of the body rows of the markdown tables in ``md`` (header and rule skipped)."""
    rows: list[list[str]] = []
    lines = md.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("|") or re.match(r"^\|(\s*:?-+:?\s*\|)+$", line):
            continue
        if i + 1 < len(lines) and re.match(r"^\|(\s*:?-+:?\s*\|)+$", lines[i + 1]):
            continue  # a header row
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def subcommands() -> set[str]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    raise AssertionError("the parser has no subcommands")


# ------------------------------------------------------------ parameters ---
def test_parameters_md_is_the_generated_table(capsys):
    assert main(["params", "--format", "markdown"]) == 0
    expected = capsys.readouterr().out.rstrip("\n").splitlines()
    lines = text(PARAMS_MD).rstrip("\n").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| name |"))
    assert lines[start:] == expected, (
        "docs/parameters.md is out of date: regenerate it (see the command at its top)"
    )


# ---------------------------------------------------------------- README ---
def test_readme_quick_start_is_make_run_and_make_test():
    quick = section(text(README), "Quick start")
    block = re.search(r"```\w*\n(.*?)```", quick, flags=re.S)
    assert block, "Quick start has no code block"
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["make run", "make test"]


def test_readme_subcommands_exist_and_are_all_documented():
    real = subcommands()
    mentioned = set(CMD.findall(text(README)))
    assert mentioned <= real, f"README mentions unknown subcommands {sorted(mentioned - real)}"
    assert real <= mentioned, f"README does not mention {sorted(real - mentioned)}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_mention_only_real_subcommands(doc):
    mentioned = set(CMD.findall(text(doc)))
    assert mentioned <= subcommands(), f"unknown subcommands {sorted(mentioned - subcommands())}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_scenarios_named_in_commands_exist(doc):
    known = set(builtin_scenarios())
    for arg in SCENARIO_ARG.findall(text(doc)):
        if arg.startswith(("-", "[")) or arg.isupper() or arg.startswith("my"):
            continue  # an option, a placeholder such as [SCENARIO], or the reader's own file
        assert arg in known or (ROOT / arg).is_file(), f"{doc.name}: no scenario {arg!r}"
    for arg in re.findall(r"load_scenario\(\s*\"([^\"]+)\"", text(doc)):
        assert arg in known or (ROOT / arg).is_file(), f"{doc.name}: no scenario {arg!r}"


def test_readme_lists_exactly_the_builtin_scenarios():
    rows = table_rows(section(text(README), "Built-in scenarios"))
    listed = {re.sub(r"`", "", r[0]) for r in rows}
    assert listed == set(builtin_scenarios())


def test_readme_lists_exactly_the_regimes():
    rows = table_rows(section(text(README), "Governance regimes"))
    listed = {re.match(r"`([a-z_]+)`", r[0]).group(1) for r in rows}  # type: ignore[union-attr]
    assert listed == set(REGIMES)


# ------------------------------------------------------- parameter names ---
@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_quoted_parameter_names_exist(doc):
    name = re.compile(rf"(?<![\w./])((?:{'|'.join(PARAM_SECTIONS)})\.[A-Za-z_][\w.]*)")
    files = (".py", ".toml", ".parquet", ".json", ".csv", ".md", ".png")
    unknown = []
    for span in re.findall(r"`([^`]+)`", text(doc)):
        for m in name.finditer(span):
            nxt = span[m.end() : m.end() + 1]
            if nxt in ("*", "<") or m.group(1).endswith(files):
                continue  # a pattern such as plan.weight_* or package.<key>.<id>, or a file
            if m.group(1).rstrip(".") not in PARAMS:
                unknown.append(m.group(1))
    assert not unknown, f"{doc.name} quotes unknown parameters {sorted(set(unknown))}"


# ------------------------------------------------------------------- ODD ---
def test_odd_subscore_table_matches_the_code():
    rows = [
        r
        for r in table_rows(section(text(ODD), "8.11 Five-year final account"))
        if len(r) == 5 and r[0] in SUBSCORES
    ]
    documented = {(r[0], r[1]): tuple(float(x) for x in r[2:]) for r in rows}
    expected = {
        (dim, m): (good, bad, w) for dim, subs in SUBSCORES.items() for m, good, bad, w in subs
    }
    assert documented == expected


def test_odd_package_table_matches_the_defaults():
    body = section(text(ODD), "8.7 Instruments and packages")
    rows = [
        r for r in table_rows(body) if len(r) == 1 + len(PACKAGE_KEYS) and r[0] in INSTRUMENT_IDS
    ]
    assert {r[0] for r in rows} == set(INSTRUMENT_IDS)
    for r in rows:
        for key, cell in zip(PACKAGE_KEYS, r[1:], strict=True):
            assert float(cell or 0.0) == PARAMS[f"package.{key}.{r[0]}"].default, (r[0], key)


def test_odd_instrument_full_effects_match_the_defaults():
    body = section(text(ODD), "8.7 Instruments and packages")
    seen = set()
    for r in table_rows(body):
        m = re.match(r"`([a-z_]+)`", r[0])
        if m and m.group(1) in INSTRUMENT_IDS and len(r) == 5:
            assert float(r[4]) == PARAMS[f"instrument.{m.group(1)}.full"].default, m.group(1)
            seen.add(m.group(1))
    assert seen == set(INSTRUMENT_IDS)


def test_odd_event_table_lists_every_event_kind():
    # kinds are the second argument of EventLog.add / add_many calls in sim/, plus the
    # conditional `"warning" if ... else "status"` of the monitoring step
    call = re.compile(
        r"\.add(?:_many)?\(\s*[\w.+ ]+,\s*\"([a-z_]+)\"(?:\s+if\s+[^\n]*?else\s+\"([a-z_]+)\")?"
    )
    logged: set[str] = set()
    for path in SIM.rglob("*.py"):
        for kinds in call.findall(text(path)):
            logged.update(k for k in kinds if k)
    assert {"official_statistics", "project_approved", "status", "warning"} <= logged
    table = section(text(ODD), "7.3 `events`")
    documented = set()
    for row in table_rows(table):
        documented.update(re.findall(r"`([a-z_]+)`", row[0]))
    assert logged <= documented, f"ODD §7.3 misses event kinds {sorted(logged - documented)}"
    assert documented <= logged, (
        f"ODD §7.3 lists kinds the code never logs {sorted(documented - logged)}"
    )


def test_odd_monitoring_section_names_every_monitoring_parameter():
    # a new switch of the fast estimate (such as monitoring.abatement_ledger) must be
    # described where the estimate is
    body = section(text(ODD), "8.4 Statistics")
    missing = [name for name in PARAMS if name.startswith("monitoring.") and name not in body]
    assert not missing, f"ODD §8.4 does not describe {missing}"


# ----------------------------------------------------------- experiments ---
@pytest.mark.parametrize("path", sorted(EXPERIMENTS.glob("*.toml")), ids=lambda p: p.name)
def test_experiment_files_load_with_their_own_name(path):
    sc = load_scenario(path)
    assert sc.name == path.stem, "an experiment is named after its file"
    assert sc.description


def test_experiments_readme_covers_every_experiment():
    readme = text(EXPERIMENTS / "README.md")
    for path in EXPERIMENTS.glob("*.toml"):
        assert f"experiments/{path.name}" in readme, (
            f"experiments/README.md does not use {path.name}"
        )


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.glob("*.toml")), ids=lambda p: p.name)
def test_experiment_files_run(path, tmp_path):
    # what experiments/README.md promises: `carbon-budget run FILE --out DIR` exits with 0
    # (here without the counterfactual and the figure, to stay quick)
    out = tmp_path / "run"
    args = ["run", str(path), "--out", str(out), "--no-counterfactual", "--no-plots", "--quiet"]
    assert main(args) == 0
    assert (out / "final_account.json").is_file()
