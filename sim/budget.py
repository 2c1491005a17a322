"""The budget ledger [碳预算账本]: one plan period's budget and its execution
(MODEL.md 4.2, 4.6, 4.7).

``PeriodPlan`` holds the plan (province budget, reserve, city targets and
their reference), what each city holds (targets held to, traded and listed
quota) and what was accounted and settled.  The stages of the cycle (``sim/stages/``) change it
only through its methods — :meth:`PeriodPlan.allocate_horizontal` (the cities'
allocation to firms or sectors), :meth:`~PeriodPlan.grant_listed` and
:meth:`~PeriodPlan.grant_listed_pro_rata` (listed quota from the reserve),
:meth:`~PeriodPlan.hold` (the annual account: what a city was held to and what
it emitted), :meth:`~PeriodPlan.record_trade`, :meth:`~PeriodPlan.settle` (the
adjustment of the remaining years) and :meth:`~PeriodPlan.rebase` (re-basing on
the official base year); the model, the cities and the accounts read it.
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
    # on the official base year (PeriodPlan.rebase), then scaled with it
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

    def grant_listed_pro_rata(self, k: int, per_city: np.ndarray) -> float:
        """Listed quota granted at the account of plan year ``k``: ``per_city``
        (Mt over the remaining years) is scaled down to what the remaining
        years' reserve holds and spread over those years pro rata to what each
        holds; returns the Mt granted (0 when nothing can be)."""
        years = np.arange(k + 1, self.years)
        res = self.reserve[years]
        grant = min(float(per_city.sum()), float(res.sum()))
        if grant <= 0:
            return 0.0
        got = per_city * (grant / per_city.sum())
        w = res / res.sum()
        self.grant_listed(years, got[:, None] * w[None, :], grant * w)
        return grant

    def held_target(self, k: int, gdp_q: np.ndarray) -> np.ndarray:
        """What each city is held to in plan year ``k`` (``gdp_q``: the year's
        four quarters of GDP): its scheduled budget, the rule monitoring uses,
        plus the quota it traded that year."""
        return self.scheduled(k, gdp_q).sum(axis=0) + self.traded[:, k]

    def hold(self, k: int, held_to: np.ndarray, accounted: np.ndarray) -> None:
        """The annual account of plan year ``k``: the targets the cities are
        held to and their accounted emissions."""
        self.held_to[:, k] = held_to
        self.accounted[:, k] = accounted

    def is_accounted(self, k: np.ndarray) -> np.ndarray:
        """Whether plan years ``k`` have had their annual account."""
        return ~np.isnan(self.accounted[0, k])

    def record_trade(self, k: int, traded: np.ndarray) -> np.ndarray:
        """Quota bought (+) / sold (-) by each city in plan year ``k``; returns
        the targets the cities are now held to."""
        self.traded[:, k] += traded
        self.held_to[:, k] = self.held_to[:, k] + traded
        return self.held_to[:, k].copy()

    def settle(self, k: int, remaining: np.ndarray) -> np.ndarray:
        """The adjustment decided at the account of plan year ``k``: the
        remaining years' targets become ``remaining`` (cities x years after
        ``k``); the change per city is recorded as settled (monitoring counts
        year ``k`` as settled by it) and returned."""
        change = remaining.sum(axis=1) - self.T[:, k + 1 :].sum(axis=1)
        self.T[:, k + 1 :] = remaining
        self.settled[:, k] = change
        self.I_path[:, k + 1 :] = self.T[:, k + 1 :] / self.gdp_forecast[:, k + 1 :]
        self.n_adjustments += int(np.count_nonzero(np.abs(change) > 1e-9))
        self.adjustment_volume += float(np.abs(change).sum())
        return change

    def rebase(self, t: int, f: float) -> float | None:
        """Re-base the plan on the official base year at quarter ``t``
        (``f`` = official / estimated base-year emissions): the reference plan
        (``T_ref``, ``reserve_ref``, ``budget_ref``) of the years after the one
        being accounted is scaled by ``f``; in total and dual mode those years
        also absorb ``(f - 1) x`` the reference of the years already run, so the
        period total becomes ``f x`` the planned one.  Each remaining year's
        target and reserve move by the change of their reference, so listed
        quota and past adjustments stand as they were.  Returns the change of
        the remaining targets (Mt), or None when no remaining year changed."""
        self.rebased = True
        self.rebased_t = t
        self.rebase_factor = f
        k = self.year_index(t)  # the year being accounted: its target stands
        r = slice(k + 1, self.years)
        if k + 1 >= self.years or f == 1.0:
            return None
        absorb = self.mode != "intensity"

        def rebased(a: np.ndarray) -> np.ndarray:
            rest = a[..., r] * f
            tot = rest.sum(axis=-1, keepdims=True)
            extra = (f - 1.0) * a[..., : k + 1].sum(axis=-1, keepdims=True) if absorb else 0.0
            ok = tot > 0
            scale = np.divide(np.clip(tot + extra, 0.05 * tot, None), tot, out=np.ones_like(tot),
                              where=ok)  # fmt: skip
            return rest * scale

        before = self.T[:, r].sum()
        new_T = rebased(self.T_ref)
        self.T[:, r] = np.clip(self.T[:, r] + new_T - self.T_ref[:, r], 0.05 * new_T, None)
        self.T_ref[:, r] = new_T
        new_res = rebased(self.reserve_ref)
        self.reserve[r] = np.clip(self.reserve[r] + new_res - self.reserve_ref[r], 0.0, None)
        self.reserve_ref[r] = new_res
        self.budget_ref[r] = rebased(self.budget_ref)
        self.I_path[:, r] = self.T[:, r] / self.gdp_forecast[:, r]
        return float(self.T[:, r].sum() - before)

    def allocate_horizontal(self, firm_base: np.ndarray, sector_base: np.ndarray,
                            firm_mode: np.ndarray) -> None:  # fmt: skip
        """The cities' horizontal allocation: each city allocates to its key
        firms (``firm_mode``) or to its sectors, from the firms' base-year
        emissions ``firm_base`` (and their sum per city and sector)."""
        self.firm_base = firm_base
        self.sector_base = sector_base
        self.firm_mode = firm_mode
