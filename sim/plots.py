"""Figures of one run, drawn from the stored run folder only (analysis never
runs models).  ``plot_run(run_dir)`` writes ``figures/overview.png``: the
province's cumulative emissions against the cumulative scheduled budget, its
intensity against the target path, the barometer of city statuses per
quarter, and the cost of policy per quarter."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

STATUS_COLOURS = {"surplus": "#2e7d32", "balance": "#bdbdbd", "orange": "#fb8c00", "red": "#c62828"}


def _status_code(row: pd.Series) -> int:
    if row["status"] == "overrun":
        return 3 if row["warning"] == "red" else 2
    return {"surplus": 0, "balance": 1}.get(row["status"], 1)


# what plot_run reads of a run folder: table -> columns it needs (numeric unless listed in TEXT)
NEEDED: dict[str, tuple[str, ...]] = {
    "quarterly": ("t", "year", "quarter", "period", "city", "emissions", "emissions_estimate",
                  "schedule", "status", "warning", "restriction_gdp_loss", "fiscal_cost",
                  "pricing_revenue"),
    "annual": ("year", "period", "city", "intensity", "accounted"),
    "events": ("kind", "city"),
    "monitoring": ("t", "city", "ratio", "status"),
}  # fmt: skip
TEXT = ("city", "status", "warning", "kind")


class RunFolderError(ValueError):
    """A folder that is not a complete, readable run folder."""


def read_run(run_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """Read and validate what the figures need; raise :class:`RunFolderError`
    (one line naming the file and the reason) for anything missing or damaged."""
    try:
        return _read_run(Path(run_dir))
    except RunFolderError:
        raise
    except (OSError, ValueError) as exc:  # name too long, NUL byte, no permission, ...
        why = getattr(exc, "strerror", None) or str(exc)
        raise RunFolderError(f"{run_dir}: cannot be read as a run folder ({why})") from None


def _read_run(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    import pyarrow as pa

    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir}: not a folder")
    man = run_dir / "manifest.json"
    if not man.is_file():
        raise RunFolderError(f"{run_dir}: not a run folder (no manifest.json)")
    try:
        m = json.loads(man.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunFolderError(f"{man}: not readable JSON ({exc.__class__.__name__})") from None
    if not isinstance(m, dict) or not isinstance(m.get("files"), list):
        raise RunFolderError(f"{man}: not a run manifest (no list of files)")
    tables = {}
    for name, cols in NEEDED.items():
        path = run_dir / f"{name}.parquet"
        if not path.is_file():
            raise RunFolderError(f"{path}: missing")
        try:
            df = pd.read_parquet(path)
        except (OSError, ValueError, pa.ArrowException) as exc:
            why = str(exc).splitlines()[0][:80] if str(exc) else exc.__class__.__name__
            raise RunFolderError(f"{path}: not a readable Parquet table ({why})") from None
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise RunFolderError(f"{path}: not a {name} table (no column {missing[0]!r})")
        for c in cols:
            numeric = pd.api.types.is_numeric_dtype(df[c])
            if numeric == (c in TEXT) and not (c in TEXT and df[c].empty):
                raise RunFolderError(f"{path}: column {c!r} has the wrong type ({df[c].dtype})")
        tables[name] = df
    q, a = tables["quarterly"], tables["annual"]
    if not ((q.city == "province") & (q.period >= 0)).any():
        raise RunFolderError(f"{run_dir / 'quarterly.parquet'}: no province rows in a plan period")
    if not ((a.city == "province") & (a.period >= 0)).any():
        raise RunFolderError(f"{run_dir / 'annual.parquet'}: no province rows in a plan period")
    fpath = run_dir / "final_account.json"
    try:
        fa = json.loads(fpath.read_text(encoding="utf-8"))["periods"]
    except FileNotFoundError:
        raise RunFolderError(f"{fpath}: missing") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunFolderError(f"{fpath}: not a final account ({exc.__class__.__name__})") from None
    if not isinstance(fa, list) or not fa:
        raise RunFolderError(f"{fpath}: 'periods' is not a non-empty list")
    for i, f in enumerate(fa):
        ok = isinstance(f, dict) and all(
            isinstance(f.get(k), int) and not isinstance(f.get(k), bool)
            for k in ("period", "start_year", "end_year")
        )
        ok = ok and isinstance(f.get("grade"), str) and isinstance(f.get("composite"), (int, float))
        ok = ok and isinstance(f.get("measures"), dict)
        ok = ok and isinstance(f["measures"].get("intensity_target"), (int, float))
        if not ok or f["end_year"] < f["start_year"]:
            raise RunFolderError(f"{fpath}: periods[{i}] is not a period's final account")
    fig = run_dir / "figures"
    if fig.exists() and (fig.is_symlink() or not fig.is_dir()):
        raise RunFolderError(f"{fig}: exists and is not a folder")
    return q, a, fa


def plot_run(run_dir: str | Path, title: str | None = None) -> list[Path]:
    """Write the overview figure of a run folder; returns the files written.

    The folder is validated first (:func:`read_run`); the figure is drawn to a
    temporary file and renamed into place, so a failure leaves nothing behind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    run_dir = Path(run_dir)
    q, a, fa = read_run(run_dir)
    out_dir = run_dir / "figures"
    prov = q[q.city == "province"]
    per = prov[prov.period >= 0]
    fig, ax = plt.subplots(2, 2, figsize=(13, 8.5), constrained_layout=True)

    # (a) cumulative emissions vs cumulative scheduled budget (time progress)
    x = per.year + (per.quarter - 1) / 4
    for p, g in per.groupby("period"):
        xs = g.year + (g.quarter - 1) / 4
        ax[0, 0].plot(
            xs, g.emissions.cumsum(), color="black", label="true emissions" if p == 0 else None
        )
        est = g.emissions_estimate.where(g.emissions_estimate > 0)
        ax[0, 0].plot(
            xs, est.cumsum(), color="tab:blue", ls="--", label="fast estimate" if p == 0 else None
        )
        ax[0, 0].plot(
            xs, g.schedule.cumsum(), color="tab:green", label="scheduled budget" if p == 0 else None
        )
    ax[0, 0].set_title("Province: cumulative emissions vs schedule")
    ax[0, 0].set_ylabel("Mt CO2 (cumulative within period)")
    ax[0, 0].legend()

    # (b) intensity vs target path
    pa = a[a.city == "province"]
    ax[0, 1].plot(pa.year, pa.intensity, marker="o", color="black", label="intensity (true)")
    for f in fa:
        base = pa[pa.year == f["start_year"] - 1].intensity
        if base.empty:
            continue
        b = float(base.iloc[0])
        yrs = np.arange(f["start_year"] - 1, f["end_year"] + 1)
        k = yrs - yrs[0]
        path = b * (1 - f["measures"]["intensity_target"]) ** (k / (len(yrs) - 1))
        ax[0, 1].plot(
            yrs, path, color="tab:red", ls="--", label="target path" if f["period"] == 0 else None
        )
    ax[0, 1].set_title("Province carbon intensity vs target")
    ax[0, 1].set_ylabel("t CO2 per 10,000 CNY")
    ax[0, 1].legend()

    # (c) barometer heatmap
    cities = q[(q.city != "province") & (q.period >= 0)].copy()
    cities["code"] = cities.apply(_status_code, axis=1)
    mat = cities.pivot_table(index="city", columns="t", values="code", aggfunc="first", sort=False)
    cmap = ListedColormap([STATUS_COLOURS[k] for k in ("surplus", "balance", "orange", "red")])
    ax[1, 0].imshow(
        mat.to_numpy(), aspect="auto", cmap=cmap, vmin=0, vmax=3, interpolation="nearest"
    )
    ax[1, 0].set_yticks(range(len(mat.index)), mat.index, fontsize=7)
    ticks = [i for i, t in enumerate(mat.columns) if t % 4 == 0]
    ax[1, 0].set_xticks(
        ticks, [str(int(cities[cities.t == mat.columns[i]].year.iloc[0])) for i in ticks]
    )
    ax[1, 0].set_title("Barometer: surplus (green), balance (grey), overrun orange / red")

    # (d) cost of policy per quarter
    ax[1, 1].bar(
        x,
        per.restriction_gdp_loss,
        width=0.22,
        color="tab:red",
        label="production restriction loss",
    )
    ax[1, 1].plot(x, per.fiscal_cost, color="tab:blue", marker=".", label="fiscal cost (subsidies)")
    ax[1, 1].plot(x, per.pricing_revenue, color="tab:green", marker=".", label="pricing revenue")
    ax[1, 1].set_title("Cost of policy per quarter")
    ax[1, 1].set_ylabel("bn CNY")
    ax[1, 1].legend()
    grade = ", ".join(
        f"{f['start_year']}-{f['end_year']}: {f['grade']} ({f['composite']:.0f})" for f in fa
    )
    fig.suptitle(f"{title or run_dir.name} — final account {grade}")
    path = out_dir / "overview.png"
    made = not out_dir.exists()
    out_dir.mkdir(exist_ok=True)
    tmp = out_dir / f".tmp-{os.getpid()}-overview.png"
    try:
        fig.savefig(tmp, dpi=110, format="png")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        if made:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    finally:
        plt.close(fig)
    return [path]


def plot_compare(summary: pd.DataFrame, path: str | Path) -> Path:
    """Bar chart of the headline measures per regime with 95 % intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    labels = list(dict.fromkeys(summary["label"]))
    summary = summary.copy()
    if "period" in summary and summary["period"].nunique() > 1:  # one bar per regime and period
        summary["regime"] = (
            summary["regime"] + "\n" + summary["start_year"].astype(str) + "-"
            + summary["end_year"].astype(str)
        )  # fmt: skip
    regimes = list(dict.fromkeys(summary["regime"]))
    ncol = 3
    nrow = -(-len(labels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 2.9 * nrow), constrained_layout=True)
    for ax, lab in zip(np.ravel(axes), labels, strict=False):
        g = summary[summary.label == lab].set_index("regime").reindex(regimes)
        err = np.vstack([g["mean"] - g["ci_low"], g["ci_high"] - g["mean"]])
        err = np.where(np.isfinite(err), err, 0.0)
        ax.bar(range(len(regimes)), g["mean"], yerr=err, capsize=3, color="tab:blue", alpha=0.8)
        ax.set_xticks(range(len(regimes)), regimes, rotation=20, fontsize=8)
        ax.set_title(lab, fontsize=9)
    for ax in np.ravel(axes)[len(labels) :]:
        ax.axis("off")
    fig.suptitle("Regimes on common random numbers: mean and 95 % interval")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
