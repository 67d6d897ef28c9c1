"""What `fengong sql` may reach: the warehouse, read-only, and the Parquet export beside it, read-only.

DuckDB reads and writes files from inside a query (COPY … TO, read_csv, read_text, glob, ATTACH,
INSTALL, EXPORT DATABASE), so opening the database read-only is not enough. By default a query
connection gets, in this order (each step needs the one before; checked on DuckDB 1.5.6):

  allowed_directories = [<warehouse folder>/parquet/]   the export (`fengong export`), for read_parquet
  autoinstall/autoload_known_extensions = false          no extension fetched or loaded behind the query
  enable_external_access = false                         every other path, ATTACH of a file, INSTALL, LOAD
  lock_configuration = true                              no SET/RESET in the query can undo the above

DuckDB's allowed directories may be written as well as read, so the statements that write files
(COPY, EXPORT DATABASE, ATTACH) are refused before they run. `allow_files=True` (`--allow-files`)
skips all of this: the query reads and writes files as the user running it may; the database stays
read-only either way.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from warehouse.load import connect

WRITES_FILES = {duckdb.StatementType.COPY: "COPY", duckdb.StatementType.EXPORT: "EXPORT DATABASE",
                duckdb.StatementType.ATTACH: "ATTACH", duckdb.StatementType.COPY_DATABASE: "COPY FROM DATABASE"}
HINT = "pass --allow-files to let this query read or write files outside the warehouse"


class Refused(PermissionError):
    """The query reaches outside the warehouse; the message says what to do."""


def export_dir(warehouse: str | Path) -> Path:
    """The warehouse's own Parquet export (`fengong export` writes it there by default)."""
    return Path(warehouse).absolute().parent / "parquet"


def open_for_queries(warehouse: str | Path, allow_files: bool = False) -> duckdb.DuckDBPyConnection:
    """A read-only connection for an analyst's query; without allow_files it reaches no other file
    than the warehouse and its export folder (raises load.WarehouseError when there is no warehouse)."""
    con = connect(warehouse, read_only=True)
    if allow_files:
        return con
    # a trailing separator: "…/parquet/" allows that folder, not also "…/parquet-old"
    con.execute("SET allowed_directories = ?", [[str(export_dir(warehouse)) + "/"]])
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def check_statements(con: duckdb.DuckDBPyConnection, query: str, allow_files: bool = False) -> None:
    """Raise Refused for a statement that writes files (the export folder is readable, not writable)."""
    if allow_files:
        return
    for st in con.extract_statements(query):
        if st.type in WRITES_FILES:
            raise Refused(f"{WRITES_FILES[st.type]} writes files, and `fengong sql` only reads the warehouse "
                          f"and its export folder; {HINT}")


def refusal(e: duckdb.Error) -> str | None:
    """One line for an error that DuckDB raised because the query reached outside (else None)."""
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    if isinstance(e, duckdb.PermissionException) or "the configuration has been locked" in msg:
        return f"{msg.removeprefix('Permission Error: ')}; `fengong sql` reads only the warehouse and " \
               f"its Parquet export; {HINT}"
    return None
