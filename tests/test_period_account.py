"""A period's account uses only that period's data (issue 8, point 6): the
2026-2030 account is the same whether or not the run continues into 2031-2035."""

from __future__ import annotations

import math

import pytest

from sim import load_scenario, run


def _same(a, b) -> bool:
    return (math.isnan(a) and math.isnan(b)) if isinstance(a, float) and math.isnan(a) else a == b


@pytest.mark.parametrize("seed", [1, 2])
def test_first_period_account_is_the_same_in_default_and_chained(seed):
    one = run(load_scenario("default"), seed).final_accounts[0]
    two = run(load_scenario("chained"), seed).final_accounts[0]
    assert (one["start_year"], one["end_year"]) == (two["start_year"], two["end_year"])
    moved = [k for k in one["measures"] if not _same(one["measures"][k], two["measures"][k])]
    assert not moved, {k: (one["measures"][k], two["measures"][k]) for k in moved}
    assert one["dimensions"] == two["dimensions"]
    assert one["composite"] == two["composite"] and one["grade"] == two["grade"]
    for c1, c2 in zip(one["cities"], two["cities"], strict=True):
        assert all(_same(c1[k], c2[k]) for k in c1), (c1, c2)
