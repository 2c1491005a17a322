"""The teaching page: watch or play the province (``carbon-budget app``).

This module only builds the page (Solara components); it reaches the model
through :mod:`sim.app.session` and draws with :mod:`sim.report.figures`, and
the model knows nothing of it.  Every control is generated from the parameter
table (``sim.params.PARAMS``: unit, bounds, choices) for the groups listed in
``session.CONTROL_GROUPS``; every label comes from :mod:`sim.labels`.

Changing the scenario, the seed, the mode or a parameter starts the run anew
(parameters act from the plan preparation on).  In "play the province" mode
the run stops at each annual final account and shows, per city, the rule's
suggestion beside the player's choice of package, adjustment and listed
quota.
"""

from __future__ import annotations

import base64
import html
import math
import os
import threading
import time
import zlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
import solara

from sim.app import session as S
from sim.app.cli import ENV_SCENARIO
from sim.labels import (
    choice_label,
    city_label,
    detail_label,
    event_label,
    param_label,
    tr,
    unit_label,
)
from sim.params import Param
from sim.report import figures as F

matplotlib.use("Agg")

GAMES_DIR = Path(os.environ.get("CARBON_BUDGET_GAMES", "games"))
PLAY_INTERVAL_S = float(
    os.environ.get("CARBON_BUDGET_PLAY_INTERVAL", "0.25")
)  # seconds per quarter
EVENT_ROWS = 200

lang = solara.reactive("en")
scenario = solara.reactive(os.environ.get(ENV_SCENARIO, "tiny"))
seed = solara.reactive(0)
mode = solara.reactive("watch")
overrides: solara.Reactive[dict[str, Any]] = solara.reactive({})
version = solara.reactive(0)
playing = solara.reactive(False)
message = solara.reactive("")
session: solara.Reactive[S.Session | None] = solara.reactive(None)
form: solara.Reactive[dict[str, Any]] = solara.reactive({})
city_filter = solara.reactive("")
kind_filter = solara.reactive("")
_lock = threading.RLock()  # one step or chart drawing at a time (the play loop is a thread)


def _t(key: str) -> str:
    return tr(key, lang.value)


def new_session() -> None:
    """Start the run anew from the page's scenario, parameters, seed and mode."""
    playing.set(False)
    try:
        s = S.Session(scenario.value, overrides.value, seed.value, play=mode.value == "play")
    except ValueError as exc:  # ScenarioError included: one line, the run is left as it was
        message.set(str(exc))
        return
    message.set("")
    form.set({})
    session.set(s)
    version.set(version.value + 1)


def _advance(fn) -> None:
    s = session.value
    if s is None:
        return
    with _lock:
        t0 = time.perf_counter()
        fn(s)
        chart_sources(s, lang.value)  # the tables and the charts the page will show
        s.cache["update_ms"] = (time.perf_counter() - t0) * 1000  # step, tables and charts
    version.set(version.value + 1)


def set_param(name: str, value: Any) -> None:
    s = session.value
    base = S.load_scenario(S.resolve_scenario(scenario.value))
    new = {k: v for k, v in overrides.value.items() if k != name}
    if value != base[name]:
        new[name] = value
    if s is not None and new == overrides.value:
        return
    overrides.set(new)
    new_session()


def _select(label: str, options: dict[Any, str], value: Any, on_value, **kw) -> None:
    """A select showing ``options``' labels for their values (identifiers stay
    behind the labels)."""
    items = [{"text": text, "value": v} for v, text in options.items()]
    solara.Select(label=label, values=items, value=value, on_value=on_value, **kw)  # type: ignore[arg-type]


def _pkg(key: str | None) -> str:
    """A package's label (``off``: no package)."""
    return _t("off") if not key or key == "off" else _t(f"pkg_{key}")


# ------------------------------------------------------------------ controls
def _param_text(p: Param, lg: str) -> str:
    """The control's label, unit and bounds from its table row, in ``lg``."""
    if p.type is bool:
        bounds = " | ".join(choice_label(p.name, b, lg) for b in (True, False))
    elif p.choices is not None:
        bounds = " | ".join(choice_label(p.name, c, lg) for c in p.choices)
    else:
        bounds = p.bounds_text
    return " · ".join(x for x in (param_label(p.name, lg), unit_label(p.unit, lg), bounds) if x)


@solara.component
def Control(p: Param, value: Any):
    def on(v):
        try:
            set_param(p.name, p.check(v))
        except ValueError as exc:
            message.set(str(exc))

    lg = lang.value
    name = param_label(p.name, lg)
    with solara.Column(gap="0px", classes=["cb-control"]):
        # the row's key (for scenario files) is the tooltip, not the label
        solara.HTML(tag="div", unsafe_innerHTML=f'<span class="cb-param" title="{html.escape(p.name)}" '
                    f'data-param="{html.escape(p.name)}">{html.escape(_param_text(p, lg))}</span>',
                    style="font-size:11px;color:#555")  # fmt: skip
        if p.type is bool:
            solara.Checkbox(label=choice_label(p.name, True, lg), value=bool(value), on_value=on)
        elif p.choices is not None:
            _select(name, {c: choice_label(p.name, c, lg) for c in p.choices}, value, on)
        elif p.low is not None and p.high is not None and p.type is int:
            solara.SliderInt(
                label="", value=int(value), min=int(p.low), max=int(p.high), on_value=on
            )
        elif p.low is not None and p.high is not None:
            step = (p.high - p.low) / 100
            solara.SliderFloat(
                label="", value=float(value), min=p.low, max=p.high, step=step, on_value=on
            )
        elif p.type is int:
            solara.InputInt(label=name, value=int(value), on_value=on)
        else:
            solara.InputFloat(label=name, value=float(value), on_value=on)


@solara.component
def Controls():
    sc = S.load_scenario(S.resolve_scenario(scenario.value))
    for group, params in S.control_params().items():
        with solara.Details(
            summary=_t(group), expand=group in ("group_regime", "group_thresholds")
        ):
            with solara.Column(gap="4px"):
                for p in params:
                    Control(p, overrides.value.get(p.name, sc[p.name]))


@solara.component
def Buttons():
    s = session.value
    _ = version.value  # redrawn after each step (done / waiting for a decision)
    blocked = s is None or s.done or s.pending is not None
    with solara.Row(gap="4px", style={"flex-wrap": "wrap"}):
        solara.Button(_t("step_quarter"), on_click=lambda: _advance(lambda x: x.step_quarter()),
                      disabled=blocked or playing.value, classes=["cb-step-quarter"])  # fmt: skip
        solara.Button(_t("step_year"), on_click=lambda: _advance(lambda x: x.step_year()),
                      disabled=blocked or playing.value, classes=["cb-step-year"])  # fmt: skip
        solara.Button(_t("pause") if playing.value else _t("play"),
                      on_click=lambda: playing.set(not playing.value),
                      disabled=blocked and not playing.value, classes=["cb-play"])  # fmt: skip
        solara.Button(_t("reset"), on_click=new_session, classes=["cb-reset"])

    def loop():
        while playing.value:
            s = session.value
            if s is None or s.done or s.pending is not None:
                playing.set(False)
                break
            _advance(lambda x: x.step_quarter())
            time.sleep(PLAY_INTERVAL_S)

    solara.lab.use_task(loop, dependencies=[playing.value], prefer_threaded=True)  # type: ignore[arg-type]


@solara.component
def Sidebar():
    solara.ToggleButtonsSingle(value=lang.value, values=["en", "zh"], on_value=lang.set,
                               classes=["cb-lang"])  # fmt: skip
    choices = list(S.scenario_choices())
    if scenario.value not in choices:
        choices.append(scenario.value)

    def pick(v):
        scenario.set(v)
        overrides.set({})
        new_session()

    solara.Select(label=_t("scenario"), values=choices, value=scenario.value, on_value=pick)

    def set_seed(v):
        if v is None or v < 0:
            message.set(f"seed: expected a non-negative integer, got {v}")
            return
        seed.set(int(v))
        new_session()

    solara.InputInt(label=_t("seed"), value=seed.value, on_value=set_seed)

    def set_mode(v):
        mode.set(v)
        new_session()

    with solara.ToggleButtonsSingle(value=mode.value, on_value=set_mode, classes=["cb-mode"]):
        solara.Button(_t("mode_watch"), value="watch")
        solara.Button(_t("mode_play"), value="play")
    solara.Text(f"{_t('mode')}: {_t('mode_' + mode.value)}")
    Buttons()
    solara.Markdown(f"**{_t('parameters')}**")
    Controls()


# -------------------------------------------------------------------- charts
# Each live chart is built once per session and language and then updated in
# place (sim.report.figures.LiveChart: only the data are redrawn, on a cached
# background); a chart is redrawn only when what it shows has changed, and an
# unchanged chart is not sent to the browser again (its element is the same).
CHART_SIZE = (6.4, 2.9)
CHART_LEFT = {"cb-barometer": 0.14, "cb-timeline": 0.34}


def _live(cls: str, s: S.Session, lg: str) -> F.LiveChart:
    size, left = CHART_SIZE, CHART_LEFT.get(cls, 0.1)
    periods = s.targets()
    if cls == "cb-barometer":
        return F.LiveBarometer(lg, s.cities, periods, size, left)
    if cls == "cb-progress":
        return F.LiveProgress(lg, s.cities, periods, size, left)
    if cls == "cb-intensity":
        return F.LiveIntensity(lg, s.years, periods, size, left)
    if cls == "cb-timeline":
        return F.LiveTimeline(lg, s.cities, s.years, size, left)
    return F.LiveCost(lg, periods, size, left)


def chart_sources(s: S.Session, lg: str) -> dict[str, str]:
    """PNG data URLs of the five live charts (cached per content)."""
    r = s.result()
    q, a, ev = r.quarterly, r.annual, r.events
    in_period = int((q.period >= 0).sum())
    n_timeline = int(ev.kind.isin(F.TIMELINE_KINDS).sum())
    specs = {
        "cb-barometer": (in_period, q),
        "cb-progress": (in_period, q),
        "cb-intensity": (len(a), a),
        "cb-timeline": (n_timeline, ev),
        "cb-cost": (in_period, q),
    }
    out = {}
    charts = s.cache.setdefault("figures", {})
    with _lock:
        for cls, (content, data) in specs.items():
            out[cls] = _source(s, charts, cls, lg, (cls, lg, content, s.decisions), data)
    return out


def _source(s: S.Session, charts: dict, cls: str, lg: str, key: tuple, data: Any) -> str:
    """One chart's PNG data URL, drawn in its kept chart only when ``key`` is new."""
    if key not in s.cache:
        s.cache = {k: v for k, v in s.cache.items() if k[0] != cls}
        with matplotlib.rc_context(F.use_language(lg)):  # type: ignore[arg-type]
            chart = charts.get((cls, lg)) or charts.setdefault((cls, lg), _live(cls, s, lg))
            png = chart.png(data)
        s.cache[key] = "data:image/png;base64," + base64.b64encode(png).decode()
    return s.cache[key]


def _chart_key(src: str) -> str:
    return f"{zlib.crc32(src.encode()):08x}"


@solara.component
def Charts(srcs: dict[str, str]):
    with solara.ColumnsResponsive(12, large=6):
        for cls, src in srcs.items():
            solara.HTML(tag="div", unsafe_innerHTML=f'<img class="cb-chart {cls}" data-k="{_chart_key(src)}" '
                        f'style="max-width:100%" src="{src}">')  # fmt: skip


@solara.component
def AccountTable(s: S.Session, v: int):
    a = s.result().annual
    done = a[(a.city != "province") & (a.status != "")]
    if done.empty:
        return
    year = int(done.year.max())
    rows = done[done.year == year]
    df = pd.DataFrame({
        _t("city"): rows.city,
        _t("accounted_mt"): rows.accounted.round(2),
        _t("held_to_mt"): rows.held_to.round(2),
        _t("status"): [_t(x) for x in rows.status],
        _t("traded_mt"): rows.traded.round(2),
        _t("listed_quota_mt"): rows.listed_quota.round(2),
        _t("adjustment_mt"): rows.adjustment.round(2),
    })  # fmt: skip
    solara.Markdown(f"### {_t('annual_account')} {year}")
    solara.HTML(
        tag="div", unsafe_innerHTML=df.to_html(index=False, classes="cb-account", na_rep="–")
    )


def _final_table(accounts: list[dict[str, Any]], title: str) -> None:
    for fa in accounts:
        m = fa["measures"]
        solara.Markdown(
            f"#### {title} {fa['start_year']}–{fa['end_year']}: {_t('grade')} **{_t(fa['grade'])}** "
            f"({_t('composite')} {fa['composite']:.1f})\n\n"
            + "\n".join(f"- {_t(d)}: {sc:.1f}" for d, sc in fa["dimensions"].items())
            + f"\n- {_t('intensity_reduction')}: {100 * m['intensity_reduction']:.1f} % "
            f"({_t('intensity_target')} {100 * m['intensity_target']:.1f} %)"
            + f"\n- {_t('total_emissions')}: {m['total_emissions_mt']:.1f}; {_t('total_budget')}: "
            f"{m['total_budget_mt']:.1f}"
        )


@solara.component
def FinalAccount(s: S.Session, v: int):
    accounts = s.result().final_accounts
    if not accounts:
        return
    with solara.Card(_t("five_year_account"), classes=["cb-final"]):
        if s.play and s.done:
            c = s.compare()
            with solara.Columns([1, 1]):
                with solara.Column(classes=["cb-mine"]):
                    _final_table(c.mine, _t("your_account"))
                with solara.Column(classes=["cb-rules"]):
                    _final_table(c.rules, _t("rule_account"))

            def save():
                stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
                folder = s.save_game(GAMES_DIR / f"{s.scenario.name}-seed{s.seed}-{stamp}")
                message.set(f"{_t('saved_to')} {folder}/ — carbon-budget run {folder}/scenario.toml "
                            f"--seed {s.seed} --choices {folder}/choices.json")  # fmt: skip

            solara.Button(_t("save_game"), on_click=save, classes=["cb-save"])
        else:
            _final_table(accounts, _t("five_year_account"))


@solara.component
def Decision(s: S.Session, v: int):
    view = s.pending
    if view is None:
        return
    key = str(view.year)
    state = form.value.get(key) or {
        c: {"package": "", "change": None, "listed": 0.0}  # change None: the rule's suggestion
        for i, c in enumerate(view.cities)
    }

    def put(city: str, field: str, value: Any) -> None:
        new = {c: dict(d) for c, d in state.items()}
        new[city][field] = value
        form.set({key: new})

    def setter(city: str, field: str) -> Callable[[Any], None]:
        def on(x: Any) -> None:
            put(city, field, (x or "") if field == "package" else float(x or 0.0))

        return on

    def apply(use_rule: bool) -> None:
        try:
            if use_rule:
                s.decide()
            else:
                s.decide([view.suggested_change[i] if state[c]["change"] is None else state[c]["change"]
                          for i, c in enumerate(view.cities)],
                         [state[c]["listed"] for c in view.cities],
                         [state[c]["package"] or None for c in view.cities])  # fmt: skip
        except ValueError as exc:
            message.set(str(exc))
            return
        message.set("")
        form.set({})
        version.set(version.value + 1)

    with solara.Card(f"{_t('waiting_decision')} — {view.year}", classes=["cb-decision"]):
        solara.Text(
            f"{_t('reserve_left')}: {view.reserve_left:.2f} · {_t('assump_rule')}: "
            f"{choice_label('accounts.rule', view.rule, lang.value)}"
        )
        for i, c in enumerate(view.cities):
            with solara.Row(classes=["cb-city-decision"], style={"align-items": "center"}):
                solara.Text(f"{c}: {_t(view.statuses[i]) if view.statuses[i] else '–'} · "
                            f"{_t('accounted_mt')} {view.accounted[i]:.2f} / {_t('held_to_mt')} {view.held_to[i]:.2f}"
                            f" · {_t('suggestion')}: {view.suggested_change[i]:+.2f} Mt, "
                            f"{_pkg(view.suggested_packages[i])} · {_t('max_change')} ±{view.max_change[i]:.2f}")  # fmt: skip
                _select(_t("package"), {"": _t("follow_status"), **{k: _pkg(k) for k in S.PACKAGE_CHOICES}},
                        state[c]["package"], setter(c, "package"))  # fmt: skip
                shown = state[c]["change"]
                solara.InputFloat(label=_t("change_mt"),
                                  value=round(float(view.suggested_change[i]), 3) if shown is None else shown,
                                  on_value=setter(c, "change"))  # fmt: skip
                solara.InputFloat(label=_t("listed_mt"), value=state[c]["listed"],
                                  on_value=setter(c, "listed"))  # fmt: skip
        with solara.Row():
            solara.Button(
                _t("decide"), color="primary", on_click=lambda: apply(False), classes=["cb-decide"]
            )
            solara.Button(
                _t("use_suggestion"), on_click=lambda: apply(True), classes=["cb-suggest"]
            )


@solara.component
def EventLog(s: S.Session, v: int):
    ev = s.result().events
    lg = lang.value
    cities = {"": _t("all"), **{c: city_label(c, lg) for c in [*s.cities, "province"]}}
    kinds = {"": _t("all"), **{k: event_label(k, lg) for k in sorted(ev.kind.unique())}}
    with solara.Row():
        _select(_t("filter_city"), cities, city_filter.value, city_filter.set)
        _select(_t("filter_kind"), kinds, kind_filter.value, kind_filter.set)
    if city_filter.value:
        ev = ev[ev.city == city_filter.value]
    if kind_filter.value:
        ev = ev[ev.kind == kind_filter.value]
    ev = ev.sort_values("t", kind="stable", ascending=False).head(EVENT_ROWS)
    rows = "".join(
        f"<tr data-kind='{r.kind}' data-city='{r.city}'><td>{r.year} Q{r.quarter}</td>"
        f"<td>{event_label(str(r.kind), lg)}</td><td>{html.escape(city_label(str(r.city), lg))}</td>"
        f"<td>{_num(r.amount)}</td><td>{_num(r.value)}</td>"
        f"<td>{html.escape(detail_label(str(r.detail), lg))}</td></tr>"
        for r in ev.itertuples()
    )
    head = "".join(
        f"<th>{_t(k)}</th>" for k in ("quarter", "kind", "city", "amount_mt", "value", "detail")
    )
    solara.HTML(tag="div", unsafe_innerHTML=f"<table class='cb-events'><tr>{head}</tr>{rows}</table>",
                style="max-height:320px;overflow:auto;font-size:12px")  # fmt: skip


def _num(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if abs(x) >= 1000:
        return f"{x:.0f}"  # a year stays a year, not 2.02e+03
    if 0 < abs(x) < 0.001:
        return ("-" if x < 0 else "") + "<0.001"  # no 1.2e-05 in either language
    return f"{x:.3g}"


@solara.component
def Main():
    """Everything that changes with a step (only this part is redrawn)."""
    s = session.value
    v = version.value
    if message.value:
        solara.Warning(message.value, classes=["cb-message"])
    if s is None:
        return
    year, quarter = s.now
    status = _t("finished") if s.done else f"{_t('now')}: {year} Q{quarter}"
    took = s.cache.get("update_ms")
    ms = "" if took is None else f" · {_t('step_time')}: {took:.0f} ms"
    text = html.escape(f"{s.scenario.name} · {status} · t = {s.t}/{s.T}{ms}")
    srcs = chart_sources(s, lang.value)
    keys = " ".join(f"{cls}:{_chart_key(src)}" for cls, src in srcs.items())  # what the charts show
    solara.HTML(
        tag="div",
        unsafe_innerHTML=f'<div class="cb-now" data-v="{v}" data-charts="{keys}">{text}</div>',
    )
    Decision(s, v)
    FinalAccount(s, v)
    Charts(srcs)
    AccountTable(s, v)
    solara.Markdown(f"### {_t('event_log')}")
    EventLog(s, v)


@solara.component
def Page():
    if session.value is None:
        new_session()
    solara.Title(_t("app_title"))
    with solara.AppBar():
        solara.AppBarTitle(_t("app_title"))
    with solara.Sidebar():
        Sidebar()
    Main()
