"""``carbon-budget report RUN_DIR [--lang en|zh] [--out FILE]`` (hooked into
:mod:`sim.cli` by :func:`add_parser`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    r = sub.add_parser(
        "report",
        help="write the five-year final account of a run folder as HTML",
        description="Write the five-year final account [碳预算五年决算] of a run folder as one self-contained "
        "HTML file (figures embedded) with the figures as PNG beside it. Default: RUN_DIR/report_<lang>.html.",
    )
    r.add_argument("run_dir", type=Path, help="a folder written by 'carbon-budget run'")
    r.add_argument("--lang", default="en", help="en (English) or zh (中文) (default: en)")
    r.add_argument(
        "--out", type=Path, help="HTML file to write (default: RUN_DIR/report_<lang>.html)"
    )
    r.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    from sim.errors import UsageError
    from sim.report.html import ReportError, write_report

    if args.out is not None and args.out.is_dir():
        raise UsageError(f"--out {args.out}: is a folder, expected an HTML file name")
    try:
        path = write_report(args.run_dir, args.lang, args.out)
    except ReportError as exc:
        raise UsageError(str(exc)) from None
    print(f"wrote {path} (figures beside it: {path.stem}_*.png)")
    return 0
