"""Annual adjustment rules [逐年调整] (MODEL.md 4.6) on hand-computed arrays,
and the model-level meaning of the ``fixed`` rule."""

from __future__ import annotations

import numpy as np
import pytest

from sim import load_scenario
from sim.model import CarbonBudgetModel
from sim.policies.adjustment import RULES, AdjustmentContext

# 3 cities x 4 years; year k = 1 has just been accounted
TARGETS = np.array(
    [
        [10.0, 10.0, 10.0, 10.0],
        [20.0, 20.0, 20.0, 20.0],
        [5.0, 4.0, 3.0, 2.0],
    ]
)
K = 1
# deviation target - accounted: +2 (surplus), -3 (deficit), -0.5 (deficit)
ACCOUNTED = np.array([8.0, 23.0, 4.5])


def ctx(**kw) -> AdjustmentContext:
    base = {"bank_rate": 0.5, "borrow_cap": 0.1, "adjust_threshold": 0.1}
    base.update(kw)
    return AdjustmentContext(**base)


def test_fixed_never_changes_a_target():
    out = RULES["fixed"](TARGETS, K, ACCOUNTED, ctx())
    np.testing.assert_array_equal(out.targets, TARGETS)
    np.testing.assert_array_equal(out.change, [0.0, 0.0, 0.0])
    # the uncovered deficit is the breach: max(0, accounted - target) = [0, 3, 0.5]
    np.testing.assert_array_equal(out.breach, [0.0, 3.0, 0.5])
    assert out.targets is not TARGETS  # a copy, the input is untouched


def test_carryover_banks_surplus_and_borrows_up_to_the_cap():
    out = RULES["carryover"](TARGETS, K, ACCOUNTED, ctx(bank_rate=0.5, borrow_cap=0.1))
    # banked = 0.5 * max(dev, 0) = [1, 0, 0]
    np.testing.assert_allclose(out.banked, [1.0, 0.0, 0.0])
    # borrowed = min(deficit, 0.1 * next target) = min([0, 3, 0.5], [1, 2, 0.3]) = [0, 2, 0.3]
    np.testing.assert_allclose(out.borrowed, [0.0, 2.0, 0.3])
    # the rest of the deficit is breach: [0, 3 - 2, 0.5 - 0.3] = [0, 1, 0.2]
    np.testing.assert_allclose(out.breach, [0.0, 1.0, 0.2])
    # next year's target: [10 + 1, 20 - 2, 3 - 0.3]; later years untouched
    expected = TARGETS.copy()
    expected[:, 2] = [11.0, 18.0, 2.7]
    np.testing.assert_allclose(out.targets, expected, rtol=1e-15)
    np.testing.assert_allclose(out.change, [1.0, -2.0, -0.3])


def test_carryover_borrows_the_whole_deficit_when_under_the_cap_and_nothing_when_cap_zero():
    acc = np.array([10.0, 20.5, 4.0])  # deficits [0, 0.5, 0]
    out = RULES["carryover"](TARGETS, K, acc, ctx(borrow_cap=0.1))  # cap for city 1: 2.0
    assert out.borrowed[1] == 0.5 and out.breach[1] == 0.0
    assert out.targets[1, 2] == 19.5
    out0 = RULES["carryover"](TARGETS, K, acc, ctx(borrow_cap=0.0, bank_rate=0.0))
    np.testing.assert_array_equal(out0.targets, TARGETS)  # no banking, no borrowing
    np.testing.assert_array_equal(out0.breach, [0.0, 0.5, 0.0])


def test_carryover_in_the_last_year_has_nowhere_to_bank_or_borrow():
    last = TARGETS.shape[1] - 1
    acc = np.array([8.0, 23.0, 2.5])  # deviations +2, -3, -0.5 against [10, 20, 2]
    out = RULES["carryover"](TARGETS, last, acc, ctx())
    np.testing.assert_array_equal(out.targets, TARGETS)
    np.testing.assert_array_equal(out.breach, [0.0, 3.0, 0.5])
    np.testing.assert_array_equal(out.change, [0.0, 0.0, 0.0])


@pytest.mark.parametrize("borrow_cap", [0.0, 0.01, 0.1, 0.5])
def test_carryover_never_borrows_beyond_the_cap(borrow_cap):
    rng = np.random.default_rng(3)
    targets = rng.uniform(1, 10, (6, 5))
    for k in range(4):
        acc = targets[:, k] * rng.uniform(0.7, 1.3, 6)
        out = RULES["carryover"](targets, k, acc, ctx(borrow_cap=borrow_cap, bank_rate=1.0))
        deficit = np.clip(acc - targets[:, k], 0, None)
        assert np.all(out.borrowed <= borrow_cap * targets[:, k + 1] + 1e-12)
        np.testing.assert_allclose(out.borrowed + out.breach, deficit, rtol=1e-12, atol=1e-12)
        assert np.all(out.breach >= 0)
        # the next year falls by at most the cap
        assert np.all(out.targets[:, k + 1] >= (1 - borrow_cap) * targets[:, k + 1] - 1e-12)


def test_threshold_respreads_only_beyond_the_threshold():
    # threshold 0.125: |dev| / target = [2/10 = 0.2, 3/20 = 0.15, 0.5/4 = 0.125]
    # -> cities 0 and 1 are re-spread, city 2 sits exactly at the threshold and is not
    out = RULES["threshold"](TARGETS, K, ACCOUNTED, ctx(adjust_threshold=0.125))
    expected = TARGETS.copy()
    # city 0: remaining 10 + 10 = 20, + deviation 2 = 22, proportional -> [11, 11]
    expected[0, 2:] = [11.0, 11.0]
    # city 1: remaining 40 - 3 = 37 -> [18.5, 18.5]
    expected[1, 2:] = [18.5, 18.5]
    np.testing.assert_allclose(out.targets, expected, rtol=1e-15)
    np.testing.assert_allclose(out.change, [2.0, -3.0, 0.0])
    np.testing.assert_array_equal(out.breach, [0.0, 3.0, 0.5])


def test_threshold_respreads_in_proportion_to_remaining_targets():
    # city 2 with threshold 0.1: 0.125 > 0.1 -> remaining [3, 2] (sum 5) becomes 5 - 0.5 = 4.5,
    # scale 0.9 -> [2.7, 1.8]
    out = RULES["threshold"](TARGETS, K, ACCOUNTED, ctx(adjust_threshold=0.1))
    np.testing.assert_allclose(out.targets[2, 2:], [2.7, 1.8], rtol=1e-15)
    # the re-spread total is remaining + deviation for every re-spread city
    dev = TARGETS[:, K] - ACCOUNTED
    np.testing.assert_allclose(out.targets[:, 2:].sum(axis=1), TARGETS[:, 2:].sum(axis=1) + dev)
    # proportions of the remaining years are kept
    np.testing.assert_allclose(out.targets[2, 2] / out.targets[2, 3], 3.0 / 2.0)


def test_threshold_never_cuts_below_five_percent_of_the_plan():
    acc = np.array([10.0, 60.0, 4.0])  # city 1: deficit 40 > remaining 40
    out = RULES["threshold"](TARGETS, K, acc, ctx(adjust_threshold=0.1))
    # new remaining = max(40 - 40, 0.05 * 40) = 2 -> [1, 1]
    np.testing.assert_allclose(out.targets[1, 2:], [1.0, 1.0])
    np.testing.assert_allclose(out.change[1], -38.0)


def test_threshold_in_the_last_year_changes_nothing():
    out = RULES["threshold"](TARGETS, 3, np.array([1.0, 1.0, 1.0]), ctx())
    np.testing.assert_array_equal(out.targets, TARGETS)
    np.testing.assert_array_equal(out.change, 0.0)


def test_rebase_takes_the_reforecast_for_years_after_k():
    reforecast = np.full_like(TARGETS, 7.0)
    out = RULES["rebase"](TARGETS, K, ACCOUNTED, ctx(reforecast=reforecast))
    expected = TARGETS.copy()
    expected[:, 2:] = 7.0  # only the years after k; years 0-1 keep the plan though the
    np.testing.assert_array_equal(out.targets, expected)  # reforecast differs there
    # change = 14 - remaining: [14 - 20, 14 - 40, 14 - 5]
    np.testing.assert_allclose(out.change, [-6.0, -26.0, 9.0])
    np.testing.assert_array_equal(out.breach, [0.0, 3.0, 0.5])


def test_rebase_without_reforecast_raises():
    with pytest.raises(ValueError, match="reforecast"):
        RULES["rebase"](TARGETS, K, ACCOUNTED, ctx())


@pytest.mark.parametrize("rule", sorted(RULES))
def test_no_rule_touches_years_up_to_k(rule):
    rng = np.random.default_rng(11)
    targets = rng.uniform(1, 10, (5, 5))
    for k in range(5):
        acc = targets[:, k] * rng.uniform(0.5, 1.5, 5)
        c = ctx(reforecast=rng.uniform(1, 10, (5, 5)), adjust_threshold=0.01)
        before = targets.copy()
        out = RULES[rule](targets, k, acc, c)
        np.testing.assert_array_equal(out.targets[:, : k + 1], targets[:, : k + 1])
        np.testing.assert_array_equal(targets, before)  # input never mutated
        # change is what happened to the remaining years
        np.testing.assert_allclose(
            out.change, out.targets[:, k + 1 :].sum(axis=1) - targets[:, k + 1 :].sum(axis=1),
            atol=1e-12,
        )  # fmt: skip


# ------------------------------------------------------------ model level --


@pytest.mark.parametrize("seed", [1, 2])
def test_fixed_rule_keeps_the_plan_except_listed_quota(seed, rebased_reference):
    # without breach repayment (which takes from later targets; tests/test_calibrated_response.py)
    sc = load_scenario(
        "default",
        {
            "accounts.rule": "fixed",
            "projects.strategic_prob": 1.0,
            "accounts.breach_repayment": 0.0,
        },
    )
    m = CarbonBudgetModel(sc, seed, firm_agents=False)
    m.run_model()
    p = m.plans[0]
    assert p.listed.sum() > 0  # listed quota was granted, so the exception is exercised
    # the plan moves only by listed quota and the documented re-basing on the official
    # base year (T_ref: the initial plan re-based)
    assert rebased_reference(m, p) >= 0
    np.testing.assert_allclose(p.T, p.T_ref + p.listed, rtol=1e-12, atol=0)
    assert p.n_adjustments == 0 and p.adjustment_volume == 0.0
    for _, _, change, _ in m.adjust_log:
        np.testing.assert_array_equal(change, 0.0)


def test_threshold_rule_does_change_the_plan():
    # the counterpart of the test above: the default rule moves future targets
    sc = load_scenario("default", {"accounts.rule": "threshold"})
    m = CarbonBudgetModel(sc, 1, firm_agents=False)
    m.run_model()
    p = m.plans[0]
    assert p.n_adjustments > 0
    assert not np.allclose(p.T, p.T_initial + p.listed, rtol=1e-6)
    # and never the first year, which is accounted before any adjustment can reach it
    np.testing.assert_allclose(p.T[:, 0], p.T_initial[:, 0] + p.listed[:, 0], rtol=1e-12)


@pytest.mark.parametrize("seed", [1, 3])
def test_carryover_rule_in_the_model_moves_only_the_next_year(seed, rebased_reference):
    sc = load_scenario(
        "default",
        {
            "accounts.rule": "carryover",
            "accounts.borrow_cap": 0.01,
            "accounts.breach_repayment": 0.0,
        },
    )
    m = CarbonBudgetModel(sc, seed, firm_agents=False)
    m.run_model()
    p = m.plans[0]
    log = {k: (change, breach) for _, k, change, breach in m.adjust_log}
    assert sorted(log) == [0, 1, 2, 3, 4]
    # year j's target = (re-based) initial allocation + listed quota + what year j-1
    # banked or borrowed
    assert rebased_reference(m, p) >= 0
    np.testing.assert_allclose(p.T[:, 0], p.T_ref[:, 0] + p.listed[:, 0], rtol=1e-12)
    for j in range(1, 5):
        np.testing.assert_allclose(
            p.T[:, j], p.T_ref[:, j] + p.listed[:, j] + log[j - 1][0], rtol=1e-12
        )
    np.testing.assert_array_equal(log[4][0], 0.0)  # nothing to carry beyond the period
    changes = np.array([log[k][0] for k in range(4)])
    assert (changes > 0).any() and (changes < 0).any()  # both banking and borrowing happen
    # borrowing never exceeds 1 % of the next year's target; deficits beyond it are breaches
    for k in range(4):
        change, breach = log[k]
        deficit = np.clip(p.accounted[:, k] - p.held_to[:, k], 0, None)
        borrowed = np.clip(-change, 0, None)
        assert np.all(borrowed <= 0.01 * (p.T[:, k + 1] - change) + 1e-9)
        np.testing.assert_allclose(breach + borrowed, deficit, atol=1e-9)
