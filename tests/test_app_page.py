"""The teaching page in a real headless Chromium (Playwright), served offline.

The browser is Debian's ``chromium`` (``make test`` installs it where apt is
available) or Playwright's own; a missing browser fails these tests, it never
skips them.  Every request the page makes is recorded and must go to the
local server.  Screenshots for the docs are written to ``$SCREENSHOTS_DIR``
(``make screenshots`` points it at docs/img) or a temporary folder.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from sim.app.session import control_params
from sim.labels import param_label, tr, unit_label
from sim.scenario import load_scenario

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
LOCAL = {"127.0.0.1", "localhost"}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 90_000


def chromium_path() -> str:
    """Debian's chromium, else Playwright's download; fail (never skip) without."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        own = p.chromium.executable_path
    if own and Path(own).is_file():
        return own
    pytest.fail(
        "no Chromium: run 'make test' (apt-get install chromium, or playwright install chromium)"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    games = tmp_path_factory.mktemp("games")
    port = _free_port()
    log = tmp_path_factory.mktemp("log") / "server.log"
    env = {**os.environ, "CARBON_BUDGET_GAMES": str(games), "CARBON_BUDGET_PLAY_INTERVAL": "1.5"}
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "sim", "app", "tiny", "--port", str(port)],
                                stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=ROOT)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail(f"the page server did not start:\n{log.read_text()}")
        time.sleep(0.5)
    yield {"url": url, "games": games, "log": log}
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    assert "Could not load URL" not in log.read_text(), (
        "the server fetched a front-end file from outside"
    )


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=chromium_path(), headless=True,
                                                   args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})  # fmt: skip
        ctx.set_default_timeout(TIMEOUT_MS)
        yield ctx
        ctx.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    d = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path_factory.mktemp("shots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


class Page:
    """The page open in one tab, with every request and failed response recorded."""

    def __init__(self, browser, url: str) -> None:
        self.p = browser.new_page()
        self.requests: list[str] = []
        self.failed: list[tuple[int, str]] = []
        self.p.on("request", lambda r: self.requests.append(r.url))
        self.p.on(
            "response", lambda r: self.failed.append((r.status, r.url)) if r.status >= 400 else None
        )
        self.p.goto(url)
        self.p.wait_for_selector(".cb-now")
        self.p.wait_for_selector("img.cb-progress")

    def now(self) -> str:
        return self.p.inner_text(".cb-now")

    def t(self) -> int:
        return int(re.search(r"t = (\d+)/", self.now()).group(1))

    def wait_t(self, t: int) -> None:
        self.p.wait_for_function(
            f"() => /t = {t}\\//.test(document.querySelector('.cb-now').innerText)"
        )

    def settle(self) -> None:
        """Wait until every chart shows the state the status line shows."""
        self.p.wait_for_function(  # the status line lists what each chart shows (class:key)
            "() => { const want = document.querySelector('.cb-now').dataset.charts.split(' ');"
            " const imgs = [...document.querySelectorAll('img.cb-chart')];"
            " return imgs.length === 5 &&"
            " imgs.every(i => want.includes(i.classList[1] + ':' + i.dataset.k)); }"
        )

    def _srcs(self) -> dict[str, str]:
        return self.p.evaluate(
            "() => Object.fromEntries([...document.querySelectorAll('img.cb-chart')]"
            ".map(i => [i.classList[1], i.getAttribute('src')]))"
        )

    def charts(self) -> dict[str, str]:
        """The chart images once the page has settled (the same for 0.4 s)."""
        self.settle()
        last = self._srcs()
        while True:
            self.p.wait_for_timeout(400)
            now = self._srcs()
            if now == last:
                return now
            last = now

    def wait_changed(self, before: dict[str, str], classes) -> dict[str, str]:
        """Wait until each chart in ``classes`` differs from ``before``."""
        for c in classes:
            self.p.wait_for_function(
                "([c, b]) => { const i = document.querySelector('img.' + c);"
                " return i && i.getAttribute('src') !== b; }",
                arg=[c, before[c]],
            )
        return self.charts()

    def wait_equal(self, want: dict[str, str]) -> None:
        self.p.wait_for_function(
            "(w) => Object.entries(w).every(([c, s]) =>"
            " (document.querySelector('img.' + c) || {}).getAttribute?.('src') === s)",
            arg=want,
        )

    def click(self, cls: str) -> None:
        self.p.click(f".{cls}")

    def step_years(self, n: int) -> None:
        for _ in range(n):
            t = self.t()
            self.click("cb-step-year")
            self.p.wait_for_function(
                f"() => !/t = {t}\\//.test(document.querySelector('.cb-now').innerText)"
            )

    def reset(self) -> None:
        self.click("cb-reset")
        self.wait_t(0)

    def select(self, label: str, option: str) -> None:
        """Choose ``option`` in the Vuetify select labelled ``label``."""
        field = self.p.locator(".v-select", has=self.p.locator("label", has_text=label)).first
        field.click()
        self.p.locator(".menuable__content__active .v-list-item", has_text=option).first.click()

    def outside(self) -> list[str]:
        hosts = [urlparse(u) for u in self.requests]
        return [
            u.geturl()
            for u in hosts
            if u.scheme not in ("data", "blob") and u.hostname not in LOCAL
        ]

    def close(self) -> None:
        self.p.close()


def test_page_offline_controls_match_table(server, browser, shots):
    pg = Page(browser, server["url"])
    try:
        assert pg.now().startswith("tiny") and pg.t() == 0
        # open every group of controls (lazy panels) and read what the page shows
        for header in pg.p.locator(".v-expansion-panel-header").all():
            if header.get_attribute("aria-expanded") != "true":
                header.click()
        pg.p.wait_for_timeout(500)
        want = [p for ps in control_params().values() for p in ps]
        tiny = load_scenario("tiny")
        controls = pg.p.locator(".cb-control")
        assert controls.count() == len(want)
        for i, p in enumerate(want):
            c = controls.nth(i)
            label = c.locator(".cb-param")  # the row's label, unit and bounds; its key as tooltip
            assert label.get_attribute("data-param") == label.get_attribute("title") == p.name
            text = label.inner_text()
            assert text.startswith(param_label(p.name, "en")) and unit_label(p.unit, "en") in text
            if p.low is not None:
                assert text.endswith(p.bounds_text), (p.name, text)
            slider = c.locator("[role=slider]")
            if slider.count():
                assert float(slider.get_attribute("aria-valuemin")) == pytest.approx(p.low), p.name
                assert float(slider.get_attribute("aria-valuemax")) == pytest.approx(p.high), p.name
                assert float(slider.get_attribute("aria-valuenow")) == pytest.approx(
                    tiny[p.name]
                ), p.name
        for key in (
            "plan.reserve_share",
            "accounts.rule",
            "monitoring.fast_noise",
            "trading.enabled",
        ):
            assert any(p.name == key for p in want), key
        assert not pg.outside(), pg.outside()
        assert not pg.failed, pg.failed
    finally:
        pg.close()


def test_step_play_reset(server, browser, shots):
    pg = Page(browser, server["url"])
    try:
        start = pg.charts()
        pg.click("cb-step-quarter")
        pg.wait_t(1)
        pg.step_years(1)
        assert pg.t() == 4
        pg.wait_changed(start, ["cb-intensity"])  # the first year is on the chart
        pg.click("cb-play")
        pg.p.wait_for_function(
            "() => +/t = (\\d+)\\//.exec(document.querySelector('.cb-now').innerText)[1] >= 22"
        )
        pg.click("cb-play")  # pause
        t_paused = pg.t()
        pg.p.wait_for_timeout(1000)
        assert pg.t() == t_paused < 36  # paused means paused
        played = pg.wait_changed(start, ["cb-barometer", "cb-progress", "cb-timeline", "cb-cost"])
        assert all(played[c] != start[c] for c in start)
        pg.p.screenshot(path=str(shots / "app_watch.png"), full_page=True)
        pg.reset()
        pg.wait_equal(start)  # reset restores the start, image for image
        # the language switch relabels the page in the seed paper's terms
        pg.p.locator(".cb-lang button").nth(1).click()
        pg.p.wait_for_selector("text=事件日志")
        pg.step_years(5)
        pg.p.screenshot(path=str(shots / "app_zh.png"), full_page=True)
        assert "推进一个季度" in pg.p.inner_text("body")
        pg.p.locator(".cb-lang button").nth(0).click()
        assert not pg.outside()
    finally:
        pg.close()


def test_changed_control_changes_run(server, browser):
    pg = Page(browser, server["url"])
    try:
        pg.reset()
        pg.step_years(6)
        base = pg.charts()
        # click a generated slider near its maximum: the run starts anew with that value
        ctl = pg.p.locator(
            ".cb-control", has=pg.p.locator(".cb-param[data-param='plan.reserve_share']")
        )
        if not ctl.count():
            pg.p.locator(".v-expansion-panel-header", has_text="Reserve").first.click()
        slider = ctl.locator(".v-slider").first
        before = float(ctl.locator("[role=slider]").get_attribute("aria-valuenow"))
        box = slider.bounding_box()
        slider.click(position={"x": box["width"] * 0.6, "y": box["height"] / 2})
        pg.wait_t(0)
        after = float(ctl.locator("[role=slider]").get_attribute("aria-valuenow"))
        assert after > before
        pg.step_years(6)
        pg.wait_changed(base, ["cb-barometer", "cb-progress"])
        # back to the table default: the same run as before (determinism through the page)
        pg.reset()
    finally:
        pg.close()


IDENTIFIER = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b|\b[a-z]+\.[a-z_.]+\b")  # snake_case, dotted keys
# Latin words a Chinese page may show: scenario and city names (scenario data),
# units and symbols, the language switch, Solara's footer
ZH_LATIN = {"tiny", "Mt", "Q", "t", "ms", "EN", "ZH", "This", "website", "runs", "on", "Solara"}


def _no_identifier(text: str, lg: str, where: str) -> None:
    names = [p.name for ps in control_params().values() for p in ps]
    assert not IDENTIFIER.findall(text), (lg, where, IDENTIFIER.findall(text)[:10])
    assert not [n for n in names if n in text], (lg, where)
    if lg == "zh":  # every glossary term (status, package, event kind, ...) in Chinese
        latin = (
            set(re.findall(r"[A-Za-z]+", text)) - ZH_LATIN - set(load_scenario("tiny").city_names)
        )
        assert not latin, (where, sorted(latin))


def test_page_shows_labels_not_identifiers(server, browser):
    """In both languages, every control, event kind, detail, status and package
    on the page is named by its label (sim/labels.py), never by its key."""
    pg = Page(browser, server["url"])
    try:
        pg.reset()
        pg.step_years(6)  # through two annual accounts: events of most kinds
        for i, lg in ((1, "zh"), (0, "en")):
            pg.p.locator(".cb-lang button").nth(i).click()
            pg.p.wait_for_selector(f"text={tr('event_log', lg)}")
            for header in pg.p.locator(".v-expansion-panel-header").all():
                if header.get_attribute("aria-expanded") != "true":
                    header.click()
            pg.p.wait_for_timeout(500)
            assert pg.p.locator(".cb-param").count() == sum(map(len, control_params().values()))
            _no_identifier(pg.p.inner_text("body"), lg, "watch")
        # play mode: the annual decision with the rule's suggestion, in Chinese
        pg.p.locator(".cb-lang button").nth(1).click()
        pg.p.wait_for_selector(f"text={tr('event_log', 'zh')}")
        pg.p.locator(".cb-mode button").nth(1).click()
        pg.wait_t(0)
        while True:
            pg.p.wait_for_function(  # settled: a decision to take, or a step to make
                "() => document.querySelector('.cb-decision') || "
                "!document.querySelector('.cb-step-year').disabled"
            )
            if pg.p.locator(".cb-decision").count():
                break
            pg.step_years(1)
        pg.p.wait_for_timeout(500)
        _no_identifier(pg.p.inner_text(".cb-decision"), "zh", "decision")
        _no_identifier(pg.p.inner_text("body"), "zh", "play")
        pg.p.locator(".cb-lang button").nth(0).click()
        pg.p.locator(".cb-mode button").nth(0).click()
        pg.wait_t(0)
    finally:
        pg.close()


def _composite(text: str) -> float:
    return float(re.search(r"\((?:Composite score|综合得分) ([\d.]+)\)", text).group(1))


def test_play_mode_choices_change_outcome_and_replay(server, browser, shots, tmp_path):
    pg = Page(browser, server["url"])
    try:
        pg.p.locator(".cb-mode button").nth(1).click()
        pg.wait_t(0)
        first = True
        while "Run finished" not in pg.now():
            pg.p.wait_for_function(  # the page has settled: a decision to take, or a step to make
                "() => document.querySelector('.cb-decision') || "
                "!document.querySelector('.cb-step-year').disabled || "
                "/Run finished/.test(document.querySelector('.cb-now').innerText)"
            )
            if "Run finished" in pg.now():
                break
            if pg.p.locator(".cb-decision").count():
                if first:
                    row = pg.p.locator(".cb-city-decision").nth(1)
                    change = row.locator(
                        ".v-input",
                        has=pg.p.locator("label", has_text="Change of remaining targets"),
                    ).locator("input")
                    change.fill("-3")
                    change.press("Enter")
                    pg.p.wait_for_timeout(300)
                    pg.p.screenshot(path=str(shots / "app_play.png"), full_page=True)
                    pg.click("cb-decide")
                    first = False
                else:
                    pg.click("cb-suggest")
                pg.p.wait_for_function("() => !document.querySelector('.cb-decision')")
                continue
            t = pg.t()
            pg.click("cb-step-year")
            pg.p.wait_for_function(
                f"() => !/t = {t}\\//.test(document.querySelector('.cb-now').innerText) "
                "|| document.querySelector('.cb-decision')"
            )
        assert not first, "no annual account asked for a decision"
        pg.p.wait_for_selector(".cb-mine")
        mine = _composite(pg.p.inner_text(".cb-mine"))
        rules = _composite(pg.p.inner_text(".cb-rules"))
        assert mine != rules  # a tighter target for one city changes the final account
        pg.p.screenshot(path=str(shots / "app_final.png"), full_page=True)
        for name in ("app_watch", "app_zh", "app_play", "app_final"):  # the docs' screenshots
            assert (shots / f"{name}.png").stat().st_size > 20_000, name
        pg.click("cb-save")
        pg.p.wait_for_selector(".cb-message")
        games = list(server["games"].iterdir())
        assert len(games) == 1
        game = json.loads((games[0] / "choices.json").read_text())
        assert game["seed"] == 0 and game["choices"]
        first_year = min(game["choices"], key=int)
        (city, choice), = game["choices"][first_year].items()  # fmt: skip
        assert choice == {"change": -3.0}
        # replay from the command line: the same final account as on the page
        out = tmp_path / "replay"
        r = subprocess.run([sys.executable, "-m", "sim", "run", str(games[0] / "scenario.toml"), "--seed", "0",
                            "--choices", str(games[0] / "choices.json"), "--out", str(out), "--no-plots"],
                           capture_output=True, text=True, cwd=ROOT)  # fmt: skip
        assert r.returncode == 0, r.stderr
        fa = json.loads((out / "final_account.json").read_text())["periods"][0]
        assert fa["composite"] == pytest.approx(mine, abs=0.05)
    finally:
        pg.close()


def _bench_reference(n_agents: int, n_steps: int) -> float:
    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    times = []
    for s in range(3):
        t0 = time.perf_counter()
        bench.bare_mesa(n_agents, n_steps, s)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def test_quarter_step_update_time_on_default(server, browser, capsys):
    """Measured and reported (not asserted): the time from clicking 'step a
    quarter' to the page showing the new quarter and redrawn charts, on
    `default`, as a ratio to the bare Mesa loop of `make bench`."""
    from sim.model import CarbonBudgetModel

    pg = Page(browser, server["url"])
    try:
        pg.select("Scenario", "default")
        pg.p.wait_for_function(
            "() => document.querySelector('.cb-now').innerText.startsWith('default')"
        )
        pg.step_years(4)  # into the plan period, where every chart moves
        times = []
        for _ in range(8):
            t = pg.t()
            before = pg.p.get_attribute("img.cb-progress", "src")
            t0 = time.perf_counter()
            pg.click("cb-step-quarter")
            pg.wait_t(t + 1)
            pg.p.wait_for_function(
                "(b) => document.querySelector('img.cb-progress').getAttribute('src') !== b",
                arg=before,
            )
            times.append(time.perf_counter() - t0)
        sc = load_scenario("default")
        ref = _bench_reference(sc["province.n_firms"], CarbonBudgetModel(sc, 0).T)
        med = statistics.median(times)
        with capsys.disabled():
            print(f"\n[page speed] default, step a quarter -> page updated: median {med * 1e3:.0f} ms over "
                  f"{len(times)} steps = {med / ref:.2f} x the bare Mesa loop ({ref * 1e3:.0f} ms)")  # fmt: skip
        assert len(times) == 8
    finally:
        pg.close()


@pytest.mark.parametrize("lg", ["en", "zh"])
def test_kept_figures_draw_the_same_charts_as_fresh_ones(lg):
    """The page updates each chart in place (only its data, on a cached
    background; for speed); every quarter, each chart is byte-for-byte the
    PNG a freshly built chart gives."""
    from sim.app import page as P
    from sim.app.session import Session

    P.lang.set(lg)
    try:
        kept, fresh = Session("tiny"), Session("tiny")
        n = 0
        while not kept.done:
            kept.step_quarter()
            fresh.step_quarter()
            fresh.cache = {}
            got, want = P.chart_sources(kept, lg), P.chart_sources(fresh, lg)
            assert got == want, f"t={kept.t}: {[c for c in got if got[c] != want[c]]}"
            n += 1
        assert n == kept.T and len(kept.cache["figures"]) == 5
    finally:
        P.lang.set("en")
