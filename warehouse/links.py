"""task_links: the links from annual items to the five-year (and earlier annual) items they carry out.

A jurisdiction's links depend only on its own documents, so `refresh_task_links(con, jurisdictions)`
reads the items, lead units and indicators of those jurisdictions, calls transforms.links.task_links
and replaces their rows. `warehouse.marts.refresh_marts` calls it for the jurisdictions it recomputes,
at the end of every run and prune, inside the same transaction.
"""

from __future__ import annotations

import duckdb
import polars as pl

from transforms import links as tl
from validation.models import TaskLinkModel

CHUNK = 50  # jurisdictions read and linked at a time: memory bounded by the largest chunk

_DOCS = "SELECT doc_id, coalesce(jurisdiction, '') AS jurisdiction, doc_kind, period_start, period_end, " \
        "period_year FROM documents WHERE list_contains($j, coalesce(jurisdiction, ''))"


def link_inputs(con: duckdb.DuckDBPyConnection, jurisdictions: list[str]) -> dict[str, pl.DataFrame]:
    """The frames transforms.links.task_links reads, for these jurisdictions' documents."""
    q = lambda sql: con.execute(sql, {"j": jurisdictions}).pl()  # noqa: E731
    return {
        "documents": q(_DOCS),
        "items": q(f"""SELECT i.doc_id, i.item_id, i.item_kind, i.text, i.char_start, s.title AS heading
                       FROM items i JOIN ({_DOCS}) d USING (doc_id)
                       LEFT JOIN sections s ON s.doc_id = i.doc_id AND s.section_id = i.section_id"""),
        "assignments": q(f"""SELECT a.doc_id, a.item_id, a.role, a.unit_id, a.mention FROM assignments a
                             JOIN ({_DOCS}) d USING (doc_id) WHERE a.role IN ('lead', 'overall_lead')"""),
        "units": q(f"""SELECT DISTINCT u.unit_id, u.name, u.functions FROM units u
                       WHERE u.unit_id IN (SELECT a.unit_id FROM assignments a JOIN ({_DOCS}) d USING (doc_id))"""),
        "indicators": q(f"""SELECT x.doc_id, x.item_id, x.metric, x.metric_code FROM indicators x
                            JOIN ({_DOCS}) d USING (doc_id)"""),
    }


def refresh_task_links(con: duckdb.DuckDBPyConnection, jurisdictions: list[str], whole: bool = False) -> int:
    """Recompute the links of these jurisdictions ('' = documents with none); with `whole`, every
    other row goes too. Returns the rows written. Call inside the caller's transaction."""
    if whole:
        con.execute("DELETE FROM task_links")
    elif jurisdictions:
        con.execute("DELETE FROM task_links WHERE list_contains($j, jurisdiction)", {"j": jurisdictions})
    written = 0
    for i in range(0, len(jurisdictions), CHUNK):
        f = link_inputs(con, jurisdictions[i:i + CHUNK])
        if f["documents"].filter(pl.col("doc_kind") == "gwr").is_empty():
            continue
        links = tl.task_links(f["documents"], f["items"], f["assignments"], f["units"], f["indicators"])
        if links.is_empty():
            continue
        links = TaskLinkModel.validate(links, lazy=True)
        con.register("task_links_frame", links.to_arrow())
        try:
            con.execute("INSERT INTO task_links BY NAME SELECT * FROM task_links_frame")
        finally:
            con.unregister("task_links_frame")
        written += links.height
    return written
