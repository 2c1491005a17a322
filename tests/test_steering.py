"""Early tolerance of the status and closed-loop steering of the remaining budget
(sim/policies/steering.py; issue 8, docs/ODD.md 8.4 and 10.1)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import CarbonBudgetModel
from sim.policies.steering import (
    abatement_at,
    early_tolerance,
    projection,
    surcharge_for,
)
from sim.scenario import load_scenario


def test_early_tolerance_by_hand():
    assert early_tolerance(0, 0.1) == 0.0
    assert early_tolerance(1, 0.1) == pytest.approx(0.1)
    assert early_tolerance(4, 0.1) == pytest.approx(0.05)
    assert early_tolerance(16, 0.2) == pytest.approx(0.05)
    assert early_tolerance(9, 0.0) == 0.0


def test_projection_by_hand():
    q = np.array([10.0, 10.0, 10.0, 10.0])
    # flat: the last year's level, 10 per quarter
    np.testing.assert_allclose(projection(q, 40.0, 3, 0.0, 1), [10.0, 10.0, 10.0])
    # 10 % growth over the year before, clipped to 5 %: 10 x 1.05^(j/4)
    got = projection(q, 40.0 / 1.1, 4, 0.0, 0, growth_clip=0.05)
    np.testing.assert_allclose(got, 10.0 * 1.05 ** (np.arange(1, 5) / 4))
    # abatement decided (8 Mt/yr) counts from the quarter after the lag (2 quarters)
    np.testing.assert_allclose(projection(q, 40.0, 4, 8.0, 2), [10.0, 10.0, 8.0, 8.0])


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
    sc0 = load_scenario("default")
    sc1 = load_scenario("default", {"monitoring.early_tolerance": 0.15})
    over = []
    for sc in (sc0, sc1):
        m = CarbonBudgetModel(sc, 3)
        m.run_model()
        p0 = m.plans[0].p0
        over.append(int((m.q_status[p0 : p0 + 4] == 2).sum()))
    assert over[1] < over[0]


def test_steering_acts_only_in_its_window_and_never_when_off():
    sc = load_scenario("default", {"steering.years": 2})
    m = CarbonBudgetModel(sc, 2)
    m.run_model()
    p = m.plans[0]
    ev = m.events.to_frame()
    steer = ev[ev["kind"] == "steering"]
    assert len(steer) > 0
    assert (steer["t"] >= p.end_t + 1 - 8).all() and (steer["t"] <= p.end_t).all()
    off = CarbonBudgetModel(load_scenario("default"), 2)
    off.run_model()
    fr = off.events.to_frame()
    assert (fr["kind"] == "steering").sum() == 0
    # steering only adds abatement (a ratchet): at least as much is abated
    assert m.q["abatement_mt"].sum() >= off.q["abatement_mt"].sum()


@pytest.mark.slow
def test_early_tolerance_lowers_over_control_on_default():
    # paired over 20 seeds: the margin over the centre's target and the GDP loss fall
    from scipy import stats

    from sim.accounts import final_account
    from sim.compare import replicate_seeds
    from sim.runner import run_counterfactual

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
