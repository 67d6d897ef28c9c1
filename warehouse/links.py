"""task_links: the links from annual items to the five-year (and earlier annual) items they carry out.

A jurisdiction's links depend only on its own documents, so `refresh_task_links` reads the items,
lead units and indicators of a few jurisdictions at a time, calls transforms.links.task_links and
replaces their rows. Which jurisdictions: those whose fingerprint (their documents, the rules; the
marts' fingerprint) differs from the one in links_state, the table of what each jurisdiction's links
were computed from. `warehouse.marts.refresh_marts` forgets the state of the jurisdictions it
recomputes (so a unit's new name or function reaches the links too) and calls it at the end of every
run and prune, inside the same transaction.

Linking costs more than parsing (~70 ms of CPU per notice), so a run may be given a budget in
seconds: it links pending jurisdictions until the budget is spent and leaves the rest pending, and
the next runs (a `fengong serve` schedule, or `fengong run` again) go on. `pending_jurisdictions`
says how many are left; `fengong run` prints it.
"""

from __future__ import annotations

import time

import duckdb
import polars as pl

from transforms import links as tl

# documents read and linked at a time (a jurisdiction is never split): memory is bounded by the
# largest chunk, and the budget is kept to about one chunk's time (~75 ms a document at 10,000
# notices, ~170 ms at 50,000, where a city has more annual notices to pair). 50 jurisdictions at a
# time took 137 s at 50,000 notices, past a 60 s budget.
DOCS_PER_CHUNK = 100

_DOCS = "SELECT doc_id, coalesce(jurisdiction, '') AS jurisdiction, doc_kind, period_start, period_end, " \
        "period_year FROM documents WHERE list_contains($j, coalesce(jurisdiction, ''))"


def link_inputs(con: duckdb.DuckDBPyConnection, jurisdictions: list[str]) -> dict[str, pl.DataFrame]:
    """The frames transforms.links.task_links reads, for these jurisdictions' documents. Their doc_ids,
    when few, are a constant list tested in each table's scan (marts.among: 0.9 s against 0.3 s for a
    12-document jurisdiction at 50,000 notices; a join with the documents reads every row's columns first)."""
    from warehouse.marts import among

    documents = con.execute(_DOCS, {"j": jurisdictions}).pl()
    ids = documents["doc_id"].to_list()
    scope = lambda alias: among(f"{alias}.doc_id", ids)  # noqa: E731
    q = lambda sql: con.execute(sql, [ids] * sql.count("?")).pl()  # noqa: E731
    return {
        "documents": documents,
        "items": q(f"""SELECT i.doc_id, i.item_id, i.item_kind, i.text, i.char_start, s.title AS heading
                       FROM items i
                       LEFT JOIN (SELECT * FROM sections s WHERE {scope('s')}) s
                         ON s.doc_id = i.doc_id AND s.section_id = i.section_id
                       WHERE {scope('i')}"""),
        "assignments": q(f"""SELECT a.doc_id, a.item_id, a.role, a.unit_id, a.mention FROM assignments a
                             WHERE {scope('a')} AND a.role IN ('lead', 'overall_lead')"""),
        "units": q(f"""SELECT DISTINCT u.unit_id, u.name, u.functions FROM units u
                       WHERE u.unit_id IN (SELECT a.unit_id FROM assignments a WHERE {scope('a')})"""),
        "indicators": q(f"""SELECT x.doc_id, x.item_id, x.metric, x.metric_code FROM indicators x
                            WHERE {scope('x')}"""),
    }


def forget(con: duckdb.DuckDBPyConnection, jurisdictions: list[str], whole: bool = False) -> None:
    """Mark these jurisdictions' links pending (every jurisdiction's, with `whole`)."""
    if whole:
        con.execute("DELETE FROM links_state")
    elif jurisdictions:
        con.execute("DELETE FROM links_state WHERE list_contains($j, jurisdiction)", {"j": jurisdictions})


def pending_jurisdictions(con: duckdb.DuckDBPyConnection, salt: str) -> tuple[list[str], list[str]]:
    """(jurisdictions to link, jurisdictions gone whose links are to delete), read-only."""
    from warehouse.marts import CURRENT_STATE

    rows = con.execute(f"""
        WITH current AS ({CURRENT_STATE})
        SELECT coalesce(c.jurisdiction, s.jurisdiction), c.state IS NULL FROM current c
        FULL JOIN links_state s USING (jurisdiction)
        WHERE c.state IS DISTINCT FROM s.state ORDER BY 1""", {"salt": salt}).fetchall()
    return [j for j, gone in rows if not gone], [j for j, gone in rows if gone]


def refresh_task_links(con: duckdb.DuckDBPyConnection, salt: str, budget_s: float | None = None) -> tuple[int, int]:
    """Link the pending jurisdictions, about DOCS_PER_CHUNK documents at a time, while `budget_s`
    seconds allow (None: all of them; 0: none). Returns (jurisdictions linked, jurisdictions still
    pending). Call inside the caller's transaction.

    A chunk is started only when the time per document so far says it ends within the budget; the
    first chunk is always linked, so every run with a budget makes progress."""
    from warehouse.marts import CURRENT_STATE, by_documents

    todo, gone = pending_jurisdictions(con, salt)
    if gone:
        con.execute("DELETE FROM task_links WHERE list_contains($j, jurisdiction)", {"j": gone})
        con.execute("DELETE FROM links_state WHERE list_contains($j, jurisdiction)", {"j": gone})
    if budget_s is not None and budget_s <= 0:
        return 0, len(todo)
    started, done, docs_done = time.monotonic(), 0, 0
    for chunk, docs in by_documents(con, todo, DOCS_PER_CHUNK):
        spent = time.monotonic() - started
        if budget_s is not None and docs_done and spent + spent / docs_done * docs > budget_s:
            break
        con.execute("DELETE FROM task_links WHERE list_contains($j, jurisdiction)", {"j": chunk})
        _link(con, chunk)
        con.execute("DELETE FROM links_state WHERE list_contains($j, jurisdiction)", {"j": chunk})
        con.execute(f"INSERT INTO links_state SELECT * FROM ({CURRENT_STATE}) WHERE list_contains($j, jurisdiction)",
                    {"salt": salt, "j": chunk})
        done, docs_done = done + len(chunk), docs_done + max(docs, 1)
    return done, len(todo) - done


def _link(con: duckdb.DuckDBPyConnection, jurisdictions: list[str]) -> int:
    # imported here: pandera (with pandas) takes 0.6 s to import, and a run that links nothing
    # imports this module all the same (warehouse/incremental.py); scikit-learn likewise (transforms/links.py)
    from validation.models import TaskLinkModel

    f = link_inputs(con, jurisdictions)
    if f["documents"].filter(pl.col("doc_kind") == "gwr").is_empty():
        return 0
    links = tl.task_links(f["documents"], f["items"], f["assignments"], f["units"], f["indicators"])
    if links.is_empty():
        return 0
    links = TaskLinkModel.validate(links, lazy=True)
    con.register("task_links_frame", links.to_arrow())
    try:
        con.execute("INSERT INTO task_links BY NAME SELECT * FROM task_links_frame")
    finally:
        con.unregister("task_links_frame")
    return links.height
