"""Firm dynamics (MODEL.md 4.1, section 8) on a hand-built population of five
firms, with expectations computed by hand."""

from __future__ import annotations

import math

import mesa
import numpy as np
import pytest
from scipy.integrate import quad

from sim.agents.city import City
from sim.agents.firms import Firm, FirmPopulation, SectorArrays, mac_cost, mac_share
from sim.agents.province import Province
from sim.model import CarbonBudgetModel
from sim.params import SECTORS


def _sector_arrays() -> SectorArrays:
    # sector 0 and 1 carry the numbers used below; sectors 2-4 are unused filler
    def a(s0, s1):
        return np.array([s0, s1, 0.0, 0.0, 0.0])

    return SectorArrays(
        trend=a(0.04, 0.08),
        beta=a(0.5, 1.0),
        noise=a(0.02, 0.01),
        improve=a(0.04, 0.08),
        drift=a(0.08, 0.0),
        mac_scale=np.array([100.0, 200.0, 1.0, 1.0, 1.0]),
        mac_max=np.array([0.2, 0.4, 0.1, 0.1, 0.1]),
        proj_prob=a(0.5, 0.5),
        proj_size=a(0.2, 0.2),
        vintage=a(0.1, 0.1),
        base_price=a(0.0, 0.0),
    )


def _pop() -> FirmPopulation:
    """Five firms in two cities.

    row city sector  Q   K   I    el   active outdated
    0   0    0       10  12  1.0  0.1  yes    no
    1   0    1       20  20  0.5  0.2  yes    yes
    2   1    1       5   10  2.0  0.3  yes    yes
    3   1    0       0   0   0.8  0.05 no     no    (a reserved major-project row)
    4   1    1       5   5   1.0  0.1  yes    yes
    """
    return FirmPopulation(
        city=np.array([0, 0, 1, 1, 1]),
        sector=np.array([0, 1, 1, 0, 1]),
        Q=np.array([10.0, 20.0, 5.0, 0.0, 5.0]),
        K=np.array([12.0, 20.0, 10.0, 0.0, 5.0]),
        I=np.array([1.0, 0.5, 2.0, 0.8, 1.0]),
        el=np.array([0.1, 0.2, 0.3, 0.05, 0.1]),
        active=np.array([True, True, True, False, True]),
        outdated=np.array([False, True, True, False, True]),
        sectors=_sector_arrays(),
        n_cities=2,
        utilisation=0.8,
    )


@pytest.fixture
def pop() -> FirmPopulation:
    return _pop()


# ---------------------------------------------------------------- flows ---
def test_initial_flows(pop):
    # E = Q I / 4: 10*1/4, 20*0.5/4, 5*2/4, 0, 5*1/4
    np.testing.assert_allclose(pop.emissions, [2.5, 2.5, 2.5, 0.0, 1.25])
    # El = Q el / 4: 10*0.1/4, 20*0.2/4, 5*0.3/4, 0, 5*0.1/4
    np.testing.assert_allclose(pop.electricity, [0.25, 1.0, 0.375, 0.0, 0.125])
    np.testing.assert_allclose(pop.by_city(pop.emissions), [5.0, 3.75])
    bcs = pop.by_city_sector(pop.emissions)
    assert bcs.shape == (2, len(SECTORS))
    np.testing.assert_allclose(bcs[:, :2], [[2.5, 2.5], [0.0, 3.75]])
    np.testing.assert_allclose(pop.by_city(pop.emissions, mask=pop.outdated), [2.5, 3.75])


def test_update_flows_with_restriction_and_inactive_rows(pop):
    pop.restriction = np.array([0.5, 0.0, 0.25, 0.0, 1.0])
    pop.Qp[3] = 4.0  # potential output of an inactive row never materialises
    pop.update_flows()
    np.testing.assert_allclose(pop.Q, [5.0, 20.0, 3.75, 0.0, 0.0])
    # 5*1/4, 20*0.5/4, 3.75*2/4
    np.testing.assert_allclose(pop.emissions, [1.25, 2.5, 1.875, 0.0, 0.0])
    np.testing.assert_allclose(pop.electricity, [0.125, 1.0, 0.28125, 0.0, 0.0])
    np.testing.assert_allclose(pop.Qp, [10.0, 20.0, 5.0, 4.0, 5.0])  # potential kept


# --------------------------------------------------------------- growth ---
def test_grow_matches_the_formula(pop):
    pop.grow(
        macro=0.01, eps=np.array([1.0, -1.0, 2.0, 0.0, 0.0]), shock=np.array([0, 0.01, 0, 0, 0])
    )
    # row 0: 0.04/4 + 0.5*0.01 + 0.02*1 + 0    = 0.035 -> 10.35 (< K 12)
    # row 1: 0.08/4 + 1.0*0.01 - 0.01 + 0.01  = 0.03  -> 20.6 -> capped at K = 20
    # row 2: 0.02 + 0.01 + 0.02 + 0.01        = 0.06  -> 5.3
    # row 3: zero stays zero
    # row 4: 0.02 + 0.01 + 0 + 0.01           = 0.04  -> 5.2 -> capped at K = 5
    np.testing.assert_allclose(pop.Qp, [10.35, 20.0, 5.3, 0.0, 5.0], rtol=1e-12)
    # I *= 1 - a/4: sector 0 (a 0.04) x 0.99, sector 1 (a 0.08) x 0.98
    np.testing.assert_allclose(pop.I, [0.99, 0.49, 1.96, 0.792, 0.98], rtol=1e-12)
    # el *= 1 + drift/4: sector 0 (0.08) x 1.02, sector 1 unchanged
    np.testing.assert_allclose(pop.el, [0.102, 0.2, 0.3, 0.051, 0.1], rtol=1e-12)
    pop.update_flows()
    np.testing.assert_allclose(pop.emissions[:3], [10.35 * 0.99 / 4, 2.45, 5.3 * 1.96 / 4])


def test_grow_never_makes_output_negative(pop):
    pop.grow(macro=-1.0, eps=np.full(5, -100.0), shock=np.zeros(5))
    np.testing.assert_array_equal(pop.Qp, np.zeros(5))


# ------------------------------------------------------------------ MAC ---
def test_mac_share_inverts_the_mac_curve():
    # x = p x_max / (c + p): 100 * 0.2 / 200 = 0.1 ; MAC(0.1) = 100 * 0.1 / 0.1 = 100
    x = mac_share(np.array([100.0, 0.0, -5.0, 300.0]), np.full(4, 100.0), np.full(4, 0.2))
    np.testing.assert_allclose(x, [0.1, 0.0, 0.0, 0.15])
    # price -> infinity approaches x_max
    assert mac_share(np.array([1e12]), np.array([100.0]), np.array([0.2]))[0] == pytest.approx(0.2)


def test_mac_cost_is_the_integral_of_mac():
    # c (x_max ln(x_max / (x_max - x)) - x) = 100 (0.2 ln 2 - 0.1) = 3.86294...
    got = mac_cost(np.array([0.1]), np.array([100.0]), np.array([0.2]))[0]
    assert got == pytest.approx(100 * (0.2 * math.log(2) - 0.1), rel=1e-12)
    num, _ = quad(lambda x: 100 * x / (0.2 - x), 0.0, 0.1)
    assert got == pytest.approx(num, rel=1e-9)
    assert mac_cost(np.array([0.0]), np.array([100.0]), np.array([0.2]))[0] == 0.0
    # beyond x_max the cost stays finite (clipped just below x_max)
    assert np.isfinite(mac_cost(np.array([0.5]), np.array([100.0]), np.array([0.2]))[0])


def test_base_carbon_price_sets_initial_abatement():
    sp = _sector_arrays()
    sp.base_price[0] = 100.0  # sector 0: x = 100 * 0.2 / 200 = 0.1 already done
    p = FirmPopulation(np.array([0]), np.array([0]), np.array([10.0]), np.array([12.0]),
                       np.array([1.0]), np.array([0.1]), np.array([True]), np.array([False]), sp, 1)  # fmt: skip
    assert p.x_done[0] == pytest.approx(0.1)
    cost, mt = p.decide_abatement(np.array([100.0]), t_done=3)
    assert mt[0] == 0.0 and cost[0] == 0.0  # already at MAC = price


# ------------------------------------------------------------ abatement ---
def test_decide_abatement_ratchets_and_tracks_pending(pop):
    price = np.array([100.0, 200.0, 0.0, 100.0, 200.0])
    cost, mt = pop.decide_abatement(price, t_done=5)
    # targets: row 0: 100*0.2/200 = 0.1 ; rows 1, 4: 200*0.4/400 = 0.2 ; row 2: 0 ; row 3 inactive
    np.testing.assert_allclose(pop.x_pending, [0.1, 0.2, 0.0, 0.0, 0.2])
    # Mt/yr abated = baseline Qp I x dx: 10*1*0.1, 20*0.5*0.2, 0, 0, 5*1*0.2
    np.testing.assert_allclose(mt, [1.0, 2.0, 0.0, 0.0, 1.0])
    # annual cost (bn CNY) = baseline Mt x cost per t x 1e-3
    c0 = 100 * (0.2 * math.log(2) - 0.1)  # sector 0 at x = 0.1
    c1 = 200 * (0.4 * math.log(2) - 0.2)  # sector 1 at x = 0.2
    np.testing.assert_allclose(cost, [10 * c0 * 1e-3, 10 * c1 * 1e-3, 0, 0, 5 * c1 * 1e-3])
    np.testing.assert_array_equal(pop.x_done, np.zeros(5))  # nothing realised yet
    I_before = pop.I.copy()

    # a lower price never undoes abatement (row 2 keeps price 0)
    cost, mt = pop.decide_abatement(np.array([10.0, 10.0, 0.0, 10.0, 10.0]), t_done=6)
    np.testing.assert_array_equal(mt, np.zeros(5))
    np.testing.assert_allclose(pop.x_pending, [0.1, 0.2, 0.0, 0.0, 0.2])

    # a higher price adds only the difference: row 0 at 300: 300*0.2/400 = 0.15 -> +0.05
    cost, mt = pop.decide_abatement(np.array([300.0, 0, 0, 0, 0]), t_done=7)
    np.testing.assert_allclose(pop.x_pending, [0.15, 0.2, 0.0, 0.0, 0.2])
    assert mt[0] == pytest.approx(10 * 1.0 * 0.05)
    c_inc = 100 * (0.2 * math.log(0.2 / 0.05) - 0.15) - c0  # cost from 0.1 to 0.15
    assert cost[0] == pytest.approx(10 * c_inc * 1e-3)
    np.testing.assert_array_equal(pop.I, I_before)

    # nothing happens before the lag has elapsed
    assert pop.complete_abatement(4).sum() == 0.0
    np.testing.assert_array_equal(pop.I, I_before)

    # t = 5: first batch: I *= 1 - dx / (1 - x_done)
    abated = pop.complete_abatement(5)
    np.testing.assert_allclose(pop.I, [0.9, 0.4, 2.0, 0.8, 0.8])
    np.testing.assert_allclose(abated, [1.0, 2.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(pop.x_done, [0.1, 0.2, 0.0, 0.0, 0.2])
    np.testing.assert_allclose(pop.x_pending, [0.05, 0.0, 0.0, 0.0, 0.0], atol=1e-15)
    assert pop.complete_abatement(5).sum() == 0.0  # a batch completes once

    # t = 7: row 0 adds 0.05 of its baseline: 1 - 0.05 / 0.9; total cut 15 % of baseline
    abated = pop.complete_abatement(7)
    assert pop.I[0] == pytest.approx(1.0 * (1 - 0.15), rel=1e-12)
    assert abated[0] == pytest.approx(10 * 0.05)  # Mt/yr: 5 % of baseline 10 Mt
    assert pop.x_done[0] == pytest.approx(0.15)
    assert pop.x_pending[0] == pytest.approx(0.0, abs=1e-15)


def test_decide_abatement_ignores_inactive_and_tiny_steps(pop):
    # row 3 inactive; others get a price so low that dx < 1e-4
    cost, mt = pop.decide_abatement(np.array([0.04, 0.04, 0.04, 1000.0, 0.04]), t_done=2)
    np.testing.assert_array_equal(mt, np.zeros(5))
    np.testing.assert_array_equal(pop.x_pending, np.zeros(5))
    assert pop.complete_abatement(2).sum() == 0.0


# ------------------------------------------------------------- capacity ---
def test_complete_capacity_weights_intensity_by_capacity(pop):
    pop.schedule_capacity(5, np.array([0]), np.array([3.0]), np.array([0.5]), np.array([0.2]))
    assert pop.complete_capacity(4).size == 0
    assert pop.K[0] == 12.0
    touched = pop.complete_capacity(5)
    np.testing.assert_array_equal(touched, [0])
    # K 12 + 3 = 15 ; I = (1.0*12 + 0.5*3) / 15 = 0.9 ; el = (0.1*12 + 0.2*3) / 15 = 0.12
    assert pop.K[0] == pytest.approx(15.0)
    assert pop.I[0] == pytest.approx(0.9)
    assert pop.el[0] == pytest.approx(0.12)
    assert pop.Qp[0] == 10.0  # an existing plant keeps its output; growth fills the capacity
    np.testing.assert_array_equal(pop.K[1:], [20.0, 10.0, 0.0, 5.0])


def test_two_projects_on_one_firm_in_one_batch(pop):
    pop.schedule_capacity(
        2, np.array([0, 0]), np.array([3.0, 3.0]), np.array([0.5, 0.2]), np.array([0.1, 0.1])
    )
    pop.complete_capacity(2)
    # K = 18 ; I = (12 + 1.5 + 0.6) / 18
    assert pop.K[0] == pytest.approx(18.0)
    assert pop.I[0] == pytest.approx(14.1 / 18)
    assert pop.el[0] == pytest.approx(0.1)


def test_two_batches_at_the_same_quarter(pop):
    pop.schedule_capacity(2, np.array([0]), np.array([3.0]), np.array([0.5]), np.array([0.1]))
    pop.schedule_capacity(2, np.array([2]), np.array([10.0]), np.array([1.0]), np.array([0.3]))
    touched = pop.complete_capacity(2)
    assert sorted(touched.tolist()) == [0, 2]
    assert pop.K[2] == pytest.approx(20.0)
    assert pop.I[2] == pytest.approx((2.0 * 10 + 1.0 * 10) / 20)


def test_new_plant_is_activated_at_utilisation(pop):
    assert not pop.active[3]
    pop.schedule_capacity(8, np.array([3]), np.array([10.0]), np.array([0.8]), np.array([0.05]))
    pop.complete_capacity(8)
    assert pop.active[3]
    assert pop.K[3] == pytest.approx(10.0)
    assert pop.I[3] == pytest.approx(0.8)
    assert pop.Qp[3] == pytest.approx(0.8 * 10.0)  # utilisation 0.8 x K
    pop.update_flows()
    assert pop.emissions[3] == pytest.approx(8.0 * 0.8 / 4)


def test_propose_uses_draws_for_every_firm(pop):
    u = np.array([0.1, 0.9, 0.4, 0.0, 0.6])  # prob 0.5: rows 0, 2 propose; row 3 inactive
    z = np.array([0.0, 0.0, 2.0, 0.0, 0.0])
    props = pop.propose(u, z, 0.8)
    np.testing.assert_array_equal(props["firm"], [0, 2])
    # dK = K x 0.2 x exp(z / 2): 12*0.2 = 2.4 ; 10*0.2*e = 5.43656
    np.testing.assert_allclose(props["dK"], [2.4, 2.0 * math.e])
    np.testing.assert_allclose(props["I"], [0.9, 1.8])  # vintage 10 % cleaner
    np.testing.assert_allclose(props["emissions"], [2.4 * 0.8 * 0.9, 2.0 * math.e * 0.8 * 1.8])


# ----------------------------------------------------------- retirement ---
def test_retire_outdated_pro_rata_and_limited(pop):
    # outdated annual emissions: city 0 row 1: 20*0.5 = 10 ; city 1 rows 2, 4: 10 + 5 = 15
    took = pop.retire_outdated(np.array([4.0, 6.0]))
    np.testing.assert_allclose(took, [4.0, 6.0])
    # city 0: 40 % of row 1 ; city 1: 6/15 = 40 % of rows 2 and 4
    np.testing.assert_allclose(pop.Qp, [10.0, 12.0, 3.0, 0.0, 3.0])
    np.testing.assert_allclose(pop.K, [12.0, 12.0, 6.0, 0.0, 3.0])
    # retired emissions per row are pro rata: row 2 gives 4, row 4 gives 2
    took = pop.retire_outdated(np.array([100.0, -3.0]))
    # city 0 has 12*0.5 = 6 left and loses it all; negative requests retire nothing
    np.testing.assert_allclose(took, [6.0, 0.0])
    np.testing.assert_allclose(pop.Qp, [10.0, 0.0, 3.0, 0.0, 3.0])
    assert pop.Qp[0] == 10.0 and pop.K[0] == 12.0  # not outdated: untouched


# ------------------------------------------------------------ Mesa view ---
def test_firm_agent_is_a_view_of_its_row(pop):
    model = mesa.Model(rng=0)
    agents = [Firm(model, pop, i) for i in range(pop.n)]
    f = agents[2]
    assert (f.row, f.city, f.sector) == (2, 1, SECTORS[1])
    assert (f.output, f.capacity, f.intensity) == (5.0, 10.0, 2.0)
    assert f.electricity_intensity == pytest.approx(0.3)
    assert f.emissions == pytest.approx(2.5)
    assert f.active and f.outdated
    assert not agents[3].active and not agents[0].outdated
    pop.grow(0.0, np.zeros(5), np.zeros(5))
    pop.update_flows()
    assert f.intensity == pytest.approx(1.96)  # reads the live row, not a copy
    assert f.output == pytest.approx(5.0 * 1.02)
    assert "row=2" in repr(f)
    assert len(model.agents_by_type[Firm]) == 5


def test_model_agents_by_type(tiny):
    m = CarbonBudgetModel(tiny, seed=1, firm_agents=True)
    by = m.agents_by_type
    assert len(by[Province]) == 1
    assert len(by[City]) == 3
    assert len(by[Firm]) == m.firms.n == tiny["province.n_firms"]
    assert [c.name for c in by[City]] == ["Harbour", "Millbrook", "Meadow"]
    rows = sorted(f.row for f in by[Firm])
    assert rows == list(range(m.firms.n))
    harbour = m.cities[0]
    assert all(f.city == 0 for f in harbour.firms())
    assert len(harbour.firms()) == int(np.sum(m.firms.city == 0))
    m2 = CarbonBudgetModel(tiny, seed=1)  # row views are built only on request
    assert Firm not in m2.agents_by_type or len(m2.agents_by_type[Firm]) == 0
