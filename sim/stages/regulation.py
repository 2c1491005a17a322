"""Regulation [调控]: the yearly project round with the carbon assessment, the
policy packages the cities apply, major projects and their listed quota, and
the traditional regime's campaign (MODEL.md 4.5).

In the project round each city decides on its firms' proposals — approve,
defer to next year's round, or reject — by its behaviour's room and value
hurdle (:func:`sim.policies.assessment.assess_projects`); the province reviews the
approvals against the rules; a refusal is enforced with the city's enforcement
capacity.  The province decides listed quota for major projects through the
governor."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.budget import PeriodPlan
from sim.monitoring import STATUS_CODES
from sim.params import SECTORS
from sim.policies.assessment import assess_projects
from sim.policies.behaviours import rule_hurdle
from sim.policies.governor import MajorProjectView
from sim.policies.packages import ALL_KEYS

if TYPE_CHECKING:
    from sim.model import CarbonBudgetModel

PROPOSAL_FIELDS = ("firm", "dK", "I", "el", "emissions", "defer_left")


def switch_packages(m: CarbonBudgetModel, t: int, keys: list[str]) -> None:
    """Cities switch to the packages ``keys`` (one event per switch)."""
    unknown = [k for k in keys if k not in ALL_KEYS]
    if unknown:
        raise ValueError(f"governor: unknown package {unknown[0]!r} (known: {', '.join(ALL_KEYS)})")
    new = np.array([ALL_KEYS.index(k) for k in keys])
    for c in np.flatnonzero(new != m.city_package):
        m.events.add(
            t,
            "package_switch",
            int(c),
            detail=f"{ALL_KEYS[m.city_package[c]]} -> {ALL_KEYS[new[c]]}",
        )
    m.set_packages(new)


def handle_major(
    m: CarbonBudgetModel,
    plan: PeriodPlan | None,
    t: int,
    city: int,
    firm: int,
    e: float,
    online_t: int,
    u: float,
) -> None:
    """A major project [重大项目]: separately listed quota from the reserve
    if the reserve can hold its emissions and it passes the strategic-value
    check; otherwise the city covers it with a phased offset plan."""
    if plan is None or not m.assessing(plan):
        m.events.add(
            t, "major_project_approved", city, firm, amount=e, detail="no carbon assessment"
        )
        return
    k0 = plan.year_index(online_t)
    years = np.arange(max(k0, 0), plan.years)
    frac = np.ones(years.size)
    if years.size and k0 >= 0:
        frac[0] = 1.0 - (online_t - plan.p0 - 4 * k0) / 4.0  # part of the first year in operation
    need = e * frac
    fits = years.size > 0 and bool(np.all(plan.reserve[years] >= need - 1e-12))
    rule = m.regime.reserve and fits and u < m.sc["projects.strategic_prob"]
    view = MajorProjectView(
        t, m.first_year + t // 4, m.sc.city_names[city], e, float(need.sum()), fits, rule
    )
    if m.regime.reserve and fits and m.governor.grant_listed(view):
        grant = np.zeros((m.C, years.size))
        grant[city] = need
        plan.grant_listed(years, grant, need)
        m.events.add(
            t,
            "listed_quota_granted",
            city,
            firm,
            amount=float(need.sum()),
            value=e,
            detail="separately listed quota from the provincial reserve",
        )
    else:
        offset = m.sc["projects.offset_ratio"] * e
        m.commit_offset_plan(city, offset)
        why = (
            "reserve cannot hold it"
            if not fits or not m.regime.reserve
            else ("failed strategic-value check" if not rule else "refused by the province")
        )
        m.events.add(
            t,
            "major_project_offset_plan",
            city,
            firm,
            amount=offset,
            value=e,
            detail=f"no listed quota ({why}); phased offset by retiring outdated capacity",
        )


def campaign(m: CarbonBudgetModel, plan: PeriodPlan, t: int) -> None:
    """Traditional regime [首尾为重]: when the gap becomes visible in the
    official statistics near the end of the period, an emergency campaign
    of production restrictions sized to close it in the quarters left
    (docs/ODD.md 8.10).  History bounds the campaign year: the cities' whole
    production restriction is scaled (``CarbonBudgetModel.restriction_scale``)
    so the year's fall stays within ``regime.campaign_max_fall``."""
    v = m.sc.values
    left = plan.end_t - t + 1
    if left > v["regime.campaign_quarters"] or left <= 0:
        return
    est, last = m.stats.known(t - 1, use_fast=m.regime.fast_monitoring)
    # project the period's emissions from the last known year at the plan trend
    ly = (last + 1) // 4 - 1
    if ly < plan.p0 // 4 - 1:
        ly = plan.p0 // 4 - 1
    E_ly = est[4 * ly : 4 * ly + 4].sum(axis=0)
    years = np.arange(plan.p0 // 4, plan.p0 // 4 + plan.years)
    known_years = years[years <= ly]
    proj = (
        sum(est[4 * y : 4 * y + 4].sum(axis=0) for y in known_years)
        if known_years.size
        else np.zeros(m.C)
    )
    # the plan's emission trend, corrected by the GDP the accounts already show (a
    # recession or boom visible in the quarterly GDP accounts moves the projection)
    surprise = gdp_surprise(
        m.stats.gdp, t, ly, years[years > ly], v["macro.gdp_growth_expectation"]
    )
    for y, s_y in zip(years[years > ly], surprise, strict=True):
        proj = proj + E_ly * (1 + plan.trend) ** (y - ly) * s_y
    # projected GDP for the intensity check uses the fast GDP accounts
    gdp_final = m.stats.gdp[t - 4 : t].sum(axis=0) * (1 + m.sc["macro.gdp_growth_expectation"])
    allowed_final = plan.I_path[:, -1] * gdp_final
    E_final = E_ly * (1 + plan.trend) ** (years[-1] - ly) * surprise[-1]
    if plan.mode == "intensity":
        gap_annual = E_final - allowed_final
    elif plan.mode == "total":
        gap_annual = (proj - plan.T.sum(axis=1)) / max(left / 4, 0.25)
    else:
        gap_annual = np.maximum(
            E_final - allowed_final, (proj - plan.T.sum(axis=1)) / max(left / 4, 0.25)
        )
    pe = m.firms.potential_emissions()
    key = m.firms.by_city(pe)
    need = np.clip(gap_annual, 0, None) / np.where(key > 0, key, 1.0)
    r = np.minimum(need, v["regime.campaign_max_restriction"])
    r = np.where(r > 0, np.maximum(r, m.campaign_restriction), 0.0)
    new = np.flatnonzero((r > 0) & (m.campaign_restriction == 0))
    m.campaign_restriction[:] = r
    m.events.add_many(t, "campaign", new, amount=gap_annual[new], value=r[new],
                      detail="emergency production restriction sized to the visible gap")  # fmt: skip
    # history bounds the campaign year: the cities' production restriction (the
    # packages' and the campaign's) is scaled down so the province's emissions fall by
    # at most regime.campaign_max_fall this year, judged on the power-use figures a
    # campaign is run by (the fast estimate): last year's emissions against the latest
    # run rate with what the restriction in force withheld added back
    fast, last_f = m.stats.known(t - 1, use_fast=True)
    e_prev, e_now = year_and_run_rate(np.nansum(fast, axis=1), last_f, years[-1] - 1)
    e_now += 4.0 * float(m.restricted_mt[last_f])
    cut = float((m.local_restriction(r) * pe).sum())
    scale = campaign_scale(e_now, e_prev, cut, v["regime.campaign_max_fall"])
    if scale != m.restriction_scale:
        m.events.add(t, "campaign_bound", amount=cut, value=scale,
                     detail="production restriction scaled so the year's fall stays within history")  # fmt: skip
    m.restriction_scale = scale


def gdp_surprise(gdp_q: np.ndarray, t: int, ly: int, years: np.ndarray, g: float) -> np.ndarray:
    """Per year in ``years`` (after the last known official year ``ly``) and city:
    the GDP the quarterly accounts show (known up to quarter ``t - 1``; a year not
    complete at the annual rate of the last two known quarters, grown at ``g``)
    over year ``ly``'s GDP grown at ``g`` (1: as the plan expected)."""
    base = gdp_q[4 * ly : 4 * ly + 4].sum(axis=0)
    run_rate = 2.0 * gdp_q[t - 2 : t].sum(axis=0)  # annual rate centred on quarter t - 1.5
    out = np.ones((years.size, gdp_q.shape[1]))
    for i, y in enumerate(years):
        if 4 * y + 3 <= t - 1:
            got = gdp_q[4 * y : 4 * y + 4].sum(axis=0)
        else:
            got = run_rate * (1 + g) ** ((4 * y + 1.5 - (t - 1.5)) / 4)
        out[i] = np.divide(got, base * (1 + g) ** (y - ly), out=np.ones_like(got), where=base > 0)
    return out


def year_and_run_rate(e_q: np.ndarray, last: int, year: int) -> tuple[float, float]:
    """From quarterly emissions ``e_q`` known up to quarter ``last``: year
    ``year``'s total (a quarter not yet known counted at the latest known one)
    and the annual rate of the latest known quarter."""
    q = np.minimum(np.arange(4 * year, 4 * year + 4), last)
    return float(e_q[q].sum()), float(4.0 * e_q[last])


def campaign_scale(e_now: float, e_prev: float, cut: float, max_fall: float) -> float:
    """Share of the restriction's cut (``cut`` Mt/yr) the province carries out when
    its emissions would run at ``e_now`` a year without any restriction after
    ``e_prev`` last year, so that the year's fall stays within ``max_fall`` (1: all
    of it; 0 where the year already falls by that much)."""
    if cut <= 0:
        return 1.0
    room = max(e_now - (1.0 - max_fall) * e_prev, 0.0)
    return min(1.0, room / cut)


# ------------------------------------------------------------ project round --
def project_round(m: CarbonBudgetModel, plan: PeriodPlan | None, t: int, props: dict[str, np.ndarray],
                  u_block: np.ndarray, u_strat: np.ndarray, u_enforce: np.ndarray) -> None:  # fmt: skip
    """The year's project round: the carbon assessment [固定资产投资项目碳排放评价]
    of the firms' new proposals and of those deferred last year.

    Each city ranks its proposals by value per room taken and approves them
    within its room; a proposal that is worth it but finds no room is deferred
    (at most ``projects.defer_years`` times), one below the city's value hurdle
    is rejected.  Where a city approves beyond the rules, the province refuses
    the excess.  Rejections and refusals are enforced with the city's
    enforcement capacity: a rejected project goes ahead anyway with
    probability 1 - enforcement.  Major projects go to the province."""
    v = m.sc.values
    f = m.firms
    props = _with_deferred(m, props, int(v["projects.defer_years"]))
    firm, e = props["firm"], props["emissions"]
    online = t + max(v["projects.build_lag_quarters"], 1)
    city = f.city[firm]
    major = e >= v["projects.major_project_mt"]
    approved = np.ones(firm.size, dtype=bool)
    small = np.flatnonzero(~major)
    if m.assessing(plan):
        assert plan is not None
        lv = m.levers
        active = [(f.sector == s) & f.active for s in range(len(SECTORS))]
        med = np.array([np.median(f.I[a]) if a.any() else np.inf for a in active])
        hc = props["I"] > med[f.sector[firm]]
        outdated_avail = f.by_city(np.where(f.active & f.outdated, f.Qp * f.I, 0.0))
        output = props["dK"] * f.utilisation
        need = room_need(plan, t, city, e, output)
        # value per room taken, relative to the city's own carbon productivity
        # (a proposal taking next to no room has an infinite value: overflow is inf)
        est, last = m.stats.known(t - 1, use_fast=m.regime.fast_monitoring)
        denom = need * carbon_productivity(m, est, last)[city]
        with np.errstate(over="ignore"):
            value = np.divide(output, denom, out=np.full(need.size, np.inf), where=denom > 0)
        cs = city[small]
        k = min(max(plan.year_index(t), 0), plan.years - 1)
        rule_room = allowance(m, plan, t, est, last)
        rule_h = np.array([rule_hurdle(STATUS_CODES[s], v) for s in m.city_status])
        can_defer = props["defer_left"][small] > 0

        def assess(room: np.ndarray, hurdle: np.ndarray):  # the city's rules with a room and hurdle
            return assess_projects(cs, need[small], hc[small], room, lv.block_share,
                                   lv.replacement_ratio, outdated_avail, u_block[firm[small]],
                                   m.C, replace_base=e[small], value=value[small], hurdle=hurdle,
                                   can_defer=can_defer)  # fmt: skip

        rule = assess(rule_room, rule_h)
        dec = rule
        refused = np.zeros(small.size, dtype=bool)
        if not m.all_compliant:  # each city decides its own approval room and value hurdle
            room = np.array(m.city_set.map("approval_room", k, plan.years, rule_room,
                                           plan.T[:, k]), dtype=float)  # fmt: skip
            hurdle = np.array(m.city_set.map("value_hurdle", k, plan.years), dtype=float)
            m.events.add_many(t, "approval_room", np.arange(m.C), amount=room,
                              value=rule_room, detail=list(m.behaviours))  # fmt: skip
            if not (np.array_equal(room, rule_room) and np.array_equal(hurdle, rule_h)):
                dec = assess(room, hurdle)
                # the province reviews the city's approvals against the rules
                refused = dec.approved & ~rule.approved
        f.retire_outdated(dec.retire)
        u_e = u_enforce[firm[small]]
        enforced = u_e < m.enforcement[cs]
        # a refusal enforced puts the rules' decision in force: deferred or rejected
        blocked = refused & enforced
        deferred = (dec.reason == "deferred") | (blocked & (rule.reason == "deferred"))
        overturned = ~dec.approved & (dec.reason != "deferred") & ~enforced
        approved[small] = (dec.approved & ~blocked) | overturned
        for flag, what in ((enforced, "enforced"), (~enforced, "not enforced (built anyway)")):
            sel = small[refused & flag]
            m.events.add_many(t, "project_refused", city[sel], firm[sel], e[sel],
                              detail=f"approved by the city beyond the assessment rules; refusal {what}")  # fmt: skip
        for why in ("no_room", "low_value", "regional_restriction", "no_replacement"):
            sel = small[(dec.reason == why) & ~overturned]
            m.events.add_many(t, "project_rejected", city[sel], firm[sel], e[sel], detail=why)
        sel = small[deferred]
        m.events.add_many(t, "project_deferred", city[sel], firm[sel], e[sel],
                          value=props["defer_left"][sel] - 1,
                          detail="worth it but no room left this year: to next year's round")  # fmt: skip
        m.deferred = {key: props[key][sel] for key in PROPOSAL_FIELDS}
        m.deferred["defer_left"] = m.deferred["defer_left"] - 1
        sel = small[dec.approved & ~refused]
        m.events.add_many(t, "project_approved", city[sel], firm[sel], e[sel],
                          detail="carbon assessment passed")  # fmt: skip
        sel = small[overturned]
        m.events.add_many(t, "project_approved", city[sel], firm[sel], e[sel],
                          detail="failed the carbon assessment, built anyway (weak enforcement)")  # fmt: skip
    else:
        m.deferred = None
        m.events.add_many(t, "project_approved", city[small], firm[small], e[small],
                          detail="no carbon assessment")  # fmt: skip
    for i in np.flatnonzero(major):
        m.province.major_project(plan, t, int(city[i]), int(firm[i]), float(e[i]), online,
                                 float(u_strat[firm[i]]))  # fmt: skip
    ok = approved
    f.schedule_capacity(online, firm[ok], props["dK"][ok], props["I"][ok], props["el"][ok])
    add = np.bincount(city[ok], weights=e[ok], minlength=m.C)
    m.pending_mt += add
    m._pending_batches[online] = m._pending_batches.get(online, np.zeros(m.C)) + add


def _with_deferred(m: CarbonBudgetModel, props: dict[str, np.ndarray],
                   defer_years: int) -> dict[str, np.ndarray]:  # fmt: skip
    """This year's new proposals (each may be deferred ``defer_years`` times)
    followed by last year's deferred ones whose firm still operates."""
    props = dict(props, defer_left=np.full(props["firm"].size, defer_years, dtype=np.int64))
    d = m.deferred
    if not d or not d["firm"].size:
        return props
    keep = m.firms.active[d["firm"]]
    return {key: np.concatenate([props[key], d[key][keep]]) for key in PROPOSAL_FIELDS}


def carbon_productivity(m: CarbonBudgetModel, est: np.ndarray, last: int) -> np.ndarray:
    """Each city's GDP per Mt emitted (bn CNY/Mt) over its last four known
    quarters (its own monitoring data: ``est`` known up to quarter ``last``)."""
    lo = max(last - 3, 0)
    e = np.nansum(est[lo : last + 1], axis=0)
    g = m.stats.gdp[lo : last + 1].sum(axis=0)
    return np.divide(g, e, out=np.ones(m.C), where=e > 0)


def room_need(plan: PeriodPlan, t: int, city: np.ndarray, e: np.ndarray,
              output: np.ndarray) -> np.ndarray:  # fmt: skip
    """Room a project takes (Mt/yr).  Total mode: its emissions.  Intensity
    mode [强度为主]: only its emissions beyond what its output earns at the
    city's target intensity (cleaner-than-target projects take none).  Dual:
    the larger of the two."""
    k = min(max(plan.year_index(t), 0), plan.years - 1)
    beyond = np.clip(e - plan.I_path[city, k] * output, 0.0, None)
    return {"total": e, "intensity": beyond}.get(plan.mode, np.maximum(e, beyond))


def allowance(m: CarbonBudgetModel, plan: PeriodPlan, t: int, est: np.ndarray,
              last: int) -> np.ndarray:  # fmt: skip
    """Room for new projects per city (Mt/yr): remaining targets minus a
    forecast of existing emitters (the last four quarters of ``est`` known up
    to quarter ``last``) and approved projects not yet online, times the
    assessment share, plus growth-preference slack."""
    v = m.sc.values
    k = plan.year_index(t)
    lo = max(last - 3, 0)
    rate = np.nansum(est[lo : last + 1], axis=0) * 4 / max(last + 1 - lo, 1)
    years_ahead = np.arange(k, plan.years) - (last // 4 - plan.p0 // 4)
    # existing emitters grow at each city's emission trend estimated at plan time
    forecast = rate[:, None] * (1 + plan.trend[:, None]) ** years_ahead[None, :]
    room = (plan.T[:, k:] - forecast).mean(axis=1) - m.pending_mt
    lv = m.levers
    allow = (
        np.clip(lv.room_share * room, 0, None)
        + m.growth_pref * v["projects.growth_room"] * plan.T[:, k]
    )
    return np.where(lv.assessment, allow, np.inf)
