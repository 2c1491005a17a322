"""Monitoring and early warning [监测预警] (MODEL.md 4.3): the fast-estimate
regression, official statistics timing, what is known when, status
classification, and the model-level accuracy of the fast estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import load_scenario, run
from sim.model import CarbonBudgetModel
from sim.monitoring import (
    BALANCE,
    OVERRUN,
    SURPLUS,
    Statistics,
    classify,
    fit_fast_model,
    official_noise,
)
from sim.params import SECTORS

# --------------------------------------------------------------- fit_fast_model --


def test_fit_recovers_known_coefficients_without_noise():
    rng = np.random.default_rng(0)
    # regressors of very different scale (TWh ~ 10, bn CNY ~ 1000) to exercise the column scaling
    X = np.column_stack(
        [rng.uniform(5, 50, 40), rng.uniform(200, 2000, 40), rng.uniform(100, 900, 40)]
    )
    beta = np.array([0.55, 0.02, 0.004])
    beta_hat = fit_fast_model(X, X @ beta)
    np.testing.assert_allclose(beta_hat, beta, rtol=1e-9)


def test_fit_recovers_a_zero_coefficient_exactly_and_stays_non_negative():
    rng = np.random.default_rng(1)
    X = rng.uniform(1, 10, (30, 3))
    beta = np.array([0.0, 1.5, 0.25])
    np.testing.assert_allclose(fit_fast_model(X, X @ beta), beta, atol=1e-10)
    # y = 2*x0 - 1*x1: plain OLS gives -1 for x1; the emission factors are constrained to >= 0
    y = X @ np.array([2.0, -1.0, 0.0])
    assert np.all(fit_fast_model(X, y) >= 0.0)


# -------------------------------------------------------------- Statistics --

C = 2
T = 40  # ten years
STAT_LAG = 6
FAST_LAG = 1
BETA = np.array([0.5, 0.2, 0.05])  # Mt per TWh, per bn CNY industry, per bn CNY diffuse


def _synthetic(stat_error: float = 0.0, trend_correction: bool = True):
    """Feed a Statistics object with data that are exactly linear in the regressors
    (no measurement noise), publishing and estimating every quarter like the model."""
    rng = np.random.default_rng(42)
    st = Statistics(T, C, STAT_LAG, FAST_LAG, stat_error, np.zeros(C), trend_correction)
    el = rng.uniform(10, 20, (T, C))
    ind = rng.uniform(30, 60, (T, C))
    dg = rng.uniform(100, 200, (T, C))
    e = np.stack([el, ind, dg], axis=2) @ BETA
    off_noise = np.array([official_noise(0, y, C) for y in range(T // 4 + 1)])  # per year
    published = {}
    for t in range(T):
        st.record(t, e[t], el[t], ind[t], ind[t] + dg[t], dg[t], np.zeros((C, 3)))
        yi = st.publish(t)
        if yi is not None:
            published[t] = yi
        st.fast_estimate(t)
    return st, e, off_noise, published


def test_official_statistics_published_at_end_of_quarter_4y_plus_3_plus_lag():
    st, e, _, published = _synthetic()
    # year y (quarters 4y..4y+3) is published at the end of quarter 4y + 3 + 6:
    # year 0 at t=9, year 1 at t=13, ..., year 7 at t=37 (year 8 would need t=41 > 39)
    assert published == {9: 0, 13: 1, 17: 2, 21: 3, 25: 4, 29: 5, 33: 6, 37: 7}
    np.testing.assert_array_equal(st.published_at[:8], [9, 13, 17, 21, 25, 29, 33, 37])
    assert np.all(st.published_at[8:] >= 10**9)
    assert st.n_published == 8
    assert np.all(np.isnan(st.official[8:]))


def test_official_is_truth_times_one_plus_error_times_noise():
    err = 0.03
    st, e, off_noise, published = _synthetic(stat_error=err)
    for y in published.values():
        truth = e[4 * y : 4 * y + 4].sum(axis=0)
        # official = truth * (1 + err * the statistics bureau's draw of that year)
        np.testing.assert_allclose(st.official[y], truth * (1 + err * off_noise[y]), rtol=1e-12)
    # and with zero error the official numbers are the truth
    st0, e0, _, _ = _synthetic(stat_error=0.0)
    np.testing.assert_allclose(st0.official[:8], e0[:32].reshape(8, 4, C).sum(axis=1), rtol=1e-12)


def test_fast_model_exact_on_exactly_linear_data():
    st, e, _, _ = _synthetic()
    np.testing.assert_allclose(st.beta, BETA, rtol=1e-8)
    # a refit at every publication
    assert [t for t, _ in st.refits] == [9, 13, 17, 21, 25, 29, 33, 37]
    # fast estimate of quarter q made at the end of quarter q + 1, once a model exists (t >= 9)
    made = st.fast_made_at
    assert np.all(made[:8] == -1)
    np.testing.assert_array_equal(made[8 : T - 1], np.repeat(np.arange(9, T)[:, None], C, axis=1))
    assert np.all(made[T - 1] == -1)  # the last quarter's estimate would be made after the run
    # from the second publication on (t >= 13: three unknowns, four equations) the fit is exact,
    # calibration factors are 1 and estimates equal the truth
    q = np.arange(12, T - 1)
    np.testing.assert_allclose(st.fast[q], e[q], rtol=1e-8)
    # fast_error: mean absolute relative error over every estimated city-quarter (8..38)
    rel = (st.fast[8 : T - 1] - e[8 : T - 1]) / e[8 : T - 1]
    fe = st.fast_error()
    assert fe["mape"] == pytest.approx(np.abs(rel).mean(), rel=1e-12)
    assert fe["bias"] == pytest.approx(rel.mean(), rel=1e-9, abs=1e-15)
    np.testing.assert_allclose(fe["mape_city"], np.abs(rel).mean(axis=0), rtol=1e-12)
    assert fe["mape"] > 0  # the one-year fits of t = 9..12 are not exact


def test_known_uses_official_for_published_years_then_fast_estimates():
    st, e, _, _ = _synthetic(stat_error=0.02)
    t = 20  # published by now: years 0 (t=9), 1 (t=13), 2 (t=17); year 3 only at t=21
    est, last = st.known(t, use_fast=True)
    annual = est[:12].reshape(3, 4, C).sum(axis=1)
    np.testing.assert_allclose(annual, st.official[:3], rtol=1e-12)
    # years 0 and 1 have no fast estimates (the model exists from t=9, first estimate is quarter 8):
    # the official figure is spread equally over the quarters
    np.testing.assert_allclose(est[:8], np.repeat(st.official[:2], 4, axis=0) / 4, rtol=1e-12)
    # year 2 is spread in proportion to its fast estimates
    f = st.fast[8:12]
    np.testing.assert_allclose(est[8:12], f / f.sum(axis=0) * st.official[2], rtol=1e-12)
    # after the published years: fast estimates up to t - fast_lag = 19, then nothing
    np.testing.assert_array_equal(est[12:20], st.fast[12:20])
    assert np.all(np.isnan(est[20:]))
    assert last == 19


def test_known_without_fast_estimates_stops_at_the_last_published_year():
    st, _, _, _ = _synthetic()
    est, last = st.known(20, use_fast=False)
    assert last == 11  # years 0-2 published -> quarters 0..11
    assert not np.isnan(est[:12]).any()
    assert np.all(np.isnan(est[12:]))
    # one quarter before a publication the year is not known yet, one quarter after it is
    _, last16 = st.known(16, use_fast=False)
    _, last17 = st.known(17, use_fast=False)
    assert (last16, last17) == (7, 11)
    # before the first publication nothing is known without fast estimates
    est8, last8 = st.known(8, use_fast=False)
    assert last8 == -1 and np.all(np.isnan(est8))


def test_known_last_quarter_is_not_ahead_of_the_data():
    # Before the first publication there is no fast model, so no fast estimate exists, yet
    # known() returns last = t - fast_lag = 7 with an all-NaN matrix: "the last quarter known"
    # claims eight quarters that are unknown (monitoring.py: `last = upto` unconditionally).
    st, _, _, _ = _synthetic()
    est8, last8 = st.known(8, use_fast=True)
    assert np.all(np.isnan(est8))
    assert last8 == -1


def test_known_at_plan_start_with_the_longest_valid_statistics_lag():
    # tiny: warm-up 4 years, stat_lag 12 (the largest the scenario check accepts): year 0 is
    # published at the end of quarter 15 and the fast model exists only from then on, so at
    # plan start only quarter 14 has a fast estimate.  known(15) nevertheless reports last = 14
    # over NaN quarters 4..13, and the carbon assessment's emission rate (model._allowance:
    # nansum over quarters last-3..last, times 4/4) sees one quarter of emissions as a year's
    # (about 8 instead of 28 Mt/yr for Harbour), i.e. vastly inflated room in the first year.
    m = CarbonBudgetModel(
        load_scenario("tiny", {"monitoring.stat_lag_quarters": 12}), 7, firm_agents=False
    )
    while m.t < 16:
        m.step()
    est, last = m.stats.known(15, use_fast=True)
    lo = max(last - 3, 0)
    assert not np.isnan(est[lo : last + 1]).any(), (lo, last)


# ---------------------------------------------------------------- classify --

S, O, R = 0.25, 0.25, 0.5  # exact binary fractions so the boundaries are exact


@pytest.mark.parametrize(
    ("r", "status", "warning"),
    [
        (0.5, SURPLUS, 0),
        (0.75 - 2**-40, SURPLUS, 0),  # just below 1 - s
        (0.75, BALANCE, 0),  # exactly 1 - s: not a surplus
        (1.0, BALANCE, 0),
        (1.25, BALANCE, 0),  # exactly 1 + o: not an overrun
        (1.25 + 2**-40, OVERRUN, 1),  # just above 1 + o: orange
        (1.5, OVERRUN, 1),  # exactly 1 + red: still orange
        (1.5 + 2**-40, OVERRUN, 2),  # just above 1 + red: red
        (3.0, OVERRUN, 2),
        (np.nan, BALANCE, 0),  # nothing observed yet
    ],
)
def test_classify_boundaries(r, status, warning):
    st, wn = classify(np.array([r]), S, O, R)
    assert (int(st[0]), int(wn[0])) == (status, warning)


def test_classify_vectorised_and_red_equal_to_overrun_threshold():
    st, wn = classify(np.array([0.9, 1.0, 1.1, np.nan]), 0.05, 0.03, 0.08)
    np.testing.assert_array_equal(st, [SURPLUS, BALANCE, OVERRUN, BALANCE])
    np.testing.assert_array_equal(wn, [0, 0, 2, 0])
    # red threshold == overrun threshold: every overrun is red
    st, wn = classify(np.array([1.3, 1.25]), 0.25, 0.25, 0.25)
    np.testing.assert_array_equal(st, [OVERRUN, BALANCE])
    np.testing.assert_array_equal(wn, [2, 0])


# ------------------------------------------------------------ model level --


def _clean(**extra) -> dict:
    """Overrides that make the electricity-to-carbon model nearly exact: no measurement
    noise, no statistical error, no electrification drift, no autonomous improvement."""
    o = {
        "monitoring.fast_noise": 0.0,
        "monitoring.stat_error": 0.0,
        "province.diffuse_electrification_drift": 0.0,
        "province.diffuse_improvement": 0.0,
    }
    for s in SECTORS:
        o[f"sector.{s}.electrification_drift"] = 0.0
        o[f"sector.{s}.autonomous_improvement"] = 0.0
    o.update(extra)
    return o


def _drift(d: float) -> dict:
    return {
        **{f"sector.{s}.electrification_drift": d for s in SECTORS},
        "province.diffuse_electrification_drift": d,
    }


def _mapes(overrides: dict, seeds=(0, 1, 2)) -> np.ndarray:
    # regime none: policy does not change intensities (the mix the model was fitted on)
    sc = load_scenario("default", overrides)
    out = []
    for s in seeds:
        m = CarbonBudgetModel(sc, s, regime="none", firm_agents=False)
        m.run_model()
        out.append(m.stats.fast_error()["mape"])
    return np.array(out)


def test_fast_estimate_accurate_without_noise_and_drift():
    m = _mapes(_clean())
    # residual error comes only from the changing firm mix within each city (~1 %)
    assert np.all(m < 0.02), m


def test_fast_estimate_error_grows_with_measurement_noise():
    m0 = _mapes(_clean()).mean()
    m1 = _mapes(_clean(**{"monitoring.fast_noise": 0.04})).mean()
    m2 = _mapes(_clean(**{"monitoring.fast_noise": 0.1})).mean()
    assert m0 < m1 < m2, (m0, m1, m2)
    # noise of s.d. 10 % on electricity and output: MAPE of several percent
    assert m2 > 0.05


def test_fast_estimate_error_grows_with_electrification_drift_without_trend_correction():
    no_tc = {"monitoring.trend_correction": False}
    flat = _mapes(_clean(**no_tc)).mean()
    drifting = _mapes(_clean(**no_tc, **_drift(0.06))).mean()
    # electricity per unit of output rising 6 %/yr makes a fixed electricity-to-carbon model stale
    assert drifting > 1.2 * flat, (flat, drifting)
    # and extrapolating the calibration drift (trend_correction) removes part of that error
    corrected = _mapes(_clean(**_drift(0.06))).mean()
    assert corrected < drifting, (corrected, drifting)


def test_half_yearly_monitoring_only_in_quarters_2_and_4(tiny):
    res = run(tiny.with_overrides({"monitoring.frequency": "half_yearly"}), 7, counterfactual=False)
    assert set(res.monitoring["quarter"]) == {2, 4}
    # and quarterly monitoring uses every quarter
    res_q = run(tiny, 7, counterfactual=False)
    assert set(res_q.monitoring["quarter"]) == {1, 2, 3, 4}
    # half-yearly: per plan year 2 monitoring dates x (3 cities + province) = 8 rows, 5 years
    assert len(res.monitoring) == 5 * 2 * 4


def test_monitoring_parquet_ratio(tiny_run, tmp_path, monkeypatch):
    from sim import runner, write_run

    monkeypatch.setattr(runner, "git_commit", lambda: None)  # the manifest's commit: no git here
    mon = pd.read_parquet(write_run(tiny_run, tmp_path / "run") / "monitoring.parquet")
    assert len(mon) == len(tiny_run.monitoring) > 0
    np.testing.assert_allclose(mon["ratio"], mon["cum_estimate"] / mon["cum_schedule"], rtol=1e-12)
    # status follows the ratio and the thresholds (0.05 / 0.03 / 0.08), each widened by
    # monitoring.early_tolerance / sqrt(quarters of the period observed)
    sc = tiny_run.scenario
    p0 = 4 * (sc.periods[0]["start_year"] - sc.first_year)
    tol = sc["monitoring.early_tolerance"] / np.sqrt(mon["data_through_t"] - p0 + 1)
    assert sc["monitoring.early_tolerance"] > 0 and len(sc.periods) == 1
    st = np.where(
        mon["ratio"] < 0.95 - tol,
        "surplus",
        np.where(mon["ratio"] > 1.03 + tol, "overrun", "balance"),
    )
    assert (mon["status"] == st).all()


def test_monitoring_table_ratio_and_cumulative_truth(default_run):
    mon = default_run.monitoring
    np.testing.assert_allclose(mon["ratio"], mon["cum_estimate"] / mon["cum_schedule"], rtol=1e-12)
    # budget regime: data through the quarter before (fast_lag = 1)
    assert (mon["data_through_t"] == mon["t"] - 1).all()
    # cum_true = true emissions from the first plan quarter to data_through_t (quarterly table)
    q = default_run.quarterly
    p0 = int(q.loc[q["period"] == 0, "t"].min())
    for _, row in mon.iloc[::23].iterrows():
        sel = (q["city"] == row["city"]) & (q["t"] >= p0) & (q["t"] <= row["data_through_t"])
        expected = q.loc[sel, "emissions"].sum()
        assert row["cum_true"] == pytest.approx(expected, rel=1e-12), (row["t"], row["city"])
    # the province row sums the cities
    for _, g in mon.groupby("t"):
        prov = g[g["city"] == "province"].iloc[0]
        cities = g[g["city"] != "province"]
        assert prov["cum_estimate"] == pytest.approx(cities["cum_estimate"].sum(), rel=1e-12)
        assert prov["cum_schedule"] == pytest.approx(cities["cum_schedule"].sum(), rel=1e-12)


def test_monitoring_without_fast_estimates_uses_only_published_years(default):
    res = run(default, 1, regime="budget_no_fast", counterfactual=False)
    mon = res.monitoring
    # official year y is known from the end of quarter 4y + 3 + 6 until the next publication
    # (4y + 13), so data always end with a complete year (its quarter 4, t = 4y + 3) and lag
    # the monitoring date by 6 to 9 quarters
    assert ((mon["data_through_t"] % 4) == 3).all()
    lag = mon["t"] - mon["data_through_t"]
    assert lag.between(6, 9).all()
    assert set(lag) == {6, 7, 8, 9}
    # with statistical error of 1 % the estimate of what is covered is close to the truth
    assert mon["estimate_error"].abs().max() < 0.05


@pytest.mark.parametrize("mode", ["intensity", "total", "dual"])
def test_time_progress_schedule(tiny, mode):
    # the scheduled budget of each quarter [时序进度]: intensity mode floats with observed GDP
    # (target intensity x quarterly GDP), total mode is a quarter of the annual Mt target,
    # dual the smaller quarter by quarter; the year's schedule is what the annual account
    # holds the city to (in every mode, so monitoring and accounts never disagree).
    sc = tiny.with_overrides({"periods.0.mode": mode, "periods.0.total_change": -0.05})
    m = CarbonBudgetModel(sc, 7, firm_agents=False)
    m.run_model()
    p = m.plans[0]
    for k in range(p.years):
        rows = slice(p.p0 + 4 * k, p.p0 + 4 * k + 4)
        floating = p.I_path[:, k] * m.q["gdp"][rows]
        fixed = np.broadcast_to(p.T[:, k] / 4, floating.shape)
        expected = {"intensity": floating, "total": fixed, "dual": np.minimum(floating, fixed)}
        np.testing.assert_allclose(m.schedule[rows], expected[mode], rtol=1e-12)
        np.testing.assert_allclose(
            m.schedule[rows].sum(axis=0), p.held_to[:, k] - p.traded[:, k], rtol=1e-12
        )
