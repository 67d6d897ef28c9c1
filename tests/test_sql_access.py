"""`fengong sql`: analysts read the warehouse (and its Parquet export); they do not write, and they do
not reach other files unless they ask (--allow-files). And what it prints: one row per line, CSV, JSON.

The warehouse is generated for each test (the schema and two rows, no Prefect); the CLI is called in
this process (`flows.cli.main`), which is what the `fengong` script does."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import duckdb
import pytest

from flows.cli import main
from warehouse.load import connect


@pytest.fixture
def project(tmp_path, monkeypatch):
    """tmp_path/warehouse/fengong.duckdb with one document, its export folder with one Parquet file,
    and a file outside both (tmp_path/elsewhere/secret.csv)."""
    monkeypatch.chdir(tmp_path)
    wh = tmp_path / "warehouse" / "fengong.duckdb"
    con = connect(wh)
    con.execute("INSERT INTO documents (doc_id, source_file, sha256, title) VALUES ('d1', 'a.txt', 'ab', $t)",
                {"t": "关于印发\n分工方案\t的通知"})
    (tmp_path / "warehouse" / "parquet" / "documents").mkdir(parents=True)
    con.execute(f"COPY (SELECT doc_id, title FROM documents) TO '{tmp_path}/warehouse/parquet/documents/d.parquet'")
    con.close()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "secret.csv").write_text("k,v\nroot,hunter2\n", encoding="utf-8")
    return tmp_path


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sql(capsys, *args) -> tuple[int, str, str]:
    rc = main(["sql", *args])
    out, err = capsys.readouterr()
    return rc, out, err


BLOCKED = {
    "copy over the warehouse": "COPY (SELECT 'x') TO 'warehouse/fengong.duckdb' (FORMAT csv)",
    "copy to a path": "COPY (SELECT * FROM documents) TO 'elsewhere/stolen.csv'",
    "copy into the export folder": "COPY (SELECT 'x') TO 'warehouse/parquet/documents/d.parquet'",
    "export database": "EXPORT DATABASE 'elsewhere/dump'",
    "read_text outside": "SELECT * FROM read_text('elsewhere/secret.csv')",
    "read_text of /etc": "SELECT * FROM read_text('/etc/hostname')",
    "read_csv outside": "SELECT * FROM read_csv('elsewhere/secret.csv')",
    "a path as a table": "SELECT * FROM 'elsewhere/secret.csv'",
    "out of the export folder by ..": "SELECT * FROM read_csv('warehouse/parquet/../../elsewhere/secret.csv')",
    "glob": "SELECT * FROM glob('elsewhere/**')",
    "glob of /root": "SELECT * FROM glob('/root/**')",
    "attach read-write": "ATTACH 'elsewhere/other.duckdb' (READ_WRITE)",
    "install": "INSTALL fts",
    "load": "LOAD fts",
    "set to undo": "SET enable_external_access = true",
    "reset to undo": "RESET enable_external_access",
    "unlock": "SET lock_configuration = false",
    "widen the allowed folders": "SET allowed_directories = ['/']",
    "undo, then read": "SET enable_external_access = true; SELECT * FROM read_csv('elsewhere/secret.csv')",
}


@pytest.mark.parametrize("query", BLOCKED.values(), ids=BLOCKED.keys())
def test_a_query_that_reaches_outside_the_warehouse_is_refused_in_one_line(query, project, capsys):
    wh = project / "warehouse" / "fengong.duckdb"
    before = sha(wh)
    rc, out, err = sql(capsys, query)
    assert rc == 1 and out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("fengong: refused: ") and "pass --allow-files" in err
    assert "hunter2" not in out + err
    assert sha(wh) == before
    assert sorted(p.name for p in (project / "elsewhere").iterdir()) == ["secret.csv"]  # nothing written there
    assert sorted(p.name for p in (project / "warehouse" / "parquet" / "documents").iterdir()) == ["d.parquet"]
    con = duckdb.connect(str(wh), read_only=True)  # the warehouse opens again, as it was
    assert con.execute("SELECT doc_id FROM documents").fetchall() == [("d1",)]
    con.close()


def test_a_write_to_the_warehouse_is_refused_by_the_read_only_database(project, capsys):
    rc, _, err = sql(capsys, "DELETE FROM documents")
    assert rc == 1 and "read-only" in err


def test_an_analyst_reads_the_warehouse_with_parameters_and_the_export_folder(project, capsys):
    rc, out, err = sql(capsys, "SELECT doc_id, source_file FROM documents WHERE sha256 = $1", "--param", "ab")
    assert (rc, out, err) == (0, "doc_id\tsource_file\nd1\ta.txt\n", "")
    rc, out, err = sql(capsys, "SELECT doc_id FROM read_parquet('warehouse/parquet/**/*.parquet')")
    assert (rc, out, err) == (0, "doc_id\nd1\n", "")
    rc, out, err = sql(capsys, f"SELECT count(*) AS n FROM '{project}/warehouse/parquet/documents/*.parquet'")
    assert (rc, out) == (0, "n\n1\n"), err


def test_allow_files_gives_the_asker_files_elsewhere(project, capsys):
    rc, out, err = sql(capsys, "SELECT v FROM read_csv('elsewhere/secret.csv')", "--allow-files")
    assert (rc, out, err) == (0, "v\nhunter2\n", "")
    rc, out, err = sql(capsys, "COPY (SELECT doc_id FROM documents) TO 'elsewhere/ids.csv'", "--allow-files")
    assert rc == 0, err
    assert (project / "elsewhere" / "ids.csv").read_text() == "doc_id\nd1\n"
    rc, _, err = sql(capsys, "DELETE FROM documents", "--allow-files")
    assert rc == 1 and "read-only" in err  # the warehouse itself stays read-only


# ── output ─────────────────────────────────────────────────────────────────────────────────────

QUERY = ("SELECT title, ['市发改委', 'a' || chr(10) || 'b'] AS units, NULL AS nothing, "
         "DATE '2024-03-01' AS published_on, 'C:\\dir' AS path FROM documents")


def test_default_output_is_one_line_per_row_with_newlines_and_tabs_escaped(project, capsys):
    rc, out, err = sql(capsys, QUERY)
    assert rc == 0, err
    assert out.splitlines() == [
        "title\tunits\tnothing\tpublished_on\tpath",
        '关于印发\\n分工方案\\t的通知\t["市发改委", "a\\nb"]\t\t2024-03-01\tC:\\\\dir',
    ]
    assert json.loads(out.splitlines()[1].split("\t")[1]) == ["市发改委", "a\nb"]  # a list prints as a list


def test_csv_output_quotes_what_it_must(project, capsys):
    rc, out, err = sql(capsys, QUERY, "--csv")
    assert rc == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows == [["title", "units", "nothing", "published_on", "path"],
                    ["关于印发\n分工方案\t的通知", '["市发改委", "a\\nb"]', "", "2024-03-01", "C:\\dir"]]


def test_json_output_is_one_object_per_row(project, capsys):
    rc, out, err = sql(capsys, QUERY, "--json")
    assert rc == 0, err
    assert [json.loads(line) for line in out.splitlines()] == [
        {"title": "关于印发\n分工方案\t的通知", "units": ["市发改委", "a\nb"], "nothing": None,
         "published_on": "2024-03-01", "path": "C:\\dir"}]
    with pytest.raises(SystemExit):
        main(["sql", "SELECT 1", "--csv", "--json"])
