"""The province's decision function [省级决策].

Every decision that a person can take in the teaching page's "play the
province" mode goes through one object, the governor:

* ``choose_packages(view)`` — the package each city runs after a monitoring
  date (:class:`MonitoringView`);
* ``annual(view)`` — at each annual final account (:class:`AccountView`): the
  change of each city's remaining targets, listed quota granted from the
  reserve, and a package each city must hold until the next account;
* ``grant_listed(view)`` — whether a major project gets separately listed
  quota from the reserve (:class:`MajorProjectView`).

Each view carries the rule-based choice as ``suggested``; the model applies
whatever the governor returns.  :class:`RuleBasedGovernor` returns the
suggestions (the seed paper's rules).  :class:`ScriptedGovernor` replays
recorded choices (a saved game) and, with ``defer=True``, lets a front end
take the annual decision between two quarters: the model then stops after the
account with ``model.pending`` set until ``model.decide(decision)`` is called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class MonitoringView:
    """What the province sees on a monitoring date."""

    t: int
    year: int
    cities: tuple[str, ...]
    statuses: tuple[str, ...]  # surplus | balance | overrun
    warnings: tuple[int, ...]  # 0 green, 1 orange, 2 red
    suggested: tuple[str, ...]  # the package each city's status calls for


@dataclass(frozen=True)
class AccountView:
    """What the province sees at an annual final account, before deciding."""

    t: int
    year: int
    plan_year: int  # index of the accounted year within the period (0-based)
    years_left: int  # plan years after the accounted one
    cities: tuple[str, ...]
    accounted: np.ndarray  # Mt, each city's accounted emissions of the year
    held_to: np.ndarray  # Mt, what each city was held to (after trades)
    statuses: tuple[str, ...]  # annual status (barometer)
    rule: str  # the adjustment rule in force
    suggested_change: np.ndarray  # Mt: the rule's change of each city's remaining targets
    suggested_packages: tuple[str, ...]  # the package each city's annual status calls for
    reserve_left: float  # Mt of reserve left over the remaining years
    max_change: np.ndarray  # Mt: largest |change| the adjustment cap allows per city


@dataclass(frozen=True)
class AccountDecision:
    """The province's decision at an annual account (arrays over cities)."""

    change: np.ndarray  # Mt change of each city's remaining targets (clipped to the cap)
    listed: np.ndarray  # Mt of reserve granted to each city over the remaining years
    packages: tuple[str | None, ...]  # package to hold until the next account (None: follow status)

    @classmethod
    def suggested(cls, view: AccountView) -> AccountDecision:
        n = len(view.cities)
        return cls(view.suggested_change.copy(), np.zeros(n), (None,) * n)


@dataclass(frozen=True)
class MajorProjectView:
    t: int
    year: int
    city: str
    emissions_mt: float  # annual emissions at full operation
    need_mt: float  # reserve the grant would take over the remaining plan years
    fits: bool  # the reserve can hold it
    suggested: bool  # the rule: fits and passes the strategic-value check


class Governor(Protocol):
    defer: bool

    def choose_packages(self, view: MonitoringView) -> list[str]: ...

    def annual(self, view: AccountView) -> AccountDecision: ...

    def grant_listed(self, view: MajorProjectView) -> bool: ...

    def decided(self, view: AccountView, decision: AccountDecision) -> None:
        """Told the annual decision the model applied (whoever took it)."""


class RuleBasedGovernor:
    """The seed paper's rules: packages follow status and warning level; the
    scenario's adjustment rule applies; listed quota when the reserve holds it
    and the project passes the strategic-value check."""

    defer = False

    def choose_packages(self, view: MonitoringView) -> list[str]:
        return list(view.suggested)

    def annual(self, view: AccountView) -> AccountDecision:
        return AccountDecision.suggested(view)

    def grant_listed(self, view: MajorProjectView) -> bool:
        return view.suggested

    def decided(self, view: AccountView, decision: AccountDecision) -> None:
        return None


@dataclass
class ScriptedGovernor:
    """Choices recorded per year and city (a saved game), the rules elsewhere.

    ``choices`` maps a year (int or str) to a mapping city name -> choice, where a
    choice may hold ``package`` (a package key held until the next account),
    ``change`` (Mt change of the remaining targets) and ``listed`` (Mt granted
    from the reserve).  With ``defer=True`` the model pauses after each annual
    account for a front end to call ``model.decide``."""

    choices: dict[Any, dict[str, dict[str, Any]]] = field(default_factory=dict)
    defer: bool = False
    _held: dict[str, str] = field(default_factory=dict)

    def _year(self, year: int) -> dict[str, dict[str, Any]]:
        return self.choices.get(year, self.choices.get(str(year), {}))

    def choose_packages(self, view: MonitoringView) -> list[str]:
        return [self._held.get(c, s) for c, s in zip(view.cities, view.suggested, strict=True)]

    def annual(self, view: AccountView) -> AccountDecision:
        mine = self._year(view.year)
        change = view.suggested_change.copy()
        listed = np.zeros(len(view.cities))
        packages: list[str | None] = []
        for i, c in enumerate(view.cities):
            ch = mine.get(c, {})
            if "change" in ch:
                change[i] = float(ch["change"])
            listed[i] = float(ch.get("listed", 0.0))
            packages.append(ch.get("package"))
        return AccountDecision(change, listed, tuple(packages))

    def decided(self, view: AccountView, decision: AccountDecision) -> None:
        """Record the applied decision (so a game played in a front end can be
        saved and replayed) and hold its packages until the next account."""
        year: dict[str, dict[str, Any]] = {}
        for i, c in enumerate(view.cities):
            ch: dict[str, Any] = {}
            if decision.change[i] != view.suggested_change[i]:
                ch["change"] = float(decision.change[i])
            if decision.listed[i]:
                ch["listed"] = float(decision.listed[i])
            if decision.packages[i] is not None:
                ch["package"] = decision.packages[i]
            if ch:
                year[c] = ch
        self.choices[view.year] = year
        self._held = {c: p for c, p in zip(view.cities, decision.packages, strict=True) if p}

    def grant_listed(self, view: MajorProjectView) -> bool:
        return view.suggested
