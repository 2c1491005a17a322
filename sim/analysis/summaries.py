"""Summaries of stored results: the share of output variance due to seeds,
and per-level summaries of categorical factors with 95 % t-intervals."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

# natural bounds of measures: intervals of their means are clipped to them
NATURAL_BOUNDS: dict[str, tuple[float, float]] = {
    "target_met": (0.0, 1.0),
    "intensity_met": (0.0, 1.0),
    "total_met": (0.0, 1.0),
    "overshoot": (0.0, math.inf),
    "overshoot_intensity": (0.0, math.inf),
    "overshoot_total": (0.0, math.inf),
    "overachievement": (0.0, math.inf),
    "gdp_loss_share": (-math.inf, 1.0),
    "restriction_gdp_loss_bn": (0.0, math.inf),
    "fiscal_cost_bn": (0.0, math.inf),
    "abatement_cost_bn": (0.0, math.inf),
    "policy_cost_bn": (0.0, math.inf),
    "abatement_mt": (0.0, math.inf),
    "trade_volume_mt": (0.0, math.inf),
    "end_loadedness": (0.0, 1.0),
    "end_loadedness_gdp": (0.0, 1.0),
    "end_loadedness_abatement": (0.0, 1.0),
    "end_loadedness_restriction": (0.0, 1.0),
    "compliant_share": (0.0, 1.0),
    "feasible_share": (0.0, 1.0),
    "reserve_use": (0.0, 1.0),
    "assessment_share": (0.0, 1.0),
    "overrun_quarter_share": (0.0, 1.0),
    "monitoring_mape": (0.0, math.inf),
    "composite": (0.0, 100.0),
    "rationality": (0.0, 100.0),
    "effectiveness": (0.0, 100.0),
    "coordination": (0.0, 100.0),
    "capacity": (0.0, 100.0),
    **{f"stage_{k}": (0.0, 100.0) for k in ("plan", "monitoring", "regulation", "accounts")},
}


def natural_bounds(output: str) -> tuple[float, float]:
    """Natural bounds of an output (``p<k>.`` period prefixes and ``@<year>``
    series suffixes stripped; unbounded when unknown)."""
    base = re.sub(r"^p\d+\.", "", output).split("@", 1)[0]
    return NATURAL_BOUNDS.get(base, (-math.inf, math.inf))


def clip_interval(output: str, low: float, high: float) -> tuple[float, float]:
    """An interval of a mean clipped to the output's natural bounds."""
    lo, hi = natural_bounds(output)
    return max(low, lo), min(high, hi)


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    """mean, sd, low, high of a t-interval of the mean (NaN below two values)."""
    from scipy import stats

    v = values[np.isfinite(values)]
    n = len(v)
    if n == 0:
        return (math.nan,) * 4
    mean = float(v.mean())
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    sd = float(v.std(ddof=1))
    h = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return mean, sd, mean - h, mean + h


def seed_variance(
    ok: pd.DataFrame, outputs: list[str], cell_labels: dict[int, str]
) -> pd.DataFrame:
    """Per cell and output: the share of the total sum of squares that lies
    within design rows, i.e. between the replicates (seeds) of a row, over
    rows with at least two successful replicates (one-way ANOVA; in [0, 1])."""
    rows: list[dict[str, Any]] = []
    for cell_value, g in ok.groupby("cell", sort=True):
        cell = int(str(cell_value))
        for o in outputs:
            if o not in g:
                continue
            v = g[["row", o]].dropna()
            v = v[v.groupby("row")[o].transform("size") >= 2]
            if v["row"].nunique() < 1 or len(v) < 3:
                continue
            dev_row = v[o] - v.groupby("row")[o].transform("mean")
            ss_within = float((dev_row**2).sum())
            ss_total = float(((v[o] - v[o].mean()) ** 2).sum())
            rows.append({"cell": cell, "cell_label": cell_labels[cell], "output": o,
                         "rows": int(v["row"].nunique()), "runs": len(v), "ss_total": ss_total,
                         "ss_within_rows": ss_within,
                         "seed_share": ss_within / ss_total if ss_total > 0 else math.nan})  # fmt: skip
    return pd.DataFrame(rows)


def level_summary(results: pd.DataFrame, factors: list[str], outputs: list[str]) -> pd.DataFrame:
    """Every output by level of every categorical factor (runs of all other
    factors pooled): n ok, n failed, mean, sd and a 95 % t-interval (clipped
    to the output's natural bounds, :data:`NATURAL_BOUNDS`)."""
    rows: list[dict[str, Any]] = []
    for f in factors:
        for level, g in results.groupby(f, sort=False):
            ok = g[g["status"] == "ok"]
            for o in outputs:
                vals = ok[o].to_numpy(dtype=float) if o in ok else np.array([])
                mean, sd, lo, hi = t_interval(vals)
                lo, hi = clip_interval(o, lo, hi)
                rows.append({"factor": f, "level": str(level), "output": o,
                             "n": int(np.isfinite(vals).sum()), "n_failed": int((g["status"] != "ok").sum()),
                             "mean": mean, "sd": sd, "ci_low": lo, "ci_high": hi})  # fmt: skip
    return pd.DataFrame(rows)
