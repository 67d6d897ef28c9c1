"""Export the warehouse as hive-partitioned Parquet (province / jurisdiction / period_year).

Spark, Trino, DuckDB and polars read the folder as it is, e.g.
    polars.scan_parquet("warehouse/parquet/items/**/*.parquet", hive_partitioning=True)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

PARTITIONED = ("documents", "sections", "items", "assignments", "leaders", "indicators", "quality_issues",
               "rejected_rows")
WHOLE = ("units", "unit_aliases", "functions", "quarantine", "runs", "document_files", "task_links")


def export_parquet(con: duckdb.DuckDBPyConnection, out_dir: Path) -> dict[str, int]:
    """Write every table; returns rows written per table. Replaces the previous export."""
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    counts = {}
    for table in PARTITIONED:
        select = (
            "SELECT * FROM documents" if table == "documents" else
            f"SELECT t.*, d.province, d.jurisdiction, d.period_year FROM {table} t "
            f"JOIN documents d USING (doc_id)"
        )
        counts[table] = con.execute(f"SELECT count(*) FROM ({select})").fetchone()[0]
        target = (tmp / table).as_posix()
        con.execute(
            f"COPY ({_fill_partitions(select)}) TO '{target}' "
            "(FORMAT parquet, PARTITION_BY (province, jurisdiction, period_year), OVERWRITE_OR_IGNORE)"
        )
    for table in WHOLE:
        counts[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        con.execute(f"COPY (SELECT * FROM {table}) TO '{(tmp / (table + '.parquet')).as_posix()}' (FORMAT parquet)")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return counts


def _fill_partitions(select: str) -> str:
    """Null partition keys would become '__HIVE_DEFAULT_PARTITION__'; name them 'unknown' instead."""
    return (f"SELECT * REPLACE (coalesce(province, 'unknown') AS province, "
            f"coalesce(jurisdiction, 'unknown') AS jurisdiction, coalesce(period_year, 0) AS period_year) "
            f"FROM ({select})")
