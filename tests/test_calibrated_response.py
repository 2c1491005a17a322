"""Calibrated responses of the budget regime (issue 8): the fast estimate after
closures of outdated capacity, the consequences of trading and adjustment, and
the budget regime's landing near its target on several provinces."""

from __future__ import annotations

import numpy as np
import pytest

from sim.monitoring import Statistics


def _constant_statistics(ledger: bool) -> tuple[Statistics, np.ndarray]:
    """Two cities with constant quarters; official year 0 is published at the end
    of quarter 4; in quarter 5 city 0 closes outdated capacity emitting 8 Mt/yr
    with 1 TWh/yr of electricity and 2 bn CNY/yr of output (far dirtier than the
    average factor of its electricity and output)."""
    st = Statistics(12, 2, 1, 1, 0.0, np.zeros(2), trend_correction=False, ledger=ledger)
    el = np.array([10.0, 6.0])
    ind = np.array([20.0, 30.0])
    dg = np.array([40.0, 10.0])
    truth = 2.0 * el + 0.5 * ind + 0.1 * dg
    zero = np.zeros((2, 3))
    for t in range(9):
        closed_mt = np.zeros(2)
        closed_x = np.zeros((2, 3))
        if t >= 5:
            e_t, el_t, ind_t = truth - [2.0, 0.0], el - [0.25, 0.0], ind - [0.5, 0.0]
        else:
            e_t, el_t, ind_t = truth, el, ind
        if t == 5:
            closed_mt = np.array([8.0, 0.0])
            closed_x = np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]])
        st.record(t, e_t, el_t, ind_t, ind_t + dg, dg, zero, np.zeros(2), closed_mt, closed_x)
        st.publish(t)
        st.fast_estimate(t)
    return st, truth


def test_closures_in_the_ledger_keep_the_fast_estimate_exact():
    st, truth = _constant_statistics(ledger=True)
    # quarters 5-7: after the closure, estimated exactly (2 Mt less per quarter in city 0)
    np.testing.assert_allclose(st.fast[5:8], np.tile(truth - [2.0, 0.0], (3, 1)), rtol=1e-9)
    # before it, too
    np.testing.assert_allclose(st.fast[3], truth, rtol=1e-9)


def test_without_the_ledger_a_closure_biases_the_fast_estimate_upwards():
    st, truth = _constant_statistics(ledger=False)
    after = truth - [2.0, 0.0]
    # the regression takes out only the closed capacity's electricity and output at its
    # average factors (at most a few tenths of a Mt here): the estimate stays too high
    assert st.fast[6, 0] > after[0] + 1.0
    assert st.fast[6, 1] == pytest.approx(after[1], rel=1e-9)


# ------------------------------------------------ trading and adjustment --
from sim.compare import replicate_seeds  # noqa: E402
from sim.model import CarbonBudgetModel  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.stages.annual_account import breach_repayment, repay_within_cap  # noqa: E402
from sim.stages.warning import monitoring_schedule  # noqa: E402


def _through_account(m: CarbonBudgetModel, k: int) -> None:
    """Step ``m`` through the annual account of plan year ``k`` of its first period."""
    while not (m.plans and not np.isnan(m.plans[0].accounted[0, k])):
        m.step()


def test_breach_repayment_by_hand():
    # positions H - A: a 10 Mt breach, a 4 Mt breach the rule already re-spread by -3 Mt,
    # a breach fully re-spread, and a surplus
    pos = np.array([-10.0, -4.0, -2.0, 5.0])
    rule = np.array([0.0, -3.0, -2.5, 5.0])
    got = breach_repayment(pos, rule, share=1.0, penalty=1.1)
    # owed: 11, 4.4, 2.2, 0; minus what the rule took: 11, 1.4, 0, 0
    np.testing.assert_allclose(got, [11.0, 1.4, 0.0, 0.0])
    np.testing.assert_allclose(breach_repayment(pos, rule, 0.5, 1.0), [5.0, 0.0, 0.0, 0.0])


def test_repayment_stays_within_the_adjustment_cap_by_hand():
    # three remaining years, bound lo = 85 each (adjust_cap 0.15 under a plan of 100)
    proposal = np.array([[100.0, 100.0, 100.0], [90.0, 100.0, 100.0], [100.0, 100.0, 100.0]])
    lo = np.full((3, 3), 85.0)
    got = repay_within_cap(proposal, lo, np.array([10.0, 20.0, 60.0]))
    # 10 from next year; 5 then 15; 15 + 15 + 15 and the last 15 not repaid
    np.testing.assert_allclose(got[0], [90.0, 100.0, 100.0])
    np.testing.assert_allclose(got[1], [85.0, 85.0, 100.0])
    np.testing.assert_allclose(got[2], [85.0, 85.0, 85.0])
    assert (got >= lo).all()


def test_a_breach_is_repaid_from_next_years_target():
    # fixed rule: the rule moves nothing, so next year's target falls by penalty x breach
    sc = load_scenario("default", {"accounts.rule": "fixed", "accounts.breach_penalty": 1.2})
    m = CarbonBudgetModel(sc, 1)
    _through_account(m, 0)
    p = m.plans[0]
    dev = p.held_to[:, 0] - p.accounted[:, 0]
    assert (dev < 0).any() and (dev > 0).any()
    owed = 1.2 * np.clip(-dev, 0, None)
    floor = 0.05 * (p.T_initial[:, 1] + p.listed[:, 1])
    expect = np.maximum(p.T_initial[:, 1] + p.listed[:, 1] - owed, floor)
    np.testing.assert_allclose(p.T[:, 1], expect, rtol=1e-12)
    np.testing.assert_allclose(p.settled[:, 0], expect - p.T_initial[:, 1] - p.listed[:, 1])
    # later years untouched
    np.testing.assert_allclose(p.T[:, 2:], p.T_initial[:, 2:] + p.listed[:, 2:], rtol=1e-12)


def test_monitoring_schedule_counts_trades_and_settlements():
    m = CarbonBudgetModel(load_scenario("default"), 2)
    _through_account(m, 1)  # two accounts of the period done
    p = m.plans[0]
    assert np.abs(p.traded[:, :2]).sum() > 0 and np.abs(p.settled[:, :2]).sum() > 0
    last = p.p0 + 7
    s = monitoring_schedule(m, p, last)
    raw = m.schedule[p.p0 : last + 1]
    for k in range(2):
        got = s[4 * k : 4 * k + 4].sum(axis=0) - raw[4 * k : 4 * k + 4].sum(axis=0)
        np.testing.assert_allclose(got, p.traded[:, k] - p.settled[:, k], atol=1e-9)
    # a city that bought quota is held to more in the accounted year (its status eases)
    buyer = int(np.argmax(p.traded[:, 0]))
    assert s[:4, buyer].sum() > raw[:4, buyer].sum() - p.settled[buyer, 0] + 1e-9


def test_trading_changes_what_happens_after_it():
    # trades used to settle past deficits with no behaviour depending on them;
    # now a city's later status, packages and restriction follow its purchases
    sc = load_scenario("default")
    differ = 0
    for seed in replicate_seeds(0, 4):
        a = CarbonBudgetModel(sc, seed, regime="budget")
        b = CarbonBudgetModel(sc, seed, regime="budget_no_trading")
        a.run_model()
        b.run_model()
        assert a.plans[0].traded.any()
        differ += not np.array_equal(a.q_package, b.q_package)
        differ += not np.array_equal(a.q["restriction_gdp_loss"], b.q["restriction_gdp_loss"])
    assert differ >= 4


# ------------------------------------------------- properties over seeds --
from functools import cache  # noqa: E402
from pathlib import Path  # noqa: E402

from scipy import stats  # noqa: E402

from sim.runner import collect, run_counterfactual  # noqa: E402
from sim.stages.final_account import final_account  # noqa: E402

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
PROVINCES = (
    "default",
    str(EXPERIMENTS / "province21_total.toml"),
    str(EXPERIMENTS / "province6_dual.toml"),
)
N_SEEDS = 20


@cache
def _outcomes(scenario: str, regime: str, overrides: tuple = ()) -> list[dict]:
    """Per seed (20 replicate seeds of root 0): the final-account measures of
    ``regime`` plus the fast estimate's provincial bias and yearly growth."""
    sc = load_scenario(scenario, dict(overrides))
    out = []
    for seed in replicate_seeds(0, N_SEEDS):
        m = CarbonBudgetModel(sc, seed, regime=regime)
        m.run_model()
        me = collect(m, _cf(scenario, seed)).final_account["measures"]
        p = m.plans[-1]
        fast = m.stats.fast[p.p0 : p.end_t + 1]
        truth = m.stats.emissions[p.p0 : p.end_t + 1]
        ok = ~np.isnan(fast).any(axis=1)
        years = m.T // 4
        ann = m.stats.emissions[: 4 * years].reshape(years, 4, m.C).sum(axis=(1, 2))
        ly = p.end_t // 4
        me = dict(me, province_bias=float(np.mean(fast[ok].sum(1) / truth[ok].sum(1) - 1)),
                  growth_sd=float(np.std(ann[1:] / ann[:-1] - 1, ddof=1)),
                  final_year_change=float(ann[ly] / ann[ly - 1] - 1), mode=p.mode,
                  target=p.intensity_target,
                  policy_cost=me["restriction_gdp_loss_bn"] + float(m.q["abatement_cost"][p.p0 : p.end_t + 1].sum())
                  + me["fiscal_cost_bn"])  # fmt: skip
        out.append(me)
    return out


@cache
def _cf(scenario: str, seed: int):
    return run_counterfactual(load_scenario(scenario), seed)


def _interval(x) -> tuple[float, float, float]:
    x = np.asarray(x, dtype=float)
    h = stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return float(x.mean()), float(x.mean() - h), float(x.mean() + h)


@pytest.mark.slow
@pytest.mark.parametrize(
    "scenario", PROVINCES, ids=("default", "province21_total", "province6_dual")
)
def test_fast_estimate_unbiased_after_closures(scenario):
    rows = _outcomes(scenario, "budget")
    bias = [r["province_bias"] for r in rows]
    mape = [r["monitoring_mape"] for r in rows]
    assert all(abs(b) <= 0.03 for b in bias), bias
    assert 0.03 <= np.mean(mape) <= 0.13


@pytest.mark.slow
def test_budget_meets_the_intensity_target_on_default():
    rows = _outcomes("default", "budget")
    met = np.mean([r["target_met"] for r in rows])
    assert met >= 0.9


@pytest.mark.slow
def test_coordination_lowers_gdp_loss_on_default():
    # the budget regime's GDP loss falls against the same regime without five-year coordination
    rows = _outcomes("default", "budget")
    old = _outcomes("default", "budget", (("monitoring.province_first", False),))
    diff = [a["gdp_loss_bn"] - b["gdp_loss_bn"] for a, b in zip(rows, old, strict=True)]
    assert _interval(diff)[2] < 0


@pytest.mark.slow
def test_budget_lands_near_the_intensity_target_on_default():
    rows = _outcomes("default", "budget")
    margin = np.mean([r["intensity_reduction"] - r["target"] for r in rows])
    assert margin <= 0.025


@pytest.mark.slow
def test_budget_meets_a_total_cap():
    rows = _outcomes(PROVINCES[1], "budget")
    assert np.mean([r["target_met"] for r in rows]) >= 0.9


@pytest.mark.slow
def test_budget_uses_most_of_a_total_cap():
    rows = _outcomes(PROVINCES[1], "budget")
    # the cap is the centre's (fixed from the official base year), not the province's own budget
    share = [r["total_emissions_mt"] / r["central_cap_mt"] for r in rows]
    assert np.mean(share) >= 0.97


@pytest.mark.slow
def test_budget_meets_dual_control():
    # the 6-city dual-mode province, where the cap binds
    rows = _outcomes(PROVINCES[2], "budget")
    assert np.mean([r["target_met"] for r in rows]) >= 0.9


@pytest.mark.slow
def test_the_last_resort_buys_compliance_under_a_cap_with_gdp():
    # the steering's orderly restriction (steering.max_restriction) on the 21-city total-led
    # province: without it the cap is missed more often, and it costs GDP where it acts
    on = _outcomes(PROVINCES[1], "budget")
    off = _outcomes(PROVINCES[1], "budget", (("steering.max_restriction", 0.0),))
    assert np.mean([r["target_met"] for r in on]) > np.mean([r["target_met"] for r in off])
    diff = np.array([a["gdp_loss_bn"] - b["gdp_loss_bn"] for a, b in zip(on, off, strict=True)])
    # the seeds are the same until it first acts: where it never does, nothing differs
    acted = np.abs(diff) > 1e-9
    assert acted.sum() >= 3
    assert (diff[acted] > 0).all(), diff


@pytest.mark.slow
@pytest.mark.parametrize(
    "scenario", PROVINCES, ids=("default", "province21_total", "province6_dual")
)
def test_traditional_campaign_within_history_and_end_loaded(scenario):
    trad = _outcomes(scenario, "traditional")
    bud = _outcomes(scenario, "budget")
    # FACTS.md: single years of provincial emission growth between -9 % and +26 %;
    # standard deviation of yearly growth 2.4-9.2 % (CEADs 2011-19)
    assert all(-0.09 <= r["final_year_change"] <= 0.26 for r in trad)
    for rows in (trad, bud):
        assert 0.024 <= np.mean([r["growth_sd"] for r in rows]) <= 0.092
    # end-loading emerges from late information: the final-year share of GDP loss
    # exceeds the budget regime's (paired interval over seeds above zero)
    diff = [
        a["end_loadedness_gdp"] - b["end_loadedness_gdp"] for a, b in zip(trad, bud, strict=True)
    ]
    assert _interval(diff)[1] > 0
    assert np.mean([r["end_loadedness_gdp"] for r in trad]) < 1.0  # not by construction


HAND = Path(__file__).resolve().parent / "provinces"


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    ["province4_intensity", "province9_total", "province7_dual", "province11_total",
     "province8_dual_crash"],
)  # fmt: skip
def test_budget_meets_its_target_on_hand_written_provinces_at_other_seeds(name):
    # provinces the calibration never saw (4 cities intensity-led, 9 total-led, 7 dual,
    # 11 total-led through a chemicals boom and a recession, 8 dual through a steel slump
    # and a crash into the final year), at 60 seeds of two root seeds the calibration
    # did not use: >= 90 % met
    sc = load_scenario(str(HAND / f"{name}.toml"))
    met = []
    for root in (2026, 7):
        for seed in replicate_seeds(root, 30):
            m = CarbonBudgetModel(sc, seed)
            m.run_model()
            met.append(final_account(m, m.plans[0], None)["measures"]["target_met"])
    assert np.mean(met) >= 0.9, np.mean(met)


def test_repayment_never_zeroes_a_target_even_without_an_adjustment_cap():
    # accounts.adjust_cap = 1 lets a year's target fall to 0 under its bound; repayment
    # still stops at 5 % of the plan (this seed once divided by a zero target)
    sc = load_scenario("default", {"accounts.adjust_cap": 1.0, "monitoring.fast_noise": 0.3})
    m = CarbonBudgetModel(sc, 1669736841572013746)
    m.run_model()
    p = m.plans[0]
    assert (p.T > 0).all()
    assert (p.held_to[~np.isnan(p.held_to)] > 0).all()
