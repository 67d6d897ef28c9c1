"""Export the warehouse as hive-partitioned Parquet (province / jurisdiction / period_year).

Spark, Trino, DuckDB and polars read the folder as it is, e.g.
    polars.scan_parquet("warehouse/parquet/items/**/*.parquet", hive_partitioning=True)

Every table is written, so the export stands on its own (offsets resolve against document_texts):
  * a table whose rows name a document (doc_id) is partitioned by that document's province,
    jurisdiction and period_year (documents, document_texts, document_pages, items, assignments …);
  * a table that carries those three columns itself is partitioned by them (the marts behind
    v_department_load and v_function_leads);
  * any other table is one file, `<table>.parquet` (functions, runs, quarantine, doc_units …), and so
    are the views `units` and `unit_aliases`.
Bookkeeping tables (schema_state, mart_state, mart_unit_scope) are not data; mart_units is the
`units` view.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

KEYS = ("province", "jurisdiction", "period_year")
NOT_EXPORTED = ("schema_state", "mart_state", "mart_unit_scope", "mart_units")
VIEWS = ("units", "unit_aliases")


def export_plan(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    """table -> (how, select): how is 'partitioned' or 'file', in the order they are written."""
    columns: dict[str, list[str]] = {}
    for table, column in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'main' AND NOT internal "
            "AND table_name IN (SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary) "
            "ORDER BY table_name, column_index").fetchall():
        columns.setdefault(table, []).append(column)
    plan = {}
    for table, cols in columns.items():
        if table in NOT_EXPORTED:
            continue
        if table == "documents" or set(KEYS) <= set(cols):
            plan[table] = ("partitioned", f"SELECT * FROM {table}")
        elif "doc_id" in cols and not set(KEYS) & set(cols):
            plan[table] = ("partitioned", f"SELECT t.*, d.province, d.jurisdiction, d.period_year FROM {table} t "
                                          "LEFT JOIN documents d USING (doc_id)")
        else:
            plan[table] = ("file", f"SELECT * FROM {table}")
    for view in VIEWS:
        plan[view] = ("file", f"SELECT * FROM {view}")
    return plan


def export_parquet(con: duckdb.DuckDBPyConnection, out_dir: Path) -> dict[str, int]:
    """Write every table; returns rows written per table. Replaces the previous export."""
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    counts = {}
    for table, (how, select) in export_plan(con).items():
        counts[table] = con.execute(f"SELECT count(*) FROM ({select})").fetchone()[0]
        if how == "partitioned" and counts[table] == 0:  # no partitions: one empty file keeps the columns readable
            (tmp / table).mkdir()
            con.execute(f"COPY ({_fill_partitions(select)}) TO '{(tmp / table / 'empty.parquet').as_posix()}' "
                        "(FORMAT parquet)")
        elif how == "partitioned":
            con.execute(
                f"COPY ({_fill_partitions(select)}) TO '{(tmp / table).as_posix()}' "
                "(FORMAT parquet, PARTITION_BY (province, jurisdiction, period_year), OVERWRITE_OR_IGNORE)"
            )
        else:
            con.execute(f"COPY ({select}) TO '{(tmp / (table + '.parquet')).as_posix()}' (FORMAT parquet)")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return counts


def _fill_partitions(select: str) -> str:
    """Null partition keys would become '__HIVE_DEFAULT_PARTITION__'; name them 'unknown' instead."""
    return (f"SELECT * REPLACE (coalesce(province, 'unknown') AS province, "
            f"coalesce(jurisdiction, 'unknown') AS jurisdiction, coalesce(period_year, 0) AS period_year) "
            f"FROM ({select})")
