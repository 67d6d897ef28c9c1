"""Load parsed documents into DuckDB: bulk inserts from polars frames, atomic per document.

A batch of documents is loaded in one transaction (fast); if that fails, each document is
retried in its own transaction, and the one that still fails is returned to be quarantined.
Either way a document's rows are all old or all new, never half of each.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import re
import traceback
from pathlib import Path
from typing import Callable

import duckdb
import polars as pl

HERE = Path(__file__).parent
DOC_TABLES = ("documents", "document_texts", "sections", "items", "assignments", "leaders", "indicators",
              "quality_issues", "doc_units", "doc_unit_aliases", "rejected_rows", "document_pages")
FRAME_FOR_TABLE = {"doc_units": "units", "doc_unit_aliases": "unit_aliases"}


class WarehouseError(RuntimeError):
    """The warehouse file cannot be opened or written; the message says what to do."""


def writer_memory() -> str:
    """DuckDB's memory limit for the writer's connection: $FENGONG_WRITER_MEMORY, default 256MB."""
    return os.environ.get("FENGONG_WRITER_MEMORY") or "256MB"


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
        # checkpoint after 128 MB of WAL, not DuckDB's 16 MB: a rebuild otherwise checkpoints every
        # batch or two, and those checkpoints were half of the load time. What is not checkpointed
        # yet stays in memory: 256 MB held up to 0.4 GB (128 MB: 0.26 GB, for 15% more load CPU)
        con.execute("SET checkpoint_threshold = '128MB'")
        # DuckDB's buffer pool may use 80% of RAM and keeps what it wrote cached: the loader's
        # memory then grows with the warehouse. A batch needs far less than this; the statements
        # over the whole warehouse (marts, review) work in chunks or on small temporary tables,
        # and DuckDB spills the rest to <warehouse>.tmp. Checked at 10,000 and 50,000 notices (bench/).
        try:
            con.execute(f"SET memory_limit = '{writer_memory()}'")
        except duckdb.Error as e:
            con.close()
            raise WarehouseError(f"FENGONG_WRITER_MEMORY={writer_memory()!r} is not a memory size DuckDB reads "
                                 "(e.g. 256MB, 1GB): set it to one, or unset it for 256MB") from e
        con.execute("SET enable_progress_bar = false")  # the run prints its own progress
        # one thread: the writer's statements are small (one batch), and the parse workers hold the
        # other cores; a second DuckDB thread doubled the CPU time of a load and of its checkpoints
        # and saved no wall time on 2 cores
        con.execute("SET threads = 1")
        ensure_schema(con)
        # DDL left in the write-ahead log can make a crashed file unopenable: DuckDB's WAL replay of
        # CREATE/ALTER with a DEFAULT expression fails ("GetDefaultDatabase with no default database
        # set", duckdb/duckdb#18259, #20543). Checkpointed, the log holds only data changes.
        con.execute("CHECKPOINT")
    return con


# What a run's closing reads over the whole warehouse (summary, review rows) may use when the writer's
# limit is not enough for them: a safety net, so that a run does not lose every notice it loaded in
# its last seconds. The 50,000-notice rebuild needed it once, for a review query since bounded
# (warehouse/review.py); when it is used, the run log says which statement and what DuckDB held.
RETRY_MEMORY_LIMIT = "1GB"


def memory_held(con: duckdb.DuckDBPyConnection) -> str:
    """What DuckDB holds in memory, by tag (e.g. `BASE_TABLE 109 MB, IN_MEMORY_TABLE 21 MB`)."""
    rows = con.execute("SELECT tag, memory_usage_bytes FROM duckdb_memory() WHERE memory_usage_bytes >= 1e6 "
                       "ORDER BY 2 DESC").fetchall()
    return ", ".join(f"{tag} {size / 1e6:.0f} MB" for tag, size in rows) or "under 1 MB a tag"


def with_more_memory_on_oom(con: duckdb.DuckDBPyConnection, read: Callable, what: str, progress: Callable):
    """`read()`, and once more with RETRY_MEMORY_LIMIT if DuckDB ran out of the writer's memory limit,
    saying which statement did (file and line) and what DuckDB held, so that it can be bounded. For
    reads and idempotent writes only: the failed statement has been rolled back, but what `read`
    did before it has not."""
    try:
        return read()
    except duckdb.OutOfMemoryException as e:
        where = next((f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(traceback.extract_tb(e.__traceback__)[1:])
                      if "/warehouse/" in f.filename.replace("\\", "/")), "?")
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        progress(f"{what}: DuckDB ran out of the writer's {limit} ({where}; it held {memory_held(con)}); "
                 f"once more with {RETRY_MEMORY_LIMIT}")
    con.execute(f"SET memory_limit = '{RETRY_MEMORY_LIMIT}'")
    try:
        return read()
    finally:
        con.execute(f"SET memory_limit = '{limit}'")


_CREATED = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|VIEW|MACRO)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.I)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create or upgrade the tables, views and macros, unless this DDL was applied already: its hash
    is in schema_state and everything it creates exists (running it all takes ~0.3 s on a large
    warehouse, at every connection). A change made by hand to a view or macro, keeping its name, is
    not seen: change the DDL files instead."""
    ddl = [(HERE / "schema.sql").read_text(encoding="utf-8")]
    ddl += [sql.read_text(encoding="utf-8") for sql in sorted((HERE / "models").glob("*.sql"))]
    digest = hashlib.sha256("\0".join(ddl).encode()).hexdigest()[:16]
    try:
        if con.execute("SELECT digest FROM schema_state").fetchall() == [(digest,)]:
            names = {n for sql in ddl for n in _CREATED.findall(sql)}
            have = {n for (n,) in con.execute(
                "SELECT table_name FROM duckdb_tables() UNION ALL SELECT view_name FROM duckdb_views() "
                "UNION ALL SELECT function_name FROM duckdb_functions() WHERE function_type LIKE '%macro%'").fetchall()}
            if names <= have:
                return
    except duckdb.CatalogException:
        pass
    for sql in ddl:
        con.execute(sql)
    con.execute("CREATE OR REPLACE TABLE schema_state AS SELECT ? AS digest", [digest])


def load_functions(con: duckdb.DuckDBPyConnection, functions: pl.DataFrame) -> None:
    con.execute("BEGIN")
    con.execute("DELETE FROM functions")
    con.register("fn_frame", functions.to_arrow())
    con.execute("INSERT INTO functions BY NAME SELECT * FROM fn_frame")
    con.unregister("fn_frame")
    con.execute("COMMIT")


def _insert_frames(con, docs: list) -> None:
    # only documents `documents` knows have rows anywhere (a document loads in one transaction):
    # on a fresh load nothing is scanned to delete
    delete_documents(con, [r[0] for r in con.execute(
        "SELECT doc_id FROM documents WHERE doc_id IN (SELECT unnest(?))", [[d.doc_id for d in docs]]).fetchall()])
    for table in DOC_TABLES:
        key = FRAME_FOR_TABLE.get(table, table)
        frames = []
        for d in docs:
            f = d.frames.get(key)
            if f is None:  # rejected_rows: only documents that went through validation have it
                continue
            if table in FRAME_FOR_TABLE:
                f = f.with_columns(pl.lit(d.doc_id).alias("doc_id"))
            frames.append(f)
        # one chunk: DuckDB scans a 100-chunk Arrow table several times slower than a single chunk
        frame = pl.concat(frames, how="vertical_relaxed", rechunk=True) if frames else None
        if frame is None or frame.height == 0:
            continue
        con.register("load_frame", frame.to_arrow())
        try:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM load_frame")
        finally:
            con.unregister("load_frame")
    # a changed file replaces the document previously loaded from the same name
    bind_files(con, [(d.frames["documents"]["source_file"][0], d.doc_id, d.frames["documents"]["sha256"][0])
                     for d in docs])


def bind_files(con, rows: list[tuple[str, str, str]]) -> None:
    """Point each name (source_file, doc_id, sha256) at its content, inside the caller's transaction.

    A document that no name points to any more (its file now holds other content) is deleted; a
    document whose names are all retired stays (until prune). The documents bound here are current.
    """
    if not rows:
        return
    frame = pl.DataFrame(rows, schema={"source_file": pl.Utf8, "doc_id": pl.Utf8, "sha256": pl.Utf8}, orient="row")
    con.register("bind_frame", frame.to_arrow())
    try:
        previous = [r[0] for r in con.execute(
            "SELECT DISTINCT f.doc_id FROM document_files f JOIN bind_frame b USING (source_file) "
            "WHERE f.doc_id <> b.doc_id").fetchall()]
        con.execute("""
            CREATE OR REPLACE TEMP TABLE bind_rows AS
            SELECT b.source_file, b.doc_id, b.sha256,
                   coalesce(f.first_seen, current_localtimestamp()) AS first_seen,
                   current_localtimestamp() AS last_seen, NULL::TIMESTAMP AS retired_at,
                   f.size_bytes, f.mtime_ns  -- same name, same content (doc_id): the same file stat
            FROM bind_frame b LEFT JOIN document_files f ON f.source_file = b.source_file AND f.doc_id = b.doc_id""")
        con.execute("DELETE FROM document_files WHERE source_file IN (SELECT source_file FROM bind_frame)")
        con.execute("INSERT INTO document_files BY NAME SELECT * FROM bind_rows")
        con.execute("DROP TABLE bind_rows")
        con.execute("UPDATE documents SET retired_at = NULL WHERE doc_id IN (SELECT doc_id FROM bind_frame)")
    finally:
        con.unregister("bind_frame")
    if previous:
        delete_documents(con, [r[0] for r in con.execute(
            "SELECT d FROM (SELECT unnest(?) AS d) WHERE d NOT IN (SELECT doc_id FROM document_files)",
            [previous]).fetchall()])
    _name_documents_by_current_file(con, [r[1] for r in rows] + previous)


def file_stats(con) -> dict[str, tuple[int, int, str]]:
    """name -> (size, mtime_ns, sha256) of every current name whose stat was recorded."""
    return {r[0]: r[1:] for r in con.execute(
        "SELECT source_file, size_bytes, mtime_ns, sha256 FROM document_files "
        "WHERE retired_at IS NULL AND size_bytes IS NOT NULL AND mtime_ns IS NOT NULL").fetchall()}


def record_file_stats(con, rows: list[tuple[str, str, int, int]]) -> None:
    """Remember (name, sha256, size, mtime_ns) of files hashed in this run, for names bound to that content."""
    if not rows:
        return
    frame = pl.DataFrame(rows, schema={"source_file": pl.Utf8, "sha256": pl.Utf8, "size_bytes": pl.Int64,
                                       "mtime_ns": pl.Int64}, orient="row")
    con.register("stat_frame", frame.to_arrow())
    try:
        con.execute("""UPDATE document_files f SET size_bytes = s.size_bytes, mtime_ns = s.mtime_ns
                       FROM stat_frame s WHERE f.source_file = s.source_file AND f.sha256 = s.sha256""")
    finally:
        con.unregister("stat_frame")


def delete_documents(con, doc_ids: list[str]) -> dict[str, int]:
    """Every row of these documents in every document table (call inside a transaction).
    Returns the rows deleted per table."""
    deleted = {}
    if doc_ids:
        for table in DOC_TABLES:
            # a positional list: with a named one ($ids) DuckDB 1.5 takes 3-30 times as long
            deleted[table] = con.execute(f"DELETE FROM {table} WHERE doc_id IN (SELECT unnest(?))",
                                         [doc_ids]).fetchone()[0]
    return deleted


def _name_documents_by_current_file(con, doc_ids: list[str] | None = None) -> None:
    """documents.source_file is a name that holds the content now, while there is one (of these
    documents, or of all)."""
    con.execute(f"""
        UPDATE documents d SET source_file = c.source_file
        FROM (SELECT doc_id, min(source_file) AS source_file FROM document_files WHERE retired_at IS NULL
              {"" if doc_ids is None else "AND doc_id IN (SELECT unnest(?))"} GROUP BY doc_id) c
        WHERE d.doc_id = c.doc_id AND d.source_file NOT IN (
            SELECT source_file FROM document_files f WHERE f.doc_id = d.doc_id AND f.retired_at IS NULL)""",
                [] if doc_ids is None else [doc_ids])


def retire_missing(con, present: list[str], now: dt.datetime | None = None) -> list[str]:
    """Mark names that are no longer under raw/ retired, and documents with no current name.

    Nothing is deleted; `prune_retired` does that. Returns the names retired now."""
    now = now or dt.datetime.now()
    con.execute("BEGIN")
    try:
        gone = [r[0] for r in con.execute(
            "SELECT source_file FROM document_files WHERE retired_at IS NULL "
            "AND source_file NOT IN (SELECT unnest($p)) ORDER BY source_file", {"p": present or [""]}).fetchall()]
        if gone:
            con.execute("UPDATE document_files SET retired_at = $now WHERE source_file IN (SELECT unnest($g))",
                        {"now": now, "g": gone})
            con.execute("""UPDATE documents SET retired_at = $now WHERE retired_at IS NULL AND doc_id NOT IN (
                           SELECT doc_id FROM document_files WHERE retired_at IS NULL)""", {"now": now})
            _name_documents_by_current_file(con)
        # a bad file that was removed is no longer a problem to fix
        con.execute("DELETE FROM quarantine WHERE source_file NOT IN (SELECT unnest($p))", {"p": present or [""]})
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return gone


def retired_documents(con) -> list[tuple[str, str, object]]:
    """(doc_id, source_file, retired_at) of every retired document."""
    return con.execute("SELECT doc_id, source_file, retired_at FROM documents WHERE retired_at IS NOT NULL "
                       "ORDER BY source_file").fetchall()


def retired_names(con) -> list[str]:
    """Retired file names: of retired documents, and names gone from raw/ of documents still current
    under another name."""
    return [r[0] for r in con.execute(
        "SELECT source_file FROM document_files WHERE retired_at IS NOT NULL ORDER BY 1").fetchall()]


def retired_rows(con) -> dict[str, int]:
    """The rows `prune_retired` would delete, per table (for a dry run)."""
    docs = [r[0] for r in retired_documents(con)]
    rows = {t: con.execute(f"SELECT count(*) FROM {t} WHERE doc_id IN (SELECT unnest(?))", [docs]).fetchone()[0]
            for t in DOC_TABLES} if docs else {}
    return {**rows, "document_files": len(retired_names(con))}


def prune_retired(con) -> tuple[list[str], list[str], dict[str, int]]:
    """Delete retired documents (all rows, all document tables) and retired names, in one transaction.
    Returns (doc_ids, names, rows deleted per table)."""
    con.execute("BEGIN")
    try:
        docs = [r[0] for r in retired_documents(con)]
        names = retired_names(con)
        rows = delete_documents(con, docs)
        rows["document_files"] = con.execute("DELETE FROM document_files WHERE retired_at IS NOT NULL").fetchone()[0]
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return docs, names, rows


def _rollback(con) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # no transaction open, or the database was invalidated (the caller reports that)


def load_documents(con: duckdb.DuckDBPyConnection, docs: list) -> list[tuple[object, str]]:
    """Load parsed documents. Returns (document, reason) for those that could not be loaded.

    A failure of the warehouse's storage (a full disk, a quota, a file size limit, an I/O error) or
    DuckDB running out of memory is not the documents' fault: it is raised as WarehouseError, after the
    rollback, instead of quarantining them (`storage_failure`)."""
    if not docs:
        return []
    try:
        con.execute("BEGIN")
        _insert_frames(con, docs)
        con.execute("COMMIT")
        return []
    except (duckdb.Error, OSError) as e:
        _rollback(con)
        _raise_if_storage(e)
    failed = []
    for d in docs:
        try:
            con.execute("BEGIN")
            _insert_frames(con, [d])
            con.execute("COMMIT")
        except (duckdb.Error, OSError) as e:
            _rollback(con)
            _raise_if_storage(e)
            failed.append((d, f"loading failed and was rolled back: {e}"))
    return failed


def _raise_if_storage(e: Exception) -> None:
    if (failure := storage_failure(e)) is not None:
        raise failure from e
    if isinstance(e, OSError):  # not the storage, not the document's either: a bug, with its traceback
        raise e


_DISK_FULL = ("the disk holding the warehouse is full: free space on it (a run needs room for a copy of the "
              "warehouse and its log) and run again")
_FILE_LIMIT = "a file size limit stopped the write (ulimit -f): raise it and run again"
_CHECK_DISK = "check the disk holding the warehouse and run again"
# What DuckDB says when the file system refuses a write, and what to do. A failed commit is a
# TransactionException ("Failed to commit: Could not write file …wal: File too large"), not an
# IOException: measured with DuckDB 1.5.5 under a file size limit (tests/test_ops.py).
_STORAGE_WORDS = (("no space left on device", _DISK_FULL), ("disk quota exceeded", _DISK_FULL),
                  ("file too large", _FILE_LIMIT), ("could not write file", _CHECK_DISK),
                  ("could not read from file", _CHECK_DISK), ("read-only file system", _CHECK_DISK),
                  ("input/output error", _CHECK_DISK), ("database has been invalidated", _CHECK_DISK))
_STORAGE_ERRNOS = {errno.ENOSPC: _DISK_FULL, errno.EDQUOT: _DISK_FULL, errno.EFBIG: _FILE_LIMIT,
                   errno.EIO: _CHECK_DISK, errno.EROFS: _CHECK_DISK}


def storage_failure(e: BaseException) -> WarehouseError | None:
    """A WarehouseError that says what to do when `e` is the warehouse's storage failing (a full disk, a
    quota, a file size limit, an I/O error) or DuckDB running out of memory; None when it is anything
    else. Such a failure is never a verdict on a notice: the run stops and keeps nothing."""
    if isinstance(e, WarehouseError):
        return e
    if isinstance(e, duckdb.OutOfMemoryException):
        return WarehouseError(f"DuckDB ran out of memory, nothing of this run was kept: {e}; the writer may use "
                              f"{writer_memory()} (FENGONG_WRITER_MEMORY): set it higher (FENGONG_WRITER_MEMORY=1GB) "
                              "if this machine has the memory, else free memory on it or run with a smaller "
                              "--batch-size, and run again")
    if isinstance(e, OSError):
        detail = f"{e.strerror or e}" + (f": {e.filename}" if e.filename else "")
        todo = _STORAGE_ERRNOS.get(e.errno)
    elif isinstance(e, duckdb.Error):
        detail = str(e)
        todo = next((t for w, t in _STORAGE_WORDS if w in detail.lower()), None)
        if todo is None and isinstance(e, (duckdb.IOException, duckdb.FatalException)):
            todo = _CHECK_DISK
    else:
        return None
    return None if todo is None else WarehouseError(
        f"writing the warehouse failed, nothing of this run was kept: {detail}; {todo}")


def quarantine(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    if not rows:
        return
    frame = pl.DataFrame(
        [{"source_file": r["source_file"], "sha256": r.get("sha256"), "stage": r["stage"],
          "reason": r["reason"], "details": json.dumps(r.get("details"), ensure_ascii=False) if r.get("details") else None,
          "at": dt.datetime.now(), "parser_version": r.get("parser_version"),
          "decisions_version": r.get("decisions_version")} for r in rows],
        schema={"source_file": pl.Utf8, "sha256": pl.Utf8, "stage": pl.Utf8, "reason": pl.Utf8,
                "details": pl.Utf8, "at": pl.Datetime, "parser_version": pl.Utf8, "decisions_version": pl.Utf8},
    )
    con.register("q_frame", frame.to_arrow())
    con.execute("BEGIN")
    con.execute("DELETE FROM quarantine WHERE source_file IN (SELECT source_file FROM q_frame)")
    con.execute("INSERT INTO quarantine BY NAME SELECT * FROM q_frame")
    con.execute("COMMIT")
    con.unregister("q_frame")


def clear_quarantine(con: duckdb.DuckDBPyConnection, source_files: list[str]) -> None:
    if source_files:
        con.execute("DELETE FROM quarantine WHERE source_file IN (SELECT unnest(?))", [source_files])


def record_run(con: duckdb.DuckDBPyConnection, row: dict) -> None:
    """One row of the run log; columns by name (the table gained columns over time)."""
    unknown = set(row) - {c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'runs'").fetchall()}
    if unknown:
        raise ValueError(f"runs has no column(s) {sorted(unknown)}")
    cols = ", ".join(f"${k} AS {k}" for k in row)
    con.execute(f"INSERT OR REPLACE INTO runs BY NAME SELECT {cols}", row)


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("documents", "items", "assignments", "leaders", "quality_issues", "quarantine")}
