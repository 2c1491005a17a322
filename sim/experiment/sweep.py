"""Plan, estimate, run and resume a sweep.

:func:`prepare` validates everything that can be checked before a run starts
(spec, outputs against a quick run of the scenario, the ``--out`` folder,
resuming) and times a few runs for the estimate; :func:`execute` runs what is
left on an executor and writes the records as they arrive.  Running the same
command again after an interruption resumes: runs already in the store are
skipped, and since each run depends only on its scenario and seed the
results end up identical to an uninterrupted sweep.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiment.design import build_design, n_cells, n_samples, row_overrides
from sim.experiment.executors import Executor, default_workers
from sim.experiment.spec import ExperimentError, ExperimentSpec, check_executor, resolve_outputs
from sim.experiment.store import Store
from sim.experiment.worker import Job, Task, ishigami

PARALLEL_EFFICIENCY = 0.9  # assumed by the estimate
STARTUP_S = {"serial": 0.0, "processes": 3.0, "dask": 6.0}


@dataclass
class Plan:
    """What a sweep will do (printed by ``--dry-run`` and before running)."""

    spec: ExperimentSpec
    out: Path
    design: pd.DataFrame
    outputs: tuple[str, ...]
    executor: str
    workers: int
    scheduler: str | None
    done: set[int] = field(default_factory=set)
    resume: bool = False
    run_s: float = 0.0
    cf_s: float = 0.0

    @property
    def n_runs(self) -> int:
        return len(self.design)

    @property
    def n_todo(self) -> int:
        return self.n_runs - len(self.done)

    def estimate_s(self) -> float:
        """Wall time of the runs left: timed single runs, the counterfactuals the
        workers must compute, spread over the workers."""
        todo = self.n_todo
        if not todo:
            return 0.0
        if self.spec.world_factors:
            n_cf = todo
        else:
            n_cf = min(todo, self.spec.replicates * self.workers)
        w = self.workers if self.executor != "serial" else 1
        eff = PARALLEL_EFFICIENCY if w > 1 else 1.0
        return (todo * self.run_s + n_cf * self.cf_s) / (w * eff) + STARTUP_S[self.executor]

    def describe(self) -> str:
        s = self.spec
        cont = ", ".join(f"{f.name} [{f.low:g}, {f.high:g}]" for f in s.continuous) or "none"
        cat = ", ".join(f"{f.name} ({len(f.levels)} levels)" for f in s.categorical) or "none"
        points = f"{n_samples(s):,} design points x " if s.method != "factorial" else ""
        shape = (f"{points}{n_cells(s)} level combinations x "
                 f"{s.replicates} replicates = {self.n_runs:,} runs")  # fmt: skip
        world = ", ".join(f.name for f in s.world_factors)
        cf = (f"per design row (world factors vary: {world})" if world
              else "once per replicate seed and worker (only policy factors vary)")  # fmt: skip
        lines = [
            f"experiment {s.name}: {s.method} design, model {s.model}"
            + (f", scenario {s.scenario}" if s.model == "carbon-budget" else ""),
            f"  continuous factors: {cont}",
            f"  categorical factors: {cat}",
            f"  {shape}",
            f"  outputs: {', '.join(self.outputs)}"
            + (f"; per-year series: {', '.join(s.series)}" if s.series else ""),
            f"  seeds: replicate i = child i of SeedSequence({s.seed}), common to all design rows",
        ]
        if s.model == "carbon-budget":
            lines.append(f"  no-policy counterfactual: {cf}")
        where = f" at {self.scheduler}" if self.scheduler else ""
        lines.append(f"  executor: {self.executor}, {self.workers} worker(s){where}; results in {self.out}/")  # fmt: skip
        if self.resume:
            lines.append(f"  resuming: {len(self.done):,} runs already stored, {self.n_todo:,} left")  # fmt: skip
        est = self.estimate_s()
        lines.append(f"  estimated time: {_duration(est)} ({self.run_s * 1e3:.1f} ms per run"
                     + (f", {self.cf_s * 1e3:.1f} ms per counterfactual" if self.cf_s else "")
                     + ", timed on a few runs here)")  # fmt: skip
        return "\n".join(lines)


def _duration(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def probe(spec: ExperimentSpec, k: int = 3) -> tuple[list[str], list[str], float, float]:
    """Measure names and annual numeric columns of a run of the spec's scenario,
    and the median time of ``k`` runs (without counterfactual) and of one
    counterfactual."""
    from sim.experiment.design import replicate_seeds

    seeds = replicate_seeds(spec.seed, k)
    if spec.model == "ishigami":
        t0 = time.perf_counter()
        for s in seeds:
            ishigami({}, s, {"noise": spec.model_options.get("noise", 0.0)})
        return list(ishigami({}, 0, {})), [], (time.perf_counter() - t0) / k, 0.0
    from sim.runner import run, run_counterfactual

    assert spec.base is not None
    sc = spec.base
    times, cf_s = [], 0.0
    res = None
    for i, s in enumerate(seeds):
        cf: Any = False
        if sc["evaluation.counterfactual"] and i == 0:
            t0 = time.perf_counter()
            cf = run_counterfactual(sc, s)
            cf_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        r = run(sc, s, counterfactual=cf)
        times.append(time.perf_counter() - t0)
        res = res or r
    assert res is not None
    cols = [c for c in res.annual.columns if c not in ("year", "period") and pd.api.types.is_numeric_dtype(res.annual[c])]  # fmt: skip
    return list(res.measures()), cols, statistics.median(times), cf_s


def prepare(spec: ExperimentSpec, out: str | Path, executor: str | None = None, workers: int | None = None,
            scheduler: str | None = None) -> Plan:  # fmt: skip
    """Check everything before a sweep starts; raise :class:`ExperimentError`."""
    ex = executor or spec.executor
    check_executor(ex, "--executor")
    sched = scheduler if scheduler is not None else spec.scheduler
    if sched and ex != "dask":
        raise ExperimentError(f"--scheduler: only the dask executor takes a scheduler address (executor is {ex})")  # fmt: skip
    w = 1 if ex == "serial" else (workers or spec.workers or default_workers())
    out = Path(out)
    for p in (out, *out.parents):
        if p.exists():
            if not p.is_dir():
                raise ExperimentError(f"--out {out}: {p} exists and is not a folder")
            break
    store = Store(out)
    resume = resumable(store, spec, out)
    if not resume and out.exists() and any(out.iterdir()):
        raise ExperimentError(f"--out {out}: folder is not empty and holds no experiment")
    measures, cols, run_s, cf_s = probe(spec)
    outputs = resolve_outputs(spec, measures, cols)
    design = store.design() if resume else build_design(spec)
    done = store.done_ids() if resume else set()
    return Plan(spec, out, design, outputs, ex, w, sched, done, resume, run_s, cf_s)


def _canon(v: Any) -> Any:
    import json

    return json.loads(json.dumps(v, sort_keys=True, default=str))


def resumable(store: Store, spec: ExperimentSpec, out: Path) -> bool:
    """Whether ``store`` already holds ``spec`` (resume it); False for a folder
    holding no experiment; ExperimentError naming what differs when it holds
    another spec (resuming must never mix specs)."""
    if not store.is_store():
        return False
    stored = store.spec()
    if stored.get("identity_hash") != spec.identity_hash():
        differ = [k for k, v in spec.identity().items() if _canon(stored.get(k)) != _canon(v)]
        what = "another comparison" if stored.get("name") == "compare" else f"experiment {stored.get('name')!r}"  # fmt: skip
        raise ExperimentError(f"--out {out}: holds {what} with a different spec (differs in: {', '.join(differ) or 'identity'}); use another folder")  # fmt: skip
    return True


def tasks_of(plan: Plan) -> list[Task]:
    """The runs left, in ``run_id`` order (replicates of a row adjacent)."""
    spec = plan.spec
    world = [f.name for f in spec.world_factors]
    todo = plan.design[~plan.design["run_id"].isin(plan.done)]
    cols = [f.name for f in spec.factors]
    out: list[Task] = []
    last_row, ov, wk = -1, {}, ()
    for rec in todo[["run_id", "row", "seed", *cols]].to_dict("records"):
        if rec["row"] != last_row:
            last_row = rec["row"]
            ov = row_overrides(spec, {str(k): v for k, v in rec.items()})
            wk = tuple(rec[n] for n in world)
        out.append((int(rec["run_id"]), int(rec["row"]), int(rec["seed"]), ov, wk))
    return out


def chunks_of(tasks: list[Task], workers: int, size: int | None = None) -> Iterator[list[Task]]:
    if size is None:
        size = max(1, min(32, len(tasks) // max(1, workers * 20)))
    for i in range(0, len(tasks), size):
        yield tasks[i : i + size]


def manifest(spec: ExperimentSpec) -> dict[str, Any]:
    from sim.runner import git_commit, versions

    v = versions()
    try:
        import dask

        v["dask"] = dask.__version__
    except ImportError:  # pragma: no cover
        pass
    return {"experiment": spec.name, "identity_hash": spec.identity_hash(), "versions": v,
            "git_commit": git_commit(), "created": _now(), "sessions": []}  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def execute(plan: Plan, executor: Executor, progress: bool = True, chunk_size: int | None = None,
            flush_s: float = 2.0, on_records: Callable[[int], None] | None = None) -> dict[str, int]:  # fmt: skip
    """Run the plan's remaining runs; write records as they arrive.  On an
    interruption (Ctrl-C) the records received so far are written before the
    exception propagates, so the same command resumes."""
    from tqdm import tqdm

    spec = plan.spec
    store = Store(plan.out)
    if not plan.resume:
        spec_d = {**spec.to_dict(), "outputs_resolved": list(plan.outputs)}
        store.create(spec_d, plan.design, manifest(spec))
    store.add_session({"started": _now(), "executor": plan.executor, "workers": plan.workers,
                       "scheduler": plan.scheduler, "runs_left": plan.n_todo})  # fmt: skip
    job = Job(spec.identity_hash(), spec.model, spec.base, spec.series, spec.model_options)
    tasks = tasks_of(plan)
    buffer: list[dict[str, Any]] = []
    failed = 0
    last = time.monotonic()
    bar = tqdm(total=plan.n_runs, initial=len(plan.done), unit="run", file=sys.stderr,
               disable=not progress, smoothing=0.1, dynamic_ncols=True)  # fmt: skip
    try:
        for records in executor.imap(job, chunks_of(tasks, executor.workers, chunk_size)):
            buffer.extend(records)
            nf = sum(r["status"] != "ok" for r in records)
            failed += nf
            bar.update(len(records))
            if nf:
                bar.set_postfix(failed=failed)
            if on_records:
                on_records(len(records))
            if time.monotonic() - last >= flush_s:
                store.append(buffer)
                buffer, last = [], time.monotonic()
    finally:
        store.append(buffer)
        bar.close()
    store.consolidate()
    return store.counts()
