"""The result store: one folder per experiment, written as runs arrive.

::

    DIR/spec.json            the resolved spec (identity hash included)
    DIR/design.parquet       the design table (one row per run, seeds included)
    DIR/manifest.json        versions, git commit, sessions (start, executor, workers)
    DIR/parts/part-*.parquet records as they arrived: run_id, status (ok|failed),
                             error, warning, duration_s, then every measure and series column
    DIR/status.parquet       run_id, row, replicate, seed, status, error, warning, duration_s
    DIR/results.parquet      the design joined with the measures, by run_id
                             (status and results are rewritten at the end of a session)
    DIR/analysis/            tables and figures of ``experiment analyze``

Every file is written to a temporary name and renamed, so a crash (even
``kill -9``) leaves whole files only; a run counts as done once it is in a
part.  This module reads and writes files only: it never imports the model,
so :mod:`sim.analysis` can use it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim.experiment.spec import ExperimentError

STATUS_COLUMNS = ["run_id", "status", "error", "warning", "duration_s"]
DESIGN_META = ["run_id", "row", "cell", "sample", "replicate", "seed"]


def atomic_write(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=2, default=_json_default) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


class Store:
    """A result folder (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.parts_dir = self.path / "parts"

    # ------------------------------------------------------------ state --
    def is_store(self) -> bool:
        return (self.path / "spec.json").is_file() and (self.path / "design.parquet").is_file()

    def require(self) -> Store:
        if not self.is_store():
            raise ExperimentError(f"{self.path}: not an experiment folder (no spec.json and design.parquet)")  # fmt: skip
        return self

    def spec(self) -> dict[str, Any]:
        return json.loads((self.path / "spec.json").read_text())

    def manifest(self) -> dict[str, Any]:
        p = self.path / "manifest.json"
        return json.loads(p.read_text()) if p.is_file() else {}

    def design(self) -> pd.DataFrame:
        return pd.read_parquet(self.path / "design.parquet")

    # ---------------------------------------------------------- writing --
    def create(self, spec: dict[str, Any], design: pd.DataFrame, manifest: dict[str, Any]) -> None:
        """Start a new experiment folder (the caller checked it may)."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.parts_dir.mkdir(exist_ok=True)
        atomic_write(self.path / "design.parquet", lambda t: design.to_parquet(t, index=False))
        write_json(self.path / "manifest.json", manifest)
        write_json(self.path / "spec.json", spec)  # last: marks the folder as a store

    def add_session(self, session: dict[str, Any]) -> None:
        m = self.manifest()
        m.setdefault("sessions", []).append(session)
        write_json(self.path / "manifest.json", m)

    def append(self, records: list[dict[str, Any]]) -> None:
        """Write one part holding ``records`` (atomically)."""
        if not records:
            return
        self.parts_dir.mkdir(exist_ok=True)
        df = pd.DataFrame.from_records(records)
        df["error"] = df["error"].astype(str)
        df["status"] = df["status"].astype(str)
        df["warning"] = df["warning"].astype(str)
        existing = sorted(self.parts_dir.glob("part-*.parquet"))
        idx = int(existing[-1].stem.split("-")[1]) + 1 if existing else 0
        atomic_write(self.parts_dir / f"part-{idx:06d}.parquet", lambda t: df.to_parquet(t, index=False))  # fmt: skip

    # ---------------------------------------------------------- reading --
    def records(self, columns: list[str] | None = None) -> pd.DataFrame:
        """Every stored record, one per run (the first written wins), by run_id."""
        parts = sorted(self.parts_dir.glob("part-*.parquet")) if self.parts_dir.is_dir() else []
        frames = []
        for p in parts:
            if columns is None:
                frames.append(pd.read_parquet(p))
            else:
                have = pq.read_schema(p).names
                frames.append(pd.read_parquet(p, columns=[c for c in columns if c in have]))
        if not frames:
            return pd.DataFrame({c: pd.Series(dtype=float) for c in (columns or STATUS_COLUMNS)})
        df = pd.concat(frames, ignore_index=True)
        df = df.drop_duplicates("run_id", keep="first").sort_values("run_id", kind="stable")
        return df.reset_index(drop=True)

    def done_ids(self) -> set[int]:
        return set(self.records(["run_id"])["run_id"].astype(int))

    def status_table(self) -> pd.DataFrame:
        design = self.design()[["run_id", "row", "replicate", "seed"]]
        rec = self.records(STATUS_COLUMNS)
        return design.merge(rec, on="run_id", how="inner")

    def results(self) -> pd.DataFrame:
        """The design joined with every stored record (runs not yet done are absent)."""
        return self.design().merge(self.records(), on="run_id", how="inner")

    def counts(self) -> dict[str, int]:
        total = len(self.design())
        rec = self.records(["run_id", "status"])
        ok = int((rec["status"] == "ok").sum())
        failed = int((rec["status"] == "failed").sum())
        return {"total": total, "done": ok, "failed": failed, "left": total - ok - failed}

    def consolidate(self) -> None:
        """Rewrite status.parquet and results.parquet from the parts."""
        st = self.status_table()
        atomic_write(self.path / "status.parquet", lambda t: st.to_parquet(t, index=False))
        res = self.results()
        atomic_write(self.path / "results.parquet", lambda t: res.to_parquet(t, index=False))
