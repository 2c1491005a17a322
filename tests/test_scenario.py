"""Scenarios (ARCHITECTURE.md "The flow of data" 1): built-ins, ``extends``,
overrides, the ``--set`` parser, the ``to_dict`` round trip and every kind of
bad input, which must raise ScenarioError with one line naming the key."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from sim import Scenario, ScenarioError, builtin_scenarios, load_scenario
from sim.params import PARAMS
from sim.scenario import parse_override_value, parse_overrides


# ------------------------------------------------- a tiny TOML writer ----
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        assert math.isfinite(v)
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML basic string
    raise TypeError(type(v))


def to_toml(d: dict[str, Any]) -> str:
    """Scalars, nested tables and arrays of tables (all a scenario needs)."""
    lines: list[str] = []

    def table(node: dict[str, Any], prefix: str) -> None:
        scalars = {k: v for k, v in node.items() if not isinstance(v, (dict, list))}
        if prefix and scalars:
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{k} = {_toml_value(v)}")
        for k, v in node.items():
            if isinstance(v, dict):
                table(v, f"{prefix}.{k}" if prefix else k)
        for k, v in node.items():
            if isinstance(v, list):
                for rec in v:
                    lines.append(f"[[{k}]]")
                    lines.extend(f"{rk} = {_toml_value(rv)}" for rk, rv in rec.items())

    table(d, "")
    return "\n".join(lines) + "\n"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _err(fn, *args, **kwargs) -> str:
    with pytest.raises(ScenarioError) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg, "message must be one line"
    assert msg.strip() == msg and msg
    return msg


# --------------------------------------------------------------- built-ins
def test_builtin_scenarios_listed_with_descriptions():
    b = builtin_scenarios()
    assert {"default", "tiny", "large", "chained"} <= set(b)
    assert all(isinstance(d, str) and d for d in b.values())
    assert "Three cities" in b["tiny"]


def test_default_scenario(default):
    assert isinstance(default, Scenario)
    assert default.name == "default"
    assert len(default.cities) == 13
    assert default["province.n_firms"] == 3000
    assert default["province.base_emissions_mt"] == 800.0
    assert len(default.periods) == 1
    p = default.periods[0]
    assert (p["start_year"], p["years"], p["mode"], p["intensity_target"]) == (
        2026,
        5,
        "intensity",
        0.17,
    )
    assert default.first_year == 2026 - 4 and default.last_year == 2030
    assert default.major_projects[0]["city"] == "Seagate"
    # parameters not in the file take the table's defaults
    assert default["plan.reserve_share"] == PARAMS["plan.reserve_share"].default
    assert set(default.values) == set(PARAMS)


def test_tiny_scenario(tiny):
    assert tiny.city_names == ["Harbour", "Millbrook", "Meadow"]
    assert tiny["province.n_firms"] == 30
    assert tiny["province.base_emissions_mt"] == 60.0
    assert tiny.cities[1]["industry_mix"] == 1.8
    # record fields not in the file take their defaults
    assert tiny.major_projects == () and tiny.shocks == ()


def test_large_extends_default(default):
    large = load_scenario("large")
    assert large.name == "large"
    assert large["province.n_firms"] == 100_000
    assert large.cities == default.cities
    assert large.periods == default.periods
    assert large["province.base_emissions_mt"] == default["province.base_emissions_mt"]


def test_chained_has_two_periods(default):
    ch = load_scenario("chained")
    assert [p["mode"] for p in ch.periods] == ["intensity", "total"]
    assert [(p["start_year"], p["end_year"]) for p in ch.periods] == [(2026, 2030), (2031, 2035)]
    assert ch.periods[1]["total_change"] == -0.05
    assert ch.cities == default.cities  # inherited
    assert ch.last_year == 2035


def test_unknown_parameter_lookup_raises_keyerror(tiny):
    with pytest.raises(KeyError, match="plan.nope"):
        tiny["plan.nope"]


# ----------------------------------------------------------------- extends
def test_extends_merges_tables_and_replaces_records(tmp_path):
    p = _write(
        tmp_path,
        "mine.toml",
        'name = "mine"\nextends = "tiny"\n[province]\nn_firms = 40\n[plan]\nreserve_share = 0.05\n'
        '[[cities]]\nname = "Solo"\ngdp_share = 1.0\n',
    )
    sc = load_scenario(p)
    assert sc.name == "mine"
    assert sc["province.n_firms"] == 40
    assert sc["province.name"] == "Tiny province"  # the rest of [province] is inherited
    assert sc["province.base_emissions_mt"] == 60.0
    assert sc["plan.reserve_share"] == 0.05
    assert sc.city_names == ["Solo"]  # records replace the parent's list
    assert sc.cities[0]["enforcement"] == 0.7  # record default
    assert sc.periods == load_scenario("tiny").periods


def test_extends_chain_and_path_as_string(tmp_path):
    a = _write(tmp_path, "a.toml", 'name = "a"\nextends = "tiny"\n[plan]\nreserve_share = 0.1\n')
    b = _write(tmp_path, "b.toml", f'name = "b"\nextends = "{a}"\n[macro]\nar = 0.5\n')
    sc = load_scenario(str(b))
    assert (sc.name, sc["plan.reserve_share"], sc["macro.ar"]) == ("b", 0.1, 0.5)


def test_extends_circular_and_unknown(tmp_path):
    a = tmp_path / "a.toml"
    b = tmp_path / "b.toml"
    a.write_text(f'extends = "{b}"\n')
    b.write_text(f'extends = "{a}"\n')
    assert "circular" in _err(load_scenario, str(a))
    c = _write(tmp_path, "c.toml", 'extends = "no_such_parent"\n')
    assert "no_such_parent" in _err(load_scenario, c)
    d = _write(tmp_path, "d.toml", "extends = 3\n")
    assert "extends" in _err(load_scenario, d)


# --------------------------------------------------------------- overrides
def test_scalar_overrides():
    sc = load_scenario("tiny", overrides={"plan.reserve_share": 0.05, "province.n_firms": 40.0})
    assert sc["plan.reserve_share"] == 0.05
    assert sc["province.n_firms"] == 40 and isinstance(sc["province.n_firms"], int)
    assert sc.overrides == {"plan.reserve_share": 0.05, "province.n_firms": 40.0}
    assert isinstance(load_scenario("tiny", {"plan.reserve_share": 0})["plan.reserve_share"], float)


def test_record_overrides_by_name_and_index():
    sc = load_scenario(
        "tiny",
        overrides={
            "cities.Harbour.enforcement": 0.95,
            "cities.2.population_m": 2.5,
            "periods.0.intensity_target": 0.2,
            "periods.0.mode": "dual",
        },
    )
    assert sc.cities[0]["enforcement"] == 0.95
    assert sc.cities[2]["population_m"] == 2.5
    assert sc.cities[1] == load_scenario("tiny").cities[1]  # untouched
    assert sc.periods[0]["intensity_target"] == 0.2
    assert sc.periods[0]["mode"] == "dual"


def test_overrides_do_not_leak_between_loads():
    load_scenario("tiny", overrides={"cities.Harbour.enforcement": 0.1, "plan.reserve_share": 0.2})
    fresh = load_scenario("tiny")
    assert fresh.cities[0]["enforcement"] == 0.8
    assert fresh["plan.reserve_share"] == 0.03
    assert fresh.overrides == {}


def test_major_project_override_on_default():
    sc = load_scenario("default", overrides={"major_projects.0.emissions_mt": 9.0})
    assert sc.major_projects[0]["emissions_mt"] == 9.0


def test_with_overrides(tiny):
    sc = tiny.with_overrides({"plan.reserve_share": 0.05, "cities.Meadow.enforcement": 0.9})
    assert sc["plan.reserve_share"] == 0.05
    assert sc.cities[2]["enforcement"] == 0.9
    assert sc.cities[:2] == tiny.cities[:2]
    assert sc.periods == tiny.periods
    assert sc.overrides == {"plan.reserve_share": 0.05, "cities.Meadow.enforcement": 0.9}
    assert tiny["plan.reserve_share"] == 0.03  # the original is unchanged
    twice = sc.with_overrides({"plan.reserve_share": 0.06})
    assert twice.overrides["cities.Meadow.enforcement"] == 0.9  # overrides accumulate
    assert twice["plan.reserve_share"] == 0.06


# ----------------------------------------------------- --set value parser
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.05", 0.05),
        ("3", 3),
        ("-2", -2),
        ("1e-3", 0.001),
        ("true", True),
        ("false", False),
        ('"quoted"', "quoted"),
        ("hello", "hello"),
        ("front_loaded", "front_loaded"),
        ("[1, 2]", [1, 2]),
        ("a=b", "a=b"),
    ],
)
def test_parse_override_value(text, value):
    got = parse_override_value(text)
    assert got == value and type(got) is type(value)


def test_parse_overrides():
    got = parse_overrides([" plan.reserve_share = 0.05 ", "trading.enabled=false", "x=1", "x=2"])
    assert got == {"plan.reserve_share": 0.05, "trading.enabled": False, "x": 2}
    assert parse_overrides([]) == {}
    assert parse_overrides(["cities.Harbour.enforcement=0.9"]) == {
        "cities.Harbour.enforcement": 0.9
    }


@pytest.mark.parametrize("item", ["novalue", "=3", " =3"])
def test_parse_overrides_malformed(item):
    assert "key=value" in _err(parse_overrides, [item])


# ------------------------------------------------------------- round trip
@pytest.mark.parametrize("name", ["tiny", "default", "chained"])
def test_to_dict_round_trips_through_toml(tmp_path, name):
    sc = load_scenario(name, overrides={"cities.1.enforcement": 0.55, "macro.ar": 0.5})
    path = _write(tmp_path, "rt.toml", to_toml(sc.to_dict()))
    back = load_scenario(path)
    assert back.values == sc.values
    assert back.cities == sc.cities
    assert back.periods == sc.periods
    assert back.name == sc.name and back.description == sc.description
    assert back.shocks == sc.shocks and back.major_projects == sc.major_projects


def test_to_dict_shape(tiny):
    d = tiny.to_dict()
    assert d["plan"]["reserve_share"] == 0.03
    assert d["sector"]["power"]["emission_share"] == 0.5
    assert d["cities"][0]["name"] == "Harbour"
    assert "end_year" not in d["periods"][0]  # derived, not a field a file may set
    d["cities"][0]["name"] = "changed"
    assert tiny.cities[0]["name"] == "Harbour"  # a copy, not the scenario's own records


# --------------------------------------------------------------- bad input
def test_missing_file(tmp_path):
    msg = _err(load_scenario, tmp_path / "nope.toml")
    assert "nope.toml" in msg and "no such" in msg


def test_unknown_builtin_lists_builtins():
    msg = _err(load_scenario, "no_such_scenario")
    assert "no_such_scenario" in msg and "tiny" in msg


def test_directory_is_not_a_file(tmp_path):
    assert "not a file" in _err(load_scenario, tmp_path)


def test_not_toml(tmp_path):
    p = _write(tmp_path, "bad.toml", "this is = = not toml\n[[\n")
    msg = _err(load_scenario, p)
    assert "bad.toml" in msg and "TOML" in msg


def test_binary_file_is_a_scenario_error(tmp_path):
    p = tmp_path / "binary.toml"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    msg = _err(load_scenario, p)
    assert "binary.toml" in msg


def test_unknown_key_in_file_suggests_close_name(tmp_path):
    p = _write(tmp_path, "u.toml", 'extends = "tiny"\n[plan]\nreserve_shar = 0.1\n')
    msg = _err(load_scenario, p)
    assert msg.startswith("plan.reserve_shar:")
    assert "unknown parameter" in msg and "plan.reserve_share" in msg


def test_unknown_override_key_suggests_close_name():
    msg = _err(load_scenario, "tiny", {"monitoring.frequncy": "quarterly"})
    assert msg.startswith("monitoring.frequncy:") and "did you mean monitoring.frequency" in msg
    msg = _err(load_scenario, "tiny", {"zzz.qqq": 1})
    assert msg.startswith("zzz.qqq:") and "did you mean" not in msg


def test_unknown_record_field_and_record():
    msg = _err(load_scenario, "tiny", {"cities.Harbour.enforcemnt": 0.5})
    assert "enforcemnt" in msg and "enforcement" in msg
    msg = _err(load_scenario, "tiny", {"cities.Atlantis.enforcement": 0.5})
    assert "cities.Atlantis.enforcement" in msg and "Atlantis" in msg
    msg = _err(load_scenario, "tiny", {"cities.Harbour": 0.5})
    assert msg.startswith("cities.Harbour:")
    msg = _err(load_scenario, "tiny", {"shocks.0.size": 0.1})  # tiny has no shocks
    assert msg.startswith("shocks.0.size:")


def test_unknown_top_level_key_in_file(tmp_path):
    p = _write(tmp_path, "t.toml", 'extends = "tiny"\nfoo = 1\n')
    assert _err(load_scenario, p).startswith("foo:")


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("plan.reserve_share", "abc", "expected a number"),
        ("plan.reserve_share", True, "expected a number"),
        ("province.n_firms", 2.5, "expected an integer"),
        ("province.n_firms", True, "expected an integer"),
        ("trading.enabled", 1, "expected true or false"),
        ("province.name", 5, "expected a string"),
        ("plan.annual_shape", "curvy", "not one of"),
        ("plan.reserve_share", math.nan, "finite"),
        ("plan.reserve_share", math.inf, "finite"),
    ],
)
def test_wrong_type(key, value, words):
    msg = _err(load_scenario, "tiny", {key: value})
    assert msg.startswith(f"{key}:") and words in msg


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("plan.reserve_share", 0.9, "above the maximum 0.3"),
        ("plan.reserve_share", -0.01, "below the minimum 0"),
        ("monitoring.fast_lag_quarters", 3, "above the maximum 2"),
        ("monitoring.surplus_threshold", -0.1, "below the minimum 0"),
        ("monitoring.overrun_threshold", -0.01, "below the minimum 0"),
    ],
)
def test_out_of_range(key, value, words):
    msg = _err(load_scenario, "tiny", {key: value})
    assert msg.startswith(f"{key}:") and words in msg


def test_record_out_of_range_names_the_record():
    msg = _err(load_scenario, "tiny", {"cities.Harbour.enforcement": 1.5})
    assert msg.startswith("cities[0].enforcement:") and "maximum 1" in msg
    msg = _err(load_scenario, "tiny", {"periods.0.intensity_target": 0.95})
    assert msg.startswith("periods[0].intensity_target:")


def test_allocation_weights_must_sum_to_one():
    msg = _err(load_scenario, "tiny", {"plan.weight_grandfathering": 0.5})
    assert msg.startswith("plan") and "weights" in msg and "1.1" in msg
    ok = load_scenario("tiny", {"plan.weight_grandfathering": 0.3, "plan.weight_equality": 0.1})
    assert ok["plan.weight_equality"] == 0.1


def test_red_threshold_below_overrun_threshold():
    msg = _err(load_scenario, "tiny", {"monitoring.red_threshold": 0.01})
    assert msg.startswith("monitoring.red_threshold:")


def test_period_must_follow_previous_end():
    msg = _err(load_scenario, "chained", {"periods.1.start_year": 2032})
    assert msg.startswith("periods[1].start_year:") and "2030" in msg
    msg = _err(load_scenario, "chained", {"periods.1.start_year": 2030})  # overlap
    assert msg.startswith("periods[1].start_year:")
    # shorter first period: the second must move with it
    ok = load_scenario("chained", {"periods.0.years": 4, "periods.1.start_year": 2030})
    assert ok.periods[0]["end_year"] == 2029


def test_unknown_city_in_major_project():
    msg = _err(load_scenario, "default", {"major_projects.0.city": "Atlantis"})
    assert msg.startswith("major_projects[0].city:") and "Atlantis" in msg


def test_major_project_outside_the_plan_periods():
    msg = _err(load_scenario, "default", {"major_projects.0.year": 2024})
    assert msg.startswith("major_projects[0].year:")


def test_duplicate_city_names(tmp_path):
    msg = _err(load_scenario, "tiny", {"cities.Millbrook.name": "Harbour"})
    assert msg.startswith("cities:") and "Harbour" in msg
    p = _write(
        tmp_path,
        "dup.toml",
        'extends = "tiny"\n[[cities]]\nname = "A"\n[[cities]]\nname = "A"\n',
    )
    assert "duplicate" in _err(load_scenario, p)


def test_empty_city_name_and_no_cities(tmp_path):
    assert _err(load_scenario, "tiny", {"cities.0.name": ""}).startswith("cities[0].name:")
    p = _write(tmp_path, "nocity.toml", 'extends = "tiny"\ncities = []\n')
    assert _err(load_scenario, p).startswith("cities:")


def test_too_few_firms_for_the_cities():
    msg = _err(load_scenario, "default", {"province.n_firms": 10})
    assert msg.startswith("province.n_firms:") and "13 cities" in msg
    assert load_scenario("default", {"province.n_firms": 13})["province.n_firms"] == 13


def test_stat_lag_too_long_for_the_warm_up():
    # 4 warm-up years: lag <= 4 * 4 - 4 = 12 quarters publishes the first year before the plan
    assert load_scenario("tiny", {"monitoring.stat_lag_quarters": 12})
    msg = _err(load_scenario, "tiny", {"monitoring.stat_lag_quarters": 13})
    assert msg.startswith("run.warmup_years:")
    assert "monitoring.stat_lag_quarters = 13" in msg and "at least 5" in msg  # ceil(17 / 4)
    ok = load_scenario("tiny", {"monitoring.stat_lag_quarters": 13, "run.warmup_years": 5})
    assert ok.first_year == 2021


def test_shock_checks(tmp_path):
    base = 'extends = "tiny"\n[[shocks]]\n'
    p = _write(tmp_path, "s1.toml", base + "year = 2040\n")
    assert _err(load_scenario, p).startswith("shocks[0].year:")
    p = _write(tmp_path, "s2.toml", base + 'year = 2027\nsectors = "steel, textiles"\n')
    msg = _err(load_scenario, p)
    assert msg.startswith("shocks[0].sectors:") and "textiles" in msg
    p = _write(tmp_path, "s3.toml", base + 'year = 2027\nsectors = "steel, diffuse"\nsize = -0.1\n')
    assert load_scenario(p).shocks[0]["size"] == -0.1


def test_records_must_be_arrays_of_tables(tmp_path):
    p = _write(tmp_path, "r.toml", 'extends = "tiny"\nperiods = 3\n')
    assert _err(load_scenario, p).startswith("periods:")
    p = _write(tmp_path, "r2.toml", 'extends = "tiny"\nperiods = [1, 2]\n')
    assert _err(load_scenario, p).startswith("periods[0]:")
