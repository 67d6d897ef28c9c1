"""`fengong report`: one self-contained page of charts, offline (warehouse/report.py)."""

import re
import shutil
import subprocess

import duckdb
import pytest

from flows.cli import main
from warehouse.report import followup_section

HOSTILE = "<script>alert(1)</script>市发改委"
# every 3rd item of 潜江's 2023 report linked to the plan item at the same position: 33 of the
# plan's 101 items (seq 3, 6, … 99) come back
LINKS = """
INSERT INTO task_links (jurisdiction, from_doc_id, from_item_id, to_doc_id, to_item_id, to_doc_kind, score, strength,
                        evidence, "rank")
SELECT '潜江市', g.doc_id, g.item_id, f.doc_id, f.item_id, 'fyp', 0.9, 'same', 'test', 1
FROM items g JOIN items f ON f.seq = g.seq AND g.seq % 3 = 0
WHERE g.doc_id = (SELECT doc_id FROM documents WHERE jurisdiction = '潜江市' AND doc_kind = 'gwr')
  AND f.doc_id = (SELECT doc_id FROM documents WHERE jurisdiction = '潜江市' AND doc_kind = 'fyp')
"""
REMOTE = re.compile(r"""(?:\b(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//)"""
                    r"""|url\(\s*["']?\s*(?:https?:)?//|@import|<script|<link\b|<iframe|<object""", re.I)


def build(tmp_path, seed_warehouse, *sql):
    """A copy of the seeds warehouse, changed by `sql`, and `fengong report` on it; the page's text."""
    (tmp_path / "warehouse").mkdir()
    path = tmp_path / "warehouse" / "fengong.duckdb"
    shutil.copy(seed_warehouse, path)
    con = duckdb.connect(str(path))
    for statement in sql:
        con.execute(statement)
    con.close()
    (tmp_path / "warehouse" / "quality").mkdir()
    (tmp_path / "warehouse" / "quality" / "index.html").write_text("<p>quality</p>", encoding="utf-8")
    out = tmp_path / "warehouse" / "report"
    assert main(["report", "--warehouse", str(path), "--out", str(out)]) == 0
    return (out / "index.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(tmp_path_factory, seed_warehouse):
    """A warehouse from before task links existed: no task_links table."""
    return build(tmp_path_factory.mktemp("report"), seed_warehouse, "DROP TABLE task_links")


@pytest.fixture(scope="module")
def seeds_page(tmp_path_factory, seed_warehouse):
    """The seeds as a run leaves them, task_links included."""
    return build(tmp_path_factory.mktemp("seeds"), seed_warehouse)


@pytest.fixture(scope="module")
def linked_page(tmp_path_factory, seed_warehouse):
    return build(tmp_path_factory.mktemp("linked"), seed_warehouse, "DELETE FROM task_links", LINKS,
                 f"UPDATE mart_department_load SET unit_name = '{HOSTILE}' "
                 "WHERE unit_name = '市发展和改革委员会' AND jurisdiction = '潜江市'")


def sections(html):
    return re.findall(r"<section id='s\d'><h2>(.*?)</h2>(.*?)</section>", html, re.S)


def test_the_page_holds_its_charts_as_inline_svg(page):
    got = [(title, body.count("<svg")) for title, body in sections(page)]
    assert got == [("Lead tasks by department and city", 1), ("Functions × cities", 1),
                   ("Indicator targets across cities and against the five-year target", 1),
                   ("How much of each five-year plan came back in annual reports", 0)]
    lead, functions, indicators, _ = [body for _, body in sections(page)]
    assert ">市发展和改革委员会</text>" in lead and ">潜江市</text>" in lead
    assert ">发展改革</text>" in functions and ">38</text>" in functions  # 潜江's lead items, both notices
    assert ">粮食产量/综合生产能力 (亿斤, absolute)</text>" in indicators and ">≥12</text>" in indicators


def test_the_page_fetches_nothing(page, linked_page):
    """No script, stylesheet, font, frame or image from anywhere: the SVGs' xmlns names are not fetched."""
    for html in (page, linked_page):
        assert REMOTE.findall(html) == []
        assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg",
                                                                 "http://www.w3.org/1999/xlink"}


def test_the_page_names_a_cjk_font_stack(page):
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    assert "svg text{font-family:'Noto Sans CJK SC'" in style and "'Microsoft YaHei'" in style


def test_without_task_links_the_followup_says_no_links_yet(page):
    *_, (_, followup) = sections(page)
    assert "<p class='empty'>no links yet: this warehouse has no task_links table" in followup


def test_an_empty_task_links_table_says_no_links_yet(seed_warehouse, tmp_path):
    copy = tmp_path / "w.duckdb"
    shutil.copy(seed_warehouse, copy)
    con = duckdb.connect(str(copy))
    con.execute("DELETE FROM task_links")
    section, totals = followup_section(con)
    con.close()
    assert (section.svg, section.empty, totals) == (None, "no links yet: task_links is empty", [])


def test_followup_chart_counts_the_plan_items_an_annual_report_links_to(linked_page):
    *_, (_, followup) = sections(linked_page)
    assert followup.count("<svg") == 1
    assert "<li>丹江口市 2021–2025 五年规划: no annual work report of the city from the plan's years is loaded</li>" in followup
    assert "<li>潜江市 2021–2025 五年规划: 33 of 101 items came back in the work report(s) of 2023</li>" in followup
    assert ">潜江市 2021–2025 五年规划</text>" in followup and ">14/31 (45%)</text>" in followup  # 发展改革


def test_the_seeds_own_links_fill_the_followup_chart(seeds_page, seed_warehouse):
    con = duckdb.connect(str(seed_warehouse), read_only=True)
    came_back = con.execute("""SELECT count(DISTINCT to_item_id) FROM task_links l JOIN documents d
                               ON d.doc_id = l.to_doc_id WHERE d.doc_kind = 'fyp'""").fetchone()[0]
    plan_items = con.execute("SELECT count(*) FROM items i JOIN documents d USING (doc_id) "
                             "WHERE d.jurisdiction = '潜江市' AND d.doc_kind = 'fyp'").fetchone()[0]
    con.close()
    *_, (_, followup) = sections(seeds_page)
    assert followup.count("<svg") == 1 and came_back > 0
    assert (f"<li>潜江市 2021–2025 五年规划: {came_back} of {plan_items} items came back in the work report(s) of "
            "2023</li>") in followup


def test_text_from_notices_is_escaped(linked_page):
    assert "<script>" not in linked_page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;市发改委" in linked_page


def test_the_page_links_the_quality_page_beside_it(page):
    assert "<a href='../quality/index.html'>Data quality (fengong quality)</a>" in page


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (apt-get install chromium)")
def test_the_page_renders_in_headless_chromium(seed_warehouse, tmp_path):
    """Chromium, offline, draws the page: the screenshot is not blank, and its lower half (the charts)
    holds ink too."""
    from PIL import Image

    build(tmp_path, seed_warehouse)
    shot = tmp_path / "page.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={shot}", "--window-size=1280,4000",
                    (tmp_path / "warehouse" / "report" / "index.html").as_uri()],
                   capture_output=True, timeout=120, check=True)
    image = Image.open(shot).convert("L")
    assert image.size == (1280, 4000)
    top, bottom = image.crop((0, 0, 1280, 2000)), image.crop((0, 2000, 1280, 4000))
    ink = [sum(top.histogram()[:200]) / (1280 * 2000), sum(bottom.histogram()[:200]) / (1280 * 2000)]
    assert all(share > 0.01 for share in ink), ink
