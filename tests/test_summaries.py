"""Summaries of stored results: intervals of means clipped to natural bounds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.analysis.summaries import clip_interval, level_summary, natural_bounds, t_interval


def test_natural_bounds_strip_period_and_year():
    assert natural_bounds("target_met") == (0.0, 1.0)
    assert natural_bounds("p1.target_met") == (0.0, 1.0)
    assert natural_bounds("end_loadedness_gdp@2030") == (0.0, 1.0)
    assert natural_bounds("p2.composite") == (0.0, 100.0)
    assert natural_bounds("gdp_loss_bn") == (-math.inf, math.inf)
    assert clip_interval("composite", -3.0, 120.0) == (0.0, 100.0)


def test_level_summary_clips_a_share_to_zero_one():
    # 19 of 20 met: the t-interval by hand is 0.95 +- 2.093 x 0.2236 / sqrt(20) = [0.845, 1.055]
    met = np.array([1.0] * 19 + [0.0])
    mean, sd, lo, hi = t_interval(met)
    assert (mean, round(lo, 3), round(hi, 3)) == (0.95, 0.845, 1.055)
    df = pd.DataFrame({"regime": ["a"] * 20, "status": "ok", "target_met": met,
                       "gdp_loss_bn": np.linspace(-1, 1, 20)})  # fmt: skip
    s = level_summary(df, ["regime"], ["target_met", "gdp_loss_bn"]).set_index("output")
    assert s.loc["target_met", "ci_low"] == pytest.approx(0.845, abs=1e-3)
    assert s.loc["target_met", "ci_high"] == 1.0
    assert s.loc["gdp_loss_bn", "ci_low"] < 0 < s.loc["gdp_loss_bn", "ci_high"]  # unbounded
