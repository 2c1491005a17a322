"""The province's decision function.

Every decision that a person could take in the teaching page's "play the
province" mode goes through one object with this interface: which package
each city runs after a monitoring date, and which adjustment rule applies at
an annual account.  ``RuleBasedGovernor`` is the seed paper's rule-based
choice; a replacement only needs the same two methods.
"""

from __future__ import annotations

from typing import Protocol

from sim.policies.packages import package_key


class Governor(Protocol):
    def choose_packages(self, statuses: list[str], warnings: list[int]) -> list[str]: ...

    def choose_rule(self, year: int, default_rule: str) -> str: ...


class RuleBasedGovernor:
    """Packages follow status and warning level; the scenario's rule applies every year."""

    def choose_packages(self, statuses: list[str], warnings: list[int]) -> list[str]:
        return [package_key(s, w) for s, w in zip(statuses, warnings, strict=True)]

    def choose_rule(self, year: int, default_rule: str) -> str:
        return default_rule
