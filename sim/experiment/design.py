"""Seeds and the design table: one row per run.

Columns: ``run_id`` (0..n-1, the order of the table), ``row`` (the design row:
a point of the design, run once per replicate), ``cell`` (which combination of
the categorical factors' levels), ``sample`` (the point of the continuous
design inside its cell, in SALib's sample order), ``replicate``, ``seed``,
then one column per factor holding its value (integer factors rounded).  For
integer factors of a Morris design, ``raw:<name>`` keeps the unrounded value
the analysis needs.

Seeds: replicate ``i`` uses child ``i`` of ``SeedSequence(root)`` (as
``compare`` does), whatever the design row: common random numbers.  The
continuous design is sampled with a seed from ``SeedSequence(root,
spawn_key=(DESIGN_KEY,))``, a stream no replicate uses.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.spec import ExperimentSpec

DESIGN_KEY = 2**31 - 1


def replicate_seeds(root: int, n: int) -> list[int]:
    """Independent 63-bit seeds for ``n`` replicates from one root seed."""
    return [
        int(s.generate_state(1, np.uint64)[0] >> np.uint64(1))
        for s in np.random.SeedSequence(root).spawn(n)
    ]


def design_seed(root: int) -> int:
    ss = np.random.SeedSequence(root, spawn_key=(DESIGN_KEY,))
    return int(ss.generate_state(1, np.uint32)[0])


def problem(spec: ExperimentSpec) -> dict[str, Any]:
    """The SALib problem of the continuous factors."""
    cont = spec.continuous
    return {
        "num_vars": len(cont),
        "names": [f.name for f in cont],
        "bounds": [[f.low, f.high] for f in cont],
    }


def continuous_sample(spec: ExperimentSpec) -> np.ndarray:
    """The continuous design (samples x continuous factors), unrounded."""
    if spec.method == "factorial":
        return np.zeros((1, 0))
    prob = problem(spec)
    seed = design_seed(spec.seed)
    n = int(spec.n or 0)
    if spec.method == "sobol":
        from SALib.sample import sobol

        so = bool(spec.design_options.get("second_order", False))
        return sobol.sample(prob, n, calc_second_order=so, scramble=True, seed=seed)
    if spec.method == "morris":
        from SALib.sample import morris

        return morris.sample(prob, n, num_levels=spec.design_options["num_levels"], seed=seed)
    if spec.method == "fast":
        from SALib.sample import fast_sampler

        return fast_sampler.sample(prob, n, M=spec.design_options["m"], seed=seed)
    from SALib.sample import latin

    return latin.sample(prob, n, seed=seed)


def n_samples(spec: ExperimentSpec) -> int:
    """Points of the continuous design (without building it)."""
    d, n = len(spec.continuous), int(spec.n or 0)
    if spec.method == "sobol":
        return n * (2 * d + 2 if spec.design_options.get("second_order") else d + 2)
    if spec.method == "morris":
        return n * (d + 1)
    if spec.method == "fast":
        return n * d
    if spec.method == "lhs":
        return n
    return 1


def n_cells(spec: ExperimentSpec) -> int:
    return int(np.prod([len(f.levels) for f in spec.categorical])) if spec.categorical else 1


def n_runs(spec: ExperimentSpec) -> int:
    return n_samples(spec) * n_cells(spec) * spec.replicates


def build_design(spec: ExperimentSpec) -> pd.DataFrame:
    """The design table of ``spec`` (see the module docstring)."""
    x = continuous_sample(spec)
    cont, cat = spec.continuous, spec.categorical
    cells = list(itertools.product(*[f.levels for f in cat])) if cat else [()]
    seeds = replicate_seeds(spec.seed, spec.replicates)
    S, R = x.shape[0], spec.replicates
    rows = np.arange(len(cells) * S)
    out: dict[str, Any] = {
        "run_id": np.arange(len(rows) * R),
        "row": np.repeat(rows, R),
        "cell": np.repeat(rows // S, R),
        "sample": np.repeat(rows % S, R),
        "replicate": np.tile(np.arange(R), len(rows)),
        "seed": np.tile(np.array(seeds, dtype=np.int64), len(rows)),
    }
    for j, f in enumerate(cont):
        # samplers scale the unit cube to [low, high] in floating point; the top
        # level can land a hair above `high` (0.2 -> 0.20000000000000004)
        col = np.clip(np.tile(x[:, j], len(cells)), f.low, f.high)
        if f.type == "int":
            if spec.method == "morris":
                out[f"raw:{f.name}"] = np.repeat(col, R)
            col = np.clip(np.rint(col), np.ceil(f.low or 0), np.floor(f.high or 0)).astype(np.int64)
        out[f.name] = np.repeat(col, R)
    for j, f in enumerate(cat):
        vals = [c[j] for c in cells]
        out[f.name] = np.repeat(np.repeat(np.array(vals, dtype=object), S), R)
    df = pd.DataFrame(out)
    for f in cat:
        if f.type in ("str", "bundle"):
            df[f.name] = df[f.name].astype(str)
        elif f.type == "bool":
            df[f.name] = df[f.name].astype(bool)
        else:
            df[f.name] = pd.to_numeric(df[f.name])
    return df


def row_overrides(spec: ExperimentSpec, design_row: pd.Series | dict[str, Any]) -> dict[str, Any]:
    """Scenario overrides of one design row (on top of the spec's base scenario,
    which already holds the spec's own overrides)."""
    out: dict[str, Any] = {}
    for f in spec.factors:
        v = design_row[f.name]
        out.update(f.overrides(v.item() if isinstance(v, np.generic) else v))
    return out
