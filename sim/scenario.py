"""Scenarios: TOML files parsed into a typed, validated, immutable object.

A scenario file holds nested tables whose dotted paths are the names in the
parameter table (``[plan] reserve_share = 0.05`` is ``plan.reserve_share``)
and four lists of records: ``[[cities]]``, ``[[periods]]``, ``[[shocks]]`` and
``[[major_projects]]``.  ``extends = "default"`` starts from a built-in
scenario.  Anything unknown, mistyped, out of range or inconsistent raises
:class:`ScenarioError` with one line naming the key and the reason.
"""

from __future__ import annotations

import copy
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sim.params import PARAMS, RECORD_FIELDS, SECTORS, WEIGHT_GROUPS

META_KEYS = ("name", "description", "extends")


class ScenarioError(ValueError):
    """A scenario (file, override or combination of values) is invalid."""


@dataclass(frozen=True)
class Scenario:
    """A validated scenario.  ``scenario["plan.reserve_share"]`` reads a parameter."""

    name: str
    description: str
    values: dict[str, Any]
    cities: tuple[dict[str, Any], ...]
    periods: tuple[dict[str, Any], ...]
    shocks: tuple[dict[str, Any], ...] = ()
    major_projects: tuple[dict[str, Any], ...] = ()
    overrides: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        try:
            return self.values[key]
        except KeyError:
            raise KeyError(f"unknown parameter {key!r}") from None

    @property
    def city_names(self) -> list[str]:
        return [c["name"] for c in self.cities]

    @property
    def first_year(self) -> int:
        """First simulated year (start of the warm-up)."""
        return self.periods[0]["start_year"] - self.values["run.warmup_years"]

    @property
    def last_year(self) -> int:
        return self.periods[-1]["end_year"]

    def to_dict(self) -> dict[str, Any]:
        """Nested, TOML-shaped dictionary (what ``load_scenario`` accepts back)."""
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        for key, value in self.values.items():
            node = out
            *head, last = key.split(".")
            for h in head:
                node = node.setdefault(h, {})
            node[last] = value
        for section, fields in RECORD_FIELDS.items():  # derived fields (end_year) are left out
            out[section] = [
                {k: v for k, v in r.items() if k in fields} for r in getattr(self, section)
            ]
        return out

    def with_overrides(self, overrides: dict[str, Any]) -> Scenario:
        """A new validated scenario with dotted-key overrides applied."""
        raw = self.to_dict()
        _apply_overrides(raw, overrides)
        merged = {**self.overrides, **overrides}
        return _build(raw, self.name, merged)


# ------------------------------------------------------------------ loading --
def builtin_scenarios() -> dict[str, str]:
    """Names and one-line descriptions of the scenarios shipped in the package."""
    out = {}
    for entry in sorted(resources.files("sim.scenarios").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            out[entry.name[:-5]] = str(data.get("description", ""))
    return out


def _read_raw(name_or_path: str | Path, _seen: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    text: str
    label = str(name_or_path)
    path = Path(name_or_path)
    builtin = resources.files("sim.scenarios").joinpath(f"{label}.toml")
    if (
        isinstance(name_or_path, str)
        and "/" not in label
        and not label.endswith(".toml")
        and builtin.is_file()
    ):
        text = builtin.read_text(encoding="utf-8")
        name = label
    elif path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError) as exc:
            raise ScenarioError(
                f"{label}: cannot be read as a UTF-8 text file ({exc.__class__.__name__})"
            ) from None
        name = path.stem
    elif path.exists():
        raise ScenarioError(f"{label}: not a file")
    else:
        known = ", ".join(builtin_scenarios())
        raise ScenarioError(
            f"{label}: no such scenario file or built-in scenario (built-ins: {known})"
        )
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{label}: not valid TOML ({exc})") from None
    parent = raw.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str):
            raise ScenarioError(f"{label}: extends: expected the name of a scenario")
        if parent in _seen:
            raise ScenarioError(f"{label}: extends: circular reference to {parent!r}")
        base, _ = _read_raw(parent, (*_seen, label))
        base.pop("name", None)  # a child is named after itself, not its parent
        base.pop("description", None)
        raw = _merge(base, raw)
    raw.setdefault("name", name)
    return raw, name


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)  # lists of records replace the parent's
    return out


def parse_override_value(text: str) -> Any:
    """Parse the value of ``--set key=value`` as a TOML literal, else a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """Turn ``["plan.reserve_share=0.05", ...]`` into a dict; malformed items raise."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ScenarioError(f"--set {item!r}: expected key=value")
        out[key.strip()] = parse_override_value(value.strip())
    return out


def load_scenario(
    name_or_path: str | Path = "default", overrides: dict[str, Any] | None = None
) -> Scenario:
    """Load a built-in scenario by name or a TOML file by path, apply overrides, validate."""
    raw, name = _read_raw(name_or_path)
    overrides = dict(overrides or {})
    _apply_overrides(raw, overrides)
    return _build(raw, str(raw.get("name", name)), overrides)


def _apply_overrides(raw: dict[str, Any], overrides: dict[str, Any]) -> None:
    for key, value in overrides.items():
        parts = key.split(".")
        if parts[0] in RECORD_FIELDS:
            if len(parts) != 3:
                raise ScenarioError(
                    f"{key}: record overrides take the form {parts[0]}.<name or index>.<field>"
                )
            records = raw.get(parts[0], [])
            idx = _find_record(records, parts[1], key)
            records[idx][parts[2]] = value
            continue
        if key not in PARAMS:
            raise ScenarioError(f"{key}: unknown parameter{_suggest(key)}")
        node = raw
        for h in parts[:-1]:
            nxt = node.setdefault(h, {})
            if not isinstance(nxt, dict):
                raise ScenarioError(f"{key}: {h} is not a table in the scenario")
            node = nxt
        node[parts[-1]] = value


def _find_record(records: list[dict[str, Any]], ref: str, key: str) -> int:
    for i, r in enumerate(records):
        if r.get("name") == ref:
            return i
    if ref.isdigit() and int(ref) < len(records):
        return int(ref)
    raise ScenarioError(f"{key}: no record named or numbered {ref!r}")


def _suggest(key: str) -> str:
    import difflib

    close = difflib.get_close_matches(key, PARAMS.keys(), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def _flatten(raw: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in raw.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and key not in PARAMS:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _build(raw: dict[str, Any], name: str, overrides: dict[str, Any]) -> Scenario:
    raw = copy.deepcopy(raw)
    description = raw.pop("description", "")
    raw.pop("name", None)
    records = {section: raw.pop(section, []) for section in RECORD_FIELDS}
    values = {p.name: p.default for p in PARAMS.values()}
    for key, value in _flatten(raw).items():
        if key not in PARAMS:
            raise ScenarioError(f"{key}: unknown parameter{_suggest(key)}")
        try:
            values[key] = PARAMS[key].check(value)
        except ValueError as exc:
            raise ScenarioError(str(exc)) from None
    checked: dict[str, tuple[dict[str, Any], ...]] = {}
    for section, fields in RECORD_FIELDS.items():
        items = records[section]
        if not isinstance(items, list):
            raise ScenarioError(f"{section}: expected a list of tables ([[{section}]])")
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise ScenarioError(f"{section}[{i}]: expected a table")
            rec = {f.name: f.default for f in fields.values()}
            for k, v in item.items():
                if k not in fields:
                    raise ScenarioError(
                        f"{section}[{i}].{k}: unknown field (known: {', '.join(fields)})"
                    )
                try:
                    rec[k] = fields[k].check(v, f"{section}[{i}].{k}")
                except ValueError as exc:
                    raise ScenarioError(str(exc)) from None
            out.append(rec)
        checked[section] = tuple(out)
    periods = tuple(_period_end(p, i) for i, p in enumerate(checked["periods"]))
    sc = Scenario(name=name, description=str(description), values=values, cities=checked["cities"],
                  periods=periods, shocks=checked["shocks"], major_projects=checked["major_projects"],
                  overrides=dict(overrides))  # fmt: skip
    _check_consistency(sc)
    return sc


def _period_end(p: dict[str, Any], i: int) -> dict[str, Any]:
    p = dict(p)
    p["end_year"] = p["start_year"] + p["years"] - 1
    return p


def _check_consistency(sc: Scenario) -> None:
    v = sc.values
    for label, keys in WEIGHT_GROUPS.items():
        total = math.fsum(v[k] for k in keys)
        if abs(total - 1.0) > 1e-6:
            raise ScenarioError(
                f"{keys[0].rsplit('.', 1)[0]}: {label} must sum to 1, they sum to {total:.6g}"
            )
    for fld, limit in (("emission_share", 0.98), ("gdp_share", 0.9)):
        total = math.fsum(v[f"sector.{s}.{fld}"] for s in SECTORS)
        if total > limit:
            raise ScenarioError(
                f"sector.*.{fld}: sector shares sum to {total:.4g}; at most {limit} (the diffuse sector takes the rest)"
            )
    total = math.fsum(v[f"sector.{s}.firm_share"] for s in SECTORS)
    if abs(total - 1.0) > 1e-6:
        raise ScenarioError(f"sector.*.firm_share: must sum to 1, they sum to {total:.6g}")
    if v["monitoring.red_threshold"] < v["monitoring.overrun_threshold"]:
        raise ScenarioError(
            "monitoring.red_threshold: must not be below monitoring.overrun_threshold"
        )
    from sim.accounts import evaluation_table  # the evaluation's own checks (good != bad)

    try:
        evaluation_table(v)
    except ValueError as e:
        raise ScenarioError(str(e)) from None
    if not sc.cities:
        raise ScenarioError("cities: at least one [[cities]] record is needed")
    names = [c["name"] for c in sc.cities]
    for i, c in enumerate(sc.cities):
        if not c["name"]:
            raise ScenarioError(f"cities[{i}].name: must not be empty")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ScenarioError(f"cities: duplicate city name {dup[0]!r}")
    if math.fsum(c["gdp_share"] for c in sc.cities) <= 0:
        raise ScenarioError("cities[].gdp_share: at least one city needs a positive GDP share")
    if v["province.n_firms"] < len(sc.cities):
        raise ScenarioError(
            f"province.n_firms: {v['province.n_firms']} firms cannot populate {len(sc.cities)} cities"
        )
    if not sc.periods:
        raise ScenarioError("periods: at least one [[periods]] record is needed")
    for i, p in enumerate(sc.periods):
        if i and p["start_year"] != sc.periods[i - 1]["end_year"] + 1:
            raise ScenarioError(
                f"periods[{i}].start_year: {p['start_year']} does not follow the previous period's end year "
                f"{sc.periods[i - 1]['end_year']}"
            )
    lag = v["monitoring.stat_lag_quarters"]
    if lag > 4 * v["run.warmup_years"] - 4:
        raise ScenarioError(
            f"run.warmup_years: {v['run.warmup_years']} warm-up years publish no official statistics "
            f"before the plan with monitoring.stat_lag_quarters = {lag}; use at least {math.ceil((lag + 4) / 4)}"
        )
    first, last = sc.first_year, sc.last_year
    for i, s in enumerate(sc.shocks):
        if not first <= s["year"] <= last:
            raise ScenarioError(
                f"shocks[{i}].year: {s['year']} is outside the simulated years {first}-{last}"
            )
        for sec in s["sectors"].split(","):
            if sec.strip() not in (*SECTORS, "diffuse", "all"):
                raise ScenarioError(f"shocks[{i}].sectors: unknown sector {sec.strip()!r}")
    for i, mp in enumerate(sc.major_projects):
        if mp["city"] not in names:
            raise ScenarioError(f"major_projects[{i}].city: unknown city {mp['city']!r}")
        if not sc.periods[0]["start_year"] <= mp["year"] <= last:
            raise ScenarioError(
                f"major_projects[{i}].year: {mp['year']} is outside the plan periods"
            )
