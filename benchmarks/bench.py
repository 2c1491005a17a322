"""Performance benchmark of the simulator (a script, not a test; ``make bench`` runs it).

Measures wall-clock time with ``time.perf_counter`` and reports medians:

(a) one in-process ``run(load_scenario("default"), seed)`` without the
    no-policy counterfactual and with it (targets: median <= 50 ms and <= 75 ms);
(b) the ``large`` scenario (100,000 key firms) without counterfactual (target
    <= 1.5 s), side by side with a bare Mesa 3.5 loop that creates the same
    number of trivial agents and steps them over the same number of quarters
    (``model.T``); the ratio large / bare Mesa has the target <= 2;
(c) the cost per firm-quarter for 1,000 / 10,000 / 30,000 / 100,000 firms
    (``province.n_firms`` overridden), which should stay roughly flat (cost
    linear in the number of firms).

Scenario loading is done once, outside the timed region; each repeat uses a
different seed (0, 1, 2, ...).  The whole script takes well under two minutes.

Usage::

    python benchmarks/bench.py                 # default repeats
    python benchmarks/bench.py --quick         # fewer repeats (smoke test)
    python benchmarks/bench.py --json bench.json
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import mesa
import numpy as np

from sim import load_scenario, run
from sim.model import CarbonBudgetModel

TARGETS = {
    "default_no_cf_s": 0.050,
    "default_cf_s": 0.075,
    "large_no_cf_s": 1.5,
    "large_vs_mesa_ratio": 2.0,
}
FIRM_COUNTS = (1_000, 10_000, 30_000, 100_000)


# --------------------------------------------------------------- timing ---
def timed(fn: Callable[[int], object], repeats: int, warmup: int = 1) -> list[float]:
    """Seconds per call of ``fn(seed)`` for seeds 0..repeats-1 (after ``warmup`` untimed calls)."""
    for i in range(warmup):
        fn(1000 + i)
    out = []
    for seed in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn(seed)
        out.append(time.perf_counter() - t0)
    return out


# ------------------------------------------------------- bare Mesa loop ---
class TrivialAgent(mesa.Agent):
    """An agent whose step does three float operations on one attribute."""

    def __init__(self, model: mesa.Model) -> None:
        super().__init__(model)
        self.x = 1.0

    def step(self) -> None:
        self.x = self.x * 1.0001 + 0.5 - 0.25


class TrivialModel(mesa.Model):
    def __init__(self, n_agents: int, seed: int) -> None:
        super().__init__(rng=seed)
        for _ in range(n_agents):
            TrivialAgent(self)

    def step(self) -> None:
        self.agents.do("step")


def bare_mesa(n_agents: int, n_steps: int, seed: int) -> None:
    """Create ``n_agents`` trivial agents and step them ``n_steps`` times."""
    model = TrivialModel(n_agents, seed)
    for _ in range(n_steps):
        model.step()  # mesa 3.5 wraps Model.step (step counter, time)


# ----------------------------------------------------------------- main ---
def fmt_s(x: float) -> str:
    return f"{x * 1e3:8.1f} ms" if x < 1.0 else f"{x:8.3f} s "


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats (smoke test)")
    ap.add_argument("--json", type=Path, metavar="PATH", help="also save the figures as JSON")
    args = ap.parse_args(argv)
    small_reps, large_reps, scale_reps = (3, 1, 1) if args.quick else (21, 5, 5)

    results: dict[str, object] = {
        "python": platform.python_version(),
        "mesa": mesa.__version__,
        "numpy": np.__version__,
        "machine": platform.machine(),
        "processor": platform.processor() or "unknown",
        "repeats": {"default": small_reps, "large": large_reps, "scaling": scale_reps},
    }
    t_start = time.perf_counter()

    # (a) the default scenario, in process
    sc = load_scenario("default")
    t_load = timed(lambda s: load_scenario("default"), small_reps)
    t_nocf = timed(lambda s: run(sc, s, counterfactual=False), small_reps)
    t_cf = timed(lambda s: run(sc, s, counterfactual=True), small_reps)
    med_load, med_nocf, med_cf = map(statistics.median, (t_load, t_nocf, t_cf))
    results["default"] = {
        "n_firms": sc["province.n_firms"],
        "load_scenario_s": med_load,
        "no_cf_s": med_nocf,
        "cf_s": med_cf,
        "no_cf_all_s": t_nocf,
        "cf_all_s": t_cf,
    }

    # (b) large vs a bare Mesa loop with as many agents over as many quarters
    large = load_scenario("large")
    n_large = large["province.n_firms"]
    T = CarbonBudgetModel(large, 0, firm_agents=False).T
    t_large = timed(lambda s: run(large, s, counterfactual=False), large_reps)
    t_mesa = timed(lambda s: bare_mesa(n_large, T, s), large_reps)
    med_large, med_mesa = statistics.median(t_large), statistics.median(t_mesa)
    results["large"] = {
        "n_firms": n_large,
        "quarters": T,
        "no_cf_s": med_large,
        "bare_mesa_s": med_mesa,
        "ratio": med_large / med_mesa,
        "no_cf_all_s": t_large,
        "bare_mesa_all_s": t_mesa,
    }

    # (c) cost per firm-quarter against the number of firms
    scaling = []
    for n in FIRM_COUNTS:
        if n == n_large:
            med = med_large
        else:
            s_n = load_scenario("default", {"province.n_firms": n})
            med = statistics.median(
                timed(lambda s, s_n=s_n: run(s_n, s, counterfactual=False), scale_reps)
            )
        scaling.append({"n_firms": n, "run_s": med, "us_per_firm_quarter": med / (n * T) * 1e6})
    for prev, cur in zip(scaling, scaling[1:], strict=False):
        cur["marginal_us_per_firm_quarter"] = (
            (cur["run_s"] - prev["run_s"]) / ((cur["n_firms"] - prev["n_firms"]) * T) * 1e6
        )
    results["scaling"] = scaling
    results["total_benchmark_s"] = time.perf_counter() - t_start

    # ------------------------------------------------------------ report --
    print(f"carbon-budget benchmark (median wall-clock; Python {results['python']}, "
          f"mesa {results['mesa']}, numpy {results['numpy']}, {results['machine']})")  # fmt: skip
    print()
    print("(a) one in-process run of `default` "
          f"({sc['province.n_firms']:,} firms, {T} quarters), {small_reps} repeats")  # fmt: skip
    print(f"    load_scenario('default')           {fmt_s(med_load)}")
    print(f"    run(..., counterfactual=False)     {fmt_s(med_nocf)}   target <= 50 ms   "
          f"{verdict(med_nocf, TARGETS['default_no_cf_s'])}")  # fmt: skip
    print(f"    run(..., counterfactual=True)      {fmt_s(med_cf)}   target <= 75 ms   "
          f"{verdict(med_cf, TARGETS['default_cf_s'])}")  # fmt: skip
    print()
    print(f"(b) `large` ({n_large:,} firms, {T} quarters), {large_reps} repeats")
    print(f"    run(..., counterfactual=False)     {fmt_s(med_large)}   target <= 1.5 s   "
          f"{verdict(med_large, TARGETS['large_no_cf_s'])}")  # fmt: skip
    print(f"    bare Mesa loop (same agents/steps) {fmt_s(med_mesa)}   "
          f"({n_large:,} trivial agents x {T} steps)")  # fmt: skip
    ratio = med_large / med_mesa
    print(f"    ratio large / bare Mesa            {ratio:8.2f} x    target <= 2 x     "
          f"{verdict(ratio, TARGETS['large_vs_mesa_ratio'])}")  # fmt: skip
    print()
    print(f"(c) cost per firm-quarter (no counterfactual), {scale_reps} repeats "
          "(100,000 reuses (b))")  # fmt: skip
    print("    n_firms      run time   us / firm-quarter   marginal us / firm-quarter")
    for row in scaling:
        marg = row.get("marginal_us_per_firm_quarter")
        marg_s = f"{marg:10.3f}" if marg is not None else "         -"
        print(f"    {row['n_firms']:>7,}   {fmt_s(row['run_s'])}   {row['us_per_firm_quarter']:17.3f}"
              f"   {marg_s}")  # fmt: skip
    print()
    print(f"total benchmark time {results['total_benchmark_s']:.1f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"figures saved to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
