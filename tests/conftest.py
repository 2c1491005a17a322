"""Shared fixtures: scenarios are cheap to load; runs of `tiny` are cached per session."""

from __future__ import annotations

import numpy as np
import pytest

from sim import load_scenario, run


@pytest.fixture(scope="session")
def tiny():
    return load_scenario("tiny")


@pytest.fixture(scope="session")
def default():
    return load_scenario("default")


@pytest.fixture(scope="session")
def tiny_run(tiny):
    return run(tiny, seed=7)


@pytest.fixture(scope="session")
def default_run(default):
    return run(default, seed=1)


def _check_rebased_reference(m, p) -> int:
    """Assert that ``p.T_ref``, ``p.reserve_ref`` and ``p.budget_ref`` are the
    initial plan re-based once on the official base year (Province.rebase_to_official)
    at the event ``plan_rebased``; returns the plan year of that account (-1 if none)."""
    ev = m.events.to_frame()
    rb = ev[ev["kind"] == "plan_rebased"]
    y = p.base_year_idx
    f = float(np.nansum(m.stats.official[y]) / p.E_base.sum())
    if rb.empty:
        np.testing.assert_allclose(p.T_ref, p.T_initial, rtol=1e-12)
        return -1
    assert len(rb) == 1 and p.rebased and p.rebase_factor == pytest.approx(f, rel=1e-12)
    k = p.year_index(int(rb["t"].iloc[0]))
    np.testing.assert_allclose(p.T_ref[:, : k + 1], p.T_initial[:, : k + 1], rtol=1e-12)
    for ref, init in ((p.T_ref, p.T_initial), (p.reserve_ref, p.reserve_initial)):
        if p.mode == "intensity":  # the remaining years scaled by f
            np.testing.assert_allclose(ref[..., k + 1 :], f * init[..., k + 1 :], rtol=1e-12)
        else:  # the period total becomes f x the planned one
            np.testing.assert_allclose(ref.sum(axis=-1), f * init.sum(axis=-1), rtol=1e-9)
    return k


@pytest.fixture(scope="session")
def rebased_reference():
    return _check_rebased_reference
