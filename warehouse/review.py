"""The reviewer's files: every unit name fengong could not resolve, with context and candidates
(unresolved_units.csv), and every item whose roles rest on weak evidence (low_confidence_items.csv).

A reviewer records a decision by adding a row to transforms/data/reviewed_aliases.csv
(jurisdiction, alias, canonical, functions, note); the next run applies it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from transforms import vocab

COLUMNS = ["jurisdiction", "mention", "candidates", "context", "source_file", "doc_id", "item_id"]


def candidates(mention: str, known: list[str], limit: int = 3) -> str:
    """Best-scoring known names: suggestions for a reviewer, never applied automatically."""
    hits = process.extract(mention, known, scorer=fuzz.WRatio, limit=limit)
    return "; ".join(f"{name} ({score:.0f})" for name, score, _ in hits if score >= 50)


# The unresolved mentions of the current documents, in file order; their context is cut from the
# document's text in Python (offsets count characters, in DuckDB as in Python).
REVIEW_MENTIONS = """
SELECT d.jurisdiction, a.mention, a.doc_id, d.source_file, a.item_id, a.char_start, a.char_end
FROM assignments a JOIN documents d USING (doc_id)
JOIN items i ON i.doc_id = a.doc_id AND i.item_id = a.item_id
WHERE NOT a.resolved AND NOT a.inherited AND d.retired_at IS NULL
ORDER BY d.source_file, i.seq, a.char_start
"""
# The texts of TEXTS_PER_QUERY documents per statement, by a constant list that DuckDB tests in the
# scan of document_texts: it reads those rows' texts only, and a statement holds every text it
# returns until it ends, with room to spare (on the 50,000-notice warehouse, 92 texts of ~40 KB in one
# statement ran out under a 40 MB limit and passed under 90 MB; a scan of every text, 130-170 MB). The
# 50,000-notice rebuild ran out of the writer's 256 MB when the texts of all 92 documents with an
# unresolved name were read in one statement, joined to the mentions: the run's connection held
# ~160 MB by then. Each statement scans the doc_id column (~3 ms at 50,000 notices), so one document
# a statement would cost 3 ms x documents with an unresolved name, at every run.
REVIEW_TEXTS = "SELECT doc_id, text FROM document_texts WHERE list_contains(?, doc_id)"
TEXTS_PER_QUERY = 16
CONTEXT_BEFORE, CONTEXT_AFTER = 30, 10


def review_rows(con) -> list[dict]:
    """Every unresolved mention of the current documents, from the warehouse (so a run that parsed
    only the new files still lists the names of all of them), in file order, with its context."""
    rel = con.execute(REVIEW_MENTIONS)
    cols = [c[0] for c in rel.description]
    rows = [dict(zip(cols, r)) for r in rel.fetchall()]
    by_doc: dict[str, list[dict]] = {}
    for r in rows:
        by_doc.setdefault(r["doc_id"], []).append(r)
    docs = list(by_doc)
    for i in range(0, len(docs), TEXTS_PER_QUERY):  # a few texts in memory at a time
        texts = dict(con.execute(REVIEW_TEXTS, [docs[i:i + TEXTS_PER_QUERY]]).fetchall())
        for doc_id in docs[i:i + TEXTS_PER_QUERY]:
            text = texts.get(doc_id)
            for r in by_doc[doc_id]:
                start, end = r.pop("char_start"), r.pop("char_end")
                r["context"] = (None if text is None else
                                text[max(start - CONTEXT_BEFORE, 0):end + CONTEXT_AFTER].replace("\n", " "))
    return rows


def write_review_file(path: Path, rows: list[dict], known_by_jurisdiction: dict[str, list[str]]) -> int:
    """One row per unresolved (jurisdiction, mention), with candidates; written whole or not at all."""
    generic = sorted({a.canonical for a in vocab.aliases().values()})
    first: dict[tuple[str, str], dict] = {}
    for r in rows:
        first.setdefault((r["jurisdiction"], r["mention"]), r)
    return write_rows(path, [{**r, "candidates": candidates(r["mention"], known_by_jurisdiction.get(r["jurisdiction"], [])
                                                             + generic)} for r in first.values()], COLUMNS)


LOW_CONFIDENCE_COLUMNS = ["source_file", "item", "confidence", "evidence", "text", "doc_id", "item_id"]
LOW_CONFIDENCE = """
SELECT d.source_file, array_to_string(list_append(i.parent_nos, coalesce(i.item_no, '-')), '/') AS item,
       i.confidence, left(i.text, 60) AS text, i.doc_id, i.item_id
FROM items i JOIN documents d USING (doc_id)
WHERE i.confidence < ? AND d.retired_at IS NULL
ORDER BY d.source_file, i.seq
"""
# the evidence of those items, read from the assignments of their documents only (as a subquery per
# item, it read all 22 M assignments: 0.3 s of every run at 50,000 notices)
EVIDENCE = """
SELECT item_id, string_agg(role || ' ' || mention || ' [' || cue || ', ' || rule || ']', '; ' ORDER BY role, ord)
FROM assignments WHERE {docs} AND {items} GROUP BY item_id
"""


def low_confidence_rows(con) -> list[dict]:
    """Items of the current documents whose roles rest on evidence below roles.yaml low_confidence
    (a bare list, a table row whose cell boundary could not be seen, no unit at all), with the
    evidence: each role, mention, cue and rule."""
    from warehouse.marts import among

    rel = con.execute(LOW_CONFIDENCE, [vocab.roles().low_confidence])
    cols = [c[0] for c in rel.description]
    rows = [dict(zip(cols, r)) for r in rel.fetchall()]
    docs, items = sorted({r["doc_id"] for r in rows}), [r["item_id"] for r in rows]
    evidence = dict(con.execute(EVIDENCE.format(docs=among("doc_id", docs), items=among("item_id", items)),
                                [docs, items]).fetchall()) if rows else {}
    return [{**r, "evidence": evidence.get(r["item_id"])} for r in rows]


def write_rows(path: Path, rows: list[dict], columns: list[str]) -> int:
    """A CSV written whole or not at all (a temporary file, then os.replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        w.writerows({k: r.get(k) for k in columns} for r in rows)
    tmp.replace(path)
    return len(rows)


@dataclass
class ReviewFiles:
    """What the reviewer's files will hold, read from the staging copy before it is published."""
    unresolved: list[dict]
    known: dict[str, list[str]]  # resolved unit names per jurisdiction: the candidates offered
    low_confidence: list[dict]


def review_files_of(con) -> ReviewFiles:
    rows = review_rows(con)
    known = {j: [n for (n,) in con.execute(
        "SELECT DISTINCT name FROM units WHERE resolved AND jurisdiction = ?", [j]).fetchall()]
        for j in {r["jurisdiction"] for r in rows}}
    return ReviewFiles(rows, known, low_confidence_rows(con))


def write_review_files(unresolved_csv: Path, files: ReviewFiles) -> tuple[int, int]:
    """unresolved_units.csv and, beside it, low_confidence_items.csv; returns their row counts."""
    return (write_review_file(unresolved_csv, files.unresolved, files.known),
            write_rows(unresolved_csv.with_name("low_confidence_items.csv"), files.low_confidence,
                       LOW_CONFIDENCE_COLUMNS))
