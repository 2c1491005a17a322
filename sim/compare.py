"""Compare governance regimes on common random numbers (MODEL.md section 5).

A comparison is one kind of experiment (:mod:`sim.experiment`): a factorial
design over ``regime.name`` (levels = the regimes) with ``replicates`` seeds.
Every regime runs the same replicates: replicate ``i`` uses the seed spawned
as child ``i`` of ``SeedSequence(root_seed)``, whatever the regime, so the
differences between regimes are policy effects, not noise.  The runs go
through the experiment layer: results are written into a result store as they
arrive (``out``, or a temporary folder removed afterwards), a run that raises
is recorded with its error and the others go on, and the same comparison into
the same ``out`` resumes where it stopped.  The no-policy counterfactual is
computed once per seed and shared by the regimes (it depends on the seed and
the world parameters only): the runs of one replicate go to a worker
together, in one chunk.  The summary gives means and 95 % t-intervals of
the headline outcome measures.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis.summaries import clip_interval
from sim.experiment.design import replicate_seeds
from sim.scenario import Scenario

__all__ = ["HEADLINE", "Comparison", "compare", "compare_spec", "format_summary", "replicate_seeds",
           "run_compare", "stored_runs", "summarise", "write_compare"]  # fmt: skip

HEADLINE = (
    ("target_met", "target met (share of replicates)"),
    ("intensity_reduction", "intensity reduction"),
    ("overshoot", "overshoot of the central target"),
    ("gdp_loss_share", "GDP loss vs no-policy (share)"),
    ("gdp_loss_bn", "GDP loss vs no-policy (bn CNY)"),
    ("restriction_gdp_loss_bn", "of which production restriction (bn CNY)"),
    ("fiscal_cost_bn", "fiscal cost (bn CNY)"),
    ("policy_cost_bn", "policy cost: restriction + abatement (bn CNY)"),
    ("end_loadedness_gdp", "share of GDP loss in the final year"),
    ("end_loadedness_restriction", "share of restriction loss in the final year"),
    ("composite", "quality score (0-100)"),
)
FACTOR = "regime.name"
COMPARE_FILES = ("compare_runs.csv", "compare.png", "compare_summary.csv")


@dataclass(frozen=True)
class Comparison:
    """What :func:`run_compare` returns.

    ``runs``: one row per (regime, replicate, plan period) of the runs that
    succeeded, with every final-account measure; ``status``: one row per run
    (``regime``, ``replicate``, ``seed``, ``status`` ok|failed, ``error``,
    ``duration_s``); ``store``: the experiment folder (None when it was a
    temporary one, removed afterwards)."""

    runs: pd.DataFrame
    status: pd.DataFrame
    store: Path | None

    @property
    def failed(self) -> pd.DataFrame:
        return self.status[self.status["status"] != "ok"].reset_index(drop=True)

    @property
    def n_failed(self) -> int:
        return len(self.failed)


def compare_spec(
    scenario: Scenario, regimes: list[str], replicates: int, root_seed: int = 0
) -> Any:
    """The comparison as an :class:`~sim.experiment.spec.ExperimentSpec`: a
    factorial over ``regime.name`` with ``replicates`` common seeds; the
    counterfactual is always run (the cost measures need it)."""
    from sim.experiment.spec import ExperimentSpec, Factor
    from sim.params import PARAMS

    regimes = list(regimes)
    if not regimes:
        raise ValueError("regimes: no regime given")
    dup = sorted({r for r in regimes if regimes.count(r) > 1})
    if dup:
        raise ValueError(f"regimes: {dup[0]!r} given more than once")
    if replicates < 1:
        raise ValueError(f"replicates: {replicates} is below 1")
    if root_seed < 0:
        raise ValueError(f"root_seed: {root_seed} is negative")
    p = PARAMS[FACTOR]
    for r in regimes:
        p.check(r, "regimes")
    base = scenario
    if not scenario["evaluation.counterfactual"]:
        base = scenario.with_overrides({"evaluation.counterfactual": True})
    multi = len(scenario.periods) > 1
    outputs = tuple(f"p{k}.{m}" if multi else m for k in range(len(scenario.periods)) for m, _ in HEADLINE)  # fmt: skip
    factor = Factor(FACTOR, "categorical", "str", levels=tuple(regimes), param_kind=p.kind)
    return ExperimentSpec(name="compare", description=f"regimes {', '.join(regimes)} on common random numbers",
                          scenario=scenario.name, scenario_ref=scenario.name, overrides={},
                          replicates=replicates, seed=root_seed, outputs=outputs, series=(),
                          method="factorial", n=None, design_options={}, factors=(factor,),
                          executor="serial", base=base)  # fmt: skip


def run_compare(scenario: Scenario, regimes: list[str], replicates: int, root_seed: int = 0, jobs: int = 1,
                out: str | Path | None = None, executor: str | None = None, scheduler: str | None = None,
                progress: bool | Callable[[int], None] = False) -> Comparison:  # fmt: skip
    """Run the comparison as an experiment and return its :class:`Comparison`.

    ``out``: the experiment folder (created, or resumed when it holds the same
    comparison; a folder holding anything else is refused before any run);
    None: a temporary folder, removed afterwards.  ``executor``: serial,
    processes or dask (default: processes when ``jobs`` > 1, else serial);
    ``jobs``: its workers.  ``progress``: True for a progress bar on stderr, or
    a callable given the number of runs finished each time some finish.
    Failed runs are recorded (``status``, ``failed``) and left out of ``runs``;
    a resumed comparison does not retry them."""
    from sim.experiment.executors import make_executor
    from sim.experiment.spec import check_executor
    from sim.experiment.store import Store
    from sim.experiment.sweep import execute
    from sim.runner import check_output_folder

    spec = compare_spec(scenario, regimes, replicates, root_seed)
    if jobs < 1:
        raise ValueError(f"jobs: {jobs} is below 1")
    ex = executor or ("processes" if jobs > 1 else "serial")
    check_executor(ex, "executor")
    if scheduler and ex != "dask":
        raise ValueError(f"scheduler: only the dask executor takes a scheduler address (executor is {ex})")  # fmt: skip
    tmp = None
    if out is None:
        tmp = Path(tempfile.mkdtemp(prefix="carbon-budget-compare-"))
        folder = tmp
    else:
        folder = check_output_folder(out, "spec.json", "comparison folder")
    try:
        plan = _plan(spec, folder, ex, jobs, scheduler)
        if plan.n_todo:
            on = progress if callable(progress) else None
            with make_executor(ex, jobs, scheduler) as runner:
                execute(plan, runner, progress=progress is True, on_records=on,
                        chunk_size=len(spec.factors[0].levels))  # fmt: skip
        else:
            Store(folder).consolidate()
        store = Store(folder)
        res = store.results()
        design = store.design()[["run_id", FACTOR]]
        status = design.merge(store.status_table(), on="run_id").rename(columns={FACTOR: "regime"})
        status = status[["run_id", "regime", "replicate", "seed", "status", "error", "duration_s"]]
        runs = _long(res, list(regimes), scenario)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return Comparison(runs, status.reset_index(drop=True), None if tmp is not None else folder)


def stored_runs(scenario: Scenario, regimes: list[str], replicates: int, root_seed: int,
                out: str | Path) -> dict[str, int] | None:  # fmt: skip
    """Counts (total, done, failed, left) of the same comparison stored in
    ``out``, None when ``out`` holds no experiment; raises
    :class:`~sim.experiment.spec.ExperimentError` when it holds another one."""
    from sim.experiment.store import Store

    spec = compare_spec(scenario, regimes, replicates, root_seed)
    if not Store(out).is_store():
        return None
    return Store(_plan(spec, Path(out), "serial", 1, None).out).counts()


def _plan(spec: Any, folder: Path, ex: str, jobs: int, scheduler: str | None) -> Any:
    """The experiment plan: a new store, or the same comparison resumed."""
    from sim.experiment.design import build_design
    from sim.experiment.store import Store
    from sim.experiment.sweep import Plan, resumable

    store = Store(folder)
    resume = resumable(store, spec, folder)
    if resume:
        design = store.design()
    else:  # replicates outermost: a chunk holds every regime of one seed (one counterfactual)
        design = build_design(spec).sort_values(["replicate", "row"], kind="stable")
        design["run_id"] = range(len(design))
        design = design.reset_index(drop=True)
    done = store.done_ids() if resume else set()
    w = 1 if ex == "serial" else jobs
    return Plan(spec, folder, design, spec.outputs, ex, w, scheduler, done, resume)


def _long(res: pd.DataFrame, regimes: list[str], scenario: Scenario) -> pd.DataFrame:
    """Stored records (one per run, measures ``p<k>.<name>`` when several
    periods) -> one row per (regime, replicate, period), replicates outermost."""
    from sim.experiment.store import DESIGN_META, STATUS_COLUMNS
    from sim.stages.final_account import grade

    ok = res[res["status"] == "ok"].copy()
    ok["_r"] = ok[FACTOR].map({r: i for i, r in enumerate(regimes)})
    ok = ok.sort_values(["replicate", "_r"], kind="stable")
    skip = {*DESIGN_META, *STATUS_COLUMNS, FACTOR, "_r"}
    cols = [c for c in ok.columns if c not in skip]
    periods = scenario.periods
    multi = len(periods) > 1
    rows = []
    for rec in ok.to_dict("records"):
        for k, p in enumerate(periods):
            pre = f"p{k}." if multi else ""
            values = {c[len(pre) :]: rec[c] for c in cols if c.startswith(pre)}
            composite, met = values.get("composite", math.nan), values.get("target_met", math.nan)
            row: dict[str, Any] = {"regime": rec[FACTOR], "replicate": int(rec["replicate"]),
                                   "seed": int(rec["seed"]), "period": k, "start_year": p["start_year"],
                                   "end_year": p["end_year"],
                                   "grade": grade(float(composite), bool(met == 1.0), bool(p["binding"]))}  # fmt: skip
            row.update(values)
            rows.append(row)
    return pd.DataFrame(rows)


def compare(scenario: Scenario, regimes: list[str], replicates: int, root_seed: int = 0, jobs: int = 1,
            progress: bool | Callable[[int], None] | None = None, out: str | Path | None = None,
            executor: str | None = None) -> pd.DataFrame:  # fmt: skip
    """One row per (regime, replicate, plan period) with every final-account
    measure, for the runs that succeeded (see :func:`run_compare`, which also
    returns the failed runs and their errors).

    Each regime may appear once (a repeated regime would count its replicates
    twice and narrow the intervals)."""
    return run_compare(scenario, regimes, replicates, root_seed, jobs, out=out, executor=executor,
                       progress=progress or False).runs  # fmt: skip


def write_compare(df: pd.DataFrame, summary: pd.DataFrame, out: str | Path) -> Path:
    """Write ``compare_runs.csv``, ``compare.png`` and ``compare_summary.csv``
    into ``out`` (the comparison's experiment folder), each to a temporary name
    renamed into place, the summary last (it marks a finished comparison)."""
    from sim.experiment.store import atomic_write
    from sim.plots import plot_compare

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "compare_runs.csv", lambda t: df.to_csv(t, index=False))
    png = out / ".tmp-compare.png"
    try:
        plot_compare(summary, png)
        os.replace(png, out / "compare.png")
    finally:
        png.unlink(missing_ok=True)
    atomic_write(out / "compare_summary.csv", lambda t: summary.to_csv(t, index=False))
    return out


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
            lo, hi = clip_interval(key, mean - half, mean + half)
            out.append({"regime": regime, **extra, "measure": key, "label": label, "n": n, "mean": mean,
                        "ci_low": lo, "ci_high": hi})  # fmt: skip
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
