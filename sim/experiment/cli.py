"""``carbon-budget experiment run|status|analyze|plot``.

``sim.cli`` registers these with :func:`add_parser` and dispatches to
:func:`main_command`.  Bad input (spec, flags, folder) prints one line and
returns 2 before anything runs or is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.errors import EXIT_BAD_INPUT

EXIT_INTERRUPTED = 130


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``experiment`` and its sub-commands to the main parser."""
    e = subparsers.add_parser("experiment", help="run and analyse experiments (sweeps, sensitivity analysis)",
                              description="Experiments: a spec (TOML) with factors, a design and replicates; "
                                          "crash-safe resumable sweeps; SALib sensitivity analysis of the stored "
                                          "results. See docs/user_guide.md, section 6.")  # fmt: skip
    sub = e.add_subparsers(dest="experiment_command", metavar="SUBCOMMAND", parser_class=type(e))
    sub.required = True

    r = sub.add_parser("run", help="run (or resume) the sweep of a spec",
                       description="Run every run of the spec's design and write the results to --out as they "
                                   "arrive. Running the same command again resumes an interrupted sweep.")  # fmt: skip
    r.add_argument("spec", type=Path, help="experiment spec (TOML)")
    r.add_argument("--out", type=Path, help="result folder (default: runs/experiments/<name>)")
    r.add_argument("--executor", help="serial | processes | dask (default: the spec's, else processes)")  # fmt: skip
    r.add_argument("--workers", type=_positive, help="worker processes (default: the spec's, else all cores)")  # fmt: skip
    r.add_argument("--scheduler", metavar="ADDRESS", help="dask scheduler, e.g. tcp://host:8786 (default: a local cluster)")  # fmt: skip
    r.add_argument("--chunk-size", type=_positive, help="runs per task sent to a worker (default: automatic, at most 32)")  # fmt: skip
    r.add_argument("--dry-run", action="store_true", help="check the spec, print the plan and the estimate, run nothing")  # fmt: skip
    r.add_argument("--no-progress", action="store_true", help="no progress bar")

    s = sub.add_parser("status", help="report done, failed and left runs of a result folder",
                       description="Report how many runs of a result folder are done, failed and left.")  # fmt: skip
    s.add_argument("dir", type=Path, help="result folder of 'experiment run'")
    s.add_argument(
        "--errors", action="store_true", help="also list the failed runs with their errors"
    )

    a = sub.add_parser("analyze", help="sensitivity indices and summaries from the stored results",
                       description="Read the stored results only (no model runs) and write tables (CSV and "
                                   "Parquet) and figures (PNG) to DIR/analysis: Sobol/Morris/eFAST indices with "
                                   "bootstrap intervals, their convergence on nested sub-samples, the share of "
                                   "variance due to seeds, per-level summaries of categorical factors.")  # fmt: skip
    a.add_argument("dir", type=Path, help="result folder of 'experiment run'")
    a.add_argument(
        "--outputs", help="comma-separated outputs (default: the spec's outputs and series)"
    )
    a.add_argument("--resamples", type=_positive, default=1000, help="bootstrap resamples (default: 1000)")  # fmt: skip
    a.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default: 0)")
    a.add_argument("--no-plots", action="store_true", help="tables only")

    p = sub.add_parser("plot", help="redraw the figures of an analysed result folder",
                       description="Redraw DIR/analysis/*.png from the stored analysis tables.")  # fmt: skip
    p.add_argument("dir", type=Path, help="result folder (analysed)")


def main_command(args: argparse.Namespace) -> int:
    from sim.experiment.spec import ExperimentError

    try:
        return {"run": _run, "status": _status, "analyze": _analyze, "plot": _plot}[
            args.experiment_command
        ](args)
    except ExperimentError as exc:
        print(f"carbon-budget: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _run(args: argparse.Namespace) -> int:
    from sim.experiment.executors import make_executor
    from sim.experiment.spec import load_spec
    from sim.experiment.sweep import execute, prepare

    spec = load_spec(args.spec)
    out = args.out or Path("runs") / "experiments" / spec.name
    plan = prepare(spec, out, args.executor, args.workers, args.scheduler)
    if args.dry_run:
        print(plan.describe())
        return 0
    if plan.n_todo == 0:
        print(plan.describe())
        print(f"nothing left to run: all {plan.n_runs:,} runs are stored in {out}/")
        return 0
    with make_executor(plan.executor, plan.workers, plan.scheduler) as ex:
        plan.workers = ex.workers
        print(plan.describe(), file=sys.stderr)
        try:
            counts = execute(plan, ex, progress=not args.no_progress, chunk_size=args.chunk_size)
        except KeyboardInterrupt:
            print(f"carbon-budget: interrupted; the runs done so far are stored in {out}/ - run the same "
                  "command again to resume", file=sys.stderr)  # fmt: skip
            return EXIT_INTERRUPTED
    print(_counts_line(counts))
    print(f"results: {out}/results.parquet, status.parquet (next: carbon-budget experiment analyze {out})")  # fmt: skip
    return 0


def _counts_line(c: dict[str, int]) -> str:
    return f"{c['total']:,} runs: {c['done']:,} done, {c['failed']:,} failed, {c['left']:,} left"


def _status(args: argparse.Namespace) -> int:
    from sim.experiment.store import Store

    store = Store(args.dir).require()
    spec = store.spec()
    c = store.counts()
    print(f"{spec['name']} ({spec['method']} design, {spec['replicates']} replicates): {_counts_line(c)}")  # fmt: skip
    st = store.status_table()
    if len(st):
        ok = st[st["status"] == "ok"]["duration_s"]
        if len(ok):
            print(f"median run time {ok.median() * 1e3:.1f} ms")
        warned = st[st["warning"].fillna("") != ""] if "warning" in st else st.iloc[:0]
        if len(warned):
            print(f"{len(warned):,} runs raised a warning, e.g. {warned['warning'].iloc[0]}")
    if args.errors:
        for r in st[st["status"] == "failed"].itertuples():
            print(
                f"run {r.run_id} (row {r.row}, replicate {r.replicate}, seed {r.seed}): {r.error}"
            )
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from sim.analysis import analyze
    from sim.analysis.report import AnalysisError

    outputs = [o.strip() for o in args.outputs.split(",") if o.strip()] if args.outputs else None
    try:
        report = analyze(args.dir, outputs=outputs, resamples=args.resamples, seed=args.seed,
                         plots=not args.no_plots)  # fmt: skip
    except AnalysisError as exc:
        print(f"carbon-budget: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(report.text())
    return EXIT_BAD_INPUT if report.refused else 0


def _plot(args: argparse.Namespace) -> int:
    from sim.analysis.plots import plot_all
    from sim.experiment.store import Store

    store = Store(args.dir).require()
    if not (store.path / "analysis").is_dir():
        from sim.experiment.spec import ExperimentError

        raise ExperimentError(f"{args.dir}: not analysed yet (run 'carbon-budget experiment analyze {args.dir}')")  # fmt: skip
    for path in plot_all(store.path / "analysis"):
        print(f"wrote {path}")
    return 0
