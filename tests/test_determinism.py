"""Reproducibility (MODEL.md section 6): one seed gives identical results in
process and across processes with different hash seeds; different seeds differ."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim import load_scenario, run

ROOT = Path(__file__).resolve().parents[1]
FRAMES = ("quarterly", "annual", "events", "monitoring")


def _same(a: Any, b: Any, path: str = "") -> None:
    """Deep equality where NaN equals NaN (final accounts hold NaN measures)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), path
    else:
        assert a == b and type(a) is type(b), path


def _hash(df: pd.DataFrame) -> int:
    return int(pd.util.hash_pandas_object(df, index=True).sum())


@pytest.fixture(scope="module")
def pair(tiny):
    return run(tiny, seed=11), run(tiny, seed=11)


@pytest.mark.parametrize("frame", FRAMES)
def test_same_seed_identical_frames(pair, frame):
    a, b = pair
    assert len(getattr(a, frame)) > 0
    pd.testing.assert_frame_equal(getattr(a, frame), getattr(b, frame), check_exact=True)


def test_same_seed_identical_final_account(pair):
    a, b = pair
    assert len(a.final_accounts) == 1
    _same(a.final_accounts, b.final_accounts)
    _same(a.measures(), b.measures())


def test_session_fixture_matches_a_fresh_run(tiny, tiny_run):
    """The cached run is not mutated by other tests and a fresh run reproduces it."""
    fresh = run(tiny, seed=7)
    for frame in FRAMES:
        pd.testing.assert_frame_equal(getattr(fresh, frame), getattr(tiny_run, frame))
    _same(fresh.final_account, tiny_run.final_account)


def test_chained_same_seed_identical():
    sc = load_scenario("chained", {"province.n_firms": 200})
    a, b = run(sc, 4, counterfactual=False), run(sc, 4, counterfactual=False)
    assert len(a.final_accounts) == 2
    for frame in FRAMES:
        pd.testing.assert_frame_equal(getattr(a, frame), getattr(b, frame))
    _same(a.final_accounts, b.final_accounts)


def test_different_seeds_differ(tiny, pair):
    a = pair[0]
    c = run(tiny, seed=12)
    assert not np.array_equal(a.quarterly.emissions.to_numpy(), c.quarterly.emissions.to_numpy())
    assert not np.array_equal(a.quarterly.gdp.to_numpy(), c.quarterly.gdp.to_numpy())
    assert _hash(a.quarterly) != _hash(c.quarterly)
    assert a.quarterly.shape == c.quarterly.shape


def test_population_seed_changes_the_province_not_the_run_seed(tiny):
    a = run(tiny, seed=3, counterfactual=False)
    b = run(load_scenario("tiny", {"province.population_seed": 1}), seed=3, counterfactual=False)
    assert not np.array_equal(a.quarterly.emissions.to_numpy(), b.quarterly.emissions.to_numpy())


def test_global_random_state_is_not_used(tiny):
    """Seeding or draining the global generators must not change a run."""
    import random

    a = run(tiny, seed=5, counterfactual=False)
    random.seed(123)
    np.random.seed(123)  # noqa: NPY002 - the legacy global state, on purpose
    np.random.random(1000)  # noqa: NPY002
    b = run(tiny, seed=5, counterfactual=False)
    pd.testing.assert_frame_equal(a.quarterly, b.quarterly)


_SCRIPT = (
    "import pandas as pd\n"
    "from sim import load_scenario, run\n"
    "r = run(load_scenario('tiny'), seed=11)\n"
    "print(int(pd.util.hash_pandas_object(r.quarterly, index=True).sum()))\n"
    "print(int(pd.util.hash_pandas_object(r.events, index=True).sum()))\n"
)


@pytest.mark.slow
def test_identical_across_processes_and_hash_seeds(pair):
    want = f"{_hash(pair[0].quarterly)}\n{_hash(pair[0].events)}"
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        res = subprocess.run(
            [sys.executable, "-c", _SCRIPT],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == want, f"PYTHONHASHSEED={hash_seed}"
