"""Annual adjustment rules [逐年调整] (MODEL.md 4.6).

A rule takes each city's annual targets for the whole period (array cities x
years), the index ``k`` of the year just accounted, and the accounted
emissions of that year, and returns the new targets plus a record of what it
did.  Only years after ``k`` may change.  Register a new rule by adding a
function to ``RULES``; its parameters come from the ``accounts.*`` table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class AdjustmentContext:
    bank_rate: float
    borrow_cap: float
    adjust_threshold: float
    # rebase only: fresh forecast of the remaining years' targets (cities x years)
    reforecast: np.ndarray | None = None


@dataclass
class Adjustment:
    """What a rule did, per city."""

    targets: np.ndarray  # new targets, cities x years
    change: np.ndarray  # total change of the remaining years' targets, Mt
    banked: np.ndarray = field(default_factory=lambda: np.zeros(0))
    borrowed: np.ndarray = field(default_factory=lambda: np.zeros(0))
    breach: np.ndarray = field(default_factory=lambda: np.zeros(0))  # deficit left uncovered
    reason: str = ""


def fixed(targets: np.ndarray, k: int, accounted: np.ndarray, ctx: AdjustmentContext) -> Adjustment:
    """No adjustment: targets stay as planned."""
    t = targets.copy()
    dev = targets[:, k] - accounted
    return Adjustment(t, np.zeros(t.shape[0]), breach=np.clip(-dev, 0, None), reason="fixed")


def carryover(
    targets: np.ndarray, k: int, accounted: np.ndarray, ctx: AdjustmentContext
) -> Adjustment:
    """Bank ``bank_rate`` of a surplus into next year; borrow a deficit from next
    year, at most ``borrow_cap`` of next year's target (UK Climate Change Act: 1 %).
    The part of a deficit beyond the cap stays an uncovered breach."""
    t = targets.copy()
    c = t.shape[0]
    dev = targets[:, k] - accounted
    banked = np.zeros(c)
    borrowed = np.zeros(c)
    if k + 1 < t.shape[1]:
        banked = ctx.bank_rate * np.clip(dev, 0, None)
        borrowed = np.minimum(np.clip(-dev, 0, None), ctx.borrow_cap * targets[:, k + 1])
        t[:, k + 1] += banked - borrowed
    breach = np.clip(-dev, 0, None) - borrowed
    return Adjustment(t, banked - borrowed, banked, borrowed, breach, reason="carryover")


def threshold(
    targets: np.ndarray, k: int, accounted: np.ndarray, ctx: AdjustmentContext
) -> Adjustment:
    """Re-spread the remaining budget over the remaining years, in proportion to
    their planned targets, only where |deviation| / target > ``adjust_threshold``."""
    t = targets.copy()
    dev = targets[:, k] - accounted
    change = np.zeros(t.shape[0])
    if k + 1 < t.shape[1]:
        rest = t[:, k + 1 :]
        hit = np.abs(dev) > ctx.adjust_threshold * np.abs(targets[:, k])
        rest_sum = rest.sum(axis=1)
        new_sum = np.clip(rest_sum + dev, 0.05 * rest_sum, None)  # never below 5 % of the plan
        scale = np.where(hit & (rest_sum > 0), new_sum / np.where(rest_sum > 0, rest_sum, 1), 1.0)
        t[:, k + 1 :] = rest * scale[:, None]
        change = t[:, k + 1 :].sum(axis=1) - rest_sum
    return Adjustment(t, change, breach=np.clip(-dev, 0, None), reason="threshold")


def rebase(
    targets: np.ndarray, k: int, accounted: np.ndarray, ctx: AdjustmentContext
) -> Adjustment:
    """Re-forecast the rest of the period from current information: the
    remaining targets become the province's fresh forecast (``ctx.reforecast``)."""
    if ctx.reforecast is None:
        raise ValueError("rebase needs a reforecast of the remaining targets")
    t = targets.copy()
    dev = targets[:, k] - accounted
    old = t[:, k + 1 :].sum(axis=1)
    t[:, k + 1 :] = ctx.reforecast[:, k + 1 :]
    return Adjustment(
        t, t[:, k + 1 :].sum(axis=1) - old, breach=np.clip(-dev, 0, None), reason="rebase"
    )


RULES: dict[str, Callable[[np.ndarray, int, np.ndarray, AdjustmentContext], Adjustment]] = {
    "fixed": fixed,
    "carryover": carryover,
    "threshold": threshold,
    "rebase": rebase,
}
