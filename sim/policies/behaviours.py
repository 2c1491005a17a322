"""City behaviour types: how a city government decides (docs/ODD.md 8.13).

A behaviour turns what a city government can know (a :class:`CityView`: its own
monitoring data, its targets, the province's published status and package)
into the city's decisions:

* ``approval_room``: how much room (Mt/yr) the city itself lets new projects
  take this year; the rule room of the carbon assessment is ``view.rule_room``;
* ``value_hurdle``: the least value per room (relative to its own carbon
  productivity) a proposal must bring to be considered: by the rules none in
  surplus, ``projects.value_hurdle`` in balance, ``projects.value_hurdle_overrun``
  in overrun (the published status);
* ``effort``: the share of its package's control instruments it applies
  (multiplies its enforcement capacity; 1 = as the rules say);
* ``counter_proposal``: its own need (Mt per plan year) stated in negotiation;
* ``offer``: how much of its surplus it offers at the annual account's trading;
* ``request``: the target increase it asks for at the annual account.

Behaviours are stateless rule objects in :data:`BEHAVIOURS`; their
parameters are ``city.*`` rows of the parameter table.  A city's behaviour is
``cities.<name>.behaviour`` (``inherit``: the scenario's ``city.behaviour``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CityView:
    """What a city government knows when it decides (no other city's data,
    no truth): its own records and the province's published decisions."""

    name: str
    year_index: int  # plan year k (0-based) of the decision; -1 before the plan
    years: int  # years of the plan period
    growth_preference: float
    rule_room: float  # room the carbon assessment's rules give (Mt/yr; inf: no assessment)
    target: float  # this year's target (Mt)
    status: str  # the province's published status of the city
    package: str  # the province's package for the city
    need: np.ndarray | None = None  # own forecast need per plan year (negotiation only)


def rule_hurdle(status: str, p: dict) -> float:
    """The assessment rules' value hurdle for a city with published ``status``."""
    if status == "surplus":
        return 0.0
    return float(
        p["projects.value_hurdle_overrun" if status == "overrun" else "projects.value_hurdle"]
    )


@dataclass(frozen=True)
class Behaviour:
    """Base: a city that follows the rules (``compliant``)."""

    name: str
    description: str

    def approval_room(self, view: CityView, p: dict) -> float:
        return view.rule_room

    def value_hurdle(self, view: CityView, p: dict) -> float:
        return rule_hurdle(view.status, p)

    def effort(self, view: CityView, p: dict) -> float:
        return 1.0

    def counter_proposal(self, view: CityView, p: dict) -> np.ndarray:
        assert view.need is not None
        return view.need

    def offer(self, view: CityView, p: dict, surplus: float) -> float:
        """Quota (Mt) a city with ``surplus`` offers for sale: sellers keep a
        margin ``trading.seller_margin`` against later years."""
        return surplus * (1.0 - p["trading.seller_margin"])

    def request(self, view: CityView, p: dict, deficit: float) -> float:
        """Target increase (Mt over the remaining years) asked at the account."""
        return deficit


class Compliant(Behaviour):
    pass


class GrowthFirst(Behaviour):
    """Approves beyond its room and shields its output from its package, both
    in proportion to its growth preference; pads its stated need in negotiation."""

    def effort(self, view: CityView, p: dict) -> float:
        return 1.0 - view.growth_preference * p["city.growth_first_effort_cut"]

    def approval_room(self, view: CityView, p: dict) -> float:
        return view.rule_room + view.growth_preference * p["city.growth_first_room"] * view.target

    def value_hurdle(self, view: CityView, p: dict) -> float:
        # growth first: the stronger its growth preference, the less it asks of a project
        return (1.0 - view.growth_preference) * rule_hurdle(view.status, p)

    def counter_proposal(self, view: CityView, p: dict) -> np.ndarray:
        assert view.need is not None
        return view.need * (1.0 + view.growth_preference * p["city.negotiation_padding"])

    def request(self, view: CityView, p: dict, deficit: float) -> float:
        return deficit * (1.0 + view.growth_preference * p["city.negotiation_padding"])


class Strategic(Behaviour):
    """Loose early in the period, tight before the final account."""

    def _late(self, view: CityView, p: dict) -> bool:
        return view.year_index >= view.years - p["city.strategic_tight_years"]

    def approval_room(self, view: CityView, p: dict) -> float:
        s = p["city.strategic_slack"]
        return view.rule_room * ((1.0 - s) if self._late(view, p) else (1.0 + s))

    def value_hurdle(self, view: CityView, p: dict) -> float:
        # lenient early; before the final account it asks what an overrun city would
        if self._late(view, p):
            return max(rule_hurdle(view.status, p), float(p["projects.value_hurdle_overrun"]))
        return 0.0

    def effort(self, view: CityView, p: dict) -> float:
        s = p["city.strategic_slack"]
        return (1.0 + s) if self._late(view, p) else (1.0 - s)

    def counter_proposal(self, view: CityView, p: dict) -> np.ndarray:
        assert view.need is not None
        return view.need * (1.0 + p["city.negotiation_padding"])

    def offer(self, view: CityView, p: dict, surplus: float) -> float:
        # hoards its surplus for the final account; sells only in the tight years
        return super().offer(view, p, surplus) if self._late(view, p) else 0.0


BEHAVIOURS: dict[str, Behaviour] = {
    b.name: b
    for b in (
        Compliant("compliant", "follows the rules: approves within the rule room, full effort"),
        GrowthFirst(
            "growth_first",
            "approves beyond its room by growth_preference x city.growth_first_room x target, "
            "effort 1 - growth_preference x city.growth_first_effort_cut; pads its need",
        ),
        Strategic(
            "strategic",
            "loose early (room x (1 + slack), effort 1 - slack), tight in the last "
            "city.strategic_tight_years years (room x (1 - slack), effort 1 + slack); hoards "
            "its surplus (offers none) until the tight years",
        ),
    )
}
BEHAVIOUR_NAMES: tuple[str, ...] = tuple(BEHAVIOURS)


def get_behaviour(name: str) -> Behaviour:
    try:
        return BEHAVIOURS[name]
    except KeyError:
        raise ValueError(
            f"behaviour: unknown city behaviour {name!r} (known: {', '.join(BEHAVIOURS)})"
        ) from None
