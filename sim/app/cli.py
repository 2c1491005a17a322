"""``carbon-budget app [SCENARIO] [--port N]`` (hooked into :mod:`sim.cli` by
:func:`add_parser`): serve the teaching page on 127.0.0.1."""

from __future__ import annotations

import argparse
import os
import sys

ENV_SCENARIO = "CARBON_BUDGET_APP_SCENARIO"


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number in [1, 65535], got {value}")
    return value


def add_parser(sub) -> None:
    a = sub.add_parser(
        "app",
        help="serve the teaching page (watch or play the province)",
        description="Serve the teaching page on http://127.0.0.1:PORT/ (Solara; works offline once "
        "'make app' or 'make test' has unpacked the front-end files): pick a scenario, set the "
        "parameters, step, play, pause and reset, or play the province at each annual account.",
    )
    a.add_argument("scenario", nargs="?", default="tiny",
                   help="built-in scenario name or TOML file shown first (default: tiny)")  # fmt: skip
    a.add_argument("--port", type=_port, default=8765, help="port (default: 8765)")
    a.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    from sim.app.session import resolve_scenario
    from sim.scenario import load_scenario

    try:
        import solara  # noqa: F401
    except ImportError:
        from sim.errors import UsageError

        raise UsageError(
            "the page needs the 'app' extra: pip install -e '.[app]' (or make app)"
        ) from None
    load_scenario(resolve_scenario(args.scenario))  # bad scenario: one line, exit 2
    env = {**os.environ, ENV_SCENARIO: args.scenario, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    url = f"http://127.0.0.1:{args.port}/"
    print(f"carbon-budget app: serving {args.scenario} at {url} (Ctrl-C stops)", flush=True)
    cmd = [sys.executable, "-m", "solara", "run", "sim.app.page", "--host", "127.0.0.1",
           "--port", str(args.port), "--production", "--no-open"]  # fmt: skip
    os.execve(sys.executable, cmd, env)  # the server replaces this process (one pid to stop)
    return 0  # pragma: no cover
