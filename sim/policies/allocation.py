"""Vertical allocation methods [纵向分配] (MODEL.md 4.2 step 5).

Each method maps city indicators to shares that sum to one; the plan mixes
them with the weights ``plan.weight_<method>``.  Register a new method by
adding a function to ``METHODS`` and a weight to the parameter table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CityIndicators:
    """What the province knows about each city at plan time (arrays over cities)."""

    emissions: np.ndarray  # estimated base-year emissions, Mt/yr
    gdp: np.ndarray  # base-year GDP, bn CNY/yr
    gdp_forecast: np.ndarray  # GDP summed over the period's years under the chosen scenario
    population: np.ndarray  # million
    industry_share: np.ndarray  # share of key-firm output in city GDP
    potential: np.ndarray  # abatement potential, share of emissions abatable at a reference price
    intensity_target: float = 0.0  # the province's intensity reduction target for the period


def _norm(x: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(x, dtype=float), 0.0, None)
    s = x.sum()
    if s <= 0:
        return np.full(x.shape, 1.0 / x.size)
    return x / s


def grandfathering(ci: CityIndicators, structure_elasticity: float) -> np.ndarray:
    """Shares of historic (estimated base-year) emissions."""
    return _norm(ci.emissions)


def intensity(ci: CityIndicators, structure_elasticity: float) -> np.ndarray:
    """Forecast GDP x the city's target intensity: its base intensity cut by the
    provincial target, adjusted for industrial structure (heavier industry gets
    a smaller cut): target_c = target x (industry_share_c / mean)^-elasticity,
    clipped to [0.5, 1.5] x target."""
    mean_ind = float(np.average(ci.industry_share, weights=ci.gdp)) or 1.0
    rel = np.clip(ci.industry_share / mean_ind, 1e-6, None)
    tgt = np.clip(ci.intensity_target * rel**-structure_elasticity, 0.5 * ci.intensity_target,
                  1.5 * ci.intensity_target)  # fmt: skip
    base_intensity = np.divide(ci.emissions, ci.gdp, out=np.zeros_like(ci.gdp), where=ci.gdp > 0)
    return _norm(ci.gdp_forecast * base_intensity * (1.0 - tgt))


def equality(ci: CityIndicators, structure_elasticity: float) -> np.ndarray:
    """Equal per-capita budgets: shares of population."""
    return _norm(ci.population)


def efficiency(ci: CityIndicators, structure_elasticity: float) -> np.ndarray:
    """Benchmark intensity: every city gets GDP x the provincial average
    intensity, so lower-intensity cities earn more than their emissions."""
    return _norm(ci.gdp)


def potential(ci: CityIndicators, structure_elasticity: float) -> np.ndarray:
    """Emissions net of abatement potential: cities that can abate cheaply get less."""
    return _norm(ci.emissions * (1.0 - np.clip(ci.potential, 0.0, 1.0)))


METHODS: dict[str, Callable[[CityIndicators, float], np.ndarray]] = {
    "grandfathering": grandfathering,
    "intensity": intensity,
    "equality": equality,
    "efficiency": efficiency,
    "potential": potential,
}


def mixed_shares(
    ci: CityIndicators, weights: dict[str, float], structure_elasticity: float
) -> np.ndarray:
    """Weighted mix of the methods' shares (sums to one)."""
    total = np.zeros(ci.emissions.size)
    for name, w in weights.items():
        if w:
            total += w * METHODS[name](ci, structure_elasticity)
    return _norm(total)


def split_exact(total: float, shares: np.ndarray) -> np.ndarray:
    """``total * shares`` with the rounding remainder given to the largest part
    and the last bits to the smallest, so that ``parts.sum() == total`` holds
    exactly where an exact split exists within 64 ulps."""
    parts = total * np.asarray(shares, dtype=float)
    if parts.size:
        parts[int(np.argmax(parts))] += total - parts.sum()
        pos = np.flatnonzero(parts > 0)
        j = int(pos[np.argmin(parts[pos])]) if pos.size else 0
        for _ in range(
            64
        ):  # the correction may itself round: fine-tune by ulps of the smallest part
            gap = total - parts.sum()
            if gap == 0:
                break
            parts[j] = np.nextafter(parts[j], np.inf if gap > 0 else -np.inf)
    return parts


# ------------------------------------------------- horizontal allocation --
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
