"""The replaceable governor: every province decision goes through it, the
rule-based one reproduces the rules, a deferring one lets a person decide
between quarters, and a recorded game replays exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.model import CarbonBudgetModel
from sim.policies.governor import AccountDecision, RuleBasedGovernor, ScriptedGovernor
from sim.runner import collect


def _run(sc, seed, governor):
    m = CarbonBudgetModel(sc, seed, governor=governor)
    while not m.done:
        m.step()
        if m.pending is not None:
            m.decide()
    return m


def _frames_equal(a, b):
    ra, rb = collect(a), collect(b)
    for f in ("quarterly", "annual", "events"):
        pd.testing.assert_frame_equal(getattr(ra, f), getattr(rb, f), check_exact=True)


def test_scripted_without_choices_and_deferred_equal_rule_based(tiny):
    base = _run(tiny, 3, RuleBasedGovernor())
    _frames_equal(base, _run(tiny, 3, ScriptedGovernor()))
    _frames_equal(base, _run(tiny, 3, ScriptedGovernor(defer=True)))


def test_deferring_governor_pauses_after_each_annual_account(tiny):
    m = CarbonBudgetModel(tiny, 1, governor=ScriptedGovernor(defer=True))
    paused = []
    while not m.done:
        m.step()
        if m.pending is not None:
            paused.append(m.pending.view.year)
            with pytest.raises(ValueError, match="waits for a decision"):
                m.step()
            m.decide()
    p = tiny.periods[0]
    assert paused == list(range(p["start_year"], p["end_year"] + 1))
    with pytest.raises(ValueError, match="no annual account"):
        m.decide()


def _play_first_account(sc, seed, decide):
    m = CarbonBudgetModel(sc, seed, governor=ScriptedGovernor(defer=True))
    while m.pending is None:
        m.step()
    plan = m.plan
    view = m.pending.view
    before = plan.T.copy(), plan.reserve.copy(), plan.listed.copy()
    m.decide(decide(view))
    return m, plan, view, before


def test_own_change_rescales_remaining_targets(tiny):
    def dec(view):
        change = view.suggested_change.copy()
        change[0] = -0.02 * view.held_to[0]  # tighten city 0 by 2 % of a year's target
        return AccountDecision(change, np.zeros(3), (None,) * 3)

    m, plan, view, (T0, _, _) = _play_first_account(tiny, 2, dec)
    k = view.plan_year
    rest0 = T0[0, k + 1 :]
    want = rest0.sum() - 0.02 * view.held_to[0]
    np.testing.assert_allclose(plan.T[0, k + 1 :].sum(), want, rtol=1e-12)
    # pro rata: the shape of the remaining years is kept
    np.testing.assert_allclose(plan.T[0, k + 1 :] / rest0, want / rest0.sum(), rtol=1e-12)
    ev = collect(m).events
    adj = ev[(ev.kind == "adjustment") & (ev.city == tiny.city_names[0])]
    assert len(adj) == 1 and adj.amount.iloc[0] == pytest.approx(-0.02 * view.held_to[0])


def test_change_beyond_the_cap_is_clipped(tiny):
    def dec(view):
        change = view.suggested_change.copy()
        change[1] = 1e6
        return AccountDecision(change, np.zeros(3), (None,) * 3)

    m, plan, view, (T0, _, _) = _play_first_account(tiny, 2, dec)
    k = view.plan_year
    planned = plan.T_initial[1, k + 1 :] + plan.listed[1, k + 1 :]
    cap = tiny["accounts.adjust_cap"]
    np.testing.assert_allclose(plan.T[1, k + 1 :], planned * (1 + cap), rtol=1e-12)


def test_listed_grant_moves_reserve_to_city_and_conserves_quota(tiny):
    def dec(view):
        listed = np.array([0.0, 0.5 * view.reserve_left, 0.0])
        return AccountDecision(view.suggested_change.copy(), listed, (None,) * 3)

    m, plan, view, (T0, R0, L0) = _play_first_account(tiny, 4, dec)
    k = view.plan_year
    got = plan.listed[1, k + 1 :].sum() - L0[1, k + 1 :].sum()
    assert got == pytest.approx(0.5 * view.reserve_left, rel=1e-12)
    assert plan.reserve[k + 1 :].sum() == pytest.approx(0.5 * view.reserve_left, rel=1e-12)
    # quota + reserve per remaining year unchanged apart from the rule's own adjustment
    adj = (
        plan.T[:, k + 1 :].sum(axis=0)
        - plan.listed[:, k + 1 :].sum(axis=0)
        + L0[:, k + 1 :].sum(axis=0)
    )
    np.testing.assert_allclose(
        adj - T0[:, k + 1 :].sum(axis=0),
        (plan.T - T0)[:, k + 1 :].sum(axis=0) - (plan.listed - L0)[:, k + 1 :].sum(axis=0),
        atol=1e-9,
    )
    np.testing.assert_allclose(
        plan.T[:, k + 1 :].sum(axis=0)
        + plan.reserve[k + 1 :]
        - (T0[:, k + 1 :].sum(axis=0) + R0[k + 1 :]),
        (plan.T - T0)[:, k + 1 :].sum(axis=0) - (plan.listed - L0)[:, k + 1 :].sum(axis=0),
        atol=1e-9,
    )


def test_held_package_stays_until_next_account(tiny):
    m = CarbonBudgetModel(tiny, 5, governor=ScriptedGovernor(defer=True))
    while m.pending is None:
        m.step()
    year = m.pending.view.year
    m.decide(AccountDecision(m.pending.view.suggested_change.copy(), np.zeros(3),
                             ("overrun_red", None, None)))  # fmt: skip
    while m.pending is None and not m.done:
        m.step()
        assert m.cities[0].package == "overrun_red", m.t
    assert m.pending is not None and m.pending.view.year == year + 1


def test_recorded_game_replays_exactly(tiny):
    gov = ScriptedGovernor(defer=True)
    m = CarbonBudgetModel(tiny, 6, governor=gov)
    n = 0
    while not m.done:
        m.step()
        if m.pending is not None:
            v = m.pending.view
            change = v.suggested_change.copy()
            change[n % 3] -= 0.01 * v.held_to[n % 3]
            pk: list[str | None] = [None, None, None]
            pk[(n + 1) % 3] = "overrun_orange"
            m.decide(AccountDecision(change, np.array([0.0, 0.0, 0.1 * v.reserve_left]), tuple(pk)))
            n += 1
    replay = _run(tiny, 6, ScriptedGovernor(choices=gov.choices))
    _frames_equal(m, replay)
    assert not collect(m).annual.equals(collect(_run(tiny, 6, RuleBasedGovernor())).annual)


def test_bad_decision_is_refused(tiny):
    m = CarbonBudgetModel(tiny, 1, governor=ScriptedGovernor(defer=True))
    while m.pending is None:
        m.step()
    with pytest.raises(ValueError, match="one change, grant and package per city"):
        m.decide(AccountDecision(np.zeros(2), np.zeros(3), (None,) * 3))
