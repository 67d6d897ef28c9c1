"""What a run did, in numbers: the counts of its steps, unit coverage, what is still quarantined or
rejected in the current documents. Read from the staging copy, recorded in the run log (`runs`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from warehouse.incremental import Counts


@dataclass
class RunSummary(Counts):
    run_id: str = ""
    seconds: float = 0.0
    warehouse: str = ""
    review_file: str | None = None
    unresolved: int = 0
    low_confidence: int = 0     # items whose roles rest on weak evidence, in review/low_confidence_items.csv
    mentions: int = 0
    mentions_resolved: int = 0
    units: int = 0
    units_with_function: int = 0
    still_quarantined: int = 0  # files now in raw/ with a quarantine row (this run's or an earlier one's)
    # current documents (a name in raw/) with rows that failed a contract, and with error-level findings
    rejected_rows: int = 0
    rejected_documents: int = 0
    error_issues: int = 0
    error_documents: int = 0
    waited_s: float = 0.0
    forced: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def current_problems(con) -> dict[str, int]:
    """Rows set aside by the contracts and error-level quality findings, in the current documents
    (those with a name in raw/; call after retire_missing)."""
    r = con.execute("""
        WITH cur AS (SELECT doc_id FROM documents WHERE retired_at IS NULL),
             rej AS (SELECT DISTINCT doc_id, frame, row_no FROM rejected_rows WHERE doc_id IN (SELECT doc_id FROM cur)),
             err AS (SELECT doc_id FROM quality_issues WHERE severity = 'error' AND doc_id IN (SELECT doc_id FROM cur))
        SELECT (SELECT count(*) FROM rej), (SELECT count(DISTINCT doc_id) FROM rej),
               (SELECT count(*) FROM err), (SELECT count(DISTINCT doc_id) FROM err)""").fetchone()
    return dict(zip(("rejected_rows", "rejected_documents", "error_issues", "error_documents"), r))


def run_summary(con, counts: Counts, present: list[str], **run) -> RunSummary:
    """The run's counts with the warehouse's state after it: unit coverage, files still quarantined
    among `present` (the names now in raw/), rejected rows and error-level findings."""
    mentions, resolved, units, with_function = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE resolved),
               (SELECT count(*) FROM units), (SELECT count(*) FROM units WHERE len(functions) > 0)
        FROM assignments WHERE NOT inherited""").fetchone()
    # counted here, not with a list parameter (which makes DuckDB import pandas, ~1 s of a quick run)
    names = set(present)
    still_q = sum(n in names for (n,) in con.execute("SELECT source_file FROM quarantine").fetchall())
    return RunSummary(**asdict(counts), mentions=mentions, mentions_resolved=resolved, units=units,
                      units_with_function=with_function, still_quarantined=still_q, **current_problems(con), **run)
