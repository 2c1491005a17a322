"""The province [省]: plan preparation, monitoring and early warning, major
projects, annual final accounts with trading and adjustment, and the
traditional regime's emergency campaign (MODEL.md 4.2-4.7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim import planning
from sim.agents.city import retarget_firms
from sim.agents.firms import mac_share
from sim.budget import PeriodPlan
from sim.monitoring import STATUS_CODES, classify
from sim.policies import trading
from sim.policies.adjustment import RULES, AdjustmentContext
from sim.policies.allocation import CityIndicators
from sim.policies.governor import AccountDecision, AccountView, MajorProjectView, MonitoringView
from sim.policies.packages import ALL_KEYS, package_key
from sim.policies.steering import Steering, early_tolerance, steer

if TYPE_CHECKING:
    from sim.model import CarbonBudgetModel

METHODS = ("grandfathering", "intensity", "equality", "efficiency", "potential")


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


class Province(mesa.Agent):
    """The provincial government: the one rich agent that runs the budget cycle."""

    model: CarbonBudgetModel

    def __init__(self, model: CarbonBudgetModel) -> None:
        super().__init__(model)
        self.name = model.sc["province.name"]

    def quarter(self, plan: PeriodPlan, t: int) -> None:
        """The province's duties at the end of quarter ``t`` of a plan period:
        monitoring and early warning on monitoring dates, the annual final
        account at year end, and (``traditional``) the campaign."""
        m = self.model
        if m.sc["monitoring.frequency"] == "quarterly" or t % 4 in (1, 3):
            self.monitor(plan, t)
        if t % 4 == 3:
            self.annual_account(plan, t)
        if m.regime.campaign and t < plan.end_t:
            self.campaign(plan, t + 1)

    # ================================================== plan preparation ==
    def prepare_plan(self, period_index: int) -> PeriodPlan:
        """Budget plan preparation before the first quarter of a period (MODEL.md 4.2)."""
        m = self.model
        v = m.sc.values
        per = m.sc.periods[period_index]
        Y = per["years"]
        p0 = m.t
        base_yi = p0 // 4 - 1
        ev = m.events
        # 1. status accounting from what is known (stale statistics)
        known, last = m.stats.known(p0 - 1, use_fast=m.regime.fast_monitoring)
        n_off = int(np.sum(m.stats.published_at <= p0 - 1))
        official = m.stats.official[:n_off]
        E_base, trend, y_full = planning.estimate_base_year(known, base_yi, official)
        gdp_base = m.stats.gdp[4 * base_yi : 4 * base_yi + 4].sum(axis=0)
        ev.add(
            p0,
            "plan_base_year",
            amount=float(E_base.sum()),
            value=float(m.first_year + y_full),
            detail=f"base year {m.first_year + base_yi} estimated; last fully known year {m.first_year + y_full}",
        )
        # 2. forecast scenarios (province level), known major projects included
        I_trend = self._intensity_trend(official)
        major = np.zeros(Y)
        for mp in m.sc.major_projects:
            k = mp["year"] - per["start_year"]
            if 0 <= k < Y:
                major[k:] += mp["emissions_mt"]
        scen, chosen = planning.forecast_scenarios(
            float(E_base.sum()), float(gdp_base.sum()), I_trend, v["macro.gdp_growth_expectation"],
            v["plan.scenario_growth_spread"], Y, per["mode"], per["intensity_target"], per["total_change"],
            v["plan.max_policy_cut"], major)  # fmt: skip
        for s in scen:
            ev.add(
                p0,
                "plan_scenario",
                amount=float(s.emissions.sum()),
                value=s.growth,
                detail=f"{s.name}: feasible={s.feasible}, final-year cut below BAU {s.required_cut:.3f}",
            )
        g = scen[chosen].growth
        ev.add(p0, "plan_scenario_chosen", value=g, detail=scen[chosen].name)
        if not scen[chosen].feasible:
            ev.add(p0, "plan_infeasible", value=scen[chosen].required_cut,
                   detail="no target-oriented scenario is feasible within plan.max_policy_cut; "
                          "the lowest-growth one is used")  # fmt: skip
        # 3. total budget and annual targets
        k = np.arange(1, Y + 1)
        recent = self._recent_gdp_growth(base_yi)
        g_city = 0.5 * g + 0.5 * recent
        gdp_f = gdp_base[:, None] * (1 + g_city[:, None]) ** k[None, :]
        gdp_f *= (gdp_base.sum() * (1 + g) ** k / gdp_f.sum(axis=0))[
            None, :
        ]  # consistent with province
        path = planning.budget_path(float(E_base.sum()), float(gdp_base.sum()), gdp_f.sum(axis=0), Y, per["mode"],
                                    per["intensity_target"], per["total_change"])  # fmt: skip
        budget = planning.annual_targets(path, v["plan.annual_shape"], v["plan.front_loading"])
        ev.add(
            p0,
            "plan_budget",
            amount=float(budget.sum()),
            detail=f"{per['mode']} mode, shape {v['plan.annual_shape']}",
        )
        # 4. reserve
        rshare = v["plan.reserve_share"] if m.regime.reserve else 0.0
        reserve = rshare * budget
        ev.add(p0, "plan_reserve", amount=float(reserve.sum()), value=rshare)
        # 5. vertical allocation
        ind_share = m.stats.industry[4 * base_yi : 4 * base_yi + 4].sum(axis=0) / gdp_base
        ci = CityIndicators(
            E_base,
            gdp_base,
            gdp_f.sum(axis=1),
            m.population,
            ind_share,
            self._potential(),
            per["intensity_target"],
        )
        weights = {meth: v[f"plan.weight_{meth}"] for meth in METHODS}
        alloc, shares = planning.vertical_allocation(
            budget - reserve, ci, weights, v["plan.structure_elasticity"]
        )
        ev.add_many(p0, "allocation", np.arange(m.C), amount=alloc.sum(axis=1), value=shares)
        # 6. negotiation against each city's own need
        # a city's own need: its emission trend (which already carries its growth)
        # less the extra cut it counts on achieving
        need = (
            E_base[:, None] * ((1 + trend[:, None]) * (1 - v["plan.city_extra_cut"])) ** k[None, :]
        )
        # each city states its counter-proposal from its own forecast and behaviour
        need = np.array(m.city_set.map("counter_proposal", Y, need), dtype=float).reshape(m.C, Y)
        ev.add_many(p0, "negotiation_offer", np.arange(m.C), amount=need.sum(axis=1),
                    value=alloc.sum(axis=1), detail=list(m.behaviours))  # fmt: skip
        alloc, reserve, appeal, grant = planning.negotiate(
            alloc, need, reserve, v["plan.negotiation_tolerance"], v["plan.negotiation_grant"],
            v["plan.negotiation_reserve_cap"])  # fmt: skip
        idx = np.flatnonzero(appeal)
        ev.add_many(
            p0,
            "negotiation_grant",
            idx,
            amount=grant.sum(axis=1)[idx],
            value=np.clip(need - alloc, 0, None).sum(axis=1)[idx],
            detail="appeal granted from reserve",
        )
        plan = PeriodPlan(
            index=period_index, start_year=per["start_year"], years=Y, mode=per["mode"],
            intensity_target=per["intensity_target"], total_change=per["total_change"], binding=per["binding"],
            p0=p0, base_year_idx=base_yi, E_base=E_base, gdp_base=gdp_base, trend=trend, budget=budget,
            reserve=reserve, reserve_initial=reserve.copy(), gdp_forecast=gdp_f, T_initial=alloc.copy(),
            T=alloc.copy(), I_path=alloc / gdp_f, traded=np.zeros_like(alloc), listed=np.zeros_like(alloc),
            held_to=np.full_like(alloc, np.nan), accounted=np.full_like(alloc, np.nan),
            settled=np.zeros_like(alloc), T_ref=alloc.copy(), reserve_ref=reserve.copy(),
            budget_ref=budget.copy(),
            scenario_names=tuple(s.name for s in scen), chosen=scen[chosen].name,
        )  # fmt: skip
        # 7. horizontal allocation to firms or sectors: the cities' (sim/agents/city.py)
        return plan

    def _intensity_trend(self, official: np.ndarray) -> float:
        """Yearly change of provincial carbon intensity between the last two
        published official years (GDP from the fast GDP accounts)."""
        n = official.shape[0]
        if n < 2:
            return -0.02
        g = self.model.stats.gdp
        g1 = g[4 * (n - 1) : 4 * n].sum()
        g0 = g[4 * (n - 2) : 4 * (n - 1)].sum()
        ratio = (official[-1].sum() / g1) / (official[-2].sum() / g0)
        return float(np.clip(ratio - 1.0, -0.15, 0.1))

    def _recent_gdp_growth(self, yi: int) -> np.ndarray:
        s = self.model.stats.gdp
        g1 = s[4 * yi : 4 * yi + 4].sum(axis=0)
        g0 = s[4 * yi - 4 : 4 * yi].sum(axis=0)
        return np.clip(g1 / g0 - 1.0, -0.1, 0.2)

    def _potential(self, ref_price: float = 200.0) -> np.ndarray:
        """Share of each city's key-firm emissions abatable below ``ref_price``."""
        f = self.model.firms
        s = f.sector
        x = mac_share(np.full(f.n, ref_price), f.sp.mac_scale[s], f.sp.mac_max[s])
        e = np.where(f.active, f.Qp * f.I, 0.0)
        extra = np.clip(x - f.x_done, 0, None) * e
        tot = f.by_city(e) + self.model.diffuse.gdp * self.model.diffuse.I
        return np.divide(f.by_city(extra), tot, out=np.zeros(self.model.C), where=tot > 0)

    # ============================================ monitoring and warning ==
    def monitor(self, plan: PeriodPlan, t: int) -> None:
        """Monitoring and early warning on a monitoring date: status of each
        city and the province against time progress; cities switch package."""
        m = self.model
        v = m.sc.values
        est, last = m.stats.known(t, use_fast=m.regime.fast_monitoring)
        p0 = plan.p0
        if last < p0:
            return  # nothing of this period observed yet
        rows = slice(p0, last + 1)
        e = est[rows]
        sched = self.monitoring_schedule(plan, last)
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
            self._orderly_restriction(plan, t, last, proj, r[:-1])
        # quarterly fast estimates early in the period are judged with a wider tolerance
        tol = early_tolerance(
            last - p0 + 1, v["monitoring.early_tolerance"] * m.regime.fast_monitoring
        )
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
            self._apply_steering(t, steering)
        if m.regime.packages:
            suggested = [
                package_key(STATUS_CODES[s], w)
                for s, w in zip(status[:-1], warning[:-1], strict=True)
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
            self.switch_packages(t, m.governor.choose_packages(view))

    def _apply_steering(self, t: int, st: Steering) -> None:
        """Set the steering surcharge (event ``steering`` when it changes)."""
        m = self.model
        if st.surcharge != m.steering_surcharge:
            m.events.add(t, "steering", amount=st.required_mt, value=st.surcharge,
                         detail="surcharge on key firms set from the projected gap to the aim")  # fmt: skip
        m.steering_surcharge = st.surcharge

    def _orderly_restriction(
        self, plan: PeriodPlan, t: int, last: int, proj: float, r: np.ndarray
    ) -> None:
        """Under a cap, when the projected five-year total exceeds the budget, the
        province restricts the key firms of the cities over their own schedule
        (all cities if none is) in proportion to the projected excess (over the
        budget less ``monitoring.cap_safety`` of it) over the
        quarters left, at most ``monitoring.cap_restriction_max`` of their output;
        the restriction is lifted when the projection is back within the budget."""
        m = self.model
        left = plan.end_t - last
        gap = proj - (1.0 - m.sc["monitoring.cap_safety"]) * plan.budget_ref.sum()
        if left <= 0 or gap <= 0:
            m.campaign_restriction[:] = 0.0
            return
        who = r > 1.0
        if not who.any():
            who[:] = True
        f = m.firms
        key = f.by_city(np.where(f.active, f.Qp * f.I, 0.0))
        share = gap / (left / 4) / max(float(key[who].sum()), 1e-9)
        new = np.where(who, min(share, m.sc["monitoring.cap_restriction_max"]), 0.0)
        started = np.flatnonzero((new > 0) & (m.campaign_restriction == 0))
        m.campaign_restriction[:] = new
        m.events.add_many(t, "orderly_restriction", started, amount=np.full(started.size, gap),
                          value=new[started], detail="projected five-year total above the budget")  # fmt: skip

    def monitoring_schedule(self, plan: PeriodPlan, last: int) -> np.ndarray:
        """Scheduled budget of the period's quarters up to ``last`` as monitoring
        counts it (quarters x cities): the recorded schedule, plus in every
        accounted year the quota the city bought (+) or sold (-) and minus what
        the annual account carried into later years' targets (a surplus banked,
        a deficit re-spread or repaid), so an accounted year counts as settled
        by what was done about it, and a purchase eases the status that follows."""
        sched = self.model.schedule[plan.p0 : last + 1].copy()
        k = (np.arange(plan.p0, last + 1) - plan.p0) // 4
        done = ~np.isnan(plan.accounted[0, k])
        sched[done] += (plan.traded[:, k[done]] - plan.settled[:, k[done]]).T / 4
        return sched

    def switch_packages(self, t: int, keys: list[str]) -> None:
        """Cities switch to the packages ``keys`` (one event per switch)."""
        m = self.model
        unknown = [k for k in keys if k not in ALL_KEYS]
        if unknown:
            raise ValueError(
                f"governor: unknown package {unknown[0]!r} (known: {', '.join(ALL_KEYS)})"
            )
        new = np.array([ALL_KEYS.index(k) for k in keys])
        for c in np.flatnonzero(new != m.city_package):
            m.events.add(
                t,
                "package_switch",
                int(c),
                detail=f"{ALL_KEYS[m.city_package[c]]} -> {ALL_KEYS[new[c]]}",
            )
        m.set_packages(new)

    # =========================================================== majors ==
    def handle_major(
        self,
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
        m = self.model
        if plan is None or not m.assessing(plan):
            m.events.add(
                t, "major_project_approved", city, firm, amount=e, detail="no carbon assessment"
            )
            return
        k0 = plan.year_index(online_t)
        years = np.arange(max(k0, 0), plan.years)
        frac = np.ones(years.size)
        if years.size and k0 >= 0:
            frac[0] = (
                1.0 - (online_t - plan.p0 - 4 * k0) / 4.0
            )  # part of the first year in operation
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

    # ==================================================== annual account ==
    def annual_account(self, plan: PeriodPlan, t: int) -> None:
        """Annual final account [年度决算] with the best data available, then
        trading and the adjustment of the remaining years' targets."""
        m = self.model
        v = m.sc.values
        k = plan.year_index(t)
        yi = t // 4
        self.rebase_to_official(plan, t)
        est, last = m.stats.known(t, use_fast=m.regime.fast_monitoring)
        q = est[4 * yi : 4 * yi + 4]
        avail = ~np.isnan(q)
        n_av = avail.sum(axis=0)
        mean_q = np.divide(
            np.where(avail, q, 0).sum(axis=0), n_av, out=np.zeros(m.C), where=n_av > 0
        )
        A = np.where(avail, q, mean_q[None, :]).sum(axis=0)
        if (n_av == 0).any():  # nothing of this year known: extrapolate the last known year
            ly = max(last // 4 - (0 if (last % 4) == 3 else 1), 0)
            ext = est[4 * ly : 4 * ly + 4].sum(axis=0) * (1 + plan.trend) ** (yi - ly)
            A = np.where(n_av == 0, ext, A)
        gdp_q = m.stats.gdp[4 * yi : 4 * yi + 4]
        gdp_y = gdp_q.sum(axis=0)
        held = self.year_target(plan, k, gdp_q)
        plan.held_to[:, k] = held
        plan.accounted[:, k] = A
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
        self._adjustment_requests(plan, t, k, held - A, gdp_y)
        # dynamic adjustment of the remaining years: the rule suggests, the governor decides
        rule = v["accounts.rule"] if m.regime.adjustment else "fixed"
        ctx = AdjustmentContext(
            v["accounts.bank_rate"], v["accounts.borrow_cap"], v["accounts.adjust_threshold"]
        )
        T = plan.T.copy()
        T[:, k] = held
        if rule == "rebase":
            ctx.reforecast = self._reforecast(plan, k, gdp_y)
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
            proposal[:, 0] = np.maximum(proposal[:, 0] - repay, 0.05 * planned[:, 0])
            lo[:, 0] = np.minimum(lo[:, 0], proposal[:, 0])
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
        self.apply_account_decision(pending, m.governor.annual(view))

    def _adjustment_requests(self, plan: PeriodPlan, t: int, k: int, position: np.ndarray,
                             gdp_y: np.ndarray) -> None:  # fmt: skip
        """Cities in deficit ask for more room for the remaining years and state
        why (event ``adjustment_request``); the province's adjustment rule
        then decides (event ``adjustment``)."""
        m = self.model
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

    def apply_account_decision(self, p: PendingAccount, d: AccountDecision) -> None:
        """Apply the governor's annual decision: the change of each city's
        remaining targets (the rule's proposal where the governor follows it,
        else the remaining years rescaled to the chosen total within the
        adjustment cap), listed quota granted from the reserve of the remaining
        years, and packages held until the next account."""
        m = self.model
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
            actual = new.sum(axis=1) - plan.T[:, k + 1 :].sum(axis=1)
            plan.T[:, k + 1 :] = new
            plan.settled[:, k] = actual
            # listed quota from the reserve of the remaining years, pro rata to what each year holds
            res = plan.reserve[k + 1 :]
            grant = min(float(listed.sum()), float(res.sum()))
            if grant > 0:
                per_city = listed * (grant / listed.sum())
                w = res / res.sum()
                plan.grant_listed(np.arange(k + 1, plan.years), per_city[:, None] * w[None, :],
                                  grant * w)  # fmt: skip
                got = np.flatnonzero(per_city > 0)
                m.events.add_many(t, "listed_quota_granted", got, amount=per_city[got],
                                  detail="granted from the reserve at the annual account")  # fmt: skip
            plan.I_path[:, k + 1 :] = plan.T[:, k + 1 :] / plan.gdp_forecast[:, k + 1 :]
        else:
            actual = np.zeros(C)
        changed = np.flatnonzero(np.abs(actual) > 1e-9)
        plan.n_adjustments += int(changed.size)
        plan.adjustment_volume += float(np.abs(actual).sum())
        m.adjust_log.append((plan.index, k, actual.copy(), p.breach))
        held, A = view.held_to, view.accounted
        m.events.add_many(t, "adjustment", changed, amount=actual[changed], value=(held - A)[changed],
                          detail=f"{p.rule}: remaining targets changed")  # fmt: skip
        m.governor.decided(view, d)  # as taken (replaying it reproduces the same arithmetic)
        if any(d.packages) and m.regime.packages:
            self.switch_packages(t, [pk or cur for pk, cur in
                                     zip(d.packages, (ALL_KEYS[i] for i in m.city_package), strict=True)])  # fmt: skip
        retarget_firms(m, plan, t + 1)  # the cities re-target their firms

    def rebase_to_official(self, plan: PeriodPlan, t: int) -> None:
        """Re-base the plan on the official base year [以官方基年数据校准] once it is
        published: the centre's targets are stated on the official statistics,
        while the plan was prepared on the province's own (stale, estimated)
        base year.  With ``f`` = official / estimated base-year emissions, the
        reference plan (``T_ref``, ``reserve_ref``, ``budget_ref``) of the
        remaining years is scaled by ``f`` (intensity mode: the binding target is
        the final year's intensity); in total and dual mode the remaining years
        also absorb ``(f - 1) x`` the reference of the years already run, so the
        period total becomes ``f x`` the planned one.  Each remaining year's
        target and reserve move by the change of their reference, so listed
        quota and past adjustments stand as they were."""
        m = self.model
        y = plan.base_year_idx
        if plan.rebased or m.stats.published_at[y] > t:
            return
        plan.rebased = True
        plan.rebased_t = t
        f = float(np.nansum(m.stats.official[y]) / plan.E_base.sum())
        plan.rebase_factor = f
        k = plan.year_index(t)  # the year being accounted: its target stands
        r = slice(k + 1, plan.years)
        if k + 1 >= plan.years or f == 1.0:
            return
        absorb = plan.mode != "intensity"

        def rebased(a: np.ndarray) -> np.ndarray:
            rest = a[..., r] * f
            tot = rest.sum(axis=-1, keepdims=True)
            extra = (f - 1.0) * a[..., : k + 1].sum(axis=-1, keepdims=True) if absorb else 0.0
            ok = tot > 0
            scale = np.divide(np.clip(tot + extra, 0.05 * tot, None), tot, out=np.ones_like(tot),
                              where=ok)  # fmt: skip
            return rest * scale

        before = plan.T[:, r].sum()
        new_T = rebased(plan.T_ref)
        plan.T[:, r] = np.clip(plan.T[:, r] + new_T - plan.T_ref[:, r], 0.05 * new_T, None)
        plan.T_ref[:, r] = new_T
        new_res = rebased(plan.reserve_ref)
        plan.reserve[r] = np.clip(plan.reserve[r] + new_res - plan.reserve_ref[r], 0.0, None)
        plan.reserve_ref[r] = new_res
        plan.budget_ref[r] = rebased(plan.budget_ref)
        plan.I_path[:, r] = plan.T[:, r] / plan.gdp_forecast[:, r]
        m.events.add(t, "plan_rebased", amount=float(plan.T[:, r].sum() - before), value=f,
                     detail="remaining targets re-based on the published official base year")  # fmt: skip

    def year_target(self, plan: PeriodPlan, k: int, gdp_q: np.ndarray) -> np.ndarray:
        """What a city is held to in plan year k (``gdp_q``: the year's four
        quarters of GDP): the sum of the year's scheduled budget, the same rule
        as monitoring uses, plus the trades of that year."""
        return plan.scheduled(k, gdp_q).sum(axis=0) + plan.traded[:, k]

    def _reforecast(self, plan: PeriodPlan, k: int, gdp_y: np.ndarray) -> np.ndarray:
        """Rebase: the remaining years re-forecast from current information —
        observed GDP grown at the expectation, times the original intensity path
        (intensity/dual), or the original cap path rescaled so the period total
        absorbs the deviation so far (total)."""
        g = self.model.sc["macro.gdp_growth_expectation"]
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
            scale = np.divide(
                np.clip(left, 0.05 * tot, None), tot, out=np.ones(self.model.C), where=tot > 0
            )
            cap = plan.T_ref.copy()
            cap[:, k + 1 :] = rest * scale[:, None]
            out = cap if plan.mode == "total" else np.minimum(out, cap)
        return out

    # ====================================================== campaign =====
    def campaign(self, plan: PeriodPlan, t: int) -> None:
        """Traditional regime [首尾为重]: when the gap becomes visible in the
        official statistics near the end of the period, an emergency campaign
        of production restrictions sized to close it in the quarters left."""
        m = self.model
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
        for y in years[years > ly]:
            proj = proj + E_ly * (1 + plan.trend) ** (y - ly)
        # projected GDP for the intensity check uses the fast GDP accounts
        gdp_final = m.stats.gdp[t - 4 : t].sum(axis=0) * (1 + m.sc["macro.gdp_growth_expectation"])
        allowed_final = plan.I_path[:, -1] * gdp_final
        E_final = E_ly * (1 + plan.trend) ** (years[-1] - ly)
        if plan.mode == "intensity":
            gap_annual = E_final - allowed_final
        elif plan.mode == "total":
            gap_annual = (proj - plan.T.sum(axis=1)) / max(left / 4, 0.25)
        else:
            gap_annual = np.maximum(
                E_final - allowed_final, (proj - plan.T.sum(axis=1)) / max(left / 4, 0.25)
            )
        key = m.firms.by_city(np.where(m.firms.active, m.firms.Qp * m.firms.I, 0.0))
        need = np.clip(gap_annual, 0, None) / np.where(key > 0, key, 1.0)
        r = np.minimum(need, v["regime.campaign_max_restriction"])
        new = np.flatnonzero((r > 0) & (m.campaign_restriction == 0))
        m.campaign_restriction[:] = np.where(r > 0, np.maximum(r, m.campaign_restriction), 0.0)
        m.events.add_many(t, "campaign", new, amount=gap_annual[new], value=r[new],
                          detail="emergency production restriction sized to the visible gap")  # fmt: skip
