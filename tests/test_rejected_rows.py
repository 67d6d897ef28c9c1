"""Per-row acceptance: a row that fails a contract is set aside in rejected_rows, the rest of its notice loads."""

import json

import polars as pl
import pytest

from transforms.batch import SourceFile, parsed_batch
from validation.batch import validated_batch

from conftest import run_flow
from transforms import document
from validation.contracts import reject_rows, validate_frames
from warehouse import load as wh

NOTICE = """关于印发2024年潜江市《政府工作报告》重点工作责任分解的通知
潜江市人民政府办公室
一、重点工作
1.做强小龙虾产业。(牵头单位:市虾稻产业链专班;责任单位:市农业农村局)
2.办好龙虾节。(牵头单位:市商务局)
"""
WITH_LEADERS = """关于印发2024年潜江市《政府工作报告》重点工作责任分解的通知
潜江市人民政府办公室
一、主要指标
1.地区生产总值增长8%。(责任领导:王建国;牵头单位:市发改委;责任单位:市统计局)
二、重点工作
1.办好龙虾节。(责任领导:李明华;牵头单位:市商务局)
"""
REJECTED_COLUMNS = ("source_file", "frame", "row_no", "check_name", "column_name", "reason")


def bad_mention(monkeypatch):
    """The parser writes the co unit of item 1 as '镇' (one character: fails str_length(2, None))."""
    real = document.parse_text

    def parse(*a, **k):
        d = real(*a, **k)
        d.frames["assignments"] = d.frames["assignments"].with_columns(
            mention=pl.when(pl.col("mention") == "市农业农村局").then(pl.lit("镇")).otherwise(pl.col("mention")))
        return d

    monkeypatch.setattr(document, "parse_text", parse)


def parse_notice(tmp_path, text=NOTICE, name="notice.txt"):
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    return validated_batch(parsed_batch([SourceFile(f, name, f.read_bytes())], reviewed={}))


@pytest.fixture
def con(tmp_path):
    c = wh.connect(tmp_path / "w.duckdb")
    yield c
    c.close()


def rejected(con):
    return con.execute(f"SELECT {', '.join(REJECTED_COLUMNS)} FROM rejected_rows ORDER BY frame, row_no").fetchall()


def test_a_bad_mention_is_rejected_and_the_rest_of_the_notice_loads(tmp_path, con, monkeypatch):
    bad_mention(monkeypatch)
    result = parse_notice(tmp_path)
    assert result.quarantined == []
    assert wh.load_documents(con, result.parsed) == []
    assert rejected(con) == [
        ("notice.txt", "assignments", 1, "str_length(2, None)", "mention", "mention '镇' fails the check str_length(2, None)")]
    row = json.loads(con.execute('SELECT "row" FROM rejected_rows').fetchone()[0])
    assert (row["role"], row["mention"], row["written"], row["unit_id"]) == ("co", "镇", "市农业农村局", "潜江市:市农业农村局")
    assert con.execute("SELECT count(*) FROM items").fetchone()[0] == 2
    assert con.execute("SELECT role, mention FROM assignments ORDER BY char_start").fetchall() == [
        ("lead", "市虾稻产业链专班"), ("lead", "市商务局")]
    # the unit only the rejected mention named is not left behind in the document's units or aliases
    assert con.execute("SELECT unit_id FROM doc_units ORDER BY 1").fetchall() == [
        ("潜江市:市商务局",), ("潜江市:市虾稻产业链专班",)]
    assert con.execute("SELECT alias FROM doc_unit_aliases ORDER BY 1").fetchall() == [("市商务局",), ("市虾稻产业链专班",)]


def test_a_rejected_item_takes_its_assignments_leaders_and_indicators_with_it():
    frames = dict(document.parse_text(WITH_LEADERS, "n.txt", reviewed={}).frames)
    frames["items"] = frames["items"].with_columns(
        item_kind=pl.when(pl.col("item_kind") == "indicator").then(pl.lit("chore")).otherwise(pl.col("item_kind")))
    kept, out = reject_rows(frames, validate_frames(frames))
    assert out.select(REJECTED_COLUMNS).rows() == [
        ("n.txt", "items", 0, "isin(['indicator', 'target', 'task', 'project'])", "item_kind",
         "item_kind 'chore' fails the check isin(['indicator', 'target', 'task', 'project'])"),
        ("n.txt", "assignments", 0, "parent_rejected", "item_id", "its item was rejected"),
        ("n.txt", "assignments", 1, "parent_rejected", "item_id", "its item was rejected"),
        ("n.txt", "leaders", 0, "parent_rejected", "item_id", "its item was rejected"),
        ("n.txt", "indicators", 0, "parent_rejected", "item_id", "its item was rejected"),
    ]
    assert kept["items"]["item_no"].to_list() == ["1"] and kept["items"]["parent_nos"].to_list() == [["二"]]
    assert kept["assignments"]["mention"].to_list() == ["市商务局"]
    assert kept["leaders"]["name"].to_list() == ["李明华"]
    assert kept["indicators"].height == 0
    assert kept["units"]["unit_id"].to_list() == ["潜江市:市商务局"]
    assert validate_frames(kept) == []


def test_reloading_a_document_replaces_its_rejected_rows(tmp_path, con, monkeypatch):
    bad_mention(monkeypatch)
    docs = parse_notice(tmp_path).parsed
    wh.load_documents(con, docs)
    wh.load_documents(con, docs)
    assert [r[:4] for r in rejected(con)] == [("notice.txt", "assignments", 1, "str_length(2, None)")]


def test_pruning_a_retired_document_deletes_its_rejected_rows(tmp_path, con, monkeypatch):
    bad_mention(monkeypatch)
    wh.load_documents(con, parse_notice(tmp_path).parsed)
    wh.retire_missing(con, [])
    wh.prune_retired(con)
    assert rejected(con) == []


def test_a_failing_documents_row_quarantines_the_whole_notice(tmp_path, monkeypatch):
    real = document.parse_text

    def parse(*a, **k):
        d = real(*a, **k)
        d.frames["documents"] = d.frames["documents"].with_columns(doc_kind=pl.lit("memo"))
        return d

    monkeypatch.setattr(document, "parse_text", parse)
    result = parse_notice(tmp_path)
    assert result.parsed == []
    assert [(q["stage"], q["reason"]) for q in result.quarantined] == [
        ("validate", "notice.txt: documents: check 'isin(['fyp', 'gwr'])' failed on column doc_kind for 1 row(s), "
                     "e.g. memo")]


def test_a_run_counts_rejected_rows_and_strict_fails_on_them(tmp_path, monkeypatch):
    from flows.cli import strict_failures

    bad_mention(monkeypatch)
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "notice.txt").write_text(NOTICE, encoding="utf-8")
    summary, _ = run_flow(raw_dir=str(tmp_path / "raw"), warehouse=str(tmp_path / "w.duckdb"),
                             project_dir=str(tmp_path))
    assert (summary["loaded"], summary["quarantined"]) == (1, 0)
    assert (summary["rejected_rows"], summary["rejected_documents"], summary["error_issues"]) == (1, 1, 0)
    assert strict_failures(summary, "raw") == [
        "1 row(s) of 1 document(s) in raw failed a contract and were not loaded (see the rejected_rows table)"]
