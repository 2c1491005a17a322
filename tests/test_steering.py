"""Early tolerance of the status and closed-loop steering of the remaining budget
(sim/stages/steering.py; issue 8, docs/ODD.md 8.4 and 10.1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.model import CarbonBudgetModel
from sim.scenario import load_scenario
from sim.stages.steering import (
    abatement_at,
    blended_growth,
    early_tolerance,
    official_trend,
    projection,
    restriction_share,
    surcharge_for,
)

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"


def test_early_tolerance_by_hand():
    assert early_tolerance(0, 0.1) == 0.0
    assert early_tolerance(1, 0.1) == pytest.approx(0.1)
    assert early_tolerance(4, 0.1) == pytest.approx(0.05)
    assert early_tolerance(16, 0.2) == pytest.approx(0.05)
    assert early_tolerance(9, 0.0) == 0.0


def test_projection_by_hand():
    # flat: the level, 10 per quarter
    np.testing.assert_allclose(projection(10.0, 0.0, 3, 0.0, 1), [10.0, 10.0, 10.0])
    # 5 % a year: 10 x 1.05^(j/4)
    got = projection(10.0, 0.05, 4, 0.0, 0)
    np.testing.assert_allclose(got, 10.0 * 1.05 ** (np.arange(1, 5) / 4))
    # abatement decided (8 Mt/yr) counts from the quarter after the lag (2 quarters)
    np.testing.assert_allclose(projection(10.0, 0.0, 4, 8.0, 2), [10.0, 10.0, 8.0, 8.0])


def test_blended_growth_by_hand():
    # a boom year of 9 % against an expected 5 %, weighted 0.5: 7 %
    assert blended_growth(0.09, 0.05, 0.5) == pytest.approx(0.07)
    assert blended_growth(0.09, 0.05, 1.0) == pytest.approx(0.09)  # the latest alone
    assert blended_growth(-0.02, 0.05, 0.0) == pytest.approx(0.05)  # the plan's alone


def test_official_trend_by_hand():
    # two cities; official emissions 100 then 99 (years 0, 1); GDP 1000 then 1100
    official = np.array([[60.0, 40.0], [59.0, 40.0], [np.nan, np.nan]])
    gdp_q = np.zeros((12, 2))
    gdp_q[0:4] = 125.0  # 1000 a year
    gdp_q[4:8] = 137.5  # 1100 a year
    # intensity 0.09 against 0.1: -10 %
    assert official_trend(official, gdp_q, 2, 0.5) == pytest.approx(0.99 / 1.1 - 1.0)
    assert official_trend(official, gdp_q, 2, 0.05) == pytest.approx(-0.05)  # clipped
    # the abatement in effect each year is added back: 1 Mt in year 0, 5 Mt in year 1
    # (a one-off step, not a rate) -> (104 / 1100) / (101 / 1000) - 1
    added = np.array([1.0, 5.0, 0.0])
    assert official_trend(official, gdp_q, 2, 0.5, added) == pytest.approx(
        (104.0 / 1100.0) / (101.0 / 1000.0) - 1.0
    )
    # and the output the province's own restriction withheld: 2 Mt and 50 bn CNY in
    # year 1 -> (106 / 1150) / (101 / 1000) - 1 (a restriction it may lift, not a trend)
    added_r = added + np.array([0.0, 2.0, 0.0])
    withheld = np.array([0.0, 50.0, 0.0])
    assert official_trend(official, gdp_q, 2, 0.5, added_r, withheld) == pytest.approx(
        (106.0 / 1150.0) / (101.0 / 1000.0) - 1.0
    )
    assert official_trend(official, gdp_q, 1, 0.5) == 0.0  # one year known: no trend


def test_surcharge_closes_the_required_reduction():
    # two firms, MAC(x) = 100 x / (0.5 - x); at price 0 they have abated nothing
    price = np.zeros(2)
    have = np.zeros(2)
    base = np.array([40.0, 60.0])
    scale = np.full(2, 100.0)
    xmax = np.full(2, 0.5)
    # at a surcharge of 100 CNY/t: x = 100 x 0.5 / 200 = 0.25 -> 25 Mt/yr
    assert abatement_at(100.0, price, have, base, scale, xmax) == pytest.approx(25.0)
    # 12.5 Mt over the two quarters it can reach needs 25 Mt/yr: the grid step 100
    s = surcharge_for(12.5, 2, 400.0, price, have, base, scale, xmax, steps=4)
    assert s == pytest.approx(100.0)
    # more than the largest surcharge can give: the largest
    assert surcharge_for(1e6, 2, 400.0, price, have, base, scale, xmax) == 400.0
    # nothing required, or no quarter left to reach: none
    assert surcharge_for(-5.0, 2, 400.0, price, have, base, scale, xmax) == 0.0
    assert surcharge_for(5.0, 0, 400.0, price, have, base, scale, xmax) == 0.0
    # what firms already did or decided counts: having 0.25, 100 CNY/t adds nothing
    assert abatement_at(100.0, price, np.full(2, 0.25), base, scale, xmax) == 0.0


def test_early_tolerance_softens_the_first_quarters():
    # wider thresholds early: fewer overrun city-quarters in the first year of the period
    over = []
    for tol in (0.0, 0.15):
        sc = load_scenario("default", {"monitoring.early_tolerance": tol, "steering.years": 0})
        m = CarbonBudgetModel(sc, 3)
        m.run_model()
        p0 = m.plans[0].p0
        over.append(int((m.q_status[p0 : p0 + 4] == 2).sum()))
    assert over[1] < over[0]


def test_steering_acts_only_in_its_window_and_never_when_off():
    # the 21-city total-led province: cap steering from the second year
    sc = load_scenario(str(EXPERIMENTS / "province21_total.toml"))
    on = CarbonBudgetModel(sc, 5)
    on.run_model()
    p = on.plans[0]
    ev = on.events.to_frame()
    steer = ev[ev["kind"] == "steering"]
    assert len(steer) > 0
    assert (steer["t"] >= p.end_t + 1 - 4 * sc["steering.cap_years"]).all()
    assert (steer["t"] <= p.end_t).all()
    sc_off = load_scenario(str(EXPERIMENTS / "province21_total.toml"),
                           {"steering.years": 0, "steering.cap_years": 0})  # fmt: skip
    off = CarbonBudgetModel(sc_off, 5)
    off.run_model()
    fr = off.events.to_frame()
    assert (fr["kind"] == "steering").sum() == 0
    # steering only adds abatement (a ratchet): at least as much is abated
    assert on.q["abatement_mt"].sum() >= off.q["abatement_mt"].sum()


@pytest.mark.slow
def test_early_tolerance_lowers_over_control_on_default():
    # paired over 20 seeds: the margin over the centre's target and the GDP loss fall
    from scipy import stats

    from sim.compare import replicate_seeds
    from sim.runner import run_counterfactual
    from sim.stages.final_account import final_account

    d_margin, d_gdp = [], []
    for seed in replicate_seeds(0, 20):
        cf = run_counterfactual(load_scenario("default"), seed)
        me = []
        for tol in (0.0, 0.1):
            m = CarbonBudgetModel(
                load_scenario("default", {"monitoring.early_tolerance": tol}), seed
            )
            m.run_model()
            me.append(final_account(m, m.plans[0], cf)["measures"])
        d_margin.append(me[1]["intensity_reduction"] - me[0]["intensity_reduction"])
        d_gdp.append(me[1]["gdp_loss_bn"] - me[0]["gdp_loss_bn"])
    for d in (d_margin, d_gdp):
        x = np.asarray(d)
        h = stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
        assert x.mean() + h < 0


def test_restriction_share_by_hand():
    # 6 Mt left that abatement cannot close; withholding all output would close 120 Mt
    assert restriction_share(6.0, 120.0) == pytest.approx(0.05)
    # nothing left, or withholding does not lower the control (key firms below target)
    assert restriction_share(0.0, 120.0) == 0.0
    assert restriction_share(-3.0, 120.0) == 0.0
    assert restriction_share(6.0, 0.0) == 0.0
    assert restriction_share(6.0, -10.0) == 0.0


def test_steering_restricts_only_when_the_surcharge_is_exhausted():
    # a tiny largest surcharge leaves the gap to the restriction; it stays within its bound,
    # is lifted by the period's end, and never comes without the surcharge at its largest
    path = str(EXPERIMENTS / "province21_total.toml")
    sc = load_scenario(path, {"steering.max_surcharge": 25.0, "steering.max_restriction": 0.08})
    m = CarbonBudgetModel(sc, 5)
    m.run_model()
    ev = m.events.to_frame()
    rs = ev[ev["kind"] == "steering_restriction"]
    assert len(rs) > 0 and rs["value"].max() > 0
    assert (rs["value"] <= 0.08 + 1e-12).all()
    withheld = m.steering_withheld_mt[m.plans[0].p0 :]
    assert withheld.sum() > 0
    st = ev[ev["kind"] == "steering"]
    first_r = int(rs[rs["value"] > 0]["t"].min())
    assert st[st["t"] <= first_r]["value"].max() == pytest.approx(25.0)
    # with no restriction allowed, none happens and more is emitted over the period
    off = CarbonBudgetModel(load_scenario(path, {"steering.max_surcharge": 25.0,
                                                 "steering.max_restriction": 0.0}), 5)  # fmt: skip
    off.run_model()
    assert (off.events.to_frame()["kind"] == "steering_restriction").sum() == 0
    assert off.steering_withheld_mt.sum() == 0
    p = m.plans[0]
    assert m.q["emissions"][p.p0 : p.end_t + 1].sum() < off.q["emissions"][p.p0 : p.end_t + 1].sum()


def test_a_cap_restricts_late_only_against_a_breach_of_the_cap():
    # with no abatement able to arrive in time (steering.min_quarters beyond the period)
    # the price never acts; under a cap the last resort still starts, but only against a
    # projected breach of the cap itself: the reduction required below the aim when it
    # starts is more than the aim's distance below the cap (steering.safety of it);
    # under an intensity target it never starts
    path = str(EXPERIMENTS / "province21_total.toml")
    ov = {"steering.min_quarters": 20, "steering.safety": 0.04}
    started = 0
    for seed in range(4):
        m = CarbonBudgetModel(load_scenario(path, ov), seed)
        m.run_model()
        ev = m.events.to_frame()
        assert (ev[ev["kind"] == "steering"]["value"] == 0).all()  # the price never acts
        rs = ev[(ev["kind"] == "steering_restriction") & (ev["value"] > 0)]
        if len(rs):
            started += 1
            assert rs["amount"].iloc[0] > 0.04 * float(m.plans[0].budget_ref.sum())
    assert started > 0
    m = CarbonBudgetModel(load_scenario("default", {"steering.min_quarters": 20}), 0)
    m.run_model()
    assert (m.events.to_frame()["kind"] == "steering_restriction").sum() == 0
