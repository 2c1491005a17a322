"""Output folders (issue 7): a run folder (and a comparison folder) is written
to a temporary sibling and renamed into place, so after a failure or a kill at
any moment the target is the old complete folder, the new complete folder or
absent; leftovers of killed runs are cleaned by the next run; an existing run
folder is replaced whole; ``plot`` validates the folder and leaves nothing
behind; ``compare`` works per plan period."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from _helpers import cli_main as _main

import sim.runner
from sim import load_scenario, run
from sim.runner import TMP_PREFIX, OutputError, clean_leftovers, write_run

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def two_runs(tiny):
    return run(tiny, seed=1, counterfactual=False), run(tiny, seed=2, counterfactual=False)


def _seed_of(folder: Path) -> int:
    return json.loads((folder / "manifest.json").read_text())["seed"]


def _complete(folder: Path) -> bool:
    m = json.loads((folder / "manifest.json").read_text())
    return all((folder / f).is_file() for f in m["files"])


def _leftovers(parent: Path) -> list[Path]:
    return [p for p in parent.iterdir() if p.name.startswith(TMP_PREFIX)]


# ------------------------------------------------------------ replace ----
def test_rewriting_a_run_folder_replaces_it_whole(tmp_path, two_runs):
    out = tmp_path / "r"
    write_run(two_runs[0], out, figures=True)
    assert (out / "figures" / "overview.png").is_file()
    (out / "notes.txt").write_text("stale")
    write_run(two_runs[1], out)  # no figures this time
    assert _seed_of(out) == 2 and _complete(out)
    assert not (out / "figures").exists()  # the old overview.png is gone
    assert not (out / "notes.txt").exists()
    assert not _leftovers(tmp_path)


@pytest.mark.parametrize("fail_at", [1, 2, 4])
def test_failure_between_file_writes_leaves_the_old_folder(
    tmp_path, two_runs, monkeypatch, fail_at
):
    out = tmp_path / "r"
    write_run(two_runs[0], out)
    before = sorted(p.name for p in out.iterdir())
    calls = {"n": 0}
    real = pd.DataFrame.to_parquet

    def flaky(self, path, *a, **k):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise OSError(28, "No space left on device", str(path))
        return real(self, path, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", flaky)
    with pytest.raises(OSError):
        write_run(two_runs[1], out)
    assert _seed_of(out) == 1 and _complete(out)
    assert sorted(p.name for p in out.iterdir()) == before
    assert not _leftovers(tmp_path)


def test_failure_on_a_new_folder_leaves_nothing(tmp_path, two_runs, monkeypatch):
    def broken(self, path, *a, **k):
        raise OSError(5, "Input/output error", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken)
    with pytest.raises(OSError):
        write_run(two_runs[0], tmp_path / "r")
    assert list(tmp_path.iterdir()) == []


def test_failure_of_the_final_rename_puts_the_old_folder_back(tmp_path, two_runs, monkeypatch):
    out = tmp_path / "r"
    write_run(two_runs[0], out)
    real = os.rename
    failed = []

    def rename(src, dst):
        if Path(dst) == out and not failed:  # the new folder cannot be moved in
            failed.append(src)
            raise OSError(16, "Device or resource busy", str(dst))
        return real(src, dst)

    monkeypatch.setattr(sim.runner.os, "rename", rename)
    with pytest.raises(OSError):
        write_run(two_runs[1], out)
    assert _seed_of(out) == 1 and _complete(out)
    assert not _leftovers(tmp_path)


KILL_SCRIPT = """
import os, sys
import pandas as pd
import sim.runner
from sim import load_scenario, run
from sim.runner import write_run
mode, out = sys.argv[1], sys.argv[2]
res = run(load_scenario("tiny"), seed=2, counterfactual=False)
real_parquet, real_rename = pd.DataFrame.to_parquet, os.rename
n = {"parquet": 0, "rename": 0}
def parquet(self, *a, **k):
    n["parquet"] += 1
    if mode == "after-first-file" and n["parquet"] == 2:
        os._exit(9)
    return real_parquet(self, *a, **k)
def rename(src, dst):
    n["rename"] += 1
    if mode == "between-renames" and n["rename"] == 2:
        os._exit(9)
    return real_rename(src, dst)
pd.DataFrame.to_parquet = parquet
sim.runner.os.rename = rename
write_run(res, out)
"""


@pytest.mark.parametrize("mode", ["after-first-file", "between-renames"])
def test_a_killed_write_leaves_old_new_or_nothing_and_is_cleaned_up(tmp_path, two_runs, mode):
    out = tmp_path / "r"
    write_run(two_runs[0], out)
    script = tmp_path / "kill.py"
    script.write_text(textwrap.dedent(KILL_SCRIPT))
    proc = subprocess.run([sys.executable, str(script), mode, str(out)], cwd=ROOT, timeout=300)
    assert proc.returncode == 9  # killed in the middle of writing
    if out.exists():  # old complete folder, never a mixture
        assert _seed_of(out) == 1 and _complete(out)
    else:
        assert mode == "between-renames"
    assert _leftovers(tmp_path)  # the killed process could not clean up
    # the next run removes the leftovers of the dead process and writes its folder
    write_run(two_runs[1], out)
    assert _seed_of(out) == 2 and _complete(out)
    assert not _leftovers(tmp_path)


def test_leftovers_of_a_live_process_are_kept(tmp_path):
    live = tmp_path / f"{TMP_PREFIX}{os.getppid()}-abc"
    live.mkdir()
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = tmp_path / f"{TMP_PREFIX}{proc.stdout.strip()}-def"
    dead.mkdir()
    (dead / "quarterly.parquet").write_text("half")
    assert clean_leftovers(tmp_path) == [dead]
    assert live.is_dir() and not dead.exists()


def test_not_a_run_folder_is_never_overwritten(tmp_path, two_runs):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("precious")
    with pytest.raises(OutputError, match="not a run folder"):
        write_run(two_runs[0], out)
    assert (out / "chapter1.tex").read_text() == "precious"
    assert not _leftovers(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    write_run(two_runs[0], empty)  # an empty folder is fine
    assert _complete(empty)


def test_out_is_checked_before_any_simulation(tmp_path, monkeypatch):
    import sim.compare

    def no_sim(*a, **k):
        raise AssertionError("simulated before checking --out")

    monkeypatch.setattr(sim.runner, "run", no_sim)
    monkeypatch.setattr(sim.compare, "compare", no_sim)
    (tmp_path / "notarun").mkdir()
    (tmp_path / "notarun" / "x").write_text("x")
    for argv in (["run", "tiny", "--out", "/proc/nope"],
                 ["run", "tiny", "--out", str(tmp_path / "notarun")],
                 ["compare", "tiny", "--out", "/proc/nope", "--no-progress"],
                 ["compare", "tiny", "--out", str(tmp_path / "notarun"), "--no-progress"]):  # fmt: skip
        rc, _, err = _main(argv)
        assert rc == 2 and "--out" in err, err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_parent_is_bad_input(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        rc, _, err = _main(["run", "tiny", "--out", str(ro / "r"), "--no-counterfactual"])
    finally:
        ro.chmod(0o755)
    assert rc == 2 and "cannot write here" in err
    assert list(ro.iterdir()) == []


def test_read_only_file_system_is_bad_input(tmp_path, monkeypatch):
    """What a read-only mount or an immutable folder answers (root included)."""
    import errno
    import tempfile

    real = tempfile.mkdtemp

    def mkdtemp(*a, dir=None, **k):
        if dir is not None and Path(dir) == tmp_path:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))
        return real(*a, dir=dir, **k)

    monkeypatch.setattr(sim.runner.tempfile, "mkdtemp", mkdtemp)
    for argv in (["run", "tiny", "--out", str(tmp_path / "r")],
                 ["compare", "tiny", "--out", str(tmp_path / "c"), "--no-progress"]):  # fmt: skip
        rc, stdout, err = _main(argv)
        assert rc == 2 and "cannot write here (Read-only file system)" in err, err
        assert stdout == "" and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_symlink_to_a_run_folder_is_followed(tmp_path, two_runs):
    real = tmp_path / "real"
    write_run(two_runs[0], real)
    link = tmp_path / "link"
    link.symlink_to(real)
    write_run(two_runs[1], link)
    assert link.is_symlink() and _seed_of(real) == 2


def test_cli_run_folder_holds_its_figure(tmp_path):
    out = tmp_path / "r"
    rc, stdout, err = _main(["run", "tiny", "--out", str(out), "--no-counterfactual", "--quiet"])
    assert rc == 0, err
    m = json.loads((out / "manifest.json").read_text())
    assert "figures/overview.png" in m["files"] and _complete(out)
    rc, _, err = _main(["run", "tiny", "--out", str(out), "--no-counterfactual", "--no-plots"])
    assert rc == 0, err
    assert not (out / "figures").exists()


# --------------------------------------------------------------- plot ----
def _damage(folder: Path, how: str) -> None:
    if how == "truncated-parquet":
        p = folder / "quarterly.parquet"
        p.write_bytes(p.read_bytes()[:500])
    elif how == "empty-final-account":
        (folder / "final_account.json").write_text("")
    elif how == "final-account-list":
        (folder / "final_account.json").write_text("[1, 2]")
    elif how == "final-account-empty-period":
        (folder / "final_account.json").write_text('{"periods": [{}]}')
    elif how == "final-account-no-periods":
        (folder / "final_account.json").write_text('{"periods": []}')
    elif how == "figures-is-a-file":
        (folder / "figures").write_text("x")
    elif how == "swapped-tables":
        q, a = folder / "quarterly.parquet", folder / "annual.parquet"
        tmp = folder / "x"
        q.rename(tmp)
        a.rename(q)
        tmp.rename(a)
    elif how == "events-swapped-for-monitoring":
        (folder / "events.parquet").write_bytes((folder / "monitoring.parquet").read_bytes())
    elif how in ("no-manifest", "no-events", "no-monitoring", "no-final-account"):
        name = {"no-manifest": "manifest.json", "no-events": "events.parquet",
                "no-monitoring": "monitoring.parquet", "no-final-account": "final_account.json"}[how]  # fmt: skip
        (folder / name).unlink()
    elif how == "manifest-not-json":
        (folder / "manifest.json").write_text("{")
    elif how == "text-as-parquet":
        (folder / "annual.parquet").write_text("year,city\n2026,A\n")
    elif how == "wrong-column-type":
        q = pd.read_parquet(folder / "quarterly.parquet")
        q["emissions"] = q["emissions"].astype(str)
        q.to_parquet(folder / "quarterly.parquet")
    elif how == "no-province-rows":
        q = pd.read_parquet(folder / "quarterly.parquet")
        q[q.city != "province"].to_parquet(folder / "quarterly.parquet")
    else:  # pragma: no cover
        raise AssertionError(how)


DAMAGES = ["truncated-parquet", "empty-final-account", "final-account-list",
           "final-account-empty-period", "final-account-no-periods", "figures-is-a-file",
           "swapped-tables", "events-swapped-for-monitoring", "no-manifest", "no-events",
           "no-monitoring", "no-final-account", "manifest-not-json", "text-as-parquet",
           "wrong-column-type", "no-province-rows"]  # fmt: skip


@pytest.mark.parametrize("how", DAMAGES)
def test_plot_on_a_damaged_folder_is_one_line_and_writes_nothing(tmp_path, two_runs, how):
    folder = tmp_path / "r"
    write_run(two_runs[0], folder)
    _damage(folder, how)
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    rc, stdout, stderr = _main(["plot", str(folder)])
    assert rc == 2, stderr
    assert stderr.startswith("carbon-budget: error: ") and stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr and stdout == ""
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before


def test_plot_redraws_a_good_folder(tmp_path, two_runs):
    folder = tmp_path / "r"
    write_run(two_runs[0], folder)
    rc, stdout, err = _main(["plot", str(folder)])
    assert rc == 0, err
    png = folder / "figures" / "overview.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in (folder / "figures").iterdir()] == ["overview.png"]


# ------------------------------------------------------------ compare ----
@pytest.fixture(scope="module")
def chained_compare(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "c"
    rc, stdout, err = _main(["compare", "chained", "--regimes", "budget,traditional",
                             "--replicates", "2", "--seed", "3", "--out", str(out),
                             "--no-progress"])  # fmt: skip
    assert rc == 0, err
    return out, stdout


def test_compare_on_chained_has_rows_per_period(chained_compare):
    out, stdout = chained_compare
    runs = pd.read_csv(out / "compare_runs.csv")
    assert len(runs) == 2 * 2 * 2  # regimes x replicates x periods
    assert sorted(runs.period.unique()) == [0, 1]
    assert set(zip(runs.period, runs.start_year, runs.end_year, strict=True)) == {
        (0, 2026, 2030),
        (1, 2031, 2035),
    }
    for (_, _), g in runs.groupby(["regime", "replicate"]):
        assert sorted(g.period) == [0, 1] and g.seed.nunique() == 1
    summary = pd.read_csv(out / "compare_summary.csv")
    assert {"regime", "period", "start_year", "end_year", "measure", "mean"} <= set(summary.columns)
    assert (summary.groupby(["regime", "period"]).size() > 0).sum() == 4
    # the final-year share of restriction loss is undefined (NaN) in a run without any
    # restriction, and only there; every other measure is counted in both replicates
    share = summary.measure == "end_loadedness_restriction"
    assert (summary.n[~share] == 2).all()
    none = runs.restriction_gdp_loss_bn == 0
    assert (runs.end_loadedness_restriction.isna() == none).all()
    assert "period 2026-2030" in stdout and "period 2031-2035" in stdout
    assert (out / "compare.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_rows_match_the_runs(chained_compare, tmp_path):
    out, _ = chained_compare
    runs = pd.read_csv(out / "compare_runs.csv")
    row = runs[(runs.regime == "traditional") & (runs.replicate == 1)].sort_values("period")
    res = run(load_scenario("chained"), int(row.seed.iloc[0]), regime="traditional")
    for fa, (_, r) in zip(res.final_accounts, row.iterrows(), strict=True):
        assert r["composite"] == pytest.approx(fa["composite"])
        assert r["intensity_reduction"] == pytest.approx(fa["measures"]["intensity_reduction"])


def test_compare_out_resumes_the_same_comparison_and_refuses_another(tmp_path):
    out = tmp_path / "c"
    args = ["compare", "tiny", "--regimes", "budget", "--replicates", "2", "--no-progress"]
    rc, first, _ = _main([*args, "--out", str(out)])
    assert rc == 0
    runs = (out / "compare_runs.csv").read_bytes()
    assert {"spec.json", "design.parquet", "status.parquet", "results.parquet", "compare.png",
            "compare_runs.csv", "compare_summary.csv"} <= {p.name for p in out.iterdir()}  # fmt: skip
    rc, again, _ = _main([*args, "--out", str(out)])  # nothing left to run: same files
    assert rc == 0 and again == first and (out / "compare_runs.csv").read_bytes() == runs
    rc, stdout, err = _main([*args, "--seed", "1", "--out", str(out)])
    assert rc == 2 and stdout == "" and "--out" in err and "differs in: seed" in err, err
    assert err.count("\n") == 1  # one line, before any run
    assert (out / "compare_runs.csv").read_bytes() == runs
    assert not _leftovers(tmp_path)


def test_compare_in_worker_processes_gives_the_same_rows(tiny):
    from sim.compare import compare

    one = compare(tiny, ["budget", "none"], 2, root_seed=5, jobs=1)
    two = compare(tiny, ["budget", "none"], 2, root_seed=5, jobs=2)
    pd.testing.assert_frame_equal(one, two)
    assert list(one.period.unique()) == [0]
