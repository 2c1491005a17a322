"""Command line: ``carbon-budget`` (also ``python -m sim``).

Bad input (missing or malformed scenario, unknown parameter, out-of-range
value, inconsistent values, an ``--out`` that cannot or must not be written,
a damaged run folder for ``plot``) prints one line naming the problem and
exits with code 2; nothing is written.  ``--out`` is checked before anything
is simulated.  An error writing the outputs (e.g. a full disk) prints one
line and exits with 1; any other unexpected exception is a bug: one line
starting ``internal error`` and exit code 1 (set ``CARBON_BUDGET_DEBUG=1``
for the traceback).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path
from typing import NoReturn

from sim.errors import EXIT_BAD_INPUT, UsageError  # re-exported: sim.cli.UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


MAX_SEED = 2**63 - 1
MAX_REPLICATES = 10_000
MAX_JOBS = 64


def _seed(text: str) -> int:
    value = _count(text, "a non-negative integer", 0, MAX_SEED)
    return value


def _count(text: str, what: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text[:40]!r}") from None
    if not low <= value <= high:
        shown = value if abs(value) < 10**30 else f"an integer of {len(str(abs(value)))} digits"
        raise argparse.ArgumentTypeError(f"{shown} is outside {low}..{high}")
    return value


def _replicates(text: str) -> int:
    return _count(text, "an integer", 1, MAX_REPLICATES)


def _jobs(text: str) -> int:
    return _count(text, "an integer", 1, MAX_JOBS)


def _out(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path is not a folder")
    return Path(text)


def _folder_name(name: str) -> str:
    """A scenario name made safe as one folder name: no path separators, no
    leading dots (so never ``..``), no control characters."""
    import re

    safe = re.sub(r"[^\w.+-]+", "_", name).strip("._")
    return safe[:100] or "scenario"


def _writable_dir(
    path: Path, flag: str, marker: str = "manifest.json", what: str = "run folder"
) -> Path:
    """Check before any simulation that ``path`` can be written (a real write
    probe in its parent) and is new, empty or a folder of the same kind."""
    from sim.runner import OutputError, check_output_folder

    try:
        return check_output_folder(path, marker, what)
    except OutputError as exc:
        raise UsageError(
            f"{flag} {path}: {exc}" if str(path) not in str(exc) else f"{flag}: {exc}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    from sim.policies.regimes import REGIMES

    p = _Parser(prog="carbon-budget",
                description="Agent-based simulator of local carbon budget management under China's dual control "
                            "of carbon emissions (碳排放双控).")  # fmt: skip
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    r = sub.add_parser("run", help="run one scenario and write a run folder",
                       description="Run one scenario with one seed; write manifest.json, quarterly/annual/events/"
                                   "monitoring Parquet tables and final_account.json to --out, and print a summary.")  # fmt: skip
    r.add_argument(
        "scenario",
        nargs="?",
        default="default",
        help="built-in scenario name or TOML file (default: default)",
    )
    r.add_argument("--seed", type=_seed, default=0, help="random seed, 0 to 2^63-1 (default: 0)")
    r.add_argument("--out", type=_out,
                   help="run folder (default: runs/<scenario>-seed<N>, the scenario name made safe as a "
                        "folder name); written to a temporary sibling and renamed into place, so an existing "
                        "run folder is replaced whole; a non-empty folder without manifest.json is refused")  # fmt: skip
    r.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter, e.g. --set plan.reserve_share=0.05 (repeatable)",
    )
    r.add_argument(
        "--regime", choices=sorted(REGIMES), help="governance regime (overrides regime.name)"
    )
    r.add_argument(
        "--no-counterfactual", action="store_true", help="skip the no-policy counterfactual run"
    )
    r.add_argument("--no-plots", action="store_true", help="do not draw figures/overview.png")
    r.add_argument("--quiet", action="store_true", help="print only where the outputs are")
    r.add_argument("--choices", type=Path, metavar="GAME.json",
                   help="replay a game saved by the page (choices.json; use its scenario.toml)")  # fmt: skip

    sub.add_parser(
        "scenarios", help="list the built-in scenarios", description="List the built-in scenarios."
    )

    pl = sub.add_parser(
        "plot",
        help="draw the figures of a run folder",
        description="Draw figures/overview.png of a run folder from its stored tables. The folder is "
        "checked first (manifest.json, the four tables with their columns, final_account.json); a "
        "damaged folder is reported in one line and nothing is written.",
    )
    pl.add_argument("run_dir", type=Path, help="a folder written by 'carbon-budget run'")

    pa = sub.add_parser("params", help="print the parameter table",
                        description="Print the parameter table (name, type, unit, default, bounds, kind, description, "
                                    "source). kind 'world' marks parameters that can change the no-policy "
                                    "counterfactual; 'policy' parameters act only through local policy.")  # fmt: skip
    pa.add_argument("--format", choices=("text", "csv", "markdown"), default="text")
    pa.add_argument(
        "--filter",
        default="",
        metavar="PREFIX",
        help="only names starting with PREFIX (e.g. plan.)",
    )

    c = sub.add_parser("compare", help="compare governance regimes on common random numbers",
                       description="Run several regimes on the same replicates (common random numbers) and print "
                                   "means and 95 % intervals of the outcome measures, per plan period when the scenario has several.")  # fmt: skip
    c.add_argument(
        "scenario", nargs="?", default="default", help="built-in scenario name or TOML file"
    )
    c.add_argument(
        "--regimes",
        default="budget,traditional",
        help="comma-separated regimes, each at most once (default: budget,traditional)",
    )
    c.add_argument("--replicates", type=_replicates, default=10,
                   help=f"replicates per regime, 1 to {MAX_REPLICATES:,} (default: 10)")  # fmt: skip
    c.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="root seed, 0 to 2^63-1; replicate seeds are spawned from it (default: 0)",
    )
    c.add_argument(
        "--jobs", type=_jobs, default=1, help=f"worker processes, 1 to {MAX_JOBS} (default: 1)"
    )
    c.add_argument("--out", type=_out,
                   help="experiment folder: the runs are stored there as they arrive (spec.json, parts/, "
                        "status.parquet, results.parquet), then compare_runs.csv, compare_summary.csv and "
                        "compare.png; the same command into the same folder resumes; a folder holding another "
                        "comparison or anything else is refused (default: a temporary folder, removed after)")  # fmt: skip
    c.add_argument("--executor", choices=("serial", "processes", "dask"), default=None,
                   help="how runs are executed (default: processes when --jobs > 1, else serial); "
                        "dask starts a local cluster of --jobs workers unless --scheduler is given")  # fmt: skip
    c.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="address of a running Dask scheduler (tcp://host:8786; with --executor dask)")  # fmt: skip
    c.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter (repeatable)",
    )
    c.add_argument("--no-progress", action="store_true", help="no progress bar")

    from sim.experiment.cli import add_parser as add_experiment_parser

    add_experiment_parser(sub)
    from sim.report.cli import add_parser as add_report

    add_report(sub)
    from sim.app.cli import add_parser as add_app

    add_app(sub)
    return p


def _version() -> str:
    from sim import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    from sim.scenario import ScenarioError

    try:
        args = build_parser().parse_args(argv)
        return {
            "run": _cmd_run,
            "scenarios": _cmd_scenarios,
            "params": _cmd_params,
            "compare": _cmd_compare,
            "plot": _cmd_plot,
            "experiment": _cmd_experiment,
            "report": lambda a: a.handler(a),
            "app": lambda a: a.handler(a),
        }[args.command](args)
    except (UsageError, ScenarioError) as exc:
        print(f"carbon-budget: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("carbon-budget: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `carbon-budget params | head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # writing the outputs failed (disk full, folder removed meanwhile, ...)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"carbon-budget: error: {where}{exc.strerror or _one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug, not bad input: say so in one line
        import os

        if os.environ.get("CARBON_BUDGET_DEBUG"):
            raise
        print(f"carbon-budget: internal error: {exc.__class__.__name__}: {_one_line(exc)} "
              "(a bug; set CARBON_BUDGET_DEBUG=1 for the traceback)", file=sys.stderr)  # fmt: skip
        return 1


def _one_line(exc: BaseException) -> str:
    text = " ".join("".join(c if c.isprintable() else " " for c in str(exc)).split())
    return text if len(text) <= 400 else text[:150] + " ... " + text[-245:]  # keep the reason


def _load(args: argparse.Namespace):
    from sim.scenario import load_scenario, parse_overrides

    overrides = parse_overrides(args.overrides)
    if getattr(args, "regime", None):
        overrides["regime.name"] = args.regime
    return load_scenario(args.scenario, overrides)


def _cmd_run(args: argparse.Namespace) -> int:
    from sim.runner import run, write_run

    sc = _load(args)
    out = args.out or Path("runs") / f"{_folder_name(sc.name)}-seed{args.seed}"
    _writable_dir(out, "--out")
    cf = False if args.no_counterfactual else None
    if args.choices is not None:
        from sim.app.session import load_choices, replay

        result = replay(sc, args.seed, load_choices(args.choices), cf)
    else:
        result = run(sc, args.seed, counterfactual=cf)
    write_run(result, out, figures=not args.no_plots)
    if not args.quiet:
        print(summary_text(result))
    figures = "" if args.no_plots else ", figures/overview.png"
    print(f"outputs: {out}/ (manifest.json, quarterly.parquet, annual.parquet, events.parquet, monitoring.parquet, "
          f"final_account.json, sectors.parquet{figures})")  # fmt: skip
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from sim.plots import RunFolderError, plot_run

    try:
        written = plot_run(args.run_dir)
    except RunFolderError as exc:
        raise UsageError(str(exc)) from None
    for path in written:
        print(f"wrote {path}")
    return 0


def _fmt(x: float, spec: str = ".3g") -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def summary_text(result) -> str:
    lines = [
        f"{result.scenario.name}: {result.scenario['province.name']}, regime {result.regime}, seed {result.seed}"
    ]
    for fa in result.final_accounts:
        m = fa["measures"]
        lines += [
            f"period {fa['start_year']}-{fa['end_year']} ({fa['mode']}-led)",
            f"  intensity reduction {m['intensity_reduction']:.1%} vs target {m['intensity_target']:.1%}"
            + (f"  -> {'met' if m['intensity_met'] else 'MISSED'}" if fa["mode"] != "total" else "  (not binding)"),
            f"  emissions {m['total_emissions_mt']:.0f} Mt vs central cap {m['central_cap_mt']:.0f} Mt"
            + (f"  -> {'within' if m['total_met'] else 'OVER'}" if fa["mode"] != "intensity" else "  (not binding)"),
            f"  GDP loss vs no local policy {_fmt(m['gdp_loss_bn'], '.0f')} bn CNY ({_fmt(m['gdp_loss_share'] * 100, '.2f')} %),"
            f" {_fmt(m['end_loadedness_gdp'] * 100, '.0f')} % of it in the final year",
            f"  fiscal cost {m['fiscal_cost_bn']:.1f} bn CNY; fast-estimate MAPE {_fmt(m['monitoring_mape'] * 100, '.1f')} %",
            f"  quality: rationality {fa['dimensions']['rationality']:.0f}, effectiveness "
            f"{fa['dimensions']['effectiveness']:.0f}, coordination {fa['dimensions']['coordination']:.0f}, "
            f"capacity {fa['dimensions']['capacity']:.0f} -> composite {fa['composite']:.1f}, grade {fa['grade'].upper()}",
        ]  # fmt: skip
    return "\n".join(lines)


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from sim.scenario import builtin_scenarios

    items = builtin_scenarios()
    w = max(map(len, items))
    for name, desc in items.items():
        print(f"{name.ljust(w)}  {desc}")
    return 0


def _cmd_params(args: argparse.Namespace) -> int:
    from sim.params import param_table

    rows = [r for r in param_table() if r["name"].startswith(args.filter)]
    if not rows:
        raise UsageError(f"--filter {args.filter!r}: no parameter name starts with it")
    cols = ["name", "type", "unit", "default", "bounds", "kind", "description", "source"]
    if args.format == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    elif args.format == "markdown":
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
        for r in rows:
            print("| " + " | ".join(str(r[c]).replace("|", "\\|") for c in cols) + " |")
    else:
        widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols[:6]}
        print("  ".join(c.ljust(widths[c]) for c in cols[:6]) + "  description [source]")
        for r in rows:
            print(
                "  ".join(str(r[c]).ljust(widths[c]) for c in cols[:6])
                + f"  {r['description']} [{r['source']}]"
            )
    return 0


def _cmd_experiment(args: argparse.Namespace) -> int:
    from sim.experiment.cli import main_command

    return main_command(args)


def _cmd_compare(args: argparse.Namespace) -> int:
    from sim.compare import format_summary, run_compare, stored_runs, summarise, write_compare
    from sim.experiment.spec import ExperimentError
    from sim.policies.regimes import REGIMES

    regimes = [r.strip() for r in args.regimes.split(",") if r.strip()]
    if not regimes:
        raise UsageError(
            f"--regimes {args.regimes!r}: no regime given (known: {', '.join(REGIMES)})"
        )
    for r in regimes:
        if r not in REGIMES:
            raise UsageError(f"--regimes: unknown regime {r!r} (known: {', '.join(REGIMES)})")
    dup = sorted({r for r in regimes if regimes.count(r) > 1})
    if dup:
        raise UsageError(f"--regimes: {dup[0]!r} given more than once")
    if args.scheduler and args.executor != "dask":
        raise UsageError("--scheduler: only with --executor dask")
    sc = _load(args)
    out = _writable_dir(args.out, "--out", "spec.json", "comparison folder") if args.out else None
    try:
        stored = stored_runs(sc, regimes, args.replicates, args.seed, out) if out else None
    except ExperimentError as exc:
        raise UsageError(str(exc)) from None
    n = len(regimes) * args.replicates
    print(f"{n} runs ({len(regimes)} regimes x {args.replicates} replicates; the no-policy counterfactual once per replicate)"
          + (f"; resuming: {n - stored['left']} stored, {stored['left']} left" if stored else ""),
          file=sys.stderr)  # fmt: skip
    try:
        comp = run_compare(sc, regimes, args.replicates, args.seed, args.jobs, out=out,
                           executor=args.executor, scheduler=args.scheduler,
                           progress=not args.no_progress)  # fmt: skip
    except ExperimentError as exc:
        raise UsageError(str(exc)) from None
    failed = comp.failed
    note = ""
    if len(failed):
        f0 = failed.iloc[0]
        where = f" (see {args.out}/status.parquet)" if out is not None else ""
        note = (f"; {len(failed)} of {len(comp.status)} runs failed and are left out{where}, first: "
                f"{f0['regime']} replicate {f0['replicate']}: {f0['error']}")  # fmt: skip
    if comp.runs.empty:
        print(f"{sc.name}: no run succeeded{note}", file=sys.stderr)
        return 1
    summary = summarise(comp.runs)
    if out is not None:
        write_compare(comp.runs, summary, out)
    print(
        f"{sc.name}: regimes on common random numbers, {args.replicates} replicates, mean [95 % CI]{note}"
    )
    print(format_summary(summary))
    if out is not None:
        print(f"outputs: {args.out}/compare_runs.csv, compare_summary.csv, compare.png "
              "(runs and their status: results.parquet, status.parquet)")  # fmt: skip
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
