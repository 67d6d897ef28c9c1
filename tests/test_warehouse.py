"""Loading: idempotent, atomic per document, bad documents quarantined without stopping others."""

import re
from pathlib import Path

import duckdb
import pytest

from transforms.batch import SourceFile, parsed_batch
from validation.batch import concat_frames, validated_batch
from warehouse import inbox
from warehouse import load as wh

from conftest import RAW, SEEDS, fail_after

TABLES = ("documents", "items", "assignments", "leaders", "sections", "quality_issues", "doc_units")


def counts(con):
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def per_doc(con, table):
    return dict(con.execute(f"SELECT doc_id, count(*) FROM {table} GROUP BY doc_id").fetchall())


@pytest.fixture
def con(tmp_path):
    c = wh.connect(tmp_path / "w.duckdb")
    yield c
    c.close()


def load_files(con, tmp_raw: Path):
    files = inbox.read_files(inbox.discover(tmp_raw), tmp_raw)
    result = validated_batch(parsed_batch(files, reviewed={}))
    failed = wh.load_documents(con, result.parsed)
    return result, failed


@pytest.fixture
def tmp_raw(tmp_path):
    d = tmp_path / "raw"
    d.mkdir()
    for name in SEEDS:
        (d / name).write_bytes((RAW / name).read_bytes())
    return d


def test_seed_counts_are_loaded(con, parsed_seeds):
    assert wh.load_documents(con, list(parsed_seeds.values())) == []
    assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 5
    assert con.execute("SELECT count(*) FROM items").fetchone()[0] == 101 + 53 + 124 + 136 + 139


def test_loading_twice_changes_nothing(con, parsed_seeds):
    wh.load_documents(con, list(parsed_seeds.values()))
    before = counts(con)
    wh.load_documents(con, list(parsed_seeds.values()))
    assert counts(con) == before


def test_changed_document_replaces_only_its_rows(con, tmp_raw):
    load_files(con, tmp_raw)
    items_before = per_doc(con, "items")
    target = tmp_raw / SEEDS[1]
    text = target.read_text(encoding="utf-8")
    cut = text.index("5.切实优化营商环境")  # drop the last task of 丹江口
    target.write_text(text[:cut] + text[text.index("四、工作要求"):], encoding="utf-8")
    load_files(con, tmp_raw)
    items_after = per_doc(con, "items")
    old_id = next(k for k in items_before if k not in items_after)
    new_id = next(k for k in items_after if k not in items_before)
    assert items_after[new_id] == items_before[old_id] - 1
    assert {k: v for k, v in items_after.items() if k != new_id} == {
        k: v for k, v in items_before.items() if k != old_id}
    assert con.execute("SELECT count(*) FROM documents WHERE source_file = ?", [SEEDS[1]]).fetchone()[0] == 1


def test_failure_part_way_leaves_the_warehouse_as_it_was(con, parsed_seeds, monkeypatch):
    docs = list(parsed_seeds.values())
    wh.load_documents(con, docs)
    before = counts(con)
    fail_after(monkeypatch, wh, "_insert_frames", duckdb.ConstraintException("simulated, after the rows were written"))
    failed = wh.load_documents(con, docs)
    assert len(failed) == 5 and "rolled back" in failed[0][1]
    assert counts(con) == before


def test_bad_document_is_quarantined_and_the_others_load(con, tmp_raw):
    (tmp_raw / "empty.txt").write_bytes(b"")
    (tmp_raw / "binary.txt").write_bytes(b"%PDF-1.4\x00\x01\x02")
    (tmp_raw / "no_items.txt").write_text("关于做好安全生产工作的通知\n各单位:请认真落实。\n", encoding="utf-8")
    result, failed = load_files(con, tmp_raw)
    assert failed == []
    assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 5
    reasons = {q["source_file"]: (q["stage"], q["reason"]) for q in result.quarantined}
    assert reasons == {
        "binary.txt": ("decode", "cannot read binary.txt: the file is a PDF file, not a text notice; fengong reads "
                                 ".txt, .html, .docx, .pdf, .xlsx, .xls and .ods by their suffix (name the file by "
                                 "what it is, or convert it)"),
        "empty.txt": ("decode", "cannot read empty.txt: the file is empty"),
        "no_items.txt": ("parse", "no_items.txt: no numbered items with responsible units "
                                  "(牵头单位/责任单位 or a unit table) were found"),
    }


def test_rows_failing_a_contract_are_set_aside_and_the_notice_is_kept(parsed_seeds, monkeypatch):
    import polars as pl
    from transforms import document

    real = document.parse_text

    def broken(*a, **k):
        d = real(*a, **k)
        d.frames["items"] = d.frames["items"].with_columns(pl.col("char_end").cast(pl.Int64) + 10**7)
        return d

    monkeypatch.setattr(document, "parse_text", broken)
    files = [SourceFile(RAW / SEEDS[0], SEEDS[0], (RAW / SEEDS[0]).read_bytes())]
    result = validated_batch(parsed_batch(files, reviewed={}))
    assert result.quarantined == []
    (doc,) = result.parsed
    per_check = doc.frames["rejected_rows"].group_by("frame", "check_name").len().sort("frame", "check_name").rows()
    assert per_check == [("assignments", "parent_rejected", 375), ("indicators", "parent_rejected", 26),
                         ("items", "inside_document", 101), ("items", "inside_parent", 101)]
    assert doc.frames["items"].height == 0


def test_gbk_file_parses(tmp_path):
    text = (RAW / SEEDS[2]).read_text(encoding="utf-8")
    f = SourceFile(tmp_path / "gbk.txt", "gbk.txt", text.encode("gb18030"))
    result = validated_batch(parsed_batch([f], reviewed={}))
    assert result.quarantined == [] and result.parsed[0].frames["documents"]["encoding"][0] == "gb18030"


def test_regression_batch_validation_quarantined_every_notice_for_per_document_numbering(tmp_path):
    """Bug: items.seq and units.unit_id were checked unique across the whole batch, so two notices
    validated together (each numbered from 1, or two notices of one city) failed the contract. The
    seeds only loaded because a failure without a row fell back to per-document validation."""
    layouts = Path(__file__).parent / "fixtures" / "layouts"
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("traditional.txt", "labelled_lines.txt", "deadlines.txt"):  # two of them are 宜昌市
        (raw / name).write_bytes((layouts / name).read_bytes())
    result = validated_batch(parsed_batch(inbox.read_files(inbox.discover(raw), raw), reviewed={}))
    assert result.quarantined == []
    assert len(result.parsed) == 3


def test_seed_batch_passes_the_contracts_as_one_batch(parsed_seeds):
    from validation.contracts import validate_frames

    assert validate_frames(concat_frames(list(parsed_seeds.values()))) == []


def test_a_warehouse_of_the_previous_schema_gains_rejected_rows_and_documents_incomplete(tmp_path, parsed_seeds):
    """The DDL before per-row acceptance had no rejected_rows and no documents.incomplete: the next
    connection for writing adds both and keeps the rows."""
    c = wh.connect(tmp_path / "w.duckdb")
    assert wh.load_documents(c, [parsed_seeds[SEEDS[0]]]) == []
    c.execute("DROP TABLE rejected_rows")
    c.execute("ALTER TABLE documents DROP COLUMN incomplete")
    c.execute("UPDATE schema_state SET digest = 'the previous DDL'")
    c.close()
    c = wh.connect(tmp_path / "w.duckdb")
    assert c.execute("SELECT source_file, incomplete FROM documents").fetchall() == [(SEEDS[0], None)]
    assert c.execute("SELECT count(*) FROM rejected_rows").fetchone() == (0,)
    assert wh.load_documents(c, [parsed_seeds[SEEDS[0]]]) == []
    assert c.execute("SELECT source_file, incomplete FROM documents").fetchall() == [(SEEDS[0], False)]
    c.close()


def test_schema_is_applied_once_per_ddl_version(tmp_path):
    """Applying the DDL took ~0.3 s of every run on a large warehouse; it runs when the DDL changed."""
    wh.connect(tmp_path / "w.duckdb").close()
    c = wh.connect(tmp_path / "w.duckdb")
    digest = c.execute("SELECT digest FROM schema_state").fetchall()
    c.execute("CREATE OR REPLACE VIEW v_department_load AS SELECT 1 AS changed_by_hand")  # not seen: same names
    c.close()
    c = wh.connect(tmp_path / "w.duckdb")
    assert c.execute("SELECT * FROM v_department_load").fetchall() == [(1,)]
    c.execute("DROP VIEW v_department_load")  # a missing object is re-created
    c.execute("DROP MACRO TABLE calc_function_leads")
    c.close()
    c = wh.connect(tmp_path / "w.duckdb")
    assert c.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'v_department_load'").fetchone() == (1,)
    assert c.execute("SELECT count(*) FROM calc_function_leads([])").fetchone() == (0,)
    c.execute("CREATE OR REPLACE VIEW v_department_load AS SELECT 1 AS changed_by_hand")
    c.execute("UPDATE schema_state SET digest = 'an older DDL'")
    c.close()
    c = wh.connect(tmp_path / "w.duckdb")
    assert c.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'v_department_load'").fetchone() == (1,)
    assert c.execute("SELECT digest FROM schema_state").fetchall() == digest
    c.close()


def test_a_closing_read_that_runs_out_of_the_writers_memory_is_read_once_more_with_more_and_says_where(tmp_path):
    """Regression: at 50,000 notices the quality summary ran out of the writer's 256 MB after every
    notice was loaded, and the whole run was lost. The read is retried with RETRY_MEMORY_LIMIT, the
    output names the statement and what DuckDB held, and the writer's limit is back afterwards."""
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    c.execute("SET memory_limit = '20MB'")
    c.execute("SET threads = 1")
    said = []
    big = "SELECT length(string_agg(x::VARCHAR || 'abcdefghij', ',')) FROM range(3000000) t(x)"
    with pytest.raises(duckdb.OutOfMemoryException):
        c.execute(big).fetchone()
    assert wh.with_more_memory_on_oom(c, lambda: c.execute(big).fetchone()[0], "review rows", said.append) == 52888889
    assert len(said) == 1
    assert re.fullmatch(r"review rows: DuckDB ran out of the writer's 19.0 MiB \(\?; it held (.+ MB|under 1 MB a tag)\); "
                        r"once more with 1GB", said[0]), said
    assert c.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "19.0 MiB"
    c.close()


def test_memory_held_names_duckdbs_tags(tmp_path):
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    c.execute("CREATE TABLE t AS SELECT repeat('x', 100) || i AS s FROM range(200000) t(i)")
    assert re.fullmatch(r"([A-Z_]+ \d+ MB)(, [A-Z_]+ \d+ MB)*", wh.memory_held(c)), wh.memory_held(c)
    c.close()


def test_the_writers_memory_limit_is_fengong_writer_memory(tmp_path, monkeypatch):
    monkeypatch.setenv("FENGONG_WRITER_MEMORY", "300MB")
    c = wh.connect(tmp_path / "w.duckdb")
    assert c.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "286.1 MiB"
    c.close()
    monkeypatch.delenv("FENGONG_WRITER_MEMORY")
    c = wh.connect(tmp_path / "w.duckdb")
    assert c.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "244.1 MiB"
    c.close()


def test_a_bad_fengong_writer_memory_says_what_to_set(tmp_path, monkeypatch):
    monkeypatch.setenv("FENGONG_WRITER_MEMORY", "lots")
    with pytest.raises(wh.WarehouseError, match="FENGONG_WRITER_MEMORY='lots' is not a memory size DuckDB reads"):
        wh.connect(tmp_path / "w.duckdb")
