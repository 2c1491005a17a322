"""Calibration of the default province against shared/FACTS.md: base-year
emissions of a Jiangsu-scale province (CEADs 2019: 805 Mt), CAIT 2018 sector
shares as used in sim/params.py, a several-fold spread of city carbon
intensity, 13 cities and about 3000 key firms."""

from __future__ import annotations

import numpy as np
import pytest

from sim import load_scenario
from sim.model import CarbonBudgetModel
from sim.params import SECTORS

BASE_YEAR = 2025  # the year before the first period (2026-2030)
SEEDS = range(10)


def _base_year(default, seed: int) -> dict[str, np.ndarray]:
    """Step the default model through its base year; collect sector emissions."""
    m = CarbonBudgetModel(default, seed, firm_agents=False)
    yi = BASE_YEAR - m.first_year
    by_sector = np.zeros(len(SECTORS))
    while m.t < 4 * (yi + 1):
        m.step()
        if m.t - 1 >= 4 * yi:
            f = m.firms
            by_sector += np.bincount(f.sector, weights=f.emissions, minlength=len(SECTORS))
    rows = slice(4 * yi, 4 * yi + 4)
    return {
        "city_emissions": m.q["emissions"][rows].sum(axis=0),
        "city_gdp": m.q["gdp"][rows].sum(axis=0),
        "diffuse": m.q["emissions_diffuse"][rows].sum(),
        "sector": by_sector,
        "active_firms": int(m.firms.active.sum()),
    }


@pytest.fixture(scope="module")
def base_years(default):
    return [_base_year(default, s) for s in SEEDS]


def test_scale_of_the_default_province(default):
    assert len(default.cities) == 13  # Jiangsu: 13 prefecture-level cities
    m = CarbonBudgetModel(default, 0, firm_agents=False)
    assert BASE_YEAR == default.periods[0]["start_year"] - 1
    assert int(m.firms.active.sum()) == 3000  # key firms (+ 1 reserved major-project row)
    assert m.firms.n == 3000 + len(default.major_projects)
    assert m.C == 13


def test_base_year_emissions_in_the_annual_table(default_run):
    a = default_run.annual
    prov = a[(a.year == BASE_YEAR) & (a.city == "province")]
    assert len(prov) == 1
    e = float(prov.emissions.iloc[0])
    # 800 Mt +- 10 % (CEADs 2019 Jiangsu 805 Mt)
    assert 720.0 <= e <= 880.0, e
    cities = a[(a.year == BASE_YEAR) & (a.city != "province")]
    assert len(cities) == 13
    assert cities.emissions.sum() == pytest.approx(e, rel=1e-12)


def test_base_year_emissions_on_average(base_years):
    mean = np.mean([b["city_emissions"].sum() for b in base_years])
    assert mean == pytest.approx(800.0, rel=0.05)
    gdp = np.mean([b["city_gdp"].sum() for b in base_years])
    assert gdp == pytest.approx(12800.0, rel=0.10)  # province.base_gdp_bn


def test_base_year_matches_model_internals(default_run, default):
    b = _base_year(default, 1)  # the default_run fixture's seed
    a = default_run.annual
    cities = a[(a.year == BASE_YEAR) & (a.city != "province")]
    np.testing.assert_allclose(cities.emissions.to_numpy(), b["city_emissions"], rtol=1e-12)


@pytest.mark.parametrize(
    ("sector", "cait"),
    [
        # CAIT 2018 shares as used in sim/params.py
        ("power", 0.50),  # electricity and heat 50.6 %
        ("steel", 0.15),
        ("cement", 0.085),
        ("chemicals", 0.06),
        ("other_industry", 0.04),
    ],
)
def test_sector_shares(base_years, default, sector, cait):
    assert default[f"sector.{sector}.emission_share"] == cait
    s = SECTORS.index(sector)
    for b in base_years:
        share = b["sector"][s] / b["city_emissions"].sum()
        assert share == pytest.approx(cait, abs=0.03), (sector, share)


def test_key_firm_industry_and_diffuse_shares(base_years):
    # manufacturing + industrial processes: 25.9 + 7.6 = 33.5 % -> steel..other = 0.335
    # diffuse (transport, buildings, rest): 1 - 0.50 - 0.335 = 0.165
    for b in base_years:
        total = b["city_emissions"].sum()
        industry = b["sector"][1:].sum() / total
        diffuse = b["diffuse"] / total
        assert industry == pytest.approx(0.335, abs=0.03)
        assert diffuse == pytest.approx(0.165, abs=0.02)
        assert (b["sector"].sum() + b["diffuse"]) == pytest.approx(total, rel=1e-9)


def test_city_intensity_spread_is_several_fold(base_years, default_run):
    for b in base_years:
        inten = b["city_emissions"] / b["city_gdp"]
        ratio = inten.max() / inten.min()
        assert 3.0 <= ratio <= 15.0, ratio
    a = default_run.annual
    cities = a[(a.year == BASE_YEAR) & (a.city != "province")].set_index("city")
    # heavy-industry cities are the most intensive, service cities the least
    assert cities.intensity.idxmax() in {"Coalfield", "Seagate", "Steelton", "Chemport"}
    assert cities.intensity.idxmin() in {"Greenfield", "Canalcity", "Riverport", "Lakeside"}
    # province intensity ~ 800 Mt / 12,800 bn CNY = 0.625 t per 10,000 CNY
    prov = a[(a.year == BASE_YEAR) & (a.city == "province")].intensity.iloc[0]
    assert prov == pytest.approx(0.625, rel=0.15)


def _initial_emission_rate(n_firms: int) -> float:
    m = CarbonBudgetModel(
        load_scenario("tiny", {"province.n_firms": n_firms}), 0, firm_agents=False
    )
    f, d = m.firms, m.diffuse
    return float(f.Qp @ f.I + d.gdp @ d.I)  # Mt/yr in the first simulated year


def test_sector_totals_do_not_depend_on_the_number_of_firms():
    # population.py sets each sector's emissions exactly; more firms only split them finer
    assert _initial_emission_rate(20) == pytest.approx(_initial_emission_rate(30), rel=1e-9)
    assert _initial_emission_rate(30) == pytest.approx(_initial_emission_rate(80), rel=1e-9)


def test_small_populations_keep_every_sector():
    # tiny with 10 firms: floor(0.05 * 10) = 0 power firms, floor(0.8) = 0 steel firms
    assert _initial_emission_rate(10) == pytest.approx(_initial_emission_rate(30), rel=1e-9)
