"""Calibrated responses of the budget regime (issue 8, docs/ODD.md 8.4 and 10.1).

Pure functions the province's stages call; the parameters are rows of the one
table (sim/params.py):

* :func:`early_tolerance`: monitoring judges a city's cumulative time-progress
  ratio with a tolerance that shrinks as the quarters observed in the period
  accumulate (``monitoring.early_tolerance`` / sqrt(quarters observed)), so one
  noisy or mis-allocated early quarter does not trigger packages whose
  instruments (phase-out, replacement, pricing) cut emissions for good.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def early_tolerance(n_observed: int, tolerance: float) -> float:
    """Extra share added to the status thresholds after ``n_observed`` quarters of
    a period: ``tolerance / sqrt(n)`` (the standard error of a mean of n quarter
    ratios whose single-quarter error has s.d. ``tolerance``); 0 when nothing is observed."""
    if n_observed <= 0 or tolerance <= 0:
        return 0.0
    return float(tolerance / np.sqrt(n_observed))


def abatement_at(surcharge: float, price: np.ndarray, have: np.ndarray, base_e: np.ndarray,
                 scale: np.ndarray, x_max: np.ndarray) -> float:  # fmt: skip
    """Mt/yr the key firms add (beyond what they have done or decided) when a
    uniform ``surcharge`` (CNY/t) is added to their current carbon ``price``."""
    x = (price + surcharge) * x_max / (scale + price + surcharge)
    return float((np.clip(x - have, 0.0, None) * base_e).sum())


@dataclass
class Steering:
    """One steering decision (a monitoring date in the steering window)."""

    required_mt: float  # reduction still needed below the aim (< 0: room left)
    surcharge: float  # CNY/t the province adds to every key firm's carbon price
    relax: bool  # the province is projected below its aim by more than the band


def projection(quarters_known: np.ndarray, prev_year: float, n_left: int, pending_mt: float,
               lag: int, growth_clip: float = 0.1) -> np.ndarray:  # fmt: skip
    """Province's emissions of the ``n_left`` quarters still to come (Mt per
    quarter): the run rate of the last four known quarters (``quarters_known``)
    grown at their change over ``prev_year`` (the four before; clipped to
    +-10 %/yr), less the abatement already decided (``pending_mt`` Mt/yr) from
    the quarter it takes effect (``lag`` quarters on)."""
    last4 = float(quarters_known.sum())
    g = float(np.clip(last4 / prev_year - 1.0, -growth_clip, growth_clip)) if prev_year > 0 else 0.0
    j = np.arange(1, n_left + 1)
    out = last4 / 4 * (1.0 + g) ** (j / 4)
    return out - np.where(j > lag, pending_mt / 4, 0.0)


def surcharge_for(required_mt: float, covered_quarters: int, max_surcharge: float,
                  price: np.ndarray, have: np.ndarray, base_e: np.ndarray, scale: np.ndarray,
                  x_max: np.ndarray, steps: int = 40) -> float:  # fmt: skip
    """Smallest surcharge on a grid of ``steps`` up to ``max_surcharge`` whose added
    abatement over the ``covered_quarters`` it can still reach closes
    ``required_mt`` (the maximum if none does; 0 if nothing is required or no
    quarter can be reached)."""
    if required_mt <= 0 or covered_quarters <= 0 or max_surcharge <= 0:
        return 0.0
    for s in np.linspace(0.0, max_surcharge, steps + 1)[1:]:
        if abatement_at(s, price, have, base_e, scale, x_max) * covered_quarters / 4 >= required_mt:
            return float(s)
    return float(max_surcharge)


def steer(model, plan, t: int, est: np.ndarray, last: int) -> Steering | None:
    """Closed-loop control of the remaining budget in the last ``steering.years``
    years of a period, on each monitoring date (docs/ODD.md 8.4).

    The province projects its binding outcome from what it knows (official and
    fast estimates up to quarter ``last``): in total mode the period's emissions
    against its budget (the centre's cap once re-based on the official base
    year), in intensity mode the final year's intensity against the target
    intensity (dual: both).  The reduction still needed below the aim (the
    target less ``steering.safety``) is spread over the quarters the province
    can still reach (after ``abatement.lag_quarters``): it sets the smallest
    uniform surcharge on key firms' carbon price (at most ``steering.max_surcharge``)
    whose added abatement closes it.  Abatement is a ratchet, so the loop acts
    once per gap: later dates count the abatement already decided.  Projected
    below the aim by more than ``steering.relax_band``, the province relaxes:
    no city runs an overrun package."""
    v = model.sc.values
    years = v["steering.years"]
    if years <= 0 or t < plan.end_t + 1 - 4 * years or last < 7:
        return None
    f = model.firms
    s = f.sector
    lag = max(int(v["abatement.lag_quarters"]), 0)
    active = f.active
    base_e = np.where(active, f.Qp * f.I / np.clip(1.0 - f.x_done, 1e-6, None), 0.0)
    have = f.x_done + f.x_pending
    pending = float((f.x_pending * base_e).sum())
    scale, x_max = f.sp.mac_scale[s], f.sp.mac_max[s]
    price = model.firm_price
    prov = np.nansum(est[: last + 1], axis=1)
    n_left = plan.end_t - last
    proj = projection(prov[last - 3 : last + 1], float(prov[last - 7 : last - 3].sum()), n_left,
                      pending, lag, v["steering.growth_clip"])  # fmt: skip
    safety = v["steering.safety"]
    first = t + 1 + lag  # first quarter a new abatement decision reaches
    need, cover, rel = [], [], []
    if plan.mode in ("total", "dual"):
        cap = float(plan.budget_ref.sum())
        total = float(prov[plan.p0 : last + 1].sum() + proj.sum())
        need.append(total - (1.0 - safety) * cap)
        cover.append(max(plan.end_t - max(first, last + 1) + 1, 0))
        rel.append(need[-1] / cap)
    if plan.mode in ("intensity", "dual"):
        gdp = model.stats.gdp.sum(axis=1)
        g4 = float(gdp[last - 3 : last + 1].sum())
        g_prev = float(gdp[last - 7 : last - 3].sum())
        gg = float(np.clip(g4 / g_prev - 1.0, -0.1, 0.15)) if g_prev > 0 else 0.0
        fy = np.arange(plan.end_t - 3, plan.end_t + 1)
        e_final = sum(prov[q] if q <= last else proj[q - last - 1] for q in fy)
        gdp_final = sum(
            gdp[q] if q <= last else g4 / 4 * (1.0 + gg) ** ((q - last) / 4) for q in fy
        )
        target_i = float(plan.budget_ref[-1] / plan.gdp_forecast[:, -1].sum())
        need.append(float(e_final - (1.0 - safety) * target_i * gdp_final))
        cover.append(int(np.sum(fy >= max(first, last + 1))))
        rel.append(need[-1] / (target_i * gdp_final))
    # persistence: act on a gap only as far as the previous date saw it too (one date's
    # fast estimate can be several per cent off; the abatement it would buy cannot be undone)
    prev = model.steering_prev if model.steering_prev is not None else [0.0] * len(need)
    model.steering_prev = list(need)
    act = [min(n, p) for n, p in zip(need, prev, strict=True)]
    surcharge = max(
        surcharge_for(n, c, v["steering.max_surcharge"], price, have, base_e, scale, x_max)
        for n, c in zip(act, cover, strict=True)
    )
    return Steering(max(act), surcharge, max(rel) < -v["steering.relax_band"])
