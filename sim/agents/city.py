"""City agents [地级市] and the carbon assessment of project proposals (MODEL.md 4.5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.monitoring import STATUS_CODES
from sim.policies import allocation
from sim.policies.behaviours import Behaviour, CityView, get_behaviour
from sim.policies.packages import ALL_KEYS, WARNING_COLOURS

if TYPE_CHECKING:
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
        conc = allocation.hhi(firm_emissions[m.firms.city == c])
        firms = allocation.horizontal_mode(int(counts[c]), conc, v["plan.firm_count_threshold"],
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
