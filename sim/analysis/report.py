"""``analyze(DIR)``: tables and figures from a result folder, never running a model.

Writes to ``DIR/analysis/``, each table as CSV and Parquet:

- ``indices``: Sobol (S1, ST, optional S2), Morris (mu*, mu, sigma) or eFAST
  (S1, ST) per level combination of the categorical factors (``cell``) and
  output, with seeded bootstrap half-widths ``conf`` (95 %);
- ``convergence``: the same indices on nested sub-samples (Sobol, Morris);
- ``seed_variance``: with replicates, the share of output variance due to seeds;
- ``levels``: with categorical factors, every output by level with intervals;
- ``failed``: the failed runs and their errors.

Replicates of a design row are averaged before the indices are computed
(the indices then describe the expected output).  A design row whose every
replicate failed, or whose output is not a number, is a gap: Sobol, Morris
and eFAST need every row, so those indices are refused for that output with a
message saying how many rows are missing, and :attr:`Report.refused` is set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.sensitivity import convergence, fast_indices, morris_indices, sobol_indices
from sim.analysis.summaries import level_summary, seed_variance
from sim.experiment.store import Store

INDEXED = ("sobol", "morris", "fast")


class AnalysisError(ValueError):
    """The result folder cannot be analysed as asked."""


@dataclass
class Report:
    dir: Path
    counts: dict[str, int]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    def text(self) -> str:
        c = self.counts
        lines = [
            f"{c['total']:,} runs: {c['done']:,} done, {c['failed']:,} failed, {c['left']:,} left"
        ]
        lines += self.notes
        idx = self.tables.get("indices")
        if idx is not None and len(idx):
            main = "mu_star" if "mu_star" in set(idx["index"]) else "ST"
            lines.append(f"most influential factor by {main} (value +- 95 % half-width):")
            scalar = idx[(idx["index"] == main) & ~idx["output"].str.contains("@")]
            for (label, out), g in scalar.groupby(["cell_label", "output"], sort=False):
                top = g.sort_values("value", ascending=False).iloc[0]
                lines.append(f"  {out} [{label}]: {top['factor']} {top['value']:.3g} +- {top['conf']:.2g}")  # fmt: skip
        lv = self.tables.get("levels")
        if lv is not None and len(lv):
            lines.append("by level (mean [95 % interval]):")
            for (f, o), g in lv.groupby(["factor", "output"], sort=False):
                if "@" in str(o):
                    continue
                cells = ", ".join(f"{r.level} {r.mean:.4g} [{r.ci_low:.4g}, {r.ci_high:.4g}]" for r in g.itertuples())  # fmt: skip
                lines.append(f"  {o} by {f}: {cells}")
        for r in self.refusals:
            lines.append(f"refused: {r}")
        lines.append(f"tables and figures in {self.dir}/")
        return "\n".join(lines)


def analyze(path: str | Path, outputs: list[str] | None = None, resamples: int = 1000, seed: int = 0,
            plots: bool = True) -> Report:  # fmt: skip
    """Analyse the result folder ``path`` (see the module docstring)."""
    store = Store(path)
    if not store.is_store():
        raise AnalysisError(f"{path}: not an experiment folder (no spec.json and design.parquet)")
    spec = store.spec()
    counts = store.counts()
    results = store.results()
    out_dir = store.path / "analysis"
    report = Report(out_dir, counts)
    if counts["done"] == 0:
        raise AnalysisError(f"{path}: no successful run stored yet ({counts['failed']} failed, {counts['left']} left)")  # fmt: skip
    measure_cols = [c for c in results.columns if c not in store.design().columns
                    and c not in ("status", "error", "warning", "duration_s")]  # fmt: skip
    if outputs is None:
        outputs = list(spec.get("outputs_resolved") or spec.get("outputs") or [])
        outputs += [c for c in measure_cols if "@" in c and c.split("@")[0] in spec.get("series", [])]  # fmt: skip
    for o in outputs:
        if o not in measure_cols:
            raise AnalysisError(f"--outputs: {o!r} is not a stored output (stored: {', '.join(measure_cols)})")  # fmt: skip
    if counts["left"]:
        report.notes.append(f"note: {counts['left']:,} runs are not done yet; the analysis covers the stored runs only")  # fmt: skip
    if counts["failed"]:
        report.notes.append(f"note: {counts['failed']:,} runs failed (see failed.csv); they are left out of every table")  # fmt: skip

    if "warning" in results:
        warned = int((results["warning"].fillna("") != "").sum())
        if warned:
            first = results.loc[results["warning"] != "", "warning"].iloc[0]
            report.notes.append(f"note: {warned:,} runs raised a warning (column 'warning' of status.parquet), e.g. {first}")  # fmt: skip
    factors = spec["factors"]
    cont = [f for f in factors if f["kind"] == "continuous"]
    cat = [f["name"] for f in factors if f["kind"] == "categorical"]
    design = store.design()
    labels = _cell_labels(design, cat)
    ok = results[results["status"] == "ok"]
    tables: dict[str, pd.DataFrame] = {}
    failed = results[results["status"] != "ok"][["run_id", "row", "replicate", "seed", "error"]]
    tables["failed"] = failed.reset_index(drop=True)

    method = spec["method"]
    if method in INDEXED:
        if counts["left"]:
            report.refusals.append(f"{method} indices: {counts['left']:,} runs are not done yet; finish the sweep (run the same command again) first")  # fmt: skip
        else:
            if method == "fast":
                report.notes.append("note: eFAST bootstrap intervals are indicative only (SALib issue 649)")  # fmt: skip
            idx, conv = _indices(spec, design, ok, outputs, labels, cont, resamples, seed, report)
            tables["indices"], tables["convergence"] = idx, conv
    if spec["replicates"] > 1:
        tables["seed_variance"] = seed_variance(ok, outputs, labels)
    if cat:
        tables["levels"] = level_summary(results, cat, outputs)
    report.tables = tables
    out_dir.mkdir(exist_ok=True)
    for name, df in tables.items():
        df.to_csv(out_dir / f"{name}.csv", index=False)
        df.to_parquet(out_dir / f"{name}.parquet", index=False)
        report.files += [out_dir / f"{name}.csv", out_dir / f"{name}.parquet"]
    if plots:
        from sim.analysis.plots import plot_all

        report.files += plot_all(out_dir)
    return report


def _cell_labels(design: pd.DataFrame, cat: list[str]) -> dict[int, str]:
    first = design.drop_duplicates("cell").sort_values("cell")
    if not cat:
        return {int(c): "all" for c in first["cell"]}
    return {int(r["cell"]): ", ".join(f"{f}={r[f]}" for f in cat) for r in first.to_dict("records")}  # fmt: skip


def _indices(spec: dict[str, Any], design: pd.DataFrame, ok: pd.DataFrame, outputs: list[str],
             labels: dict[int, str], cont: list[dict[str, Any]], resamples: int, seed: int,
             report: Report) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    method, opts = spec["method"], spec["design_options"]
    names = [f["name"] for f in cont]
    problem = {"num_vars": len(cont), "names": names, "bounds": [[f["low"], f["high"]] for f in cont]}  # fmt: skip
    rows_of = design.drop_duplicates("row").sort_values("row")
    idx_rows: list[dict[str, Any]] = []
    conv_rows: list[dict[str, Any]] = []
    constant: dict[str, list[str]] = {}
    for cell, label in labels.items():
        cell_rows = rows_of[rows_of["cell"] == cell].sort_values("sample")
        xcols = [f"raw:{n}" if f"raw:{n}" in design else n for n in names]
        x = cell_rows[xcols].to_numpy(dtype=float)
        means = ok[ok["cell"] == cell].groupby("row")[outputs].mean()
        for o in outputs:
            y = means[o].reindex(cell_rows["row"]).to_numpy(dtype=float)
            gaps = int((~np.isfinite(y)).sum())
            if gaps:
                report.refusals.append(
                    f"{method} indices of {o} [{label}]: {gaps:,} of {len(y):,} design rows have no successful "
                    f"run or a non-numeric value; the {method} estimator needs every row of its design"
                )  # fmt: skip
                continue
            if np.ptp(y) == 0:
                constant.setdefault(label, []).append(o)
                continue
            if method == "sobol":
                rs = sobol_indices(problem, y, bool(opts.get("second_order")), resamples, seed)
            elif method == "morris":
                rs = morris_indices(problem, x, y, opts["num_levels"], resamples, seed)
            else:
                rs = fast_indices(problem, y, opts["m"], resamples, seed)
            base = {"method": method, "cell": cell, "cell_label": label, "output": o}
            idx_rows += [{**base, **r} for r in rs]
            for r in convergence(method, problem, x, y, int(spec["n"]), opts, min(resamples, 200), seed):  # fmt: skip
                conv_rows.append({**base, **r})
    for label, outs in constant.items():
        report.notes.append(
            f"note: constant over the design, no indices [{label}]: {', '.join(outs)}"
        )
    cols = ["method", "cell", "cell_label", "output", "factor", "index", "value", "conf"]
    return (pd.DataFrame(idx_rows, columns=cols),
            pd.DataFrame(conv_rows, columns=[*cols, "n"]))  # fmt: skip
