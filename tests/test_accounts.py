"""Five-year final account and quality evaluation [五年决算, 质量评价] (MODEL.md
4.8): scoring functions on hand-built measures, the structure of a run's final
account, the reserve bookkeeping and the counterfactual-based measures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import load_scenario, run
from sim.model import CarbonBudgetModel
from sim.stages.final_account import DIMENSIONS, evaluate, evaluation_table, grade, ramp

# -------------------------------------------------------------------- ramp --


@pytest.mark.parametrize(
    ("x", "good", "bad", "score"),
    [
        (0.0, 0.0, 0.15, 100.0),
        (0.15, 0.0, 0.15, 0.0),
        (0.075, 0.0, 0.15, 50.0),
        (0.03, 0.0, 0.15, 80.0),  # 100 x (0.03 - 0.15) / (0 - 0.15)
        (-1.0, 0.0, 0.15, 100.0),  # better than good: clipped
        (0.5, 0.0, 0.15, 0.0),  # worse than bad: clipped
        (0.75, 1.0, 0.0, 75.0),  # rising measure (higher is better)
        (3.0, 6.0, 0.0, 50.0),  # warning lead: 3 of 6 quarters
        (0.5, 0.2, 0.8, 50.0),  # end-loadedness halfway between 0.2 and 0.8
        (float("nan"), 0.0, 1.0, 0.0),  # NaN counts as 0
        (float("inf"), 0.0, 1.0, 0.0),
        (None, 0.0, 1.0, 0.0),
    ],
)
def test_ramp(x, good, bad, score):
    assert ramp(x, good, bad) == pytest.approx(score, abs=1e-9)


# ------------------------------------------------------------------- grade --


@pytest.mark.parametrize(
    ("composite", "met", "binding", "expected"),
    [
        (95.0, True, True, "excellent"),
        (95.0, False, True, "fail"),  # a missed binding target fails regardless
        (95.0, False, False, "excellent"),  # a non-binding target does not
        (90.0, True, True, "excellent"),
        (89.99, True, True, "good"),
        (85.0, True, True, "good"),
        (80.0, True, True, "good"),
        (79.9, True, True, "pass"),
        (60.0, True, True, "pass"),
        (59.9, True, True, "fail"),
        (0.0, True, False, "fail"),
    ],
)
def test_grade(composite, met, binding, expected):
    assert grade(composite, met, binding) == expected


# ------------------------------------------------------ final account ----


def test_final_account_structure(tiny_run):
    fa = tiny_run.final_account
    assert fa["period"] == 0 and fa["start_year"] == 2026 and fa["end_year"] == 2030
    assert fa["mode"] == "intensity" and fa["regime"] == "budget" and fa["binding"] is True
    assert set(fa["dimensions"]) == {"rationality", "effectiveness", "coordination", "capacity"}
    for d, s in fa["dimensions"].items():
        assert 0.0 <= s <= 100.0, d
    # composite and grade follow from the measures by evaluate() and grade()
    table = evaluation_table(tiny_run.scenario.values)
    scores = evaluate(fa["measures"], table)
    for d in DIMENSIONS:
        assert fa["dimensions"][d] == pytest.approx(scores[d], rel=1e-12)
    assert fa["composite"] == pytest.approx(scores["composite"], rel=1e-12)
    assert fa["grade"] == grade(fa["composite"], fa["target_met"], fa["binding"])
    assert fa["grade"] in {"excellent", "good", "pass", "fail"}
    # measures: flat, every value a float (not a bool, not a container)
    for k, v in fa["measures"].items():
        assert type(v) is float, (k, type(v))
    needed = set(table.refs) | {"overshoot", "target_met"}
    assert needed <= set(fa["measures"])
    assert fa["measures"]["target_met"] == float(fa["target_met"])
    # per city
    assert [c["city"] for c in fa["cities"]] == tiny_run.scenario.city_names
    for c in fa["cities"]:
        assert c["compliance_ratio"] == pytest.approx(c["emissions_mt"] / c["held_to_mt"])
        assert c["compliant"] == (c["compliance_ratio"] <= 1 + 1e-9)
    total = sum(c["emissions_mt"] for c in fa["cities"])
    assert total == pytest.approx(fa["measures"]["total_emissions_mt"], rel=1e-12)
    compliant = np.mean([c["compliant"] for c in fa["cities"]])
    assert fa["measures"]["compliant_share"] == pytest.approx(compliant)


def test_final_account_totals_match_the_annual_table(default_run):
    fa = default_run.final_account
    ann = default_run.annual
    ann = ann[(ann["city"] == "province") & (ann["period"] == 0)]
    assert fa["measures"]["total_emissions_mt"] == pytest.approx(ann["emissions"].sum(), rel=1e-12)
    assert fa["measures"]["gdp_total_bn"] == pytest.approx(ann["gdp"].sum(), rel=1e-12)
    # intensity reduction: true final-year intensity against the centre's base intensity
    # (official base-year emissions / base-year GDP; the base year is the year before)
    m = fa["measures"]
    base = default_run.annual[(default_run.annual["city"] == "province")
                              & (default_run.annual["year"] == 2025)].iloc[0]  # fmt: skip
    final = ann[ann["year"] == 2030].iloc[0]
    assert m["final_intensity"] == pytest.approx(final["emissions"] / final["gdp"], rel=1e-12)
    assert m["central_base_intensity"] == pytest.approx(m["central_base_mt"] / base["gdp"])
    # the official figure differs from truth by the statistical error (s.d. 1 % per city)
    assert abs(m["central_base_mt"] / base["emissions"] - 1) < 0.03
    achieved = 1 - m["final_intensity"] / m["central_base_intensity"]
    assert m["intensity_reduction"] == pytest.approx(achieved, rel=1e-12)
    assert m["intensity_met"] == float(achieved >= 0.17 - 1e-9)
    assert m["central_target_intensity"] == pytest.approx(0.83 * m["central_base_intensity"])


@pytest.mark.parametrize("regime", ["budget", "traditional"])
def test_end_loadedness_in_unit_interval(default, regime):
    res = run(default, 4, regime=regime)
    m = res.final_account["measures"]
    for k in ("end_loadedness_gdp", "end_loadedness_abatement", "end_loadedness_restriction"):
        assert math.isnan(m[k]) or 0.0 <= m[k] <= 1.0, (k, m[k])
    assert 0.0 <= m["end_loadedness"] <= 1.0
    # restriction end-loadedness: share of the period's restriction loss in its final 4 quarters
    q = res.quarterly
    q = q[(q["city"] == "province") & (q["period"] == 0)]
    rl = q["restriction_gdp_loss"].to_numpy()
    if rl.sum() > 0:
        assert m["end_loadedness_restriction"] == pytest.approx(rl[-4:].sum() / rl.sum())
    else:
        assert math.isnan(m["end_loadedness_restriction"])


# ---------------------------------------------------------------- reserve --


@pytest.mark.parametrize("emissions_mt", [6.0, 40.0])
def test_listed_quota_never_exceeds_the_reserve(emissions_mt, rebased_reference):
    sc = load_scenario("default", {"major_projects.0.emissions_mt": emissions_mt,
                                   "major_projects.0.output_bn": 10 * emissions_mt,
                                   "projects.strategic_prob": 1.0})  # fmt: skip
    for seed in range(4):
        m = CarbonBudgetModel(sc, seed, firm_agents=False)
        m.run_model()
        p = m.plans[0]
        granted = p.listed.sum(axis=0)
        assert granted.sum() > 0  # organic major projects did receive listed quota
        rebased_reference(m, p)  # reserve_ref: the reserve set aside, re-based with the plan
        assert np.all(granted <= np.maximum(p.reserve_initial, p.reserve_ref) + 1e-9)
        assert np.all(p.reserve >= -1e-9)
        # the reserve is what was set aside (re-based) minus what was granted, year by year
        # (a year granted out before a downward re-basing stays at zero)
        np.testing.assert_allclose(p.reserve, np.clip(p.reserve_ref - granted, 0, None), atol=1e-9)
        ev = m.events.to_frame()
        grants = ev[ev["kind"] == "listed_quota_granted"]
        assert grants["amount"].sum() == pytest.approx(p.listed.sum(), rel=1e-12)


def test_scheduled_major_project_granted_listed_quota_when_the_reserve_holds_it(
    rebased_reference,
):
    # only the scheduled project is major (threshold 100 Mt for organic ones): a 6 Mt/yr
    # complex proposed 2027 Q2 (t = 21), online after 4 quarters at t = 25 = plan year 2
    # quarter 2 -> needs 6 x 0.75 = 4.5 Mt in 2028 and 6 Mt in 2029 and 2030 = 16.5 Mt
    o = {"projects.major_project_mt": 100.0, "projects.strategic_prob": 1.0}
    m = CarbonBudgetModel(load_scenario("default", o), 1, firm_agents=False)
    m.run_model()
    p = m.plans[0]
    seagate = m.sc.city_names.index("Seagate")
    np.testing.assert_allclose(p.listed[seagate], [0.0, 0.0, 4.5, 6.0, 6.0], rtol=1e-12)
    assert p.listed.sum() == pytest.approx(16.5)
    assert p.listed.sum(axis=0) @ np.ones(5) == pytest.approx(p.listed[seagate].sum())
    rebased_reference(m, p)
    np.testing.assert_allclose(p.reserve, p.reserve_ref - p.listed.sum(axis=0), atol=1e-9)
    # a 40 Mt/yr complex does not fit in a ~13 Mt/yr reserve: a phased offset plan instead
    o40 = {**o, "major_projects.0.emissions_mt": 40.0, "major_projects.0.output_bn": 400.0}
    m40 = CarbonBudgetModel(load_scenario("default", o40), 1, firm_agents=False)
    m40.run_model()
    assert m40.plans[0].listed.sum() == 0.0
    ev = m40.events.to_frame()
    off = ev[(ev["kind"] == "major_project_offset_plan") & (ev["firm"] == int(m40.major_rows[0]))]
    assert len(off) == 1
    # offset = offset_ratio (0.5) x 40 Mt/yr
    assert off["amount"].iloc[0] == pytest.approx(20.0)


def test_no_reserve_regime_has_no_reserve_and_no_listed_quota(default):
    res = run(default, 1, regime="budget_no_reserve", counterfactual=False)
    m = res.final_account["measures"]
    assert m["reserve_initial_mt"] == 0.0
    assert m["listed_quota_mt"] == 0.0
    assert m["reserve_use"] == 0.0
    assert (res.events["kind"] == "listed_quota_granted").sum() == 0


# ---------------------------------------------------------- counterfactual --


def test_gdp_loss_measures_need_the_counterfactual(tiny):
    res = run(tiny, 7, counterfactual=False)
    m = res.final_account["measures"]
    for k in ("gdp_loss_bn", "gdp_loss_share", "gdp_loss_per_mt", "end_loadedness_gdp",
              "abatement_mt", "end_loadedness_abatement"):  # fmt: skip
        assert math.isnan(m[k]), k
    # without the counterfactual, the scored end-loadedness is the mean final-year share of
    # what the run itself records: production-restriction losses and completed abatement
    # (each only where there is any; 0.2 = even spread when there is none)
    q = res.quarterly
    p = q[(q.city == "province") & (q.period == 0)]
    shares = [
        s[p.year == 2030].sum() / s.sum()
        for s in (p.restriction_gdp_loss, p.abatement_mt)
        if s.sum() > 0
    ]
    expected = sum(shares) / len(shares) if shares else 0.2
    assert m["end_loadedness"] == pytest.approx(expected, rel=1e-12)


def test_gdp_loss_is_measured_against_the_no_policy_run(default):
    res = run(default, 2, regime="traditional")
    none = run(default, 2, regime="none", counterfactual=False)
    m = res.final_account["measures"]

    def period_gdp(r):
        q = r.quarterly
        return q.loc[(q["city"] == "province") & (q["period"] == 0), "gdp"].sum()

    loss = period_gdp(none) - period_gdp(res)
    assert m["gdp_loss_bn"] == pytest.approx(loss, rel=1e-9)
    assert m["gdp_loss_share"] == pytest.approx(loss / period_gdp(none), rel=1e-9)
    # the none regime measured against itself loses nothing
    self_cf = run(default, 2, regime="none").final_account["measures"]
    assert self_cf["gdp_loss_bn"] == 0.0 and self_cf["abatement_mt"] == 0.0


def test_measures_agree_with_the_event_log(default_run):
    fa = default_run.final_account
    m = fa["measures"]
    ev = default_run.events
    C = len(default_run.scenario.cities)
    per = ev[(ev["year"] >= fa["start_year"]) & (ev["year"] <= fa["end_year"])]
    assert m["n_adjustments"] == (per["kind"] == "adjustment").sum()
    assert m["adjustments_per_city_year"] == pytest.approx(m["n_adjustments"] / (C * 5))
    assert m["package_switches"] == (per["kind"] == "package_switch").sum()
    assert m["policy_volatility"] == pytest.approx(m["package_switches"] / (C * 5))
    grants = per.loc[per["kind"] == "listed_quota_granted", "amount"].sum()
    assert m["listed_quota_mt"] == pytest.approx(grants, rel=1e-12)
    assert m["reserve_use"] == pytest.approx(m["listed_quota_mt"] / m["reserve_initial_mt"])
    reserve = per.loc[per["kind"] == "plan_reserve", "amount"].sum()
    # the reserve set aside at plan time, less what negotiation granted from it
    nego = per.loc[per["kind"] == "negotiation_grant", "amount"].sum()
    assert m["reserve_initial_mt"] == pytest.approx(reserve - nego, rel=1e-9)
    # share of quarters in overrun, from the quarterly status of the cities
    q = default_run.quarterly
    q = q[(q["period"] == 0) & (q["city"] != "province")]
    assert m["overrun_quarter_share"] == pytest.approx((q["status"] == "overrun").mean())
