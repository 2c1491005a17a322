"""The one parameter table.

Every scalar parameter of a scenario is declared here once: dotted name, type,
unit, default, bounds (or allowed levels), description and source.  Scenario
validation, ``carbon-budget params``, the documentation table and (later) the
SALib problem and the UI sliders are all generated from this table, so they
cannot disagree.

Structured parts of a scenario (cities, plan periods, shocks, scheduled major
projects) are lists of records; their fields are declared in the same way in
``CITY_FIELDS``, ``PERIOD_FIELDS``, ``SHOCK_FIELDS`` and ``PROJECT_FIELDS``.

Units used throughout (MODEL.md section 2): emissions Mt CO2; output and GDP
bn CNY (constant prices) at annual rate; internal intensity Mt CO2 per bn CNY
(= 10 t CO2 per 10,000 CNY; reports use t/10,000 CNY); electricity TWh;
prices CNY per t CO2.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sim.policies.behaviours import BEHAVIOUR_NAMES
from sim.policies.instruments import INSTRUMENTS
from sim.policies.regimes import REGIMES

SECTORS: tuple[str, ...] = ("power", "steel", "cement", "chemicals", "other_industry")
STATUSES: tuple[str, ...] = ("surplus", "balance", "overrun")
# Package keys: a status, and for overruns the warning colour (MODEL.md 4.3).
PACKAGE_KEYS: tuple[str, ...] = ("surplus", "balance", "overrun_orange", "overrun_red")

FACTS = "shared/FACTS.md"
SEED = "seed paper (Zhang, Mu, Li 2025)"
ASSUMED = "modelling assumption"
VARY = "assumption: vary it in sensitivity analysis"
ALLOC_WEIGHTS = "assumption (the seed paper names the methods, gives no weights): vary it in sensitivity analysis"


def _short(value: Any, limit: int = 40) -> str:
    """``repr`` of a value for a one-line message (huge integers and deep tables shortened)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**limit:
        return (
            f"an integer of {len(str(abs(value))) if abs(value) < 10**4000 else 'over 4000'} digits"
        )
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        text = f"a {type(value).__name__}"
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Param:
    """One declared parameter."""

    name: str
    type: type
    default: Any
    unit: str = "-"
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    description: str = ""
    source: str = ASSUMED
    kind: str = "policy"  # "world": can change the no-policy counterfactual; "policy": cannot

    def check(self, value: Any, where: str | None = None) -> Any:
        """Return ``value`` coerced to the declared type or raise ``ValueError``.

        The message names the key and the reason in one line.
        """
        key = where or self.name
        if self.type is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{key}: expected true or false, got {_short(value)}")
            return value
        if self.type is int:
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    raise ValueError(f"{key}: expected an integer, got {_short(value)}")
        elif self.type is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{key}: expected a number, got {_short(value)}")
            try:
                value = float(value)
            except OverflowError:
                raise ValueError(f"{key}: {_short(value)} is too large for a number") from None
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(f"{key}: expected a finite number, got {value!r}")
        elif self.type is str:
            if not isinstance(value, str):
                raise ValueError(f"{key}: expected a string, got {_short(value)}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{key}: {_short(value)} is not one of {', '.join(self.choices)}")
        if self.low is not None and value < self.low:
            raise ValueError(f"{key}: {_short(value)} is below the minimum {self.low:g}")
        if self.high is not None and value > self.high:
            raise ValueError(f"{key}: {_short(value)} is above the maximum {self.high:g}")
        return value

    @property
    def bounds_text(self) -> str:
        if self.choices is not None:
            return " | ".join(self.choices)
        if self.type is bool:
            return "true | false"
        lo = "" if self.low is None else f"{self.low:g}"
        hi = "" if self.high is None else f"{self.high:g}"
        return f"[{lo}, {hi}]"


# Parameters that can change the no-policy counterfactual (regime ``none``): the
# province's structure and economy, the macro cycle, sectors, the run length and
# the timing of projects.  Everything else only acts through local policy, so a
# sweep may reuse one counterfactual per replicate seed across design rows that
# vary only "policy" parameters (tests/test_param_kinds.py checks the tags).
WORLD_PREFIXES = (
    "province.",
    "macro.ar",
    "macro.sigma",
    "sector.",
    "run.",
    "projects.build_lag_quarters",
)


def _kind(name: str) -> str:
    return "world" if name.startswith(WORLD_PREFIXES) else "policy"


def _p(name: str, type_: type, default: Any, unit: str = "-", low=None, high=None, *,
       choices=None, desc: str = "", source: str = ASSUMED, kind: str | None = None) -> Param:  # fmt: skip
    return Param(name, type_, default, unit, low, high, choices, desc, source, kind or _kind(name))


# --------------------------------------------------------------------------
# Sector parameters: one row per (sector, field), defaults per sector.
# Calibration: base-year emission shares from CAIT 2018 (FACTS.md): electricity
# and heat 50.6 %, manufacturing and construction 25.9 %, industrial processes
# 7.6 %, transport 8.9 %, buildings 5.3 %.  Manufacturing + processes (33.5 %)
# are split over steel, cement, chemicals and other industry; transport,
# buildings and the rest form the diffuse sector (about 16 %).
# --------------------------------------------------------------------------
_SECTOR_DEFAULTS: dict[str, dict[str, float]] = {
    #                 power   steel  cement  chem   other
    "emission_share": dict(zip(SECTORS, (0.50, 0.15, 0.085, 0.06, 0.04), strict=True)),
    "gdp_share": dict(zip(SECTORS, (0.03, 0.03, 0.015, 0.045, 0.20), strict=True)),
    "firm_share": dict(zip(SECTORS, (0.05, 0.08, 0.12, 0.20, 0.55), strict=True)),
    "trend_growth": dict(zip(SECTORS, (0.040, 0.010, 0.000, 0.050, 0.060), strict=True)),
    "cyclicality": dict(zip(SECTORS, (0.6, 1.4, 1.3, 1.1, 1.0), strict=True)),
    "noise": dict(zip(SECTORS, (0.012, 0.025, 0.025, 0.02, 0.02), strict=True)),
    "autonomous_improvement": dict(zip(SECTORS, (0.003, 0.010, 0.008, 0.012, 0.018), strict=True)),
    "electricity_intensity": dict(zip(SECTORS, (0.06, 0.18, 0.12, 0.10, 0.035), strict=True)),
    "electrification_drift": dict(zip(SECTORS, (0.0, 0.012, 0.008, 0.01, 0.012), strict=True)),
    "mac_scale": dict(zip(SECTORS, (320.0, 260.0, 220.0, 240.0, 180.0), strict=True)),
    "mac_max_share": dict(zip(SECTORS, (0.25, 0.35, 0.30, 0.35, 0.40), strict=True)),
    "project_prob": dict(zip(SECTORS, (0.20, 0.08, 0.05, 0.25, 0.35), strict=True)),
    "project_size": dict(zip(SECTORS, (0.25, 0.15, 0.12, 0.22, 0.20), strict=True)),
    "vintage_improvement": dict(zip(SECTORS, (0.04, 0.05, 0.04, 0.05, 0.06), strict=True)),
    "base_carbon_price": dict(zip(SECTORS, (80.0, 0.0, 0.0, 0.0, 0.0), strict=True)),
}

_SECTOR_META: dict[str, tuple[str, float, float, str, str]] = {
    # field: (unit, low, high, description, source)
    "emission_share": (
        "share",
        0.0,
        1.0,
        "share of provincial base-year emissions",
        "CAIT 2018 via " + FACTS,
    ),
    "gdp_share": (
        "share",
        0.0,
        1.0,
        "share of provincial GDP (value added) produced by the sector's key firms",
        ASSUMED,
    ),
    "firm_share": ("share", 0.0, 1.0, "share of the key firms belonging to the sector", ASSUMED),
    "trend_growth": ("1/yr", -0.2, 0.3, "trend output growth g_s (MODEL.md 4.1)", ASSUMED),
    "cyclicality": ("-", 0.0, 5.0, "sensitivity beta_s of output to the macro deviation", ASSUMED),
    "noise": ("1/quarter", 0.0, 0.5, "idiosyncratic quarterly output noise sigma_f", ASSUMED),
    "autonomous_improvement": ("1/yr", 0.0, 0.2, "autonomous intensity improvement a_s", ASSUMED),
    "electricity_intensity": (
        "TWh/bn CNY",
        0.0,
        2.0,
        "electricity use per unit of output (el)",
        ASSUMED,
    ),
    "electrification_drift": ("1/yr", -0.1, 0.2, "yearly growth of el (electrification)", ASSUMED),
    "mac_scale": ("CNY/t", 1.0, 5000.0, "c_s in MAC(x) = c_s x / (x_max - x)", ASSUMED),
    "mac_max_share": ("share", 0.01, 0.95, "x_max, the largest reachable abatement share", ASSUMED),
    "project_prob": (
        "1/yr",
        0.0,
        1.0,
        "probability pi_s that a firm proposes a capacity project in a year",
        ASSUMED,
    ),
    "project_size": (
        "share of K",
        0.0,
        2.0,
        "median size of a proposed expansion (lognormal)",
        ASSUMED,
    ),
    "vintage_improvement": (
        "share",
        0.0,
        0.9,
        "intensity of new capacity below the firm's current intensity",
        ASSUMED,
    ),
    "base_carbon_price": (
        "CNY/t",
        0.0,
        2000.0,
        "carbon price already faced without local policy (national ETS ~80 CNY/t for power)",
        ASSUMED,
    ),
}


def _sector_params() -> list[Param]:
    out = []
    for field, per in _SECTOR_DEFAULTS.items():
        unit, lo, hi, desc, src = _SECTOR_META[field]
        for s in SECTORS:
            out.append(
                _p(
                    f"sector.{s}.{field}",
                    float,
                    per[s],
                    unit,
                    lo,
                    hi,
                    desc=f"{s}: {desc}",
                    source=src,
                )
            )
    return out


# --------------------------------------------------------------------------
# Instruments: the registry (sim/policies/instruments.py) declares each
# instrument once, with the size of its effect at strength 1 ("full"); the
# parameter rows instrument.<id>.full and package.<key>.<id> come from it.
# --------------------------------------------------------------------------
INSTRUMENT_FULL_EFFECT: dict[str, tuple[float, str, float, str]] = {
    i.id: (i.full, i.unit, i.high, i.meaning) for i in INSTRUMENTS.values()
}

# Default packages (seed paper, MODEL.md 4.4): strength in [0, 1] per instrument.
DEFAULT_PACKAGES: dict[str, dict[str, float]] = {
    "surplus": {"abatement_subsidy": 0.3, "green_finance": 1.0, "barometer": 1.0, "green_list": 1.0,
                "project_assessment": 1.0},
    "balance": {"project_assessment": 1.0, "green_finance": 1.0, "differentiated_pricing": 0.5,
                "barometer": 1.0, "abatement_subsidy": 0.4, "green_list": 1.0},
    "overrun_orange": {"project_assessment": 1.0, "regional_restriction": 0.5, "capacity_replacement": 0.67,
                       "phase_out": 0.5, "differentiated_pricing": 1.0, "punitive_pricing": 0.5,
                       "abatement_subsidy": 0.6, "green_finance": 1.0, "barometer": 1.0, "public_naming": 1.0},
    "overrun_red": {"project_assessment": 1.0, "regional_restriction": 1.0, "capacity_replacement": 1.0,
                    "phase_out": 1.0, "production_restriction": 0.5, "differentiated_pricing": 1.0,
                    "punitive_pricing": 1.0, "abatement_subsidy": 0.8, "green_finance": 1.0,
                    "barometer": 1.0, "public_naming": 1.0},
}  # fmt: skip


def instrument_params(instruments: dict | None = None) -> list[Param]:
    """Parameter rows of an instrument registry: ``instrument.<id>.full`` and
    ``package.<key>.<id>`` (default strengths from DEFAULT_PACKAGES, else 0)."""
    registry = INSTRUMENTS if instruments is None else instruments
    out = []
    for iid, ins in registry.items():
        default, unit, hi, meaning = ins.full, ins.unit, ins.high, ins.meaning
        out.append(
            _p(
                f"instrument.{iid}.full",
                float,
                default,
                unit,
                0.0,
                hi,
                desc=f"effect of {iid} at strength 1: {meaning}",
                source=SEED + " (toolbox); size assumed",
            )
        )
        for key in PACKAGE_KEYS:
            out.append(
                _p(
                    f"package.{key}.{iid}",
                    float,
                    DEFAULT_PACKAGES[key].get(iid, 0.0),
                    "strength",
                    0.0,
                    1.0,
                    desc=f"strength of {iid} in the {key} package",
                    source=SEED + " (packages)",
                )
            )
    return out


# --------------------------------------------------------------------------
# Quality evaluation of the five-year final account (MODEL.md 4.8, docs/ODD.md
# 8.11).  Every sub-measure is scored linearly from ``good`` (100 points) to
# ``bad`` (0 points); a dimension is the weighted mean of its sub-scores.  One
# row per reference value and weight: evaluation.<dimension>.<measure>.good /
# .bad / .weight, and evaluation.stage.<measure>.good / .bad for measures only
# the stage indicators use.  The seed paper names the dimensions but gives no
# numbers: each reference value says where it comes from.
# --------------------------------------------------------------------------
_ENDS = "the ends of a share (no judgement)"
EVALUATION_MEASURES: dict[str, tuple[tuple[str, float, float, float, float, str, str], ...]] = {
    # dimension: (measure, good, bad, weight, upper bound of good/bad, source of good/bad, description)
    "rationality": (
        ("plan_error", 0.0, 0.15, 0.3, 1.0, "judgement: 15 % off the initial budget scores 0 (the UK's third budget ended 15 % under, " + FACTS + "); " + VARY, "|period emissions - initial province budget| / budget"),
        ("forecast_error_gdp", 0.0, 0.10, 0.2, 1.0, "judgement: 10 % is about two years of 5 % growth (" + FACTS + "); " + VARY, "|period GDP - initial plan's GDP forecast| / forecast"),
        ("allocation_dispersion", 0.0, 0.20, 0.2, 1.0, VARY, "s.d. over cities of emissions / initial allocation"),
        ("feasible_share", 1.0, 0.0, 0.3, 1.0, _ENDS, "share of cities within 3 % of their initial allocation"),
    ),
    "effectiveness": (
        ("overrun_quarter_share", 0.0, 0.5, 0.15, 1.0, VARY, "share of city-quarters in overrun"),
        ("gdp_loss_per_mt", 0.0, 2.0, 0.25, 100.0, "assumption (2.0 bn CNY/Mt = 2,000 CNY/t): " + VARY, "GDP loss per Mt abated"),
        ("end_loadedness", 0.2, 0.8, 0.3, 1.0, "0.2 = one year in five (an even spread); 0.8 " + VARY, "final-year share of GDP loss and abatement"),
        ("policy_volatility", 0.0, 1.0, 0.1, 10.0, VARY, "package switches per city-year"),
        ("overachievement", 0.0, 0.10, 0.2, 1.0, "judgement: beating the binding target by 10 % (of its intensity or cap) is wasted effort; " + VARY, "margin by which the binding target was beaten"),
    ),
    "coordination": (
        ("compliance_dispersion", 0.0, 0.20, 0.25, 1.0, VARY, "s.d. over cities of emissions / held-to target"),
        ("compliant_share", 1.0, 0.0, 0.25, 1.0, _ENDS, "share of cities within their held-to target"),
        ("deficit_covered_by_trade", 1.0, 0.0, 0.2, 1.0, _ENDS, "share of accounted deficits covered by trades"),
        ("reserve_use", 0.5, 0.0, 0.15, 1.0, VARY, "listed quota / reserve"),
        ("assessment_share", 1.0, 0.0, 0.15, 1.0, _ENDS, "share of proposed project emissions decided by an enforced carbon assessment"),
    ),
    "capacity": (
        ("fiscal_cost_per_mt", 0.0, 0.5, 0.35, 100.0, "assumption (0.5 bn CNY/Mt = 500 CNY/t): " + VARY, "fiscal cost per Mt abated"),
        ("monitoring_mape", 0.0, 0.15, 0.35, 1.0, "electricity-based estimates deviate 8.7-12.9 % on average (" + FACTS + "); 15 % scores 0", "fast-estimate MAPE"),
        ("warning_lead_quarters", 6.0, 0.0, 0.3, 20.0, "official statistics lag about 18 months = 6 quarters (" + FACTS + ")", "quarters a warning came before the official statistics"),
    ),
}  # fmt: skip
# measures used only by the stage indicators: (measure, good, bad, source, description)
STAGE_MEASURES: tuple[tuple[str, float, float, str, str], ...] = (
    ("base_year_error", 0.0, 0.10, VARY, "|province's base-year estimate - official figure| / official figure"),
    ("monitoring_bias_abs", 0.0, 0.10, "Carbon Monitor national estimates are within 6-10 % (2 sd, " + FACTS + ")", "|mean signed fast-estimate error|"),
    ("account_error", 0.0, 0.10, VARY, "mean |annual account's city figure - truth| / truth"),
)  # fmt: skip


def _evaluation_params() -> list[Param]:
    out = []
    for dim, rows in EVALUATION_MEASURES.items():
        for m, good, bad, w, hi, src, desc in rows:
            out += [
                _p(f"evaluation.{dim}.{m}.good", float, good, "-", 0.0, hi, desc=f"{dim}: value of {m} ({desc}) that scores 100", source=src),
                _p(f"evaluation.{dim}.{m}.bad", float, bad, "-", 0.0, hi, desc=f"{dim}: value of {m} that scores 0", source=src),
                _p(f"evaluation.{dim}.{m}.weight", float, w, "weight", 0.0, 1.0, desc=f"weight of {m} in {dim} (normalised over the dimension)", source=VARY),
            ]  # fmt: skip
    for m, good, bad, src, desc in STAGE_MEASURES:
        out += [
            _p(f"evaluation.stage.{m}.good", float, good, "-", 0.0, 1.0, desc=f"stage indicators: value of {m} ({desc}) that scores 100", source=src),
            _p(f"evaluation.stage.{m}.bad", float, bad, "-", 0.0, 1.0, desc=f"stage indicators: value of {m} that scores 0", source=src),
        ]  # fmt: skip
    out += [
        _p("evaluation.rationality.feasible_tolerance", float, 0.03, "share", 0.0, 1.0,
           desc="a city's initial allocation proved feasible if its period emissions stay within (1 + this) x it", source=VARY),
        _p("evaluation.effectiveness.completion_floor", float, 50.0, "points", 1.0, 99.0,
           desc="effectiveness of a period that meets its target is at least this; a miss scores below it", source=VARY),
        _p("evaluation.effectiveness.overshoot.bad", float, 0.10, "share", 0.001, 1.0,
           desc="overshoot of the central target at which a missed period's effectiveness reaches 0",
           source="judgement: the 14th FYP ended about 6 points short of -18 % (" + FACTS + "); " + VARY),
    ]  # fmt: skip
    return out


_GLOBAL: list[Param] = [
    # province and population
    _p("province.name", str, "Eastern province", desc="label used in reports"),
    _p("province.base_emissions_mt", float, 800.0, "Mt/yr", 1.0, 20000.0,
       desc="provincial CO2 emissions in the base year (year before the first period)",
       source="CEADs 2019 (Jiangsu 805 Mt) via " + FACTS),
    _p("province.base_gdp_bn", float, 12800.0, "bn CNY/yr", 1.0, 1e6,
       desc="provincial GDP in the base year (constant prices)", source="assumed: the order of a large eastern province (not in FACTS.md)"),
    _p("province.n_firms", int, 3000, "firms", 5, 2_000_000, desc="number of key firms (all cities)"),
    _p("province.diffuse_growth", float, 0.055, "1/yr", -0.2, 0.3, desc="trend growth of the diffuse sector's GDP"),
    _p("province.diffuse_cyclicality", float, 0.5, "-", 0.0, 5.0, desc="sensitivity of diffuse-sector growth to the macro deviation"),
    _p("province.diffuse_noise", float, 0.004, "1/quarter", 0.0, 0.5, desc="city-level quarterly noise of diffuse-sector growth"),
    _p("province.diffuse_improvement", float, 0.015, "1/yr", 0.0, 0.2, desc="autonomous intensity improvement of the diffuse sector"),
    _p("province.diffuse_electricity_intensity", float, 0.035, "TWh/bn CNY", 0.0, 2.0, desc="electricity intensity of the diffuse sector"),
    _p("province.diffuse_electrification_drift", float, 0.02, "1/yr", -0.1, 0.2, desc="yearly growth of diffuse electricity intensity"),
    _p("province.diffuse_response", float, 0.02, "1/yr", 0.0, 0.2,
       desc="largest extra yearly intensity cut of the diffuse sector under economic and information instruments"),
    _p("province.firm_size_sigma", float, 1.0, "log", 0.0, 3.0, desc="dispersion of firm size within a sector (lognormal)"),
    _p("province.firm_intensity_sigma", float, 0.25, "log", 0.0, 2.0, desc="dispersion of firm intensity within a sector"),
    _p("province.utilisation", float, 0.85, "share", 0.3, 1.0, desc="initial capacity utilisation Q/K"),
    _p("province.outdated_share", float, 0.15, "share", 0.0, 0.9, desc="share of firms (highest intensity in their sector) flagged as outdated capacity"),
    _p("province.population_seed", int, 20260101, "-", 0, 2**63 - 1,
       desc="seed of the synthetic firm population (structure); the run seed drives the dynamics"),
    # macro environment
    _p("macro.ar", float, 0.7, "-", 0.0, 0.99, desc="AR(1) coefficient of the quarterly macro deviation"),
    _p("macro.sigma", float, 0.008, "1/quarter", 0.0, 0.2, desc="innovation s.d. of the quarterly macro deviation",
       source="tuned to CEADs growth volatility 2-9 % via " + FACTS),
    _p("macro.gdp_growth_expectation", float, 0.05, "1/yr", -0.1, 0.2, desc="GDP growth used in plan forecasts",
       source="national growth 5.0-5.2 % (2023-24) via " + FACTS),
    # run
    _p("run.warmup_years", int, 4, "yr", 3, 20, desc="years simulated before the first period to build statistics"),
    # plan preparation (MODEL.md 4.2)
    _p("plan.annual_shape", str, "path", choices=("path", "flat", "front_loaded"),
       desc="how the five-year budget is split into annual targets"),
    _p("plan.front_loading", float, 0.1, "-", 0.0, 0.5, desc="tilt of the front_loaded shape (earlier years tighter)"),
    _p("plan.reserve_share", float, 0.03, "share", 0.0, 0.3, desc="share of the budget held back as provincial reserve", source=SEED),
    _p("plan.scenario_growth_spread", float, 0.01, "1/yr", 0.0, 0.05, desc="low/high forecast scenarios: expectation -/+ this"),
    _p("plan.max_policy_cut", float, 0.03, "1/yr", 0.0, 0.2,
       desc="largest yearly intensity cut beyond trend that the plan treats as feasible"),
    _p("plan.weight_grandfathering", float, 0.4, "weight", 0.0, 1.0, desc="vertical allocation weight: historic emissions", source=ALLOC_WEIGHTS),
    _p("plan.weight_intensity", float, 0.4, "weight", 0.0, 1.0, desc="vertical allocation weight: forecast GDP x the city's base intensity cut by the target, smaller cuts for heavier industry", source=ALLOC_WEIGHTS),
    _p("plan.weight_equality", float, 0.0, "weight", 0.0, 1.0, desc="vertical allocation weight: population", source=ALLOC_WEIGHTS),
    _p("plan.weight_efficiency", float, 0.1, "weight", 0.0, 1.0, desc="vertical allocation weight: GDP x provincial benchmark intensity", source=ALLOC_WEIGHTS),
    _p("plan.weight_potential", float, 0.1, "weight", 0.0, 1.0, desc="vertical allocation weight: emissions net of abatement potential", source=ALLOC_WEIGHTS),
    _p("plan.structure_elasticity", float, 1.0, "-", 0.0, 2.0, desc="intensity method: city cut = target x (industry share / mean)^-elasticity"),
    _p("plan.negotiation_tolerance", float, 0.03, "share", 0.0, 0.5, desc="shortfall against own need (share of allocation) above which a city appeals", source=SEED),
    _p("plan.negotiation_grant", float, 0.5, "share", 0.0, 1.0, desc="share of an appealing city's shortfall granted from the reserve"),
    _p("plan.negotiation_reserve_cap", float, 0.5, "share", 0.0, 1.0, desc="most of the reserve that negotiation may use"),
    _p("plan.city_extra_cut", float, 0.015, "1/yr", 0.0, 0.2, desc="yearly intensity cut beyond trend that a city counts on in its own need"),
    _p("plan.firm_count_threshold", int, 150, "firms", 0, 10_000_000, desc="cities with at most this many key firms allocate to firms, else to sectors"),
    _p("plan.hhi_threshold", float, 0.15, "-", 0.0, 1.0, desc="cities whose firm-emission HHI is at least this allocate to firms"),
    _p("plan.target_share", float, 0.5, "share", 0.0, 1.0, desc="share of a city's industrial emissions, most over allocation first, targeted by firm-level instruments"),
    # monitoring (MODEL.md 4.3)
    _p("monitoring.stat_lag_quarters", int, 6, "quarters", 1, 16, desc="publication lag of official statistics after year end", source="~18 months, seed paper via " + FACTS),
    _p("monitoring.stat_error", float, 0.01, "share", 0.0, 0.2, desc="relative s.d. of official city statistics"),
    _p("monitoring.fast_lag_quarters", int, 1, "quarters", 1, 2, desc="lag of the fast (electricity-to-carbon) estimate", source=SEED),
    _p("monitoring.fast_noise", float, 0.02, "share", 0.0, 0.5, desc="relative s.d. of measured electricity and output at monitoring capacity 1",
       source="electricity-based estimates deviate 9-13 % at firm level via " + FACTS),
    _p("monitoring.trend_correction", bool, True,
       desc="fast estimate: extrapolate the drift of each city's calibration factor between its last two official years"),
    _p("monitoring.abatement_ledger", bool, True,
       desc="fast estimate: subtract abatement completed since the calibration year, known from the project ledger"),
    _p("monitoring.frequency", str, "quarterly", choices=("quarterly", "half_yearly"), desc="monitoring and warning dates"),
    _p("monitoring.surplus_threshold", float, 0.05, "share", 0.0, 0.5, desc="status surplus if r < 1 - this"),
    _p("monitoring.overrun_threshold", float, 0.03, "share", 0.0, 0.5, desc="status overrun if r > 1 + this"),
    _p("monitoring.red_threshold", float, 0.08, "share", 0.0, 1.0, desc="red (severe) warning if r > 1 + this; orange between overrun and red",
       source="three-colour national barometer via " + FACTS),
    # annual account and adjustment (MODEL.md 4.6)
    _p("monitoring.province_first", bool, True,
       desc="five-year coordination: a city in overrun gets a restriction package (overrun_*) only while the province as a whole is not under its schedule by more than monitoring.province_margin (early in a period widened by monitoring.early_tolerance); otherwise it runs the balance package (its warning stands)",
       source=SEED + " (overall coordination); the rule is a documented judgement"),
    _p("monitoring.cap_restriction_max", float, 0.0, "share", 0.0, 0.95,
       desc="total and dual mode, regimes with coordination: largest share of key-firm output the province withholds (orderly restriction) while its projected five-year total exceeds its budget",
       source="assumption: vary it in sensitivity analysis (the same bound as the traditional campaign, regime.campaign_max_restriction)"),
    _p("monitoring.cap_safety", float, 0.01, "share", 0.0, 0.2,
       desc="orderly restriction aims this share below the five-year budget (the fast estimate's error)",
       source="assumption: vary it in sensitivity analysis (of the order of the fast estimate's provincial error, docs/ODD.md 10)"),
    _p("monitoring.province_margin", float, 0.0, "share", -0.5, 0.5,
       desc="province_first: restriction packages switch on when the province's aggregate time-progress ratio (total/dual: or its projected five-year total over the budget re-based on the official base year) is at least 1 - this",
       source="assumption: vary it in sensitivity analysis (0: the province restricts once it is projected to miss the centre's target; -0.02 met it in 0.85 of 20 seeds on default, docs/ODD.md 10.1)"),
    _p("monitoring.early_tolerance", float, 0.15, "share", 0.0, 0.5,
       desc="status thresholds (surplus, overrun, red) and the province's own slack in five-year coordination are widened by this share / sqrt(quarters of the period observed): early ratios are judged with the tolerance of a mean of few quarters",
       source="calibration (docs/ODD.md 10.1): city ratios in a period's first quarters spread with s.d. 9 % (the initial allocation's misfit, settled by the first annual account) against 1-3 % later; 0.15 (about 1.6 s.d. of that misfit) is a calibration choice that brought default's mean margin under 2.5 points with the target still met in at least 90 % of seeds; vary it in sensitivity analysis"),
    _p("steering.years", int, 2, "yr", 0, 10,
       desc="closed-loop steering of the remaining budget (regimes with coordination): final years of a period in which the province re-projects its binding outcome on each monitoring date and sets a surcharge on key firms to close the gap to its aim (0: off)",
       source="documented judgement: the intensity target is the final year's; two years ahead the projection's error is 1-2 % (docs/ODD.md 10.1)"),
    _p("steering.cap_years", int, 4, "yr", 0, 10,
       desc="as steering.years for a cap (total and dual mode): a cap sums the whole period, so its steering starts earlier (0: off)",
       source="documented judgement: a cap sums the whole period, so steering starts once a year of the period is known (projection error s.d. 4-5 % of the cap in the second year, under 2 % in the fourth, docs/ODD.md 10.1)"),
    _p("steering.cap_horizon", int, 8, "quarters", 0, 40,
       desc="cap steering closes on each date only the share horizon / quarters left of the projected excess (a receding horizon; 0: all of it)",
       source="calibration (docs/ODD.md 10.1): with the last resort (steering.max_restriction) behind it, closing early only the part of a projected excess that falls on the next two years avoids most early over-steering (the projection's error is 4-5 % of the cap in a period's second year); vary it in sensitivity analysis"),
    _p("steering.min_quarters", int, 2, "quarters", 1, 20,
       desc="steering buys no abatement that would reach fewer than this many quarters of the control it steers (a cap's remaining quarters, the final year's)",
       source="documented judgement: abatement bought for one quarter's emissions costs its full investment (docs/ODD.md 8.4)"),
    _p("steering.uncertainty", float, 0.0, "share/yr", 0.0, 0.2,
       desc="steering acts only on the part of a projected excess beyond this share of the target per year projected ahead (the projection's error s.d. grows with the horizon)",
       source="assumption: vary it in sensitivity analysis (0: act on the whole projected excess; the projection's error s.d. grows by about 1.2 % of the cap per year ahead on province21_total, docs/ODD.md 10.1)"),
    _p("steering.safety", float, 0.01, "share", 0.0, 0.2,
       desc="steering aims this share below the target (cap, or target intensity)",
       source="assumption: vary it in sensitivity analysis (of the order of the fast estimate's provincial error, docs/ODD.md 10)"),
    _p("steering.max_surcharge", float, 1000.0, "CNY/t", 0.0, 5000.0,
       desc="largest surcharge steering adds to key firms' carbon price",
       source="assumption: vary it in sensitivity analysis (about the mac_scale of the sectors x 3-5, where abatement nears its maximum)"),
    _p("steering.max_restriction", float, 0.1, "share", 0.0, 0.5,
       desc="last resort of the steering: while even steering.max_surcharge cannot close the projected gap, the province withholds up to this share of every key firm's output (orderly restriction, re-sized on each monitoring date and lifted when no longer needed; 0: never)",
       source="calibration (docs/ODD.md 10.1): 0.05, the traditional campaign's bound, left the 21-city cap met in 0.88 of 90 seeds, 0.1 in 0.98; orderly power use of 2021 is the precedent; vary it in sensitivity analysis"),
    _p("steering.restriction_band", float, 0.005, "share/yr", 0.0, 0.2,
       desc="the steering's last resort acts only on the part of a gap beyond this share of the control (cap, or final-year target emissions) per year projected ahead: restricted output cannot be restored, and early projections err by several per cent",
       source="calibration (docs/ODD.md 10.1): on total_led and province21_total 0.005 cuts the last resort's restriction by about a quarter to a third and keeps the cap met in 0.95-0.97 of 60 seeds (0.01: 0.90-0.95); vary it in sensitivity analysis"),
    _p("steering.growth_clip", float, 0.1, "1/yr", 0.0, 0.5,
       desc="steering projects the last known quarter forward at the GDP accounts' latest year-on-year growth times the change of carbon intensity between the last two published official years, the latter clipped to +- this (0: GDP growth alone)",
       source="documented judgement: the official statistics' change is accurate (monitoring.stat_error) but a year or two old; the clip only guards against shock years (docs/ODD.md 8.4)"),
    _p("steering.growth_weight", float, 0.5, "share", 0.0, 1.0,
       desc="weight of the GDP accounts' latest year-on-year growth in the steering's projection; the rest is the plan's expected growth (macro.gdp_growth_expectation), since a year of boom or slump tends to revert (1: the latest growth alone)",
       source="calibration (docs/ODD.md 10.1): on the capped provinces 0.5 lowers the last resort's restriction by 7-15 % at about the same share of seeds meeting the cap (60 seeds each; province21_total 0.97 -> 0.95), intensity-led provinces unchanged; vary it in sensitivity analysis"),
    _p("steering.relax_band", float, 0.02, "share", 0.0, 0.5,
       desc="projected below the aim by more than this share, the province relaxes: no city runs an overrun package",
       source="assumption: vary it in sensitivity analysis"),
    _p("accounts.rule", str, "threshold", choices=("fixed", "carryover", "threshold", "rebase"), desc="dynamic adjustment rule", source=SEED),
    _p("accounts.bank_rate", float, 1.0, "share", 0.0, 1.0, desc="carryover: share of a surplus banked into the next year"),
    _p("accounts.borrow_cap", float, 0.01, "share", 0.0, 0.5, desc="carryover: most a deficit may borrow, as share of next year's target", source="UK Climate Change Act 1 % via " + FACTS),
    _p("accounts.adjust_cap", float, 0.15, "share", 0.0, 1.0,
       desc="no remaining year's target may move further than this share from its planned value"),
    _p("accounts.adjust_threshold", float, 0.03, "share", 0.0, 1.0, desc="threshold: |deviation| / target that triggers re-spreading"),
    _p("accounts.hold_final_year", bool, True,
       desc="intensity and dual mode: adjustments may lower but never raise the final year's target (the binding control is the final-year intensity)",
       source="documented judgement (issue 8 calibration; docs/ODD.md 10)"),
    _p("accounts.breach_repayment", float, 1.0, "share", 0.0, 1.0,
       desc="share of an annual breach (after trades) repaid from the next year's target (then the years after it, each within accounts.adjust_cap of its plan), beyond what the adjustment rule already took",
       source="assumption: vary it in sensitivity analysis (UK Climate Change Act: borrowing is repaid from the next budget, via " + FACTS + ")"),
    _p("accounts.breach_penalty", float, 1.05, "-", 1.0, 3.0,
       desc="Mt repaid per Mt of breach (a penalty factor above 1)", source="assumption: vary it in sensitivity analysis"),
    # major projects (MODEL.md 4.4 special case)
    _p("projects.major_project_mt", float, 3.0, "Mt/yr", 0.01, 1000.0, desc="annual emissions at or above which a project is major"),
    _p("projects.build_lag_quarters", int, 4, "quarters", 0, 20, desc="quarters from approval to operation"),
    _p("projects.strategic_prob", float, 0.6, "prob", 0.0, 1.0, desc="probability that a major project passes the strategic-value check"),
    _p("projects.offset_ratio", float, 0.5, "share", 0.0, 2.0, desc="share of a non-listed major project's emissions offset by retiring outdated capacity"),
    _p("projects.defer_years", int, 1, "yr", 0, 5,
       desc="times a proposal that is worth it but finds no room may be deferred to next year's project round before it is rejected (0: rejected at once)",
       source="assumption: vary it in sensitivity analysis (approval held over [暂缓审批] rather than refused)"),
    _p("projects.value_hurdle", float, 0.05, "-", 0.0, 1.0,
       desc="least value a proposal must bring for a city in balance to consider it: its output per Mt/yr of room taken over the city's GDP per Mt emitted (0: none)",
       source="assumption: vary it in sensitivity analysis"),
    _p("projects.value_hurdle_overrun", float, 0.1, "-", 0.0, 1.0,
       desc="the value hurdle of a city in overrun (a city in surplus has none)",
       source="assumption: vary it in sensitivity analysis"),
    _p("projects.growth_room", float, 0.02, "share", 0.0, 0.5, desc="room beyond the budget a city with growth preference 1 lets projects take (share of target)"),
    _p("city.behaviour", str, "compliant", choices=BEHAVIOUR_NAMES, desc="default behaviour type of the cities (docs/ODD.md 8.13); a city's own cities.<name>.behaviour overrides it", source=VARY),
    _p("city.growth_first_room", float, 0.1, "share", 0.0, 1.0, desc="growth_first: room beyond the rule room a city with growth preference 1 approves (share of its year target)", source=VARY),
    _p("city.growth_first_effort_cut", float, 0.3, "share", 0.0, 1.0, desc="growth_first: share of its package's instrument strength a city with growth preference 1 leaves unapplied", source=VARY),
    _p("city.strategic_slack", float, 0.3, "share", 0.0, 0.9, desc="strategic: early approval room x (1 + slack) and effort 1 - slack; late room x (1 - slack) and effort 1 + slack", source=VARY),
    _p("city.strategic_tight_years", int, 1, "yr", 0, 10, desc="strategic: final years of a period in which the city is tight", source=VARY),
    _p("city.negotiation_padding", float, 0.1, "share", 0.0, 1.0, desc="growth_first (x growth preference) and strategic cities inflate their stated need in negotiation by this share", source=VARY),
    # abatement
    _p("abatement.lag_quarters", int, 3, "quarters", 0, 12, desc="quarters from an abatement decision to its effect"),
    _p("abatement.annuity_years", float, 8.0, "yr", 1.0, 40.0, desc="years over which an abatement investment's annual cost is capitalised"),
    _p("abatement.enforcement_penalty", float, 60.0, "CNY/t", 0.0, 5000.0,
       desc="expected-penalty equivalent of active control instruments at strength 1 and enforcement 1"),
    # trading (MODEL.md 4.7)
    _p("trading.enabled", bool, True, desc="inter-city budget trading after each annual account"),
    _p("trading.volume_cap", float, 0.08, "share", 0.0, 1.0, desc="most a city trades in a year, as share of its annual target"),
    _p("trading.penalty_price", float, 300.0, "CNY/t", 0.0, 10000.0, desc="buyer's reservation price: expected cost of an uncovered overrun"),
    _p("trading.seller_margin", float, 0.0, "share", 0.0, 1.0, desc="share of its surplus a selling city keeps against later years (docs/ODD.md 8.13)"),
    # governance regime (MODEL.md 5)
    _p("regime.name", str, "budget",
       choices=tuple(REGIMES),
       desc="governance regime (none = no local policy: the counterfactual)"),
    _p("regime.campaign_quarters", int, 4, "quarters", 1, 20,
       desc="traditional: the campaign may start only this many quarters before the period ends"),
    _p("regime.campaign_max_fall", float, 0.07, "share", 0.0, 1.0,
       desc="traditional, campaign quarters: the cities' production restriction (packages' and campaign's) is scaled down so the province's emissions fall by at most this share against last year, judged on the fast estimate's latest quarter with the restriction's own effect added back",
       source="calibration (docs/ODD.md 8.10): history's largest single-year provincial fall is -9 % (CEADs 2011-19 via " + FACTS + "); 0.07 leaves 2 points for a fall the latest quarter does not show yet (0.09 left 2 of 60 recession seeds of the hand-written 11-city province below -9 %, 0.07 none); vary it in sensitivity analysis"),
    _p("regime.campaign_max_restriction", float, 0.05, "share", 0.0, 0.95, desc="traditional: largest output share a campaign withholds",
       source="calibrated so a campaign year's provincial emission change stays within the historical -9 %..+26 % (CEADs 2011-19 via " + FACTS + "; docs/ODD.md 10)"),
    # final account (MODEL.md 4.8)
    _p("evaluation.weight_rationality", float, 0.25, "weight", 0.0, 1.0, desc="weight of target rationality in the composite", source=VARY),
    _p("evaluation.weight_effectiveness", float, 0.35, "weight", 0.0, 1.0, desc="weight of execution effectiveness", source=VARY),
    _p("evaluation.weight_coordination", float, 0.2, "weight", 0.0, 1.0, desc="weight of coordination", source=VARY),
    _p("evaluation.weight_capacity", float, 0.2, "weight", 0.0, 1.0, desc="weight of funding and capacity building", source=VARY),
    _p("evaluation.counterfactual", bool, True, desc="run the no-policy counterfactual for cost-per-Mt measures"),
    *_evaluation_params(),
]  # fmt: skip

PARAMS: dict[str, Param] = {p.name: p for p in [*_GLOBAL, *_sector_params(), *instrument_params()]}

# Sums that must hold (validated in scenario.py).
WEIGHT_GROUPS: dict[str, tuple[str, ...]] = {
    "plan allocation weights": tuple(f"plan.weight_{m}" for m in ("grandfathering", "intensity", "equality", "efficiency", "potential")),
    "evaluation weights": tuple(f"evaluation.weight_{d}" for d in ("rationality", "effectiveness", "coordination", "capacity")),
}  # fmt: skip

# ---------------------------------------------------------------- records ---
CITY_FIELDS: dict[str, Param] = {p.name: p for p in [
    _p("name", str, "", desc="city name (unique)"),
    _p("gdp_share", float, 0.0, "share", 0.0, 1.0, desc="share of provincial GDP (normalised over cities)", kind="world"),
    _p("population_m", float, 5.0, "million", 0.01, 1e3, desc="resident population", kind="world",
       source="a city has residents: the equality allocation gives a city without population a zero budget"),
    _p("industry_mix", float, 1.0, "-", 0.01, 20.0, desc="weight of energy-intensive industry relative to the provincial mix", kind="world",
       source="every city hosts key firms (firm size is proportional to it; with 0 the electricity-based fast estimate of the city is 0)"),
    _p("enforcement", float, 0.7, "share", 0.0, 1.0, desc="share of a control instrument's nominal effect that materialises"),
    _p("growth_preference", float, 0.5, "share", 0.0, 1.0, desc="readiness to approve projects beyond the budget room"),
    _p("monitoring_capacity", float, 1.0, "-", 0.1, 10.0, desc="scales down fast-estimate measurement noise"),
    _p("behaviour", str, "inherit", choices=("inherit", *BEHAVIOUR_NAMES), desc="behaviour type of the city (inherit: the scenario's city.behaviour)"),
]}  # fmt: skip

PERIOD_FIELDS: dict[str, Param] = {p.name: p for p in [
    _p("start_year", int, 2026, "yr", 1990, 2100, desc="first year of the plan period", kind="world"),
    _p("years", int, 5, "yr", 1, 10, desc="length of the period", kind="world"),
    _p("mode", str, "intensity", choices=("intensity", "total", "dual"), desc="dual-control mode"),
    _p("intensity_target", float, 0.17, "share", 0.0, 0.9, desc="intensity reduction by the final year vs the base year",
       source="15th FYP draft -17 % via " + FACTS),
    _p("total_change", float, 0.0, "share", -0.9, 1.0,
       desc="total mode: final-year cap relative to estimated base-year emissions (e.g. -0.05)"),
    _p("binding", bool, True, desc="whether missing the target fails the five-year assessment"),
]}  # fmt: skip

SHOCK_FIELDS: dict[str, Param] = {p.name: p for p in [
    _p("name", str, "shock", desc="label"),
    _p("year", int, 2027, "yr", 1990, 2100, desc="first year"),
    _p("quarter", int, 1, "quarter", 1, 4, desc="first quarter (1-4)"),
    _p("quarters", int, 2, "quarters", 1, 40, desc="duration"),
    _p("size", float, -0.02, "1/quarter", -0.5, 0.5, desc="added to quarterly output growth while active"),
    _p("sectors", str, "all", desc="comma-separated sectors hit ('all', or e.g. 'steel,chemicals'; 'diffuse' for the diffuse sector)"),
]}  # fmt: skip

PROJECT_FIELDS: dict[str, Param] = {p.name: p for p in [
    _p("name", str, "major project", desc="label"),
    _p("city", str, "", desc="host city (a city name)"),
    _p("sector", str, "chemicals", choices=SECTORS, desc="sector"),
    _p("year", int, 2027, "yr", 1990, 2100, desc="year the proposal is made"),
    _p("quarter", int, 1, "quarter", 1, 4, desc="quarter the proposal is made"),
    _p("emissions_mt", float, 3.0, "Mt/yr", 0.0, 1000.0, desc="annual emissions at full operation"),
    _p("output_bn", float, 30.0, "bn CNY/yr", 0.0, 1e5, desc="annual output at full operation"),
]}  # fmt: skip

# shocks and scheduled major projects happen with or without local policy
SHOCK_FIELDS = {k: replace(p, kind="world") for k, p in SHOCK_FIELDS.items()}
PROJECT_FIELDS = {k: replace(p, kind="world") for k, p in PROJECT_FIELDS.items()}

RECORD_FIELDS: dict[str, dict[str, Param]] = {
    "cities": CITY_FIELDS,
    "periods": PERIOD_FIELDS,
    "shocks": SHOCK_FIELDS,
    "major_projects": PROJECT_FIELDS,
}


def param_table() -> list[dict[str, str]]:
    """Rows for ``carbon-budget params`` and the documentation table."""
    rows = []
    for p in PARAMS.values():
        rows.append(dict(name=p.name, type=p.type.__name__, unit=p.unit, default=repr(p.default),
                         bounds=p.bounds_text, kind=p.kind, description=p.description, source=p.source))  # fmt: skip
    for section, fields in RECORD_FIELDS.items():
        for p in fields.values():
            rows.append(dict(name=f"{section}[].{p.name}", type=p.type.__name__, unit=p.unit,
                             default=repr(p.default), bounds=p.bounds_text, kind=p.kind,
                             description=p.description, source=p.source))  # fmt: skip
    return rows


def salib_problem(
    names: list[str], bounds: dict[str, tuple[float, float]] | None = None
) -> dict[str, Any]:
    """A SALib problem for numeric parameters, bounds from the table unless given.

    ``names`` are dotted parameter names; ``bounds`` may narrow them (the
    narrowed range must lie within the declared one).
    """
    bounds = bounds or {}
    out_bounds = []
    for n in names:
        if n not in PARAMS:
            raise ValueError(f"{n}: unknown parameter")
        p = PARAMS[n]
        if p.type not in (int, float) or p.choices is not None:
            raise ValueError(f"{n}: only numeric parameters can be sampled continuously")
        lo, hi = bounds.get(n, (p.low, p.high))
        if lo is None or hi is None or not lo < hi:
            raise ValueError(f"{n}: needs finite bounds low < high, got [{lo}, {hi}]")
        if (p.low is not None and lo < p.low) or (p.high is not None and hi > p.high):
            raise ValueError(f"{n}: [{lo}, {hi}] is outside the declared range {p.bounds_text}")
        out_bounds.append([float(lo), float(hi)])
    return {"num_vars": len(names), "names": list(names), "bounds": out_bounds}
