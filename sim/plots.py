"""Figures of one run, drawn from the stored run folder only (analysis never
runs models).  ``plot_run(run_dir)`` writes ``figures/overview.png``: the
province's cumulative emissions against the cumulative scheduled budget, its
intensity against the target path, the barometer of city statuses per
quarter, and the cost of policy per quarter."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

STATUS_COLOURS = {"surplus": "#2e7d32", "balance": "#bdbdbd", "orange": "#fb8c00", "red": "#c62828"}


def _status_code(row: pd.Series) -> int:
    if row["status"] == "overrun":
        return 3 if row["warning"] == "red" else 2
    return {"surplus": 0, "balance": 1}.get(row["status"], 1)


def plot_run(run_dir: str | Path) -> list[Path]:
    """Write the overview figure of a run folder; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    run_dir = Path(run_dir)
    q = pd.read_parquet(run_dir / "quarterly.parquet")
    a = pd.read_parquet(run_dir / "annual.parquet")
    fa = json.loads((run_dir / "final_account.json").read_text())["periods"]
    out_dir = run_dir / "figures"
    out_dir.mkdir(exist_ok=True)
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
    fig.suptitle(f"{run_dir.name} — final account {grade}")
    path = out_dir / "overview.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def plot_compare(summary: pd.DataFrame, path: str | Path) -> Path:
    """Bar chart of the headline measures per regime with 95 % intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    labels = list(dict.fromkeys(summary["label"]))
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
