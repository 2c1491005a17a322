"""What a worker does with a chunk of runs (the same code for every executor).

A chunk is a list of :data:`Task` tuples.  For each task the worker builds the
row's scenario (once per design row: the replicates of a row are adjacent in
the design), runs it, and returns one record: ``run_id``, ``status`` (``ok``
or ``failed``), ``error`` (the exception, one line), ``duration_s`` and the
measures of :meth:`RunResult.measures` (every one of them, named as the run
names them) plus the per-year ``series`` columns ``<column>@<year>`` of the
province rows of the annual table.

The no-policy counterfactual is cached per worker under ``(seed, values of
the world factors)``: design rows that vary only policy parameters share it
(``Param.kind``), rows that vary a world parameter get their own.  It is a
pure function of the world parameters and the seed, so the cache never
changes a result.

The ``ishigami`` model is a test hook: the Ishigami function replaces the
simulator so the whole pipeline can be checked against analytic indices.
"""

from __future__ import annotations

import math
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.scenario import Scenario

# (run_id, row, seed, factor overrides of the row, values of the world factors)
Task = tuple[int, int, int, dict[str, Any], tuple[Any, ...]]
CF_CACHE_SIZE = 256


@dataclass(frozen=True)
class Job:
    """What every run of an experiment shares (sent with each chunk; small)."""

    key: str
    model: str
    base: Scenario | None
    series: tuple[str, ...] = ()
    model_options: dict[str, Any] = field(default_factory=dict)


_state: dict[str, Any] = {"key": None, "row": None, "scenario": None, "cf": OrderedDict()}


def run_chunk(job: Job, tasks: list[Task]) -> list[dict[str, Any]]:
    """Run ``tasks`` and return one record per task, in order.  Never raises for a
    failing run: the error is recorded and the next task runs."""
    if _state["key"] != job.key:
        _state.update(key=job.key, row=None, scenario=None, cf=OrderedDict())
    out = []
    for run_id, row, seed, overrides, world in tasks:
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if job.model == "ishigami":
                    values = ishigami(overrides, seed, job.model_options)
                else:
                    values = _simulate(job, row, seed, overrides, world)
                rec: dict[str, Any] = {"run_id": run_id, "status": "ok", "error": ""}
            except Exception as exc:  # a failing run is recorded; the sweep goes on
                values = {}
                msg = " ".join(str(exc).split())
                rec = {"run_id": run_id, "status": "failed", "error": f"{type(exc).__name__}: {msg}"}  # fmt: skip
        rec["duration_s"] = time.perf_counter() - t0
        rec["warning"] = _first_warning(caught)
        rec.update(values)
        out.append(rec)
    return out


def _simulate(job: Job, row: int, seed: int, overrides: dict[str, Any], world: tuple[Any, ...]) -> dict[str, float]:  # fmt: skip
    from sim.runner import Counterfactual, run, run_counterfactual

    assert job.base is not None
    if _state["row"] != row:
        _state["scenario"] = job.base.with_overrides(overrides) if overrides else job.base
        _state["row"] = row
    sc: Scenario = _state["scenario"]
    cf: bool | Counterfactual = False
    if sc["evaluation.counterfactual"]:
        cache: OrderedDict = _state["cf"]
        key = (seed, world)
        if key in cache:
            cache.move_to_end(key)
            cf = cache[key]
        else:
            cf = cache[key] = run_counterfactual(sc, seed)
            if len(cache) > CF_CACHE_SIZE:
                cache.popitem(last=False)
    res = run(sc, seed, counterfactual=cf)
    values = {k: _num(v) for k, v in res.measures().items()}
    if job.series:
        prov = res.annual[res.annual["city"] == "province"]
        for col in job.series:
            for y, v in zip(prov["year"], prov[col], strict=True):
                values[f"{col}@{int(y)}"] = _num(v)
    return values


def _first_warning(caught: list[warnings.WarningMessage]) -> str:
    """The run's first warning, one line, with how many it raised ("" if none)."""
    if not caught:
        return ""
    w = caught[0]
    more = f" (+{len(caught) - 1} more)" if len(caught) > 1 else ""
    return f"{w.category.__name__}: {w.message} at {Path(w.filename).name}:{w.lineno}{more}"


def _num(v: Any) -> float:
    if v is None:
        return math.nan
    return float(v)


def ishigami(x: dict[str, Any], seed: int, options: dict[str, Any]) -> dict[str, float]:
    """Ishigami function y = sin x1 + a sin^2 x2 + b x3^4 sin x1 (a=7, b=0.1);
    ``y_noisy`` adds N(0, noise) drawn from the run's seed; a run raises when
    x1 > ``fail_above`` (to test failure handling)."""
    a, b = float(options.get("a", 7.0)), float(options.get("b", 0.1))
    x1, x2, x3 = (float(x.get(k, 0.0)) for k in ("x1", "x2", "x3"))
    if "fail_above" in options and x1 > float(options["fail_above"]):
        raise ValueError(f"ishigami: x1 = {x1:.4f} is above fail_above (test hook)")
    y = math.sin(x1) + a * math.sin(x2) ** 2 + b * x3**4 * math.sin(x1)
    noise = float(options.get("noise", 0.0))
    eps = float(np.random.default_rng(seed).normal(0.0, noise)) if noise > 0 else 0.0
    return {"y": y, "y_noisy": y + eps}


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> dict[str, dict[str, float]]:
    """Analytic first-order and total Sobol indices of the Ishigami function."""
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return {"S1": {"x1": v1 / v, "x2": v2 / v, "x3": 0.0},
            "ST": {"x1": (v1 + v13) / v, "x2": v2 / v, "x3": v13 / v}}  # fmt: skip
