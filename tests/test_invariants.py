"""Invariants over random seeds and random tiny scenarios (ARCHITECTURE.md
"Tests"): allocations + reserve equal the budget at plan time, city totals
equal firms + diffuse, province rows equal the sum of the cities, no NaN or
negative output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import load_scenario
from sim.model import CarbonBudgetModel
from sim.runner import collect

METHODS = ("grandfathering", "intensity", "equality", "efficiency", "potential")
SUM_Q = [
    "gdp", "gdp_firms", "gdp_diffuse", "emissions", "emissions_firms", "emissions_diffuse",
    "electricity", "schedule", "restriction_gdp_loss", "phase_out_mt", "abatement_mt",
    "abatement_cost", "fiscal_cost", "pricing_revenue",
]  # fmt: skip
SUM_A = [
    "gdp", "gdp_firms", "gdp_diffuse", "emissions", "emissions_firms", "emissions_diffuse",
    "electricity", "restriction_gdp_loss", "phase_out_mt", "abatement_mt", "abatement_cost",
    "fiscal_cost", "pricing_revenue",
]  # fmt: skip
NONNEG = ["gdp", "gdp_firms", "gdp_diffuse", "emissions", "emissions_firms", "emissions_diffuse",
          "electricity"]  # fmt: skip


@pytest.fixture(scope="module")
def two_periods(tmp_path_factory):
    """``tiny`` over two chained periods, the second in dual mode."""
    p = tmp_path_factory.mktemp("scen") / "tiny2.toml"
    p.write_text(
        'name = "tiny2"\nextends = "tiny"\n'
        '[[periods]]\nstart_year = 2026\nyears = 5\nmode = "intensity"\nintensity_target = 0.17\n'
        '[[periods]]\nstart_year = 2031\nyears = 3\nmode = "dual"\nintensity_target = 0.1\n'
        "total_change = -0.03\n"
    )
    return str(p)


@st.composite
def overrides(draw) -> dict:
    k = draw(st.lists(st.integers(0, 10), min_size=5, max_size=5).filter(lambda x: sum(x) > 0))
    w = {f"plan.weight_{m}": ki / sum(k) for m, ki in zip(METHODS, k, strict=True)}
    return {
        **w,
        "plan.reserve_share": draw(st.floats(0.0, 0.3)),
        "province.n_firms": draw(st.integers(10, 80)),
        "plan.annual_shape": draw(st.sampled_from(["path", "flat", "front_loaded"])),
        "plan.front_loading": draw(st.floats(0.0, 0.5)),
        "periods.0.mode": draw(st.sampled_from(["intensity", "total", "dual"])),
        "periods.0.total_change": draw(st.floats(-0.3, 0.2)),
        "periods.0.intensity_target": draw(st.floats(0.0, 0.4)),
        "accounts.rule": draw(st.sampled_from(["fixed", "carryover", "threshold", "rebase"])),
        "plan.negotiation_grant": draw(st.floats(0.0, 1.0)),
        "plan.negotiation_tolerance": draw(st.floats(0.0, 0.2)),
        "trading.enabled": draw(st.booleans()),
        "regime.name": draw(st.sampled_from(["budget", "budget", "traditional", "none"])),
    }


def _model(base: str, ov: dict, seed: int) -> CarbonBudgetModel:
    m = CarbonBudgetModel(load_scenario(base, ov), seed, firm_agents=False)
    m.run_model()
    return m


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(ov=overrides(), seed=st.integers(0, 2**32 - 1), chained=st.booleans())
def test_allocation_plus_reserve_equals_budget(two_periods, ov, seed, chained):
    base = two_periods if chained else "tiny"
    m = _model(base, ov, seed)
    assert len(m.plans) == (2 if chained else 1)
    for plan in m.plans:
        lhs = plan.T_initial.sum(axis=0) + plan.reserve_initial
        np.testing.assert_allclose(lhs, plan.budget, rtol=1e-9, atol=0)
        assert np.all(plan.budget > 0)
        # the reserve only shrinks in negotiation, never below zero
        share = ov["plan.reserve_share"] if m.regime.reserve else 0.0
        assert np.all(plan.reserve_initial >= -1e-12)
        assert np.all(plan.reserve_initial <= share * plan.budget * (1 + 1e-12) + 1e-12)
        assert plan.T_initial.shape == (3, plan.years)


@SETTINGS
@given(ov=overrides(), seed=st.integers(0, 2**32 - 1))
def test_accounting_identities_in_the_tables(ov, seed):
    m = _model("tiny", ov, seed)
    # firm rows add up to the recorded firm emissions in the last quarter
    f = m.firms
    np.testing.assert_allclose(
        m.q["emissions_firms"][m.T - 1], np.bincount(f.city, f.emissions, minlength=3), rtol=1e-12
    )
    r = collect(m)
    q = r.quarterly
    assert len(q) == m.T * 4
    cities = q[q.city != "province"]
    prov = q[q.city == "province"].set_index("t")
    np.testing.assert_allclose(
        cities.emissions, cities.emissions_firms + cities.emissions_diffuse, rtol=1e-12, atol=0
    )
    np.testing.assert_allclose(cities.gdp, cities.gdp_firms + cities.gdp_diffuse, rtol=1e-12)
    sums = cities.groupby("t")[SUM_Q].sum()
    np.testing.assert_allclose(prov[SUM_Q].to_numpy(), sums.to_numpy(), rtol=1e-12, atol=1e-12)
    for col in ("gdp", "emissions", "electricity", "gdp_firms", "emissions_firms"):
        assert not q[col].isna().any(), col
    for col in NONNEG:
        assert (q[col] >= 0).all(), col
    assert (q.restriction >= 0).all() and (q.restriction <= 0.95 + 1e-12).all()

    a = r.annual
    assert len(a) == (m.T // 4) * 4
    ac = a[a.city != "province"]
    ap = a[a.city == "province"].set_index("year")
    np.testing.assert_allclose(
        ap[SUM_A].to_numpy(), ac.groupby("year")[SUM_A].sum().to_numpy(), rtol=1e-12, atol=1e-12
    )
    # annual flows are the sums of the quarters
    qy = q.groupby(["year", "city"], sort=False)[["gdp", "emissions", "electricity"]].sum()
    ay = a.set_index(["year", "city"])[["gdp", "emissions", "electricity"]]
    pd.testing.assert_frame_equal(ay.loc[qy.index], qy, check_exact=False, rtol=1e-12)
    for col in NONNEG:
        assert (a[col] >= 0).all() and not a[col].isna().any(), col


@pytest.mark.parametrize("seed", [0, 1])
def test_default_scenario_identities(default, seed):
    """The same identities on the full default province (3000 firms, 13 cities)."""
    m = CarbonBudgetModel(default, seed, firm_agents=False)
    m.run_model()
    p = m.plans[0]
    np.testing.assert_allclose(
        p.T_initial.sum(axis=0) + p.reserve_initial, p.budget, rtol=1e-9, atol=0
    )
    e, ef, ed = m.q["emissions"], m.q["emissions_firms"], m.q["emissions_diffuse"]
    np.testing.assert_allclose(e, ef + ed, rtol=1e-12)
    assert np.isfinite(e).all() and (e > 0).all()
    assert (m.firms.Qp >= 0).all() and (m.firms.K >= 0).all() and (m.firms.I >= 0).all()
    assert np.all(m.firms.Qp <= m.firms.K * (1 + 1e-12))  # output never above capacity
