"""Status-driven policy packages (MODEL.md 4.4).

A package is a row of instrument strengths in [0, 1]; the scenario's
``package.<key>.<instrument>`` parameters form the table, so experiments can
vary it.  Keys: ``surplus``, ``balance``, ``overrun_orange`` and
``overrun_red`` (an overrun graded by its warning colour).  ``off`` (all zero)
is used where a regime runs no packages.
"""

from __future__ import annotations

import numpy as np

from sim.params import PACKAGE_KEYS
from sim.policies.instruments import INSTRUMENT_IDS

OFF = "off"
ALL_KEYS: tuple[str, ...] = (*PACKAGE_KEYS, OFF)
WARNING_COLOURS = ("green", "orange", "red")


def package_table(values: dict) -> np.ndarray:
    """Strength matrix (len(ALL_KEYS) x instruments) from scenario values."""
    m = np.zeros((len(ALL_KEYS), len(INSTRUMENT_IDS)))
    for i, key in enumerate(PACKAGE_KEYS):
        for j, iid in enumerate(INSTRUMENT_IDS):
            m[i, j] = values[f"package.{key}.{iid}"]
    return m


def package_key(status: str, warning: int) -> str:
    """The package a status and warning level call for (warning 1 orange, 2 red)."""
    if status == "overrun":
        return "overrun_red" if warning >= 2 else "overrun_orange"
    return status
