"""City agents [地级市] and the carbon assessment of project proposals (MODEL.md 4.5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.monitoring import STATUS_CODES
from sim.policies.behaviours import Behaviour, CityView, get_behaviour
from sim.policies.packages import ALL_KEYS, WARNING_COLOURS
from sim.stages import plan as planning

if TYPE_CHECKING:
    from sim.budget import PeriodPlan
    from sim.model import CarbonBudgetModel


class City(mesa.Agent):
    """A prefecture-level city.  Its state lives in the model's city arrays
    (so quarterly steps stay vectorised over cities); this agent is the
    readable face of one city, with its fixed traits as attributes."""

    def __init__(self, model: CarbonBudgetModel, index: int, record: dict) -> None:
        super().__init__(model)
        self.index = index
        self.name: str = record["name"]
        self.enforcement: float = record["enforcement"]
        self.growth_preference: float = record["growth_preference"]
        self.monitoring_capacity: float = record["monitoring_capacity"]
        self.population_m: float = record["population_m"]
        name = record.get("behaviour", "inherit")
        self.behaviour: Behaviour = get_behaviour(
            model.sc["city.behaviour"] if name == "inherit" else name
        )

    # ---------------------------------------------------------- decisions --
    def view(self, year_index: int, years: int, rule_room: float = np.inf, target: float = np.nan,
             need: np.ndarray | None = None) -> CityView:  # fmt: skip
        """What this city's government knows when it decides."""
        return CityView(name=self.name, year_index=year_index, years=years,
                        growth_preference=self.growth_preference, rule_room=float(rule_room),
                        target=float(target), status=self.status, package=self.package,
                        need=need)  # fmt: skip

    def approval_room(self, year_index: int, years: int, rule_room: np.ndarray,
                      target: np.ndarray) -> float:  # fmt: skip
        """Room (Mt/yr) this city lets this year's project proposals take."""
        i = self.index
        v = self.view(year_index, years, rule_room[i], target[i])
        return self.behaviour.approval_room(v, self.model.sc.values)

    def value_hurdle(self, year_index: int, years: int) -> float:
        """Least value per room (relative to the city's carbon productivity) a
        proposal must bring for this city to consider it this year."""
        return self.behaviour.value_hurdle(self.view(year_index, years), self.model.sc.values)

    def effort(self, year_index: int, years: int) -> float:
        """Share of its package's control instruments the city applies this year."""
        return self.behaviour.effort(self.view(year_index, years), self.model.sc.values)

    def trade_position(self, year_index: int, years: int, position: np.ndarray) -> float:
        """Quota offered (> 0, Mt) or wanted (< 0) at the annual account's
        trading, from the city's own position ``held - accounted``."""
        pos = float(position[self.index])
        if pos <= 0:
            return pos  # a buyer wants its whole deficit (at the penalty price)
        return self.behaviour.offer(self.view(year_index, years), self.model.sc.values, pos)

    def adjustment_request(self, year_index: int, years: int, position: np.ndarray,
                           reasons: list[str]) -> tuple[float, str]:  # fmt: skip
        """Target increase asked at the annual account (Mt, 0: none) and its reason."""
        deficit = max(-float(position[self.index]), 0.0)
        v = self.view(year_index, years)
        return self.behaviour.request(v, self.model.sc.values, deficit), reasons[self.index]

    def horizontal_mode(self, p0: int, firm_emissions: np.ndarray, counts: np.ndarray) -> bool:
        """Horizontal allocation [横向分配] of the city's target: to its firms
        (True) where they are few or concentrated, else to its sectors."""
        m = self.model
        v = m.sc.values
        c = self.index
        conc = planning.hhi(firm_emissions[m.firms.city == c])
        firms = planning.horizontal_mode(int(counts[c]), conc, v["plan.firm_count_threshold"],
                                         v["plan.hhi_threshold"]) == "firms"  # fmt: skip
        m.events.add(p0, "horizontal_allocation", c, value=conc, amount=float(counts[c]),
                     detail="firms" if firms else "sectors")  # fmt: skip
        return firms

    def counter_proposal(self, years: int, need: np.ndarray) -> np.ndarray:
        """The city's stated need per plan year in negotiation (Mt)."""
        v = self.view(-1, years, need=need[self.index])
        return self.behaviour.counter_proposal(v, self.model.sc.values)

    @property
    def status(self) -> str:
        return STATUS_CODES[int(self.model.city_status[self.index])]

    @property
    def warning(self) -> str:
        return WARNING_COLOURS[int(self.model.city_warning[self.index])]

    @property
    def package(self) -> str:
        return ALL_KEYS[int(self.model.city_package[self.index])]

    @property
    def gdp(self) -> float:
        """Last quarter's GDP at annual rate, bn CNY."""
        t = max(self.model.t - 1, 0)
        return float(self.model.stats.gdp[t, self.index] * 4)

    @property
    def emissions(self) -> float:
        """Last quarter's true emissions, Mt."""
        t = max(self.model.t - 1, 0)
        return float(self.model.stats.emissions[t, self.index])

    def firms(self) -> list:
        """The Mesa Firm agents of this city (when the model created them)."""
        return [f for f in self.model.firm_agents if f.city == self.index]

    def __repr__(self) -> str:
        return f"City({self.name!r}, status={self.status}, package={self.package})"


@dataclass
class Decisions:
    approved: np.ndarray  # bool per proposal
    # object per proposal: approved | deferred | low_value | no_room | regional_restriction |
    # no_replacement
    reason: np.ndarray
    retire: np.ndarray  # Mt/yr of outdated emissions each city must retire (replacement)


REASONS = ("approved", "deferred", "low_value", "no_room", "regional_restriction", "no_replacement")


def assess_projects(city: np.ndarray, emissions: np.ndarray, high_carbon: np.ndarray, allowance: np.ndarray,
                    block_share: np.ndarray, replacement_ratio: np.ndarray, outdated_avail: np.ndarray,
                    u_block: np.ndarray, n_cities: int, replace_base: np.ndarray | None = None,
                    value: np.ndarray | None = None, hurdle: np.ndarray | None = None,
                    can_defer: np.ndarray | None = None) -> Decisions:  # fmt: skip
    """A city's decision on a batch of proposals, vectorised over all cities.

    ``emissions`` is the room each proposal takes (Mt/yr) and ``value`` its
    value per room taken, relative to the city's carbon productivity (output per
    Mt of room over the city's GDP per Mt emitted; None: all equal).  Within each
    city, proposals are considered by value per room, highest first (ties:
    smaller first).  A proposal is
      * rejected as ``regional_restriction`` when it is a high-carbon project
        blocked by regional approval restriction (probability ``block_share``);
      * rejected as ``low_value`` when its value is below the city's ``hurdle``;
      * approved while the cumulative room of the proposals ranked before it
        and its own stays within the city's ``allowance`` (remaining room x
        assessment share + growth slack) and, for high-carbon projects under
        capacity replacement, the city still has outdated emissions to retire at
        ``replacement_ratio`` per unit (else ``no_replacement``);
      * beyond the allowance: ``deferred`` to next year's round where
        ``can_defer``, else rejected as ``no_room``.
    """
    n = city.size
    reason = np.full(n, "approved", dtype=object)
    blocked = high_carbon & (u_block < block_share[city])
    reason[blocked] = "regional_restriction"
    low = np.zeros(n, dtype=bool)
    if value is not None and hurdle is not None:
        low = ~blocked & (value < hurdle[city])
    reason[low] = "low_value"
    cand = ~blocked & ~low
    key = -value if value is not None else high_carbon
    order = np.lexsort((emissions, key, city))
    c_o = city[order]
    e_o = np.where(cand[order], emissions[order], 0.0)
    start = np.searchsorted(c_o, np.arange(n_cities))
    cum = np.cumsum(e_o)
    base = np.concatenate([[0.0], cum])[start]  # cumulative before each city's first proposal
    ok_room = (cum - base[c_o]) <= allowance[c_o] + 1e-12
    # replacement requirement on high-carbon approvals
    rb = emissions if replace_base is None else replace_base
    need = np.where(
        high_carbon[order] & cand[order] & ok_room, replacement_ratio[c_o] * rb[order], 0.0
    )
    cum_need = np.cumsum(need)
    base_need = np.concatenate([[0.0], cum_need])[start]
    ok_repl = (cum_need - base_need[c_o]) <= outdated_avail[c_o] + 1e-12
    ok = np.zeros(n, dtype=bool)
    ok[order] = cand[order] & ok_room & (ok_repl | (need == 0))
    r_o = reason[order]
    no_room = cand[order] & ~ok_room
    if can_defer is not None:
        r_o[no_room & can_defer[order]] = "deferred"
        no_room &= ~can_defer[order]
    r_o[no_room] = "no_room"
    r_o[cand[order] & ok_room & ~(ok_repl | (need == 0))] = "no_replacement"
    reason[order] = r_o
    retire = np.bincount(city, weights=np.where(ok & high_carbon, replacement_ratio[city] * rb, 0.0),
                         minlength=n_cities)  # fmt: skip
    return Decisions(ok, reason, retire)


def horizontal_allocation(model: CarbonBudgetModel, plan: PeriodPlan) -> None:
    """The cities allocate their targets to their firms or sectors (each city
    decides the mode through the cities' AgentSet), then target their firms."""
    f = model.firms
    e = np.where(f.active, f.Qp * f.I, 0.0)
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
    e_now = np.where(f.active, f.Qp * f.I, 0.0)
    city_base = plan.E_base
    scale = plan.T[:, k] / np.where(city_base > 0, city_base, 1.0)  # city target relative to base
    firm_alloc = plan.firm_base * scale[f.city]
    sec_now = f.by_city_sector(e_now)
    sec_alloc = plan.sector_base * scale[:, None]
    sec_ratio = np.divide(sec_now, sec_alloc, out=np.full_like(sec_now, 2.0), where=sec_alloc > 0)
    ratio_firm = np.divide(e_now, firm_alloc, out=np.full(f.n, 2.0), where=firm_alloc > 0)
    ratio = np.where(plan.firm_mode[f.city], ratio_firm, sec_ratio[f.city, f.sector] + 1e-3 * f.I)
    f.allocation = np.where(plan.firm_mode[f.city], firm_alloc, np.nan)
    f.targeted = (
        planning.targeting(ratio, e_now, f.city, model.sc["plan.target_share"], model.C) & f.active
    )
