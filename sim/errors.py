"""What the front doors (command line, page) share about bad input: it is
reported as one line naming the problem, with exit code 2."""

from __future__ import annotations

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit code 2."""
