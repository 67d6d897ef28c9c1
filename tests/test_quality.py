"""The Great Expectations suite on the warehouse, and the report reviewers read."""

import shutil

import pytest

from validation.expectations import run_suite
from validation.report import failed_errors, write_reports
from warehouse import load as wh


@pytest.fixture
def warehouse(seed_warehouse, tmp_path):
    copy = tmp_path / "w.duckdb"
    shutil.copy(seed_warehouse, copy)
    con = wh.connect(copy)
    yield con
    con.close()


def outcome(results):
    return {(r.dataset, r.severity): r for r in results if not r.success}


def test_seeds_pass_with_only_the_real_quirks_as_warnings(warehouse, tmp_path):
    results, docs = run_suite(warehouse, tmp_path / "quality")
    failed = outcome(results)
    assert failed_errors(results) == []
    assert sorted(failed) == [("metric_unit_mismatches", "warning"), ("numbering", "warning"),
                              ("table_boundaries", "warning")]
    assert failed[("numbering", "warning")].examples == ["000_44ac6d9eff02a8d1.txt 三/五/3",
                                                        "004_e6966e7ac26a54e2.txt 三/一/1"]
    assert failed[("table_boundaries", "warning")].unexpected_count == 25
    # numbers whose clause names a metric they cannot be a value of: left without a code, listed
    assert [e.split(":")[0] for e in failed[("metric_unit_mismatches", "warning")].examples] == [
        "002_1c8cb5f34e52814e.txt 完成招商引资项目160个左右", "003_c26dbfc0c5ce5eed.txt 力争房地产业固定资产投资达50亿元",
        "003_c26dbfc0c5ce5eed.txt 力争高新技术产业增加值达170亿元以上", "004_e6966e7ac26a54e2.txt 引进投资亿元以上产业项目50个"]
    assert docs is not None and docs.exists()


def test_dangling_assignment_is_an_error(warehouse, tmp_path):
    warehouse.execute("DELETE FROM items WHERE item_id = (SELECT min(item_id) FROM items)")
    failed = outcome(run_suite(warehouse, tmp_path / "quality")[0])
    assert ("assignments", "error") in failed


def test_declared_count_mismatch_is_an_error(warehouse, tmp_path):
    warehouse.execute("DELETE FROM items WHERE item_id = (SELECT max(i.item_id) FROM items i JOIN documents d "
                      "USING (doc_id) WHERE d.jurisdiction = '江夏区' AND i.parent_nos[1] = '二')")
    failed = outcome(run_suite(warehouse, tmp_path / "quality")[0])
    assert failed[("declared_counts", "error")].examples == ["004_e6966e7ac26a54e2.txt 重点工作(共135项)"]


def test_low_resolution_share_is_an_error_and_names_are_listed(warehouse, tmp_path):
    warehouse.execute("UPDATE assignments SET resolved = false WHERE doc_id IN "
                      "(SELECT doc_id FROM documents WHERE jurisdiction = '丹江口市')")
    results, _ = run_suite(warehouse, tmp_path / "quality")
    failed = outcome(results)
    assert failed[("resolution", "error")].examples == ["001_4cf675e49e386814.txt"]
    md = write_reports(warehouse, results, None, tmp_path / "quality")[2]
    assert "**FAIL**" in md and "- 市发改局 ×" in md


def test_report_escapes_text_from_documents(warehouse, tmp_path):
    warehouse.execute("INSERT INTO quality_issues VALUES ((SELECT min(doc_id) FROM documents), NULL, 'warning', "
                      "'x', '<script>alert(1)</script>')")
    results, _ = run_suite(warehouse, tmp_path / "quality")
    _, html_path, md = write_reports(warehouse, results, None, tmp_path / "quality")
    page = html_path.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "| 000_44ac6d9eff02a8d1.txt | 潜江市 | fyp | 2021 | 101 |" in md


def test_percent_level_outside_0_100_is_an_error(warehouse, tmp_path):
    warehouse.execute("UPDATE indicators SET value = 163 WHERE metric_code = 'urbanisation_rate' AND value = 63")
    failed = outcome(run_suite(warehouse, tmp_path / "quality")[0])
    assert failed[("indicator_ranges_declared", "error")].examples == ["000_44ac6d9eff02a8d1.txt 常住人口城镇化率达到63%"]


def test_share_metric_in_yi_yuan_is_an_error(warehouse, tmp_path):
    """The tagging 高新技术产业增加值达170亿元 got before issue 15: a share of GDP holding 亿元."""
    warehouse.execute("UPDATE indicators SET metric_code = 'high_tech_share_of_gdp', basis = 'share_of_gdp' "
                      "WHERE target_text = '力争高新技术产业增加值达170亿元以上'")
    results, _ = run_suite(warehouse, tmp_path / "quality")
    example = "003_c26dbfc0c5ce5eed.txt 力争高新技术产业增加值达170亿元以上 [high_tech_share_of_gdp, 亿元, share_of_gdp]"
    failing = [(r.severity, r.about.split(":")[0].split(",")[0], r.examples) for r in results
               if r.dataset == "indicator_units" and not r.success]
    assert failing == [("error", "an indicator's metric_code admits its unit and basis (metrics.yaml)", [example]),
                       ("error", "a share of GDP is stated in % (or percentage points)", [example])]


def test_growth_metric_in_yi_yuan_is_an_error(warehouse, tmp_path):
    """The tagging 房地产业固定资产投资达50亿元 got before issue 15."""
    warehouse.execute("UPDATE indicators SET metric_code = 'fixed_asset_investment_growth', basis = 'level' "
                      "WHERE target_text = '力争房地产业固定资产投资达50亿元'")
    failed = outcome(run_suite(warehouse, tmp_path / "quality")[0])
    assert failed[("indicator_units", "error")].examples == [
        "003_c26dbfc0c5ce5eed.txt 力争房地产业固定资产投资达50亿元 [fixed_asset_investment_growth, 亿元, level]"]


HOSTILE_NOTICE = """关于印发2024年潜江市《政府工作报告》重点工作责任分解的通知<script>alert(1)</script>'; DROP TABLE items; --
潜江市人民政府办公室
一、重点工作
1.做强小龙虾产业。(牵头单位:市<script>alert(2)</script>专班;责任单位:市农业农村局)
2.办好龙虾节。(牵头单位:市商务局)
"""


def test_text_from_a_notice_is_stored_as_data_and_escaped_in_the_report(tmp_path):
    """A title and a unit name carrying HTML and SQL: stored verbatim, never executed, escaped in the page."""
    from conftest import run_flow

    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "hostile.txt").write_text(HOSTILE_NOTICE, encoding="utf-8")
    summary, _ = run_flow(raw_dir=str(tmp_path / "raw"), warehouse=str(tmp_path / "w.duckdb"),
                             project_dir=str(tmp_path))
    assert summary["loaded"] == 1
    con = wh.connect(tmp_path / "w.duckdb", read_only=True)
    assert con.execute("SELECT title FROM documents").fetchone()[0].endswith(
        "<script>alert(1)</script>'; DROP TABLE items; --")
    assert con.execute("SELECT count(*) FROM items").fetchone()[0] == 2
    assert con.execute("SELECT mention FROM assignments WHERE NOT resolved").fetchone()[0] == "市<script>alert(2)</script>专班"
    results, _ = run_suite(con, tmp_path / "quality")
    _, html_path, md = write_reports(con, results, None, tmp_path / "quality")
    con.close()
    page = html_path.read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "市&lt;script&gt;alert(2)&lt;/script&gt;专班" in page  # the unresolved name, listed and escaped


def test_report_lists_rejected_rows_and_error_level_issues_and_fails_on_them(warehouse, tmp_path):
    doc_id, name = warehouse.execute("SELECT doc_id, source_file FROM documents ORDER BY source_file LIMIT 1").fetchone()
    warehouse.execute("""INSERT INTO rejected_rows (doc_id, source_file, frame, row_no, check_name, column_name, "row", reason)
                         VALUES (?, ?, 'assignments', 7, 'str_length(2, None)', 'mention', '{"mention": "镇"}',
                                 'mention ''镇'' fails the check str_length(2, None)')""", [doc_id, name])
    warehouse.execute("INSERT INTO quality_issues VALUES (?, NULL, 'error', 'declared_count', "
                      "'二 declares 共9项 but 8 items were parsed')", [doc_id])
    results, _ = run_suite(warehouse, tmp_path / "quality")
    failed = outcome(results)
    assert failed[("rejected_rows", "error")].unexpected_count == 1
    assert failed[("error_findings", "error")].unexpected_count == 1
    md = write_reports(warehouse, results, None, tmp_path / "quality")[2]
    assert ("- assignments **str_length(2, None)** ×1 in 1 document(s): "
            "000_44ac6d9eff02a8d1.txt: mention '镇' fails the check str_length(2, None)") in md
    assert "- 000_44ac6d9eff02a8d1.txt: **declared_count**: 二 declares 共9项 but 8 items were parsed" in md
    assert "| 000_44ac6d9eff02a8d1.txt | 潜江市 | fyp | 2021 | 101 | 375 | 100.0% | 1 | 1 | 1 |" in md
