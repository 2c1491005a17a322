"""``compare`` as an experiment (issue 10): the same numbers as running every
(regime, seed) directly, per plan period; failures recorded, not fatal; the
same command into the same folder resumes to the same files."""

from __future__ import annotations

import pandas as pd
import pytest

import sim.runner
from sim.cli import main
from sim.compare import compare, replicate_seeds, run_compare
from sim.runner import run
from sim.scenario import load_scenario

REGIMES = ["budget", "traditional", "none"]


def _expected(sc, regimes, replicates, root):
    """What the previous implementation computed: run(sc, seed, regime=r) with
    its counterfactual, one row per plan period, replicates outermost."""
    rows = []
    for rep, seed in enumerate(replicate_seeds(root, replicates)):
        for reg in regimes:
            res = run(sc, seed, regime=reg, counterfactual=True)
            for fa in res.final_accounts:
                row = {"regime": reg, "replicate": rep, "seed": seed, "period": fa["period"],
                       "start_year": fa["start_year"], "end_year": fa["end_year"],
                       "grade": fa["grade"], **fa["measures"]}  # fmt: skip
                row.update({f"score_{d}": v for d, v in fa["dimensions"].items()})
                row["composite"] = fa["composite"]
                rows.append(row)
    return pd.DataFrame(rows)


def test_tiny_gives_the_numbers_of_direct_runs(tiny):
    got = compare(tiny, REGIMES, 3, root_seed=7)
    want = _expected(tiny, REGIMES, 3, 7)
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_chained_has_one_row_per_period_with_the_direct_numbers():
    sc = load_scenario("chained")
    got = compare(sc, ["budget", "traditional"], 2, root_seed=3)
    want = _expected(sc, ["budget", "traditional"], 2, 3)
    assert sorted(got.period.unique()) == [0, 1] and len(got) == 2 * 2 * 2
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_a_failing_run_is_recorded_and_the_others_go_on(tiny, monkeypatch, tmp_path):
    seeds = replicate_seeds(0, 3)
    real = sim.runner.run

    def flaky(scenario, seed, **kw):
        if scenario["regime.name"] == "traditional" and seed == seeds[1]:
            raise RuntimeError("boom (test hook)")
        return real(scenario, seed, **kw)

    monkeypatch.setattr(sim.runner, "run", flaky)  # the serial worker calls sim.runner.run
    comp = run_compare(tiny, ["budget", "traditional"], 3, out=tmp_path / "c")
    assert comp.n_failed == 1
    f = comp.failed.iloc[0]
    assert (f["regime"], f["replicate"], f["seed"]) == ("traditional", 1, seeds[1])
    assert f["error"] == "RuntimeError: boom (test hook)"
    assert len(comp.runs) == 5 and len(comp.status) == 6
    assert not ((comp.runs.regime == "traditional") & (comp.runs.replicate == 1)).any()
    want = _expected(tiny, ["budget", "traditional"], 3, 0)
    want = want[~((want.regime == "traditional") & (want.replicate == 1))].reset_index(drop=True)
    pd.testing.assert_frame_equal(comp.runs, want, check_dtype=False)
    st = pd.read_parquet(tmp_path / "c" / "status.parquet")
    assert (st.status == "failed").sum() == 1


def test_cli_reports_failures_in_the_summary(monkeypatch, tmp_path, capsys):
    real = sim.runner.run

    def flaky(scenario, seed, **kw):
        if scenario["regime.name"] == "traditional":
            raise RuntimeError("boom")
        return real(scenario, seed, **kw)

    monkeypatch.setattr(sim.runner, "run", flaky)
    rc = main(
        ["compare", "tiny", "--replicates", "2", "--no-progress", "--out", str(tmp_path / "c")]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert "2 of 4 runs failed and are left out" in out and "RuntimeError: boom" in out
    summary = pd.read_csv(tmp_path / "c" / "compare_summary.csv")
    assert set(summary.regime) == {"budget"}
    assert summary.set_index("measure").loc["composite", "n"] == 2


def test_resume_after_an_interruption_gives_the_same_files(tiny, tmp_path, monkeypatch):
    import sim.experiment.sweep as sweep

    args = ["compare", "tiny", "--replicates", "3", "--seed", "4", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0

    real_execute = sweep.execute
    seen = {"n": 0}

    def interrupted(plan, executor, **kw):
        def stop(n):
            seen["n"] += n
            if seen["n"] >= 3:
                raise KeyboardInterrupt

        return real_execute(plan, executor, **{**kw, "on_records": stop, "flush_s": 0.0})

    monkeypatch.setattr(sweep, "execute", interrupted)
    assert main([*args, "--out", str(tmp_path / "cut")]) == 130
    monkeypatch.setattr(sweep, "execute", real_execute)
    cut = tmp_path / "cut"
    assert not (cut / "compare_runs.csv").exists()
    done = len(pd.concat(pd.read_parquet(p) for p in (cut / "parts").glob("*.parquet")))
    assert 3 <= done < 6
    calls = {"n": 0}

    def counting(scenario, seed, **kw):
        calls["n"] += 1
        return real(scenario, seed, **kw)

    real = sim.runner.run
    monkeypatch.setattr(sim.runner, "run", counting)
    assert main([*args, "--out", str(cut)]) == 0
    assert calls["n"] == 6 - done  # only the runs left
    for name in ("compare_runs.csv", "compare_summary.csv"):
        assert (cut / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


def test_temporary_store_is_removed(tiny, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    comp = run_compare(tiny, ["budget"], 1)
    assert comp.store is None and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kw, msg", [({"jobs": 0}, "jobs"), ({"executor": "nope"}, "executor"),
                                     ({"scheduler": "tcp://x:1"}, "scheduler")])  # fmt: skip
def test_bad_arguments_are_refused(tiny, kw, msg):
    with pytest.raises(ValueError, match=msg):
        run_compare(tiny, ["budget"], 1, **kw)


def test_counterfactual_once_per_replicate(tiny, monkeypatch):
    real = sim.runner.run_counterfactual
    seeds: list[int] = []

    def counting(scenario, seed=0):
        seeds.append(seed)
        return real(scenario, seed)

    monkeypatch.setattr(sim.runner, "run_counterfactual", counting)
    got = compare(tiny, REGIMES, 3, root_seed=2)
    assert sorted(seeds) == sorted(replicate_seeds(2, 3))  # not once per regime and seed
    pd.testing.assert_frame_equal(got, _expected(tiny, REGIMES, 3, 2), check_dtype=False)


def test_cli_scheduler_needs_dask(capsys):
    assert main(["compare", "tiny", "--scheduler", "tcp://localhost:1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--scheduler" in err


def test_resume_after_kill_9_gives_the_same_files(tmp_path):
    """A real SIGKILL of the command while it writes parts, then the same command."""
    import signal
    import subprocess
    import sys
    import time

    args = ["compare", "tiny", "--replicates", "120", "--seed", "8", "--no-progress"]
    cut = tmp_path / "cut"
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", *args, "--out", str(cut)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while not list((cut / "parts").glob("part-*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert not (cut / "compare_runs.csv").exists()
    stored = pd.concat(pd.read_parquet(p) for p in (cut / "parts").glob("part-*.parquet"))
    assert 0 < len(stored) < 240
    assert main([*args, "--out", str(cut)]) == 0
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    for name in ("compare_runs.csv", "compare_summary.csv"):
        assert (cut / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    st = pd.read_parquet(cut / "status.parquet")
    assert len(st) == 240 and (st.status == "ok").all()
