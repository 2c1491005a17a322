"""Synthetic province: cities, key firms and diffuse sectors from a scenario.

The structure is drawn from ``province.population_seed`` (not the run seed),
so every replicate of a scenario simulates the same province.  Calibration
(FACTS.md): sector totals are back-cast from the base-year targets
(``province.base_emissions_mt``, ``province.base_gdp_bn``, sector shares) over
the warm-up years at each sector's trend growth and autonomous improvement,
so that the simulated base year lands near them.  City heterogeneity comes
from each city's GDP share and industry mix (heavy-industry cities are
several times more carbon-intensive than service cities).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.agents.firms import FirmPopulation, SectorArrays
from sim.params import SECTORS
from sim.scenario import Scenario


@dataclass
class Diffuse:
    """One aggregate diffuse sector per city (services, households, transport, small industry)."""

    gdp: np.ndarray  # bn CNY/yr
    I: np.ndarray  # Mt per bn CNY
    el: np.ndarray  # TWh per bn CNY


@dataclass
class Province0:
    firms: FirmPopulation
    diffuse: Diffuse
    major_rows: np.ndarray  # firm rows reserved for scheduled major projects (inactive until built)


def _firm_counts(share: np.ndarray, n: int) -> np.ndarray:
    """Firms per sector by largest remainders, at least one per sector with a
    positive share while there are enough firms (a sector's emissions never
    silently vanish in a small province)."""
    pos = share > 0
    base = np.where(pos, 1, 0) if n >= pos.sum() else np.zeros(share.size, dtype=int)
    rest = n - base.sum()
    exact = share / share.sum() * rest
    counts = base + np.floor(exact).astype(int)
    left = n - counts.sum()
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    counts[order[:left]] += 1
    return counts


def build(sc: Scenario) -> Province0:
    v = sc.values
    rng = np.random.default_rng(v["province.population_seed"])
    C = len(sc.cities)
    W = v["run.warmup_years"]
    sp = SectorArrays.from_values(v)
    gdp_share_c = np.array([c["gdp_share"] for c in sc.cities], dtype=float)
    gdp_share_c = gdp_share_c / gdp_share_c.sum()
    mix = np.array([c["industry_mix"] for c in sc.cities], dtype=float)

    # back-cast sector totals to the first simulated year
    E_base, G_base = v["province.base_emissions_mt"], v["province.base_gdp_bn"]
    e_share = np.array([v[f"sector.{s}.emission_share"] for s in SECTORS])
    g_share = np.array([v[f"sector.{s}.gdp_share"] for s in SECTORS])
    f_share = np.array([v[f"sector.{s}.firm_share"] for s in SECTORS])
    Q0_s = g_share * G_base / (1 + sp.trend) ** W
    E0_s = e_share * E_base / ((1 + sp.trend) * (1 - sp.improve)) ** W
    I0_s = np.divide(E0_s, Q0_s, out=np.zeros_like(E0_s), where=Q0_s > 0)

    # firms per sector, each assigned to a city with probability ∝ GDP share x industry mix
    N = v["province.n_firms"]
    n_s = _firm_counts(f_share, N)
    city_l, sector_l, size_l = [], [], []
    w_city = gdp_share_c * mix
    w_city = w_city / w_city.sum()
    for s, n in enumerate(n_s):
        if n == 0:
            continue
        # spread firms over cities: at least one per city while there are enough firms
        base = np.arange(C) if n >= C else np.array([], dtype=int)
        extra = rng.choice(C, size=n - base.size, p=w_city)
        cities = np.concatenate([base, extra])
        city_l.append(cities)
        sector_l.append(np.full(n, s))
        size_l.append(rng.lognormal(0.0, v["province.firm_size_sigma"], n) * w_city[cities] * C)
    city = np.concatenate(city_l)
    sector = np.concatenate(sector_l)
    size = np.concatenate(size_l)
    Q = np.zeros(N)
    for s in range(len(SECTORS)):
        m = sector == s
        if m.any():
            Q[m] = Q0_s[s] * size[m] / size[m].sum()
    z = rng.lognormal(0.0, v["province.firm_intensity_sigma"], N)
    I = np.zeros(N)
    el = np.zeros(N)
    outdated = np.zeros(N, dtype=bool)
    for s in range(len(SECTORS)):
        m = sector == s
        if not m.any():
            continue
        zz = z[m]
        I[m] = I0_s[s] * zz * Q[m].sum() / np.sum(Q[m] * zz)  # sector emissions exact
        el[m] = v[f"sector.{SECTORS[s]}.electricity_intensity"] * np.sqrt(zz)
        # outdated capacity [落后产能]: the most intensive firms of energy-intensive
        # sectors (sector intensity above the provincial average)
        if v["province.outdated_share"] > 0 and I0_s[s] > E_base / G_base:
            cut = np.quantile(zz, 1.0 - v["province.outdated_share"])
            outdated[np.flatnonzero(m)[(zz >= cut) & (zz > np.median(zz))]] = (
                True  # never a sector's only firm
            )
    util = v["province.utilisation"]
    K = Q / util

    # diffuse sector fills each city's GDP; its emissions are the rest of the province total
    G0 = G_base / (1 + v["province.diffuse_growth"]) ** W  # approx. first-year GDP
    firm_gdp_c = np.bincount(city, weights=Q, minlength=C)
    city_gdp = gdp_share_c * (G0 - Q.sum() + firm_gdp_c.sum())
    d_gdp = np.maximum(city_gdp - firm_gdp_c, 0.15 * city_gdp)
    d_gdp *= max(G0 - Q.sum(), 0.1 * G0) / d_gdp.sum()
    E_d0 = (
        (1 - e_share.sum())
        * E_base
        / ((1 + v["province.diffuse_growth"]) * (1 - v["province.diffuse_improvement"])) ** W
    )
    I_d = np.full(C, E_d0 / d_gdp.sum())
    el_d = np.full(C, v["province.diffuse_electricity_intensity"])

    # scheduled major projects: reserved rows, inactive with zero capacity until built
    M = len(sc.major_projects)
    names = sc.city_names
    if M:
        mp_city = np.array([names.index(p["city"]) for p in sc.major_projects])
        mp_sector = np.array([SECTORS.index(p["sector"]) for p in sc.major_projects])
        mp_I = np.array([p["emissions_mt"] / max(p["output_bn"], 1e-9) for p in sc.major_projects])
        mp_el = np.array(
            [v[f"sector.{p['sector']}.electricity_intensity"] for p in sc.major_projects]
        )
        city = np.concatenate([city, mp_city])
        sector = np.concatenate([sector, mp_sector])
        Q = np.concatenate([Q, np.zeros(M)])
        K = np.concatenate([K, np.zeros(M)])
        I = np.concatenate([I, mp_I])
        el = np.concatenate([el, mp_el])
        outdated = np.concatenate([outdated, np.zeros(M, dtype=bool)])
    active = np.ones(N + M, dtype=bool)
    active[N:] = False
    firms = FirmPopulation(city, sector, Q, K, I, el, active, outdated, sp, C, utilisation=util)
    return Province0(firms, Diffuse(d_gdp, I_d, el_d), np.arange(N, N + M))
