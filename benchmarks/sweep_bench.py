"""Sweep benchmark (a script, not a test; ``make bench-sweep`` runs it).

The issue's benchmark is a Sobol sweep of ``default`` with N = 1024 over 12
policy factors without second order: 1024 x 14 = 14,336 runs in at most 10
minutes with the process pool on 2 cores.  This script runs the same design
at a smaller N (default 64: 896 runs) and measures, in one process:

(a) the bare Mesa reference of ``make bench`` (100,000 trivial agents stepped
    over the quarters of the ``large`` scenario), the yardstick for all times;
(b) one run of ``default`` as a sweep does it (no Firm agents, counterfactual
    reused) and one no-policy counterfactual;
(c) the whole sweep serially, on the process pool and on a local Dask cluster
    (``--workers``, default 2), each into a fresh result folder: wall time,
    parallel efficiency = serial wall / (workers x parallel wall), and the
    Dask / process-pool ratio; the stored results are checked identical;
    CPU seconds of the pool (parent + workers) over the serial sweep's, the
    share of the pool's wall time its workers spend inside runs, and how much
    slower a run is inside a pool worker than serially: together they tell
    the parallel path's overhead from cores taken by other load;
(d) the projection to N = 1024: 14,336 runs x (process-pool wall per run).

Usage::

    python benchmarks/sweep_bench.py               # N = 64
    python benchmarks/sweep_bench.py --n 1024      # the full benchmark (quiet machine)
    python benchmarks/sweep_bench.py --json sweep.json
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import bare_mesa, timed  # noqa: E402

from sim import load_scenario  # noqa: E402
from sim.experiment.executors import make_executor  # noqa: E402
from sim.experiment.spec import parse_spec  # noqa: E402
from sim.experiment.sweep import execute, prepare  # noqa: E402
from sim.model import CarbonBudgetModel  # noqa: E402
from sim.runner import run, run_counterfactual  # noqa: E402

FACTORS = {
    "monitoring.surplus_threshold": [0.0, 0.10],
    "monitoring.overrun_threshold": [0.0, 0.08],
    "monitoring.red_threshold": [0.08, 0.20],
    "monitoring.fast_noise": [0.0, 0.10],
    "monitoring.stat_error": [0.0, 0.05],
    "accounts.adjust_threshold": [0.0, 0.10],
    "accounts.adjust_cap": [0.05, 0.30],
    "plan.reserve_share": [0.0, 0.10],
    "plan.negotiation_grant": [0.0, 1.0],
    "trading.volume_cap": [0.0, 0.2],
    "projects.growth_room": [0.0, 0.05],
    "abatement.enforcement_penalty": [0.0, 200.0],
}
FULL_N = 1024


def spec_dict(n: int) -> dict:
    return {"name": "sweep_bench", "scenario": "default", "replicates": 1, "seed": 7,
            "outputs": ["composite", "overshoot", "gdp_loss_share", "end_loadedness"],
            "design": {"method": "sobol", "n": n, "second_order": False},
            "factors": FACTORS}  # fmt: skip


def cpu_s() -> float:
    """CPU seconds of this process and of its reaped children (the pool's workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def sweep(n: int, executor: str, workers: int, root: Path) -> tuple[float, float, float, pd.DataFrame]:  # fmt: skip
    """Wall and CPU seconds of a whole sweep (executor start-up included), and the
    sum of the runs' own durations measured inside the workers."""
    spec = parse_spec(spec_dict(n))
    out = root / executor
    plan = prepare(spec, out, executor, workers)
    t0, c0 = time.perf_counter(), cpu_s()
    with make_executor(plan.executor, plan.workers, None) as ex:
        execute(plan, ex, progress=False)
    wall, cpu = time.perf_counter() - t0, cpu_s() - c0
    res = pd.read_parquet(out / "results.parquet")
    busy = float(res["duration_s"].sum())
    return wall, cpu, busy, res.drop(columns="duration_s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--n", type=int, default=64, help="Sobol base samples (power of two; default 64)"
    )
    ap.add_argument("--workers", type=int, default=2, help="workers of the pool and cluster")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask sweep")
    ap.add_argument("--json", type=Path, metavar="PATH", help="also save the figures as JSON")
    args = ap.parse_args(argv)
    n_runs = args.n * (len(FACTORS) + 2)
    full_runs = FULL_N * (len(FACTORS) + 2)

    large = load_scenario("large")
    T = CarbonBudgetModel(large, 0, firm_agents=False).T
    mesa_s = statistics.median(timed(lambda s: bare_mesa(large["province.n_firms"], T, s), 3))
    sc = load_scenario("default")
    cf = run_counterfactual(sc, 1)
    run_s = statistics.median(timed(lambda s: run(sc, 1, counterfactual=cf), 11))
    cf_s = statistics.median(timed(lambda s: run_counterfactual(sc, s), 5))

    r: dict = {"n": args.n, "runs": n_runs, "workers": args.workers, "bare_mesa_s": mesa_s,
               "single_run_s": run_s, "counterfactual_s": cf_s}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        r["serial_s"], r["serial_cpu_s"], r["serial_busy_s"], ref = sweep(args.n, "serial", 1, root)  # fmt: skip
        r["processes_s"], r["processes_cpu_s"], r["processes_busy_s"], res_p = sweep(args.n, "processes", args.workers, root)  # fmt: skip
        pd.testing.assert_frame_equal(res_p, ref, check_exact=True)
        if not args.no_dask:
            r["dask_s"], _, r["dask_busy_s"], res_d = sweep(args.n, "dask", args.workers, root)
            pd.testing.assert_frame_equal(res_d, ref, check_exact=True)
    r["serial_per_run_s"] = r["serial_s"] / n_runs
    r["efficiency"] = r["serial_s"] / (args.workers * r["processes_s"])
    r["pool_busy_share"] = r["processes_busy_s"] / (args.workers * r["processes_s"])
    r["pool_run_slowdown"] = r["processes_busy_s"] / r["serial_busy_s"]
    r["cpu_overhead"] = r["processes_cpu_s"] / r["serial_cpu_s"]
    r["efficiency_vs_single_run"] = n_runs * run_s / (args.workers * r["processes_s"])
    r["projected_full_s"] = full_runs * r["processes_s"] / n_runs
    if "dask_s" in r:
        r["dask_over_processes"] = r["dask_s"] / r["processes_s"]

    m = mesa_s
    print(f"sweep benchmark: Sobol N={args.n} over {len(FACTORS)} factors, no second order = {n_runs:,} runs of "
          f"`default`, {args.workers} workers")  # fmt: skip
    print(f"(a) bare Mesa reference (100,000 agents x {T} steps)  {m:8.3f} s   = 1 ref")
    print(f"(b) one sweep run (counterfactual reused)            {run_s * 1e3:8.1f} ms  = {run_s / m:.4f} ref")  # fmt: skip
    print(f"    one no-policy counterfactual                     {cf_s * 1e3:8.1f} ms  = {cf_s / m:.4f} ref")  # fmt: skip
    print(f"(c) serial sweep                                     {r['serial_s']:8.1f} s   = {r['serial_s'] / m:.1f} ref "  # fmt: skip
          f"({r['serial_per_run_s'] * 1e3:.1f} ms per run)")  # fmt: skip
    print(f"    process pool sweep                               {r['processes_s']:8.1f} s   = {r['processes_s'] / m:.1f} ref")  # fmt: skip
    print(f"    parallel efficiency serial / ({args.workers} x pool)            {r['efficiency']:8.1%}   target >= 85 %")  # fmt: skip
    print(f"    runs x single run / ({args.workers} x pool)                     {r['efficiency_vs_single_run']:8.1%}")  # fmt: skip
    print(f"    workers busy running models: sum of run times / ({args.workers} x pool wall)  {r['pool_busy_share']:6.1%}")  # fmt: skip
    print(f"    a run inside a pool worker takes x the serial one  {r['pool_run_slowdown']:8.2f}    (> 1: cores shared)")  # fmt: skip
    print(f"    CPU time pool (all processes) / serial           {r['cpu_overhead']:8.2f}    (load-independent overhead)")  # fmt: skip
    if "dask_s" in r:
        print(f"    dask local cluster sweep                         {r['dask_s']:8.1f} s   = {r['dask_s'] / m:.1f} ref; "  # fmt: skip
              f"dask / pool = {r['dask_over_processes']:.2f} (target <= 1.20)")  # fmt: skip
    print("    results identical across serial, pool" + (", dask" if "dask_s" in r else ""))
    p = r["projected_full_s"]
    print(f"(d) projected N={FULL_N} ({full_runs:,} runs) on the pool: {p:8.0f} s = {p / 60:.1f} min "
          f"= {p / m:.0f} ref (target <= 600 s)")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(r, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
