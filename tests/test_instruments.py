"""The instrument toolbox and packages [政策工具箱] (MODEL.md 4.4): channel levels
from strengths, the effect of each channel on a hand-built firm population, and
model-level checks of pricing with subsidies and of production restriction."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import load_scenario, run
from sim.agents.firms import FirmPopulation, SectorArrays
from sim.model import CarbonBudgetModel
from sim.params import INSTRUMENT_FULL_EFFECT, PACKAGE_KEYS
from sim.policies.instruments import INSTRUMENT_IDS, INSTRUMENTS, city_levers
from sim.policies.packages import ALL_KEYS, OFF, package_key, package_table

J = {iid: j for j, iid in enumerate(INSTRUMENT_IDS)}
FULL = np.array([INSTRUMENT_FULL_EFFECT[i][0] for i in INSTRUMENT_IDS])
PENALTY = 60.0


def strengths(rows: list[dict[str, float]]) -> np.ndarray:
    m = np.zeros((len(rows), len(INSTRUMENT_IDS)))
    for c, row in enumerate(rows):
        for iid, s in row.items():
            m[c, J[iid]] = s
    return m


# ------------------------------------------------------------- city_levers --


def test_every_channel_gets_strength_times_full_effect():
    # city 0 at enforcement 1, city 1 at enforcement 0.5; all instruments at strength 1
    lv = city_levers(np.ones((2, 12)), np.array([1.0, 0.5]), FULL, PENALTY)
    # control: block 1.0, replacement 1.5, phase-out 0.15/yr, restriction 0.10 -- halved at 0.5
    np.testing.assert_allclose(lv.block_share, [1.0, 0.5])
    np.testing.assert_allclose(lv.replacement_ratio, [1.5, 0.75])
    np.testing.assert_allclose(lv.phase_out_rate, [0.15, 0.075])
    np.testing.assert_allclose(lv.restriction, [0.10, 0.05])
    # economic: subsidy 0.40 and finance 0.15 (sum 0.55 < 0.9, no cap), not scaled
    np.testing.assert_allclose(lv.fiscal_share, [0.40, 0.40])
    np.testing.assert_allclose(lv.cost_share, [0.15, 0.15])
    # prices by target group: differentiated 40 on outdated, punitive 100 on targeted
    np.testing.assert_allclose(lv.price["outdated"], [40.0, 40.0])
    np.testing.assert_allclose(lv.price["targeted"], [100.0, 100.0])
    np.testing.assert_allclose(lv.price["all"], [0.0, 0.0])
    # information: barometer 10 + green list 5 on all; naming 40 on targeted
    np.testing.assert_allclose(lv.pressure["all"], [15.0, 15.0])
    np.testing.assert_allclose(lv.pressure["targeted"], [40.0, 40.0])
    np.testing.assert_allclose(lv.pressure["outdated"], [0.0, 0.0])
    # expected penalty: 60 CNY/t x max strength x enforcement of the penalty channels
    np.testing.assert_allclose(lv.penalty, [60.0, 30.0])
    # carbon assessment: at strength 1 projects may take full x (2 - 1) = 1.0 of the room
    np.testing.assert_allclose(lv.room_share, [1.0, 1.0])
    assert lv.assessment.tolist() == [True, True]


def test_half_strength_and_enforcement_scaling():
    s = strengths(
        [
            {"production_restriction": 0.5, "phase_out": 0.5, "punitive_pricing": 0.5},
            {"production_restriction": 0.5, "phase_out": 0.5, "punitive_pricing": 0.5},
        ]
    )
    lv = city_levers(s, np.array([1.0, 0.5]), FULL, PENALTY)
    # restriction 0.5 x 0.10 x enforcement = [0.05, 0.025]; phase-out 0.5 x 0.15 x enf
    np.testing.assert_allclose(lv.restriction, [0.05, 0.025])
    np.testing.assert_allclose(lv.phase_out_rate, [0.075, 0.0375])
    # price 0.5 x 100 whatever the enforcement
    np.testing.assert_allclose(lv.price["targeted"], [50.0, 50.0])
    # penalty 60 x 0.5 x enforcement
    np.testing.assert_allclose(lv.penalty, [30.0, 15.0])
    # nothing else is on
    assert not lv.assessment.any()
    np.testing.assert_array_equal(lv.room_share, 0.0)
    np.testing.assert_array_equal(lv.block_share, 0.0)
    np.testing.assert_array_equal(lv.fiscal_share, 0.0)


def test_enforcement_zero_switches_control_off_but_not_prices_or_information():
    lv = city_levers(np.ones((1, 12)), np.zeros(1), FULL, PENALTY)
    for ch in ("block_share", "replacement_ratio", "phase_out_rate", "restriction", "penalty"):
        np.testing.assert_array_equal(getattr(lv, ch), 0.0, err_msg=ch)
    assert lv.price["targeted"][0] == 100.0
    assert lv.pressure["all"][0] == 15.0
    assert lv.fiscal_share[0] == 0.40


def test_project_assessment_room_share():
    s = strengths([{"project_assessment": 1.0}, {"project_assessment": 0.5}, {}])
    full = FULL.copy()
    full[J["project_assessment"]] = 0.8
    lv = city_levers(s, np.ones(3), full, PENALTY)
    # strength s > 0: full x (2 - s): 0.8 x 1 = 0.8; 0.8 x 1.5 = 1.2; off: 0 and no assessment
    np.testing.assert_allclose(lv.room_share, [0.8, 1.2, 0.0])
    assert lv.assessment.tolist() == [True, True, False]


def test_subsidy_plus_finance_capped_at_ninety_percent():
    full = FULL.copy()
    full[J["abatement_subsidy"]] = 0.9
    full[J["green_finance"]] = 0.5
    s = strengths([{"abatement_subsidy": 1.0, "green_finance": 1.0}, {"abatement_subsidy": 0.5}])
    lv = city_levers(s, np.ones(2), full, PENALTY)
    # city 0: 0.9 + 0.5 = 1.4 > 0.9 -> scaled by 0.9 / 1.4, keeping the 9:5 proportion
    np.testing.assert_allclose(lv.fiscal_share[0], 0.9 * 0.9 / 1.4)
    np.testing.assert_allclose(lv.cost_share[0], 0.5 * 0.9 / 1.4)
    assert lv.fiscal_share[0] + lv.cost_share[0] == pytest.approx(0.9, rel=1e-12)
    # city 1: 0.45, under the cap, untouched
    np.testing.assert_allclose([lv.fiscal_share[1], lv.cost_share[1]], [0.45, 0.0])


def test_strongest_instrument_wins_within_max_channels_and_prices_add():
    # two price instruments on different groups add per group; restriction takes the maximum
    s = strengths([{"differentiated_pricing": 1.0, "punitive_pricing": 1.0, "barometer": 0.5,
                    "green_list": 1.0}])  # fmt: skip
    lv = city_levers(s, np.ones(1), FULL, PENALTY)
    assert lv.price["outdated"][0] == 40.0 and lv.price["targeted"][0] == 100.0
    assert lv.pressure["all"][0] == 0.5 * 10.0 + 5.0


def test_registry_categories():
    control = {i for i, ins in INSTRUMENTS.items() if ins.category == "control"}
    assert control == {"project_assessment", "regional_restriction", "capacity_replacement",
                       "phase_out", "production_restriction"}  # fmt: skip
    assert {ins.category for ins in INSTRUMENTS.values()} == {"control", "economic", "information"}


# ------------------------------------------------------- firm-level effects --


@pytest.fixture
def firms():
    """Three firms in two cities: steel (outdated) and cement in city 0, power (outdated) in
    city 1.  Default sector parameters: steel c = 260, x_max = 0.35, no base price; cement
    c = 220, x_max = 0.30; power c = 320, x_max = 0.25, base price 80 CNY/t."""
    sp = SectorArrays.from_values(load_scenario("tiny").values)
    return FirmPopulation(
        city=np.array([0, 0, 1]), sector=np.array([1, 2, 0]), Q=np.array([10.0, 5.0, 20.0]),
        K=np.array([12.0, 6.0, 25.0]), I=np.array([2.0, 1.0, 3.0]), el=np.array([0.2, 0.1, 0.05]),
        active=np.ones(3, dtype=bool), outdated=np.array([True, False, True]), sectors=sp,
        n_cities=2,
    )  # fmt: skip


def _mac_cost(x: float, c: float, xm: float) -> float:
    # integral of c x / (xm - x) from 0 to x
    return c * (xm * math.log(xm / (xm - x)) - x)


def test_power_firm_starts_at_the_base_carbon_price_abatement(firms):
    # x = p x_max / (c + p) = 80 x 0.25 / 400 = 0.05 for power, 0 for the others
    np.testing.assert_allclose(firms.x_done, [0.0, 0.0, 0.05])


def test_price_raises_abatement_share_to_the_mac_point(firms):
    price = np.array([100.0, 0.0, 200.0])
    cost, abated = firms.decide_abatement(price, t_done=3)
    x0 = 100 * 0.35 / (260 + 100)  # steel: 0.097222
    x2 = 200 * 0.25 / (320 + 200)  # power: 0.096154 (it already had 0.05)
    np.testing.assert_allclose(firms.x_pending, [x0, 0.0, x2 - 0.05], rtol=1e-12)
    # Mt/yr abated: baseline-path emissions Q I / (1 - x_done) times the added share
    np.testing.assert_allclose(abated, [20.0 * x0, 0.0, 60.0 / 0.95 * (x2 - 0.05)], rtol=1e-12)
    # annual cost (bn CNY): baseline emissions x (integral of MAC over the added share) x 1e-3
    c0 = 20.0 * _mac_cost(x0, 260, 0.35) * 1e-3
    c2 = 60.0 / 0.95 * (_mac_cost(x2, 320, 0.25) - _mac_cost(0.05, 320, 0.25)) * 1e-3
    np.testing.assert_allclose(cost, [c0, 0.0, c2], rtol=1e-9)
    # nothing changes before the lag has elapsed
    np.testing.assert_array_equal(firms.I, [2.0, 1.0, 3.0])
    firms.complete_abatement(2)
    np.testing.assert_array_equal(firms.I, [2.0, 1.0, 3.0])
    done = firms.complete_abatement(3)
    # intensity relative to the no-abatement baseline falls to (1 - x): steel 2 (1 - x0);
    # power baseline 3 / 0.95 -> 3 / 0.95 x (1 - x2)
    np.testing.assert_allclose(firms.I, [2.0 * (1 - x0), 1.0, 3.0 / 0.95 * (1 - x2)], rtol=1e-12)
    np.testing.assert_allclose(firms.x_done, [x0, 0.0, x2], rtol=1e-12)
    np.testing.assert_allclose(firms.x_pending, 0.0, atol=1e-15)
    np.testing.assert_allclose(done, abated, rtol=1e-12)
    # a ratchet: a lower price later undoes nothing and adds nothing
    cost2, abated2 = firms.decide_abatement(np.array([50.0, 0.0, 80.0]), t_done=6)
    np.testing.assert_array_equal(abated2, 0.0)
    np.testing.assert_array_equal(cost2, 0.0)


def test_restriction_lowers_output_by_the_share(firms):
    firms.restriction = np.array([0.1, 0.0, 0.5])
    firms.update_flows()
    np.testing.assert_allclose(firms.Q, [9.0, 5.0, 10.0])
    # quarterly emissions Q I / 4 and electricity Q el / 4
    np.testing.assert_allclose(firms.emissions, [4.5, 1.25, 7.5])
    np.testing.assert_allclose(firms.electricity, [0.45, 0.125, 0.125])
    np.testing.assert_array_equal(firms.Qp, [10.0, 5.0, 20.0])  # potential output kept


def test_phase_out_retires_outdated_capacity_only(firms):
    # outdated emissions: city 0 = 10 x 2 = 20 Mt/yr (steel), city 1 = 20 x 3 = 60 (power)
    took = firms.retire_outdated(np.array([1.0, 100.0]))
    np.testing.assert_allclose(took, [1.0, 60.0])  # city 1 limited by what exists
    # city 0: 1/20 of the steel firm closes; the cement firm (not outdated) is untouched
    np.testing.assert_allclose(firms.Qp, [9.5, 5.0, 0.0])
    np.testing.assert_allclose(firms.K, [11.4, 6.0, 0.0])
    np.testing.assert_array_equal(firms.I, [2.0, 1.0, 3.0])  # intensity unchanged


# --------------------------------------------------------------- packages --


@pytest.mark.parametrize(
    ("status", "warning", "key"),
    [
        ("surplus", 0, "surplus"),
        ("balance", 0, "balance"),
        ("overrun", 0, "overrun_orange"),
        ("overrun", 1, "overrun_orange"),
        ("overrun", 2, "overrun_red"),
    ],
)
def test_package_key(status, warning, key):
    assert package_key(status, warning) == key


def test_package_table_reads_scenario_values():
    sc = load_scenario(
        "tiny", {"package.balance.phase_out": 0.3, "package.overrun_red.barometer": 0.0}
    )
    m = package_table(sc.values)
    assert m.shape == (len(ALL_KEYS), len(INSTRUMENT_IDS))
    assert m[ALL_KEYS.index("balance"), J["phase_out"]] == 0.3
    assert m[ALL_KEYS.index("overrun_red"), J["barometer"]] == 0.0
    # defaults elsewhere (params.DEFAULT_PACKAGES): red restriction 0.5, surplus subsidy 0.3
    assert m[ALL_KEYS.index("overrun_red"), J["production_restriction"]] == 0.5
    assert m[ALL_KEYS.index("surplus"), J["abatement_subsidy"]] == 0.3
    for i, key in enumerate(PACKAGE_KEYS):
        for iid, j in J.items():
            assert m[i, j] == sc[f"package.{key}.{iid}"]
    np.testing.assert_array_equal(m[ALL_KEYS.index(OFF)], 0.0)


# ------------------------------------------------------------ model level --


def _only(**on: float) -> dict:
    """Overrides: every package strength 0 except the given instruments in every package."""
    o = {f"package.{k}.{i}": 0.0 for k in PACKAGE_KEYS for i in INSTRUMENT_IDS}
    for iid, s in on.items():
        for k in PACKAGE_KEYS:
            o[f"package.{k}.{iid}"] = s
    return o


def _first_plan_quarter(overrides: dict) -> CarbonBudgetModel:
    m = CarbonBudgetModel(load_scenario("tiny", overrides), 7, firm_agents=False)
    p0 = 4 * m.sc["run.warmup_years"]
    while m.t <= p0:
        m.step()
    return m


def test_subsidy_raises_the_effective_price_by_one_over_one_minus_share():
    p0 = 16
    base = _first_plan_quarter(_only(barometer=1.0))
    sub = _first_plan_quarter(_only(barometer=1.0, abatement_subsidy=1.0))
    # emissions in the first plan quarter do not depend on the price yet (abatement lag 3)
    np.testing.assert_array_equal(sub.q["emissions"][p0], base.q["emissions"][p0])
    # price / (1 - 0.40): every firm's price, hence the emission-weighted mean, x 1 / 0.6
    np.testing.assert_allclose(sub.q["effective_price"][p0], base.q["effective_price"][p0] / 0.6,
                               rtol=1e-12)  # fmt: skip
    assert np.all(base.q["effective_price"][p0] > 0)
    # the subsidy is a fiscal cost; without it there is none
    assert sub.q["fiscal_cost"][p0].sum() > 0
    assert base.q["fiscal_cost"][p0].sum() == 0
    # subsidy 0.9 + finance 0.5 are capped at 0.9 together: price x 1 / (1 - 0.9) = x 10
    capped = _first_plan_quarter({**_only(barometer=1.0, abatement_subsidy=1.0, green_finance=1.0),
                                  "instrument.abatement_subsidy.full": 0.9,
                                  "instrument.green_finance.full": 0.5})  # fmt: skip
    np.testing.assert_allclose(capped.q["effective_price"][p0], base.q["effective_price"][p0] * 10,
                               rtol=1e-9)  # fmt: skip


def test_production_restriction_hits_targeted_firms_by_strength_full_enforcement():
    m = _first_plan_quarter(_only(production_restriction=1.0))
    f = m.firms
    enf = m.enforcement  # tiny: [0.8, 0.6, 0.7]
    expected = np.where(f.targeted, 0.10 * enf[f.city], 0.0)
    np.testing.assert_allclose(f.restriction, expected, rtol=1e-12)
    assert f.targeted.any()
    np.testing.assert_allclose(f.Q, np.where(f.active, f.Qp * (1 - expected), 0.0), rtol=1e-12)
    # recorded GDP loss of the quarter: restricted output / 4
    loss = np.bincount(f.city, weights=f.Qp * expected, minlength=m.C) / 4
    np.testing.assert_allclose(m.q["restriction_gdp_loss"][16], loss, rtol=1e-12)


def test_forcing_production_restriction_raises_restriction_gdp_loss():
    on = run(load_scenario("tiny", _only(production_restriction=1.0)), 7)
    off = run(load_scenario("tiny", _only()), 7)
    m_on, m_off = on.final_account["measures"], off.final_account["measures"]
    assert m_off["restriction_gdp_loss_bn"] == 0.0
    assert m_on["restriction_gdp_loss_bn"] > 0.0
    # restricted output is lost GDP against the no-policy counterfactual: the extra loss is the
    # restricted output (up to the offset plans of major projects, which retire a given Mt of
    # outdated emissions and so a little more output where the penalty made firms cleaner)
    extra = m_on["gdp_loss_bn"] - m_off["gdp_loss_bn"]
    assert extra == pytest.approx(m_on["restriction_gdp_loss_bn"], rel=1e-3)
    # a restriction active all period long is spread evenly (about a fifth in the final year)
    assert 0.1 < m_on["end_loadedness_restriction"] < 0.35


def test_a_new_instrument_is_one_registry_entry():
    # a second price on all firms, declared once: its parameters come from the entry
    import dataclasses

    from sim.params import instrument_params
    from sim.policies.instruments import INSTRUMENTS, Instrument

    new = Instrument("carbon_tax", "economic", "price", "all", "local carbon tax", "地方碳税",
                     30.0, "CNY/t", 500.0, "tax on all key firms")  # fmt: skip
    rows = {p.name: p for p in instrument_params({**INSTRUMENTS, new.id: new})}
    assert rows["instrument.carbon_tax.full"].default == 30.0
    assert rows["instrument.carbon_tax.full"].high == 500.0
    for key in ("surplus", "balance", "overrun_orange", "overrun_red"):
        assert rows[f"package.{key}.carbon_tax"].default == 0.0  # off until a package uses it
    # the channel turns strength into a price on all firms: 0.5 x 30 CNY/t
    ids = (*INSTRUMENT_IDS, "carbon_tax")
    strength = np.zeros((1, len(ids)))
    strength[0, -1] = 0.5
    full = np.array([INSTRUMENTS[i].full for i in INSTRUMENT_IDS] + [30.0])
    import sim.policies.instruments as mod

    saved = (mod.INSTRUMENTS, mod.INSTRUMENT_IDS)
    try:
        mod.INSTRUMENTS = {**INSTRUMENTS, new.id: dataclasses.replace(new)}
        mod.INSTRUMENT_IDS = ids
        lv = mod.city_levers(strength, np.ones(1), full, 0.0)
    finally:
        mod.INSTRUMENTS, mod.INSTRUMENT_IDS = saved
    assert lv.price["all"][0] == pytest.approx(15.0)
