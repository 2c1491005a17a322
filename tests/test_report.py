"""The five-year final account report: both languages, self-contained HTML
with the figures embedded and beside it, the grade in the seed paper's terms,
no untranslated label in Chinese, and clear errors for bad input."""

from __future__ import annotations

import base64
import re

import pytest

from sim.cli import main
from sim.labels import LABELS, event_label, tr
from sim.report import write_report
from sim.report.figures import use_language
from sim.runner import write_run

ZH_GRADES = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}


@pytest.fixture(scope="module")
def run_dir(tiny_run, tmp_path_factory):
    return write_run(tiny_run, tmp_path_factory.mktemp("run") / "tiny")


def test_every_label_has_both_languages():
    for key, (en, zh) in LABELS.items():
        assert en.strip() and zh.strip(), key
        assert re.search(r"[\u4e00-\u9fff]", zh), f"{key}: no Chinese in {zh!r}"
    assert tr("fail", "zh") == "不合格"
    assert event_label("trade", "zh") == "碳预算指标交易"
    assert event_label("some_new_kind", "zh") == "其他（some_new_kind）"
    with pytest.raises(ValueError, match="lang"):
        tr("fail", "fr")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_for_tiny(run_dir, tiny_run, lang):
    path = write_report(run_dir, lang)
    text = path.read_text(encoding="utf-8")
    fa = tiny_run.final_account
    grade = ZH_GRADES[fa["grade"]] if lang == "zh" else fa["grade"]
    assert f"{tr('grade', lang)}: {grade} ({tr('composite', lang)} {fa['composite']:.1f})" in text
    # self-contained: nothing fetched, every figure embedded and also written beside the file
    assert not re.search(r"(src|href)=\"(https?:)?//", text)
    pngs = sorted(run_dir.glob(f"report_{lang}_*.png"))
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(pngs) == len(embedded) >= 7
    assert {p.read_bytes() for p in pngs} == {base64.b64decode(e) for e in embedded}
    # the sections of the five-year account and the assumptions
    for key in ("sec_summary", "sec_by_city", "sec_by_sector", "sec_annual", "sec_causes",
                "sec_quality", "sec_barometer", "sec_events", "sec_assumptions"):  # fmt: skip
        assert tr(key, lang) in text, key
    for city in tiny_run.scenario.city_names:
        assert city in text
    assert f"{tr('assump_seed', lang)}</td><td>7<" in text
    assert f"{fa['dimensions']['rationality']:.1f}" in text


def test_chinese_report_has_no_english_label(run_dir):
    text = write_report(run_dir, "zh").read_text(encoding="utf-8")
    body = re.sub(r"<[^>]+>|data:image/png;base64,[^\"]+", " ", text)
    for key, (en, _zh) in LABELS.items():
        if len(en) > 6 and " " in en:  # phrases, not symbols such as "Mt CO2"
            assert en not in body, key
    assert use_language("zh")["font.sans-serif"][0]  # a CJK font is installed (make test does it)


def test_quality_table_names_measures_and_stages_by_label(run_dir):
    from sim.stages.final_account import STAGES, SUBSCORES

    names = {n for v in SUBSCORES.values() for n, *_ in v} | {n for v in STAGES.values() for n in v}
    fa = __import__("json").loads((run_dir / "final_account.json").read_text())["periods"][0]
    for lang in ("en", "zh"):
        body = re.sub(
            r"<[^>]+>|data:image/png;base64,[^\"]+",
            " ",
            write_report(run_dir, lang).read_text(encoding="utf-8"),
        )
        for n in names:  # every sub-measure by its label, never by its identifier
            assert tr(f"m_{n}", lang) in body, (lang, n)
            assert not re.search(rf"\b{n}\b", body), (lang, n)
        for s in STAGES:  # the stage indicators, with their scores
            assert f"{tr(f'stage_{s}', lang)} {fa['measures'][f'stage_{s}']:.1f}" in re.sub(
                r"\s+", " ", body
            ), (lang, s)


def test_report_cli_and_bad_input(run_dir, tmp_path, capsys):
    out = tmp_path / "r" / "zh.html"
    assert main(["report", str(run_dir), "--lang", "zh", "--out", str(out)]) == 0
    assert out.is_file() and (out.parent / "zh_barometer.png").is_file()
    assert "wrote" in capsys.readouterr().out
    assert main(["report", str(run_dir), "--lang", "fr", "--out", str(tmp_path / "x.html")]) == 2
    assert "--lang: 'fr' is not one of en, zh" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()
    assert main(["report", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_sector_accounting_in_run_folder_and_report(run_dir, tiny_run, tmp_path):
    import json
    import shutil

    import pandas as pd

    from sim.runner import SECTOR_NAMES

    s = pd.read_parquet(run_dir / "sectors.parquet")
    assert "sectors.parquet" in json.loads((run_dir / "manifest.json").read_text())["files"]
    assert list(dict.fromkeys(s.sector)) == list(SECTOR_NAMES)
    # the sectors add up to the annual table, city by city and year by year
    tot = s.groupby(["year", "city"], sort=False)[["emissions", "gdp"]].sum().reset_index()
    m = tiny_run.annual.merge(tot, on=["year", "city"], suffixes=("", "_s"))
    assert len(m) == len(tiny_run.annual)
    assert (m.emissions - m.emissions_s).abs().max() < 1e-9
    assert (m.gdp - m.gdp_s).abs().max() < 1e-9
    fa = tiny_run.final_account
    per = s[(s.city == "province") & s.year.between(fa["start_year"], fa["end_year"])]
    steel = per[per.sector == "steel"].emissions.sum()
    for lang in ("en", "zh"):
        body = re.sub(r"(<[^>]+>)+", "|", write_report(run_dir, lang).read_text(encoding="utf-8"))
        sec = body[body.index(tr("sec_by_sector", lang)) : body.index(tr("sec_annual", lang))]
        for name in SECTOR_NAMES:  # every sector by its translated name, never its identifier
            assert f"|{tr(f'sector_{name}', lang)}|" in sec, (lang, name)
        assert f"|{tr('sector_steel', lang)}|{steel:.1f}|" in sec
        assert not re.search(r"\b(other_industry|chemicals|cement)\b", sec if lang == "zh" else "")
        assert tr("sector_not_recorded", lang) not in body
    # a run folder written before sectors.parquet existed: the report still works and says so
    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    (old / "sectors.parquet").unlink()
    for lang in ("en", "zh"):
        text = write_report(old, lang).read_text(encoding="utf-8")
        assert tr("sector_not_recorded", lang) in text
        assert tr("key_firms", lang) in text and tr("sector_steel", lang) not in text


def test_events_table_keeps_the_provinces_decisions_before_rejections():
    # 70 project rejections in 2026 and the steering's decisions in 2029-2030: the table
    # (at most MAX_EVENTS rows) lists every decision and fills the rest with rejections
    import pandas as pd

    from sim.report.html import MAX_EVENTS, _events

    rows = [dict(t=16, year=2026, quarter=1, kind="project_rejected", city="A", amount=0.1,
                 value=1.0) for _ in range(70)]  # fmt: skip
    rows += [dict(t=28, year=2029, quarter=1, kind="steering", city="province", amount=5.0,
                  value=250.0),
             dict(t=33, year=2030, quarter=2, kind="steering_restriction", city="province",
                  amount=3.0, value=0.04)]  # fmt: skip
    html = _events(pd.DataFrame(rows), {"start_year": 2026, "end_year": 2030}, "en")
    assert event_label("steering", "en") in html
    assert event_label("steering_restriction", "en") in html
    assert html.count(event_label("project_rejected", "en")) == MAX_EVENTS - 2
    # in time order: the rejections of 2026 come first
    assert html.index(event_label("project_rejected", "en")) < html.index(
        event_label("steering", "en")
    )
