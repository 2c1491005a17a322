"""Helpers shared by several test modules (imported as ``_helpers``)."""

from __future__ import annotations

import contextlib
import io

from sim.cli import main

# a spec whose model is the Ishigami function (the test hook of the experiment layer)
ISHIGAMI = """name = "ishigami"
model = "ishigami"
replicates = {reps}
seed = 1
outputs = ["y", "y_noisy"]
{extra}
[design]
method = "{method}"
n = {n}
[factors]
x1 = [-3.141592653589793, 3.141592653589793]
x2 = [-3.141592653589793, 3.141592653589793]
x3 = [-3.141592653589793, 3.141592653589793]
"""


def cli_main(argv: list[str]) -> tuple[int, str, str]:
    """Run ``carbon-budget argv`` in process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()
