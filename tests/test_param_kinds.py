"""The world/policy tags of the parameter table: a parameter tagged "policy"
never changes the no-policy counterfactual (regime ``none``), so sweeps may
reuse one counterfactual per replicate seed across design rows that vary only
policy parameters; reusing it gives the same result as recomputing it."""

from __future__ import annotations

import numpy as np
import pytest

from sim import run
from sim.params import PARAMS, RECORD_FIELDS
from sim.runner import run_counterfactual


def _other_value(p):
    """An in-bounds value different from the default (or None if there is none)."""
    if p.choices is not None:
        others = [c for c in p.choices if c != p.default]
        return others[0] if others else None
    if p.type is bool:
        return not p.default
    if p.type is str:
        return p.default + " x"
    lo = p.low if p.low is not None else p.default - 1
    hi = p.high if p.high is not None else p.default + 1
    for frac in (0.37, 0.61, 0.05):
        x = p.default + frac * ((hi if p.default < hi else lo) - p.default)
        x = round(x) if p.type is int else x
        if x != p.default and lo <= x <= hi:
            return x
    return None


POLICY = [n for n, p in PARAMS.items() if p.kind == "policy"]


@pytest.fixture(scope="module")
def base_cf(tiny):
    return run_counterfactual(tiny, seed=5)


@pytest.mark.parametrize("name", POLICY)
def test_policy_parameter_leaves_counterfactual_unchanged(tiny, base_cf, name):
    value = _other_value(PARAMS[name])
    if value is None:
        pytest.skip("no other in-bounds value")
    try:
        sc = tiny.with_overrides({name: value})
    except ValueError:
        pytest.skip("this value alone is inconsistent (e.g. weights must sum to 1)")
    cf = run_counterfactual(sc, seed=5)
    np.testing.assert_array_equal(cf.gdp, base_cf.gdp)
    np.testing.assert_array_equal(cf.emissions, base_cf.emissions)


@pytest.mark.parametrize(
    ("section", "field"),
    [
        (s, f)
        for s, fs in RECORD_FIELDS.items()
        if s in ("cities", "periods")
        for f, p in fs.items()
        if p.kind == "policy" and f != "name"
    ],
)
def test_policy_record_field_leaves_counterfactual_unchanged(tiny, base_cf, section, field):
    value = _other_value(RECORD_FIELDS[section][field])
    sc = tiny.with_overrides({f"{section}.0.{field}": value})
    cf = run_counterfactual(sc, seed=5)
    np.testing.assert_array_equal(cf.gdp, base_cf.gdp)
    np.testing.assert_array_equal(cf.emissions, base_cf.emissions)


def test_world_parameter_can_change_counterfactual(tiny, base_cf):
    sc = tiny.with_overrides({"macro.sigma": 0.02})
    assert not np.array_equal(run_counterfactual(sc, seed=5).emissions, base_cf.emissions)


def test_reused_counterfactual_gives_identical_measures(tiny):
    cf = run_counterfactual(tiny, seed=3)
    a = run(tiny, seed=3, counterfactual=True).measures()
    b = run(tiny, seed=3, counterfactual=cf).measures()
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == b[k] or (np.isnan(a[k]) and np.isnan(b[k])), k


def test_counterfactual_of_another_seed_is_refused(tiny):
    with pytest.raises(ValueError, match="another seed"):
        run(tiny, seed=4, counterfactual=run_counterfactual(tiny, seed=3))
