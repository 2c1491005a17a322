"""The traditional regime as history describes it (issue 8): ordinary graded
packages driven by official statistics only, an annual assessment without
adjustment, and a campaign bounded by history."""

from __future__ import annotations

import numpy as np

from sim.model import CarbonBudgetModel
from sim.policies.packages import ALL_KEYS
from sim.scenario import load_scenario


def test_traditional_packages_come_late_from_official_statistics():
    sc = load_scenario("default")
    m = CarbonBudgetModel(sc, 3, regime="traditional")
    m.run_model()
    p = m.plans[0]
    first_pub = int(m.stats.published_at[p.p0 // 4])  # the period's first year published
    assert first_pub == p.p0 + 3 + sc["monitoring.stat_lag_quarters"]
    pk = m.q_package[p.p0 : p.end_t + 1]
    # the ordinary packages run (not the all-zero 'off' package) ...
    assert (pk != ALL_KEYS.index("off")).all()
    # ... but no city leaves the starting balance package before the period's first
    # official year is published (nothing of the period is known before)
    before = m.q_package[p.p0 : first_pub]
    assert (before == ALL_KEYS.index("balance")).all()
    after = m.q_package[first_pub : p.end_t + 1]
    assert (after != ALL_KEYS.index("balance")).any()


def test_traditional_assessment_never_adjusts_nor_repays(rebased_reference):
    m = CarbonBudgetModel(load_scenario("default"), 3, regime="traditional")
    m.run_model()
    p = m.plans[0]
    assert (p.held_to > p.accounted).any() and (p.held_to < p.accounted).any()
    np.testing.assert_array_equal(p.settled, 0.0)
    # the plan moves only by listed quota and the re-basing on the official base year
    assert rebased_reference(m, p) >= 0
    np.testing.assert_allclose(p.T, p.T_ref + p.listed, rtol=1e-12)


def test_campaign_restriction_bounded_by_its_parameter():
    sc = load_scenario("default", {"regime.campaign_max_restriction": 0.03})
    m = CarbonBudgetModel(sc, 3, regime="traditional")
    seen = 0.0
    while m.t < m.T:
        m.step()
        seen = max(seen, float(m.campaign_restriction.max()))
    assert 0.0 < seen <= 0.03


def test_final_year_target_never_raised_by_the_rule_in_intensity_mode():
    m = CarbonBudgetModel(load_scenario("default"), 5)
    m.run_model()
    p = m.plans[0]
    planned = p.T_initial[:, -1] + p.listed[:, -1]
    assert (p.settled[:, :-1] > 0).any()  # surpluses were banked somewhere
    assert (p.T[:, -1] <= planned * (1 + 1e-12)).all()
    # without the hold, the rule banks into the final year too
    m2 = CarbonBudgetModel(load_scenario("default", {"accounts.hold_final_year": False}), 5)
    m2.run_model()
    q = m2.plans[0]
    assert (q.T[:, -1] > q.T_initial[:, -1] + q.listed[:, -1] + 1e-9).any()
