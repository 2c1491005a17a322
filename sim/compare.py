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
from pathlib import Path

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


def _one(args: tuple[Scenario, str, int, int]) -> list[dict[str, float | str | int]]:
    """One run and its counterfactual: one row per plan period."""
    scenario, regime, rep, seed = args
    res = run(
        scenario,
        seed,
        regime=regime,
        counterfactual=True,
    )
    rows = []
    for fa in res.final_accounts:
        row: dict[str, float | str | int] = {
            "regime": regime,
            "replicate": rep,
            "seed": seed,
            "period": fa["period"],
            "start_year": fa["start_year"],
            "end_year": fa["end_year"],
            "grade": fa["grade"],
        }
        row.update(fa["measures"])
        row.update({f"score_{d}": v for d, v in fa["dimensions"].items()})
        row["composite"] = fa["composite"]
        rows.append(row)
    return rows


def compare(scenario: Scenario, regimes: list[str], replicates: int, root_seed: int = 0, jobs: int = 1,
            progress: Callable[[int], None] | None = None) -> pd.DataFrame:  # fmt: skip
    """One row per (regime, replicate, plan period) with every final-account measure.

    Each regime may appear once (a repeated regime would count its replicates
    twice and narrow the intervals)."""
    if not regimes:
        raise ValueError("regimes: no regime given")
    dup = sorted({r for r in regimes if list(regimes).count(r) > 1})
    if dup:
        raise ValueError(f"regimes: {dup[0]!r} given more than once")
    if replicates < 1:
        raise ValueError(f"replicates: {replicates} is below 1")
    if jobs < 1:
        raise ValueError(f"jobs: {jobs} is below 1")
    seeds = replicate_seeds(root_seed, replicates)
    tasks = [(scenario, reg, i, s) for i, s in enumerate(seeds) for reg in regimes]
    rows = []
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks))) as ex:
            for part in ex.map(_one, tasks, chunksize=1):
                rows.extend(part)
                if progress:
                    progress(1)
    else:
        for task in tasks:
            rows.extend(_one(task))
            if progress:
                progress(1)
    return pd.DataFrame(rows)


def write_compare(df: pd.DataFrame, summary: pd.DataFrame, out: str | Path) -> Path:
    """Write ``compare_runs.csv``, ``compare_summary.csv`` and ``compare.png``
    into a temporary sibling of ``out`` and rename it into place in one step
    (an existing comparison folder is replaced whole)."""
    from sim.plots import plot_compare
    from sim.runner import replace_folder

    def fill(tmp: Path) -> None:
        df.to_csv(tmp / "compare_runs.csv", index=False)
        plot_compare(summary, tmp / "compare.png")
        summary.to_csv(tmp / "compare_summary.csv", index=False)  # last: the folder's marker

    return replace_folder(out, fill, "compare_summary.csv", "comparison folder")


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
    each headline measure per regime and plan period (long table; ``period``,
    ``start_year`` and ``end_year`` columns when ``df`` has periods)."""
    from scipy import stats

    out = []
    keys = ["regime", "period"] if "period" in df else ["regime"]
    for group, g in df.groupby(keys, sort=False):
        regime = group[0]
        extra = {} if len(keys) == 1 else {"period": int(g["period"].iloc[0]), "start_year": int(g["start_year"].iloc[0]),
                                           "end_year": int(g["end_year"].iloc[0])}  # fmt: skip
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
            out.append({"regime": regime, **extra, "measure": key, "label": label, "n": n, "mean": mean,
                        "ci_low": max(mean - half, lo), "ci_high": min(mean + half, hi)})  # fmt: skip
    return pd.DataFrame(out)


def format_summary(summary: pd.DataFrame) -> str:
    """A readable table: one row per measure, one column per regime (mean [95 % CI]);
    one table per plan period when the scenario has several."""
    if "period" in summary and summary["period"].nunique() > 1:
        parts = []
        for _, g in summary.groupby("period", sort=True):
            r = g.iloc[0]
            parts.append(f"period {r['start_year']}-{r['end_year']}\n" + _format_one(g))
        return "\n\n".join(parts)
    return _format_one(summary)


def _format_one(summary: pd.DataFrame) -> str:
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
