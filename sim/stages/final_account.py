"""Five-year final account and management-quality evaluation [碳预算五年决算]
(MODEL.md 4.8; the formulas are in docs/ODD.md 8.11).

**The binding target is the centre's.**  It is fixed from the base year's
official statistics as they are eventually published: true base-year emissions
per city times ``1 + monitoring.stat_error x z``, with ``z`` a standard normal
drawn from the statistics bureau's stream of that year
(:func:`sim.monitoring.official_noise`), and true base-year GDP (the GDP
accounts are accurate): the figure the model's statistics publish for the
base year.  The draw does not depend on the regime, on the statistics lag or on
the fast estimate, so at one seed every regime and monitoring setting is judged
against the same target.  The province plans with its own estimate of the base
year and re-bases its plan to the official figure once it is published
(:meth:`sim.budget.PeriodPlan.rebase`).  Outcomes are true emissions and GDP.

**A period's account uses only that period's data**: warnings, fast estimates
made, trades and events up to the period's last annual account (quarter
``plan.end_t``); nothing of a following period enters.

**Scores.**  Every sub-measure is mapped linearly from a "good" value (100
points) to a "bad" value (0 points) and clipped; reference values and weights
are parameter rows (``evaluation.<dimension>.<measure>.good/.bad/.weight``,
see :func:`evaluation_table`).  Rationality, coordination and capacity are
weighted means of their sub-scores.  Effectiveness is structural: a period
that meets its target scores ``F + (100 - F) x Q``, one that misses it
``F x (1 - min(1, overshoot / overshoot_bad)) x (1 + Q) / 2`` (< F), with ``F``
= ``evaluation.effectiveness.completion_floor`` and ``Q`` the weighted mean of
the effectiveness sub-scores (as a share).  The composite is the weighted mean
of the dimensions (``evaluation.weight_*``); grades follow the national
assessment: excellent >= 90, good 80-90, pass 60-80, fail < 60, and a missed
binding target fails regardless of the score.  Four stage indicators
(``stage_plan``, ``stage_monitoring``, ``stage_regulation``, ``stage_accounts``)
are equal-weight means of the sub-scores of the measures in ``STAGES``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.monitoring import OVERRUN, official_noise
from sim.params import EVALUATION_MEASURES, PARAMS, STAGE_MEASURES

DIMENSIONS = tuple(EVALUATION_MEASURES)
# stage of the seed paper's whole process -> measures scored (equal weights)
STAGES: dict[str, tuple[str, ...]] = {
    "plan": ("base_year_error", "forecast_error_gdp", "plan_error", "feasible_share"),
    "monitoring": ("monitoring_mape", "monitoring_bias_abs", "warning_lead_quarters"),
    "regulation": ("overrun_quarter_share", "gdp_loss_per_mt", "end_loadedness", "policy_volatility",
                   "assessment_share"),
    "accounts": ("account_error", "compliance_dispersion", "deficit_covered_by_trade"),
}  # fmt: skip
GRADES = ((90.0, "excellent"), (80.0, "good"), (60.0, "pass"), (-math.inf, "fail"))
MET_TOLERANCE = 1e-9  # an overshoot at most this counts as meeting the target


@dataclass(frozen=True)
class EvaluationTable:
    """Reference values and weights of the quality evaluation (from parameter rows)."""

    subscores: dict[
        str, list[tuple[str, float, float, float]]
    ]  # dim -> (measure, good, bad, weight)
    refs: dict[str, tuple[float, float]]  # measure -> (good, bad), dimensions and stages
    composite_weights: dict[str, float]
    completion_floor: float
    overshoot_bad: float


def evaluation_table(values: Mapping[str, Any]) -> EvaluationTable:
    """The evaluation's reference values and weights from a scenario's values
    (any mapping holding the ``evaluation.*`` rows)."""
    subs: dict[str, list[tuple[str, float, float, float]]] = {}
    refs: dict[str, tuple[float, float]] = {}
    for dim, rows in EVALUATION_MEASURES.items():
        subs[dim] = []
        for m, *_ in rows:
            key = f"evaluation.{dim}.{m}"
            good, bad = float(values[key + ".good"]), float(values[key + ".bad"])
            if good == bad:
                raise ValueError(f"{key}.good: must differ from {key}.bad (both {good})")
            subs[dim].append((m, good, bad, float(values[key + ".weight"])))
            refs[m] = (good, bad)
        if sum(w for *_, w in subs[dim]) <= 0:
            raise ValueError(f"evaluation.{dim}.*.weight: at least one weight must be positive")
    for m, *_ in STAGE_MEASURES:
        key = f"evaluation.stage.{m}"
        good, bad = float(values[key + ".good"]), float(values[key + ".bad"])
        if good == bad:
            raise ValueError(f"{key}.good: must differ from {key}.bad (both {good})")
        refs[m] = (good, bad)
    return EvaluationTable(
        subs, refs, {d: float(values[f"evaluation.weight_{d}"]) for d in DIMENSIONS},
        float(values["evaluation.effectiveness.completion_floor"]),
        float(values["evaluation.effectiveness.overshoot.bad"]),
    )  # fmt: skip


DEFAULT_TABLE = evaluation_table({k: p.default for k, p in PARAMS.items()})
# the default sub-scores (dimension -> [(measure, good, bad, weight)]), as documented
SUBSCORES = DEFAULT_TABLE.subscores


def ramp(x: float | None, good: float, bad: float) -> float:
    """100 at ``good``, 0 at ``bad``, linear between, clipped; NaN counts as 0."""
    if x is None or not np.isfinite(x):
        return 0.0
    return float(np.clip(100.0 * (x - bad) / (good - bad), 0.0, 100.0))


def grade(composite: float, target_met: bool, binding: bool) -> str:
    if binding and not target_met:
        return "fail"
    for lo, g in GRADES:
        if composite >= lo:
            return g
    return "fail"


def effectiveness_score(met: bool, overshoot: float, quality: float, floor: float,
                        overshoot_bad: float) -> float:  # fmt: skip
    """Effectiveness from completion and the other sub-scores' weighted mean
    ``quality`` (0-100): ``floor + (100 - floor) x q`` if the target is met,
    ``floor x (1 - min(1, overshoot / overshoot_bad)) x (1 + q) / 2`` if not
    (q = quality / 100), so every miss scores below every run that meets it."""
    q = quality / 100.0
    if met:
        return floor + (100.0 - floor) * q
    return floor * (1.0 - min(1.0, max(overshoot, 0.0) / overshoot_bad)) * (1.0 + q) / 2.0


def evaluate(
    measures: Mapping[str, float], table: EvaluationTable = DEFAULT_TABLE
) -> dict[str, float]:
    """Dimension scores, composite and stage indicators from measures (pure;
    hand-checkable).  Effectiveness needs ``target_met`` and ``overshoot``."""
    out: dict[str, float] = {}
    for dim, subs in table.subscores.items():
        total_w = sum(w for *_, w in subs)
        out[dim] = sum(w * ramp(measures[name], good, bad) for name, good, bad, w in subs) / total_w
    out["effectiveness"] = effectiveness_score(
        measures["target_met"] >= 0.5, measures["overshoot"], out["effectiveness"],
        table.completion_floor, table.overshoot_bad,
    )  # fmt: skip
    cw = table.composite_weights
    out["composite"] = sum(cw[d] * out[d] for d in DIMENSIONS) / sum(cw.values())
    for stage, names in STAGES.items():
        out[f"stage_{stage}"] = float(np.mean([ramp(measures[n], *table.refs[n]) for n in names]))
    return out


def _div(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


@dataclass(frozen=True)
class CentralTarget:
    """The centre's binding target of one period, from official base-year statistics."""

    base_city_mt: np.ndarray  # official base-year emissions per city
    gdp_base_city: np.ndarray  # base-year GDP per city (bn CNY)
    base_mt: float
    base_intensity: float  # Mt per bn CNY
    target_intensity: float  # final-year intensity the target allows
    cap_path: np.ndarray  # Mt per plan year: base x (1 + total_change)^(k / years)
    cap_mt: float  # period total the cap allows


def official_base(
    seed: int, base_year_idx: int, true_base: np.ndarray, stat_error: float
) -> np.ndarray:
    """Base-year emissions per city as the official statistics publish them
    (:func:`sim.monitoring.official_noise`: the same figure the model's
    statistics publish, whatever the regime or monitoring setting)."""
    return true_base * (1.0 + stat_error * official_noise(seed, base_year_idx, true_base.size))


def central_target(model, plan) -> CentralTarget:
    """The centre's target of ``plan``'s period (see the module docstring)."""
    st = model.stats
    b0 = 4 * plan.base_year_idx
    E_b = official_base(int(model.seed), plan.base_year_idx, st.emissions[b0 : b0 + 4].sum(axis=0),
                        float(model.sc["monitoring.stat_error"]))  # fmt: skip
    G_b = st.gdp[b0 : b0 + 4].sum(axis=0)
    base = float(E_b.sum())
    I0 = base / float(G_b.sum())
    k = np.arange(1, plan.years + 1)
    cap_path = base * (1.0 + plan.total_change) ** (k / plan.years)
    return CentralTarget(E_b, G_b, base, I0, I0 * (1.0 - plan.intensity_target), cap_path,
                         float(cap_path.sum()))  # fmt: skip


def _period_events(model, kinds: tuple[str, ...], t0: int, t1: int) -> list[dict[str, np.ndarray]]:
    """Event chunks of the given kinds logged in quarters t0..t1 (column arrays)."""
    return model.events.chunks(kinds, t0, t1)


def _assessment_share(model, t0: int, t1: int) -> float:
    """Share of proposed (non-major) project emissions of quarters t0..t1 decided
    by an enforced carbon assessment: rejected, or approved after passing it."""
    enforced = total = 0.0
    kinds = ("project_approved", "project_rejected", "project_refused")
    for ch in _period_events(model, kinds, t0, t1):
        e = float(np.nansum(ch["amount"]))
        total += e
        d = ch["detail"][0]
        if (
            ch["kind"][0] == "project_rejected"
            or d == "carbon assessment passed"
            or (ch["kind"][0] == "project_refused" and d.endswith("refusal enforced"))
        ):
            enforced += e
    return enforced / total if total > 0 else 1.0


def _fast_error(st, q0: int, q1: int, t_end: int) -> tuple[np.ndarray, float, float]:
    """MAPE per city, MAPE and mean bias of the fast estimates of quarters
    q0 <= q < q1 made by the end of quarter ``t_end`` (NaN where none)."""
    fast = st.fast[q0:q1]
    truth = st.emissions[q0:q1]
    ok = ~np.isnan(fast) & (st.fast_made_at[q0:q1] >= 0) & (st.fast_made_at[q0:q1] <= t_end)
    err = np.where(ok, (fast - truth) / np.where(ok & (truth != 0), truth, 1.0), np.nan)
    if not ok.any():
        return np.full(truth.shape[1], np.nan), float("nan"), float("nan")
    with warnings.catch_warnings():  # cities without estimates give NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return (
            np.nanmean(np.abs(err), axis=0),
            float(np.nanmean(np.abs(err))),
            float(np.nanmean(err)),
        )


def final_account(model, plan, cf=None) -> dict[str, Any]:
    """The five-year final account of one plan period (flat measures + per city),
    from the period's data up to its last annual account (quarter ``plan.end_t``)."""
    v = model.sc.values
    st = model.stats
    q0, q1 = plan.p0, plan.end_t + 1
    t_end = plan.end_t
    E = st.emissions[q0:q1]
    G = st.gdp[q0:q1]
    E_y = E.reshape(plan.years, 4, -1).sum(axis=1)  # years x cities
    G_y = G.reshape(plan.years, 4, -1).sum(axis=1)
    ct = central_target(model, plan)
    # completion against the centre's target
    I_final = float(E_y[-1].sum() / G_y[-1].sum())
    achieved = 1.0 - I_final / ct.base_intensity
    total = float(E_y.sum())
    over_int = max(0.0, I_final / ct.target_intensity - 1.0)
    over_tot = max(0.0, total / ct.cap_mt - 1.0)
    margin_int = max(0.0, 1.0 - I_final / ct.target_intensity)
    margin_tot = max(0.0, 1.0 - total / ct.cap_mt)
    if plan.mode == "intensity":
        overshoot, overachievement = over_int, margin_int
    elif plan.mode == "total":
        overshoot, overachievement = over_tot, margin_tot
    else:  # dual: the larger miss; the slack left on the tighter control
        overshoot, overachievement = max(over_int, over_tot), min(margin_int, margin_tot)
    int_met = over_int <= MET_TOLERANCE
    tot_met = over_tot <= MET_TOLERANCE
    target_met = overshoot <= MET_TOLERANCE
    budget = float(plan.budget.sum())  # the province's own (internal) budget
    held = plan.held_to  # cities x years, what each year was held to (after trades)
    # cities
    city_total = E_y.sum(axis=0)
    city_held = np.nansum(held, axis=1)
    compliance = city_total / city_held
    city_initial = plan.T_initial.sum(axis=1)
    city_int = 1.0 - (E_y[-1] / G_y[-1]) / (ct.base_city_mt / ct.gdp_base_city)
    city_target_int = 1.0 - plan.I_path[:, -1] / (plan.E_base / plan.gdp_base)
    # counterfactual comparisons
    if cf is not None:
        loss_q = (cf.gdp[q0:q1] - G).sum(axis=1)  # bn CNY per quarter
        abate_q = (cf.emissions[q0:q1] - E).sum(axis=1)
        gdp_loss = float(loss_q.sum())
        abatement = float(abate_q.sum())
        lq = np.clip(loss_q, 0, None)
        aq = np.clip(abate_q, 0, None)
        end_gdp = _div(lq[-4:].sum(), lq.sum())
        end_ab = _div(aq[-4:].sum(), aq.sum())
    else:
        gdp_loss = abatement = end_gdp = end_ab = float("nan")
    rq = model.q
    if cf is not None:
        parts = [x for x in (end_gdp, end_ab) if np.isfinite(x)]
    else:  # without the counterfactual: from the losses and abatement the run itself records
        rl_ = rq["restriction_gdp_loss"][q0:q1].sum(axis=1)
        ab_ = rq["abatement_mt"][q0:q1].sum(axis=1)
        parts = [_div(x[-4:].sum(), x.sum()) for x in (rl_, ab_) if x.sum() > 0]
    # nothing to spread: count as an even spread (one year in the period's years)
    end_all = float(np.mean(parts)) if parts else 1.0 / plan.years
    fiscal = float(rq["fiscal_cost"][q0:q1].sum())
    revenue = float(rq["pricing_revenue"][q0:q1].sum())
    restr_loss = float(rq["restriction_gdp_loss"][q0:q1].sum())
    abatement_cost = float(rq["abatement_cost"][q0:q1].sum())
    rl = rq["restriction_gdp_loss"][q0:q1].sum(axis=1)
    end_restr = _div(rl[-4:].sum(), rl.sum())
    status = model.q_status[q0:q1]
    switches = int((np.diff(model.q_package[q0:q1], axis=0) != 0).sum())
    # warning lead time: city-years over their target in truth (the target during the
    # year, before the annual account's trades), quarters between the first warning
    # (up to the period's last account) and the official publication
    leads = []
    during = held - plan.traded
    for k in range(plan.years):
        yi = plan.p0 // 4 + k
        pub = 4 * yi + 3 + st.stat_lag
        for c in np.flatnonzero(E_y[k] > during[:, k]):
            w = np.flatnonzero(model.q_warning[4 * yi : min(pub, t_end + 1), c] > 0)
            leads.append(float(pub - (4 * yi + w[0])) if w.size else 0.0)
    fast_on = model.regime.fast_monitoring
    mape_city, mape, bias = _fast_error(st, q0, q1, t_end)
    trades = [tr for tr in model.trade_log if q0 <= tr[0] <= t_end]
    volume = float(sum(tr[1] for tr in trades))
    deficit = float(np.nansum(np.clip(plan.accounted - (held - plan.traded), 0, None)))
    reserve_init = float(plan.reserve_initial.sum())
    listed = float(plan.listed.sum())
    reserve_used = _div(listed, reserve_init) if reserve_init > 0 else 0.0
    ab_mt = abatement if cf is not None else float(rq["abatement_mt"][q0:q1].sum() / 4)
    acc = plan.accounted
    with warnings.catch_warnings():  # years not (yet) accounted are NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        account_error = (
            float(np.nanmean(np.abs(acc - E_y.T) / E_y.T))
            if np.isfinite(acc).any()
            else float("nan")
        )
    gdp_plan = float(plan.gdp_forecast.sum())
    tol = v["evaluation.rationality.feasible_tolerance"]
    table = evaluation_table(v)
    measures: dict[str, float] = {
        "intensity_target": plan.intensity_target,
        "intensity_reduction": float(achieved),
        "intensity_met": float(int_met),
        "total_emissions_mt": total,
        "central_base_mt": ct.base_mt,
        "central_base_intensity": ct.base_intensity,
        "central_target_intensity": ct.target_intensity,
        "final_intensity": I_final,
        "central_cap_mt": ct.cap_mt,
        "total_budget_mt": budget,
        "total_met": float(tot_met),
        "target_met": float(target_met),
        "overshoot": overshoot,
        "overshoot_intensity": over_int,
        "overshoot_total": over_tot,
        "overachievement": overachievement,
        "overshoot_vs_held": max(0.0, total / float(np.nansum(held)) - 1.0),
        "overshoot_vs_budget": max(0.0, total / budget - 1.0),
        "gdp_total_bn": float(G.sum()),
        "gdp_loss_bn": gdp_loss,
        "gdp_loss_share": _div(gdp_loss, float(cf.gdp[q0:q1].sum()))
        if cf is not None
        else float("nan"),
        "abatement_mt": abatement,
        "restriction_gdp_loss_bn": restr_loss,
        "fiscal_cost_bn": fiscal,
        "abatement_cost_bn": abatement_cost,
        # what meeting the target cost the economy: output withheld plus abatement (the
        # fiscal cost is the cities' share of the abatement cost, inside it)
        "policy_cost_bn": restr_loss + abatement_cost,
        "pricing_revenue_bn": revenue,
        "gdp_loss_per_mt": _div(gdp_loss, ab_mt)
        if (cf is not None and ab_mt > 0)
        else (0.0 if cf is not None else float("nan")),
        "fiscal_cost_per_mt": _div(fiscal, ab_mt) if ab_mt > 0 else 0.0,
        "end_loadedness_gdp": end_gdp,
        "end_loadedness_abatement": end_ab,
        "end_loadedness_restriction": end_restr,
        "end_loadedness": end_all,
        "policy_volatility": _div(switches, model.C * plan.years),
        "overrun_quarter_share": float((status == OVERRUN).mean()),
        "plan_error": abs(total - budget) / budget,
        "forecast_error_gdp": abs(float(G_y.sum()) - gdp_plan) / gdp_plan,
        "allocation_dispersion": float(np.std(city_total / city_initial)),
        "feasible_share": float(np.mean(city_total <= city_initial * (1.0 + tol))),
        "base_year_error": abs(float(plan.E_base.sum()) - ct.base_mt) / ct.base_mt,
        "adjustment_size": plan.adjustment_volume / budget,
        "adjustments_per_city_year": plan.n_adjustments / (model.C * plan.years),
        "compliance_dispersion": float(np.std(compliance)),
        "compliant_share": float(np.mean(compliance <= 1.0 + 1e-9)),
        "trade_volume_mt": volume,
        "trade_gains_bn": float(sum(tr[3] + tr[4] for tr in trades)),
        "deficit_covered_by_trade": min(1.0, _div(volume, deficit)) if deficit > 0 else 1.0,
        "reserve_initial_mt": reserve_init,
        "listed_quota_mt": listed,
        "reserve_use": reserve_used,
        "assessment_share": _assessment_share(model, q0, t_end),
        "monitoring_mape": mape if fast_on else float("nan"),
        "monitoring_bias": bias if fast_on else float("nan"),
        "monitoring_bias_abs": abs(bias) if fast_on else float("nan"),
        # no city-year overran: nothing to warn of, the lead time counts as good
        "warning_lead_quarters": float(np.mean(leads))
        if leads
        else table.refs["warning_lead_quarters"][0],
        "account_error": account_error,
        "n_adjustments": float(plan.n_adjustments),
        "package_switches": float(switches),
    }
    scores = evaluate(measures, table)
    measures.update({f"stage_{s}": scores[f"stage_{s}"] for s in STAGES})
    cities = [
        {"city": name, "emissions_mt": float(city_total[c]), "held_to_mt": float(city_held[c]),
         "initial_allocation_mt": float(city_initial[c]), "compliance_ratio": float(compliance[c]),
         "intensity_reduction": float(city_int[c]), "intensity_target": float(city_target_int[c]),
         "compliant": bool(compliance[c] <= 1.0 + 1e-9),
         "monitoring_mape": float(mape_city[c]) if fast_on else float("nan")}
        for c, name in enumerate(model.sc.city_names)
    ]  # fmt: skip
    return {
        "period": plan.index,
        "start_year": plan.start_year,
        "end_year": plan.start_year + plan.years - 1,
        "mode": plan.mode,
        "regime": model.regime.name,
        "binding": plan.binding,
        "target_met": bool(target_met),
        "dimensions": {d: scores[d] for d in DIMENSIONS},
        "composite": scores["composite"],
        "grade": grade(scores["composite"], bool(target_met), plan.binding),
        "measures": measures,
        "cities": cities,
    }
