"""Governance regimes (MODEL.md section 5).

A regime is a set of switches over the five-stage budget system.  ``budget`` is
the seed paper's system; ``traditional`` decomposes targets at the start and
runs the ordinary graded packages from official statistics only (so they come
late), with an annual assessment that never adjusts, no trading, no reserve,
no carbon assessment of projects and no five-year coordination, and closes a
gap still visible near the end of the period with an emergency
production-restriction campaign [首尾为重]; the ``budget_no_*`` regimes ablate one stage each
(``budget_no_coord``: no five-year coordination, so each city carries its own
target: no provincial slack before restriction, no steering; with
``budget_no_coord_no_trading`` it shows what trading does where cities act alone);
``none`` is the no-local-policy counterfactual used for cost measures.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Regime:
    name: str
    fast_monitoring: bool = True  # electricity-to-carbon fast estimates feed the status
    packages: bool = True  # graded status-driven policy packages
    adjustment: bool = True  # annual adjustment rule (else: fixed)
    trading: bool = True  # inter-city trading (if the scenario enables it)
    reserve: bool = True  # provincial reserve and separately listed quota
    project_assessment: bool = True  # carbon assessment of project proposals
    campaign: bool = False  # emergency restriction campaign sized to the visible gap
    coordination: bool = True  # five-year coordination: provincial slack before restriction
    policy: bool = True  # any local policy at all (False: counterfactual)


REGIMES: dict[str, Regime] = {
    r.name: r
    for r in (
        Regime("budget"),
        Regime("traditional", fast_monitoring=False, packages=True, adjustment=False, trading=False,
               reserve=False, project_assessment=False, campaign=True, coordination=False),
        Regime("budget_no_fast", fast_monitoring=False),
        Regime("budget_no_adjust", adjustment=False),
        Regime("budget_no_trading", trading=False),
        Regime("budget_no_reserve", reserve=False),
        Regime("budget_no_coord", coordination=False),
        Regime("budget_no_coord_no_trading", coordination=False, trading=False),
        Regime("none", fast_monitoring=False, packages=False, adjustment=False, trading=False,
               reserve=False, project_assessment=False, campaign=False, policy=False),
    )
}  # fmt: skip


def get_regime(name: str) -> Regime:
    try:
        return REGIMES[name]
    except KeyError:
        raise ValueError(f"unknown regime {name!r} (known: {', '.join(REGIMES)})") from None
