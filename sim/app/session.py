"""The page's one contact with the model: a stepped run and its tables.

Everything the page shows or changes goes through :class:`Session`, which
uses only the model's public interface (``CarbonBudgetModel``, ``step``,
``done``, ``t``, ``T``, ``first_year``, ``pending``, ``decide``) and
``sim.runner.collect``; so a change inside the model touches this file at
most.  Nothing here imports Solara, so the command line and the tests use it
directly.  :func:`replay` and the game files (a scenario TOML plus the
recorded choices) are shared with ``carbon-budget run --choices``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.model import CarbonBudgetModel
from sim.params import PACKAGE_KEYS, PARAMS, Param
from sim.policies.governor import AccountDecision, AccountView, ScriptedGovernor
from sim.runner import RunResult, collect, run, run_counterfactual
from sim.scenario import Scenario, ScenarioError, builtin_scenarios, load_scenario

# The page's controls: every parameter of the table whose name starts with one
# of these prefixes, in table order (MODEL.md: thresholds, adjustment rule,
# package strengths, monitoring lag and noise, regime, allocation weights,
# reserve, trading).  The controls themselves are generated from the rows.
CONTROL_GROUPS: dict[str, tuple[str, ...]] = {
    "group_regime": ("regime.name",),
    "group_thresholds": ("monitoring.surplus_threshold", "monitoring.overrun_threshold",
                         "monitoring.red_threshold", "accounts.adjust_threshold"),
    "group_adjustment": ("accounts.rule", "accounts.adjust_cap", "accounts.bank_rate",
                         "accounts.borrow_cap"),
    "group_monitoring": ("monitoring.stat_lag_quarters", "monitoring.stat_error",
                         "monitoring.fast_lag_quarters", "monitoring.fast_noise"),
    "group_allocation": ("plan.weight_",),
    "group_reserve": ("plan.reserve_share",),
    "group_trading": ("trading.",),
    "group_cities": ("city.behaviour", "projects.defer_years", "projects.value_hurdle"),
    "group_steering": ("monitoring.early_tolerance", "steering.years", "steering.cap_years",
                       "steering.max_surcharge", "steering.max_restriction"),
    "group_packages": ("package.",),
}  # fmt: skip
PACKAGE_CHOICES: tuple[str, ...] = PACKAGE_KEYS
EXPERIMENTS_DIR = Path(__file__).resolve().parents[2] / "experiments"


def control_params() -> dict[str, list[Param]]:
    """The parameter rows behind the page's controls, by group."""
    return {
        g: [p for name, p in PARAMS.items() if name.startswith(prefixes)]
        for g, prefixes in CONTROL_GROUPS.items()
    }


def scenario_choices() -> dict[str, str]:
    """Built-in scenarios (by name) and experiment scenarios (by path)."""
    out = {name: name for name in builtin_scenarios()}
    if EXPERIMENTS_DIR.is_dir():
        for f in sorted(EXPERIMENTS_DIR.glob("*.toml")):
            out[f"experiments/{f.name}"] = str(f)
    return out


def resolve_scenario(label: str) -> str:
    """A picker label, a built-in name or a TOML path -> what load_scenario takes."""
    return scenario_choices().get(label, label)


@dataclass
class Comparison:
    """The player's final account beside the rule-based governor's (same seed)."""

    mine: list[dict[str, Any]]
    rules: list[dict[str, Any]]


class Session:
    """One stepped run of a scenario with parameter overrides and a seed.

    ``play=True`` lets the player take every annual decision: the run pauses
    after each annual final account until :meth:`decide` is called."""

    def __init__(self, scenario: str = "tiny", overrides: dict[str, Any] | None = None,
                 seed: int = 0, play: bool = False) -> None:  # fmt: skip
        self.scenario_label = scenario
        self.overrides = dict(overrides or {})
        self.seed = int(seed)
        self.play = play
        self.scenario: Scenario = load_scenario(resolve_scenario(scenario), self.overrides)
        self.governor = ScriptedGovernor(defer=True) if play else None
        self.model = CarbonBudgetModel(self.scenario, self.seed, governor=self.governor)
        self._result: RunResult | None = None
        self._result_key: tuple[int, int] = (-1, -1)
        self.decisions = 0
        self._comparison: Comparison | None = None
        self.cache: dict[Any, Any] = {}  # the front end's drawings, keyed by what they show

    # ------------------------------------------------------------- stepping
    @property
    def t(self) -> int:
        return self.model.t

    @property
    def T(self) -> int:
        return self.model.T

    @property
    def done(self) -> bool:
        return self.model.done

    @property
    def now(self) -> tuple[int, int]:
        """(year, quarter) of the next quarter to simulate."""
        return self.model.first_year + self.t // 4, self.t % 4 + 1

    @property
    def pending(self) -> AccountView | None:
        """The annual account waiting for the player's decision, if any."""
        p = self.model.pending
        return None if p is None else p.view

    def step_quarter(self) -> bool:
        """Simulate one quarter; False if the run is finished or waits for a decision."""
        if self.done or self.pending is not None:
            return False
        self.model.step()
        view = self.pending
        if view is not None and view.years_left == 0:
            self.model.decide()  # the period's last account: nothing is left to decide
        return True

    def step_year(self) -> int:
        """Simulate up to the end of the current year (or the next decision)."""
        n = 0
        while self.step_quarter():
            n += 1
            if self.t % 4 == 0:
                break
        return n

    def decide(self, change: Any = None, listed: Any = None,
               packages: Any = None) -> None:  # fmt: skip
        """Apply the player's annual decision (None: the rule's suggestion)."""
        view = self.pending
        if view is None:
            raise ValueError("no annual account is waiting for a decision")
        n = len(view.cities)
        ch = view.suggested_change.copy() if change is None else np.asarray(change, dtype=float)
        li = np.zeros(n) if listed is None else np.asarray(listed, dtype=float)
        pk = (None,) * n if packages is None else tuple(p or None for p in packages)
        for p in pk:
            if p is not None and p not in PACKAGE_CHOICES:
                raise ValueError(f"package: {p!r} is not one of {', '.join(PACKAGE_CHOICES)}")
        if li.sum() > view.reserve_left + 1e-9 or (li < 0).any():
            raise ValueError(f"listed: grants must be >= 0 and sum to at most the reserve left "
                             f"({view.reserve_left:.2f} Mt)")  # fmt: skip
        self.model.decide(AccountDecision(ch, li, pk))
        self.decisions += 1

    # --------------------------------------------------------------- tables
    def result(self) -> RunResult:
        """Tidy tables of the quarters simulated so far (cached per step)."""
        key = (self.t, self.decisions)
        if self._result is None or key != self._result_key:
            self._result = collect(self.model)
            self._result_key = key
        return self._result

    @property
    def cities(self) -> list[str]:
        return list(self.scenario.city_names)

    @property
    def years(self) -> tuple[int, int]:
        """First and last calendar year of the run."""
        return self.model.first_year, self.model.first_year + (self.T - 1) // 4

    def targets(self) -> list[tuple[int, int, float]]:
        """(start year, end year, intensity target) of each plan period."""
        return [(p["start_year"], p["end_year"], float(p["intensity_target"]))
                for p in self.scenario.periods]  # fmt: skip

    # ------------------------------------------------------------ the game
    @property
    def choices(self) -> dict[int, dict[str, dict[str, Any]]]:
        return {} if self.governor is None else dict(self.governor.choices)

    def compare(self) -> Comparison:
        """At the end of a game: the player's final accounts and the rule-based
        governor's on the same seed (common random numbers), both with the
        no-policy counterfactual of that seed."""
        if not self.done:
            raise ValueError("the run is not finished")
        if self._comparison is None:
            cf = run_counterfactual(self.scenario, self.seed) if self._wants_cf() else None
            mine = collect(self.model, cf).final_accounts
            rules = run(self.scenario, self.seed, counterfactual=cf or False).final_accounts
            self._comparison = Comparison(mine, rules)
        return self._comparison

    def _wants_cf(self) -> bool:
        return bool(self.scenario["evaluation.counterfactual"])

    def save_game(self, folder: str | Path) -> Path:
        """Write ``scenario.toml`` (the scenario with the page's parameters) and
        ``choices.json`` (seed and the recorded choices) into ``folder``."""
        return save_game(self.scenario, self.seed, self.choices, folder)


def save_game(scenario: Scenario, seed: int, choices: dict, folder: str | Path) -> Path:
    import tomli_w

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.toml").write_text(
        tomli_w.dumps(_toml_ready(scenario.to_dict())), encoding="utf-8"
    )
    game = {"seed": seed, "choices": {str(y): c for y, c in choices.items()}}
    (folder / "choices.json").write_text(json.dumps(game, indent=2) + "\n", encoding="utf-8")
    return folder


def _toml_ready(o: Any) -> Any:
    if isinstance(o, dict):
        return {k: _toml_ready(v) for k, v in o.items() if v is not None}
    if isinstance(o, (list, tuple)):
        return [_toml_ready(v) for v in o]
    if isinstance(o, np.generic):
        return o.item()
    return o


def load_choices(path: str | Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Read the choices of a saved game; raise ``ScenarioError`` with one line."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"--choices {path}: cannot read a game file ({exc})") from None
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, dict) or not all(
        isinstance(c, dict) and all(isinstance(v, dict) for v in c.values())
        for c in choices.values()
    ):
        raise ScenarioError(
            f'--choices {path}: expected {{"choices": {{year: {{city: {{...}}}}}}}}'
        )
    for year, cities in choices.items():
        for city, ch in cities.items():
            unknown = set(ch) - {"package", "change", "listed"}
            if unknown:
                raise ScenarioError(
                    f"--choices {path}: {year}.{city}: unknown key {sorted(unknown)[0]!r}"
                )
            if "package" in ch and ch["package"] not in PACKAGE_CHOICES:
                raise ScenarioError(f"--choices {path}: {year}.{city}.package: {ch['package']!r} is not "
                                    f"one of {', '.join(PACKAGE_CHOICES)}")  # fmt: skip
    return choices


def replay(
    scenario: Scenario, seed: int, choices: dict, counterfactual: bool | None = None
) -> RunResult:
    """Run a saved game: the recorded choices, the rules elsewhere; the same
    tables and final accounts as :func:`sim.runner.run`."""
    unknown = {c for cities in choices.values() for c in cities} - set(scenario.city_names)
    if unknown:
        raise ScenarioError(f"--choices: unknown city {sorted(unknown)[0]!r} "
                            f"(cities: {', '.join(scenario.city_names)})")  # fmt: skip
    model = CarbonBudgetModel(scenario, seed, governor=ScriptedGovernor(choices=choices))
    model.run_model()
    want = scenario["evaluation.counterfactual"] if counterfactual is None else counterfactual
    return collect(model, run_counterfactual(scenario, seed) if want else None)
