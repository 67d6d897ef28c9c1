"""Materialised marts: units, v_department_load and v_function_leads read tables, refreshed per run.

Their definitions are the table macros calc_department_load(jurisdictions) and
calc_function_leads(jurisdictions) in models/02_marts.sql.
Counting distinct items over every assignment takes seconds on a national warehouse, too slow for
an analyst's every query, so the result is kept in mart_* tables. Every count in them is within one
jurisdiction, so a jurisdiction's rows depend only on its own documents: `refresh_marts` recomputes
the jurisdictions whose documents changed since the last refresh (a document loaded, reloaded,
deleted or pruned) and leaves the rest. It runs at the end of every run and prune, inside the
staging copy, so readers never see marts that disagree with the tables.

`units` (mart_units) merges what documents of several jurisdictions said of a unit (a national
unit is named in many), so its rows are recomputed per unit: those named by a document of a stale
jurisdiction, now or at the last refresh (`mart_unit_scope` remembers which jurisdictions' documents
named each unit, so a unit that only a deleted document named is found too).

`mart_state` keeps, per jurisdiction, a fingerprint of its documents (doc_id and loaded_at) and of
what the marts are computed from (the model SQL, the functions table); a change of either is stale.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

MARTS = {"mart_department_load": "calc_department_load", "mart_function_leads": "calc_function_leads"}
MODELS = Path(__file__).parent / "models"
CHUNK = 250  # jurisdictions per statement of a refresh

# per jurisdiction ('' for documents with none): a fingerprint of its documents, salted with $salt
_CURRENT = """
    SELECT coalesce(jurisdiction, '') AS jurisdiction,
           md5($salt || string_agg(doc_id || '@' || coalesce(CAST(loaded_at AS VARCHAR), ''), ',' ORDER BY doc_id))
               AS state
    FROM documents GROUP BY 1"""


def definitions_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """What every mart row is computed from besides the documents: model SQL and the functions table."""
    sql = "".join(p.read_text(encoding="utf-8") for p in sorted(MODELS.glob("*.sql")))
    functions = con.execute("SELECT string_agg(code || '|' || coalesce(name_zh, ''), ',' ORDER BY code) "
                            "FROM functions").fetchone()[0] or ""
    return hashlib.sha256((sql + "\0" + functions).encode()).hexdigest()[:16]


def stale_jurisdictions(con: duckdb.DuckDBPyConnection, salt: str) -> list[str]:
    """Jurisdictions whose documents (or the definitions) changed since the marts were refreshed,
    including jurisdictions whose last document is gone."""
    return [j for (j,) in con.execute(f"""
        WITH current AS ({_CURRENT})
        SELECT coalesce(c.jurisdiction, s.jurisdiction) FROM current c
        FULL JOIN mart_state s USING (jurisdiction)
        WHERE c.state IS DISTINCT FROM s.state ORDER BY 1""", {"salt": salt}).fetchall()]


def refresh_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Bring the mart tables up to date; returns the jurisdictions recomputed. Call inside the
    caller's transaction (or in autocommit: then it is its own transaction)."""
    salt = definitions_fingerprint(con)
    stale = stale_jurisdictions(con, salt)
    if not stale:
        return []
    current = {j for (j,) in con.execute("SELECT DISTINCT coalesce(jurisdiction, '') FROM documents").fetchall()}
    whole = current <= set(stale)  # the first build, or a definition changed: (re)create every table
    _refresh_units(con, stale, whole)  # before the marts that read units
    for table, calc in MARTS.items():
        if whole:  # the table's columns follow the definition
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {calc}([]) LIMIT 0")
        else:
            con.execute(f"DELETE FROM {table} WHERE list_contains($j, coalesce(jurisdiction, ''))", {"j": stale})
        # a few hundred jurisdictions at a time: the distinct counts over every jurisdiction at once
        # needed more than 256 MB at 10,000 notices (the writer's limit); a chunk's memory does not grow with the corpus
        for i in range(0, len(stale), CHUNK):
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {calc}($j)", {"j": stale[i:i + CHUNK]})
    con.execute("DELETE FROM mart_state")
    con.execute(f"INSERT INTO mart_state {_CURRENT}", {"salt": salt})
    return stale


_UNIT_SCOPE = """SELECT DISTINCT u.unit_id, coalesce(d.jurisdiction, '') AS jurisdiction
                 FROM doc_units u JOIN scope_documents($j) d USING (doc_id)"""


def _refresh_units(con: duckdb.DuckDBPyConnection, stale: list[str], whole: bool) -> None:
    if whole:
        con.execute("CREATE OR REPLACE TABLE mart_units AS SELECT * FROM calc_units")
        con.execute("DELETE FROM mart_unit_scope")
        con.execute(f"INSERT INTO mart_unit_scope {_UNIT_SCOPE}", {"j": stale})
        return
    units = [u for (u,) in con.execute(f"""
        SELECT unit_id FROM mart_unit_scope WHERE list_contains($j, jurisdiction)
        UNION SELECT unit_id FROM ({_UNIT_SCOPE})""", {"j": stale}).fetchall()]
    # a constant list, not a subquery: DuckDB then filters doc_units as it scans them (a join read
    # every column of every row: 0.5 s on a 10,000-notice warehouse)
    con.execute("DELETE FROM mart_units WHERE list_contains(?, unit_id)", [units])
    con.execute("INSERT INTO mart_units BY NAME SELECT * FROM calc_units WHERE list_contains(?, unit_id)", [units])
    con.execute("DELETE FROM mart_unit_scope WHERE list_contains($j, jurisdiction)", {"j": stale})
    con.execute(f"INSERT INTO mart_unit_scope {_UNIT_SCOPE}", {"j": stale})
