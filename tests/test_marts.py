"""Materialised marts: v_department_load and v_function_leads, refreshed per jurisdiction."""

import pytest

from warehouse.incremental import functions_frame
from warehouse import load as wh
from warehouse import marts

from conftest import RAW, SEEDS

DEVELOPMENT_LEADS = """SELECT jurisdiction, sum(items_led), sum(documents) FROM v_function_leads
                       WHERE function_zh = '发展改革' GROUP BY ALL ORDER BY 2 DESC"""


@pytest.fixture
def con(tmp_path, parsed_seeds):
    c = wh.connect(tmp_path / "w.duckdb")
    wh.load_functions(c, functions_frame())
    assert wh.load_documents(c, list(parsed_seeds.values())) == []
    yield c
    c.close()


def full_recompute(con, table):
    """The mart's rows computed from scratch, for comparison."""
    calc = marts.MARTS[table]
    return sorted(con.execute(f"SELECT * FROM {calc}((SELECT list(DISTINCT coalesce(jurisdiction, '')) "
                              "FROM documents))").fetchall(), key=str)


def rows(con, table):
    return sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=str)


def test_first_refresh_builds_every_jurisdiction(con):
    assert marts.refresh_marts(con) == ["丹江口市", "江夏区", "潜江市", "赤壁市"]


def test_function_leads_on_the_seeds(con):
    """The README's figures: 发展改革 leads 38 items in 潜江市 (two notices), 18, 17 and 8."""
    marts.refresh_marts(con)
    assert con.execute(DEVELOPMENT_LEADS).fetchall() == [
        ("潜江市", 38, 2), ("赤壁市", 18, 1), ("江夏区", 17, 1), ("丹江口市", 8, 1)]


def test_department_load_top_rows_on_the_seeds(con):
    marts.refresh_marts(con)
    assert con.execute("""SELECT jurisdiction, unit_name, sum(items_led), sum(items_co), sum(items_responsible),
                                 sum(items_overall_lead), sum(items_total), sum(documents)
                          FROM v_department_load GROUP BY ALL ORDER BY 3 DESC, unit_name LIMIT 3""").fetchall() == [
        ("潜江市", "市发展和改革委员会", 38, 9, 0, 0, 47, 2),
        ("潜江市", "市经济和信息化局", 21, 21, 0, 0, 42, 2),
        ("潜江市", "市农业农村局", 20, 13, 0, 0, 33, 2),
    ]


def test_department_load_is_split_by_notice_kind_and_year(con):
    """This year's load is one filter away: 潜江's five-year division (2021-2025) and its 2023 report."""
    marts.refresh_marts(con)
    assert con.execute("""SELECT doc_kind, period_year, items_led, items_co, items_total, documents
                          FROM v_department_load WHERE unit_name = '市发展和改革委员会' AND jurisdiction = '潜江市'
                          ORDER BY period_year""").fetchall() == [
        ("fyp", 2021, 31, 7, 38, 1),  # 31 items carry 牵头单位…市发改委 in the source
        ("gwr", 2023, 7, 2, 9, 1),
    ]


def test_merged_agency_counts_once_per_item_in_a_total_across_functions(con):
    """A merged agency leads under each of its functions (items_led), but items_led_share splits each
    item over the functions of its leads, so its sum over functions is the number of items led."""
    marts.refresh_marts(con)
    by_function = dict(con.execute("""SELECT jurisdiction, sum(items_led) FROM v_function_leads GROUP BY 1""").fetchall())
    shared = dict(con.execute("""SELECT jurisdiction, round(sum(items_led_share), 6) FROM v_function_leads
                                 GROUP BY 1""").fetchall())
    items = dict(con.execute("""SELECT d.jurisdiction, count(DISTINCT a.item_id) FROM assignments a
                                JOIN documents d USING (doc_id) JOIN units u USING (unit_id)
                                WHERE a.role = 'lead' AND len(u.functions) > 0 GROUP BY 1""").fetchall())
    assert shared == {j: float(n) for j, n in items.items()}
    assert all(by_function[j] > items[j] for j in items)  # merged agencies and multi-lead items


def test_nothing_changed_refreshes_nothing(con):
    marts.refresh_marts(con)
    assert marts.refresh_marts(con) == []


def test_reloaded_document_refreshes_only_its_jurisdiction(con, parsed_seeds):
    marts.refresh_marts(con)
    chibi = [d for d in parsed_seeds.values() if d.frames["documents"]["jurisdiction"][0] == "赤壁市"]
    assert wh.load_documents(con, chibi) == []  # a reload: new loaded_at
    assert marts.refresh_marts(con) == ["赤壁市"]
    for table in marts.MARTS:
        assert rows(con, table) == full_recompute(con, table)


def test_deleted_documents_leave_the_marts(con):
    marts.refresh_marts(con)
    doc_ids = [r[0] for r in con.execute("SELECT doc_id FROM documents WHERE jurisdiction = '潜江市'").fetchall()]
    wh.delete_documents(con, doc_ids)
    assert marts.refresh_marts(con) == ["潜江市"]
    assert con.execute("SELECT count(*) FROM v_department_load WHERE jurisdiction = '潜江市'").fetchone() == (0,)
    assert [r[0] for r in con.execute(DEVELOPMENT_LEADS).fetchall()] == ["赤壁市", "江夏区", "丹江口市"]


def test_changed_definition_rebuilds_everything(con, monkeypatch):
    marts.refresh_marts(con)
    monkeypatch.setattr(marts, "definitions_fingerprint", lambda con: "a-new-model")
    assert len(marts.refresh_marts(con)) == 4


def test_regression_marts_were_views_that_took_seconds_at_10k_notices(con):
    """v_department_load counted distinct items over every assignment at each query (1.9 s on the
    10,000-notice benchmark warehouse); it now reads a table refreshed at the end of a run."""
    marts.refresh_marts(con)
    sql = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'v_department_load'").fetchone()[0]
    assert "mart_department_load" in sql and "assignments" not in sql
    assert rows(con, "mart_department_load") == full_recompute(con, "mart_department_load")


def test_a_run_refreshes_the_marts(tmp_path, monkeypatch):
    from conftest import run_flow

    raw = tmp_path / "raw"
    raw.mkdir()
    for name in SEEDS:
        (raw / name).write_bytes((RAW / name).read_bytes())
    run_flow(raw_dir=str(raw), warehouse=str(tmp_path / "w.duckdb"), allow_outside_raw=True)
    c = wh.connect(tmp_path / "w.duckdb", read_only=True)
    try:
        assert c.execute(DEVELOPMENT_LEADS).fetchall()[0] == ("潜江市", 38, 2)
    finally:
        c.close()


def test_units_are_recomputed_only_where_named(con, parsed_seeds):
    marts.refresh_marts(con)
    chibi = [d for d in parsed_seeds.values() if d.frames["documents"]["jurisdiction"][0] == "赤壁市"]
    con.execute("UPDATE mart_units SET n_documents = -1 WHERE jurisdiction = '潜江市'")  # a marker
    assert wh.load_documents(con, chibi) == []
    marts.refresh_marts(con)
    assert con.execute("SELECT count(*) FROM mart_units WHERE jurisdiction = '潜江市' AND n_documents = -1"
                       ).fetchone()[0] > 0  # 潜江 untouched: no 赤壁 document names its units
    assert con.execute("SELECT count(*) FROM mart_units WHERE n_documents = -1 AND unit_id IN "
                       "(SELECT unit_id FROM doc_units JOIN documents d USING (doc_id) WHERE d.jurisdiction = '赤壁市')"
                       ).fetchone()[0] == 0


def test_units_of_a_deleted_document_leave_mart_units(con):
    marts.refresh_marts(con)
    doc_ids = [r[0] for r in con.execute("SELECT doc_id FROM documents WHERE jurisdiction = '赤壁市'").fetchall()]
    wh.delete_documents(con, doc_ids)
    marts.refresh_marts(con)
    assert sorted(con.execute("SELECT * FROM mart_units").fetchall(), key=str) == sorted(
        con.execute("SELECT * FROM calc_units").fetchall(), key=str)
    assert con.execute("SELECT count(*) FROM mart_units WHERE jurisdiction = '赤壁市'").fetchone() == (0,)


def test_regression_more_new_jurisdictions_than_known_ones_dropped_the_known(con, parsed_seeds):
    """The refresh rebuilt a mart whole from the stale jurisdictions when there were at least as
    many of them as known ones: one known jurisdiction, then a run adding three, lost the first."""
    for doc_id in [r[0] for r in con.execute("SELECT doc_id FROM documents WHERE jurisdiction <> '潜江市'").fetchall()]:
        wh.delete_documents(con, [doc_id])
    assert marts.refresh_marts(con) == ["潜江市"]
    others = [d for d in parsed_seeds.values() if d.frames["documents"]["jurisdiction"][0] != "潜江市"]
    assert wh.load_documents(con, others) == []
    assert marts.refresh_marts(con) == ["丹江口市", "江夏区", "赤壁市"]
    for table in marts.MARTS:
        assert rows(con, table) == full_recompute(con, table)
    assert rows(con, "mart_units") == sorted(con.execute("SELECT * FROM calc_units").fetchall(), key=str)


def test_a_refresh_in_chunks_of_one_jurisdiction_gives_the_same_rows(con, monkeypatch):
    monkeypatch.setattr(marts, "DOCS_PER_CHUNK", 1)  # each jurisdiction alone (one has two documents)
    assert list(marts.by_documents(con, ["丹江口市", "江夏区", "潜江市", "赤壁市"], 1)) == [
        (["丹江口市"], 1), (["江夏区"], 1), (["潜江市"], 2), (["赤壁市"], 1)]
    assert len(marts.refresh_marts(con)) == 4
    for table in marts.MARTS:
        assert rows(con, table) == full_recompute(con, table)


def test_readme_written_out_query_agrees_with_v_function_leads(con):
    import sys
    from conftest import ROOT

    sys.path.insert(0, str(ROOT / "bench"))
    import queries

    marts.refresh_marts(con)
    sql = next(sql for name, sql in queries.readme_queries() if name.startswith("assignments:"))
    written_out = con.execute(sql).fetchall()
    assert len(written_out) > 50
    assert sorted(written_out) == sorted(con.execute(
        "SELECT function_zh, jurisdiction, sum(items_led) FROM v_function_leads WHERE province = '湖北省' "
        "GROUP BY ALL").fetchall())


def test_regression_a_unit_given_a_function_elsewhere_left_other_jurisdictions_function_leads_stale(con):
    """The marts read units' merged functions: a document of another jurisdiction that gave a unit a
    new function changed the unit, and the jurisdictions that name it kept their old rows."""
    marts.refresh_marts(con)
    unit, functions = con.execute("""SELECT u.unit_id, u.functions FROM units u
        JOIN assignments a USING (unit_id) WHERE a.role = 'lead' AND u.jurisdiction = '潜江市'
        GROUP BY ALL ORDER BY count(*) DESC LIMIT 1""").fetchone()
    extra = con.execute("SELECT min(code) FROM functions WHERE NOT list_contains(?, code)", [functions]).fetchone()[0]
    doc = con.execute("SELECT doc_id FROM documents WHERE jurisdiction = '赤壁市'").fetchone()[0]
    con.execute("INSERT INTO doc_units BY NAME SELECT * REPLACE (? AS unit_id, ? AS functions) "
                "FROM doc_units WHERE doc_id = ? LIMIT 1", [unit, functions + [extra], doc])
    con.execute("UPDATE documents SET loaded_at = loaded_at + INTERVAL 1 SECOND WHERE doc_id = ?", [doc])
    assert marts.refresh_marts(con) == ["潜江市", "赤壁市"]
    for table in marts.MARTS:
        assert rows(con, table) == full_recompute(con, table)


def test_long_lists_filter_by_a_join_with_the_same_rows(con, parsed_seeds, monkeypatch):
    marts.refresh_marts(con)
    monkeypatch.setattr(marts, "among", lambda column, values: f"{column} IN (SELECT unnest(?))")
    chibi = [d for d in parsed_seeds.values() if d.frames["documents"]["jurisdiction"][0] == "赤壁市"]
    assert wh.load_documents(con, chibi) == []
    assert marts.refresh_marts(con) == ["赤壁市"]
    for table in marts.MARTS:
        assert rows(con, table) == full_recompute(con, table)


def test_a_refresh_of_a_few_listed_documents_gives_the_rows_of_the_join(con, parsed_seeds):
    """A refresh of up to SHORT_LIST documents passes their doc_ids to the macros (tested in the
    scan); full_recompute calls them without (the join with the documents): the same rows."""
    marts.refresh_marts(con)
    chibi = [d for d in parsed_seeds.values() if d.frames["documents"]["jurisdiction"][0] == "赤壁市"]
    assert wh.load_documents(con, chibi) == []
    assert marts.refresh_marts(con) == ["赤壁市"]
    for table, calc in marts.MARTS.items():
        listed = con.execute(f"SELECT * FROM {calc}(['赤壁市'], docs := (SELECT list(doc_id) FROM documents "
                             "WHERE jurisdiction = '赤壁市'))").fetchall()
        assert sorted(listed, key=str) == sorted(con.execute(f"SELECT * FROM {calc}(['赤壁市'])").fetchall(), key=str)
        assert len(listed) > 0
        assert rows(con, table) == full_recompute(con, table)


def test_a_refresh_of_more_documents_than_listed_joins_them_with_the_same_rows(con, monkeypatch):
    """More than SHORT_LIST documents in a chunk: the macros get no list and join the documents. A
    whole rebuild that way gives the rows of the listed way."""
    marts.refresh_marts(con)
    listed = {table: rows(con, table) for table in marts.MARTS}
    monkeypatch.setattr(marts, "SHORT_LIST", 0)
    con.execute("DELETE FROM mart_state")  # every jurisdiction stale: a whole rebuild
    assert marts.refresh_marts(con) == ["丹江口市", "江夏区", "潜江市", "赤壁市"]
    for table in marts.MARTS:
        assert listed[table] and rows(con, table) == listed[table]


def test_whole_units_rebuild_in_parts_gives_the_same_rows(con, monkeypatch):
    monkeypatch.setattr(marts, "UNITS_PER_CHUNK", 50)
    marts.refresh_marts(con)
    assert rows(con, "mart_units") == sorted(con.execute("SELECT * FROM calc_units").fetchall(), key=str)


def test_regression_a_part_of_the_units_mart_read_every_row_of_doc_units(con):
    """The whole units mart was built a part at a time by filtering the calc_units view on
    hash(unit_id), but DuckDB does not push that filter through the ordered aggregates: every part read
    and sorted all of doc_units, and a 50,000-notice rebuild ran out of its 256 MB. The macros filter
    inside the GROUP BY; their parts add up to the view, and a part fits in a few MB."""
    whole = sorted(con.execute("SELECT * FROM calc_units").fetchall())
    parts = sorted(r for i in range(3) for r in con.execute("SELECT * FROM calc_units_in(3, ?)", [i]).fetchall())
    assert parts == whole
    some = [u for (u,) in con.execute("SELECT unit_id FROM doc_units ORDER BY unit_id LIMIT 5").fetchall()]
    assert sorted(con.execute("SELECT * FROM calc_units_of(?)", [some]).fetchall()) == sorted(
        r for r in whole if r[0] in some)
    plan = con.execute("EXPLAIN SELECT * FROM calc_units_in(3, 1)").fetchall()[0][1]
    assert plan.index("hash(unit_id)") > plan.index("HASH_GROUP_BY")  # the filter is below the grouping
