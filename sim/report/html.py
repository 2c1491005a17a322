"""Write the five-year final account of a run folder as one HTML file.

The report follows the seed paper's five-year account [碳预算五年决算]: the
completion of both controls, the accounting of emissions and intensity by city
and by sector (the key firms of each industrial sector and the diffuse
sector, from ``sectors.parquet``; older run folders without it get the split
into key firms and the diffuse sector, marked "not recorded"), the annual accounts, the causes of the result (economic
shocks, major projects, adjustments, trades), the quality evaluation by
dimension with the grade, the barometer, the main events, and the assumptions
(scenario, seed, regime, version).  Figures are embedded as base64 PNG and
written beside the file.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from sim.labels import LANGS, choice_label, event_label, tr
from sim.report import figures as F

RUN_FILES = (
    "manifest.json",
    "quarterly.parquet",
    "annual.parquet",
    "events.parquet",
    "final_account.json",
)
MAIN_EVENT_KINDS = (
    "plan_budget",
    "plan_infeasible",
    "major_project_approved",
    "listed_quota_granted",
    "major_project_offset_plan",
    "warning",
    "adjustment",
    "trade",
    "campaign",
    "campaign_bound",
    "orderly_restriction",
    "steering",
    "steering_restriction",
    "project_rejected",
)
MAX_EVENTS = 60


class ReportError(ValueError):
    """The folder is not a run folder, or the language is unknown."""


def load_run(run_dir: Path) -> dict[str, Any]:
    missing = [f for f in RUN_FILES if not (run_dir / f).is_file()]
    if missing:
        raise ReportError(f"{run_dir}: not a run folder (missing {', '.join(missing)})")
    return {
        "manifest": json.loads((run_dir / "manifest.json").read_text()),
        "q": pd.read_parquet(run_dir / "quarterly.parquet"),
        "a": pd.read_parquet(run_dir / "annual.parquet"),
        "ev": pd.read_parquet(run_dir / "events.parquet"),
        "fa": json.loads((run_dir / "final_account.json").read_text())["periods"],
        "sectors": pd.read_parquet(sectors)
        if (sectors := run_dir / "sectors.parquet").is_file()
        else None,  # not in run folders written before it existed
    }


def _num(x: Any, spec: str = ".1f") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, bool):
        return str(x)
    return format(x, spec)


def _pct(x: Any) -> str:
    return "–" if x is None or not math.isfinite(float(x)) else f"{100 * float(x):.1f} %"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    th = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _yesno(ok: bool, lang: str) -> str:
    return tr("met", lang) if ok else tr("missed", lang)


def _summary(fa: dict[str, Any], lang: str) -> str:
    m = fa["measures"]
    mode = fa["mode"]
    rows = [
        [tr("assump_mode", lang), tr(f"mode_{mode}", lang)],
        [tr("binding", lang), tr("yes" if fa["binding"] else "no", lang)],
        [tr("intensity_target", lang), _pct(m["intensity_target"])],
        [tr("intensity_reduction", lang), f"{_pct(m['intensity_reduction'])} ({_yesno(m['intensity_met'], lang)})"],
        [tr("total_budget", lang), _num(m["total_budget_mt"])],
        [tr("total_emissions", lang), f"{_num(m['total_emissions_mt'])} ({_yesno(m['total_met'], lang)})"],
        [tr("target_met", lang), tr("yes" if fa["target_met"] else "no", lang)],
        [tr("gdp_loss_bn", lang), f"{_num(m['gdp_loss_bn'])} ({_pct(m['gdp_loss_share'])})"],
        [tr("end_loadedness", lang), _pct(m["end_loadedness_gdp"])],
        [tr("fiscal_cost_bn", lang), _num(m["fiscal_cost_bn"])],
        [tr("composite", lang), _num(fa["composite"])],
        [tr("grade", lang), tr(fa["grade"], lang)],
    ]  # fmt: skip
    return _table([tr("measure", lang), tr("value", lang)], rows)


def _by_city(fa: dict[str, Any], lang: str) -> str:
    rows = [
        [v["city"], _num(v["emissions_mt"]), _num(v["held_to_mt"]), _num(v["initial_allocation_mt"]),
         _num(v["compliance_ratio"], ".3f"), _pct(v["intensity_reduction"]), _pct(v["intensity_target"]),
         tr("yes" if v["compliant"] else "no", lang), _pct(v.get("monitoring_mape"))]
        for v in fa["cities"]
    ]  # fmt: skip
    keys = ["city", "emissions_mt", "held_to_mt", "initial_mt", "compliance_ratio",
            "intensity_reduction_short", "intensity_target_short", "compliant", "monitoring_mape"]  # fmt: skip
    return _table([tr(k, lang) for k in keys], rows)


def _by_sector(q: pd.DataFrame, sectors: pd.DataFrame | None, fa: dict[str, Any],
               lang: str) -> str:  # fmt: skip
    """Emissions, output and intensity by sector (the scenario's industrial
    sectors and the diffuse sector) for the province, and emissions by city and
    sector; a run folder without ``sectors.parquet`` gets the key-firm /
    diffuse split from the quarterly table, with a note."""
    if sectors is None:
        return f"<p>{html.escape(tr('sector_not_recorded', lang))}</p>" + _firms_diffuse(
            q, fa, lang
        )
    y0, y1 = fa["start_year"], fa["end_year"]
    s = sectors[(sectors.year >= y0) & (sectors.year <= y1)]
    names = list(dict.fromkeys(s.sector))
    prov = s[s.city == "province"].groupby("sector", sort=False)[["emissions", "gdp"]].sum()
    ends = sectors[sectors.city == "province"].pivot_table(
        index="sector", columns="year", values="intensity", sort=False
    )
    total = float(prov.emissions.sum())
    rows = []
    for name in names:
        em, gdp = float(prov.emissions[name]), float(prov.gdp[name])
        end = ends[y1][name] if y1 in ends else float("nan")
        base = ends[y0 - 1][name] if y0 - 1 in ends else float("nan")
        rows.append([tr(f"sector_{name}", lang), _num(em), _pct(em / total if total else math.nan),
                     _num(gdp, ".0f"), _num(em / gdp * 10 if gdp else math.nan, ".3f"), _num(end, ".3f"),
                     _pct(end / base - 1 if base and math.isfinite(base) else math.nan)])  # fmt: skip
    gdp_all = float(prov.gdp.sum())
    rows.append([tr("total", lang), _num(total), _pct(1.0), _num(gdp_all, ".0f"),
                 _num(total / gdp_all * 10 if gdp_all else math.nan, ".3f"), "–", "–"])  # fmt: skip
    keys = ["sector", "emissions_mt", "share", "output_bn", "unit_intensity", "intensity_final",
            "intensity_change"]  # fmt: skip
    head = [tr(k, lang) for k in keys]
    head[4] = f"{tr('intensity', lang)} ({tr('unit_intensity', lang)})"
    out = _table(head, rows)
    by_city = s[s.city != "province"].pivot_table(
        index="city", columns="sector", values="emissions", aggfunc="sum", sort=False
    )
    rows = [[city, *(_num(by_city.at[city, n]) for n in names), _num(by_city.loc[city].sum())]
            for city in by_city.index]  # fmt: skip
    head = [tr("city", lang), *(tr(f"sector_{n}", lang) for n in names), tr("total", lang)]
    return out + f"<h4>{html.escape(tr('by_city_sector', lang))}</h4>" + _table(head, rows)


def _firms_diffuse(q: pd.DataFrame, fa: dict[str, Any], lang: str) -> str:
    per = q[(q.city == "province") & (q.year >= fa["start_year"]) & (q.year <= fa["end_year"])]
    total = float(per.emissions.sum())
    rows = []
    for key, e, g in (
        ("key_firms", "emissions_firms", "gdp_firms"),
        ("diffuse", "emissions_diffuse", "gdp_diffuse"),
    ):
        em, gdp = float(per[e].sum()), float(per[g].sum())
        rows.append([tr(key, lang), _num(em), _pct(em / total if total else float("nan")),
                     _num(gdp, ".0f"), _num(em / gdp * 10 if gdp else float("nan"), ".3f")])  # fmt: skip
    keys = ["sector", "emissions_mt", "share", "gdp_bn", "unit_intensity"]
    return _table([tr(k, lang) for k in keys], rows)


def _annual(a: pd.DataFrame, fa: dict[str, Any], lang: str) -> str:
    c = a[(a.city != "province") & (a.year >= fa["start_year"]) & (a.year <= fa["end_year"])]
    rows = [
        [int(r.year), r.city, _num(r.accounted), _num(r.held_to), _num(r.target), _num(r.traded, ".2f"),
         _num(r.listed_quota, ".2f"), _num(r.adjustment, ".2f"), tr(r.status, lang) if r.status else "–"]
        for r in c.itertuples()
    ]  # fmt: skip
    keys = ["year", "city", "accounted_mt", "held_to_mt", "target_mt", "traded_mt",
            "listed_quota_mt", "adjustment_mt", "status"]  # fmt: skip
    return _table([tr(k, lang) for k in keys], rows)


def _causes(
    a: pd.DataFrame, ev: pd.DataFrame, fa: dict[str, Any], manifest: dict, lang: str
) -> str:
    y0, y1 = fa["start_year"], fa["end_year"]
    e = ev[(ev.year >= y0) & (ev.year <= y1)]
    pa = a[a.city == "province"].set_index("year")
    expected = float(manifest["scenario"]["macro"]["gdp_growth_expectation"])
    rows = []
    growth = (pa.gdp / pa.gdp.shift(1) - 1).loc[y0:y1]
    shocks = ", ".join(f"{y}: {100 * (g - expected):+.1f} pp" for y, g in growth.items())
    rows.append([tr("shock_gdp", lang), len(growth), "–", shocks])
    for kind in ("major_project_approved", "listed_quota_granted", "major_project_offset_plan",
                 "adjustment", "trade", "campaign", "project_rejected"):  # fmt: skip
        k = e[e.kind == kind]
        amount = (
            float(k.amount.abs().sum()) if kind != "trade" else float(k.amount.clip(lower=0).sum())
        )
        by_city = ", ".join(
            f"{c}: {v:+.2f}" for c, v in k.groupby("city", sort=False).amount.sum().items()
        )
        rows.append([event_label(kind, lang), len(k), _num(amount, ".2f"), by_city or "–"])
    return _table(
        [tr("cause", lang), tr("count", lang), tr("amount_mt", lang), tr("detail", lang)], rows
    )


def _quality(fa: dict[str, Any], lang: str) -> str:
    """Quality by dimension (with the sub-measures) and, where the account has
    them, by stage of the cycle; every measure named by its label."""
    from sim.stages.final_account import (  # the tables of sub-measures (data, no model)
        STAGES,
        SUBSCORES,
    )

    m = fa["measures"]

    def subs(names) -> str:
        return "; ".join(f"{tr('m_' + n, lang)} = {_num(m.get(n), '.3g')}" for n in names)

    rows = [[tr(d, lang), _num(score), subs(n for n, *_ in SUBSCORES[d])]
            for d, score in fa["dimensions"].items()]  # fmt: skip
    rows.append([tr("composite", lang), _num(fa["composite"]), tr(fa["grade"], lang)])
    out = _table([tr("dimension", lang), tr("score", lang), tr("measure", lang)], rows)
    stages = [[tr(f"stage_{s}", lang), _num(m[f"stage_{s}"]), subs(names)]
              for s, names in STAGES.items() if f"stage_{s}" in m]  # fmt: skip
    if stages:
        out += f"<h4>{tr('quality_by_stage', lang)}</h4>" + _table(
            [tr("stage", lang), tr("score", lang), tr("measure", lang)], stages
        )
    return out


def _events(ev: pd.DataFrame, fa: dict[str, Any], lang: str) -> str:
    e = ev[
        (ev.year >= fa["start_year"]) & (ev.year <= fa["end_year"]) & ev.kind.isin(MAIN_EVENT_KINDS)
    ]
    e = e.sort_values(["t", "kind"], kind="stable")
    if len(e) > MAX_EVENTS:
        # project rejections are the most numerous (their count is in the causes table):
        # the province's and cities' decisions first, rejections fill what is left
        first = e[e.kind != "project_rejected"].head(MAX_EVENTS)
        rejected = e[e.kind == "project_rejected"].head(MAX_EVENTS - len(first))
        e = pd.concat([first, rejected]).sort_values(["t", "kind"], kind="stable")
    rows = [[f"{r.year} Q{r.quarter}", event_label(r.kind, lang),
             tr("province", lang) if r.city == "province" else r.city, _num(r.amount, ".2f"),
             _num(r.value, ".3g")] for r in e.itertuples()]  # fmt: skip
    keys = ["quarter", "kind", "city", "amount_mt", "value"]
    return _table([tr(k, lang) for k in keys], rows)


def _assumptions(manifest: dict[str, Any], lang: str) -> str:
    sc = manifest["scenario"]
    overrides = manifest.get("overrides") or {}
    ver = manifest.get("versions", {})
    rows = [
        [tr("assump_scenario", lang), manifest.get("scenario_name", "")],
        [tr("assump_province", lang), sc["province"]["name"]],
        [tr("assump_seed", lang), manifest["seed"]],
        [tr("assump_regime", lang), f"{manifest['regime']} ({tr(manifest['regime'], lang)})"],
        [tr("assump_rule", lang), f"{sc['accounts']['rule']} ({choice_label('accounts.rule', sc['accounts']['rule'], lang)})"],
        [tr("assump_overrides", lang), ", ".join(f"{k} = {v}" for k, v in overrides.items()) or tr("none_text", lang)],
        [tr("assump_version", lang), ", ".join(f"{k} {v}" for k, v in ver.items())],
        [tr("assump_commit", lang), manifest.get("git_commit") or "–"],
    ]  # fmt: skip
    return _table([tr("measure", lang), tr("value", lang)], rows)


CSS = """body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;
max-width:1000px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:.6em 0 1.2em}
td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}th{background:#f3f3f3}
.grade{font-size:1.6em;font-weight:bold}img{max-width:100%}h2{border-bottom:2px solid #c62828}"""


def write_report(run_dir: str | Path, lang: str = "en", out: str | Path | None = None) -> Path:
    """Write ``report_<lang>.html`` (default: in ``run_dir``) and its PNG figures
    beside it (``report_<lang>_<figure>.png``); returns the HTML path."""
    import matplotlib

    if lang not in LANGS:
        raise ReportError(f"--lang: {lang!r} is not one of {', '.join(LANGS)}")
    run_dir = Path(run_dir)
    r = load_run(run_dir)
    path = Path(out) if out is not None else run_dir / f"report_{lang}.html"
    q, a, ev, fas, man = r["q"], r["a"], r["ev"], r["fa"], r["manifest"]
    if not fas:
        raise ReportError(f"{run_dir}: the run holds no finished plan period")
    cities = [c for c in dict.fromkeys(q.city) if c != "province"]
    with matplotlib.rc_context(F.use_language(lang)):  # type: ignore[arg-type]
        figs = {
            "barometer": F.fig_barometer(q, lang),
            "progress": F.fig_progress(q, lang),
            "intensity": F.fig_intensity(
                a,
                [(f["start_year"], f["end_year"], f["measures"]["intensity_target"]) for f in fas],
                lang,
            ),
            "emissions": F.fig_emissions(a, lang),
            "timeline": F.fig_timeline(ev, cities, lang),
            "cost": F.fig_cost(q, lang),
        }
        for f in fas:
            figs[f"quality_p{f['period']}"] = F.fig_dimensions(f, lang)
        pngs = {k: _png(fig) for k, fig in figs.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    img = {}
    for k, data in pngs.items():
        (path.parent / f"{path.stem}_{k}.png").write_bytes(data)
        img[k] = f'<img alt="{k}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'
    t = lambda k: html.escape(tr(k, lang))  # noqa: E731
    parts = [f"<!DOCTYPE html><html lang=\"{'zh-CN' if lang == 'zh' else 'en'}\"><head><meta charset=\"utf-8\">",
             f"<title>{t('report_title')} — {html.escape(man['scenario']['province']['name'])}</title>",
             f"<style>{CSS}</style></head><body>",
             f"<h1>{t('report_title')}: {html.escape(man['scenario']['province']['name'])}</h1>"]  # fmt: skip
    for f in fas:
        parts += [
            f"<h2>{t('period')} {f['start_year']}–{f['end_year']}</h2>",
            f"<p class=\"grade\">{t('grade')}: {html.escape(tr(f['grade'], lang))} "
            f"({t('composite')} {f['composite']:.1f})</p>",
            f"<h3>{t('sec_summary')}</h3>", _summary(f, lang),
            f"<h3>{t('sec_accounting')} — {t('sec_by_city')}</h3>", _by_city(f, lang),
            f"<h3>{t('sec_accounting')} — {t('sec_by_sector')}</h3>", _by_sector(q, r["sectors"], f, lang),
            f"<h3>{t('sec_annual')}</h3>", _annual(a, f, lang),
            f"<h3>{t('sec_causes')}</h3>", _causes(a, ev, f, man, lang),
            f"<h3>{t('sec_quality')}</h3>", _quality(f, lang), img[f"quality_p{f['period']}"],
            f"<h3>{t('sec_events')}</h3>", _events(ev, f, lang),
        ]  # fmt: skip
    parts += [f"<h2>{t('sec_barometer')}</h2>", img["barometer"], img["progress"],
              f"<h2>{t('chart_intensity')}</h2>", img["intensity"], img["emissions"],
              f"<h2>{t('chart_timeline')}</h2>", img["timeline"], img["cost"],
              f"<h2>{t('sec_assumptions')}</h2>", _assumptions(man, lang),
              f"<p><small>{t('generated_by')}: {html.escape(str(run_dir))}. {t('figures_note')}.</small></p>",
              "</body></html>"]  # fmt: skip
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
