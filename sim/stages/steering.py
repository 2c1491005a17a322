"""Calibrated responses of the budget regime (issue 8, docs/ODD.md 8.4 and 10.1).

Functions the monitoring and warning stage calls (:func:`sim.stages.warning.monitor`); the
parameters are rows of the one table (sim/params.py):

* :func:`early_tolerance`: monitoring judges a city's cumulative time-progress
  ratio with a tolerance that shrinks as the quarters observed in the period
  accumulate (``monitoring.early_tolerance`` / sqrt(quarters observed)), so one
  noisy or mis-allocated early quarter does not trigger packages whose
  instruments (phase-out, replacement, pricing) cut emissions for good.
* :func:`steer`: closed-loop steering of the remaining budget.  On monitoring
  dates near the period's end (``steering.years`` for the intensity target,
  ``steering.cap_years`` for a cap) the province projects its binding outcome
  (:func:`projection`, :func:`official_trend`) and sets the smallest uniform
  surcharge on key firms' carbon price (:func:`surcharge_for`,
  :func:`abatement_at`) whose abatement closes the gap to its aim; the model
  adds it to every key firm's price (``CarbonBudgetModel.steering_surcharge``).
  When even ``steering.max_surcharge`` leaves part of a gap it can reach (or,
  under a cap, no abatement can arrive in time and the cap itself is projected
  to be breached), the province withholds a share of every key firm's output (the last resort,
  :func:`restriction_share`, at most ``steering.max_restriction``;
  ``CarbonBudgetModel.steering_restriction``), re-sized on each date.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.agents.firms import mac_share


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
    x = mac_share(price + surcharge, scale, x_max)
    return float((np.clip(x - have, 0.0, None) * base_e).sum())


@dataclass
class Steering:
    """One steering decision (a monitoring date in the steering window)."""

    required_mt: float  # reduction still needed below the aim (< 0: room left)
    surcharge: float  # CNY/t the province adds to every key firm's carbon price
    relax: bool  # the province is projected below its aim by more than the band
    restriction: float = 0.0  # share of key firms' output withheld (the last resort)


def projection(level_q: float, growth: float, n_left: int, pending_mt: float,
               lag: int) -> np.ndarray:  # fmt: skip
    """Province's emissions of the ``n_left`` quarters still to come (Mt per
    quarter): the last known quarter's ``level_q`` grown at ``growth`` per year,
    less the abatement already decided (``pending_mt`` Mt/yr) from the quarter it
    takes effect (``lag`` quarters on)."""
    j = np.arange(1, n_left + 1)
    out = level_q * (1.0 + growth) ** (j / 4)
    return out - np.where(j > lag, pending_mt / 4, 0.0)


def official_trend(official: np.ndarray, gdp_q: np.ndarray, n_published: int, clip: float,
                   added: np.ndarray | None = None,
                   added_gdp: np.ndarray | None = None) -> float:  # fmt: skip
    """Yearly change of the province's carbon intensity between its last two
    published official years (official emissions over the GDP accounts'
    ``gdp_q``, quarters x cities), clipped to +-``clip``; 0 with fewer than two.
    ``added`` (Mt per year of the run) is added to each year's official
    emissions first, and ``added_gdp`` (bn CNY per year) to its GDP: the
    abatement and closures in effect that year and the output the province's
    own restriction withheld, so the trend is the one without them (they are
    one-off steps the projection counts on its own, or that the province may
    lift, not a rate that goes on)."""
    if n_published < 2 or clip <= 0:
        return 0.0
    y1, y0 = n_published - 1, n_published - 2
    g1, g0 = gdp_q[4 * y1 : 4 * y1 + 4].sum(), gdp_q[4 * y0 : 4 * y0 + 4].sum()
    a, b = np.nansum(official[y1]), np.nansum(official[y0])
    if added is not None:
        a, b = a + added[y1], b + added[y0]
    if added_gdp is not None:
        g1, g0 = g1 + added_gdp[y1], g0 + added_gdp[y0]
    if b <= 0 or g1 <= 0 or g0 <= 0:
        return 0.0
    return float(np.clip((a / g1) / (b / g0) - 1.0, -clip, clip))


def blended_growth(latest: float, expected: float, weight: float) -> float:
    """GDP growth the projection uses: the latest year-on-year growth weighted
    ``weight`` against the plan's ``expected`` growth (a year of boom or slump
    tends to revert)."""
    return expected + weight * (latest - expected)


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
    once per gap: later dates count the abatement already decided.  When the
    surcharge is at its largest and part of a need it can reach is left (under a
    cap also where no abatement can arrive in time, against a projected breach
    of the cap itself), the province restricts key firms' output by the share that closes it (at most
    ``steering.max_restriction``; the projection adds back what its own
    restriction withheld, so the share is re-sized, not compounded).  Projected
    below the aim by more than ``steering.relax_band``, the province relaxes:
    no city runs an overrun package."""
    v = model.sc.values
    # the window of each control: a cap sums the whole period, an intensity target is
    # the final year's
    from_t = plan.end_t + 1 - 4 * np.array([v["steering.cap_years"], v["steering.years"]])
    on_cap = plan.mode in ("total", "dual") and v["steering.cap_years"] > 0 and t >= from_t[0]
    on_int = plan.mode in ("intensity", "dual") and v["steering.years"] > 0 and t >= from_t[1]
    if not (on_cap or on_int) or last < 7:
        return None
    f = model.firms
    s = f.sector
    lag = max(int(v["abatement.lag_quarters"]), 0)
    base_e = f.baseline_emissions()
    have = f.x_done + f.x_pending
    # abatement and closures taking effect per quarter (the project ledger, Mt/yr)
    rec = model.q
    done = (rec["abatement_mt"] + rec["phase_out_mt"]).sum(axis=1)
    # abatement decided but not yet done, plus what was done or closed after the last
    # known quarter (in the ledger, not yet in the estimates)
    pending = float((f.x_pending * base_e).sum() + done[last + 1 : t + 1].sum())
    scale, x_max = f.sp.mac_scale[s], f.sp.mac_max[s]
    price = model.firm_price
    prov = np.nansum(est[: last + 1], axis=1)
    n_left = plan.end_t - last
    st = model.stats
    n_pub = int(np.sum(st.published_at <= t))
    # emissions grow with the GDP accounts' latest year-on-year growth (weighted with the
    # expected growth) times the official statistics' latest intensity change
    gdp = st.gdp.sum(axis=1)
    # growth and level as they would be without the province's own restriction (it may lift it)
    gdp_u = gdp + model.steering_withheld_gdp
    g4, g_prev = float(gdp_u[last - 3 : last + 1].sum()), float(gdp_u[last - 7 : last - 3].sum())
    gg = float(np.clip(g4 / g_prev - 1.0, -0.1, 0.15)) if g_prev > 0 else 0.0
    gg = blended_growth(gg, v["macro.gdp_growth_expectation"], v["steering.growth_weight"])
    # the official trend without the abatement and closures in effect each year (the
    # ledger's quarterly additions summed into what each year had), and without the
    # output the province's own restriction withheld (emissions and GDP)
    added = np.cumsum(done).reshape(-1, 4).sum(axis=1) / 4
    added += model.steering_withheld_mt.reshape(-1, 4).sum(axis=1)
    withheld_gdp = model.steering_withheld_gdp.reshape(-1, 4).sum(axis=1)
    i_tr = official_trend(
        st.official, st.gdp, n_pub, v["steering.growth_clip"], added, withheld_gdp
    )
    g = (1.0 + gg) * (1.0 + i_tr) - 1.0
    # level: the last four known quarters, each with the abatement and closures done
    # since it (from the ledger), so one quarter's estimate error counts a quarter
    w = np.arange(last - 3, last + 1)
    after = np.array([done[q + 1 : last + 1].sum() for q in w])
    # (and with the output the province's own restriction withheld, which it may lift)
    level = float(np.mean(prov[w] - after / 4 + model.steering_withheld_mt[w]))
    proj = projection(level, g, n_left, pending, lag)
    # Mt and bn CNY the restriction in force withheld after the last known quarter
    unknown_mt = model.steering_withheld_mt[last + 1 : t + 1]
    unknown_gdp = model.steering_withheld_gdp[last + 1 : t + 1]
    safety = v["steering.safety"]
    first = t + 1 + lag  # first quarter a new abatement decision reaches
    need, cover, rel = [], [], []
    if on_cap:
        cap = float(plan.budget_ref.sum())
        # less what the restriction in force withheld in the quarters not yet known
        total = float(prov[plan.p0 : last + 1].sum() + proj.sum() - unknown_mt.sum())
        # receding horizon: close the share of the gap that falls on the coming year
        # now, the rest on later dates with better information
        h = v["steering.cap_horizon"]
        share = min(1.0, h / max(n_left, 1)) if h > 0 else 1.0
        # what the projection cannot tell from noise yet (its error grows with the years ahead)
        band = v["steering.uncertainty"] * n_left / 4 * cap
        need.append((total - (1.0 - safety) * cap - band) * share)
        cover.append(max(plan.end_t - max(first, last + 1) + 1, 0))
        rel.append(need[-1] / cap)
    if on_int:
        fy = np.arange(plan.end_t - 3, plan.end_t + 1)
        e_final = sum(prov[q] if q <= last else proj[q - last - 1] for q in fy)
        gdp_final = sum(
            gdp[q] if q <= last else gdp_u[last] * (1.0 + gg) ** ((q - last) / 4) for q in fy
        )
        in_fy = np.arange(last + 1, t + 1) >= fy[0]
        e_final -= float(unknown_mt[in_fy].sum())
        gdp_final -= float(unknown_gdp[in_fy].sum())
        # the intensity target on the base year as the province knows it (re-based on the
        # official base year once published); in dual mode the cap is steered on its own
        f_base = plan.rebase_factor if plan.rebased else 1.0
        base_i = float(plan.E_base.sum() * f_base / plan.gdp_base.sum())
        target_i = base_i * (1.0 - plan.intensity_target)
        ahead = (plan.end_t - 1.5 - last) / 4  # years from the last known quarter to mid final year
        band = v["steering.uncertainty"] * max(ahead, 0.0) * target_i * gdp_final
        need.append(float(e_final - (1.0 - safety) * target_i * gdp_final - band))
        cover.append(int(np.sum(fy >= max(first, last + 1))))
        rel.append(need[-1] / (target_i * gdp_final))
    # persistence: act on a gap only as far as the previous date saw it too (one date's
    # fast estimate can be several per cent off; the abatement it would buy cannot be undone)
    keys = [k for k, on in (("cap", on_cap), ("intensity", on_int)) if on]
    prev = model.steering_prev or {}
    model.steering_prev = dict(zip(keys, need, strict=True))
    act = [min(n, prev.get(k, 0.0)) for k, n in zip(keys, need, strict=True)]
    # abatement that can reach fewer than steering.min_quarters of the control is not bought
    reach = [c if c >= v["steering.min_quarters"] else 0 for c in cover]
    surcharge = max(
        surcharge_for(n, c, v["steering.max_surcharge"], price, have, base_e, scale, x_max)
        for n, c in zip(act, reach, strict=True)
    )
    # last resort: what even the largest surcharge cannot close is withheld from key
    # firms' output from the next quarter on (orderly restriction), sized afresh each date;
    # it starts once the price is exhausted (under an intensity target not because
    # abatement can no longer arrive in time: a false alarm there costs output for
    # nothing), and once started it runs to the period's end unless no longer needed
    shares = [0.0]
    exhausted = surcharge >= v["steering.max_surcharge"]
    # under a cap every quarter counts: where abatement can no longer arrive in time
    # the price has nothing left to do, so the last resort may start (or start again)
    late_cap = on_cap and reach[keys.index("cap")] == 0
    running = model.steering_restriction > 0
    if v["steering.max_restriction"] > 0 and (exhausted or running or late_cap):
        got = abatement_at(surcharge, price, have, base_e, scale, x_max)
        e_key = float(f.potential_emissions().sum())
        q_key = float(f.potential_output().sum())
        # output withheld cannot be restored: restriction acts only on the part of a gap
        # beyond what the projection cannot tell from noise (steering.restriction_band of
        # the control per year projected ahead)
        rb = v["steering.restriction_band"] * n_left / 4
        for k, n, c in zip(keys, act, reach, strict=True):
            if c == 0 and not running and k != "cap":
                continue
            if k == "cap":
                per = e_key * (plan.end_t - t) / 4
                noise = rb * cap
                if not (running or exhausted):  # a late start only against a breach of the
                    noise += safety * cap  # cap itself (the need's part below it is at most this)
            else:  # withholding output lowers intensity only as far as key firms run above target
                per = (e_key - (1.0 - safety) * target_i * q_key) * int(np.sum(fy > t)) / 4
                noise = rb * target_i * gdp_final
            shares.append(restriction_share(n - got * c / 4 - noise, per))
    restriction = min(max(shares), v["steering.max_restriction"])
    return Steering(max(act), surcharge, max(rel) < -v["steering.relax_band"], restriction)


def restriction_share(left_mt: float, per_share_mt: float) -> float:
    """Share of key firms' output to withhold so that ``left_mt`` (what abatement
    cannot close) is closed, when withholding all of it would close
    ``per_share_mt``; 0 when nothing is left or withholding does not help."""
    if left_mt <= 0 or per_share_mt <= 0:
        return 0.0
    return float(left_mt / per_share_mt)
