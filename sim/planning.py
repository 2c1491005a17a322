"""Budget plan preparation [碳预算方案编制] (MODEL.md 4.2).

Pure functions, called by the Province agent before the first quarter of each
plan period with what is *known* then (stale statistics included):

1. :func:`estimate_base_year` — status accounting of the base year;
2. :func:`forecast_scenarios` — BAU and target-oriented scenarios at three
   growth levels; the plan takes the one that meets the target with the most
   growth;
3. :func:`budget_path` and :func:`annual_targets` — the total budget in
   intensity, total or dual mode and its split into annual targets;
4. the reserve (a share of each year's budget);
5. :func:`vertical_allocation` — a weighted mix of allocation methods;
6. :func:`negotiate` — appeals granted in part from the reserve;
7. :func:`horizontal_mode` and :func:`targeting` — allocation to firms or
   sectors, and who is targeted first by firm-level instruments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.policies.allocation import CityIndicators, mixed_shares, split_exact


# ------------------------------------------------------------ base year ---
def estimate_base_year(known: np.ndarray, base_year_idx: int, official: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray, int]:  # fmt: skip
    """Estimate each city's base-year emissions from a (quarters x cities)
    matrix of best estimates known now (NaN = unknown).

    Returns (base-year estimate per city, yearly trend growth per city, the last
    fully known year index).  Unknown quarters of the base year are the same
    quarter of the last fully known year grown at the city's trend.  The trend
    is the growth between the last two published official years when
    ``official`` (years x cities, published rows only) has two, else between
    the last two fully known years; clipped to [-10 %, +15 %].  (A trend from
    one official and one fast-estimated year would carry the fast model's bias.)
    """
    n_years = known.shape[0] // 4
    annual = known[: 4 * n_years].reshape(n_years, 4, -1)
    full = ~np.isnan(annual).any(axis=(1, 2))
    full_years = np.flatnonzero(full[: base_year_idx + 1])
    if full_years.size == 0:
        raise ValueError("no fully known year before the plan: lengthen run.warmup_years")
    y_full = int(full_years[-1])
    E_full = annual[y_full].sum(axis=0)
    if official is not None and official.shape[0] >= 2:
        o1, o0 = official[-1], official[-2]
        trend = np.clip(np.divide(o1, o0, out=np.ones_like(o1), where=o0 > 0) - 1.0, -0.10, 0.15)
    elif full_years.size >= 2 and full_years[-2] == y_full - 1:
        prev = annual[y_full - 1].sum(axis=0)
        trend = np.clip(
            np.divide(E_full, prev, out=np.ones_like(E_full), where=prev > 0) - 1.0, -0.10, 0.15
        )
    else:
        trend = np.zeros_like(E_full)
    if y_full == base_year_idx:
        return E_full, trend, y_full
    gap = base_year_idx - y_full
    fill = annual[y_full] * (1.0 + trend[None, :]) ** gap  # quarter-by-quarter
    base_q = annual[base_year_idx] if base_year_idx < n_years else np.full_like(fill, np.nan)
    base = np.where(np.isnan(base_q), fill, base_q).sum(axis=0)
    return base, trend, y_full


# ----------------------------------------------------------- forecasts ----
@dataclass
class ForecastScenario:
    name: str
    growth: float  # GDP growth per year
    gdp: np.ndarray  # province GDP per plan year
    emissions: np.ndarray  # province emissions per plan year (BAU) or budget (target-oriented)
    feasible: bool
    required_cut: float  # final-year cut below BAU


def forecast_scenarios(E_base: float, gdp_base: float, intensity_trend: float, growth: float, spread: float,
                       years: int, mode: str, intensity_target: float, total_change: float,
                       max_policy_cut: float, major_mt: np.ndarray) -> tuple[list[ForecastScenario], int]:  # fmt: skip
    """BAU and target-oriented [目标导向情景] scenarios at growth - spread,
    growth and growth + spread.  A target-oriented scenario is feasible if the
    cut below BAU it requires in every year is within what ``max_policy_cut``
    per year can deliver.  Returns the scenarios and the index of the chosen
    one: the feasible target-oriented scenario with the most growth (or the
    lowest-growth one if none is feasible)."""
    k = np.arange(1, years + 1)
    out: list[ForecastScenario] = []
    bau_gdp = gdp_base * (1 + growth) ** k
    bau_E = E_base * ((1 + growth) * (1 + intensity_trend)) ** k + major_mt
    out.append(ForecastScenario("business_as_usual", growth, bau_gdp, bau_E, True, 0.0))
    for name, g in (("target_low_growth", growth - spread), ("target_base_growth", growth),
                    ("target_high_growth", growth + spread)):  # fmt: skip
        gdp = gdp_base * (1 + g) ** k
        bau = E_base * ((1 + g) * (1 + intensity_trend)) ** k + major_mt
        budget = budget_path(E_base, gdp_base, gdp, years, mode, intensity_target, total_change)
        cut = 1.0 - budget / bau
        feasible = bool(np.all(cut <= 1.0 - (1.0 - max_policy_cut) ** k + 1e-12))
        out.append(ForecastScenario(name, g, gdp, budget, feasible, float(cut[-1])))
    feas = [i for i in range(1, 4) if out[i].feasible]
    return out, (max(feas, key=lambda i: out[i].growth) if feas else 1)


def budget_path(E_base: float, gdp_base: float, gdp: np.ndarray, years: int, mode: str, intensity_target: float,
                total_change: float) -> np.ndarray:  # fmt: skip
    """Yearly province budget (Mt).  Intensity mode: GDP x an intensity falling
    geometrically to (1 - target) x base intensity by the final year; total
    mode: a cap path falling (or rising) geometrically to (1 + total_change) x
    base emissions; dual: the stricter of the two."""
    k = np.arange(1, years + 1)
    I0 = E_base / gdp_base
    inten = gdp * I0 * (1.0 - intensity_target) ** (k / years)
    total = E_base * (1.0 + total_change) ** (k / years)
    if mode == "intensity":
        return inten
    if mode == "total":
        return total
    return np.minimum(inten, total)


def annual_targets(path: np.ndarray, shape: str, tilt: float) -> np.ndarray:
    """Split the period budget along ``path`` into annual targets.

    ``path`` follows the budget path; ``flat`` gives equal years (same total);
    ``front_loaded`` makes earlier years tighter without loosening any year:
    year k (0-based, of n) gets ``path_k x (1 - tilt x (n - 1 - k) / (n - 1))``,
    so the first year is ``1 - tilt`` of the path, the final year is on it and
    no year exceeds the path (in total mode: the cap path), at the price of a
    period total below the path's."""
    total = path.sum()
    n = path.size
    if shape == "path":
        return path.copy()
    if shape == "flat":
        return np.full(n, total / n)
    if shape == "front_loaded":
        return path * (1.0 - tilt * (n - 1 - np.arange(n)) / max(n - 1, 1))
    raise ValueError(f"unknown annual shape {shape!r}")


# ---------------------------------------------------------- allocation ----
def vertical_allocation(allocable: np.ndarray, ci: CityIndicators, weights: dict[str, float],
                        structure_elasticity: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Allocate each year's budget net of reserve to cities (cities x years);
    columns sum exactly (to rounding) to ``allocable``.  Returns (allocation, shares)."""
    shares = mixed_shares(ci, weights, structure_elasticity)
    alloc = np.stack([split_exact(a, shares) for a in allocable], axis=1)
    return alloc, shares


def negotiate(alloc: np.ndarray, need: np.ndarray, reserve: np.ndarray, tolerance: float, grant_share: float,
              reserve_cap: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Negotiation [征求意见]: a city whose total allocation falls short of its
    own forecast need by more than ``tolerance`` (share of its allocation)
    appeals; it is granted ``grant_share`` of each year's shortfall, from the
    reserve, scaled down pro rata so that no year uses more than
    ``reserve_cap`` of that year's reserve.

    Returns (new allocation, new reserve, appeal flags, grants per city-year).
    The sum allocation + reserve is unchanged in every year.
    """
    short = np.clip(need - alloc, 0.0, None)
    appeal = short.sum(axis=1) > tolerance * alloc.sum(axis=1)
    ask = grant_share * short * appeal[:, None]
    asked = ask.sum(axis=0)
    room = reserve_cap * reserve
    f = np.divide(room, asked, out=np.ones_like(asked), where=asked > room)
    grant = ask * np.minimum(f, 1.0)[None, :]
    new_alloc = alloc + grant
    new_reserve = reserve - grant.sum(axis=0)
    return new_alloc, new_reserve, appeal, grant


def hhi(values: np.ndarray) -> float:
    """Herfindahl-Hirschman index of shares (0..1)."""
    s = values.sum()
    if s <= 0:
        return 0.0
    sh = values / s
    return float(np.sum(sh * sh))


def horizontal_mode(
    n_firms: int, concentration: float, count_threshold: int, hhi_threshold: float
) -> str:
    """Horizontal allocation [横向分配]: to firms where firms are few or emissions
    concentrated, else to sectors."""
    return "firms" if n_firms <= count_threshold or concentration >= hhi_threshold else "sectors"


def targeting(
    ratio: np.ndarray, emissions: np.ndarray, group: np.ndarray, share: float, n_groups: int
) -> np.ndarray:
    """Firms targeted first by firm-level instruments: within each group
    (city), the firms most above their allocation (highest ``ratio``) until
    their emissions reach ``share`` of the group's emissions.  Vectorised."""
    order = np.lexsort((-ratio, group))
    e = emissions[order]
    g = group[order]
    cum = np.cumsum(e)
    tot = np.bincount(g, weights=e, minlength=n_groups)
    start = np.concatenate([[0.0], np.cumsum(tot)[:-1]])
    before = cum - e - start[g]  # emissions of this group's firms ranked higher
    flag = (before < share * tot[g]) & (share > 0)
    out = np.zeros(ratio.size, dtype=bool)
    out[order] = flag
    return out
