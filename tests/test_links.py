"""Task links (transforms/links.py, warehouse/links.py, models/06_links.sql): the floor reached on the
hand-labelled 潜江 rows, and one behaviour per test on small frames written out here."""

import polars as pl
import pytest

from transforms import links as tl
from warehouse import load as wh
from warehouse import marts

from links_score import score, predict

QJ_FYP, QJ_GWR = "57225a0bcb70a32a", "56eedc90a4511d22"


def test_precision_and_recall_on_the_labelled_qianjiang_rows():
    """The floor reached on the rows the weights were chosen on (tests/links_score.py prints it per
    evidence kind): 63 links, 8 without a label, 41 of the 52 primary labels. The issue's goal is
    precision 0.85 and recall 0.80."""
    s = score(predict(), "fitted")
    assert s["precision"] >= 55 / 63
    assert s["recall"] >= 41 / 52


def test_precision_and_recall_on_the_held_out_qianjiang_rows():
    """The floor reached on the rows never used to choose a weight or a rule: 62 links, 9 without a
    label, 41 of the 63 primary labels."""
    s = score(predict(), "heldout")
    assert s["precision"] >= 53 / 62
    assert s["recall"] >= 41 / 63


# --- small frames -------------------------------------------------------------------------------

def docs(*rows):
    """(doc_id, jurisdiction, doc_kind, period_start, period_end)"""
    return pl.DataFrame([dict(doc_id=d, jurisdiction=j, doc_kind=k, period_start=s, period_end=e, period_year=s)
                         for d, j, k, s, e in rows])


def items(*rows):
    """(doc_id, item_id, item_kind, text[, heading])"""
    return pl.DataFrame([dict(doc_id=r[0], item_id=r[1], item_kind=r[2], text=r[3], char_start=k,
                              heading=r[4] if len(r) > 4 else None) for k, r in enumerate(rows)],
                        schema={"doc_id": pl.String, "item_id": pl.String, "item_kind": pl.String,
                                "text": pl.String, "char_start": pl.Int64, "heading": pl.String})


def leads(*rows):
    """(doc_id, item_id, unit_id)"""
    return pl.DataFrame([dict(doc_id=d, item_id=i, role="lead", unit_id=u, mention=u.split(":")[-1])
                         for d, i, u in rows],
                        schema={"doc_id": pl.String, "item_id": pl.String, "role": pl.String,
                                "unit_id": pl.String, "mention": pl.String})


UNITS = pl.DataFrame({"unit_id": ["甲市:市生态环境局", "甲市:市发改委", "乙市:市生态环境局"],
                      "name": ["市生态环境局", "市发改委", "市生态环境局"],
                      "functions": [["ecology_environment"], ["development_reform"], ["ecology_environment"]]})


def indicators(*rows):
    """(doc_id, item_id, metric, metric_code)"""
    return pl.DataFrame([dict(doc_id=d, item_id=i, metric=m, metric_code=c) for d, i, m, c in rows],
                        schema={"doc_id": pl.String, "item_id": pl.String, "metric": pl.String,
                                "metric_code": pl.String})


NO_INDICATORS = indicators()
NO_LEADS = leads()


def linked(links):
    return sorted(links.select("from_item_id", "to_item_id").iter_rows())


PLAN = ("plan", "甲市", "fyp", 2021, 2025)
# a plan has many items: how rare a name is among them is part of its weight
OTHER_PLAN_ITEMS = [("plan", "p3", "task", "建成高速公路,完善综合交通网络。"),
                    ("plan", "p4", "task", "新建学校,促进教育公平。"),
                    ("plan", "p5", "task", "完善医疗卫生服务,加强疾病预防控制。")]
ANNUAL = ("y2023", "甲市", "gwr", 2023, 2023)


def test_a_named_river_beats_generic_words():
    """The annual item shares 经济社会发展建设 with one plan item and 汉江 with the other: only the
    named river links (generic field words are cut out before any comparison)."""
    got = tl.task_links(
        docs(PLAN, ANNUAL),
        items(("plan", "p1", "task", "实施汉江禁渔,加强流域生态保护。"),
              ("plan", "p2", "task", "推进经济社会发展建设,全面提升发展质量。"),
              *OTHER_PLAN_ITEMS,
              ("y2023", "a1", "task", "推进经济社会发展建设,实施汉江禁渔。")),
        NO_LEADS, UNITS, NO_INDICATORS)
    assert linked(got) == [("a1", "p1")]
    assert "汉江" in got["evidence"][0]


def test_an_annual_target_links_the_plan_indicator_of_the_same_metric():
    got = tl.task_links(
        docs(PLAN, ANNUAL),
        items(("plan", "p1", "indicator", "地区生产总值年均增长7.5%。"),
              ("plan", "p2", "indicator", "社会消费品零售总额年均增长10%。"),
              ("y2023", "a1", "target", "地区生产总值增长7%左右。")),
        NO_LEADS, UNITS,
        indicators(("plan", "p1", "地区生产总值", "gdp_growth"), ("plan", "p2", "社会消费品零售总额", "retail_sales_growth"),
                   ("y2023", "a1", "地区生产总值", "gdp_growth")))
    assert linked(got) == [("a1", "p1")]
    assert got.row(0, named=True)["strength"] == "same"
    assert "metric gdp_growth" in got["evidence"][0]


def test_a_share_in_the_plan_and_an_amount_in_the_year_are_one_quantity():
    fams = tl.metric_families(["高新技术产业增加值占GDP比重"], ["high_tech_share_of_gdp"])
    assert fams == tl.metric_families(["力争高新技术产业增加值"], [None]) == {"high_tech_share_of_gdp"}


def test_a_sector_before_the_metric_is_another_quantity():
    assert tl.metric_families(["房地产业固定资产投资"], ["fixed_asset_investment_growth"]) == set()


def test_no_link_across_jurisdictions():
    """乙市's plan says word for word what 甲市's annual item says: not a target."""
    text = "实施汉江禁渔,加强流域生态保护。"
    got = tl.task_links(
        docs(PLAN, ANNUAL, ("other_plan", "乙市", "fyp", 2021, 2025)),
        items(("plan", "p1", "task", text), ("other_plan", "q1", "task", text), ("y2023", "a1", "task", text)),
        NO_LEADS, UNITS, NO_INDICATORS)
    assert linked(got) == [("a1", "p1")]


def test_a_plan_whose_period_ends_before_the_year_is_no_target():
    text = "实施汉江禁渔,加强流域生态保护。"
    got = tl.task_links(
        docs(("plan13", "甲市", "fyp", 2016, 2020), ANNUAL),
        items(("plan13", "p1", "task", text), ("y2023", "a1", "task", text)), NO_LEADS, UNITS, NO_INDICATORS)
    assert got.is_empty()


def test_the_previous_annual_notice_is_a_target_and_older_or_later_ones_are_not():
    text = "实施汉江禁渔,加强流域生态保护。"
    got = tl.task_links(
        docs(("y2022", "甲市", "gwr", 2022, 2022), ANNUAL, ("y2024", "甲市", "gwr", 2024, 2024)),
        items(("y2022", "b1", "task", text), ("y2023", "a1", "task", text), ("y2024", "c1", "task", text)),
        NO_LEADS, UNITS, NO_INDICATORS)
    assert sorted(got.select("from_item_id", "to_item_id", "to_doc_kind").iter_rows()) == [
        ("a1", "b1", "gwr"), ("c1", "a1", "gwr")]


def test_regression_pairs_grew_with_the_square_of_a_jurisdictions_annual_notices():
    """Every annual notice was paired with every earlier one: ten years of one city gave 45 pairs, and a
    10,000-notice rebuild spent over ten minutes linking. Now a year's notices pair with the plan and
    the previous year's notices: one pair per later year (two notices of 2019: both are targets of 2020,
    both pair with 2018)."""
    years = [("y%d" % y, "甲市", "gwr", y, y) for y in range(2016, 2026)] + [("y2019b", "甲市", "gwr", 2019, 2019)]
    pairs = tl.annual_targets(docs(*years))
    assert sorted(pairs.select("from_doc_id", "to_doc_id").iter_rows()) == sorted(
        [("y%d" % y, "y%d" % (y - 1)) for y in range(2017, 2026)] + [("y2020", "y2019b"), ("y2019b", "y2018")])

def evidence(*item_rows):
    """Every candidate pair's evidence between a1 (甲市 2023) and the plan items, by target item."""
    got = pl.concat(tl.pair_evidence(docs(PLAN, ANNUAL), items(*item_rows), NO_LEADS, UNITS, NO_INDICATORS))
    return {r["to_item_id"]: r for r in got.iter_rows(named=True)}


def test_a_short_form_shares_the_words_of_its_full_form():
    """国企 in the year, 国有企业 in the plan: written out beside each other, the texts share the words."""
    assert tl.expand_abbreviations("推动国企技改") == "推动国企 国有企业 技改 技术改造 "
    e = evidence(("plan", "p1", "task", "深化国有企业改革,完善现代企业制度。"),
                 ("plan", "p2", "task", "深化教育综合改革,推动学校布局调整。"), *OTHER_PLAN_ITEMS,
                 ("y2023", "a1", "task", "推动国企改革。"))
    assert e["p1"]["cosine"] > 0.5 > 0.3 > e["p2"]["cosine"]


def test_every_short_form_is_shorter_than_its_full_form_and_no_generic_word():
    r = tl.rules()
    assert r.abbreviations
    for short, full in r.abbreviations.items():
        assert len(short) < len(full.replace(" ", "")) and tl.clean_text(short) == short, short


def test_the_space_between_words_is_no_character_of_a_text():
    """Two texts with nothing in common but many cut-out generic words are not alike (char_wb pads
    each word with spaces: the space alone was a feature of every text)."""
    e = evidence(("plan", "p1", "task", "推进甲加快乙加强丙推动丁完善戊"), *OTHER_PLAN_ITEMS,
                 ("y2023", "a1", "task", "推进子加快丑加强寅推动卯完善辰"))
    assert e["p1"]["cosine"] == 0.0


def test_a_plan_task_is_compared_sentence_by_sentence():
    """The annual item restates the last of five sentences of p1; p2 shares some of its words. By the
    whole text p2 is nearly as close as p1 (the other four sentences dilute p1); by the closest
    sentence it is far behind."""
    e = evidence(("plan", "p1", "task", "完善医疗卫生服务。深化公立医院综合改革,健全现代医院管理制度。"
                  "发展中医药事业,完善中医医疗服务网络。加强药品安全监管,完善网络销售药品监管机制。加强疾病预防控制。"),
                 ("plan", "p2", "task", "加强疾病防治宣传,提升全民健康素养。"), *OTHER_PLAN_ITEMS[:2],
                 ("y2023", "a1", "task", "加强疾病预防控制。"))
    assert e["p1"]["e_tfidf"] == e["p1"]["e_sentence"] == 1.0
    assert e["p2"]["e_sentence"] < 0.3 < 0.7 < e["p2"]["e_tfidf"]


def test_the_major_project_section_heading_names_no_topic():
    """Regression: every major-project column sits under 重大工程项目分工, so an annual item about 项目
    (招商引资项目库) resembled every column's heading (heading 0.17 on 潜江 2023 row 90). Project words
    are cut out of headings like the generic words; a topical heading still counts."""
    e = evidence(("plan", "p1", "project", "水利基础设施重点项目(专栏8)", "重大工程项目分工"),
                 ("plan", "p2", "task", "完善投资项目库,优化投资环境。", "精准扩大有效投资"), *OTHER_PLAN_ITEMS,
                 ("y2023", "a1", "task", "建立招商引资项目库,扩大有效投资。"))
    assert e["p1"]["e_heading"] == 0.0
    assert e["p2"]["e_heading"] > 0.1


def test_a_shared_lead_unit_alone_makes_no_link():
    got = tl.task_links(
        docs(PLAN, ANNUAL),
        items(("plan", "p1", "task", "实施汉江禁渔,加强流域生态保护。"),
              ("y2023", "a1", "task", "开展城市体检,治理易涝点。")),
        leads(("plan", "p1", "甲市:市生态环境局"), ("y2023", "a1", "甲市:市生态环境局")), UNITS, NO_INDICATORS)
    assert got.is_empty()


def test_entities_are_quoted_terms_and_runs_ending_in_a_domain_suffix():
    assert tl.entities("推进兴隆及泽口灌区续建,实施汉江潜江段“十年禁渔”", frozenset({"潜江", "潜江市"})) == {
        "泽口灌区", "汉江", "十年禁渔", "汉江潜江"}


def test_generic_names_are_no_entities():
    assert tl.entities("推进重大项目建设,争创示范基地") == set()


def test_unit_cores():
    assert tl.unit_cores("市国资委") == {"国资"}
    assert tl.unit_cores("市水利和湖泊局") == {"水利", "湖泊"}


# --- the warehouse ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def con(tmp_path_factory, parsed_seeds):
    from warehouse.incremental import functions_frame

    c = wh.connect(tmp_path_factory.mktemp("links") / "w.duckdb")
    wh.load_functions(c, functions_frame())
    assert wh.load_documents(c, list(parsed_seeds.values())) == []
    marts.refresh_marts(c)
    yield c
    c.close()


def test_the_refresh_links_qianjiang_only(con):
    """Of the seeds only 潜江 has an annual notice and a plan covering its year."""
    assert con.execute("SELECT DISTINCT jurisdiction, from_doc_id, to_doc_id FROM task_links").fetchall() == [
        ("潜江市", QJ_GWR, QJ_FYP)]


def test_the_table_holds_what_transforms_links_finds(con):
    assert con.execute("SELECT count(*) FROM task_links").fetchone()[0] == predict().height


def test_the_inputs_of_many_documents_are_read_by_a_join_with_the_same_frames(con, monkeypatch):
    """More than SHORT_LIST documents are filtered by a subquery, not a constant list: the same frames."""
    from warehouse import links

    jurisdictions = [j for (j,) in con.execute("SELECT DISTINCT coalesce(jurisdiction, '') FROM documents").fetchall()]
    listed = links.link_inputs(con, jurisdictions)
    monkeypatch.setattr(marts, "SHORT_LIST", 0)
    joined = links.link_inputs(con, jurisdictions)
    for name, frame in listed.items():
        assert frame.height > 0, name
        assert frame.sort(frame.columns).equals(joined[name].sort(frame.columns)), name


def test_plan_followup_lists_every_plan_item_once(con):
    n_plan_items = con.execute("SELECT count(*) FROM items JOIN documents USING (doc_id) "
                               "WHERE doc_kind = 'fyp'").fetchone()[0]
    assert con.execute("SELECT count(*), count(DISTINCT item_id) FROM v_plan_followup").fetchone() == (
        n_plan_items, n_plan_items)


def test_plan_followup_of_the_ten_year_fishing_ban(con):
    """潜江's plan item 三/十/4 (汉江潜江段十年禁渔) came back in 2023 in row 8, led by 市生态环境局."""
    years, items_back, led_by, never = con.execute(
        "SELECT years, [x.item_id FOR x IN annual_items], led_by, never_seen_again FROM v_plan_followup "
        "WHERE item_id = ?", [f"{QJ_FYP}-0065"]).fetchone()
    assert years == [2023] and f"{QJ_GWR}-0008" in items_back and "市生态环境局" in led_by and not never


def test_indicator_track_puts_the_grain_targets_side_by_side(con):
    rows = con.execute("SELECT plan_value, plan_unit, annual_year, annual_value, annual_unit, linked "
                       "FROM v_indicator_track WHERE jurisdiction = '潜江市' AND metric_code = 'grain_output' "
                       "AND annual_unit = '亿斤'").fetchall()
    assert rows == [(12.0, "亿斤", 2023, 12.0, "亿斤", True)]


def test_a_deleted_annual_notice_takes_its_links_along(con):
    con.execute("BEGIN")
    try:
        wh.delete_documents(con, [QJ_GWR])
        con.execute("DELETE FROM documents WHERE doc_id = ?", [QJ_GWR])
        marts.refresh_marts(con)
        assert con.execute("SELECT count(*) FROM task_links").fetchone()[0] == 0
    finally:
        con.execute("ROLLBACK")


def test_a_warehouse_built_before_links_version_2_gains_the_sentence_column(tmp_path):
    path = tmp_path / "old.duckdb"
    c = wh.connect(path)
    c.execute("ALTER TABLE task_links DROP COLUMN e_sentence")
    c.execute("DROP TABLE schema_state")
    c.close()
    c = wh.connect(path)
    try:
        assert "e_sentence" in {r[0] for r in c.execute("DESCRIBE task_links").fetchall()}
    finally:
        c.close()


@pytest.mark.parametrize("text", ["实施汉江禁渔 加强流域生态保护", "  a  b\tc\n\nDE 国企 国有企业 ", "", "x", "AB  c"])
@pytest.mark.parametrize("ngram_range", [(1, 2), (1, 3), (2, 4)])
def test_the_n_grams_are_scikit_learns_char_wb_without_the_lone_space(text, ngram_range):
    from sklearn.feature_extraction.text import TfidfVectorizer

    theirs = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range).build_analyzer()
    assert sorted(tl._char_wb_grams(ngram_range)(text)) == sorted(g for g in theirs(text) if g.strip())


def test_a_budget_of_0_leaves_every_jurisdiction_pending_and_the_next_refresh_links_them(tmp_path, parsed_seeds):
    """Linking costs more than parsing: a run may stop after its budget (here 0 s) and leave the
    jurisdictions pending in links_state; the next refresh links them, and then nothing is pending."""
    from warehouse import links as wl
    from warehouse.incremental import functions_frame

    c = wh.connect(tmp_path / "w.duckdb")
    wh.load_functions(c, functions_frame())
    assert wh.load_documents(c, list(parsed_seeds.values())) == []
    marts.refresh_marts(c, links_budget_s=0)
    salt = marts.definitions_fingerprint(c)
    assert c.execute("SELECT count(*) FROM task_links").fetchone()[0] == 0
    assert wl.pending_jurisdictions(c, salt) == (["丹江口市", "江夏区", "潜江市", "赤壁市"], [])
    assert wl.refresh_task_links(c, salt, budget_s=None) == (4, 0)
    assert c.execute("SELECT count(*) FROM task_links").fetchone()[0] == predict().height
    assert wl.pending_jurisdictions(c, salt) == ([], [])
    c.close()


def test_a_budget_links_the_first_chunk_and_stops_when_the_time_per_document_says_the_next_would_overrun(
        tmp_path, parsed_seeds, monkeypatch):
    """Regression: at 50,000 notices the first chunk (50 jurisdictions, ~800 notices) took 137 s of
    a 60 s budget. Chunks are counted in documents now, and a chunk starts only if it is expected to
    end within the budget; the first always runs, so a run with any budget makes progress."""
    from warehouse import links as wl
    from warehouse.incremental import functions_frame

    monkeypatch.setattr(wl, "DOCS_PER_CHUNK", 1)  # one jurisdiction a chunk (潜江市 has two documents)
    c = wh.connect(tmp_path / "w.duckdb")
    wh.load_functions(c, functions_frame())
    assert wh.load_documents(c, list(parsed_seeds.values())) == []
    marts.refresh_marts(c, links_budget_s=0)
    salt = marts.definitions_fingerprint(c)
    assert wl.refresh_task_links(c, salt, budget_s=1e-9) == (1, 3)
    assert wl.pending_jurisdictions(c, salt) == (["江夏区", "潜江市", "赤壁市"], [])
    assert wl.refresh_task_links(c, salt, budget_s=3600) == (3, 0)
    assert c.execute("SELECT count(*) FROM task_links").fetchone()[0] == predict().height
    c.close()
