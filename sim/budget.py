"""The budget ledger [碳预算账本]: one plan period's budget and its execution
(MODEL.md 4.2, 4.6, 4.7).

``PeriodPlan`` holds the plan (province budget, reserve, city targets and
their reference), what each city holds (targets held to, traded and listed
quota) and what was accounted and settled.  The province's stages change it
through its methods (``grant_listed``, ``record_trade``, ``hold``,
``settle``); the model, the cities and the accounts read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PeriodPlan:
    """One five-year plan and its execution state (arrays cities x years)."""

    index: int
    start_year: int
    years: int
    mode: str
    intensity_target: float
    total_change: float
    binding: bool
    p0: int  # first quarter of the period (run index)
    base_year_idx: int  # run-year index of the base year
    E_base: np.ndarray  # estimated base-year emissions per city (at plan time)
    gdp_base: np.ndarray
    trend: np.ndarray  # estimated yearly emission trend per city
    budget: np.ndarray  # province budget per year
    reserve: np.ndarray  # reserve remaining per year
    reserve_initial: np.ndarray
    gdp_forecast: np.ndarray  # C x Y
    T_initial: np.ndarray  # C x Y after negotiation
    T: np.ndarray  # C x Y current (adjusted, listed quota added)
    I_path: np.ndarray  # C x Y target intensity (intensity mode schedule)
    traded: np.ndarray = field(default_factory=lambda: np.zeros(0))
    listed: np.ndarray = field(default_factory=lambda: np.zeros(0))
    held_to: np.ndarray = field(default_factory=lambda: np.zeros(0))  # target each year was held to
    accounted: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # Mt of each accounted year's deviation carried into the later years' targets (the
    # adjustment actually applied, breach repayment included): settled for monitoring
    settled: np.ndarray = field(default_factory=lambda: np.zeros(0))
    firm_mode: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    firm_base: np.ndarray = field(default_factory=lambda: np.zeros(0))  # base emissions per firm
    sector_base: np.ndarray = field(default_factory=lambda: np.zeros(0))  # C x S
    # the plan adjustments are measured against: T_initial until the plan is re-based
    # on the official base year (Province.rebase_to_official), then scaled with it
    T_ref: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # the reserve as set aside and the province budget per year, re-based with the plan
    # (budget itself stays the initial plan's, which rationality judges)
    reserve_ref: np.ndarray = field(default_factory=lambda: np.zeros(0))
    budget_ref: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rebase_factor: float = 1.0  # official / estimated base-year emissions (1 until re-based)
    rebased: bool = False
    rebased_t: int = -1  # quarter of the re-basing on the official base year
    n_adjustments: int = 0
    adjustment_volume: float = 0.0
    scenario_names: tuple[str, ...] = ()
    chosen: str = ""

    @property
    def end_t(self) -> int:
        return self.p0 + 4 * self.years - 1

    def year_index(self, t: int) -> int:
        return (t - self.p0) // 4

    def scheduled(self, k: int, gdp_q: np.ndarray) -> np.ndarray:
        """Scheduled budget [时序进度] of quarters of plan year k with GDP ``gdp_q``
        (one quarter: cities; or quarters x cities).  Intensity mode: target
        intensity x the quarter's GDP (floats with observed GDP); total mode: a
        quarter of the Mt target; dual: quarter by quarter the stricter."""
        floating = self.I_path[:, k] * gdp_q
        fixed = np.broadcast_to(self.T[:, k] / 4, floating.shape)
        if self.mode == "intensity":
            return floating
        if self.mode == "total":
            return np.array(fixed)
        return np.minimum(floating, fixed)

    # -------------------------------------------------------- ledger moves --
    def grant_listed(
        self, years: np.ndarray, per_city_year: np.ndarray, from_reserve: np.ndarray
    ) -> None:
        """Separately listed quota [单列指标] from the reserve: ``per_city_year``
        (cities x ``years``) is added to the cities' targets and listed quota;
        ``from_reserve`` (per year; their sum over cities) leaves the reserve."""
        self.reserve[years] -= from_reserve
        self.T[:, years] += per_city_year
        self.listed[:, years] += per_city_year
        rows = np.flatnonzero(np.any(per_city_year != 0, axis=1))
        self.I_path[np.ix_(rows, years)] = (
            self.T[np.ix_(rows, years)] / self.gdp_forecast[np.ix_(rows, years)]
        )

    def record_trade(self, k: int, traded: np.ndarray) -> np.ndarray:
        """Quota bought (+) / sold (-) by each city in plan year ``k``; returns
        the targets the cities are now held to."""
        self.traded[:, k] += traded
        self.held_to[:, k] = self.held_to[:, k] + traded
        return self.held_to[:, k].copy()
