"""Plan preparation [碳预算方案编制] (MODEL.md 4.2): hand-computed expectations
for the pure functions in sim/planning.py and sim/policies/allocation.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.policies import allocation
from sim.policies.allocation import CityIndicators, mixed_shares, split_exact
from sim.stages import plan as planning

NAN = np.nan


# ------------------------------------------------------------ base year ---
def _known(columns: list[list[float]]) -> np.ndarray:
    """quarters x cities from per-city quarter lists."""
    return np.array(columns, dtype=float).T


def test_estimate_base_year_fills_unknown_quarters_with_trend():
    # 3 years x 4 quarters, 2 cities; base year (index 2) only partly known.
    a = [10, 10, 10, 10, 11, 11, 11, 11, 12, 12, NAN, NAN]
    b = [5, 5, 5, 5, 4, 4, 4, 4, 3, NAN, NAN, NAN]
    base, trend, y_full = planning.estimate_base_year(_known([a, b]), 2)
    # last fully known year: 1.  City A trend 44/40 - 1 = 0.10; city B 16/20 - 1 = -0.2,
    # clipped to -0.10.
    assert y_full == 1
    np.testing.assert_allclose(trend, [0.10, -0.10], rtol=1e-12)
    # A: known 12 + 12, unknown quarters = 11 * 1.1 = 12.1 each -> 48.2
    # B: known 3, unknown quarters = 4 * 0.9 = 3.6 each -> 3 + 10.8 = 13.8
    np.testing.assert_allclose(base, [48.2, 13.8], rtol=1e-12)


def test_estimate_base_year_fully_known_base_year_is_its_sum():
    a = [1, 2, 3, 4, 2, 3, 4, 5]  # 10, then 14
    base, trend, y_full = planning.estimate_base_year(_known([a]), 1)
    assert y_full == 1
    np.testing.assert_allclose(base, [14.0])
    np.testing.assert_allclose(trend, [0.15])  # 14 / 10 - 1 = 0.4, clipped to +15 %


def test_estimate_base_year_two_year_gap_and_upper_clip():
    # years 0, 1 known (8 -> 12: +50 %, clipped to +15 %), years 2 and 3 unknown, base = 3
    a = [2, 2, 2, 2, 3, 3, 3, 3, *[NAN] * 8]
    base, trend, y_full = planning.estimate_base_year(_known([a]), 3)
    assert y_full == 1
    np.testing.assert_allclose(trend, [0.15])
    # 12 * 1.15^2 = 15.87
    np.testing.assert_allclose(base, [15.87], rtol=1e-12)


def test_estimate_base_year_non_consecutive_full_years_give_zero_trend():
    # years 0 and 2 known, year 1 has a gap: no trend can be measured
    a = [1, 1, 1, 1, 9, NAN, 9, 9, 2, 2, 2, 2, NAN, NAN, NAN, NAN]
    base, trend, y_full = planning.estimate_base_year(_known([a]), 3)
    assert y_full == 2
    np.testing.assert_allclose(trend, [0.0])
    np.testing.assert_allclose(base, [8.0])  # 4 quarters of 2, grown at 0 %


def test_estimate_base_year_without_any_full_year_raises():
    a = [1, NAN, 1, 1, 1, 1, NAN, 1]
    with pytest.raises(ValueError, match="warmup"):
        planning.estimate_base_year(_known([a]), 1)


# ---------------------------------------------------------- budget path ---
def test_budget_path_modes():
    # E = 100, GDP = 200 -> I0 = 0.5; two years; target 19 % -> (0.81)^(k/2) = 0.9, 0.81
    gdp = np.array([210.0, 300.0])
    inten = planning.budget_path(100.0, 200.0, gdp, 2, "intensity", 0.19, 0.21)
    # 210 * 0.5 * 0.9 = 94.5 ; 300 * 0.5 * 0.81 = 121.5
    np.testing.assert_allclose(inten, [94.5, 121.5], rtol=1e-12)
    total = planning.budget_path(100.0, 200.0, gdp, 2, "total", 0.19, 0.21)
    # 100 * 1.21^(1/2) = 110 ; 100 * 1.21 = 121
    np.testing.assert_allclose(total, [110.0, 121.0], rtol=1e-12)
    dual = planning.budget_path(100.0, 200.0, gdp, 2, "dual", 0.19, 0.21)
    np.testing.assert_allclose(dual, [94.5, 121.0], rtol=1e-12)  # the stricter each year


def test_budget_path_intensity_final_year_meets_target():
    gdp = 200.0 * 1.05 ** np.arange(1, 6)
    path = planning.budget_path(100.0, 200.0, gdp, 5, "intensity", 0.17, 0.0)
    # final-year intensity = 0.83 x base intensity 0.5
    assert path[-1] / gdp[-1] == pytest.approx(0.83 * 0.5, rel=1e-12)
    assert np.all(np.diff(path / gdp) < 0)  # intensity falls every year


# ------------------------------------------------------- annual targets ---
PATH = np.array([100.0, 96.0, 92.0, 88.0, 84.0])  # total 460


@pytest.mark.parametrize("shape", ["path", "flat"])
def test_annual_targets_keep_the_total(shape):
    out = planning.annual_targets(PATH, shape, 0.1)
    assert out.sum() == pytest.approx(460.0, rel=1e-13)
    assert out.shape == PATH.shape


def test_annual_targets_values():
    np.testing.assert_array_equal(planning.annual_targets(PATH, "path", 0.1), PATH)
    np.testing.assert_allclose(planning.annual_targets(PATH, "flat", 0.1), [92.0] * 5)
    # tilt 0.1: factors 1 - 0.1 x (4, 3, 2, 1, 0) / 4 = (0.9, 0.925, 0.95, 0.975, 1)
    fl = planning.annual_targets(PATH, "front_loaded", 0.1)
    np.testing.assert_allclose(fl, [90.0, 88.8, 87.4, 85.8, 84.0], rtol=1e-12)
    assert fl[0] < PATH[0]  # earlier years tighter than the path
    assert np.all(fl <= PATH) and fl[-1] == PATH[-1]  # no year looser than the (cap) path


def test_annual_targets_path_is_a_copy_and_bad_shape_raises():
    out = planning.annual_targets(PATH, "path", 0.0)
    out[0] = -1
    assert PATH[0] == 100.0
    with pytest.raises(ValueError, match="curvy"):
        planning.annual_targets(PATH, "curvy", 0.1)


# ------------------------------------------------------------ allocation --
CI = CityIndicators(
    emissions=np.array([50.0, 30.0, 20.0]),
    gdp=np.array([100.0, 50.0, 50.0]),
    gdp_forecast=np.array([500.0, 300.0, 200.0]),
    population=np.array([2.0, 3.0, 5.0]),
    industry_share=np.array([0.2, 0.4, 0.1]),
    potential=np.array([0.1, 0.2, 0.5]),
    intensity_target=0.2,
)


def test_grandfathering_shares_of_emissions():
    np.testing.assert_allclose(allocation.grandfathering(CI, 1.0), [0.5, 0.3, 0.2])


def test_equality_shares_of_population():
    np.testing.assert_allclose(allocation.equality(CI, 1.0), [0.2, 0.3, 0.5])


def test_efficiency_shares_of_gdp():
    # GDP x provincial intensity: 100/200, 50/200, 50/200
    np.testing.assert_allclose(allocation.efficiency(CI, 1.0), [0.5, 0.25, 0.25])


def test_potential_emissions_net_of_potential():
    # 50 * 0.9 = 45, 30 * 0.8 = 24, 20 * 0.5 = 10; sum 79
    np.testing.assert_allclose(allocation.potential(CI, 1.0), np.array([45, 24, 10]) / 79)


def test_intensity_method_with_structure_adjustment():
    # GDP-weighted mean industry share (20 + 20 + 5) / 200 = 0.225
    # rel = 0.8889, 1.7778, 0.4444 -> cut 0.2 / rel = 0.225, 0.1125, 0.45 -> clip [0.1, 0.3]
    # base intensity 0.5, 0.6, 0.4; forecast GDP 500, 300, 200
    # 500*0.5*0.775 = 193.75 ; 300*0.6*0.8875 = 159.75 ; 200*0.4*0.7 = 56 ; sum 409.5
    np.testing.assert_allclose(
        allocation.intensity(CI, 1.0), np.array([193.75, 159.75, 56.0]) / 409.5, rtol=1e-12
    )


def test_intensity_method_without_structure_adjustment():
    # elasticity 0: every city cuts 20 %: 250*0.8, 180*0.8, 80*0.8 = 200, 144, 64; sum 408
    np.testing.assert_allclose(
        allocation.intensity(CI, 0.0), np.array([200.0, 144.0, 64.0]) / 408, rtol=1e-12
    )


def test_methods_registry_and_all_zero_fallback():
    assert set(allocation.METHODS) == {
        "grandfathering",
        "intensity",
        "equality",
        "efficiency",
        "potential",
    }
    zero = CityIndicators(
        np.zeros(3), np.ones(3), np.ones(3), np.zeros(3), np.ones(3), np.zeros(3), 0.1
    )
    np.testing.assert_allclose(allocation.grandfathering(zero, 1.0), [1 / 3] * 3)


def test_mixed_shares_weighted_mix():
    # 0.5 * (0.5, 0.3, 0.2) + 0.3 * (0.2, 0.3, 0.5) + 0.2 * (0.5, 0.25, 0.25)
    # = (0.25 + 0.06 + 0.10, 0.15 + 0.09 + 0.05, 0.10 + 0.15 + 0.05) = (0.41, 0.29, 0.30)
    w = {"grandfathering": 0.5, "equality": 0.3, "efficiency": 0.2, "intensity": 0.0}
    np.testing.assert_allclose(mixed_shares(CI, w, 1.0), [0.41, 0.29, 0.30], rtol=1e-12)


def test_split_exact_known_cases():
    for total, shares in [
        (1.0, np.full(3, 1 / 3)),
        (100.0, np.full(7, 1 / 7)),  # naive 100 * 1/7 * 7 does not sum to 100
        (0.3, np.array([0.1, 0.2, 0.7])),
    ]:
        parts = split_exact(total, shares)
        assert parts.sum() == total
        np.testing.assert_allclose(parts, total * shares, rtol=1e-12)
    assert (100.0 * np.full(7, 1 / 7)).sum() != 100.0  # the case above is not trivial
    assert split_exact(5.0, np.array([])).size == 0


def test_split_exact_sums_to_the_last_bit():
    total = 919.1695310141887
    shares = np.array(
        [0.40486170963280205, 0.051868155457618276, 0.027150640747462443, 0.5161194941621173]
    )
    # an exact split exists: nudge the smallest part by ulps until the sum matches
    fix = total * shares
    j = int(np.argmin(fix))
    for _ in range(64):
        d = total - fix.sum()
        if d == 0:
            break
        fix[j] = np.nextafter(fix[j], np.inf if d > 0 else -np.inf)
    assert fix.sum() == total
    assert split_exact(total, shares).sum() == total


@settings(max_examples=50, deadline=None)
@given(
    total=st.floats(0.1, 1e5),
    raw=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20).filter(lambda x: sum(x) > 0),
)
def test_split_exact_within_one_ulp(total, raw):
    shares = np.array(raw) / sum(raw)
    parts = split_exact(total, shares)
    assert abs(parts.sum() - total) <= 2 * np.spacing(total)


def test_vertical_allocation_columns_sum_to_allocable():
    allocable = np.array([97.0, 95.1, 93.3])
    w = {"grandfathering": 0.4, "intensity": 0.4, "equality": 0.0, "efficiency": 0.1}
    w["potential"] = 0.1
    alloc, shares = planning.vertical_allocation(allocable, CI, w, 1.0)
    assert alloc.shape == (3, 3)
    np.testing.assert_allclose(alloc.sum(axis=0), allocable, rtol=1e-15)
    np.testing.assert_allclose(alloc, shares[:, None] * allocable[None, :], rtol=1e-12)
    assert shares.sum() == pytest.approx(1.0)


# ---------------------------------------------------------- negotiation ---
def test_negotiate_appeal_grant_and_reserve_cap():
    alloc = np.array([[10.0, 10.0], [20.0, 20.0], [10.0, 10.0]])
    need = np.array([[12.0, 13.0], [20.5, 20.0], [10.0, 13.0]])
    reserve = np.array([4.0, 2.0])
    new, res, appeal, grant = planning.negotiate(alloc, need, reserve, 0.1, 0.5, 0.5)
    # shortfalls: A (2, 3) = 5 > 0.1 * 20 -> appeal; B 0.5 <= 4 -> no; C 3 > 2 -> appeal
    np.testing.assert_array_equal(appeal, [True, False, True])
    # asks (half the shortfall): A (1, 1.5), C (0, 1.5); room = half the reserve = (2, 1)
    # year 0: asked 1 <= 2 -> in full; year 1: asked 3 > 1 -> scaled by 1/3 pro rata
    np.testing.assert_allclose(grant, [[1.0, 0.5], [0.0, 0.0], [0.0, 0.5]], rtol=1e-12)
    np.testing.assert_allclose(new, [[11.0, 10.5], [20.0, 20.0], [10.0, 10.5]], rtol=1e-12)
    np.testing.assert_allclose(res, [3.0, 1.0], rtol=1e-12)
    # allocation + reserve conserved in every year: 44, 42
    np.testing.assert_allclose(new.sum(axis=0) + res, [44.0, 42.0], rtol=1e-15)


def test_negotiate_tolerance_is_strict():
    alloc = np.array([[10.0, 10.0]])
    need = np.array([[11.0, 11.0]])  # shortfall 2 == 0.1 * 20: no appeal
    new, res, appeal, grant = planning.negotiate(alloc, need, np.array([5.0, 5.0]), 0.1, 1.0, 1.0)
    assert not appeal[0]
    np.testing.assert_array_equal(new, alloc)
    np.testing.assert_array_equal(res, [5.0, 5.0])
    # just above the tolerance: full grant (grant share 1, cap 1, reserve large)
    new, res, appeal, grant = planning.negotiate(
        alloc, need + 0.01, np.array([5.0, 5.0]), 0.1, 1.0, 1.0
    )
    assert appeal[0]
    np.testing.assert_allclose(new, need + 0.01)
    np.testing.assert_allclose(res, [5.0 - 1.01, 5.0 - 1.01])


def test_negotiate_never_uses_more_than_the_cap_and_no_reserve_no_grant():
    alloc = np.array([[10.0], [10.0]])
    need = np.array([[30.0], [20.0]])
    new, res, appeal, grant = planning.negotiate(alloc, need, np.array([6.0]), 0.0, 1.0, 0.5)
    # asks 20 and 10 against room 3 -> 2 and 1
    np.testing.assert_allclose(grant[:, 0], [2.0, 1.0])
    assert res[0] == pytest.approx(3.0)
    new, res, appeal, grant = planning.negotiate(alloc, need, np.array([0.0]), 0.0, 1.0, 0.5)
    np.testing.assert_array_equal(new, alloc)
    assert res[0] == 0.0


# --------------------------------------------------- horizontal / target --
def test_hhi():
    assert allocation.hhi(np.array([1.0, 1.0, 1.0, 1.0])) == pytest.approx(0.25)
    assert allocation.hhi(np.array([3.0, 1.0])) == pytest.approx(0.625)  # 0.75^2 + 0.25^2
    assert allocation.hhi(np.array([7.0])) == pytest.approx(1.0)
    assert allocation.hhi(np.zeros(3)) == 0.0
    assert allocation.hhi(np.zeros(0)) == 0.0


@pytest.mark.parametrize(
    ("n", "conc", "expected"),
    [
        (150, 0.0, "firms"),  # count at the threshold
        (151, 0.1499, "sectors"),
        (151, 0.15, "firms"),  # concentration at the threshold
        (10_000, 0.9, "firms"),
        (10_000, 0.01, "sectors"),
    ],
)
def test_horizontal_mode(n, conc, expected):
    assert allocation.horizontal_mode(n, conc, 150, 0.15) == expected


def test_targeting_highest_ratio_first_within_each_group():
    # group 0: rows 0, 2, 3, 5 ; group 1: rows 1, 4
    group = np.array([0, 1, 0, 0, 1, 0])
    ratio = np.array([1.0, 0.9, 3.0, 2.0, 1.1, 0.5])
    emis = np.array([10.0, 5.0, 20.0, 30.0, 5.0, 40.0])
    # group 0 ranked: row 2 (20), row 3 (30), row 0 (10), row 5 (40); total 100
    # share 0.5 -> row 2 (0 before < 50), row 3 (20 < 50), row 0 (50, not < 50) -> {2, 3}
    # group 1 ranked: row 4 (5), row 1 (5); total 10 -> row 4 only
    out = allocation.targeting(ratio, emis, group, 0.5, 2)
    np.testing.assert_array_equal(out, [False, False, True, True, True, False])
    # share 0.3: row 2 (0 < 30) and row 3 (20 < 30: the one crossing the line is included)
    out = allocation.targeting(ratio, emis, group, 0.3, 2)
    np.testing.assert_array_equal(np.flatnonzero(out), [2, 3, 4])
    assert not allocation.targeting(ratio, emis, group, 0.0, 2).any()
    assert allocation.targeting(ratio, emis, group, 1.0, 2).all()


def test_targeting_handles_an_empty_group():
    group = np.array([2, 2, 0])
    out = allocation.targeting(np.array([1.0, 2.0, 5.0]), np.array([3.0, 1.0, 1.0]), group, 0.5, 3)
    # group 2: row 1 (ratio 2) first, 0 before < 2 -> T; row 0: 1 before < 2 -> T
    np.testing.assert_array_equal(out, [True, True, True])


# ------------------------------------------------------------ forecasts ---
def _forecast(mode, target, total_change=0.0, major=None):
    return planning.forecast_scenarios(
        E_base=100.0,
        gdp_base=200.0,
        intensity_trend=-0.02,
        growth=0.05,
        spread=0.01,
        years=2,
        mode=mode,
        intensity_target=target,
        total_change=total_change,
        max_policy_cut=0.03,
        major_mt=np.zeros(2) if major is None else np.asarray(major, dtype=float),
    )


def test_forecast_bau_and_names():
    scen, _ = _forecast("intensity", 0.05)
    assert [s.name for s in scen] == [
        "business_as_usual",
        "target_low_growth",
        "target_base_growth",
        "target_high_growth",
    ]
    np.testing.assert_allclose([s.growth for s in scen], [0.05, 0.04, 0.05, 0.06])
    # BAU: 100 * (1.05 * 0.98)^k = 102.9, 105.8841
    np.testing.assert_allclose(scen[0].emissions, [102.9, 105.8841], rtol=1e-12)
    np.testing.assert_allclose(scen[0].gdp, [210.0, 220.5], rtol=1e-12)


def test_forecast_intensity_mode_all_feasible_picks_most_growth():
    # cut below BAU = 1 - 0.95^(k/2) / 0.98^k: 0.0054 (<= 0.03), 0.0108 (<= 0.0591)
    scen, chosen = _forecast("intensity", 0.05)
    assert all(s.feasible for s in scen[1:])
    assert chosen == 3 and scen[chosen].name == "target_high_growth"


def test_forecast_total_mode_picks_most_growth_among_feasible():
    # cap 100; cut k=1: 1 - 1/(1.0192) = 0.0188 ok (g 4 %); 1 - 1/1.029 = 0.0282 ok (g 5 %);
    # 1 - 1/1.0388 = 0.0374 > 0.03 (g 6 %) -> infeasible.  k=2 (limit 0.0591): 0.0373, 0.0556.
    scen, chosen = _forecast("total", 0.17, 0.0)
    assert [s.feasible for s in scen[1:]] == [True, True, False]
    assert chosen == 2 and scen[chosen].growth == pytest.approx(0.05)
    assert scen[2].required_cut == pytest.approx(1 - 100 / 105.8841, rel=1e-9)
    np.testing.assert_allclose(scen[2].emissions, [100.0, 100.0])


def test_forecast_infeasible_falls_back_to_lowest_growth():
    # intensity mode, 19 %: cut k=1 = 1 - 0.9 / 0.98 = 0.082 > 0.03 whatever the growth
    scen, chosen = _forecast("intensity", 0.19)
    assert not any(s.feasible for s in scen[1:])
    assert chosen == 1 and scen[chosen].name == "target_low_growth"
    # a known major project can make a feasible total-mode plan infeasible:
    # g 4 %: bau_2 = 103.877 + 5 -> cut 0.0815 > 0.0591
    scen, chosen = _forecast("total", 0.17, 0.0, major=[0.0, 5.0])
    assert not any(s.feasible for s in scen[1:])
    assert chosen == 1
    assert scen[0].emissions[1] == pytest.approx(105.8841 + 5.0)
