"""Sensitivity indices (SALib) over one cell of a design, and their convergence
on nested sub-samples.  Pure functions over arrays: the caller reads the
store, averages replicates and checks for gaps.

Every function returns long tidy rows: ``factor``, ``index`` (S1, ST, S2,
mu, mu_star, sigma), ``value``, ``conf`` (half-width of the bootstrap
interval at ``conf_level``; SALib's percentile bootstrap, seeded).
"""

from __future__ import annotations

from typing import Any

import numpy as np

Rows = list[dict[str, Any]]


def sobol_indices(problem: dict[str, Any], y: np.ndarray, second_order: bool, resamples: int,
                  seed: int, conf_level: float = 0.95) -> Rows:  # fmt: skip
    from SALib.analyze import sobol

    with np.errstate(all="ignore"):
        r = sobol.analyze(problem, y, calc_second_order=second_order, num_resamples=resamples,
                          conf_level=conf_level, seed=seed)  # fmt: skip
    names = problem["names"]
    rows: Rows = []
    for i, f in enumerate(names):
        rows.append({"factor": f, "index": "S1", "value": r["S1"][i], "conf": r["S1_conf"][i]})
        rows.append({"factor": f, "index": "ST", "value": r["ST"][i], "conf": r["ST_conf"][i]})
    if second_order:
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                rows.append({"factor": f"{names[i]}:{names[j]}", "index": "S2",
                             "value": r["S2"][i, j], "conf": r["S2_conf"][i, j]})  # fmt: skip
    return rows


def morris_indices(problem: dict[str, Any], x: np.ndarray, y: np.ndarray, num_levels: int,
                   resamples: int, seed: int, conf_level: float = 0.95) -> Rows:  # fmt: skip
    from SALib.analyze import morris

    with np.errstate(all="ignore"):
        r = morris.analyze(problem, x, y, num_resamples=resamples, conf_level=conf_level,
                           num_levels=num_levels, seed=seed)  # fmt: skip
    rows: Rows = []
    for i, f in enumerate(problem["names"]):
        rows.append({"factor": f, "index": "mu_star", "value": float(r["mu_star"][i]),
                     "conf": float(r["mu_star_conf"][i])})  # fmt: skip
        rows.append({"factor": f, "index": "mu", "value": float(r["mu"][i]), "conf": np.nan})
        rows.append({"factor": f, "index": "sigma", "value": float(r["sigma"][i]), "conf": np.nan})
    return rows


def fast_indices(problem: dict[str, Any], y: np.ndarray, m: int, resamples: int, seed: int,
                 conf_level: float = 0.95) -> Rows:  # fmt: skip
    import warnings

    from SALib.analyze import fast

    # SALib warns that bootstrap intervals of eFAST are indicative only; the
    # analysis report says so once (sim.analysis.report) instead
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="FAST confidence intervals", category=UserWarning)
        r = fast.analyze(problem, y, M=m, num_resamples=resamples, conf_level=conf_level, seed=seed)
    rows: Rows = []
    for i, f in enumerate(problem["names"]):
        rows.append({"factor": f, "index": "S1", "value": r["S1"][i], "conf": r["S1_conf"][i]})
        rows.append({"factor": f, "index": "ST", "value": r["ST"][i], "conf": r["ST_conf"][i]})
    return rows


def nested_sizes(n: int, smallest: int) -> list[int]:
    """n, n/2, n/4, ... down to ``smallest`` (ascending)."""
    out = []
    k = n
    while k >= smallest:
        out.append(k)
        if k % 2:
            break
        k //= 2
    return sorted(out)


def convergence(method: str, problem: dict[str, Any], x: np.ndarray, y: np.ndarray, n: int,
                options: dict[str, Any], resamples: int, seed: int) -> Rows:  # fmt: skip
    """Indices on the first k base samples (Sobol) or trajectories (Morris) for
    k = n, n/2, n/4, ...: Saltelli/Sobol samples and Morris trajectories are
    laid out base point by base point, so a prefix is itself a valid design.
    eFAST and LHS designs are not nested: no convergence rows."""
    d = problem["num_vars"]
    rows: Rows = []
    if method == "sobol":
        so = bool(options.get("second_order"))
        step = 2 * d + 2 if so else d + 2
        for k in nested_sizes(n, 8):
            for r in sobol_indices(problem, y[: k * step], so, resamples, seed):
                if r["index"] != "S2":
                    rows.append({**r, "n": k})
    elif method == "morris":
        step = d + 1
        for k in nested_sizes(n, 2):
            for r in morris_indices(problem, x[: k * step], y[: k * step], options["num_levels"], resamples, seed):  # fmt: skip
                if r["index"] == "mu_star":
                    rows.append({**r, "n": k})
    return rows
