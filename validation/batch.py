"""A parsed batch in, the rows that keep their contracts out: the validate step of a run.

The batch's frames are validated together (one pandera pass per frame, not per document). A notice
whose documents row fails, or one of whose frames fails as a whole, is quarantined. Every other
notice is kept: its rows that fail a contract, and the rows that depend on them, are moved to
frames["rejected_rows"] (validation.contracts.reject_rows), and what remains must pass. Error-level
quality findings (a cut-off item, a declared count that does not match) stay in quality_issues; the
notice loads (`fengong run --strict` fails on them).
"""

from __future__ import annotations

import time

import polars as pl

from transforms.batch import BatchResult
from transforms.document import ParsedDocument
from validation.contracts import describe, no_rejected_rows, reject_rows, validate_frames, wholesale


def concat_frames(docs: list[ParsedDocument]) -> dict[str, pl.DataFrame]:
    """The batch's frames, one per table; frames a document keeps without doc_id (units, unit
    aliases) get it, so the batch's contracts can tell the documents apart."""
    keys = docs[0].frames.keys()
    return {k: pl.concat([f if "doc_id" in (f := d.frames[k]).columns else f.with_columns(doc_id=pl.lit(d.doc_id))
                          for d in docs], how="vertical_relaxed") for k in keys}


def _quarantined(d: ParsedDocument, reason: str, details) -> dict:
    doc = d.frames["documents"].row(0, named=True)
    return {"source_file": doc["source_file"], "sha256": doc["sha256"], "stage": "validate",
            "reason": f"{doc['source_file']}: {reason}", "details": details}


def validated_batch(batch: BatchResult) -> BatchResult:
    """The batch with each document's failing rows set aside, and the documents that cannot be
    kept moved to its quarantine rows."""
    started = time.time()
    docs = batch.parsed
    if not docs:
        return batch
    failures = validate_frames(concat_frames(docs))
    if any(f["doc_id"] is None for f in failures):  # a frame fails as a whole: find whose
        failures = [{**x, "doc_id": d.doc_id} for d in docs for x in validate_frames(d.frames)]
    kept_docs, quarantined = [], list(batch.quarantined)
    for d in docs:
        mine = [f for f in failures if f["doc_id"] == d.doc_id]
        if whole := wholesale(mine):  # the documents row itself, or a frame with no row to blame
            quarantined.append(_quarantined(d, describe(whole), mine))
            continue
        rejected = no_rejected_rows()
        if mine:
            kept, rejected = reject_rows(d.frames, mine)
            if again := validate_frames(kept):  # removing rows never breaks a contract; if it does, say so
                quarantined.append(_quarantined(
                    d, f"still fails after {rejected.height} rejected row(s) were set aside: {describe(again)}", again))
                continue
            d.frames = kept
        d.frames["rejected_rows"] = rejected
        kept_docs.append(d)
    ended = time.time()
    timings = {**batch.timings, "validate": ended - started, "end": ended}
    return BatchResult(kept_docs, quarantined, batch.duplicates, timings)
