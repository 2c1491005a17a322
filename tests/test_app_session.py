"""The page's adapter to the model (no browser): controls generated from the
parameter table, stepping, play mode, saved games replayed from the command
line, the offline front-end files and the labels of every event kind."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from sim.app import offline
from sim.app.session import (
    CONTROL_GROUPS,
    Session,
    control_params,
    load_choices,
    replay,
    scenario_choices,
)
from sim.cli import main
from sim.labels import LABELS, tr
from sim.params import PARAMS
from sim.scenario import ScenarioError, builtin_scenarios, load_scenario

ROOT = Path(__file__).resolve().parents[1]
ODD = ROOT / "docs" / "ODD.md"


def test_controls_are_the_table_rows_of_each_group():
    groups = control_params()
    assert list(groups) == list(CONTROL_GROUPS)
    names = [p.name for ps in groups.values() for p in ps]
    assert len(names) == len(set(names))
    for g, ps in groups.items():
        assert ps, f"{g}: no parameter"
        assert g in LABELS
        for p in ps:
            assert PARAMS[p.name] is p  # the row itself: unit, bounds, choices from the table
    want = {"regime.name", "monitoring.surplus_threshold", "monitoring.overrun_threshold",
            "monitoring.red_threshold", "accounts.rule", "accounts.adjust_threshold",
            "monitoring.fast_lag_quarters", "monitoring.fast_noise", "monitoring.stat_lag_quarters",
            "plan.reserve_share", "trading.enabled", "trading.volume_cap"}  # fmt: skip
    assert want <= set(names)
    assert {n for n in PARAMS if n.startswith(("package.", "plan.weight_"))} <= set(names)


def test_scenario_picker_lists_builtins_and_experiments():
    choices = scenario_choices()
    assert set(builtin_scenarios()) <= set(choices)
    exp = [k for k in choices if k.startswith("experiments/")]
    assert exp and all(Path(choices[k]).is_file() for k in exp)
    s = Session(exp[0], seed=1)
    assert s.scenario.name == load_scenario(choices[exp[0]]).name


def test_stepping_and_overrides(tiny):
    s = Session("tiny", seed=2)
    assert s.t == 0 and s.now == (tiny.first_year, 1)
    assert s.step_quarter() and s.t == 1
    assert s.step_year() == 3 and s.t == 4
    assert len(s.result().annual[s.result().annual.city == "province"]) == 1
    while s.step_year():
        pass
    assert s.done and not s.step_quarter()
    base = s.result().final_account
    o = Session("tiny", {"monitoring.fast_noise": 0.4}, seed=2)
    while o.step_year():
        pass
    assert (
        o.result().final_account["measures"]["monitoring_mape"]
        != base["measures"]["monitoring_mape"]
    )
    with pytest.raises(ValueError, match="plan.reserve_share"):
        Session("tiny", {"plan.reserve_share": 0.9})


def _play(seed: int, strategy) -> Session:
    s = Session("tiny", seed=seed, play=True)
    while not s.done:
        if s.pending is not None:
            s.decide(*strategy(s.pending))
        else:
            s.step_year()
    return s


def test_play_mode_choices_change_the_outcome_and_replay(tmp_path, capsys):
    rules = _play(0, lambda v: (None, None, None))
    assert rules.choices and all(c == {} for c in rules.choices.values())
    c = rules.compare()
    assert c.mine[0]["composite"] == pytest.approx(c.rules[0]["composite"], abs=1e-12)

    red = _play(0, lambda v: (None, None, ["overrun_red"] * len(v.cities)))
    cmp = red.compare()
    assert cmp.rules[0]["composite"] == pytest.approx(
        c.rules[0]["composite"], abs=1e-12
    )  # same seed
    assert cmp.mine[0]["measures"]["gdp_loss_bn"] > cmp.rules[0]["measures"]["gdp_loss_bn"]
    assert cmp.mine[0]["composite"] != cmp.rules[0]["composite"]

    game = red.save_game(tmp_path / "game")
    saved = json.loads((game / "choices.json").read_text())
    assert saved["seed"] == 0 and all(
        ch == {"package": "overrun_red"} for y in saved["choices"].values() for ch in y.values()
    )
    again = replay(load_scenario(game / "scenario.toml"), 0, load_choices(game / "choices.json"))
    assert again.final_account["composite"] == pytest.approx(cmp.mine[0]["composite"], abs=1e-12)
    out = tmp_path / "run"
    assert main(["run", str(game / "scenario.toml"), "--seed", "0", "--choices", str(game / "choices.json"),
                 "--out", str(out), "--no-plots", "--quiet"]) == 0  # fmt: skip
    fa = json.loads((out / "final_account.json").read_text())["periods"][0]
    assert fa["composite"] == pytest.approx(cmp.mine[0]["composite"], abs=1e-9)
    capsys.readouterr()


def test_bad_decisions_and_bad_games(tmp_path, capsys):
    s = Session("tiny", seed=1, play=True)
    with pytest.raises(ValueError, match="no annual account"):
        s.decide()
    while s.pending is None:
        s.step_quarter()
    v = s.pending
    with pytest.raises(ValueError, match="package: 'panic'"):
        s.decide(None, None, ["panic", None, None])
    with pytest.raises(ValueError, match="reserve left"):
        s.decide(None, np.array([v.reserve_left + 1, 0, 0]), None)
    assert not s.step_quarter()  # still waiting
    s.decide()
    assert s.pending is None

    bad = tmp_path / "bad.json"
    for content, msg in [("{", "cannot read a game file"),
                         ('{"choices": {"2026": {"Harbour": {"speed": 1}}}}', "unknown key 'speed'"),
                         ('{"choices": {"2026": {"Harbour": {"package": "x"}}}}', "package: 'x'"),
                         ('{"choices": {"2026": {"Atlantis": {"change": 1}}}}', "unknown city 'Atlantis'")]:  # fmt: skip
        bad.write_text(content)
        out = tmp_path / "never"
        assert main(["run", "tiny", "--choices", str(bad), "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert msg in err and len(err.strip().splitlines()) == 1, err
        assert not out.exists()
    with pytest.raises(ScenarioError):
        load_choices(tmp_path / "missing.json")


def test_offline_front_end_files_are_all_present():
    refs = offline.referenced()
    assert any(r.startswith("katex@") for r in refs)
    assert any(r.startswith("@widgetti/solara-vuetify-app@") for r in refs)
    assert offline.missing() == [], "run 'make test' (it unpacks them with npm pack)"


def test_every_logged_event_kind_has_a_label():
    table = ODD.read_text(encoding="utf-8").split("### 7.3 `events`", 1)[1].split("### 7.4", 1)[0]
    kinds = set(re.findall(r"^\| `([a-z_]+)`", table, flags=re.M))
    kinds |= {"warning"}
    assert len(kinds) > 15
    for k in kinds:
        assert f"ev_{k}" in LABELS, k
    assert tr("ev_adjustment", "zh") == "逐年调整"


def test_app_command_bad_input_is_one_line(capsys):
    assert main(["app", "no_such_scenario"]) == 2
    err = capsys.readouterr().err
    assert "no_such_scenario" in err and len(err.strip().splitlines()) == 1
    assert main(["app", "tiny", "--port", "0"]) == 2
    assert "--port" in capsys.readouterr().err


IDENT = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b|\b[a-z]+\.[a-z_.]+\b")  # snake_case, dotted keys


def test_every_control_and_choice_has_a_label_in_both_languages():
    from sim.labels import choice_label, param_label, unit_label

    for p in (p for ps in control_params().values() for p in ps):
        for lg in ("en", "zh"):
            name = param_label(p.name, lg)  # KeyError: a control without a label
            assert name and not IDENT.search(name) and p.name not in name, (p.name, lg)
            unit_label(p.unit, lg)
            for c in (True, False) if p.type is bool else p.choices or ():
                label = choice_label(p.name, c, lg)
                assert label and not IDENT.search(label), (p.name, c, lg)
        zh = param_label(p.name, "zh")
        assert re.search(r"[\u4e00-\u9fff]", zh) and zh != param_label(p.name, "en"), p.name


@pytest.mark.parametrize("regime", ["budget", "traditional"])
def test_event_details_are_translated_without_identifiers(default, regime):
    """Every detail the model writes in a `default` run reads in both
    languages with its identifiers (statuses, packages, rules, behaviours,
    reasons, scenarios) named by their labels; in Chinese it is Chinese."""
    from sim.labels import detail_label
    from sim.runner import run

    details = set(run(default, 0, regime=regime, counterfactual=False).events.detail.astype(str))
    assert len(details) > 15
    for d in details - {""}:
        for lg in ("en", "zh"):
            assert not IDENT.search(detail_label(d, lg)), (d, lg)
        assert re.search(r"[\u4e00-\u9fff]", detail_label(d, "zh")), d
