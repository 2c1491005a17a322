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


def _is_builtin(ref: str | Path) -> bool:
    """A bare name (no folder, no .toml) of a scenario shipped in the package."""
    if not isinstance(ref, str) or "/" in ref or "\\" in ref or ref.endswith(".toml") or not ref:
        return False
    try:
        return resources.files("sim.scenarios").joinpath(f"{ref}.toml").is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


def _parse_toml(text: str, label: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ScenarioError(f"{label}: not valid TOML (values nested too deeply)") from None
    except ValueError as exc:  # TOMLDecodeError, or an integer too long to convert
        msg = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise ScenarioError(f"{label}: not valid TOML ({msg})") from None


def _read_raw(
    name_or_path: str | Path, _seen: tuple[str, ...] = (), _base: Path | None = None
) -> tuple[dict[str, Any], str]:
    """Raw (merged) tables of a scenario.  ``_base`` is the folder of the file
    whose ``extends`` names this one: a relative path is resolved from there."""
    text: str
    label = str(name_or_path)
    if not label.strip():
        raise ScenarioError("scenario: an empty name is neither a built-in scenario nor a file")
    if _is_builtin(name_or_path):
        builtin = resources.files("sim.scenarios").joinpath(f"{label}.toml")
        text = builtin.read_text(encoding="utf-8")
        name, key, folder = label, f"builtin:{label}", None
    else:
        path = Path(name_or_path)
        if _base is not None and not path.is_absolute():
            path = _base / path
            label = str(path)
        try:
            path.stat()
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:  # name too long, NUL byte, no permission, ...
            why = getattr(exc, "strerror", None) or str(exc)
            raise ScenarioError(f"{label}: cannot be read as a scenario file ({why})") from None
        if path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError) as exc:
                raise ScenarioError(
                    f"{label}: cannot be read as a UTF-8 text file ({exc.__class__.__name__})"
                ) from None
        elif path.exists():
            raise ScenarioError(f"{label}: not a file")
        else:
            known = ", ".join(builtin_scenarios())
            raise ScenarioError(
                f"{label}: no such scenario file or built-in scenario (built-ins: {known})"
            )
        name, key, folder = path.stem, str(path.resolve()), path.resolve().parent
    raw = _nest(_parse_toml(text, label), label)
    for meta in ("name", "description"):
        if meta in raw and not isinstance(raw[meta], str):
            raise ScenarioError(
                f"{label}: {meta}: expected a string, got {type(raw[meta]).__name__}"
            )
    parent = raw.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str) or not parent.strip():
            raise ScenarioError(f"{label}: extends: expected the name or path of a scenario")
        chain = (*_seen, key)
        try:
            pkey = (
                f"builtin:{parent}"
                if _is_builtin(parent)
                else str((folder / parent).resolve() if folder else Path(parent).resolve())
            )
        except (OSError, ValueError):  # unusable path: reported when it is read
            pkey = parent
        if pkey in chain:
            names = " -> ".join(k.removeprefix("builtin:") for k in (*chain, pkey))
            raise ScenarioError(f"{label}: extends: circular reference to {parent!r} ({names})")
        base, _ = _read_raw(parent, chain, folder if folder is not None else Path.cwd())
        base.pop("name", None)  # a child is named after itself, not its parent
        base.pop("description", None)
        raw = _merge(base, raw)
    raw.setdefault("name", name)
    return raw, name


def _nest(raw: dict[str, Any], label: str, prefix: str = "") -> dict[str, Any]:
    """Expand quoted dotted keys (``"plan.reserve_share" = 0.05``) into tables,
    refusing a key given twice (dotted and inside its table)."""
    out: dict[str, Any] = {}
    for k, v in raw.items():
        if isinstance(v, dict):
            v = _nest(v, label, f"{prefix}{k}.")
        parts = k.split(".")
        if len(parts) > 1 and not prefix and parts[0] in (*META_KEYS, *RECORD_FIELDS):
            raise ScenarioError(f"{label}: {k}: dotted keys cannot address {parts[0]}")
        node = out
        for i, h in enumerate(parts[:-1]):
            nxt = node.setdefault(h, {})
            if not isinstance(nxt, dict):
                raise ScenarioError(
                    f"{label}: {prefix}{'.'.join(parts[: i + 1])}: given twice (as a value and as a table)"
                )
            node = nxt
        last = parts[-1]
        if last in node:
            if isinstance(node[last], dict) and isinstance(v, dict):
                for kk, vv in v.items():
                    if kk in node[last]:
                        raise ScenarioError(
                            f"{label}: {prefix}{k}.{kk}: given twice (as a dotted key and inside its table)"
                        )
                    node[last][kk] = vv
                continue
            raise ScenarioError(
                f"{label}: {prefix}{k}: given twice (as a dotted key and inside its table)"
            )
        node[last] = v
    return out


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
    except RecursionError:
        raise ScenarioError(f"--set value {text[:40]!r}...: nested too deeply") from None
    except ValueError:  # TOMLDecodeError, or an integer too long to convert
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
    if not isinstance(name_or_path, (str, Path)):
        raise ScenarioError(
            f"scenario: expected a built-in name or a path, got {type(name_or_path).__name__}"
        )
    try:
        raw, name = _read_raw(name_or_path)
        overrides = dict(overrides or {})
        _apply_overrides(raw, overrides)
        return _build(raw, raw.get("name", name), overrides)
    except RecursionError:
        raise ScenarioError(f"{name_or_path}: values nested too deeply") from None


def _apply_overrides(raw: dict[str, Any], overrides: dict[str, Any]) -> None:
    for key, value in overrides.items():
        if not isinstance(key, str):
            raise ScenarioError(f"{key!r}: override keys are dotted parameter names (strings)")
        parts = key.split(".")
        if parts[0] in RECORD_FIELDS:
            if len(parts) != 3:
                raise ScenarioError(
                    f"{key}: record overrides take the form {parts[0]}.<name or index>.<field>"
                )
            records = raw.get(parts[0], [])
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise ScenarioError(
                    f"{key}: {parts[0]} in the scenario is not a list of tables ([[{parts[0]}]])"
                )
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
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(f"name: expected a non-empty string, got {name!r}")
    if not isinstance(description, str):
        raise ScenarioError(f"description: expected a string, got {type(description).__name__}")
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
    for sec in SECTORS:
        for k in ("emission_share", "gdp_share", "firm_share"):
            if 0 < v[f"sector.{sec}.{k}"] < 1e-9:  # the model divides by these shares
                raise ScenarioError(
                    f"sector.{sec}.{k}: {v[f'sector.{sec}.{k}']:g} is too close to 0 to compute "
                    "with (use 0 or at least 1e-09)"
                )
        e, g, f = (v[f"sector.{sec}.{k}"] for k in ("emission_share", "gdp_share", "firm_share"))
        if (e > 0 or f > 0) and g <= 0:
            raise ScenarioError(
                f"sector.{sec}.gdp_share: 0, but the sector has emissions or key firms; "
                "they need output (give it a GDP share, or zero emission and firm shares)"
            )
        if g > 0 and f <= 0:
            raise ScenarioError(
                f"sector.{sec}.firm_share: 0, but the sector has output; "
                "its key firms produce it (give it a share of firms or a zero GDP share)"
            )
    if v["monitoring.red_threshold"] < v["monitoring.overrun_threshold"]:
        raise ScenarioError(
            "monitoring.red_threshold: must not be below monitoring.overrun_threshold"
        )
    from sim.stages.final_account import (
        evaluation_table,  # the evaluation's own checks (good != bad)
    )

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
    total_share = math.fsum(c["gdp_share"] for c in sc.cities)
    if total_share <= 0:
        raise ScenarioError("cities[].gdp_share: at least one city needs a positive GDP share")
    for i, c in enumerate(sc.cities):
        if c["gdp_share"] < 1e-3 * total_share:
            raise ScenarioError(
                f"cities[{i}].gdp_share: {c['gdp_share']:g} is below 0.1 % of the cities' total; "
                "a city needs an economy of its own (leave the city out instead)"
            )
    for i, c in enumerate(sc.cities):
        rel = v["monitoring.fast_noise"] / c["monitoring_capacity"]
        if rel > 0.5:
            raise ScenarioError(
                f"cities[{i}].monitoring_capacity: {c['monitoring_capacity']:g} with "
                f"monitoring.fast_noise = {v['monitoring.fast_noise']:g} makes the measurement error "
                f"s.d. {rel:.0%}; at most 50 % (fast_noise / monitoring_capacity <= 0.5)"
            )
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
