"""Experiment specs: a TOML file parsed into a validated :class:`ExperimentSpec`.

Shape (every key but ``factors`` and ``design.method`` is optional)::

    name = "thresholds"
    description = "..."
    scenario = "default"            # built-in name or path (relative to the spec file)
    overrides = { "accounts.rule" = "threshold" }
    replicates = 4                  # seeds per design row, common to all rows
    seed = 2026                     # root seed
    outputs = ["composite", "overshoot"]   # measure names of RunResult.measures()
    series = ["emissions"]          # optional per-year outputs: annual province columns
    executor = "processes"          # serial | processes | dask (the CLI may override)
    workers = 2
    scheduler = "tcp://host:8786"   # dask only; none = a local cluster
    [design]
    method = "sobol"                # sobol | morris | fast | lhs | factorial
    n = 256                         # sobol: power of two; morris: trajectories; fast, lhs: samples
    second_order = false            # sobol only
    num_levels = 4                  # morris only
    [factors]
    "monitoring.overrun_threshold" = [0.0, 0.10]          # continuous: bounds
    "accounts.rule" = ["fixed", "carryover", "threshold"]  # categorical: levels
    "plan.reserve_share" = { levels = [0.0, 0.03, 0.1] }  # numeric levels (factorial)
    [factors.allocation.levels]     # a bundle: named levels, each a set of overrides
    grandfathering = { "plan.weight_grandfathering" = 1.0, "plan.weight_intensity" = 0.0 }

Every check raises :class:`ExperimentError` with one line naming the key and
the reason; nothing is run or written before the spec is valid.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.params import PARAMS, RECORD_FIELDS, Param
from sim.scenario import Scenario, ScenarioError, builtin_scenarios, load_scenario

METHODS = ("sobol", "morris", "fast", "lhs", "factorial")
EXECUTORS = ("serial", "processes", "dask")
MODELS = ("carbon-budget", "ishigami")
SPEC_KEYS = ("name", "description", "scenario", "overrides", "replicates", "seed", "outputs",
             "series", "executor", "workers", "scheduler", "model", "model_options", "design",
             "factors")  # fmt: skip
DESIGN_KEYS = {
    "sobol": ("method", "n", "second_order"),
    "morris": ("method", "n", "num_levels"),
    "fast": ("method", "n", "m"),
    "lhs": ("method", "n"),
    "factorial": ("method",),
}
# The Ishigami test hook (sim.experiment.worker.ishigami): factors and outputs.
ISHIGAMI_FACTORS = ("x1", "x2", "x3")
ISHIGAMI_OUTPUTS = ("y", "y_noisy")
ISHIGAMI_OPTIONS = ("a", "b", "noise", "fail_above")


class ExperimentError(ValueError):
    """An experiment spec, command-line choice or result folder is invalid."""


@dataclass(frozen=True)
class Factor:
    """One varied input.

    ``kind`` is ``continuous`` (sampled between ``low`` and ``high``) or
    ``categorical`` (the design runs every level).  ``levels`` of a bundle
    factor are names; ``bundle[level]`` holds the overrides each one applies.
    ``param_kind`` is ``world`` when the factor can change the no-policy
    counterfactual (see ``Param.kind``), else ``policy``."""

    name: str
    kind: str
    type: str  # "float" | "int" | "str" | "bool" | "bundle"
    low: float | None = None
    high: float | None = None
    levels: tuple[Any, ...] = ()
    bundle: dict[str, dict[str, Any]] = field(default_factory=dict)
    param_kind: str = "policy"

    def overrides(self, value: Any) -> dict[str, Any]:
        """Scenario overrides for one value of this factor."""
        if self.type == "bundle":
            return dict(self.bundle[value])
        if self.type == "int":
            return {self.name: int(value)}
        if self.type == "float":
            return {self.name: float(value)}
        return {self.name: value}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "type": self.type, "low": self.low,
                "high": self.high, "levels": list(self.levels), "bundle": self.bundle,
                "param_kind": self.param_kind}  # fmt: skip


@dataclass(frozen=True)
class ExperimentSpec:
    """A validated experiment spec (see the module docstring for the TOML shape)."""

    name: str
    description: str
    scenario: str  # as written
    scenario_ref: str  # a built-in name or an absolute path
    overrides: dict[str, Any]
    replicates: int
    seed: int
    outputs: tuple[str, ...]
    series: tuple[str, ...]
    method: str
    n: int | None
    design_options: dict[str, Any]
    factors: tuple[Factor, ...]
    executor: str = "processes"
    workers: int | None = None
    scheduler: str | None = None
    model: str = "carbon-budget"
    model_options: dict[str, Any] = field(default_factory=dict)
    base: Scenario | None = None  # the scenario with the spec's overrides (carbon-budget only)

    @property
    def continuous(self) -> tuple[Factor, ...]:
        return tuple(f for f in self.factors if f.kind == "continuous")

    @property
    def categorical(self) -> tuple[Factor, ...]:
        return tuple(f for f in self.factors if f.kind == "categorical")

    @property
    def world_factors(self) -> tuple[Factor, ...]:
        return tuple(f for f in self.factors if f.param_kind == "world")

    def identity(self) -> dict[str, Any]:
        """Everything that determines the results (not the executor): two specs
        with the same identity produce the same runs, so a sweep may resume."""
        return {
            "model": self.model,
            "model_options": self.model_options,
            "scenario": self.base.to_dict() if self.base is not None else None,
            "overrides": self.overrides,
            "replicates": self.replicates,
            "seed": self.seed,
            "series": list(self.series),
            "method": self.method,
            "n": self.n,
            "design_options": self.design_options,
            "factors": [f.to_dict() for f in self.factors],
        }

    def identity_hash(self) -> str:
        text = json.dumps(self.identity(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec, as stored in the result folder (spec.json)."""
        return {
            "name": self.name,
            "description": self.description,
            "scenario": self.scenario,
            "scenario_ref": self.scenario_ref,
            "outputs": list(self.outputs),
            "executor": self.executor,
            "workers": self.workers,
            "scheduler": self.scheduler,
            "identity_hash": self.identity_hash(),
            **self.identity(),
        }


# ------------------------------------------------------------------ loading --
def load_spec(path: str | Path) -> ExperimentSpec:
    """Read and validate an experiment spec file (outputs are checked later,
    against what a run returns: :func:`resolve_outputs`)."""
    path = Path(path)
    if not path.is_file():
        raise ExperimentError(f"{path}: no such experiment spec file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ExperimentError(f"{path}: not valid TOML ({exc})") from None
    return parse_spec(raw, base_dir=path.parent, default_name=path.stem)


def parse_spec(raw: dict[str, Any], base_dir: Path = Path("."), default_name: str = "experiment") -> ExperimentSpec:  # fmt: skip
    """Validate a spec given as a dict (the parsed TOML)."""
    for key in raw:
        if key not in SPEC_KEYS:
            raise ExperimentError(f"{key}: unknown key of an experiment spec (known: {', '.join(SPEC_KEYS)})")  # fmt: skip
    name = _typed(raw, "name", str, default_name)
    description = _typed(raw, "description", str, "")
    model = _typed(raw, "model", str, "carbon-budget")
    if model not in MODELS:
        raise ExperimentError(f"model: unknown model {model!r} (known: {', '.join(MODELS)})")
    replicates = _typed(raw, "replicates", int, 1)
    if replicates < 1:
        raise ExperimentError(f"replicates: must be at least 1, got {replicates}")
    seed = _typed(raw, "seed", int, 0)
    if seed < 0:
        raise ExperimentError(f"seed: must be a non-negative integer, got {seed}")
    outputs = tuple(_str_list(raw, "outputs"))
    series = tuple(_str_list(raw, "series"))
    executor = _typed(raw, "executor", str, "processes")
    check_executor(executor, "executor")
    workers = _typed(raw, "workers", int, None)
    if workers is not None and workers < 1:
        raise ExperimentError(f"workers: must be at least 1, got {workers}")
    scheduler = _typed(raw, "scheduler", str, None)
    overrides = raw.get("overrides", {})
    if not isinstance(overrides, dict):
        raise ExperimentError("overrides: expected a table of parameter = value")
    model_options = raw.get("model_options", {})
    if not isinstance(model_options, dict):
        raise ExperimentError("model_options: expected a table")

    design = raw.get("design")
    if not isinstance(design, dict):
        raise ExperimentError("design: missing [design] table with method = sobol|morris|fast|lhs|factorial")  # fmt: skip
    method = design.get("method")
    if method not in METHODS:
        raise ExperimentError(f"design.method: unknown method {method!r} (known: {', '.join(METHODS)})")  # fmt: skip
    for key in design:
        if key not in DESIGN_KEYS[method]:
            raise ExperimentError(f"design.{key}: not a setting of the {method} design (known: {', '.join(DESIGN_KEYS[method])})")  # fmt: skip
    n = design.get("n")
    options: dict[str, Any] = {}
    if method != "factorial":
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ExperimentError(f"design.n: {method} needs a positive integer n, got {n!r}")
        if method == "sobol" and n & (n - 1):
            raise ExperimentError(f"design.n: sobol needs a power of two, got {n} (e.g. {1 << max(1, n.bit_length() - 1)} or {1 << n.bit_length()})")  # fmt: skip
        if method == "sobol":
            so = design.get("second_order", False)
            if not isinstance(so, bool):
                raise ExperimentError("design.second_order: expected true or false")
            options["second_order"] = so
        if method == "morris":
            nl = design.get("num_levels", 4)
            if isinstance(nl, bool) or not isinstance(nl, int) or nl < 2 or nl % 2:
                raise ExperimentError(f"design.num_levels: an even integer >= 2, got {nl!r}")
            options["num_levels"] = nl
            if n < 2:
                raise ExperimentError("design.n: morris needs at least 2 trajectories")
        if method == "fast":
            m = design.get("m", 4)
            if isinstance(m, bool) or not isinstance(m, int) or m < 1:
                raise ExperimentError(f"design.m: a positive integer, got {m!r}")
            options["m"] = m
            if n <= 4 * m * m:
                raise ExperimentError(f"design.n: fast needs n > 4 m^2 = {4 * m * m}, got {n}")
    else:
        n = None

    scenario = _typed(raw, "scenario", str, "default")
    base: Scenario | None = None
    scenario_ref = scenario
    if model == "carbon-budget":
        scenario_ref = _scenario_ref(scenario, base_dir)
        try:
            base = load_scenario(scenario_ref, overrides)
        except ScenarioError as exc:
            raise ExperimentError(f"scenario: {exc}") from None
    else:
        _check_ishigami(model_options, series)

    factors_raw = raw.get("factors")
    if not isinstance(factors_raw, dict) or not factors_raw:
        raise ExperimentError("factors: missing or empty [factors] table")
    factors = tuple(_factor(k, v, method, model, base) for k, v in factors_raw.items())
    cont = [f for f in factors if f.kind == "continuous"]
    if method == "factorial" and cont:
        raise ExperimentError(f"factors.{cont[0].name}: the factorial design needs levels, e.g. {{ levels = [{cont[0].low}, {cont[0].high}] }}")  # fmt: skip
    if method != "factorial" and not cont:
        raise ExperimentError(f"factors: the {method} design needs at least one continuous factor (bounds [low, high])")  # fmt: skip
    if method == "fast" and len(cont) < 2:
        raise ExperimentError("factors: the fast design needs at least two continuous factors")
    return ExperimentSpec(name=name, description=description, scenario=scenario, scenario_ref=scenario_ref,
                          overrides=dict(overrides), replicates=replicates, seed=seed, outputs=outputs,
                          series=series, method=method, n=n, design_options=options, factors=factors,
                          executor=executor, workers=workers, scheduler=scheduler, model=model,
                          model_options=dict(model_options), base=base)  # fmt: skip


def check_executor(name: str, where: str) -> None:
    if name not in EXECUTORS:
        raise ExperimentError(f"{where}: unknown executor {name!r} (known: {', '.join(EXECUTORS)})")


def _typed(raw: dict[str, Any], key: str, type_: type, default: Any) -> Any:
    if key not in raw:
        return default
    v = raw[key]
    if type_ is int and (isinstance(v, bool) or not isinstance(v, int)):
        raise ExperimentError(f"{key}: expected an integer, got {v!r}")
    if type_ is str and not isinstance(v, str):
        raise ExperimentError(f"{key}: expected a string, got {v!r}")
    return v


def _str_list(raw: dict[str, Any], key: str) -> list[str]:
    v = raw.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ExperimentError(f"{key}: expected a list of names")
    if len(set(v)) != len(v):
        raise ExperimentError(f"{key}: a name is listed twice")
    return v


def _scenario_ref(scenario: str, base_dir: Path) -> str:
    if "/" not in scenario and not scenario.endswith(".toml") and scenario in builtin_scenarios():
        return scenario
    path = Path(scenario)
    if not path.is_absolute():
        path = (base_dir / path).resolve()
    if not path.is_file():
        raise ExperimentError(f"scenario: {scenario!r} is neither a built-in scenario nor a file (relative to the spec)")  # fmt: skip
    return str(path)


def _check_ishigami(options: dict[str, Any], series: tuple[str, ...]) -> None:
    for k, v in options.items():
        if k not in ISHIGAMI_OPTIONS:
            raise ExperimentError(f"model_options.{k}: unknown option of the ishigami model (known: {', '.join(ISHIGAMI_OPTIONS)})")  # fmt: skip
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ExperimentError(f"model_options.{k}: expected a number")
    if series:
        raise ExperimentError("series: the ishigami model has no per-year outputs")


def _param_of(name: str, base: Scenario | None) -> Param:
    if name in PARAMS:
        return PARAMS[name]
    parts = name.split(".")
    if len(parts) == 3 and parts[0] in RECORD_FIELDS and parts[2] in RECORD_FIELDS[parts[0]]:
        if base is not None:
            records = getattr(base, parts[0])
            names = [r.get("name") for r in records]
            if parts[1] not in names and not (parts[1].isdigit() and int(parts[1]) < len(records)):
                raise ExperimentError(f"factors.{name}: the scenario has no {parts[0]} record named or numbered {parts[1]!r}")  # fmt: skip
        return RECORD_FIELDS[parts[0]][parts[2]]
    import difflib

    close = difflib.get_close_matches(name, PARAMS.keys(), n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise ExperimentError(f"factors.{name}: unknown parameter{hint}")


def _factor(name: str, value: Any, method: str, model: str, base: Scenario | None) -> Factor:
    where = f"factors.{name}"
    # bundle factor: named levels, each a table of overrides
    if isinstance(value, dict) and isinstance(value.get("levels"), dict):
        if model != "carbon-budget":
            raise ExperimentError(f"{where}: bundle factors need the carbon-budget model")
        if set(value) != {"levels"}:
            raise ExperimentError(f"{where}: a bundle factor has only a levels table")
        bundle: dict[str, dict[str, Any]] = {}
        kinds = set()
        for level, ov in value["levels"].items():
            if not isinstance(ov, dict) or not ov:
                raise ExperimentError(f"{where}.levels.{level}: expected a table of parameter = value")  # fmt: skip
            for k, v in ov.items():
                p = _param_of(k, base)
                try:
                    p.check(v, f"{where}.levels.{level}.{k}")
                except ValueError as exc:
                    raise ExperimentError(str(exc)) from None
                kinds.add(p.kind)
            _try(base, ov, f"{where}.levels.{level}")
            bundle[level] = dict(ov)
        if len(bundle) < 2:
            raise ExperimentError(f"{where}: needs at least two levels")
        return Factor(name, "categorical", "bundle", levels=tuple(bundle), bundle=bundle,
                      param_kind="world" if "world" in kinds else "policy")  # fmt: skip
    if model == "ishigami":
        if name not in ISHIGAMI_FACTORS:
            raise ExperimentError(f"{where}: unknown factor of the ishigami model (known: {', '.join(ISHIGAMI_FACTORS)})")  # fmt: skip
        p = Param(name, float, 0.0, low=-math.pi, high=math.pi)
    else:
        p = _param_of(name, base)
    levels: list[Any] | None = None
    bounds: list[Any] | None = None
    if isinstance(value, dict):
        if set(value) == {"levels"} and isinstance(value["levels"], list):
            levels = value["levels"]
        elif set(value) == {"bounds"} and isinstance(value["bounds"], list):
            bounds = value["bounds"]
        else:
            raise ExperimentError(f"{where}: expected [low, high], a list of levels, {{ levels = [...] }} or {{ bounds = [low, high] }}")  # fmt: skip
    elif isinstance(value, list):
        numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
        if numeric and p.type in (int, float) and p.choices is None:
            bounds = value
        else:
            levels = value
    else:
        raise ExperimentError(f"{where}: expected [low, high] bounds or a list of levels")
    if bounds is not None:
        if p.type not in (int, float) or p.choices is not None:
            raise ExperimentError(f"{where}: a {p.type.__name__} parameter cannot be sampled between bounds; list its levels")  # fmt: skip
        if len(bounds) != 2 or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in bounds):  # fmt: skip
            raise ExperimentError(
                f"{where}: bounds must be two numbers [low, high] (numeric levels are written {{ levels = [...] }})"
            )
        lo, hi = float(bounds[0]), float(bounds[1])
        if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
            raise ExperimentError(f"{where}: bounds need low < high, got [{bounds[0]}, {bounds[1]}]")  # fmt: skip
        if (p.low is not None and lo < p.low) or (p.high is not None and hi > p.high):
            raise ExperimentError(f"{where}: bounds [{lo:g}, {hi:g}] are outside the parameter's range {p.bounds_text}")  # fmt: skip
        if p.type is int and math.floor(hi) - math.ceil(lo) < 1:
            raise ExperimentError(f"{where}: an integer factor needs at least two integers within [{lo:g}, {hi:g}]")  # fmt: skip
        for v in (lo, hi):
            _try(base, {name: int(round(v)) if p.type is int else v}, where)
        return Factor(name, "continuous", p.type.__name__, lo, hi, param_kind=p.kind)
    assert levels is not None
    if len(levels) < 2:
        raise ExperimentError(f"{where}: needs at least two levels")
    checked = []
    for v in levels:
        try:
            checked.append(p.check(v, where))
        except ValueError as exc:
            raise ExperimentError(str(exc)) from None
        _try(base, {name: checked[-1]}, where)
    if len(set(checked)) != len(checked):
        raise ExperimentError(f"{where}: a level is listed twice")
    return Factor(name, "categorical", p.type.__name__, levels=tuple(checked), param_kind=p.kind)


def _try(base: Scenario | None, overrides: dict[str, Any], where: str) -> None:
    """The base scenario must accept the value (e.g. record names, consistency)."""
    if base is None:
        return
    try:
        base.with_overrides(overrides)
    except ScenarioError as exc:
        raise ExperimentError(f"{where}: {exc}") from None


# ------------------------------------------------------------------ outputs --
def resolve_outputs(spec: ExperimentSpec, measures: list[str], series_columns: list[str]) -> tuple[str, ...]:  # fmt: skip
    """Expand the spec's outputs to measure names of a run.

    ``measures`` are the names :meth:`RunResult.measures` returned for a run of
    the spec's scenario.  An output is a measure name; in a multi-period
    scenario a bare name stands for every period's ``p<k>.<name>``.  No
    outputs listed means every measure."""
    if not spec.outputs:
        out = list(measures)
    else:
        out = []
        for o in spec.outputs:
            if o in measures:
                out.append(o)
                continue
            per = [m for m in measures if m.split(".", 1)[-1] == o and m.startswith("p") and "." in m]  # fmt: skip
            if not per:
                import difflib

                close = difflib.get_close_matches(o, measures, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise ExperimentError(f"outputs: unknown output {o!r}{hint}; a run of this scenario returns: {', '.join(measures)}")  # fmt: skip
            out.extend(per)
    for s in spec.series:
        if s not in series_columns:
            raise ExperimentError(f"series: unknown per-year output {s!r} (numeric columns of the annual table: {', '.join(series_columns)})")  # fmt: skip
    return tuple(out)
