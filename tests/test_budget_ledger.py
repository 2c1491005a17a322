"""The budget ledger (sim/budget.py): every move by hand, and no stage writes
the plan's arrays except through the ledger's methods."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from sim.budget import PeriodPlan


def plan(mode: str = "total", years: int = 3) -> PeriodPlan:
    T = np.array([[10.0, 10.0, 10.0], [20.0, 20.0, 20.0]])[:, :years]
    gdp = np.full_like(T, 100.0)
    res = np.full(years, 3.0)
    return PeriodPlan(
        index=0, start_year=2026, years=years, mode=mode, intensity_target=0.1, total_change=0.0,
        binding=True, p0=16, base_year_idx=3, E_base=np.array([10.0, 20.0]), gdp_base=np.full(2, 100.0),
        trend=np.zeros(2), budget=T.sum(axis=0) + res, reserve=res.copy(), reserve_initial=res.copy(),
        gdp_forecast=gdp, T_initial=T.copy(), T=T.copy(), I_path=T / gdp, traded=np.zeros_like(T),
        listed=np.zeros_like(T), held_to=np.full_like(T, np.nan), accounted=np.full_like(T, np.nan),
        settled=np.zeros_like(T), T_ref=T.copy(), reserve_ref=res.copy(), budget_ref=T.sum(axis=0) + res,
    )  # fmt: skip


def test_hold_trade_and_settle_by_hand():
    p = plan()
    p.hold(0, np.array([10.0, 20.0]), np.array([12.0, 15.0]))
    assert p.is_accounted(np.array([0, 1])).tolist() == [True, False]
    held = p.record_trade(0, np.array([2.0, -2.0]))
    assert held.tolist() == [12.0, 18.0] and p.traded[:, 0].tolist() == [2.0, -2.0]
    change = p.settle(0, np.array([[9.0, 9.0], [21.0, 22.0]]))
    assert change.tolist() == [-2.0, 3.0]
    assert p.settled[:, 0].tolist() == [-2.0, 3.0]
    assert p.T[:, 1:].tolist() == [[9.0, 9.0], [21.0, 22.0]]
    np.testing.assert_allclose(p.I_path[:, 1:], p.T[:, 1:] / 100.0)
    assert p.n_adjustments == 2 and p.adjustment_volume == pytest.approx(5.0)


def test_listed_quota_pro_rata_from_the_remaining_reserve():
    p = plan()
    p.reserve[:] = [3.0, 1.0, 3.0]
    got = p.grant_listed_pro_rata(0, np.array([2.0, 6.0]))  # asks 8 of the 4 Mt left in years 1-2
    assert got == pytest.approx(4.0)
    assert p.reserve.tolist() == pytest.approx([3.0, 0.0, 0.0])
    # city 0 gets 1 Mt, city 1 3 Mt, spread 1:3 over years 1 and 2
    np.testing.assert_allclose(p.listed[:, 1:], [[0.25, 0.75], [0.75, 2.25]])
    np.testing.assert_allclose(p.T[:, 1:], [[10.25, 10.75], [20.75, 22.25]])
    assert p.grant_listed_pro_rata(0, np.array([1.0, 0.0])) == 0.0  # nothing left


@pytest.mark.parametrize("mode", ["intensity", "total"])
def test_rebase_by_hand(mode):
    p = plan(mode)
    p.T[0, 2] += 1.0  # an earlier adjustment of city 0's last year stands
    change = p.rebase(t=19, f=1.1)  # accounting year 0: years 1-2 are re-based
    assert p.rebased and p.rebase_factor == 1.1
    # reference of the remaining years x 1.1; total mode also absorbs 0.1 x year 0's reference
    extra = 0.5 if mode == "total" else 0.0  # 0.1 x 10 spread over 2 years (city 0)
    np.testing.assert_allclose(p.T_ref[0, 1:], [11.0 + extra, 11.0 + extra])
    np.testing.assert_allclose(p.T[0, 1:], [11.0 + extra, 12.0 + extra])
    np.testing.assert_allclose(p.reserve[1:], 3.0 * 1.1 + (0.15 if mode == "total" else 0.0))
    # 0.1 x the 60 Mt of years 1-2, plus (total) 0.1 x the 30 Mt of year 0
    assert change == pytest.approx(6.0 + (3.0 if mode == "total" else 0.0))
    assert p.T[:, 0].tolist() == [10.0, 20.0]  # the year being accounted stands
    assert plan(mode).rebase(t=27, f=1.2) is None  # the last year: nothing left to re-base


def _writes_plan(tree: ast.AST) -> list[int]:
    """Lines that assign to an attribute of ``plan`` (or an item of one)."""
    out = []
    for node in ast.walk(tree):
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else [])  # fmt: skip
        for t in targets:
            while isinstance(t, ast.Subscript):
                t = t.value
            if (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                    and t.value.id in ("plan", "p")):  # fmt: skip
                out.append(node.lineno)
    return out


def test_only_the_ledger_writes_the_plan():
    # the model's code (``plan`` in the experiment layer is a sweep plan)
    root = Path(__file__).resolve().parents[1] / "sim"
    files = [*root.glob("*.py"), *(root / "stages").glob("*.py"), *(root / "agents").glob("*.py"),
             *(root / "policies").glob("*.py")]  # fmt: skip
    assert len(files) > 30
    bad = {}
    for f in files:
        if f.name == "budget.py":
            continue
        lines = _writes_plan(ast.parse(f.read_text()))
        if lines:
            bad[str(f.relative_to(root))] = lines
    assert not bad, f"plan arrays written outside sim/budget.py: {bad}"
