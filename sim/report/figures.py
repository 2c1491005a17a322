"""Figures of a run, drawn from its tidy tables (no model), labelled in English
or Chinese through :mod:`sim.labels`.  Shared by the report and the teaching
page, so both show the same charts.

Chinese labels need a CJK font: :func:`use_language` registers the first one
found on the machine (WenQuanYi, Noto CJK, Source Han, Droid Sans Fallback;
``make test`` installs Debian's ``fonts-wqy-microhei`` where apt is available)
and raises ``RuntimeError`` naming the fix when there is none, instead of
drawing empty boxes.

The page's five charts are the :class:`LiveChart` classes at the end: built
once, then updated in place quarter by quarter (the report draws its figures
once with the ``fig_*`` functions).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.labels import event_label, tr

STATUS_COLOURS = ("#2e7d32", "#bdbdbd", "#fb8c00", "#c62828")  # surplus, balance, orange, red
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts"))
CJK_FILE_HINTS = ("wqy", "notosanscjk", "notoserifcjk", "sourcehan", "droidsansfallback", "simhei")
TIMELINE_KINDS = (
    "warning",
    "package_switch",
    "adjustment",
    "trade",
    "listed_quota_granted",
    "major_project_approved",
    "campaign",
    "steering",
    "steering_restriction",
)
_CJK_FAMILY: list[str] = []


def cjk_font() -> str | None:
    """Register and return the family name of a CJK font found on the machine."""
    if _CJK_FAMILY:
        return _CJK_FAMILY[0]
    from matplotlib import font_manager

    for d in FONT_DIRS:
        root = Path(d)
        if not root.is_dir():
            continue
        for f in sorted(root.rglob("*")):
            if f.suffix.lower() in (".ttf", ".ttc", ".otf") and any(
                h in f.name.lower().replace("-", "").replace("_", "") for h in CJK_FILE_HINTS
            ):
                font_manager.fontManager.addfont(str(f))
                family = font_manager.FontProperties(fname=str(f)).get_name()
                _CJK_FAMILY.append(family)
                return family
    return None


def use_language(lang: str) -> dict[str, Any]:
    """Matplotlib rc settings for ``lang`` (a CJK font for Chinese)."""
    if lang != "zh":
        return {}
    family = cjk_font()
    if family is None:
        raise RuntimeError(
            "no CJK font found for Chinese figure labels: install one "
            "(Debian: apt-get install fonts-wqy-microhei)"
        )
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [family, "DejaVu Sans"],
        "axes.unicode_minus": False,
    }


def _x(df: pd.DataFrame) -> pd.Series:
    return df.year + (df.quarter - 1) / 4


def status_matrix(q: pd.DataFrame) -> pd.DataFrame:
    """City x quarter codes 0 surplus, 1 balance, 2 overrun orange, 3 overrun red."""
    c = q[(q.city != "province") & (q.period >= 0)]
    code = np.where(
        c.status == "overrun",
        np.where(c.warning == "red", 3, 2),
        np.where(c.status == "surplus", 0, 1),
    )
    c = c.assign(code=code, x=_x(c))
    return c.pivot_table(index="city", columns="x", values="code", aggfunc="first", sort=False)


def fig_barometer(q: pd.DataFrame, lang: str, ax=None):
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    fig, ax = _axes(ax, (8, 2.2 + 0.25 * q.city.nunique()))
    mat = status_matrix(q)
    if mat.shape[1]:
        xs = np.asarray(mat.columns, dtype=float)
        ax.imshow(mat.to_numpy(dtype=float), aspect="auto", cmap=ListedColormap(STATUS_COLOURS),
                  vmin=0, vmax=3, interpolation="nearest",
                  extent=(xs[0] - 0.125, xs[-1] + 0.125, len(mat.index) - 0.5, -0.5))  # fmt: skip
        ax.set_yticks(range(len(mat.index)), list(mat.index), fontsize=8)
    keys = ("surplus", "balance", "overrun_orange", "overrun_red")
    ax.legend(handles=[Patch(color=c, label=tr(k, lang)) for c, k in zip(STATUS_COLOURS, keys, strict=True)],
              loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=4, fontsize=8, frameon=False)  # fmt: skip
    ax.set_title(tr("chart_barometer", lang))
    _years(ax)
    return fig


def fig_progress(q: pd.DataFrame, lang: str, ax=None):
    """Cumulative emissions over the cumulative scheduled budget: 1 is on
    schedule (time progress), above 1 is ahead of the budget (overrun)."""
    fig, ax = _axes(ax, (8, 3.6))
    per = q[q.period >= 0]
    name_cities = per.city.nunique() <= 9  # with more, the barometer names them
    for (city, _p), g in per.groupby(["city", "period"], sort=False):
        sched = g.schedule.cumsum().to_numpy()
        ratio = np.divide(g.emissions.cumsum().to_numpy(), sched,
                          out=np.full(len(g), np.nan), where=sched > 0)  # fmt: skip
        prov = city == "province"
        ax.plot(_x(g), ratio, color="black" if prov else None, lw=2.4 if prov else 1.0,
                alpha=1 if prov else 0.7, label=tr("province", lang) if prov and _p == 0 else
                (city if _p == 0 and name_cities else None))  # fmt: skip
    ax.axhline(1.0, color="tab:green", ls="--", lw=1, label=tr("scheduled_budget", lang))
    ax.set_ylabel(tr("ratio", lang))
    ax.set_title(tr("chart_progress", lang))
    _years(ax)
    if len(per):
        ax.legend(fontsize=7, ncol=4)
    return fig


def fig_intensity(a: pd.DataFrame, targets: Iterable[tuple[int, int, float]], lang: str, ax=None):
    """Province intensity by year against each period's target path
    (``targets``: start year, end year, intensity reduction target)."""
    fig, ax = _axes(ax, (8, 3.4))
    pa = a[a.city == "province"]
    ax.plot(pa.year, pa.intensity, marker="o", color="black", label=tr("intensity", lang))
    for i, (y0, y1, target) in enumerate(targets):
        base = pa[pa.year == y0 - 1].intensity
        if base.empty:
            continue
        yrs = np.arange(y0 - 1, y1 + 1)
        path = float(base.iloc[0]) * (1 - target) ** ((yrs - yrs[0]) / (len(yrs) - 1))
        ax.plot(
            yrs, path, color="tab:red", ls="--", label=tr("target_path", lang) if i == 0 else None
        )
    ax.set_ylabel(tr("unit_intensity", lang))
    ax.set_title(tr("chart_intensity", lang))
    ax.legend(fontsize=8)
    return fig


def fig_cost(q: pd.DataFrame, lang: str, ax=None):
    fig, ax = _axes(ax, (8, 3.2))
    prov = q[(q.city == "province") & (q.period >= 0)]
    x = _x(prov)
    ax.bar(x, prov.restriction_gdp_loss, width=0.2, color="tab:red", label=tr("gdp_loss", lang))
    ax.plot(x, prov.fiscal_cost, color="tab:blue", marker=".", label=tr("fiscal_cost", lang))
    ax.set_ylabel(tr("unit_bn", lang))
    ax.set_title(tr("chart_cost", lang))
    _years(ax)
    ax.legend(fontsize=8)
    return fig


def fig_timeline(ev: pd.DataFrame, cities: Sequence[str], lang: str, ax=None,
                 kinds: Sequence[str] = TIMELINE_KINDS):  # fmt: skip
    """Policy events by kind (rows) and time, coloured by city."""
    fig, ax = _axes(ax, (8, 3.2))
    e = ev[ev.kind.isin(kinds)]
    colours = {c: f"C{i % 10}" for i, c in enumerate([*cities, "province"])}
    for c, g in e.groupby("city", sort=False):
        ax.scatter(g.year + (g.quarter - 1) / 4, [kinds.index(k) for k in g.kind], s=22,
                   color=colours.get(str(c), "grey"),
                   label=tr("province", lang) if c == "province" else str(c))  # fmt: skip
    ax.set_yticks(range(len(kinds)), [event_label(k, lang) for k in kinds], fontsize=8)
    ax.set_ylim(-0.5, len(kinds) - 0.5)
    ax.set_title(tr("chart_timeline", lang))
    _years(ax)
    if len(e):
        ax.legend(fontsize=7, ncol=4, loc="upper left")
    return fig


def fig_emissions(a: pd.DataFrame, lang: str, ax=None):
    """Yearly emissions of each city against what it was held to."""
    fig, ax = _axes(ax, (8, 3.4))
    c = a[(a.city != "province") & (a.period >= 0)]
    for i, (city, g) in enumerate(c.groupby("city", sort=False)):
        ax.plot(g.year, g.emissions, marker="o", color=f"C{i}", label=str(city))
        ax.plot(g.year, g.held_to, ls="--", color=f"C{i}")
    ax.set_ylabel(tr("unit_mt", lang))
    ax.set_title(f"{tr('emissions_mt', lang)} / {tr('held_to_mt', lang)} (--)")
    ax.legend(fontsize=8)
    return fig


def fig_dimensions(fa: dict[str, Any], lang: str, ax=None):
    fig, ax = _axes(ax, (8, 2.8))
    dims = list(fa["dimensions"])
    vals = [fa["dimensions"][d] for d in dims]
    ax.barh(range(len(dims)), vals, color="tab:blue")
    ax.set_yticks(range(len(dims)), [tr(d, lang) for d in dims], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    for x in (60, 80, 90):
        ax.axvline(x, color="grey", lw=0.8, ls=":")
    ax.set_title(f"{tr('chart_dimensions', lang)} — {tr('composite', lang)} {fa['composite']:.1f}, "
                 f"{tr('grade', lang)}: {tr(fa['grade'], lang)}")  # fmt: skip
    return fig


def _years(ax) -> None:
    """Whole calendar years on the time axis (no offset such as +2.026e3)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    def label(x: float, _pos) -> str:
        q = round((x - np.floor(x)) * 4)
        if abs(x * 4 - round(x * 4)) > 1e-6:
            return ""
        return f"{int(np.floor(x))}" if q in (0, 4) else f"Q{q + 1}"

    ax.xaxis.set_major_locator(MaxNLocator(steps=[1, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(label))


def _axes(ax, size):
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


# ------------------------------------------------------------ live charts --
# The teaching page's charts, built once and updated in place.  A quarter step
# changes only the plotted data: each chart sets the data of its "dynamic"
# artists (lines, image, markers, bars: animated, so a full draw leaves them
# out) and draws just those on a copy of its rendered background (axes, ticks,
# labels, legend).  The background is rendered again only when its frame --
# the axis limits, which are a pure function of the data shown -- changes.
# So the PNG of a chart is a function of its data alone: a kept chart and a
# fresh one give the same bytes (tests/test_app_page.py checks every quarter).
class LiveChart(ABC):
    """Base class: ``update(...)`` sets the data and returns the frame."""

    def __init__(self, lang: str, size: tuple[float, float], left: float, dpi: float = 72) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.lang = lang
        self.fig = Figure(figsize=size, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.fig)
        self.ax = self.fig.add_subplot()
        self.fig.subplots_adjust(left=left, right=0.98, top=0.9, bottom=0.22)
        self.ax.set_autoscale_on(False)
        self.dynamic: list[Any] = []
        self._frame: Any = None
        self._background: Any = None

    def _add(self, artist):
        artist.set_animated(True)
        self.dynamic.append(artist)
        return artist

    def png(self, *data: Any) -> bytes:
        """The chart of ``data`` as PNG bytes (fast zlib level: a small local image)."""
        import io

        from PIL import Image

        frame = self.update(*data)
        if frame != self._frame or self._background is None:
            self.canvas.draw()  # everything but the dynamic artists
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
            self._frame = frame
        else:
            self.canvas.restore_region(self._background)
        for a in self.dynamic:
            self.ax.draw_artist(a)
        w, h = self.canvas.get_width_height()
        img = Image.frombuffer("RGBA", (w, h), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buf = io.BytesIO()
        img.convert("RGB").save(buf, format="png", compress_level=1)
        return buf.getvalue()

    @abstractmethod
    def update(self, *data: Any) -> Any:
        """Set the chart's data artists from ``data``; return the frame (axis
        limits) they need, so the background is redrawn only when it changes."""


def _nice_limits(lo: float, hi: float, step: float) -> tuple[float, float]:
    """Limits around [lo, hi] on a grid of ``step`` (a frame that changes
    rarely as the data grow), with a margin of half a step."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return 0.0, step
    return float(np.floor(lo / step - 0.5) * step), float(np.ceil(hi / step + 0.5) * step)


def _nice_step(span: float) -> float:
    """1, 2 or 5 x 10^k: about a fifth of ``span``."""
    if not np.isfinite(span) or span <= 0:
        return 1.0
    raw = span / 5
    k = 10 ** np.floor(np.log10(raw))
    return float(next(m * k for m in (1, 2, 5, 10) if m * k >= raw))


def _period_span(periods: Sequence[tuple[int, int, float]]) -> tuple[float, float]:
    """The quarters of the plan periods on the time axis (years as numbers)."""
    return periods[0][0] - 0.125, periods[-1][1] + 1 - 0.125


class LiveBarometer(LiveChart):
    """Each city's status by quarter of the plan periods (one image)."""

    def __init__(self, lang: str, cities: Sequence[str], periods, size, left) -> None:
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch

        super().__init__(lang, size, left)
        self.cities = list(cities)
        x0, x1 = _period_span(periods)
        self.xs = np.arange(x0 + 0.125, x1, 0.25)
        cmap = ListedColormap(STATUS_COLOURS).with_extremes(bad=(0, 0, 0, 0))  # not yet: blank
        ax = self.ax
        self.image = self._add(ax.imshow(np.full((len(self.cities), len(self.xs)), np.nan), aspect="auto", cmap=cmap,
                                         vmin=0, vmax=3, interpolation="nearest",
                                         extent=(x0, x1, len(self.cities) - 0.5, -0.5)))  # fmt: skip
        ax.set_xlim(x0, x1)
        ax.set_ylim(len(self.cities) - 0.5, -0.5)
        ax.set_yticks(range(len(self.cities)), self.cities, fontsize=8)
        keys = ("surplus", "balance", "overrun_orange", "overrun_red")
        ax.legend(handles=[Patch(color=c, label=tr(k, lang)) for c, k in zip(STATUS_COLOURS, keys, strict=True)],
                  loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=4, fontsize=8, frameon=False)  # fmt: skip
        ax.set_title(tr("chart_barometer", lang))
        _years(ax)

    def update(self, q: pd.DataFrame) -> Any:
        mat = status_matrix(q).reindex(index=self.cities)
        data = np.full((len(self.cities), len(self.xs)), np.nan)
        if mat.shape[1]:
            cols = np.searchsorted(self.xs, np.asarray(mat.columns, dtype=float))
            data[:, cols] = mat.to_numpy(dtype=float)
        self.image.set_data(data)
        return None


class LiveProgress(LiveChart):
    """Cumulative emissions over the cumulative scheduled budget, by city and
    period (the province in black); 1 is on schedule."""

    def __init__(self, lang: str, cities: Sequence[str], periods, size, left) -> None:
        from matplotlib.lines import Line2D

        super().__init__(lang, size, left)
        ax = self.ax
        self.lines: dict[tuple[str, int], Any] = {}
        name_cities = len(cities) <= 9  # with more, the barometer names them
        handles = [Line2D([], [], color="black", lw=2.4, label=tr("province", lang))]
        for i, city in enumerate(cities):
            for p in range(len(periods)):
                self.lines[(city, p)] = self._add(
                    ax.plot([], [], color=f"C{i % 10}", lw=1.0, alpha=0.7)[0]
                )
            if name_cities:
                handles.append(Line2D([], [], color=f"C{i % 10}", lw=1.0, alpha=0.7, label=city))
        for p in range(len(periods)):
            self.lines[("province", p)] = self._add(ax.plot([], [], color="black", lw=2.4)[0])
        ax.axhline(1.0, color="tab:green", ls="--", lw=1)
        handles.append(
            Line2D([], [], color="tab:green", ls="--", lw=1, label=tr("scheduled_budget", lang))
        )
        ax.legend(handles=handles, fontsize=7, ncol=4, loc="upper right")
        ax.set_xlim(*_period_span(periods))
        ax.set_ylabel(tr("ratio", lang))
        ax.set_title(tr("chart_progress", lang))
        _years(ax)

    def update(self, q: pd.DataFrame) -> Any:
        per = q[q.period >= 0]
        lo, hi = 1.0, 1.0
        for line in self.lines.values():
            line.set_data([], [])
        for (city, p), g in per.groupby(["city", "period"], sort=False):
            sched = g.schedule.cumsum().to_numpy()
            ratio = np.divide(g.emissions.cumsum().to_numpy(), sched,
                              out=np.full(len(g), np.nan), where=sched > 0)  # fmt: skip
            key = (str(city), int(p))  # type: ignore[call-overload]
            self.lines[key].set_data(_x(g).to_numpy(), ratio)
            if np.isfinite(ratio).any():
                lo, hi = min(lo, np.nanmin(ratio)), max(hi, np.nanmax(ratio))
        frame = _nice_limits(lo, hi, 0.1)
        self.ax.set_ylim(*frame)
        return frame


class LiveIntensity(LiveChart):
    """Province intensity by year against each period's target path."""

    def __init__(self, lang: str, years: tuple[int, int], periods, size, left) -> None:
        super().__init__(lang, size, left)
        ax = self.ax
        self.periods = list(periods)
        self.line = self._add(
            ax.plot([], [], marker="o", color="black", label=tr("intensity", lang))[0]
        )
        self.paths = [self._add(ax.plot([], [], color="tab:red", ls="--", label=tr("target_path", lang) if i == 0 else None)[0])
                      for i in range(len(self.periods))]  # fmt: skip
        ax.set_xlim(years[0] - 0.5, years[1] + 0.5)
        ax.set_ylabel(tr("unit_intensity", lang))
        ax.set_title(tr("chart_intensity", lang))
        ax.legend(fontsize=8, loc="upper right")
        _years(ax)

    def update(self, a: pd.DataFrame) -> Any:
        pa = a[a.city == "province"]
        self.line.set_data(pa.year.to_numpy(), pa.intensity.to_numpy())
        vals = [pa.intensity.to_numpy()]
        for line, (y0, y1, target) in zip(self.paths, self.periods, strict=True):
            base = pa[pa.year == y0 - 1].intensity
            if base.empty:
                line.set_data([], [])
                continue
            yrs = np.arange(y0 - 1, y1 + 1)
            path = float(base.iloc[0]) * (1 - target) ** ((yrs - yrs[0]) / (len(yrs) - 1))
            line.set_data(yrs, path)
            vals.append(path)
        v = np.concatenate(vals) if len(pa) else np.array([np.nan])
        lo, hi = (np.nanmin(v), np.nanmax(v)) if np.isfinite(v).any() else (np.nan, np.nan)
        step = _nice_step(hi - lo) if np.isfinite(hi - lo) and hi > lo else 0.1
        frame = _nice_limits(lo, hi, step)
        self.ax.set_ylim(*frame)
        return frame


class LiveTimeline(LiveChart):
    """Policy events by kind (rows) and time, coloured by city."""

    def __init__(self, lang: str, cities: Sequence[str], years: tuple[int, int], size, left,
                 kinds: Sequence[str] = TIMELINE_KINDS) -> None:  # fmt: skip
        super().__init__(lang, size, left)
        ax = self.ax
        self.kinds = list(kinds)
        self.points = {}
        for i, c in enumerate([*cities, "province"]):
            label = tr("province", lang) if c == "province" else c
            self.points[c] = self._add(
                ax.scatter(np.empty(0), np.empty(0), s=22, color=f"C{i % 10}", label=label)
            )
        ax.set_yticks(range(len(kinds)), [event_label(k, lang) for k in kinds], fontsize=8)
        ax.set_ylim(-0.5, len(kinds) - 0.5)
        ax.set_xlim(years[0] - 0.25, years[1] + 0.75)
        ax.set_title(tr("chart_timeline", lang))
        ax.legend(fontsize=7, ncol=4, loc="upper left")
        _years(ax)

    def update(self, ev: pd.DataFrame) -> Any:
        e = ev[ev.kind.isin(self.kinds)]
        for c, pts in self.points.items():
            g = e[e.city == c]
            y = np.array([self.kinds.index(k) for k in g.kind], dtype=float)
            pts.set_offsets(
                np.column_stack([(g.year + (g.quarter - 1) / 4).to_numpy(dtype=float), y])
            )
        return None


class LiveCost(LiveChart):
    """GDP lost to restriction (bars) and fiscal cost (line) by quarter."""

    def __init__(self, lang: str, periods, size, left) -> None:
        super().__init__(lang, size, left)
        ax = self.ax
        x0, x1 = _period_span(periods)
        self.xs = np.arange(x0 + 0.125, x1, 0.25)
        bars = ax.bar(
            self.xs, np.zeros(len(self.xs)), width=0.2, color="tab:red", label=tr("gdp_loss", lang)
        )
        self.bars = [self._add(b) for b in bars]
        self.line = self._add(
            ax.plot([], [], color="tab:blue", marker=".", label=tr("fiscal_cost", lang))[0]
        )
        ax.set_xlim(x0, x1)
        ax.set_ylabel(tr("unit_bn", lang))
        ax.set_title(tr("chart_cost", lang))
        ax.legend(fontsize=8, loc="upper left")
        _years(ax)

    def update(self, q: pd.DataFrame) -> Any:
        prov = q[(q.city == "province") & (q.period >= 0)]
        x = _x(prov).to_numpy(dtype=float)
        loss = dict(
            zip(np.round(x * 4).astype(int), prov.restriction_gdp_loss.to_numpy(), strict=True)
        )
        for xi, bar in zip(self.xs, self.bars, strict=True):
            bar.set_height(loss.get(int(round(xi * 4)), 0.0))
        self.line.set_data(x, prov.fiscal_cost.to_numpy())
        hi = max([0.0, *prov.restriction_gdp_loss, *prov.fiscal_cost])
        step = _nice_step(hi) if hi > 0 else 1.0
        frame = (0.0, float(np.ceil(hi / step + 0.5) * step))
        self.ax.set_ylim(*frame)
        return frame
