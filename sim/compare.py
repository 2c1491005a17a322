"""Compare governance regimes on common random numbers (MODEL.md section 5).

Every regime runs the same replicates: replicate ``i`` uses the seed spawned
as child ``i`` of ``SeedSequence(root_seed)``, whatever the regime, so the
differences between regimes are policy effects, not noise.  The summary gives
means and 95 % t-intervals of the headline outcome measures.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from sim.runner import run
from sim.scenario import Scenario

HEADLINE = (
    ("target_met", "target met (share of replicates)"),
    ("intensity_reduction", "intensity reduction"),
    ("overshoot", "overshoot of the central target"),
    ("gdp_loss_share", "GDP loss vs no-policy (share)"),
    ("gdp_loss_bn", "GDP loss vs no-policy (bn CNY)"),
    ("restriction_gdp_loss_bn", "of which production restriction (bn CNY)"),
    ("fiscal_cost_bn", "fiscal cost (bn CNY)"),
    ("end_loadedness_gdp", "share of GDP loss in the final year"),
    ("end_loadedness_restriction", "share of restriction loss in the final year"),
    ("composite", "quality score (0-100)"),
)


def replicate_seeds(root: int, n: int) -> list[int]:
    """Independent 63-bit seeds for ``n`` replicates from one root seed."""
    return [
        int(s.generate_state(1, np.uint64)[0] >> np.uint64(1))
        for s in np.random.SeedSequence(root).spawn(n)
    ]


def _one(args: tuple[Scenario, str, int, int]) -> dict[str, float | str | int]:
    scenario, regime, rep, seed = args
    res = run(
        scenario,
        seed,
        regime=regime,
        counterfactual=True,
    )
    fa = res.final_account
    row: dict[str, float | str | int] = {
        "regime": regime,
        "replicate": rep,
        "seed": seed,
        "grade": fa["grade"],
    }
    row.update(res.measures())
    return row


def compare(scenario: Scenario, regimes: list[str], replicates: int, root_seed: int = 0, jobs: int = 1,
            progress: Callable[[int], None] | None = None) -> pd.DataFrame:  # fmt: skip
    """One row per (regime, replicate) with every final-account measure."""
    seeds = replicate_seeds(root_seed, replicates)
    tasks = [(scenario, reg, i, s) for i, s in enumerate(seeds) for reg in regimes]
    rows = []
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            for row in ex.map(_one, tasks, chunksize=1):
                rows.append(row)
                if progress:
                    progress(1)
    else:
        for task in tasks:
            rows.append(_one(task))
            if progress:
                progress(1)
    return pd.DataFrame(rows)


# natural bounds of the headline measures: t-intervals are clipped to them
BOUNDS: dict[str, tuple[float, float]] = {
    "target_met": (0.0, 1.0),
    "overshoot": (0.0, math.inf),
    "gdp_loss_share": (-math.inf, 1.0),
    "restriction_gdp_loss_bn": (0.0, math.inf),
    "fiscal_cost_bn": (0.0, math.inf),
    "end_loadedness_gdp": (0.0, 1.0),
    "end_loadedness_restriction": (0.0, 1.0),
    "composite": (0.0, 100.0),
}


def summarise(df: pd.DataFrame, measures: tuple[tuple[str, str], ...] = HEADLINE) -> pd.DataFrame:
    """Mean and 95 % t-interval (clipped to the measure's natural bounds) of
    each headline measure per regime (long table)."""
    from scipy import stats

    out = []
    for regime, g in df.groupby("regime", sort=False):
        for key, label in measures:
            if key not in g:
                continue
            x = g[key].astype(float).dropna().to_numpy()
            n = x.size
            mean = float(x.mean()) if n else math.nan
            half = (
                float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n))
                if n > 1
                else math.nan
            )
            lo, hi = BOUNDS.get(key, (-math.inf, math.inf))
            out.append({"regime": regime, "measure": key, "label": label, "n": n, "mean": mean,
                        "ci_low": max(mean - half, lo), "ci_high": min(mean + half, hi)})  # fmt: skip
    return pd.DataFrame(out)


def format_summary(summary: pd.DataFrame) -> str:
    """A readable table: one row per measure, one column per regime (mean [95 % CI])."""
    regimes = list(dict.fromkeys(summary["regime"]))
    labels = list(dict.fromkeys(summary["label"]))
    cells = {}
    for _, r in summary.iterrows():
        if math.isnan(r["ci_low"]):
            cells[(r["label"], r["regime"])] = f"{r['mean']:.4g}"
        else:
            cells[(r["label"], r["regime"])] = (
                f"{r['mean']:.4g} [{r['ci_low']:.3g}, {r['ci_high']:.3g}]"
            )
    w0 = max(len(s) for s in labels) + 2
    widths = [
        max(len(reg), *(len(cells.get((lab, reg), "")) for lab in labels)) + 2 for reg in regimes
    ]
    lines = ["".ljust(w0) + "".join(reg.ljust(w) for reg, w in zip(regimes, widths, strict=True))]
    for lab in labels:
        lines.append(
            lab.ljust(w0)
            + "".join(
                cells.get((lab, reg), "").ljust(w) for reg, w in zip(regimes, widths, strict=True)
            )
        )
    return "\n".join(line.rstrip() for line in lines)
