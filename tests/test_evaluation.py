"""Quality evaluation of the five-year final account (docs/ODD.md 8.11):
hand-computed scores for each dimension and stage, the parameter table as the
one home of reference values and weights, effectiveness that ranks every miss
below every run that meets the target, and rationality blind to bookkeeping."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from sim import load_scenario
from sim.model import CarbonBudgetModel
from sim.params import EVALUATION_MEASURES, PARAMS, SEED, STAGE_MEASURES
from sim.policies.regimes import REGIMES as ALL_REGIMES
from sim.runner import Counterfactual, run, run_counterfactual
from sim.stages.final_account import (
    DEFAULT_TABLE,
    DIMENSIONS,
    STAGES,
    effectiveness_score,
    evaluate,
    evaluation_table,
    final_account,
)

REGIMES = tuple(ALL_REGIMES)


def defaults() -> dict:
    return {k: p.default for k, p in PARAMS.items()}


def good_measures() -> dict[str, float]:
    m = {name: good for name, (good, _) in DEFAULT_TABLE.refs.items()}
    return {**m, "target_met": 1.0, "overshoot": 0.0}


def hand_measures() -> dict[str, float]:
    """Measures whose scores are worked out by hand in the tests below."""
    m = good_measures()
    m.update({
        # rationality
        "plan_error": 0.075,  # 50 points, weight 0.3
        "forecast_error_gdp": 0.05,  # 50, weight 0.2
        "allocation_dispersion": 0.20,  # 0, weight 0.2
        "feasible_share": 1.0,  # 100, weight 0.3
        # effectiveness (besides completion)
        "overrun_quarter_share": 0.25,  # 50, weight 0.15
        "gdp_loss_per_mt": 1.0,  # 50, weight 0.25
        "end_loadedness": 0.2,  # 100, weight 0.3
        "policy_volatility": 0.0,  # 100, weight 0.1
        "overachievement": 0.05,  # 50, weight 0.2
        # coordination
        "compliance_dispersion": 0.10,  # 50, weight 0.25
        "compliant_share": 0.5,  # 50, weight 0.25
        "deficit_covered_by_trade": 1.0,  # 100, weight 0.2
        "reserve_use": 0.25,  # 50, weight 0.15
        "assessment_share": 0.0,  # 0, weight 0.15
        # capacity
        "fiscal_cost_per_mt": 0.25,  # 50, weight 0.35
        "monitoring_mape": float("nan"),  # 0, weight 0.35
        "warning_lead_quarters": 3.0,  # 50, weight 0.3
        # stage-only measures
        "base_year_error": 0.05,  # 50
        "monitoring_bias_abs": 0.05,  # 50
        "account_error": 0.02,  # 80
    })  # fmt: skip
    return m


# ------------------------------------------------------- hand-computed ---


def test_all_good_scores_100_everywhere():
    out = evaluate(good_measures())
    for k in (*DIMENSIONS, "composite", *(f"stage_{s}" for s in STAGES)):
        assert out[k] == pytest.approx(100.0), k


def test_rationality_hand_computed():
    # (0.3 x 50 + 0.2 x 50 + 0.2 x 0 + 0.3 x 100) / 1.0 = 55
    assert evaluate(hand_measures())["rationality"] == pytest.approx(55.0)


def test_effectiveness_hand_computed_met_and_missed():
    # quality Q = (0.15 x 50 + 0.25 x 50 + 0.3 x 100 + 0.1 x 100 + 0.2 x 50) / 1.0 = 70
    m = hand_measures()
    assert evaluate(m)["effectiveness"] == pytest.approx(50 + 50 * 0.70)  # 85
    # missed by 5 % (overshoot.bad 10 %): 50 x (1 - 0.5) x (1 + 0.7) / 2 = 21.25
    m.update(target_met=0.0, overshoot=0.05)
    assert evaluate(m)["effectiveness"] == pytest.approx(21.25)
    # missed by the bad overshoot or more: 0 whatever the quality
    m.update(overshoot=0.25)
    assert evaluate(m)["effectiveness"] == 0.0


def test_coordination_hand_computed():
    # 0.25 x 50 + 0.25 x 50 + 0.2 x 100 + 0.15 x 50 + 0.15 x 0 = 52.5
    assert evaluate(hand_measures())["coordination"] == pytest.approx(52.5)


def test_capacity_hand_computed():
    # 0.35 x 50 + 0.35 x 0 (NaN) + 0.3 x 50 = 32.5
    assert evaluate(hand_measures())["capacity"] == pytest.approx(32.5)


def test_composite_hand_computed():
    # 0.25 x 55 + 0.35 x 85 + 0.2 x 52.5 + 0.2 x 32.5 = 60.5
    assert evaluate(hand_measures())["composite"] == pytest.approx(60.5)


def test_stage_indicators_hand_computed():
    out = evaluate(hand_measures())
    assert out["stage_plan"] == pytest.approx((50 + 50 + 50 + 100) / 4)
    assert out["stage_monitoring"] == pytest.approx((0 + 50 + 50) / 3)
    assert out["stage_regulation"] == pytest.approx((50 + 50 + 100 + 100 + 0) / 5)
    assert out["stage_accounts"] == pytest.approx((80 + 50 + 100) / 3)


# ------------------------------------------------------- parameter table --


def test_every_reference_and_weight_is_a_parameter_row_with_a_source():
    for dim, rows in EVALUATION_MEASURES.items():
        for m, *_ in rows:
            for part in ("good", "bad", "weight"):
                p = PARAMS[f"evaluation.{dim}.{m}.{part}"]
                assert p.source and p.source != SEED, p.name
    for m, *_ in STAGE_MEASURES:
        assert PARAMS[f"evaluation.stage.{m}.good"].source != SEED
    for name, p in PARAMS.items():
        if name.startswith(("evaluation.", "plan.weight_")):
            assert p.source != SEED and "Zhang, Mu, Li" not in p.source, name


def test_the_table_drives_the_scores():
    v = defaults()
    v["evaluation.rationality.plan_error.bad"] = 0.30  # 0.075 -> 75 points
    v["evaluation.rationality.allocation_dispersion.weight"] = 0.0
    out = evaluate(hand_measures(), evaluation_table(v))
    # (0.3 x 75 + 0.2 x 50 + 0.3 x 100) / 0.8
    assert out["rationality"] == pytest.approx((22.5 + 10 + 30) / 0.8)
    v["evaluation.effectiveness.completion_floor"] = 80.0
    assert evaluate(hand_measures(), evaluation_table(v))["effectiveness"] == pytest.approx(94.0)
    v["evaluation.weight_capacity"] = 0.0
    out = evaluate(hand_measures(), evaluation_table(v))
    assert out["composite"] == pytest.approx(
        (0.25 * out["rationality"] + 0.35 * 94.0 + 0.2 * 52.5) / 0.8
    )


def test_equal_good_and_bad_is_refused_naming_the_key():
    v = defaults()
    v["evaluation.capacity.monitoring_mape.bad"] = 0.0
    with pytest.raises(ValueError, match=r"^evaluation\.capacity\.monitoring_mape\.good: "):
        evaluation_table(v)


def test_a_scenario_with_equal_good_and_bad_is_refused_at_load(tmp_path):
    from sim.scenario import ScenarioError

    with pytest.raises(
        ScenarioError, match=r"^evaluation\.rationality\.plan_error\.good: must differ"
    ):
        load_scenario("tiny", {"evaluation.rationality.plan_error.good": 0.15})
    from sim.cli import main

    code = main(["run", "tiny", "--set", "evaluation.rationality.plan_error.good=0.15",
                 "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 2 and not (tmp_path / "out").exists()


def test_every_miss_scores_below_every_run_that_meets_the_target():
    rng = np.random.default_rng(3)
    for floor in (1.0, 30.0, 50.0, 99.0):
        met = [effectiveness_score(True, 0.0, q, floor, 0.1) for q in rng.uniform(0, 100, 200)]
        missed = [effectiveness_score(False, o, q, floor, 0.1)
                  for o, q in zip(rng.uniform(1e-9, 0.5, 200), rng.uniform(0, 100, 200), strict=True)]  # fmt: skip
        assert max(missed) < min(met), floor
        assert effectiveness_score(False, 1e-9, 100.0, floor, 0.1) < floor


# ----------------------------------------------------------- model level --

SMALL = """
name = "small_total"
description = "Two cities, total-led: a small province for the evaluation tests"

[province]
name = "Small province"
base_emissions_mt = 40.0
base_gdp_bn = 700.0
n_firms = 24

[[periods]]
start_year = 2026
years = 5
mode = "total"
intensity_target = 0.17
total_change = -0.03

[[cities]]
name = "Upriver"
gdp_share = 0.6
population_m = 3.0
industry_mix = 1.2

[[cities]]
name = "Downriver"
gdp_share = 0.4
population_m = 2.0
industry_mix = 0.8
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = Path(tmp_path_factory.mktemp("sc")) / "small_total.toml"
    path.write_text(SMALL)
    return load_scenario(path)


@pytest.mark.parametrize("name", ["tiny", "default", "small", "small_dual"])
def test_none_scores_lowest_on_effectiveness_when_another_regime_meets(name, small):
    sc = {"small": small, "small_dual": small.with_overrides({"periods.0.mode": "dual"})}.get(
        name
    ) or load_scenario(name)
    seeds = (0, 1, 2) if name != "default" else (1, 2)
    compared = 0
    for seed in seeds:
        cf = run_counterfactual(sc, seed)
        fas = {r: run(sc, seed, regime=r, counterfactual=cf).final_account for r in REGIMES}
        if fas["none"]["target_met"]:
            continue
        eff = {r: fa["dimensions"]["effectiveness"] for r, fa in fas.items()}
        meeting = [r for r, fa in fas.items() if fa["target_met"]]
        for r in meeting:
            assert eff[r] > eff["none"], (name, seed, r, eff)
        compared += len(meeting)
    assert compared > 0, f"{name}: no seed where a regime met the target and none missed it"


def _finished(sc, seed: int) -> CarbonBudgetModel:
    m = CarbonBudgetModel(sc, seed)
    m.run_model()
    return m


def test_bookkeeping_neither_earns_nor_costs_rationality(tiny):
    """Two runs that differ only in bookkeeping: the same run, once as it is and
    once with adjustments recorded that moved the remaining targets but changed
    nothing real (the outcome is the same)."""
    m = _finished(tiny, 7)
    cf = Counterfactual.of(_finished(load_scenario("tiny", {"regime.name": "none"}), 7))
    plan = m.plans[0]
    base = final_account(m, plan, cf)
    booked = copy.deepcopy(plan)
    booked.T[:, 2:] *= 1.07
    booked.I_path[:, 2:] *= 1.07
    booked.n_adjustments += 2 * m.C
    booked.adjustment_volume += float(0.07 * plan.T[:, 2:].sum())
    fa = final_account(m, booked, cf)
    assert fa["measures"]["n_adjustments"] != base["measures"]["n_adjustments"]
    assert fa["measures"]["adjustment_size"] != base["measures"]["adjustment_size"]
    assert fa["dimensions"]["rationality"] == base["dimensions"]["rationality"]
    assert fa["measures"]["stage_plan"] == base["measures"]["stage_plan"]


def test_rationality_follows_the_initial_plan_not_the_adjusted_one(tiny):
    """The same outcome judged against a worse initial plan scores lower."""
    m = _finished(tiny, 7)
    plan = m.plans[0]
    base = final_account(m, plan)["dimensions"]["rationality"]
    worse = copy.deepcopy(plan)
    worse.T_initial = worse.T_initial * np.array([1.3, 0.8, 1.0])[:, None]
    worse.budget = worse.budget * 1.1
    assert final_account(m, worse)["dimensions"]["rationality"] < base
