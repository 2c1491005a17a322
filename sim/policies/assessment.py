"""The carbon assessment's rules [固定资产投资项目碳排放评价] (MODEL.md 4.5;
docs/ODD.md 8.5): a city's decision on a batch of project proposals —
approve, defer or reject — vectorised over all cities.  The project round
(:func:`sim.stages.regulation.project_round`) applies it with each city's room
and value hurdle (its behaviour, :mod:`sim.policies.behaviours`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Decisions:
    approved: np.ndarray  # bool per proposal
    # object per proposal: approved | deferred | low_value | no_room | regional_restriction |
    # no_replacement
    reason: np.ndarray
    retire: np.ndarray  # Mt/yr of outdated emissions each city must retire (replacement)


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
