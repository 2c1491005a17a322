"""Figures of an analysed result folder, drawn from the analysis tables only
(``DIR/analysis/*.parquet``), so ``experiment plot`` redraws them without
recomputing anything.

- ``indices[-cell<k>].png``: S1 and ST (Sobol, eFAST) or mu* and sigma
  (Morris) per factor, one panel per output, with 95 % bootstrap bars (the
  25 largest when there are more factors);
- ``convergence.png``: ST (Sobol) or mu* (Morris) against the number of base
  samples / trajectories, with the bootstrap band (the 8 largest factors);
- ``series.png``: ST or mu* of per-year outputs against the year (8 largest);
- ``levels-<factor>.png``: every output by level, mean and 95 % interval.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

MAX_PANELS = 12
MAX_FACTORS = 25  # bars per panel; the tables hold every factor
MAX_LINES = 8  # lines per convergence or series panel


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _grid(n: int, height: float = 3.2):
    plt = _plt()
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, height * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def _read(d: Path, name: str) -> pd.DataFrame | None:
    p = d / f"{name}.parquet"
    return pd.read_parquet(p) if p.is_file() else None


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def _short(name: str) -> str:
    """A factor's name without its section (``monitoring.fast_noise`` -> ``fast_noise``)."""
    return name.split(".", 1)[-1]


def plot_all(analysis_dir: str | Path) -> list[Path]:
    """Draw every figure the stored tables allow; returns the files written."""
    d = Path(analysis_dir)
    out: list[Path] = []
    idx = _read(d, "indices")
    if idx is not None and len(idx):
        scalar = idx[~idx["output"].str.contains("@")]
        cells = list(dict.fromkeys(scalar["cell_label"]))
        for k, label in enumerate(cells):
            name = "indices.png" if len(cells) == 1 else f"indices-cell{k}.png"
            out.append(_plot_indices(scalar[scalar["cell_label"] == label], label, d / name))
        series = idx[idx["output"].str.contains("@")]
        if len(series):
            out.append(_plot_series(series, d / "series.png"))
    conv = _read(d, "convergence")
    if conv is not None and len(conv):
        out.append(_plot_convergence(conv, d / "convergence.png"))
    lv = _read(d, "levels")
    if lv is not None and len(lv):
        for f, g in lv.groupby("factor", sort=False):
            out.append(_plot_levels(g, str(f), d / f"levels-{_slug(str(f))}.png"))
    return out


def _plot_indices(df: pd.DataFrame, label: str, path: Path) -> Path:
    morris = "mu_star" in set(df["index"])
    pair = ("mu_star", "sigma") if morris else ("S1", "ST")
    outputs = list(dict.fromkeys(df["output"]))[:MAX_PANELS]
    n_f = min(MAX_FACTORS, df[df["index"] == pair[0]].groupby("output").size().max())
    fig, axes = _grid(len(outputs), max(3.2, 0.5 + 0.22 * n_f))
    for ax, o in zip(axes, outputs, strict=False):
        g = df[df["output"] == o]
        first = g[g["index"] == pair[0]]
        if len(first) > MAX_FACTORS:  # many factors (screening): the largest only
            first = first.sort_values("value", ascending=False).head(MAX_FACTORS)
        factors = list(dict.fromkeys(first["factor"]))
        ypos = range(len(factors))
        for j, ind in enumerate(pair):
            h = g[g["index"] == ind].set_index("factor").reindex(factors)
            err = h["conf"].fillna(0).clip(lower=0).to_numpy()
            ax.barh([y + (j - 0.5) * 0.38 for y in ypos], h["value"], height=0.38, xerr=err,
                    label=ind, capsize=2)  # fmt: skip
        ax.set_yticks(list(ypos), [_short(f) for f in factors], fontsize=7)
        ax.invert_yaxis()
        ax.set_title(o, fontsize=9)
        ax.axvline(0, color="0.5", lw=0.5)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{'Morris' if morris else 'sensitivity'} indices, 95 % bootstrap bars [{label}]", fontsize=10)  # fmt: skip
    return _save(fig, path)


def _plot_convergence(df: pd.DataFrame, path: Path) -> Path:
    df = df[df["cell"] == df["cell"].min()]
    ind = "mu_star" if "mu_star" in set(df["index"]) else "ST"
    df = df[df["index"] == ind]
    outputs = list(dict.fromkeys(df["output"]))[:MAX_PANELS]
    fig, axes = _grid(len(outputs))
    for ax, o in zip(axes, outputs, strict=False):
        g = df[df["output"] == o]
        last = g[g["n"] == g["n"].max()].sort_values("value", ascending=False)
        g = g[g["factor"].isin(last["factor"].head(MAX_LINES))]  # the largest at full N
        for f, h in g.groupby("factor", sort=False):
            h = h.sort_values("n")
            line = ax.plot(h["n"], h["value"], marker="o", ms=3, lw=1, label=_short(str(f)))
            ax.fill_between(h["n"], h["value"] - h["conf"], h["value"] + h["conf"],
                            color=line[0].get_color(), alpha=0.15)  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_title(o, fontsize=9)
        ax.set_xlabel("base samples" if ind == "ST" else "trajectories", fontsize=8)
        ax.legend(fontsize=5)
    fig.suptitle(
        f"convergence of {ind} on nested sub-samples (the {MAX_LINES} largest)", fontsize=10
    )
    return _save(fig, path)


def _plot_series(df: pd.DataFrame, path: Path) -> Path:
    df = df[df["cell"] == df["cell"].min()].copy()
    ind = "mu_star" if "mu_star" in set(df["index"]) else "ST"
    df = df[df["index"] == ind]
    df["column"] = df["output"].str.split("@").str[0]
    df["year"] = df["output"].str.split("@").str[1].astype(int)
    cols = list(dict.fromkeys(df["column"]))[:MAX_PANELS]
    fig, axes = _grid(len(cols))
    for ax, c in zip(axes, cols, strict=False):
        g = df[df["column"] == c]
        top = g.groupby("factor")["value"].max().sort_values(ascending=False).head(MAX_LINES)
        for f, h in g[g["factor"].isin(top.index)].groupby("factor", sort=False):
            h = h.sort_values("year")
            ax.plot(h["year"], h["value"], marker="o", ms=3, lw=1, label=_short(str(f)))
        ax.set_title(f"{c}: {ind} per year", fontsize=9)
        ax.legend(fontsize=5)
    return _save(fig, path)


def _plot_levels(df: pd.DataFrame, factor: str, path: Path) -> Path:
    outputs = list(dict.fromkeys(df["output"]))[:MAX_PANELS]
    fig, axes = _grid(len(outputs))
    for ax, o in zip(axes, outputs, strict=False):
        g = df[df["output"] == o]
        x = range(len(g))
        lo = (g["mean"] - g["ci_low"]).fillna(0).to_numpy()
        hi = (g["ci_high"] - g["mean"]).fillna(0).to_numpy()
        ax.errorbar(list(x), g["mean"], yerr=[lo, hi], fmt="o", capsize=3)
        ax.set_xticks(list(x), g["level"], rotation=30, ha="right", fontsize=7)
        ax.set_title(o, fontsize=9)
    fig.suptitle(f"outputs by {factor}: mean and 95 % interval", fontsize=10)
    return _save(fig, path)
