"""Monitoring and early warning [监测预警] (MODEL.md 4.3-4.4).

On each monitoring date the province judges every city and the province as a
whole against time progress [时序进度] from what its statistics know (lagged
official statistics, the fast electricity-to-carbon estimate): surplus,
balance or overrun with a green/orange/red warning.  Five-year coordination
counts the reserve and, under a cap, the projected five-year total
(:func:`orderly_restriction`).  The governor then chooses each city's policy
package (:func:`sim.stages.regulation.switch_packages`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.budget import PeriodPlan
from sim.monitoring import STATUS_CODES, classify
from sim.policies.governor import MonitoringView
from sim.policies.packages import package_key
from sim.stages.regulation import switch_packages
from sim.stages.steering import Steering, early_tolerance, steer

if TYPE_CHECKING:
    from sim.model import CarbonBudgetModel


def monitor(m: CarbonBudgetModel, plan: PeriodPlan, t: int) -> None:
    """Monitoring and early warning on a monitoring date: status of each
    city and the province against time progress; cities switch package."""
    v = m.sc.values
    est, last = m.stats.known(t, use_fast=m.regime.fast_monitoring)
    p0 = plan.p0
    if last < p0:
        return  # nothing of this period observed yet
    rows = slice(p0, last + 1)
    e = est[rows]
    sched = monitoring_schedule(m, plan, last)
    cum_e = e.sum(axis=0)
    cum_s = sched.sum(axis=0)
    # the province's own position also counts the reserve it still holds for these years
    k = (np.arange(p0, last + 1) - p0) // 4
    held_back = plan.reserve[k].sum() / 4 if m.regime.coordination else 0.0
    r = np.append(cum_e / cum_s, cum_e.sum() / cum_s.sum())
    r_prov = cum_e.sum() / (cum_s.sum() + held_back)  # what five-year coordination judges
    if plan.mode != "intensity" and m.regime.coordination and last >= p0 + 3:
        # a cap: the province also projects its five-year total at the run rate of the
        # last four known quarters and compares it with its five-year budget
        # (grown at the year-on-year change of the province's known quarters)
        prev = est[max(last - 7, 0) : last - 3].sum()
        g = float(np.clip(e[-4:].sum() / prev - 1.0, -0.1, 0.1)) if prev > 0 else 0.0
        j = np.arange(1, plan.end_t - last + 1)
        proj = cum_e.sum() + e[-4:].sum() / 4 * float(((1 + g) ** (j / 4)).sum())
        r_prov = max(r_prov, proj / plan.budget_ref.sum())
        orderly_restriction(m, plan, t, last, proj, r[:-1])
    # quarterly fast estimates early in the period are judged with a wider tolerance
    tol = early_tolerance(last - p0 + 1, v["monitoring.early_tolerance"] * m.regime.fast_monitoring)
    status, warning = classify(r, v["monitoring.surplus_threshold"] + tol, v["monitoring.overrun_threshold"] + tol,
                               v["monitoring.red_threshold"] + tol)  # fmt: skip
    truth = m.stats.emissions[rows].sum(axis=0)
    m.monitoring_rows.append((t, last, np.append(cum_e, cum_e.sum()), np.append(cum_s, cum_s.sum()),
                              np.append(truth, truth.sum()), r, status, warning))  # fmt: skip
    prev_status = m.city_status.copy()
    m.city_status[:] = status[:-1]
    m.city_warning[:] = warning[:-1]
    m.province_status = int(status[-1])
    for c in np.flatnonzero((warning[:-1] > 0) | (prev_status != status[:-1])):
        m.events.add(
            t,
            "warning" if warning[c] else "status",
            int(c),
            value=float(r[c]),
            detail=f"{STATUS_CODES[status[c]]} ({('green', 'orange', 'red')[warning[c]]})",
        )
    steering = steer(m, plan, t, est, last) if m.regime.coordination else None
    if steering is not None:
        apply_steering(m, t, steering)
    if m.regime.packages:
        suggested = [
            package_key(STATUS_CODES[s], w) for s, w in zip(status[:-1], warning[:-1], strict=True)
        ]
        coordinate = v["monitoring.province_first"] and m.regime.coordination
        if coordinate and r_prov < 1.0 - v["monitoring.province_margin"] + tol:
            # the province as a whole has slack: no production restriction yet
            suggested = ["balance" if k.startswith("overrun") else k for k in suggested]
        elif coordinate and r_prov > 1.0 + v["monitoring.overrun_threshold"]:
            # the province as a whole overruns: every city not in surplus takes part
            up = {"balance": "overrun_orange", "overrun_orange": "overrun_red"}
            suggested = [up.get(k, k) for k in suggested]
        if steering is not None and steering.relax:
            # projected below its aim: the province relaxes, no city restricts
            suggested = ["balance" if k.startswith("overrun") else k for k in suggested]
        view = MonitoringView(t, m.first_year + t // 4, tuple(m.sc.city_names),
                              tuple(STATUS_CODES[s] for s in status[:-1]), tuple(int(w) for w in warning[:-1]),
                              tuple(suggested))  # fmt: skip
        switch_packages(m, t, m.governor.choose_packages(view))


def apply_steering(m: CarbonBudgetModel, t: int, st: Steering) -> None:
    """Set the steering surcharge and restriction (events ``steering`` and
    ``steering_restriction`` when they change)."""
    if st.surcharge != m.steering_surcharge:
        m.events.add(t, "steering", amount=st.required_mt, value=st.surcharge,
                     detail="surcharge on key firms set from the projected gap to the aim")  # fmt: skip
    m.steering_surcharge = st.surcharge
    if st.restriction != m.steering_restriction:
        m.events.add(t, "steering_restriction", amount=st.required_mt, value=st.restriction,
                     detail="output withheld where the largest surcharge cannot close the gap")  # fmt: skip
    m.steering_restriction = st.restriction


def orderly_restriction(
    m: CarbonBudgetModel, plan: PeriodPlan, t: int, last: int, proj: float, r: np.ndarray
) -> None:
    """Under a cap, when the projected five-year total exceeds the budget, the
    province restricts the key firms of the cities over their own schedule
    (all cities if none is) in proportion to the projected excess (over the
    budget less ``monitoring.cap_safety`` of it) over the
    quarters left, at most ``monitoring.cap_restriction_max`` of their output;
    the restriction is lifted when the projection is back within the budget."""
    left = plan.end_t - last
    gap = proj - (1.0 - m.sc["monitoring.cap_safety"]) * plan.budget_ref.sum()
    if left <= 0 or gap <= 0:
        m.campaign_restriction[:] = 0.0
        return
    who = r > 1.0
    if not who.any():
        who[:] = True
    f = m.firms
    key = f.by_city(f.potential_emissions())
    share = gap / (left / 4) / max(float(key[who].sum()), 1e-9)
    new = np.where(who, min(share, m.sc["monitoring.cap_restriction_max"]), 0.0)
    started = np.flatnonzero((new > 0) & (m.campaign_restriction == 0))
    m.campaign_restriction[:] = new
    m.events.add_many(t, "orderly_restriction", started, amount=np.full(started.size, gap),
                      value=new[started], detail="projected five-year total above the budget")  # fmt: skip


def monitoring_schedule(m: CarbonBudgetModel, plan: PeriodPlan, last: int) -> np.ndarray:
    """Scheduled budget of the period's quarters up to ``last`` as monitoring
    counts it (quarters x cities): the recorded schedule, plus in every
    accounted year the quota the city bought (+) or sold (-) and minus what
    the annual account carried into later years' targets (a surplus banked,
    a deficit re-spread or repaid), so an accounted year counts as settled
    by what was done about it, and a purchase eases the status that follows."""
    sched = m.schedule[plan.p0 : last + 1].copy()
    k = (np.arange(plan.p0, last + 1) - plan.p0) // 4
    done = plan.is_accounted(k)
    sched[done] += (plan.traded[:, k[done]] - plan.settled[:, k[done]]).T / 4
    return sched
