"""Running sweeps: the Ishigami pipeline against analytic Sobol indices, failed
runs, identical results across executors and worker counts, counterfactual
reuse, resume after a real SIGKILL, status, analysis refusals and plots."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from _helpers import ISHIGAMI

from sim import load_scenario
from sim.cli import main
from sim.experiment.store import Store
from sim.experiment.worker import ishigami_indices

SMALL = """name = "small"
scenario = "default"
replicates = 2
seed = 3
outputs = ["composite", "overshoot", "gdp_loss_share"]
series = ["emissions"]
[design]
method = "morris"
n = 2
[factors]
"monitoring.overrun_threshold" = [0.0, 0.08]
"monitoring.fast_lag_quarters" = [1, 2]
"accounts.rule" = ["fixed", "threshold"]
"""


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def results(out: Path) -> pd.DataFrame:
    """The stored results without the (machine-dependent) run durations."""
    return pd.read_parquet(out / "results.parquet").drop(columns="duration_s")


def test_ishigami_pipeline_matches_analytic_sobol_indices(tmp_path, capsys):
    spec = write(tmp_path, ISHIGAMI.format(reps=1, extra="", method="sobol", n=2048))
    out = tmp_path / "out"
    assert main(["experiment", "run", str(spec), "--out", str(out), "--executor", "serial", "--no-progress"]) == 0  # fmt: skip
    assert Store(out).counts() == {"total": 2048 * 5, "done": 2048 * 5, "failed": 0, "left": 0}
    assert main(["experiment", "analyze", str(out), "--resamples", "300"]) == 0
    idx = pd.read_csv(out / "analysis" / "indices.csv")
    truth = ishigami_indices()
    for ind in ("S1", "ST"):
        for f in ("x1", "x2", "x3"):
            r = idx[(idx.output == "y") & (idx.factor == f) & (idx["index"] == ind)].iloc[0]
            # the analytic value lies within the bootstrap interval (plus a hair)
            assert abs(r.value - truth[ind][f]) <= r.conf + 0.01, (ind, f, r.value, r.conf)
    conv = pd.read_csv(out / "analysis" / "convergence.csv")
    st1 = conv[(conv.output == "y") & (conv.factor == "x1") & (conv["index"] == "ST")].sort_values("n")  # fmt: skip
    assert st1.n.tolist() == [8, 16, 32, 64, 128, 256, 512, 1024, 2048]
    assert abs(st1.value.iloc[-1] - truth["ST"]["x1"]) < abs(st1.value.iloc[0] - truth["ST"]["x1"]) + 0.05  # fmt: skip
    for png in ("indices.png", "convergence.png"):
        assert (out / "analysis" / png).stat().st_size > 5000


def test_morris_and_fast_on_ishigami_rank_the_factors(tmp_path):
    from sim.analysis import analyze

    for method, n, key in (("morris", 40, "mu_star"), ("fast", 400, "ST")):
        spec = write(tmp_path, ISHIGAMI.format(reps=1, extra="", method=method, n=n), f"{method}.toml")  # fmt: skip
        out = tmp_path / method
        assert main(["experiment", "run", str(spec), "--out", str(out), "--executor", "serial", "--no-progress"]) == 0  # fmt: skip
        idx = analyze(out, resamples=100, plots=False).tables["indices"]
        v = idx[(idx.output == "y") & (idx["index"] == key)].set_index("factor")["value"]
        if method == "fast":  # eFAST total indices are close to the analytic ones
            truth = ishigami_indices()["ST"]
            assert all(abs(v[f] - truth[f]) < 0.08 for f in truth), v
        else:  # Morris: x3 acts only through its interaction with x1, x1 and x2 dominate
            assert v["x3"] < v["x1"] and v["x3"] < v["x2"]


def test_failed_runs_are_recorded_and_the_sweep_goes_on(tmp_path, capsys):
    spec = write(tmp_path, ISHIGAMI.format(reps=2, extra="model_options = { fail_above = 2.5 }", method="sobol", n=16))  # fmt: skip
    out = tmp_path / "out"
    assert main(["experiment", "run", str(spec), "--out", str(out), "--workers", "2", "--no-progress"]) == 0  # fmt: skip
    st = pd.read_parquet(out / "status.parquet")
    design = pd.read_parquet(out / "design.parquet")
    should_fail = set(design.loc[design.x1 > 2.5, "run_id"])
    assert should_fail and set(st.loc[st.status == "failed", "run_id"]) == should_fail
    assert len(st) == len(design) and (st.loc[st.status == "ok", "error"] == "").all()
    assert st.loc[st.status == "failed", "error"].str.contains("fail_above").all()
    capsys.readouterr()
    assert main(["experiment", "status", str(out), "--errors"]) == 0
    text = capsys.readouterr().out
    assert f"{len(design) - len(should_fail)} done, {len(should_fail)} failed, 0 left" in text
    # Sobol cannot take gaps: refused with a clear message, exit 2, other tables still written
    assert main(["experiment", "analyze", str(out), "--resamples", "50", "--no-plots"]) == 2
    text = capsys.readouterr().out
    assert "refused: sobol indices of y [all]" in text and "needs every row" in text
    assert f"{len(should_fail)} runs failed" in text
    assert (out / "analysis" / "failed.csv").is_file()
    assert len(pd.read_csv(out / "analysis" / "failed.csv")) == len(should_fail)


def test_identical_results_across_executors_and_workers(tmp_path):
    spec = write(tmp_path, SMALL)
    outs = {}
    for label, args in {"serial": ["--executor", "serial"],
                        "processes1": ["--executor", "processes", "--workers", "1"],
                        "processes2": ["--executor", "processes", "--workers", "2", "--chunk-size", "3"],
                        "dask2": ["--executor", "dask", "--workers", "2"]}.items():  # fmt: skip
        out = tmp_path / label
        assert (
            main(["experiment", "run", str(spec), "--out", str(out), "--no-progress", *args]) == 0
        )
        outs[label] = results(out)
    ref = outs.pop("serial")
    assert len(ref) == 2 * 3 * 2 * 2 and (ref.status == "ok").all()
    assert {"composite", "emissions@2030", "p0.composite"} & set(ref.columns) >= {"composite", "emissions@2030"}  # fmt: skip
    for label, df in outs.items():
        pd.testing.assert_frame_equal(df, ref, check_exact=True, obj=label)


def test_stored_runs_equal_direct_runs_with_their_own_counterfactual(tmp_path):
    from sim.runner import run

    text = SMALL.replace(
        '"accounts.rule" = ["fixed", "threshold"]', '"macro.sigma" = [0.001, 0.01]'
    )
    spec = write(tmp_path, text)
    out = tmp_path / "out"
    assert main(["experiment", "run", str(spec), "--out", str(out), "--executor", "serial", "--no-progress"]) == 0  # fmt: skip
    res = results(out)
    base = load_scenario("default")
    for rid in (0, 3, len(res) - 1):  # world factor varies: the counterfactual is per row
        r = res[res.run_id == rid].iloc[0]
        ov = {"monitoring.overrun_threshold": float(r["monitoring.overrun_threshold"]),
              "monitoring.fast_lag_quarters": int(r["monitoring.fast_lag_quarters"]),
              "macro.sigma": float(r["macro.sigma"])}  # fmt: skip
        direct = run(base.with_overrides(ov), int(r.seed), counterfactual=True).measures()
        for k in ("composite", "gdp_loss_share", "overshoot"):
            assert r[k] == direct[k], (rid, k)
    # only policy factors: one counterfactual per seed is reused, results unchanged
    spec2 = write(tmp_path, SMALL, "policy.toml")
    out2 = tmp_path / "out2"
    assert main(["experiment", "run", str(spec2), "--out", str(out2), "--executor", "serial", "--no-progress"]) == 0  # fmt: skip
    r = results(out2).iloc[-1]
    ov = {"monitoring.overrun_threshold": float(r["monitoring.overrun_threshold"]),
          "monitoring.fast_lag_quarters": int(r["monitoring.fast_lag_quarters"]),
          "accounts.rule": r["accounts.rule"]}  # fmt: skip
    direct = run(base.with_overrides(ov), int(r.seed), counterfactual=True)
    assert r["gdp_loss_share"] == direct.measures()["gdp_loss_share"]
    prov = direct.annual[direct.annual.city == "province"].set_index("year")
    assert r["emissions@2030"] == prov.loc[2030, "emissions"]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.is_file() else []


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.slow
def test_resume_after_sigkill_gives_identical_results(tmp_path):
    text = SMALL.replace(
        "n = 2", "n = 8"
    )  # 8 trajectories x 3 points x 2 levels x 2 replicates = 96
    spec = write(tmp_path, text)
    ref = tmp_path / "ref"
    assert main(["experiment", "run", str(spec), "--out", str(ref), "--executor", "serial", "--no-progress"]) == 0  # fmt: skip
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "sim", "experiment", "run", str(spec), "--out", str(out),
           "--workers", "2", "--chunk-size", "2", "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list((out / "parts").glob("part-*.parquet")) if (out / "parts").is_dir() else True:  # fmt: skip
            assert time.monotonic() < deadline and proc.poll() is None, "sweep ended before a part"
            time.sleep(0.05)
        children = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # the pool's workers notice that the sweep is gone and exit (no orphans)
    assert len(children) >= 2
    deadline = time.monotonic() + 30
    while any(_alive(c) for c in children):
        assert time.monotonic() < deadline, f"orphaned workers {[c for c in children if _alive(c)]}"
        time.sleep(0.2)
    counts = Store(out).counts()
    assert 0 < counts["done"] < counts["total"], counts
    assert not (out / "results.parquet").exists()
    # the same command resumes (here serially) and ends identical to the reference
    assert main(["experiment", "run", str(spec), "--out", str(out), "--executor", "serial", "--no-progress"]) == 0  # fmt: skip
    pd.testing.assert_frame_equal(results(out), results(ref), check_exact=True)
    sessions = Store(out).manifest()["sessions"]
    assert len(sessions) == 2 and sessions[1]["runs_left"] == counts["left"]
    # a finished sweep: the same command again runs nothing
    assert main(["experiment", "run", str(spec), "--out", str(out), "--no-progress"]) == 0
    assert len(Store(out).manifest()["sessions"]) == 2


def test_interrupt_stores_what_is_done_and_resumes(tmp_path):
    text = SMALL.replace("n = 2", "n = 16").replace("replicates = 2", "replicates = 4")  # 384 runs
    spec = write(tmp_path, text)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "sim", "experiment", "run", str(spec), "--out", str(out),
           "--workers", "2", "--no-progress"]  # fmt: skip
    # a shell running `make test` in the background ignores SIGINT, and children
    # inherit that: give the sweep the default disposition, as in a terminal
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    deadline = time.monotonic() + 120
    while not (out / "spec.json").is_file():  # the sweep has started
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err
    assert Store(out).counts()["left"] > 0
    assert main(["experiment", "run", str(spec), "--out", str(out), "--workers", "2", "--no-progress"]) == 0  # fmt: skip
    assert Store(out).counts() == {"total": 384, "done": 384, "failed": 0, "left": 0}


def test_analyze_levels_seed_variance_and_plot(tmp_path, capsys):
    spec = write(tmp_path, SMALL)
    out = tmp_path / "out"
    assert main(["experiment", "run", str(spec), "--out", str(out), "--executor", "serial", "--no-progress"]) == 0  # fmt: skip
    assert main(["experiment", "analyze", str(out), "--resamples", "50"]) == 0
    a = out / "analysis"
    lv = pd.read_parquet(a / "levels.parquet")
    assert set(lv.level) == {"fixed", "threshold"} and (lv[lv.output == "composite"].n == 12).all()
    row = lv[(lv.level == "fixed") & (lv.output == "composite")].iloc[0]
    res = results(out)
    vals = res[res["accounts.rule"] == "fixed"]["composite"]
    assert row["mean"] == pytest.approx(vals.mean()) and row.ci_low < row["mean"] < row.ci_high
    sv = pd.read_parquet(a / "seed_variance.parquet")
    assert set(sv.output) >= {"composite", "overshoot"}
    const = sv.ss_total == 0  # an output constant over the cell has no share
    assert sv.seed_share[const].isna().all() and sv.seed_share[~const].between(0, 1 + 1e-12).all()
    idx = pd.read_parquet(a / "indices.parquet")
    assert {"mu_star", "sigma"} <= set(idx["index"]) and idx.output.str.contains("emissions@2030").any()  # fmt: skip
    for f in ("indices-cell0.png", "indices-cell1.png", "levels-accounts.rule.png", "series.png"):
        (a / f).unlink()
    capsys.readouterr()
    assert main(["experiment", "plot", str(out)]) == 0
    assert (a / "levels-accounts.rule.png").is_file() and (a / "series.png").is_file()
    assert main(["experiment", "status", str(tmp_path)]) == 2
    assert "not an experiment folder" in capsys.readouterr().err


def test_seed_variance_is_the_within_row_share_of_the_sum_of_squares():
    from sim.analysis.summaries import seed_variance

    # two rows x two replicates: row means 1 and 5; within-row SS 0.5 + 2 = 2.5
    ok = pd.DataFrame({"cell": 0, "row": [0, 0, 1, 1], "y": [0.5, 1.5, 4.0, 6.0]})
    sv = seed_variance(ok, ["y"], {0: "all"}).iloc[0]
    total = ((ok.y - ok.y.mean()) ** 2).sum()  # 2.5 + 2 x 2 x 2^2 = 18.5
    assert sv.ss_within_rows == pytest.approx(2.5) and sv.ss_total == pytest.approx(total)
    assert sv.seed_share == pytest.approx(2.5 / 18.5)


def test_second_order_sobol_on_ishigami(tmp_path):
    from sim.analysis import analyze

    text = ISHIGAMI.format(reps=1, extra="", method="sobol", n=1024) + "\n"
    text = text.replace('method = "sobol"', 'method = "sobol"\nsecond_order = true')
    spec = write(tmp_path, text)
    out = tmp_path / "out"
    assert main(["experiment", "run", str(spec), "--out", str(out), "--executor", "serial", "--no-progress"]) == 0  # fmt: skip
    assert len(pd.read_parquet(out / "design.parquet")) == 1024 * (2 * 3 + 2)
    rep = analyze(out, resamples=200, plots=False)
    idx = rep.tables["indices"]
    s2 = idx[(idx.output == "y") & (idx["index"] == "S2")].set_index("factor")
    truth = ishigami_indices()["ST"]["x3"]  # x3 acts only with x1: S13 = ST3
    assert abs(s2.loc["x1:x3", "value"] - truth) <= s2.loc["x1:x3", "conf"] + 0.02
    assert abs(s2.loc["x1:x2", "value"]) <= s2.loc["x1:x2", "conf"] + 0.02
    conv = rep.tables["convergence"]
    assert set(conv["index"]) == {"S1", "ST"} and conv.n.max() == 1024


def test_dask_cluster_at_a_scheduler_address(tmp_path):
    import logging

    from distributed import LocalCluster

    spec = write(tmp_path, ISHIGAMI.format(reps=2, extra="model_options = { noise = 0.5 }", method="sobol", n=16))  # fmt: skip
    ref, out = tmp_path / "ref", tmp_path / "out"
    assert main(["experiment", "run", str(spec), "--out", str(ref), "--executor", "serial", "--no-progress"]) == 0  # fmt: skip
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:  # fmt: skip
        args = ["--executor", "dask", "--scheduler", cluster.scheduler_address, "--no-progress"]
        assert main(["experiment", "run", str(spec), "--out", str(out), *args]) == 0
    pd.testing.assert_frame_equal(results(out), results(ref), check_exact=True)
    session = Store(out).manifest()["sessions"][0]
    assert session["executor"] == "dask" and session["scheduler"].startswith("tcp://")
    assert session["workers"] == 2
