"""Golden-file regression of the ``tiny`` final account (seed 7).

Every numeric value of the final account (measures, dimension scores, the
composite and the per-city figures) is compared with the stored file at a
relative tolerance of 1e-6; the grade, the target verdict and the labels are
compared exactly.  A failure names every value that moved.

When a change to the model is intended, regenerate the file and review the
diff like code::

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py

(the test then rewrites ``tests/golden/tiny_final_account.json`` and is skipped).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

GOLDEN = Path(__file__).parent / "golden" / "tiny_final_account.json"
SEED = 7
REL = 1e-6
ABS = 1e-12  # values that are exactly zero in the file


def _flatten(fa: dict[str, Any]) -> tuple[dict[str, float | None], dict[str, Any]]:
    """(numbers, exact fields) of a final account; NaN is stored as None (JSON null)."""
    nums: dict[str, float | None] = {}

    def put(key: str, v: Any) -> None:
        x = float(v)
        nums[key] = None if math.isnan(x) else x

    for k, v in fa["measures"].items():
        put(f"measures.{k}", v)
    for k, v in fa["dimensions"].items():
        put(f"dimensions.{k}", v)
    put("composite", fa["composite"])
    exact: dict[str, Any] = {k: fa[k] for k in ("period", "start_year", "end_year", "mode", "regime",
                                                "binding", "target_met", "grade")}  # fmt: skip
    for c in fa["cities"]:
        for k, v in c.items():
            if k == "city":
                continue
            if isinstance(v, bool):
                exact[f"cities.{c['city']}.{k}"] = v
            else:
                put(f"cities.{c['city']}.{k}", v)
    return nums, exact


def _moved(old: float | None, new: float | None) -> bool:
    if old is None or new is None:
        return (old is None) != (new is None)
    return not math.isclose(new, old, rel_tol=REL, abs_tol=ABS)


def test_tiny_final_account_matches_golden_file(tiny_run):
    assert tiny_run.seed == SEED
    nums, exact = _flatten(tiny_run.final_account)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        data = {"scenario": "tiny", "seed": SEED, "exact": exact, "numbers": nums}
        GOLDEN.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        pytest.skip(f"UPDATE_GOLDEN=1: rewrote {GOLDEN.name}")
    assert GOLDEN.is_file(), f"{GOLDEN} missing: run with UPDATE_GOLDEN=1 to create it"
    gold = json.loads(GOLDEN.read_text())
    assert (gold["scenario"], gold["seed"]) == ("tiny", SEED)
    problems = []
    for key in sorted(set(gold["numbers"]) | set(nums)):
        if key not in nums:
            problems.append(f"{key}: in the golden file, no longer produced")
        elif key not in gold["numbers"]:
            problems.append(f"{key}: new value {nums[key]!r}, not in the golden file")
        elif _moved(gold["numbers"][key], nums[key]):
            old, new = gold["numbers"][key], nums[key]
            rel = (
                f" ({(new - old) / abs(old):+.3g} rel)"
                if old is not None and new is not None and old != 0
                else ""
            )
            problems.append(f"{key}: {old!r} -> {new!r}{rel}")
    for key in sorted(set(gold["exact"]) | set(exact)):
        if gold["exact"].get(key, "<missing>") != exact.get(key, "<missing>"):
            problems.append(
                f"{key}: {gold['exact'].get(key, '<missing>')!r} -> {exact.get(key, '<missing>')!r}"
            )
    assert not problems, (
        f"{len(problems)} value(s) of the tiny final account (seed {SEED}) moved "
        "(if intended, regenerate with UPDATE_GOLDEN=1):\n  " + "\n  ".join(problems)
    )


def test_golden_comparison_detects_a_moved_measure():
    # the comparison itself: a 1e-5 relative change is caught, 1e-7 is not, NaN == NaN
    assert _moved(100.0, 100.001)
    assert not _moved(100.0, 100.00001)
    assert not _moved(None, None)
    assert _moved(None, 0.0) and _moved(1.0, None)
    assert not _moved(0.0, 1e-13)
