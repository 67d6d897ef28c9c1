"""Materialised marts: units, v_department_load and v_function_leads read tables, and task_links
(warehouse/links.py), refreshed per run.

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
named each unit, so a unit that only a deleted document named is found too). The marts read a
unit's name and functions, so when those change, every jurisdiction whose documents name the unit is
recomputed as well.

`mart_state` keeps, per jurisdiction, a fingerprint of its documents (doc_id and loaded_at) and of
what the marts are computed from (the model SQL, the functions table); a change of either is stale.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from transforms.vocab import DATA_DIR
from warehouse import links

MARTS = {"mart_department_load": "calc_department_load", "mart_function_leads": "calc_function_leads"}
MODELS = Path(__file__).parent / "models"
# documents per statement of a refresh: its memory grows with the assignments it counts (DISTINCT), and
# each statement scans the assignments once. 250 jurisdictions at a time ran a 50,000-notice rebuild out
# of the writer's 256 MB; 50 at a time scanned the assignments 600 times. About 2,000 documents (~0.9 M
# assignment rows) at a time: 5 statements at 10,000 notices, 25 at 50,000.
DOCS_PER_CHUNK = 2_000
JURISDICTION = "coalesce(jurisdiction, '')"  # documents with none are the jurisdiction ''

# per jurisdiction ('' for documents with none): a fingerprint of its documents, salted with $salt
CURRENT_STATE = _CURRENT = """
    SELECT coalesce(jurisdiction, '') AS jurisdiction,
           md5($salt || string_agg(doc_id || '@' || coalesce(CAST(loaded_at AS VARCHAR), ''), ',' ORDER BY doc_id))
               AS state
    FROM documents GROUP BY 1"""


def definitions_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """What every mart row is computed from besides the documents: model SQL, the functions table,
    and the task links' rules (their data files in transforms/data/, transforms/links.py's version)."""
    from transforms.links import LINKS_DATA_FILES, LINKS_VERSION

    sql = "".join(p.read_text(encoding="utf-8") for p in sorted(MODELS.glob("*.sql")))
    sql += "".join((DATA_DIR / f).read_text(encoding="utf-8") for f in LINKS_DATA_FILES) + LINKS_VERSION
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


def refresh_marts(con: duckdb.DuckDBPyConnection, links_budget_s: float | None = None) -> list[str]:
    """Bring the mart tables up to date, and the task links for at most `links_budget_s` seconds (None:
    all; warehouse/links.py); returns the jurisdictions whose marts were recomputed. Call inside the
    caller's transaction (or in autocommit: then it is its own transaction)."""
    salt = definitions_fingerprint(con)
    targets = refresh_mart_tables(con, salt)
    links.refresh_task_links(con, salt, links_budget_s)
    return targets


def refresh_mart_tables(con: duckdb.DuckDBPyConnection, salt: str) -> list[str]:
    """The mart tables alone (their jurisdictions' task links become pending); `salt`: the
    definitions' fingerprint. Returns the jurisdictions recomputed."""
    stale = stale_jurisdictions(con, salt)
    if not stale:
        return []
    current = {j for (j,) in con.execute("SELECT DISTINCT coalesce(jurisdiction, '') FROM documents").fetchall()}
    whole = current <= set(stale)  # the first build, or a definition changed: (re)create every table
    # units first: the marts read their names and functions, so a jurisdiction whose documents name
    # a unit that changed (a document elsewhere gave it a function) is recomputed too
    targets = sorted(set(stale) | _refresh_units(con, stale, whole))
    # a chunk of a few documents (a run with a new notice) passes their doc_ids: the macros test
    # them in the scan of assignments (models/02_marts.sql), 0.43 s less per mart at 50,000 notices
    chunks = [(chunk, _doc_ids(con, chunk) if n <= SHORT_LIST else None)
              for chunk, n in by_documents(con, targets, DOCS_PER_CHUNK)]
    for table, calc in MARTS.items():
        if whole:  # the table's columns follow the definition
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {calc}([]) LIMIT 0")
        else:
            con.execute(f"DELETE FROM {table} WHERE {among(JURISDICTION, targets)}", [targets])
        # a few thousand documents at a time: the distinct counts over every jurisdiction at once
        # needed more than 256 MB at 10,000 notices (the writer's limit); a chunk's memory does not
        # grow with the corpus
        for chunk, docs in chunks:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {calc}($j, docs := $d)", {"j": chunk, "d": docs})
    # task_links: links within a jurisdiction, from its annual notices to its plans (warehouse/links.py);
    # these jurisdictions' links are pending now (a unit's name or functions may have changed)
    links.forget(con, targets, whole=whole)
    con.execute("DELETE FROM mart_state")
    con.execute(f"INSERT INTO mart_state {_CURRENT}", {"salt": salt})
    return targets


def by_documents(con: duckdb.DuckDBPyConnection, jurisdictions: list[str], per_chunk: int):
    """The jurisdictions in runs of about `per_chunk` documents (a large one alone), each run with
    its number of documents."""
    counts = dict(con.execute(f"SELECT {JURISDICTION}, count(*) FROM documents GROUP BY 1").fetchall())
    chunk: list[str] = []
    n = 0
    for j in jurisdictions:
        if chunk and n + counts.get(j, 0) > per_chunk:
            yield chunk, n
            chunk, n = [], 0
        chunk.append(j)
        n += counts.get(j, 0)
    if chunk:
        yield chunk, n


def _doc_ids(con: duckdb.DuckDBPyConnection, jurisdictions: list[str]) -> list[str]:
    return [d for (d,) in con.execute("SELECT doc_id FROM scope_documents($j) ORDER BY 1", {"j": jurisdictions}).fetchall()]


SHORT_LIST = 256  # values a constant list may hold (among, the marts' docs); a longer one costs more per row than a join


def among(column: str, values: list) -> str:
    """SQL that is true where `column` is one of `values` (bound as the one positional parameter).
    A short list is a constant that DuckDB tests as it scans (a join with a subquery read every
    column of every row first: 0.5 s for doc_units at 10,000 notices); list_contains tests each row
    against the whole list, so a long one is a hash semi-join (10,000 values over 200,000 rows: 1.7 s
    as list_contains, 15 ms as a join)."""
    return f"list_contains(?, {column})" if len(values) <= SHORT_LIST else f"{column} IN (SELECT unnest(?))"


_UNIT_SCOPE = """SELECT DISTINCT u.unit_id, coalesce(d.jurisdiction, '') AS jurisdiction
                 FROM doc_units u JOIN scope_documents($j) d USING (doc_id)"""
UNITS_PER_CHUNK = 100_000  # doc_units rows per statement of a whole rebuild of mart_units


def _refresh_units(con: duckdb.DuckDBPyConnection, stale: list[str], whole: bool) -> set[str]:
    """Recompute the units named by documents of the stale jurisdictions (all of them if `whole`).
    Returns the other jurisdictions whose documents name a unit whose name or functions changed."""
    if whole:
        con.execute("CREATE OR REPLACE TABLE mart_units AS SELECT * FROM calc_units LIMIT 0")
        parts = 1 + con.execute("SELECT count(*) FROM doc_units").fetchone()[0] // UNITS_PER_CHUNK
        for i in range(parts):  # by a hash of the unit: bounded memory, however many units there are
            con.execute("INSERT INTO mart_units BY NAME SELECT * FROM calc_units_in(?, ?)", [parts, i])
        con.execute("DELETE FROM mart_unit_scope")
        con.execute(f"INSERT INTO mart_unit_scope {_UNIT_SCOPE}", {"j": stale})
        return set()
    units = [u for (u,) in con.execute(f"""
        SELECT unit_id FROM mart_unit_scope WHERE list_contains($j, jurisdiction)
        UNION SELECT unit_id FROM ({_UNIT_SCOPE})""", {"j": stale}).fetchall()]
    these = among("unit_id", units)
    con.execute(f"CREATE OR REPLACE TEMP TABLE units_before AS SELECT unit_id, name, functions FROM mart_units "
                f"WHERE {these}", [units])
    con.execute(f"DELETE FROM mart_units WHERE {these}", [units])
    con.execute("INSERT INTO mart_units BY NAME SELECT * FROM calc_units_of(?)", [units])
    con.execute("DELETE FROM mart_unit_scope WHERE list_contains($j, jurisdiction)", {"j": stale})
    con.execute(f"INSERT INTO mart_unit_scope {_UNIT_SCOPE}", {"j": stale})
    changed_in = {j for (j,) in con.execute(f"""
        SELECT DISTINCT jurisdiction FROM mart_unit_scope WHERE unit_id IN (
            SELECT unit_id FROM units_before b
            FULL JOIN (SELECT unit_id, name, functions FROM mart_units WHERE {these}) a USING (unit_id)
            WHERE b.name IS DISTINCT FROM a.name OR b.functions IS DISTINCT FROM a.functions)""", [units]).fetchall()}
    con.execute("DROP TABLE units_before")
    return changed_in - set(stale)
