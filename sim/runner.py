"""``run(scenario, seed) -> RunResult``: the one pure entry point shared by the
CLI, sweeps, the UI and the tests; and writing a run folder (a separate step)."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.model import QUARTER_FIELDS, CarbonBudgetModel
from sim.monitoring import STATUS_CODES
from sim.params import SECTORS
from sim.policies.packages import ALL_KEYS, WARNING_COLOURS
from sim.scenario import Scenario
from sim.stages.final_account import final_account

INTENSITY_T_PER_10K = 10.0  # Mt per bn CNY -> t per 10,000 CNY


@dataclass
class RunResult:
    """Tidy tables of one run and its final accounts."""

    scenario: Scenario
    seed: int
    regime: str
    quarterly: pd.DataFrame
    annual: pd.DataFrame
    events: pd.DataFrame
    monitoring: pd.DataFrame
    final_accounts: list[dict[str, Any]] = field(default_factory=list)
    sectors: pd.DataFrame | None = None  # year x city x sector (sector_frame)

    @property
    def final_account(self) -> dict[str, Any]:
        """The final account of the last plan period."""
        return self.final_accounts[-1]

    def measures(self) -> dict[str, float]:
        """Flat named measures of all periods (prefix ``p<k>.`` when several)."""
        out: dict[str, float] = {}
        multi = len(self.final_accounts) > 1
        for fa in self.final_accounts:
            pre = f"p{fa['period']}." if multi else ""
            out.update({pre + k: v for k, v in fa["measures"].items()})
            out.update({pre + f"score_{d}": s for d, s in fa["dimensions"].items()})
            out[pre + "composite"] = fa["composite"]
        return out


@dataclass(frozen=True)
class Counterfactual:
    """What the cost measures need of the no-policy run (regime ``none``) on the
    same random numbers: true quarterly GDP and emissions (quarters x cities).

    It depends only on the scenario's "world" parameters (``Param.kind``) and
    the seed, so a sweep computes it once per replicate seed and passes it to
    :func:`run` for every design row that varies only policy parameters."""

    seed: int
    gdp: np.ndarray
    emissions: np.ndarray

    @classmethod
    def of(cls, model: CarbonBudgetModel) -> Counterfactual:
        return cls(model.seed, model.stats.gdp.copy(), model.stats.emissions.copy())


def run_counterfactual(scenario: Scenario, seed: int = 0) -> Counterfactual:
    """Run the no-policy counterfactual of ``scenario`` at ``seed``."""
    cf = CarbonBudgetModel(scenario, seed, regime="none")
    cf.run_model()
    return Counterfactual.of(cf)


def run(scenario: Scenario, seed: int = 0, *, regime: str | None = None,
        counterfactual: bool | Counterfactual | None = None, firm_agents: bool = False) -> RunResult:  # fmt: skip
    """Simulate ``scenario`` with ``seed``; also runs the no-policy
    counterfactual on the same random numbers when the scenario asks for it.

    ``counterfactual``: None follows ``evaluation.counterfactual``; True/False
    force it on/off; a :class:`Counterfactual` (from :func:`run_counterfactual`
    at the same seed, on a scenario with the same world parameters) is reused
    instead of being recomputed.  ``firm_agents`` builds the Mesa Firm row views
    (for inspection and the teaching page; never needed for results)."""
    model = CarbonBudgetModel(scenario, seed, regime=regime, firm_agents=firm_agents)
    model.run_model()
    if isinstance(counterfactual, Counterfactual):
        if counterfactual.seed != seed or counterfactual.gdp.shape != model.stats.gdp.shape:
            raise ValueError("counterfactual: computed for another seed or another time axis")
        return collect(model, counterfactual)
    want_cf = scenario["evaluation.counterfactual"] if counterfactual is None else counterfactual
    cf = None
    if want_cf:
        cf = (
            Counterfactual.of(model)
            if model.regime.name == "none"
            else run_counterfactual(scenario, seed)
        )
    return collect(model, cf)


def collect(model: CarbonBudgetModel, cf: Counterfactual | None = None) -> RunResult:
    accounts = [final_account(model, p, cf) for p in model.plans if p.end_t < model.t]
    return RunResult(model.sc, model.seed, model.regime.name, quarterly_frame(model), annual_frame(model),
                     model.events.to_frame(), monitoring_frame(model), accounts, sector_frame(model))  # fmt: skip


def _period_of_quarter(model: CarbonBudgetModel) -> np.ndarray:
    per = np.full(model.T, -1)
    for p in model.plans:
        per[p.p0 : p.end_t + 1] = p.index
    return per


def quarterly_frame(model: CarbonBudgetModel) -> pd.DataFrame:
    T, C = model.t, model.C
    names = np.array([*model.sc.city_names, "province"], dtype=object)
    t = np.repeat(np.arange(T), C + 1)
    data: dict[str, Any] = {
        "t": t,
        "year": model.first_year + t // 4,
        "quarter": t % 4 + 1,
        "period": np.repeat(_period_of_quarter(model)[:T], C + 1),
        "city": np.tile(names, T),
    }
    for f in QUARTER_FIELDS:
        m = model.q[f][:T]
        prov = m.sum(axis=1, keepdims=True)
        if f == "restriction":  # share of potential key-firm output withheld
            lost = model.q["restriction_gdp_loss"][:T].sum(axis=1, keepdims=True)
            pot = model.q["gdp_firms"][:T].sum(axis=1, keepdims=True) + lost
            prov = np.divide(lost, pot, out=np.zeros_like(lost), where=pot > 0)
        elif f == "effective_price":  # emission-weighted mean
            w = model.q["emissions_firms"][:T]
            tot = w.sum(axis=1, keepdims=True)
            prov = np.divide(
                (m * w).sum(axis=1, keepdims=True), tot, out=np.zeros_like(tot), where=tot > 0
            )
        data[f] = np.hstack([m, prov]).ravel()
    est = model.q_estimate_first[:T]
    data["emissions_estimate"] = np.hstack([est, est.sum(axis=1, keepdims=True)]).ravel()
    data["intensity"] = (
        data["emissions"] / np.where(data["gdp"] > 0, data["gdp"], np.nan) * INTENSITY_T_PER_10K
    )
    prov_status = np.full((T, 1), -1)
    st = np.hstack([model.q_status[:T], prov_status])
    data["status"] = np.where(st >= 0, np.array(STATUS_CODES, dtype=object)[np.clip(st, 0, 2)], "")
    wn = np.hstack([model.q_warning[:T], np.zeros((T, 1), dtype=np.int8)])
    data["warning"] = np.array(WARNING_COLOURS, dtype=object)[wn].ravel()
    data["warning"][np.tile(np.arange(C + 1) == C, T)] = ""
    pk = np.hstack([model.q_package[:T], np.zeros((T, 1), dtype=np.int64)])
    data["package"] = np.array(ALL_KEYS, dtype=object)[pk].ravel()
    data["package"][np.tile(np.arange(C + 1) == C, T)] = ""
    data["status"] = data["status"].ravel()
    df = pd.DataFrame(data)
    for col in ("city", "status", "warning", "package"):
        df[col] = df[col].astype(str)
    return df


def annual_frame(model: CarbonBudgetModel) -> pd.DataFrame:
    Y = model.t // 4
    C = model.C
    names = [*model.sc.city_names, "province"]

    def yearly(a: np.ndarray) -> np.ndarray:  # quarters x cities -> years x (cities + province)
        y = a[: 4 * Y].reshape(Y, 4, C).sum(axis=1)
        return np.hstack([y, y.sum(axis=1, keepdims=True)])

    nan = np.full((Y, C + 1), np.nan)
    cols: dict[str, np.ndarray] = {}
    for f in ("gdp", "gdp_firms", "gdp_diffuse", "emissions", "emissions_firms", "emissions_diffuse", "electricity",
              "restriction_gdp_loss", "phase_out_mt", "abatement_cost", "fiscal_cost", "pricing_revenue"):  # fmt: skip
        cols[f] = yearly(model.q[f])
    cols["abatement_mt"] = (
        yearly(model.q["abatement_mt"]) / 4
    )  # Mt/yr completed -> Mt in the year (approx.)
    cols["intensity"] = cols["emissions"] / cols["gdp"] * INTENSITY_T_PER_10K
    off = model.stats.official[:Y]
    cols["official_emissions"] = np.hstack([off, off.sum(axis=1, keepdims=True)])
    cols["official_published_t"] = np.repeat(
        np.where(model.stats.published_at[:Y] < 10**9, model.stats.published_at[:Y], -1)[:, None],
        C + 1,
        axis=1,
    ).astype(float)
    for name in ("target_initial", "target", "held_to", "accounted", "traded", "listed_quota", "adjustment",
                 "breach", "reserve"):  # fmt: skip
        cols[name] = nan.copy()
    status = np.full((Y, C + 1), "", dtype=object)
    period = np.full(Y, -1)
    for p in model.plans:
        y0 = p.p0 // 4
        for k in range(p.years):
            yi = y0 + k
            if yi >= Y:
                break
            period[yi] = p.index
            for name, arr in (("target_initial", p.T_initial), ("target", p.T), ("held_to", p.held_to),
                              ("accounted", p.accounted), ("traded", p.traded), ("listed_quota", p.listed)):  # fmt: skip
                cols[name][yi, :C] = arr[:, k]
                cols[name][yi, C] = (
                    np.nansum(arr[:, k]) if not np.isnan(arr[:, k]).all() else np.nan
                )
            cols["reserve"][yi, C] = p.reserve[k]
            cols["target_initial"][yi, C] += p.reserve_initial[k]
            cols["target"][yi, C] = p.budget[k]
            st = model.annual_status[p.index][:, k]
            if not np.isnan(p.accounted[0, k]):
                status[yi, :C] = np.array(STATUS_CODES, dtype=object)[st]
    for pidx, k, change, breach in model.adjust_log:
        yi = model.plans[pidx].p0 // 4 + k
        if yi < Y:
            cols["adjustment"][yi, :C] = change
            cols["adjustment"][yi, C] = change.sum()
            cols["breach"][yi, :C] = breach
            cols["breach"][yi, C] = breach.sum()
    years = model.first_year + np.arange(Y)
    df = pd.DataFrame({
        "year": np.repeat(years, C + 1),
        "period": np.repeat(period, C + 1),
        "city": np.tile(np.array(names, dtype=object), Y).astype(str),
        **{k: v.ravel() for k, v in cols.items()},
        "status": status.ravel().astype(str),
    })  # fmt: skip
    return df


SECTOR_NAMES = (*SECTORS, "diffuse")


def sector_frame(model: CarbonBudgetModel) -> pd.DataFrame:
    """One row per year x (cities + province) x sector (the key firms of each
    industrial sector, then the diffuse sector): yearly emissions (Mt), output
    (value added, bn CNY) and intensity (t CO2 per 10,000 CNY); complete years."""
    Y, C = model.t // 4, model.C
    S = len(SECTOR_NAMES)
    cols = {}
    for k, diffuse in (("emissions", "emissions_diffuse"), ("gdp", "gdp_diffuse")):
        q = np.concatenate([model.q_sector[k][: 4 * Y], model.q[diffuse][: 4 * Y, :, None]], axis=2)
        y = q.reshape(Y, 4, C, S).sum(axis=1)  # years x cities x sectors
        cols[k] = np.concatenate([y, y.sum(axis=1, keepdims=True)], axis=1).ravel()
    per = _period_of_quarter(model)[: 4 * Y : 4]
    df = pd.DataFrame({
        "year": np.repeat(model.first_year + np.arange(Y), (C + 1) * S),
        "period": np.repeat(per, (C + 1) * S),
        "city": np.tile(np.repeat(np.array([*model.sc.city_names, "province"], dtype=object), S), Y),
        "sector": np.tile(np.array(SECTOR_NAMES, dtype=object), Y * (C + 1)),
        **cols,
    })  # fmt: skip
    e, g = cols["emissions"], cols["gdp"]
    df["intensity"] = (
        np.divide(e, g, out=np.full(len(e), np.nan), where=g > 0) * INTENSITY_T_PER_10K
    )
    return df


def monitoring_frame(model: CarbonBudgetModel) -> pd.DataFrame:
    names = [*model.sc.city_names, "province"]
    rows = []
    for t, last, cum_e, cum_s, truth, r, status, warning in model.monitoring_rows:
        for c, name in enumerate(names):
            rows.append((t, model.first_year + t // 4, t % 4 + 1, last, name, cum_e[c], cum_s[c], truth[c], r[c],
                         STATUS_CODES[status[c]], WARNING_COLOURS[warning[c]]))  # fmt: skip
    cols = ["t", "year", "quarter", "data_through_t", "city", "cum_estimate", "cum_schedule", "cum_true", "ratio",
            "status", "warning"]  # fmt: skip
    df = pd.DataFrame(rows, columns=cols)
    df["estimate_error"] = df["cum_estimate"] / df["cum_true"] - 1.0
    return df


# --------------------------------------------------------------- writing --
def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("carbon-budget-sim", "mesa", "numpy", "pandas", "pyarrow", "SALib"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        res = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() or None if res.returncode == 0 else None


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.bool_):
        return bool(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _clean(o: Any) -> Any:
    """NaN and infinities become null (valid JSON)."""
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_clean(v) for v in o]
    if isinstance(o, float) and not np.isfinite(o):
        return None
    return o


TMP_PREFIX = ".tmp-run-"


class OutputError(ValueError):
    """An output folder that cannot (or must not) be written."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def clean_leftovers(parent: Path) -> list[Path]:
    """Remove ``.tmp-run-<pid>-*`` folders of processes that are gone (left by a
    killed run); the temporaries of a run still in progress are kept."""
    removed: list[Path] = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for p in entries:
        if not p.name.startswith(TMP_PREFIX) or p.is_symlink() or not p.is_dir():
            continue
        pid = p.name[len(TMP_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and _pid_alive(int(pid)):
            continue
        if pid.isdigit() and int(pid) == os.getpid():
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


def check_output_folder(out: str | Path, marker: str, what: str = "run folder") -> Path:
    """See :func:`_check_output_folder`; file-system errors become :class:`OutputError`."""
    try:
        return _check_output_folder(out, marker, what)
    except OutputError:
        raise
    except (OSError, ValueError) as exc:  # name too long, NUL byte, loops, no permission
        why = getattr(exc, "strerror", None) or str(exc)
        raise OutputError(f"{out}: cannot be used as a folder ({why})") from None


def _check_output_folder(out: str | Path, marker: str, what: str) -> Path:
    """Check, before anything is simulated, that ``out`` can be written as a
    folder of the kind marked by the file ``marker``; returns the folder to
    write (a symbolic link to a folder is followed).

    Refused (:class:`OutputError`): an empty path; a file, a dangling link or a
    non-folder in the way; an existing folder that is neither empty nor a
    ``what`` (no ``marker`` file: it is never overwritten); a parent folder in
    which a temporary folder cannot actually be created (read-only,
    immutable, ``/proc``, no permission).  Nothing is left behind."""
    text = str(out)
    if not text.strip():
        raise OutputError("an empty path is not a folder")
    out = Path(out)
    if out.is_symlink():
        if not out.exists():
            raise OutputError(f"{out} is a dangling symbolic link")
        out = Path(os.path.realpath(out))
    if out.exists():
        if not out.is_dir():
            raise OutputError(f"{out} exists and is not a folder")
        try:
            entries = [p.name for p in out.iterdir()]
        except OSError as exc:
            raise OutputError(f"{out}: cannot be read ({exc.strerror or exc})") from None
        if entries and marker not in entries:
            raise OutputError(
                f"{out} exists and is not a {what} (no {marker}); it is not overwritten"
            )
        if (out / marker).is_symlink() or not (out / marker).is_file() and entries:
            raise OutputError(f"{out}/{marker} is not a file; it is not overwritten")
    if out.name in ("", ".", "..") or out.resolve() == Path(out.anchor):
        raise OutputError(f"{out} cannot be replaced (name a new or existing {what})")
    probe = out.parent
    while not probe.exists():
        if probe.is_symlink():
            raise OutputError(f"{probe} is a dangling symbolic link")
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"{probe} exists and is not a folder")
    try:
        tmp = tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-probe-", dir=probe)
        with open(os.path.join(tmp, "probe"), "wb") as fh:
            fh.write(b"x")
        shutil.rmtree(tmp)
    except OSError as exc:
        raise OutputError(f"{probe}: cannot write here ({exc.strerror or exc})") from None
    return out


def replace_folder(out: str | Path, fill: Callable[[Path], None], marker: str,
                   what: str = "run folder") -> Path:  # fmt: skip
    """Write a folder in one step: ``fill(tmp)`` writes every file into a
    temporary sibling, which is then renamed into place.  An existing folder
    of the same kind is replaced whole (renamed aside first, removed after),
    so after a kill at any moment ``out`` is the old complete folder, the new
    complete folder or absent; temporaries left by killed runs are removed by
    the next one (:func:`clean_leftovers`)."""
    out = check_output_folder(out, marker, what)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(out.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=out.parent))
    old: Path | None = None
    try:
        fill(tmp)
        if not (tmp / marker).is_file():
            raise RuntimeError(f"replace_folder: {marker} was not written")
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-old-", dir=out.parent))
            os.rename(out, old / "x")
        os.rename(tmp, out)
    except BaseException:
        if old is not None and not out.exists():
            os.rename(old / "x", out)  # put the old folder back
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return out


RUN_FILES = ("manifest.json", "quarterly.parquet", "annual.parquet", "events.parquet",
             "monitoring.parquet", "final_account.json", "sectors.parquet")  # fmt: skip


def write_run(result: RunResult, out: str | Path, *, figures: bool = False) -> Path:
    """Write the run folder atomically: the files are written into a temporary
    sibling that is renamed into place in one step (:func:`replace_folder`), so
    all files appear or none do; an existing run folder is replaced whole.
    ``figures=True`` also draws ``figures/overview.png`` before the rename."""
    out = Path(out)

    def fill(tmp: Path) -> None:
        manifest = {
            "scenario": result.scenario.to_dict(),
            "scenario_name": result.scenario.name,
            "overrides": result.scenario.overrides,
            "seed": result.seed,
            "regime": result.regime,
            "versions": versions(),
            "git_commit": git_commit(),
            "files": [
                *(f for f in RUN_FILES if f != "sectors.parquet" or result.sectors is not None),
                *(["figures/overview.png"] if figures else []),
            ],  # fmt: skip
        }
        (tmp / "manifest.json").write_text(
            json.dumps(_clean(manifest), indent=2, default=_json_default) + "\n"
        )
        result.quarterly.to_parquet(tmp / "quarterly.parquet", index=False)
        result.annual.to_parquet(tmp / "annual.parquet", index=False)
        result.events.to_parquet(tmp / "events.parquet", index=False)
        result.monitoring.to_parquet(tmp / "monitoring.parquet", index=False)
        if result.sectors is not None:
            result.sectors.to_parquet(tmp / "sectors.parquet", index=False)
        fa = {"periods": result.final_accounts}
        (tmp / "final_account.json").write_text(
            json.dumps(_clean(fa), indent=2, default=_json_default) + "\n"
        )
        if figures:
            from sim.plots import plot_run

            plot_run(tmp, title=out.name)

    try:
        return replace_folder(out, fill, "manifest.json")
    except OutputError as exc:
        raise OutputError(f"{out}: {exc}" if str(out) not in str(exc) else str(exc)) from None
