"""A batch of files in, parsed documents out: the parse step of a run, pure (bytes in, frames out).

One file's failure never stops the others: a file that cannot be read, a notice with no unit list,
or a parser error becomes a quarantine row naming the file and the reason.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from transforms.document import NoItemsFound, ParsedDocument, parse_document
from transforms.formats import source_spans
from transforms.frames import rows_frame
from transforms.text import UnreadableDocument


@dataclass
class SourceFile:
    path: Path
    name: str  # relative to raw/, as recorded in the warehouse
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class BatchResult:
    parsed: list[ParsedDocument] = field(default_factory=list)
    quarantined: list[dict] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (source_file, doc_id): content parsed under another name
    # seconds spent parsing and validating, and when the batch started and ended (epoch seconds,
    # comparable across the processes of one machine): the benchmark's stage times come from here
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for a person (Prefect's UI shows it as the task's result)."""
        return f"{len(self.parsed)} parsed, {len(self.quarantined)} quarantined"


def quarantine_row(f: SourceFile, stage: str, reason: str, details=None) -> dict:
    return {"source_file": f.name, "sha256": f.sha256, "stage": stage, "reason": reason, "details": details}


PAGES_SCHEMA = {"doc_id": pl.Utf8, "char_start": pl.Int64, "char_end": pl.Int64, "page": pl.Int32,
                "sheet": pl.Utf8, "sheet_row": pl.Int32}


def pages_frame(doc_id: str, spans) -> pl.DataFrame:
    """document_pages: (char_start, char_end, page, sheet, sheet_row) spans of a document's text; no
    rows for a .txt, .html or .docx."""
    return rows_frame([{"doc_id": doc_id, "char_start": a, "char_end": b, "page": p, "sheet": s, "sheet_row": r}
                       for a, b, p, s, r in spans], PAGES_SCHEMA)


def parsed_batch(files: list[SourceFile], reviewed=None) -> BatchResult:
    """Every file parsed (quarantine rows for those that cannot be), each content once: the same
    content under a second name is listed in `duplicates`, not parsed twice."""
    out = BatchResult()
    started = time.time()
    for f in files:
        try:
            doc = parse_document(f.data, f.name, reviewed=reviewed)
        except UnreadableDocument as e:
            out.quarantined.append(quarantine_row(f, "decode", f"cannot read {f.name}: {e}"))
            continue
        except NoItemsFound as e:
            out.quarantined.append(quarantine_row(f, "parse", f"{f.name}: {e}"))
            continue
        except Exception as e:  # a parser bug must not stop the other documents
            out.quarantined.append(quarantine_row(f, "parse", f"{f.name}: parser error {type(e).__name__}: {e}"))
            continue
        if any(d.doc_id == doc.doc_id for d in out.parsed):  # the same content under two names is loaded once
            out.duplicates.append((f.name, doc.doc_id))
            continue
        # where in the PDF or spreadsheet each span of the text comes from
        doc.frames["document_pages"] = pages_frame(doc.doc_id, source_spans(f.data, f.name))
        out.parsed.append(doc)
    ended = time.time()
    out.timings = {"start": started, "parse": ended - started, "validate": 0.0, "end": ended}
    return out
