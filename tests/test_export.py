"""`fengong export`: every table as Parquet, enough to work from the files alone."""

import duckdb
import polars as pl

from warehouse.export import NOT_EXPORTED


def scan(export, table):
    return pl.scan_parquet(str(export / table / "**" / "*.parquet"), hive_partitioning=True)


def test_every_table_is_exported(seed_warehouse):
    export = seed_warehouse.parent / "parquet"
    con = duckdb.connect(str(seed_warehouse), read_only=True)
    tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    con.close()
    written = {p.name.removesuffix(".parquet") for p in export.iterdir()}
    assert written == (tables - set(NOT_EXPORTED)) | {"units", "unit_aliases"}
    assert {"document_texts", "document_pages", "mart_department_load", "mart_function_leads"} <= written


def test_an_assignments_evidence_span_resolves_from_parquet_alone(seed_warehouse):
    """No DuckDB: the assignments and the texts they point into, read with polars from the export."""
    export = seed_warehouse.parent / "parquet"
    texts = dict(scan(export, "document_texts").select("doc_id", "text").collect().iter_rows())
    asg = scan(export, "assignments").select("doc_id", "item_id", "written", "char_start", "char_end").collect()
    spans = [texts[d][a:b] for d, a, b in asg.select("doc_id", "char_start", "char_end").iter_rows()]
    assert asg.height > 1500 and spans == asg["written"].to_list()
    # and the item it sits on, cut by the item's offsets, holds it
    items = scan(export, "items").select("item_id", "doc_id", "char_start", "char_end").collect()
    first = asg.filter(pl.col("written") == "市发改委").row(0, named=True)
    item = items.filter(item_id=first["item_id"]).row(0, named=True)
    assert "市发改委" in texts[item["doc_id"]][item["char_start"]:item["char_end"]]


def test_an_empty_table_is_one_empty_file_with_its_columns(seed_warehouse):
    pages = scan(seed_warehouse.parent / "parquet", "document_pages").collect()  # the seeds are text files
    assert pages.height == 0
    assert pages.columns == ["doc_id", "char_start", "char_end", "page", "sheet", "sheet_row",
                             "province", "jurisdiction", "period_year"]


def test_marts_are_partitioned_like_the_documents(seed_warehouse):
    loads = scan(seed_warehouse.parent / "parquet", "mart_department_load")
    got = (loads.filter(unit_name="市发展和改革委员会", jurisdiction="潜江市")
           .select("doc_kind", "period_year", "items_led").sort("period_year").collect())
    assert got.rows() == [("fyp", 2021, 31), ("gwr", 2023, 7)]
