"""The quarterly schedule (MODEL.md section 3).

``CarbonBudgetModel`` is a Mesa 3.5 model that can be stepped quarter by
quarter and inspected between steps (the teaching page needs that).  Each
quarter:

1. shocks and the macro cycle;
2. firms: projects and abatement coming online, output growth, yearly
   project proposals;
3. cities: carbon assessment of proposals, major projects, the active policy
   package applied to firms and the diffuse sector; emissions and electricity;
4. statistics: truth recorded, official statistics published when their lag
   has elapsed, fast estimates produced;
5. province: monitoring and early warning on monitoring dates; packages switch;
6. at year end: annual final account, trading, adjustment;
7. at period end the period is closed; the next plan is prepared before the
   first quarter of the next period.

All randomness comes from one seed: ``numpy.random.SeedSequence(seed)``
spawns one stream per process (macro, firms, projects, monitoring, diffuse),
and every stream draws the same numbers whatever the policy does, so regimes
compared at one seed share their random numbers (common random numbers).
"""

from __future__ import annotations

import mesa
import numpy as np

from sim import population
from sim.agents.city import City
from sim.agents.firms import Firm
from sim.agents.province import PendingAccount, Province
from sim.budget import PeriodPlan
from sim.events import EventLog
from sim.monitoring import BALANCE, Statistics
from sim.params import SECTORS
from sim.policies.governor import AccountDecision, Governor, RuleBasedGovernor
from sim.policies.instruments import INSTRUMENT_IDS, city_levers
from sim.policies.packages import ALL_KEYS, OFF, package_table
from sim.policies.regimes import get_regime
from sim.scenario import Scenario, ScenarioError
from sim.stages import regulation
from sim.stages.plan import horizontal_allocation

QUARTER_FIELDS = (
    "gdp", "gdp_firms", "gdp_diffuse", "emissions", "emissions_firms", "emissions_diffuse", "electricity",
    "schedule", "restriction", "restriction_gdp_loss", "phase_out_mt", "retired_output", "abatement_mt", "abatement_cost",
    "fiscal_cost", "pricing_revenue", "effective_price",
)  # fmt: skip
STREAMS = ("macro", "firms", "projects", "monitoring", "diffuse", "decisions")


class CarbonBudgetModel(mesa.Model):
    """Province, cities and firms running the five-year carbon budget cycle."""

    def __init__(self, scenario: Scenario, seed: int = 0, *, regime: str | None = None, firm_agents: bool = False,
                 governor: Governor | None = None) -> None:  # fmt: skip
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            # None would draw fresh entropy: a run that cannot be repeated
            raise ValueError(f"seed: expected a non-negative integer, got {seed!r}"[:120])
        super().__init__(rng=seed)
        self.sc = scenario
        v = scenario.values
        self.seed = seed
        self.regime = get_regime(regime or v["regime.name"])
        self.governor: Governor = governor or RuleBasedGovernor()
        self.streams = {name: np.random.default_rng(s) for name, s in
                        zip(STREAMS, np.random.SeedSequence(seed).spawn(len(STREAMS)), strict=True)}  # fmt: skip
        p = population.build(scenario)
        self.firms = p.firms
        self.diffuse = p.diffuse
        self.major_rows = p.major_rows
        self.C = len(scenario.cities)
        self.first_year = scenario.first_year
        self.T = 4 * (scenario.last_year - self.first_year + 1)
        self.t = 0
        self.macro = 0.0
        caps = np.array([c["monitoring_capacity"] for c in scenario.cities])
        self.stats = Statistics(self.T, self.C, v["monitoring.stat_lag_quarters"], v["monitoring.fast_lag_quarters"],
                                v["monitoring.stat_error"], v["monitoring.fast_noise"] / caps,
                                v["monitoring.trend_correction"], v["monitoring.abatement_ledger"], seed)  # fmt: skip
        self.events = EventLog(self.first_year, scenario.city_names)
        self.enforcement = np.array([c["enforcement"] for c in scenario.cities])
        self.growth_pref = np.array([c["growth_preference"] for c in scenario.cities])
        self.population = np.array([c["population_m"] for c in scenario.cities])
        # agents
        self.province = Province(self)
        self.cities = [City(self, i, rec) for i, rec in enumerate(scenario.cities)]
        # the cities decide through their AgentSet (in creation order = city index)
        self.city_set = self.agents_by_type[City]
        self.behaviours = tuple(c.behaviour.name for c in self.cities)
        self.all_compliant = all(b == "compliant" for b in self.behaviours)
        self.effort = np.ones(self.C)  # share of control instruments each city applies
        self.firm_agents = (
            [Firm(self, self.firms, i) for i in range(self.firms.n)] if firm_agents else []
        )
        # city state (arrays over cities)
        self.city_status = np.full(self.C, BALANCE, dtype=np.int8)
        self.city_warning = np.zeros(self.C, dtype=np.int8)
        self.province_status = BALANCE
        self.city_package = np.full(self.C, ALL_KEYS.index(OFF), dtype=np.int64)
        self.campaign_restriction = np.zeros(self.C)
        # share of the cities' production restriction a campaign year lets through
        # (regime.campaign_max_fall), and Mt the cities' restriction withheld per quarter
        self.restriction_scale = 1.0
        self.restricted_mt = np.zeros(self.T)
        self.steering_surcharge = 0.0  # CNY/t the province adds to key firms' price (steering)
        self.steering_prev: dict[str, float] | None = None  # gaps seen on the last steering date
        self.steering_restriction = 0.0  # share of key firms' output steering withholds
        self.steering_withheld_mt = np.zeros(self.T)  # Mt it withheld per quarter
        self.steering_withheld_gdp = np.zeros(self.T)  # bn CNY of output it withheld per quarter
        self.firm_price = self.firms.sp.base_price[self.firms.sector]
        self.offset_queue = np.zeros(
            self.C
        )  # Mt/yr of outdated capacity still to retire (offset plans)
        self.pending_mt = np.zeros(self.C)  # approved project emissions not yet online
        self.deferred: dict[str, np.ndarray] | None = None  # proposals deferred to next year
        self._pending_batches: dict[int, np.ndarray] = {}
        self._strength = package_table(v)
        self._full = np.array([v[f"instrument.{i}.full"] for i in INSTRUMENT_IDS])
        self.set_packages(self.city_package)
        # plans and records
        self.plans: list[PeriodPlan] = []
        self.plan: PeriodPlan | None = None
        self.annual_status: list[np.ndarray] = []
        self.monitoring_rows: list[tuple] = []
        self.trade_log: list[tuple] = []
        self.adjust_log: list[tuple] = []
        self.q = {f: np.zeros((self.T, self.C)) for f in QUARTER_FIELDS}
        self.q_status = np.full((self.T, self.C), BALANCE, dtype=np.int8)
        self.q_warning = np.zeros((self.T, self.C), dtype=np.int8)
        self.q_package = np.zeros((self.T, self.C), dtype=np.int64)
        self.q_estimate_first = np.full((self.T, self.C), np.nan)
        # key firms by city x sector (quarters x cities x sectors): emissions (Mt), output (bn CNY)
        self.q_sector = {k: np.zeros((self.T, self.C, len(SECTORS))) for k in ("emissions", "gdp")}
        self._period_start = {
            4 * (p["start_year"] - self.first_year): i for i, p in enumerate(scenario.periods)
        }
        self._shocks = self._shock_table()
        self._major_at: dict[int, list[int]] = {}
        for j, mp in enumerate(scenario.major_projects):
            self._major_at.setdefault(
                4 * (mp["year"] - self.first_year) + mp["quarter"] - 1, []
            ).append(j)
        # an annual account waiting for a deferring governor (see model.decide)
        self.pending: PendingAccount | None = None
        self.running = True
        # refuse to step past a pending decision before Mesa's event clock advances
        # (an exception inside Mesa's step event would stop its step schedule)
        self._mesa_step = self.step
        self.step = self._guarded_step  # type: ignore[method-assign]

    def _guarded_step(self) -> None:
        if self.pending is not None:
            raise ValueError(
                f"the annual account of {self.pending.view.year} waits for a decision (model.decide)"
            )
        self._mesa_step()

    # ------------------------------------------------------------ helpers --
    def _shock_table(self) -> np.ndarray:
        """Additive quarterly growth shocks, quarters x (sectors + diffuse)."""
        out = np.zeros((self.T, len(SECTORS) + 1))
        for s in self.sc.shocks:
            t0 = 4 * (s["year"] - self.first_year) + s["quarter"] - 1
            cols = [c.strip() for c in s["sectors"].split(",")]
            idx = list(range(len(SECTORS) + 1)) if "all" in cols else [
                len(SECTORS) if c == "diffuse" else SECTORS.index(c) for c in cols]  # fmt: skip
            out[t0 : min(t0 + s["quarters"], self.T), idx] += s["size"]
        return out

    def set_packages(self, packages: np.ndarray) -> None:
        """Switch the cities' active packages and recompute their instrument levers."""
        self.city_package = np.asarray(packages, dtype=np.int64)
        strength = np.zeros((self.C, len(INSTRUMENT_IDS)))
        on = self.city_package != ALL_KEYS.index(OFF)
        strength[on] = self._strength[self.city_package[on]]
        enf = self.enforcement
        if not self.all_compliant:  # a city's effort scales its package's strengths
            strength = np.clip(strength * self.effort[:, None], 0.0, 1.0)
        self.levers = city_levers(
            strength, enf, self._full, self.sc["abatement.enforcement_penalty"]
        )

    def local_restriction(self, campaign: np.ndarray) -> np.ndarray:
        """Share of each firm's output the cities withhold: the package's production
        restriction on targeted firms, escalated to a campaign's share ``campaign``
        (per city) where that is larger (before ``restriction_scale``)."""
        f = self.firms
        pkg = np.where(f.targeted, self.levers.restriction[f.city], 0.0)
        return np.maximum(pkg, campaign[f.city])

    def city_mac(self) -> np.ndarray:
        """Emission-weighted marginal abatement cost of each city's firms at their
        current abatement level (sellers' reservation price in trading)."""
        f = self.firms
        s = f.sector
        x = np.minimum(f.x_done + f.x_pending, f.sp.mac_max[s] * 0.999)
        mac = f.sp.mac_scale[s] * x / (f.sp.mac_max[s] - x)
        e = f.potential_emissions()
        w = f.by_city(e)
        return np.divide(f.by_city(mac * e), w, out=np.zeros(self.C), where=w > 0)

    def commit_offset_plan(self, city: int, mt: float) -> None:
        """A city commits to retire ``mt`` Mt/yr of outdated capacity in phases
        (an offset plan for a major project without listed quota)."""
        self.offset_queue[city] += mt

    def assessing(self, plan: PeriodPlan | None) -> bool:
        """Whether project proposals go through the carbon assessment now."""
        return plan is not None and self.regime.policy and self.regime.project_assessment

    @property
    def schedule(self) -> np.ndarray:
        """Scheduled budget of every quarter (quarters x cities, Mt; 0 outside plans)."""
        return self.q["schedule"]

    @property
    def year(self) -> int:
        """Calendar year of the next quarter to simulate."""
        return self.first_year + self.t // 4

    @property
    def done(self) -> bool:
        return self.t >= self.T

    def in_plan(self) -> bool:
        return self.plan is not None and self.plan.p0 <= self.t <= self.plan.end_t

    # --------------------------------------------------------------- step --
    def decide(self, decision: AccountDecision | None = None) -> None:
        """Apply the annual decision a deferring governor (a person) has taken on
        ``self.pending`` (None: the rule-based suggestion)."""
        if self.pending is None:
            raise ValueError("no annual account is waiting for a decision")
        p, self.pending = self.pending, None
        self.province.decide_account(p, decision or AccountDecision.suggested(p.view))
        self.q_package[p.t] = self.city_package  # the account's quarter ends with the decision

    def step(self) -> None:
        """Simulate one quarter: the schedule of MODEL.md section 3."""
        if self.t >= self.T:
            self.running = False
            return
        t = self.t
        if t in self._period_start:
            self._start_period(self._period_start[t])
        plan = self.plan if self.in_plan() else None
        if plan is not None and t % 4 == 0 and not self.all_compliant:
            self._city_effort(plan, t)
        self._environment()  # 1. shocks and macro cycle
        abated = self._firms(plan, t)  # 2. firms
        costs = self._cities(plan, t)  # 3. cities
        self._statistics(plan, t, abated, costs)  # 4. statistics
        self._check_economy(t)
        if plan is not None:  # 5.-6. province, stepped through its AgentSet
            self.agents_by_type[Province].do("quarter", plan, t)
        self.q_status[t] = self.city_status
        self.q_warning[t] = self.city_warning
        self.q_package[t] = self.city_package
        self.t += 1
        if self.t >= self.T:
            self.running = False

    def _check_economy(self, t: int) -> None:
        """Refuse a run whose economy has collapsed: a city whose quarterly GDP
        fell to (almost) nothing has no intensity, no statistics to plan from
        and no budget to manage.  Only reachable with extreme macro or shock
        settings (growth factors are clipped at 0); reported as bad input."""
        gdp = self.q["gdp"]
        ok = gdp[t] > 1e-6 * gdp[0]  # False for NaN too
        if not ok.all():
            c = int(np.flatnonzero(~ok)[0])
            raise ScenarioError(
                f"scenario: the economy of city {self.sc.city_names[c]!r} collapsed to zero output "
                f"in {self.first_year + t // 4} Q{t % 4 + 1} (macro.sigma, the cyclicality or "
                "noise parameters or shocks are too extreme for the growth model)"
            )

    def _start_period(self, index: int) -> None:
        """Plan preparation before the first quarter of a period (7. / 4.2)."""
        self.plan = self.province.prepare_plan(index)
        horizontal_allocation(self, self.plan)  # the cities allocate to firms or sectors
        self.plans.append(self.plan)
        self.annual_status.append(np.full((self.C, self.plan.years), BALANCE, dtype=np.int8))
        self.campaign_restriction[:] = 0.0
        self.restriction_scale = 1.0
        self.steering_surcharge = 0.0
        self.steering_prev = None
        self.steering_restriction = 0.0
        if self.regime.packages:
            self.set_packages(np.full(self.C, ALL_KEYS.index("balance")))

    def _city_effort(self, plan: PeriodPlan, t: int) -> None:
        """Each city decides at the start of a year how fully it applies its
        package's control instruments (its behaviour's ``effort``)."""
        k = plan.year_index(t)
        effort = np.array(self.city_set.map("effort", k, plan.years), dtype=float)
        changed = np.flatnonzero(effort != self.effort)
        if changed.size:
            self.events.add_many(t, "city_effort", changed, amount=None, value=effort[changed],
                                 detail=[self.behaviours[c] for c in changed])  # fmt: skip
            self.effort = effort
            self.set_packages(self.city_package)

    def _environment(self) -> None:
        """1. The provincial macro cycle: an AR(1) quarterly growth deviation."""
        v = self.sc.values
        self.macro = (
            v["macro.ar"] * self.macro + v["macro.sigma"] * self.streams["macro"].standard_normal()
        )

    def _firms(self, plan: PeriodPlan | None, t: int) -> np.ndarray:
        """2. Projects and abatement coming online, output growth of firms and
        diffuse sectors, yearly proposals and their assessment.  Returns the
        abatement completed this quarter per firm (Mt/yr)."""
        v = self.sc.values
        f = self.firms
        rs = self.streams
        shock = self._shocks[t]
        f.retired_output[:] = 0.0
        f.retired_emissions[:] = 0.0
        f.retired_electricity[:] = 0.0
        f.complete_capacity(t)
        if t in self._pending_batches:
            self.pending_mt -= self._pending_batches.pop(t)
        abated = f.complete_abatement(t)
        f.grow(self.macro, rs["firms"].standard_normal(f.n), shock[: len(SECTORS)])
        d = self.diffuse
        # the growth factor is clipped at 0 like the firms' (a quarter cannot
        # produce negative output; issue 7)
        d.gdp *= np.maximum(
            1.0
            + v["province.diffuse_growth"] / 4
            + v["province.diffuse_cyclicality"] * self.macro
            + v["province.diffuse_noise"] * rs["diffuse"].standard_normal(self.C)
            + shock[-1],
            0.0,
        )
        d.I *= 1.0 - v["province.diffuse_improvement"] / 4
        d.el *= 1.0 + v["province.diffuse_electrification_drift"] / 4
        if t % 4 == 0:  # yearly proposals: random numbers drawn for every firm every year
            u, z = rs["projects"].random(f.n), rs["projects"].standard_normal(f.n)
            u_block, u_strat = rs["projects"].random(f.n), rs["projects"].random(f.n)
            u_enforce = rs["projects"].random(f.n)
            regulation.project_round(self, plan, t, f.propose(u, z, f.utilisation), u_block,
                                     u_strat, u_enforce)  # fmt: skip
        for j in self._major_at.get(t, []):
            self._scheduled_major(plan, t, j, rs["decisions"].random())
        return abated

    def _cities(self, plan: PeriodPlan | None, t: int) -> dict[str, np.ndarray]:
        """3. Cities apply their active package: phase-out and offset plans,
        production restriction, prices and pressure that drive abatement,
        the diffuse sector's weak response; then this quarter's flows."""
        v = self.sc.values
        f = self.firms
        zero = np.zeros(self.C)
        out = {"cost": zero, "fiscal": zero, "revenue": zero, "price": f.sp.base_price[f.sector]}
        if plan is None or not self.regime.policy:
            f.restriction = np.zeros(f.n)
            f.update_flows()
            return out
        lv = self.levers
        outdated_e = f.by_city(np.where(f.active & f.outdated, f.Qp * f.I, 0.0))
        f.retire_outdated(lv.phase_out_rate / 4 * outdated_e)
        if self.offset_queue.any():  # offset plans retire outdated capacity in phases
            step = np.minimum(self.offset_queue, np.maximum(self.offset_queue / 4, 0.05))
            done = f.retire_outdated(step)
            # what cannot be retired (no outdated capacity left) is dropped from the plan
            self.offset_queue = np.where(done < step - 1e-12, 0.0, self.offset_queue - done)
        c, tg, od = f.city, f.targeted, f.outdated
        surcharge = (
            lv.price["all"][c]
            + np.where(tg, lv.price["targeted"][c], 0)
            + np.where(od, lv.price["outdated"][c], 0)
        )
        pressure = (
            lv.pressure["all"][c]
            + np.where(tg, lv.pressure["targeted"][c] + lv.penalty[c], 0)
            + np.where(od, lv.pressure["outdated"][c], 0)
        )
        # the cities' production restriction: a campaign (or orderly restriction)
        # escalates the packages' restriction to its own share, it does not come on top
        # of it; in a campaign year history bounds both (restriction_scale)
        pe = f.potential_emissions()
        local = self.restriction_scale * self.local_restriction(self.campaign_restriction)
        self.restricted_mt[t] = float((local * pe).sum()) / 4
        f.restriction = np.minimum(local + self.steering_restriction, 0.95)
        if self.steering_restriction > 0:
            share = self.steering_restriction / 4
            self.steering_withheld_mt[t] = share * float(pe.sum())
            self.steering_withheld_gdp[t] = share * float(f.potential_output().sum())
        price = (f.sp.base_price[f.sector] + surcharge + pressure) / (
            1.0 - lv.fiscal_share[c] - lv.cost_share[c]
        )
        self.firm_price = price  # what the packages make firms pay (steering: on top of it)
        price = price + self.steering_surcharge
        annual_cost, _ = f.decide_abatement(price, t + v["abatement.lag_quarters"])
        invest = annual_cost * v["abatement.annuity_years"]
        d_press = lv.price["all"] + lv.pressure["all"]
        self.diffuse.I *= 1.0 - v["province.diffuse_response"] / 4 * d_press / (d_press + 100.0)
        f.update_flows()
        return {
            "cost": f.by_city(invest),
            "fiscal": f.by_city(invest * lv.fiscal_share[c]),
            "revenue": f.by_city(f.emissions * surcharge) * 1e-3,  # Mt x CNY/t -> bn CNY
            "price": price,
        }

    def _statistics(
        self, plan: PeriodPlan | None, t: int, abated: np.ndarray, costs: dict[str, np.ndarray]
    ) -> None:
        """4. Record the quarter's truth, its noisy observation and the scheduled
        budget; publish official statistics and produce fast estimates when due."""
        f = self.firms
        d = self.diffuse
        e_f = f.by_city(f.emissions)
        e_d = d.gdp * d.I / 4
        q_f = f.by_city(f.Q) / 4
        q_d = d.gdp / 4
        el = f.by_city(f.electricity) + d.gdp * d.el / 4
        potential = f.by_city(f.Qp)
        lost = f.by_city(f.Qp * f.restriction)
        rec = self.q
        rec["gdp"][t] = q_f + q_d
        rec["gdp_firms"][t] = q_f
        rec["gdp_diffuse"][t] = q_d
        rec["emissions"][t] = e_f + e_d
        rec["emissions_firms"][t] = e_f
        rec["emissions_diffuse"][t] = e_d
        cs, n = f.city * len(SECTORS) + f.sector, self.C * len(SECTORS)  # by city x sector
        self.q_sector["emissions"][t].flat = np.bincount(cs, weights=f.emissions, minlength=n)
        self.q_sector["gdp"][t].flat = np.bincount(cs, weights=f.Q, minlength=n) / 4
        rec["electricity"][t] = el
        rec["restriction"][t] = np.divide(
            lost, potential, out=np.zeros(self.C), where=potential > 0
        )
        rec["restriction_gdp_loss"][t] = lost / 4
        rec["phase_out_mt"][t] = f.retired_emissions
        rec["retired_output"][t] = f.retired_output
        rec["abatement_mt"][t] = f.by_city(abated)
        rec["abatement_cost"][t] = costs["cost"]
        rec["fiscal_cost"][t] = costs["fiscal"]
        rec["pricing_revenue"][t] = costs["revenue"]
        rec["effective_price"][t] = np.divide(
            f.by_city(f.emissions * costs["price"]), e_f, out=np.zeros(self.C), where=e_f > 0
        )
        mon = self.streams["monitoring"]
        closed = np.stack([f.retired_electricity, f.retired_output, np.zeros(self.C)], axis=1)
        self.stats.record(t, e_f + e_d, el, q_f, q_f + q_d, q_d, mon.standard_normal((self.C, 3)),
                          rec["abatement_mt"][t], f.retired_emissions, closed)  # fmt: skip
        if plan is not None:
            rec["schedule"][t] = plan.scheduled(plan.year_index(t), rec["gdp"][t])
        if self.stats.publish(t) is not None:
            year = self.stats.n_published - 1
            self.events.add(t, "official_statistics", amount=float(np.nansum(self.stats.official[year])),
                            value=float(self.first_year + year), detail="published; fast model refitted")  # fmt: skip
        qf = self.stats.fast_estimate(t)
        if qf is not None:
            self.q_estimate_first[qf] = self.stats.fast[qf]

    # ----------------------------------------------------------- projects --
    def _scheduled_major(self, plan: PeriodPlan | None, t: int, j: int, u: float) -> None:
        mp = self.sc.major_projects[j]
        row = int(self.major_rows[j])
        city = self.sc.city_names.index(mp["city"])
        online = t + max(self.sc["projects.build_lag_quarters"], 1)
        dK = mp["output_bn"] / self.firms.utilisation
        self.province.major_project(plan, t, city, row, mp["emissions_mt"], online, u)
        self.firms.schedule_capacity(online, np.array([row]), np.array([dK]), np.array([self.firms.I[row]]),
                                     np.array([self.firms.el[row]]))  # fmt: skip
        self.pending_mt[city] += mp["emissions_mt"]
        b = self._pending_batches.setdefault(online, np.zeros(self.C))
        b[city] += mp["emissions_mt"]

    def run_model(self) -> None:
        while self.t < self.T:
            self.step()
