"""Budget plan preparation [碳预算方案编制] (MODEL.md 4.2).

Run by the Province agent before the first quarter of each plan period with
what is *known* then (stale statistics included).

:func:`prepare` runs the stage on the model's state; the steps are pure
functions over arrays:

1. :func:`estimate_base_year` — status accounting of the base year;
2. :func:`forecast_scenarios` — BAU and target-oriented scenarios at three
   growth levels; the plan takes the one that meets the target with the most
   growth;
3. :func:`budget_path` and :func:`annual_targets` — the total budget in
   intensity, total or dual mode and its split into annual targets;
4. the reserve (a share of each year's budget);
5. :func:`vertical_allocation` — a weighted mix of allocation methods;
6. :func:`negotiate` — appeals granted in part from the reserve;
7. :func:`horizontal_allocation` (the rules :func:`sim.policies.allocation.horizontal_mode`
   and :func:`~sim.policies.allocation.targeting`) — allocation to firms or
   sectors, and who is targeted first by firm-level instruments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.budget import PeriodPlan
from sim.policies.allocation import CityIndicators, mixed_shares, split_exact, targeting

if TYPE_CHECKING:
    from sim.model import CarbonBudgetModel


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


# ---------------------------------------------------- the stage as a whole ---
METHODS = ("grandfathering", "intensity", "equality", "efficiency", "potential")


def prepare(m: CarbonBudgetModel, period_index: int) -> PeriodPlan:
    """Budget plan preparation before the first quarter of a period (MODEL.md 4.2)."""
    v = m.sc.values
    per = m.sc.periods[period_index]
    Y = per["years"]
    p0 = m.t
    base_yi = p0 // 4 - 1
    ev = m.events
    # 1. status accounting from what is known (stale statistics)
    known, last = m.stats.known(p0 - 1, use_fast=m.regime.fast_monitoring)
    n_off = int(np.sum(m.stats.published_at <= p0 - 1))
    official = m.stats.official[:n_off]
    E_base, trend, y_full = estimate_base_year(known, base_yi, official)
    gdp_base = m.stats.gdp[4 * base_yi : 4 * base_yi + 4].sum(axis=0)
    ev.add(
        p0,
        "plan_base_year",
        amount=float(E_base.sum()),
        value=float(m.first_year + y_full),
        detail=f"base year {m.first_year + base_yi} estimated; last fully known year {m.first_year + y_full}",
    )
    # 2. forecast scenarios (province level), known major projects included
    I_trend = _intensity_trend(m, official)
    major = np.zeros(Y)
    for mp in m.sc.major_projects:
        k = mp["year"] - per["start_year"]
        if 0 <= k < Y:
            major[k:] += mp["emissions_mt"]
    scen, chosen = forecast_scenarios(
        float(E_base.sum()), float(gdp_base.sum()), I_trend, v["macro.gdp_growth_expectation"],
        v["plan.scenario_growth_spread"], Y, per["mode"], per["intensity_target"], per["total_change"],
        v["plan.max_policy_cut"], major)  # fmt: skip
    for s in scen:
        ev.add(
            p0,
            "plan_scenario",
            amount=float(s.emissions.sum()),
            value=s.growth,
            detail=f"{s.name}: feasible={s.feasible}, final-year cut below BAU {s.required_cut:.3f}",
        )
    g = scen[chosen].growth
    ev.add(p0, "plan_scenario_chosen", value=g, detail=scen[chosen].name)
    if not scen[chosen].feasible:
        ev.add(p0, "plan_infeasible", value=scen[chosen].required_cut,
               detail="no target-oriented scenario is feasible within plan.max_policy_cut; "
                      "the lowest-growth one is used")  # fmt: skip
    # 3. total budget and annual targets
    k = np.arange(1, Y + 1)
    recent = _recent_gdp_growth(m, base_yi)
    g_city = 0.5 * g + 0.5 * recent
    gdp_f = gdp_base[:, None] * (1 + g_city[:, None]) ** k[None, :]
    gdp_f *= (gdp_base.sum() * (1 + g) ** k / gdp_f.sum(axis=0))[
        None, :
    ]  # consistent with province
    path = budget_path(float(E_base.sum()), float(gdp_base.sum()), gdp_f.sum(axis=0), Y, per["mode"],
                                per["intensity_target"], per["total_change"])  # fmt: skip
    budget = annual_targets(path, v["plan.annual_shape"], v["plan.front_loading"])
    ev.add(
        p0,
        "plan_budget",
        amount=float(budget.sum()),
        detail=f"{per['mode']} mode, shape {v['plan.annual_shape']}",
    )
    # 4. reserve
    rshare = v["plan.reserve_share"] if m.regime.reserve else 0.0
    reserve = rshare * budget
    ev.add(p0, "plan_reserve", amount=float(reserve.sum()), value=rshare)
    # 5. vertical allocation
    ind_share = m.stats.industry[4 * base_yi : 4 * base_yi + 4].sum(axis=0) / gdp_base
    ci = CityIndicators(
        E_base,
        gdp_base,
        gdp_f.sum(axis=1),
        m.population,
        ind_share,
        _potential(m),
        per["intensity_target"],
    )
    weights = {meth: v[f"plan.weight_{meth}"] for meth in METHODS}
    alloc, shares = vertical_allocation(
        budget - reserve, ci, weights, v["plan.structure_elasticity"]
    )
    ev.add_many(p0, "allocation", np.arange(m.C), amount=alloc.sum(axis=1), value=shares)
    # 6. negotiation against each city's own need
    # a city's own need: its emission trend (which already carries its growth)
    # less the extra cut it counts on achieving
    need = E_base[:, None] * ((1 + trend[:, None]) * (1 - v["plan.city_extra_cut"])) ** k[None, :]
    # each city states its counter-proposal from its own forecast and behaviour
    need = np.array(m.city_set.map("counter_proposal", Y, need), dtype=float).reshape(m.C, Y)
    ev.add_many(p0, "negotiation_offer", np.arange(m.C), amount=need.sum(axis=1),
                value=alloc.sum(axis=1), detail=list(m.behaviours))  # fmt: skip
    alloc, reserve, appeal, grant = negotiate(
        alloc, need, reserve, v["plan.negotiation_tolerance"], v["plan.negotiation_grant"],
        v["plan.negotiation_reserve_cap"])  # fmt: skip
    idx = np.flatnonzero(appeal)
    ev.add_many(
        p0,
        "negotiation_grant",
        idx,
        amount=grant.sum(axis=1)[idx],
        value=np.clip(need - alloc, 0, None).sum(axis=1)[idx],
        detail="appeal granted from reserve",
    )
    plan = PeriodPlan(
        index=period_index, start_year=per["start_year"], years=Y, mode=per["mode"],
        intensity_target=per["intensity_target"], total_change=per["total_change"], binding=per["binding"],
        p0=p0, base_year_idx=base_yi, E_base=E_base, gdp_base=gdp_base, trend=trend, budget=budget,
        reserve=reserve, reserve_initial=reserve.copy(), gdp_forecast=gdp_f, T_initial=alloc.copy(),
        T=alloc.copy(), I_path=alloc / gdp_f, traded=np.zeros_like(alloc), listed=np.zeros_like(alloc),
        held_to=np.full_like(alloc, np.nan), accounted=np.full_like(alloc, np.nan),
        settled=np.zeros_like(alloc), T_ref=alloc.copy(), reserve_ref=reserve.copy(),
        budget_ref=budget.copy(),
        scenario_names=tuple(s.name for s in scen), chosen=scen[chosen].name,
    )  # fmt: skip
    # 7. horizontal allocation to firms or sectors: the cities' (sim/agents/city.py)
    return plan


def _intensity_trend(m: CarbonBudgetModel, official: np.ndarray) -> float:
    """Yearly change of provincial carbon intensity between the last two
    published official years (GDP from the fast GDP accounts)."""
    n = official.shape[0]
    if n < 2:
        return -0.02
    g = m.stats.gdp
    g1 = g[4 * (n - 1) : 4 * n].sum()
    g0 = g[4 * (n - 2) : 4 * (n - 1)].sum()
    ratio = (official[-1].sum() / g1) / (official[-2].sum() / g0)
    return float(np.clip(ratio - 1.0, -0.15, 0.1))


def _recent_gdp_growth(m: CarbonBudgetModel, yi: int) -> np.ndarray:
    s = m.stats.gdp
    g1 = s[4 * yi : 4 * yi + 4].sum(axis=0)
    g0 = s[4 * yi - 4 : 4 * yi].sum(axis=0)
    return np.clip(g1 / g0 - 1.0, -0.1, 0.2)


def _potential(m: CarbonBudgetModel, ref_price: float = 200.0) -> np.ndarray:
    """Share of each city's emissions (key firms and diffuse) that its key
    firms could still abate below ``ref_price``."""
    extra = m.firms.by_city(m.firms.abatable(ref_price))
    tot = m.firms.by_city(m.firms.potential_emissions()) + m.diffuse.gdp * m.diffuse.I
    return np.divide(extra, tot, out=np.zeros(m.C), where=tot > 0)


# ------------------------------------------ horizontal allocation (cities) ---
def horizontal_allocation(model: CarbonBudgetModel, plan: PeriodPlan) -> None:
    """The cities allocate their targets to their firms or sectors (each city
    decides the mode through the cities' AgentSet), then target their firms."""
    f = model.firms
    e = f.potential_emissions()
    counts = np.bincount(f.city[f.active], minlength=model.C)
    mode = np.array(model.city_set.map("horizontal_mode", plan.p0, e, counts), dtype=bool)
    plan.allocate_horizontal(e, f.by_city_sector(e), mode)
    retarget_firms(model, plan, plan.p0)


def retarget_firms(model: CarbonBudgetModel, plan: PeriodPlan, t: int) -> None:
    """The cities refresh which firms they target first: those most above their
    firm or sector allocation (its share of the city target this year);
    vectorised over all cities."""
    f = model.firms
    k = min(max(plan.year_index(t), 0), plan.years - 1)
    e_now = f.potential_emissions()
    city_base = plan.E_base
    scale = plan.T[:, k] / np.where(city_base > 0, city_base, 1.0)  # city target relative to base
    firm_alloc = plan.firm_base * scale[f.city]
    sec_now = f.by_city_sector(e_now)
    sec_alloc = plan.sector_base * scale[:, None]
    sec_ratio = np.divide(sec_now, sec_alloc, out=np.full_like(sec_now, 2.0), where=sec_alloc > 0)
    ratio_firm = np.divide(e_now, firm_alloc, out=np.full(f.n, 2.0), where=firm_alloc > 0)
    ratio = np.where(plan.firm_mode[f.city], ratio_firm, sec_ratio[f.city, f.sector] + 1e-3 * f.I)
    f.allocation = np.where(plan.firm_mode[f.city], firm_alloc, np.nan)
    f.targeted = targeting(ratio, e_now, f.city, model.sc["plan.target_share"], model.C) & f.active
