"""The annual final account [年度决算] (MODEL.md 4.6-4.7).

At each year end the province accounts every city's emissions with the best
data it has, holds them against their targets, runs the quota market, hears
the cities' adjustment requests and lets its adjustment rule propose the
change of the remaining years' targets (within ``accounts.adjust_cap``, a
breach repaid with a penalty).  The governor decides (:func:`apply_decision`,
possibly later: a person playing the province); every change goes through the
budget ledger (:class:`sim.budget.PeriodPlan`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.budget import PeriodPlan
from sim.monitoring import STATUS_CODES, classify
from sim.policies import trading
from sim.policies.adjustment import RULES, AdjustmentContext
from sim.policies.governor import AccountDecision, AccountView
from sim.policies.packages import ALL_KEYS, package_key
from sim.stages.plan import retarget_firms
from sim.stages.regulation import switch_packages

if TYPE_CHECKING:
    from sim.model import CarbonBudgetModel


def breach_repayment(
    position: np.ndarray, rule_change: np.ndarray, share: float, penalty: float
) -> np.ndarray:
    """Mt each city repays from next year's target after its annual account.

    ``position``: held-to minus accounted emissions (after trades; < 0 a
    breach); ``rule_change``: the adjustment rule's change of the remaining
    years' targets.  A breach D owes ``share * penalty * D``; what the rule
    already took from the remaining years counts towards it."""
    owed = share * penalty * np.clip(-position, 0.0, None)
    return np.clip(owed - np.clip(-rule_change, 0.0, None), 0.0, None)


def repay_within_cap(proposal: np.ndarray, lo: np.ndarray, repay: np.ndarray) -> np.ndarray:
    """The remaining years' targets (cities x years) less each city's repayment,
    taken from next year's target first and, as far as a year would fall below
    its bound ``lo`` (``accounts.adjust_cap`` under its plan), from the years
    after it; what no remaining year can give is not repaid (a breach cannot
    drive a city's targets into a spiral)."""
    out = proposal.copy()
    owed = repay.copy()
    for j in range(out.shape[1]):
        take = np.minimum(owed, np.clip(out[:, j] - lo[:, j], 0.0, None))
        out[:, j] -= take
        owed -= take
    return out


@dataclass
class PendingAccount:
    """An annual account waiting for the governor's decision."""

    plan: PeriodPlan
    t: int
    view: AccountView
    proposal: np.ndarray  # the rule's remaining targets, within the cap (cities x remaining years)
    lo: np.ndarray  # cap bounds of the remaining targets
    hi: np.ndarray
    breach: np.ndarray
    rule: str


def annual_account(m: CarbonBudgetModel, plan: PeriodPlan, t: int) -> None:
    """Annual final account [年度决算] with the best data available, then
    trading and the adjustment of the remaining years' targets."""
    v = m.sc.values
    k = plan.year_index(t)
    yi = t // 4
    rebase_to_official(m, plan, t)
    est, last = m.stats.known(t, use_fast=m.regime.fast_monitoring)
    q = est[4 * yi : 4 * yi + 4]
    avail = ~np.isnan(q)
    n_av = avail.sum(axis=0)
    mean_q = np.divide(np.where(avail, q, 0).sum(axis=0), n_av, out=np.zeros(m.C), where=n_av > 0)
    A = np.where(avail, q, mean_q[None, :]).sum(axis=0)
    if (n_av == 0).any():  # nothing of this year known: extrapolate the last known year
        ly = max(last // 4 - (0 if (last % 4) == 3 else 1), 0)
        ext = est[4 * ly : 4 * ly + 4].sum(axis=0) * (1 + plan.trend) ** (yi - ly)
        A = np.where(n_av == 0, ext, A)
    gdp_q = m.stats.gdp[4 * yi : 4 * yi + 4]
    gdp_y = gdp_q.sum(axis=0)
    held = plan.held_target(k, gdp_q)
    plan.hold(k, held, A)
    # trading after the account
    if m.regime.trading and v["trading.enabled"]:
        # each city states its position: quota offered (+) or wanted (-)
        pos = held - A
        if m.all_compliant:  # the compliant rule, vectorised (same numbers as the map)
            pos = np.where(pos > 0, pos * (1.0 - v["trading.seller_margin"]), pos)
        else:
            pos = np.array(m.city_set.map("trade_position", k, plan.years, pos), dtype=float)
        ask = m.city_mac()
        bid = np.full(m.C, v["trading.penalty_price"])
        bids = np.flatnonzero(pos != 0)
        m.events.add_many(t, "trade_bid", bids, amount=pos[bids],
                          value=np.where(pos > 0, ask, bid)[bids],
                          detail=[m.behaviours[c] for c in bids])  # fmt: skip
        res = trading.clear(pos, ask, bid, v["trading.volume_cap"] * held)
        if res.volume > 0:
            held = plan.record_trade(k, res.traded)
            tr = np.flatnonzero(res.traded)
            m.events.add_many(t, "trade", tr, amount=res.traded[tr], value=np.full(tr.size, res.price),
                              detail="quota bought (+) / sold (-) at the clearing price")  # fmt: skip
            m.trade_log.append((t, res.volume, res.price, res.buyer_gain, res.seller_gain))
    # annual status (barometer publication)
    ratio = A / held
    st, wn = classify(ratio, v["monitoring.surplus_threshold"], v["monitoring.overrun_threshold"],
                      v["monitoring.red_threshold"])  # fmt: skip
    m.annual_status[plan.index][:, k] = st
    m.events.add_many(t, "annual_account", np.arange(m.C), amount=A, value=ratio,
                      detail=[STATUS_CODES[s] for s in st])  # fmt: skip
    adjustment_requests(m, plan, t, k, held - A, gdp_y)
    # dynamic adjustment of the remaining years: the rule suggests, the governor decides
    rule = v["accounts.rule"] if m.regime.adjustment else "fixed"
    ctx = AdjustmentContext(
        v["accounts.bank_rate"], v["accounts.borrow_cap"], v["accounts.adjust_threshold"]
    )
    T = plan.T.copy()
    T[:, k] = held
    if rule == "rebase":
        ctx.reforecast = reforecast(m, plan, k, gdp_y)
    adj = RULES[rule](T, k, A, ctx)
    planned = plan.T_ref[:, k + 1 :] + plan.listed[:, k + 1 :]
    cap = v["accounts.adjust_cap"]
    lo, hi = planned * (1 - cap), planned * (1 + cap)
    # no remaining year may drift further than accounts.adjust_cap from its plan
    proposal = np.clip(adj.targets[:, k + 1 :], lo, hi)
    if plan.mode != "total" and v["accounts.hold_final_year"] and k + 1 < plan.years:
        # the binding control is the final year's intensity: the rule banks no surplus into it
        proposal[:, -1] = np.minimum(proposal[:, -1], np.maximum(planned[:, -1], plan.T[:, -1]))
    repay = np.zeros(m.C)
    if m.regime.adjustment and k + 1 < plan.years:
        # a breach costs: repayment (with a penalty) from next year's target, beyond
        # what the rule already took from the remaining years
        repay = breach_repayment(held - A, proposal.sum(axis=1) - plan.T[:, k + 1 :].sum(axis=1),
                                 v["accounts.breach_repayment"], v["accounts.breach_penalty"])  # fmt: skip
        # (never below 5 % of a year's plan, whatever accounts.adjust_cap allows)
        proposal = repay_within_cap(proposal, np.maximum(lo, 0.05 * planned), repay)
    suggested = proposal.sum(axis=1) - plan.T[:, k + 1 :].sum(axis=1)
    cur = plan.T[:, k + 1 :].sum(axis=1)
    view = AccountView(
        t, m.first_year + yi, k, plan.years - k - 1, tuple(m.sc.city_names), A.copy(), held.copy(),
        tuple(STATUS_CODES[s] for s in st), rule, suggested,
        tuple(package_key(STATUS_CODES[s], int(w)) for s, w in zip(st, wn, strict=True)),
        float(plan.reserve[k + 1 :].sum()),
        np.maximum(hi.sum(axis=1) - cur, cur - lo.sum(axis=1)),
    )  # fmt: skip
    pending = PendingAccount(plan, t, view, proposal, lo, hi, adj.breach.copy(), rule)
    if m.governor.defer:
        m.pending = pending
        return
    apply_decision(m, pending, m.governor.annual(view))


def adjustment_requests(m: CarbonBudgetModel, plan: PeriodPlan, t: int, k: int, position: np.ndarray,
                         gdp_y: np.ndarray) -> None:  # fmt: skip
    """Cities in deficit ask for more room for the remaining years and state
    why (event ``adjustment_request``); the province's adjustment rule
    then decides (event ``adjustment``)."""
    if k + 1 >= plan.years or not (position < 0).any():
        return
    year = m.first_year + t // 4
    major = {mp["city"] for mp in m.sc.major_projects if mp["year"] in (year - 1, year)}
    shock = any(s["year"] <= year < s["year"] + (s["quarter"] - 1 + s["quarters"] + 3) // 4
                for s in m.sc.shocks)  # fmt: skip
    reasons = [
        "major project" if name in major
        else "shock" if shock
        else "data revision" if plan.rebased_t == t
        else "growth above forecast" if gdp_y[c] > plan.gdp_forecast[c, k]
        else "none stated"
        for c, name in enumerate(m.sc.city_names)
    ]  # fmt: skip
    if m.all_compliant:  # the compliant rule, vectorised (same numbers as the map)
        amount = np.clip(-position, 0.0, None)
    else:
        out = m.city_set.map("adjustment_request", k, plan.years, position, reasons)
        amount = np.array([a for a, _ in out], dtype=float)
    ask = np.flatnonzero(amount > 0)
    m.events.add_many(t, "adjustment_request", ask, amount=amount[ask], value=position[ask],
                      detail=[reasons[c] for c in ask])  # fmt: skip


def apply_decision(m: CarbonBudgetModel, p: PendingAccount, d: AccountDecision) -> None:
    """Apply the governor's annual decision: the change of each city's
    remaining targets (the rule's proposal where the governor follows it,
    else the remaining years rescaled to the chosen total within the
    adjustment cap), listed quota granted from the reserve of the remaining
    years, and packages held until the next account."""
    plan, t, view = p.plan, p.t, p.view
    k = view.plan_year
    C = m.C
    change = np.asarray(d.change, dtype=float)
    listed = np.clip(np.asarray(d.listed, dtype=float), 0.0, None)
    if change.shape != (C,) or listed.shape != (C,) or len(d.packages) != C:
        raise ValueError(
            "governor: an annual decision needs one change, grant and package per city"
        )
    if not (np.isfinite(change).all() and np.isfinite(listed).all()):
        raise ValueError("governor: annual decision with a non-finite change or grant")
    if k + 1 < plan.years:
        new = p.proposal.copy()
        own = change != view.suggested_change
        if own.any():
            cur = plan.T[:, k + 1 :]
            tot = cur.sum(axis=1)
            want = np.clip(tot + change, p.lo.sum(axis=1), p.hi.sum(axis=1))
            scale = np.divide(want, tot, out=np.ones(C), where=tot > 0)
            new[own] = np.clip(cur[own] * scale[own, None], p.lo[own], p.hi[own])
        actual = plan.settle(k, new)
        # listed quota from the reserve of the remaining years, pro rata to what each year holds
        grant = plan.grant_listed_pro_rata(k, listed)
        if grant > 0:
            per_city = listed * (grant / listed.sum())
            got = np.flatnonzero(per_city > 0)
            m.events.add_many(t, "listed_quota_granted", got, amount=per_city[got],
                              detail="granted from the reserve at the annual account")  # fmt: skip
    else:
        actual = np.zeros(C)
    changed = np.flatnonzero(np.abs(actual) > 1e-9)
    m.adjust_log.append((plan.index, k, actual.copy(), p.breach))
    held, A = view.held_to, view.accounted
    m.events.add_many(t, "adjustment", changed, amount=actual[changed], value=(held - A)[changed],
                      detail=f"{p.rule}: remaining targets changed")  # fmt: skip
    m.governor.decided(view, d)  # as taken (replaying it reproduces the same arithmetic)
    if any(d.packages) and m.regime.packages:
        switch_packages(m, t, [pk or cur for pk, cur in
                                 zip(d.packages, (ALL_KEYS[i] for i in m.city_package), strict=True)])  # fmt: skip
    retarget_firms(m, plan, t + 1)  # the cities re-target their firms


def rebase_to_official(m: CarbonBudgetModel, plan: PeriodPlan, t: int) -> None:
    """Re-base the plan on the official base year [以官方基年数据校准] once it is
    published: the centre's targets are stated on the official statistics,
    while the plan was prepared on the province's own (stale, estimated) base
    year (the arithmetic: :meth:`sim.budget.PeriodPlan.rebase`)."""
    y = plan.base_year_idx
    if plan.rebased or m.stats.published_at[y] > t:
        return
    f = float(np.nansum(m.stats.official[y]) / plan.E_base.sum())
    change = plan.rebase(t, f)
    if change is not None:
        m.events.add(t, "plan_rebased", amount=change, value=f,
                     detail="remaining targets re-based on the published official base year")  # fmt: skip


def reforecast(m: CarbonBudgetModel, plan: PeriodPlan, k: int, gdp_y: np.ndarray) -> np.ndarray:
    """Rebase: the remaining years re-forecast from current information —
    observed GDP grown at the expectation, times the original intensity path
    (intensity/dual), or the original cap path rescaled so the period total
    absorbs the deviation so far (total)."""
    g = m.sc["macro.gdp_growth_expectation"]
    Y = plan.years
    out = plan.T.copy()
    j = np.arange(Y)
    if plan.mode in ("intensity", "dual"):
        I0 = plan.T_ref / plan.gdp_forecast
        gdp = gdp_y[:, None] * (1 + g) ** (j - k)[None, :]
        out = I0 * gdp
    if plan.mode in ("total", "dual"):
        used = np.nansum(plan.accounted[:, : k + 1], axis=1)
        left = plan.T_ref.sum(axis=1) - used
        rest = plan.T_ref[:, k + 1 :]
        tot = rest.sum(axis=1)
        scale = np.divide(np.clip(left, 0.05 * tot, None), tot, out=np.ones(m.C), where=tot > 0)
        cap = plan.T_ref.copy()
        cap[:, k + 1 :] = rest * scale[:, None]
        out = cap if plan.mode == "total" else np.minimum(out, cap)
    return out
