"""Five-year final account and management-quality evaluation [碳预算五年决算]
(MODEL.md 4.8).

Completion is judged on the true emissions (what the final official
statistics will show).  Management quality has the seed paper's four
dimensions, each 0-100: every sub-measure is mapped linearly from a "good"
value (100 points) to a "bad" value (0 points) and clipped, and a dimension is
a weighted mean of its sub-scores.  The formulas, reference values and
weights are in ``SUBSCORES`` below and in docs/ODD.md.  The composite is the
weighted mean of the dimensions (``evaluation.weight_*``); grades follow the
national assessment: excellent >= 90, good 80-90, pass 60-80, fail < 60, and
a missed binding target fails regardless of the score.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.monitoring import OVERRUN

# dimension -> [(measure, good, bad, weight)]; scores are linear between good and bad
SUBSCORES: dict[str, list[tuple[str, float, float, float]]] = {
    "rationality": [
        ("plan_error", 0.0, 0.15, 0.35),  # |emissions - initial budget| / budget
        ("adjustment_size", 0.0, 0.20, 0.20),  # sum |adjustments| / budget
        ("adjustments_per_city_year", 0.0, 1.0, 0.15),
        ("feasible_share", 1.0, 0.0, 0.30),  # cities within 3 % of their initial allocation
    ],
    "effectiveness": [
        ("overshoot", 0.0, 0.10, 0.30),  # max(0, emissions / held-to budget - 1)
        ("overrun_quarter_share", 0.0, 0.5, 0.15),
        ("gdp_loss_per_mt", 0.0, 2.0, 0.20),  # bn CNY per Mt abated (2.0 = 2,000 CNY/t)
        ("end_loadedness", 0.2, 0.8, 0.25),  # 0.2 = evenly spread over five years
        ("policy_volatility", 0.0, 1.0, 0.10),  # package switches per city-year
    ],
    "coordination": [
        ("compliance_dispersion", 0.0, 0.20, 0.35),  # s.d. of city emissions / held-to budget
        ("compliant_share", 1.0, 0.0, 0.35),
        ("deficit_covered_by_trade", 1.0, 0.0, 0.15),
        ("reserve_use", 0.5, 0.0, 0.15),  # share of the reserve put to use
    ],
    "capacity": [
        ("fiscal_cost_per_mt", 0.0, 0.5, 0.35),  # bn CNY per Mt abated (0.5 = 500 CNY/t)
        ("monitoring_mape", 0.0, 0.15, 0.35),
        ("warning_lead_quarters", 6.0, 0.0, 0.30),
    ],
}
GRADES = ((90.0, "excellent"), (80.0, "good"), (60.0, "pass"), (-math.inf, "fail"))


def ramp(x: float, good: float, bad: float) -> float:
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


def evaluate(measures: dict[str, float], weights: dict[str, float]) -> dict[str, float]:
    """Dimension scores and composite from measures (pure; hand-checkable)."""
    out: dict[str, float] = {}
    for dim, subs in SUBSCORES.items():
        total_w = sum(w for *_, w in subs)
        out[dim] = sum(w * ramp(measures[name], good, bad) for name, good, bad, w in subs) / total_w
    out["composite"] = sum(weights[d] * out[d] for d in SUBSCORES) / sum(weights.values())
    return out


def _div(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


def final_account(model, plan, cf=None) -> dict[str, Any]:
    """The five-year final account of one plan period (flat measures + per city)."""
    v = model.sc.values
    st = model.stats
    q0, q1 = plan.p0, plan.end_t + 1
    b0 = 4 * plan.base_year_idx
    E = st.emissions[q0:q1]
    G = st.gdp[q0:q1]
    E_y = E.reshape(plan.years, 4, -1).sum(axis=1)  # years x cities
    G_y = G.reshape(plan.years, 4, -1).sum(axis=1)
    E_b = st.emissions[b0 : b0 + 4].sum(axis=0)
    G_b = st.gdp[b0 : b0 + 4].sum(axis=0)
    # dual-control completion (province)
    I_base = E_b.sum() / G_b.sum()
    I_final = E_y[-1].sum() / G_y[-1].sum()
    achieved = 1.0 - I_final / I_base
    total = float(E_y.sum())
    budget = float(plan.budget.sum())
    held = plan.held_to  # cities x years, what each year was held to (after trades)
    int_met = achieved >= plan.intensity_target - 1e-9
    tot_met = total <= budget * (1 + 1e-9)
    target_met = {"intensity": int_met, "total": tot_met}.get(plan.mode, int_met and tot_met)
    # cities
    city_total = E_y.sum(axis=0)
    city_held = np.nansum(held, axis=1)
    compliance = city_total / city_held
    city_int = 1.0 - (E_y[-1] / G_y[-1]) / (E_b / G_b)
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
    end_all = float(np.mean(parts)) if parts else 0.2  # nothing to spread: count as even (0.2)
    fiscal = float(rq["fiscal_cost"][q0:q1].sum())
    revenue = float(rq["pricing_revenue"][q0:q1].sum())
    restr_loss = float(rq["restriction_gdp_loss"][q0:q1].sum())
    rl = rq["restriction_gdp_loss"][q0:q1].sum(axis=1)
    end_restr = _div(rl[-4:].sum(), rl.sum())
    status = model.q_status[q0:q1]
    switches = int((np.diff(model.q_package[q0:q1], axis=0) != 0).sum())
    # warning lead time: city-years over target in truth, quarters between the
    # first warning and the official publication of that year
    leads = []
    for k in range(plan.years):
        yi = plan.p0 // 4 + k
        pub = 4 * yi + 3 + st.stat_lag
        for c in np.flatnonzero(E_y[k] > held[:, k]):
            w = np.flatnonzero(model.q_warning[4 * yi : min(pub, model.T), c] > 0)
            leads.append(float(pub - (4 * yi + w[0])) if w.size else 0.0)
    fe = st.fast_error(q0, q1)
    trades = [tr for tr in model.trade_log if q0 <= tr[0] < q1 + 1]
    volume = float(sum(tr[1] for tr in trades))
    deficit = float(np.nansum(np.clip(plan.accounted - (held - plan.traded), 0, None)))
    reserve_init = float(plan.reserve_initial.sum())
    listed = float(plan.listed.sum())
    reserve_used = _div(listed, reserve_init) if reserve_init > 0 else 0.0
    ab_mt = abatement if cf is not None else float(rq["abatement_mt"][q0:q1].sum() / 4)
    measures: dict[str, float] = {
        "intensity_target": plan.intensity_target,
        "intensity_reduction": float(achieved),
        "intensity_met": float(int_met),
        "total_emissions_mt": total,
        "total_budget_mt": budget,
        "total_met": float(tot_met),
        "target_met": float(target_met),
        "overshoot": max(0.0, total / float(np.nansum(held)) - 1.0),
        "overshoot_vs_budget": max(0.0, total / budget - 1.0),
        "gdp_total_bn": float(G.sum()),
        "gdp_loss_bn": gdp_loss,
        "gdp_loss_share": _div(gdp_loss, float(cf.gdp[q0:q1].sum()))
        if cf is not None
        else float("nan"),
        "abatement_mt": abatement,
        "restriction_gdp_loss_bn": restr_loss,
        "fiscal_cost_bn": fiscal,
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
        "adjustment_size": plan.adjustment_volume / budget,
        "adjustments_per_city_year": plan.n_adjustments / (model.C * plan.years),
        "feasible_share": float(np.mean(city_total <= plan.T_initial.sum(axis=1) * 1.03)),
        "compliance_dispersion": float(np.std(compliance)),
        "compliant_share": float(np.mean(compliance <= 1.0 + 1e-9)),
        "trade_volume_mt": volume,
        "trade_gains_bn": float(sum(tr[3] + tr[4] for tr in trades)),
        "deficit_covered_by_trade": min(1.0, _div(volume, deficit)) if deficit > 0 else 1.0,
        "reserve_initial_mt": reserve_init,
        "listed_quota_mt": listed,
        "reserve_use": reserve_used,
        "monitoring_mape": fe["mape"] if model.regime.fast_monitoring else float("nan"),
        "monitoring_bias": fe["bias"] if model.regime.fast_monitoring else float("nan"),
        "warning_lead_quarters": float(np.mean(leads)) if leads else 6.0,
        "n_adjustments": float(plan.n_adjustments),
        "package_switches": float(switches),
    }
    weights = {d: v[f"evaluation.weight_{d}"] for d in SUBSCORES}
    scores = evaluate(measures, weights)
    cities = [
        {"city": name, "emissions_mt": float(city_total[c]), "held_to_mt": float(city_held[c]),
         "initial_allocation_mt": float(plan.T_initial[c].sum()), "compliance_ratio": float(compliance[c]),
         "intensity_reduction": float(city_int[c]), "intensity_target": float(city_target_int[c]),
         "compliant": bool(compliance[c] <= 1.0 + 1e-9),
         "monitoring_mape": float(fe["mape_city"][c]) if model.regime.fast_monitoring else float("nan")}
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
        "dimensions": {d: scores[d] for d in SUBSCORES},
        "composite": scores["composite"],
        "grade": grade(scores["composite"], bool(target_met), plan.binding),
        "measures": measures,
        "cities": cities,
    }
