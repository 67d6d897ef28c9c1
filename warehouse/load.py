"""Load parsed documents into DuckDB: bulk inserts from polars frames, atomic per document.

A batch of documents is loaded in one transaction (fast); if that fails, each document is
retried in its own transaction, and the one that still fails is returned to be quarantined.
Either way a document's rows are all old or all new, never half of each.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import polars as pl

HERE = Path(__file__).parent
DOC_TABLES = ("documents", "document_texts", "sections", "items", "assignments", "leaders", "indicators",
              "quality_issues", "doc_units", "doc_unit_aliases")
FRAME_FOR_TABLE = {"doc_units": "units", "doc_unit_aliases": "unit_aliases"}


class WarehouseError(RuntimeError):
    """The warehouse file cannot be opened or written; the message says what to do."""


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = Path(path)
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise WarehouseError(f"cannot create the warehouse folder {path.parent}: {e.strerror}") from e
    elif not path.exists():
        raise WarehouseError(f"no warehouse at {path}; run `fengong run` first")
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as e:
        msg = str(e)
        if "lock" in msg.lower():
            raise WarehouseError(
                f"the warehouse {path} is in use by another process (DuckDB allows one writer); "
                "wait for it to finish, or query the Parquet export instead"
            ) from e
        raise WarehouseError(f"cannot open the warehouse {path}: {msg}") from e
    if not read_only:
        # checkpoint after 256 MB of WAL, not DuckDB's 16 MB: a rebuild otherwise checkpoints every
        # batch or two, and those checkpoints were half of the load time
        con.execute("SET checkpoint_threshold = '256MB'")
        # DuckDB's buffer pool may use 80% of RAM and keeps what it wrote cached: the loader's
        # memory then grows with the warehouse. A batch needs far less than this.
        con.execute("SET memory_limit = '512MB'")
        ensure_schema(con)
    return con


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute((HERE / "schema.sql").read_text(encoding="utf-8"))
    for sql in sorted((HERE / "models").glob("*.sql")):
        con.execute(sql.read_text(encoding="utf-8"))


def load_functions(con: duckdb.DuckDBPyConnection, functions: pl.DataFrame) -> None:
    con.execute("BEGIN")
    con.execute("DELETE FROM functions")
    con.register("fn_frame", functions.to_arrow())
    con.execute("INSERT INTO functions BY NAME SELECT * FROM fn_frame")
    con.unregister("fn_frame")
    con.execute("COMMIT")


def _insert_frames(con, docs: list) -> None:
    ids = [d.doc_id for d in docs]
    files = [d.frames["documents"]["source_file"][0] for d in docs]
    # the same documents loaded before, and the documents a changed file replaces (same path); a
    # document's rows are loaded in one transaction with its `documents` row, so where `documents`
    # knows none of them (a fresh load) no other table holds any, and nothing is scanned to delete
    gone = [r[0] for r in con.execute(
        "SELECT doc_id FROM documents WHERE doc_id IN (SELECT unnest($ids)) "
        "OR source_file IN (SELECT unnest($files))", {"files": files, "ids": ids}).fetchall()]
    for table in DOC_TABLES if gone else ():
        con.execute(f"DELETE FROM {table} WHERE doc_id IN (SELECT unnest($ids))", {"ids": gone})
    for table in DOC_TABLES:
        key = FRAME_FOR_TABLE.get(table, table)
        frames = []
        for d in docs:
            f = d.frames[key]
            if table in FRAME_FOR_TABLE:
                f = f.with_columns(pl.lit(d.doc_id).alias("doc_id"))
            frames.append(f)
        frame = pl.concat(frames, how="vertical_relaxed") if frames else None
        if frame is None or frame.height == 0:
            continue
        con.register("load_frame", frame.to_arrow())
        try:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM load_frame")
        finally:
            con.unregister("load_frame")


def load_documents(con: duckdb.DuckDBPyConnection, docs: list) -> list[tuple[object, str]]:
    """Load parsed documents. Returns (document, reason) for those that could not be loaded."""
    if not docs:
        return []
    try:
        con.execute("BEGIN")
        _insert_frames(con, docs)
        con.execute("COMMIT")
        return []
    except duckdb.Error:
        con.execute("ROLLBACK")
    failed = []
    for d in docs:
        try:
            con.execute("BEGIN")
            _insert_frames(con, [d])
            con.execute("COMMIT")
        except duckdb.Error as e:
            con.execute("ROLLBACK")
            failed.append((d, f"loading failed and was rolled back: {e}"))
    return failed


def quarantine(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    if not rows:
        return
    frame = pl.DataFrame(
        [{"source_file": r["source_file"], "sha256": r.get("sha256"), "stage": r["stage"],
          "reason": r["reason"], "details": json.dumps(r.get("details"), ensure_ascii=False) if r.get("details") else None,
          "at": dt.datetime.now()} for r in rows],
        schema={"source_file": pl.Utf8, "sha256": pl.Utf8, "stage": pl.Utf8, "reason": pl.Utf8,
                "details": pl.Utf8, "at": pl.Datetime},
    )
    con.register("q_frame", frame.to_arrow())
    con.execute("BEGIN")
    con.execute("DELETE FROM quarantine WHERE source_file IN (SELECT source_file FROM q_frame)")
    con.execute("INSERT INTO quarantine BY NAME SELECT * FROM q_frame")
    con.execute("COMMIT")
    con.unregister("q_frame")


def clear_quarantine(con: duckdb.DuckDBPyConnection, source_files: list[str]) -> None:
    if source_files:
        con.execute("DELETE FROM quarantine WHERE source_file IN (SELECT unnest($f))", {"f": source_files})


def record_run(con: duckdb.DuckDBPyConnection, row: dict) -> None:
    con.execute(
        "INSERT OR REPLACE INTO runs VALUES ($run_id, $started_at, $finished_at, $files_seen, $parsed, "
        "$quarantined, $loaded, $skipped, $parser_version)", row)


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("documents", "items", "assignments", "leaders", "quality_issues", "quarantine")}
