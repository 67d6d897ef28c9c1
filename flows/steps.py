"""The plain functions the flow's tasks call: read files, parse and validate a batch, summarise.

No Prefect here, so each step can be tested and benchmarked on its own.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from transforms.document import NoItemsFound, ParsedDocument, parse_document
from transforms.formats import source_spans
from transforms.text import UnreadableDocument
from validation.contracts import describe, no_rejected_rows, reject_rows, validate_frames, wholesale



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


def discover(raw_dir: Path) -> list[Path]:
    """Every file under raw/, sorted, hidden files skipped. Files in other formats are not skipped
    silently: reading them says what they are (a PDF, an image…) and they are quarantined."""
    return [p for p, _, _ in list_raw(raw_dir)]


def list_raw(raw_dir: Path, linked_dirs: list[str] | None = None) -> list[tuple[Path, str, bool]]:
    """(path, name relative to raw/, whether it is a symbolic link) of every file under raw/, sorted
    as `discover` sorts. As Path.rglob did: links to files are listed (scan_raw checks where they
    lead), links to folders are not followed (a loop, or a link to /, would otherwise be walked),
    and a folder that cannot be read is skipped. os.scandir gives the file types without a stat per
    file (10,000 files: 0.1 s, where Path.rglob and is_file took 0.3-0.5 s). The names of the links
    to folders that were not followed are appended to `linked_dirs`, when given."""
    found: list[tuple[tuple[str, ...], bool]] = []

    def walk(folder: str, parts: tuple[str, ...]) -> None:
        try:
            with os.scandir(folder) as entries:
                for e in entries:
                    if e.name.startswith("."):
                        continue
                    if e.is_file():
                        found.append((parts + (e.name,), e.is_symlink()))
                    elif e.is_dir(follow_symlinks=False):
                        walk(e.path, parts + (e.name,))
                    elif linked_dirs is not None and e.is_dir():
                        linked_dirs.append("/".join(parts + (e.name,)))
        except PermissionError:
            pass

    walk(str(raw_dir), ())
    found.sort()
    return [(raw_dir.joinpath(*parts), "/".join(parts), linked) for parts, linked in found]


def read_files(paths: list[Path], raw_dir: Path) -> list[SourceFile]:
    return [SourceFile(p, p.relative_to(raw_dir).as_posix(), p.read_bytes()) for p in paths]


def _quarantine_row(f: SourceFile, stage: str, reason: str, details=None) -> dict:
    return {"source_file": f.name, "sha256": f.sha256, "stage": stage, "reason": reason, "details": details}


def parse_and_validate(files: list[SourceFile], reviewed=None) -> BatchResult:
    """Parse every file; validate the batch's frames together; set aside the rows that fail.

    Quarantined: a file that cannot be read, a notice with no unit list (NoItemsFound), and a notice
    whose documents row fails its contract (or one of whose frames fails as a whole). Every other
    notice is kept: its rows that fail a contract, and the rows that depend on them, are moved to
    frames["rejected_rows"] (validation.contracts.reject_rows), and what remains must pass. Error-level
    quality findings (a cut-off item, a declared count that does not match) stay in quality_issues;
    the notice loads (`fengong run --strict` fails on them)."""
    out = BatchResult()
    started = time.time()
    for f in files:
        try:
            out.parsed.append(parse_document(f.data, f.name, reviewed=reviewed))
        except UnreadableDocument as e:
            out.quarantined.append(_quarantine_row(f, "decode", f"cannot read {f.name}: {e}"))
        except NoItemsFound as e:
            out.quarantined.append(_quarantine_row(f, "parse", f"{f.name}: {e}"))
        except Exception as e:  # a parser bug must not stop the other documents
            out.quarantined.append(_quarantine_row(f, "parse", f"{f.name}: parser error {type(e).__name__}: {e}"))
    parsed_at = time.time()
    out.timings = {"start": started, "parse": parsed_at - started, "validate": 0.0, "end": parsed_at}
    if not out.parsed:
        return out
    by_id: dict[str, ParsedDocument] = {}
    for d in out.parsed:  # the same content under two names is loaded once; the other names are kept
        if by_id.setdefault(d.doc_id, d) is not d:
            out.duplicates.append((d.frames["documents"]["source_file"][0], d.doc_id))
    docs = list(by_id.values())
    failures = validate_frames(concat_frames(docs))
    if any(f["doc_id"] is None for f in failures):  # a frame fails as a whole: find whose
        failures = [{**x, "doc_id": d.doc_id} for d in docs for x in validate_frames(d.frames)]
    bad: set[str] = set()
    names = {f.name: f for f in files}
    for d in docs:
        mine = [f for f in failures if f["doc_id"] == d.doc_id]
        src = names[d.frames["documents"]["source_file"][0]]
        if whole := wholesale(mine):  # the documents row itself, or a frame with no row to blame
            bad.add(d.doc_id)
            out.quarantined.append(_quarantine_row(src, "validate", f"{src.name}: {describe(whole)}", mine))
            continue
        rejected = no_rejected_rows()
        if mine:
            kept, rejected = reject_rows(d.frames, mine)
            if again := validate_frames(kept):  # removing rows never breaks a contract; if it does, say so
                bad.add(d.doc_id)
                out.quarantined.append(_quarantine_row(
                    src, "validate", f"{src.name}: still fails after {rejected.height} rejected row(s) were set "
                                     f"aside: {describe(again)}", again))
                continue
            d.frames = kept
        d.frames["rejected_rows"] = rejected
    out.parsed = [d for d in docs if d.doc_id not in bad]
    for d in out.parsed:  # where in the PDF or spreadsheet each span of the text comes from
        src = names[d.frames["documents"]["source_file"][0]]
        d.frames["document_pages"] = pages_frame(d.doc_id, source_spans(src.data, src.name))
    ended = time.time()
    out.timings.update(end=ended, validate=ended - parsed_at)
    return out


PAGES_SCHEMA = {"doc_id": pl.Utf8, "char_start": pl.Int64, "char_end": pl.Int64, "page": pl.Int32,
                "sheet": pl.Utf8, "sheet_row": pl.Int32}


def pages_frame(doc_id: str, spans) -> pl.DataFrame:
    """document_pages: (char_start, char_end, page, sheet, sheet_row) spans of a document's text; no
    rows for a .txt, .html or .docx."""
    return pl.DataFrame([{"doc_id": doc_id, "char_start": a, "char_end": b, "page": p, "sheet": s, "sheet_row": r}
                         for a, b, p, s, r in spans], schema=PAGES_SCHEMA)


def concat_frames(docs: list[ParsedDocument]) -> dict[str, pl.DataFrame]:
    """The batch's frames, one per table; frames a document keeps without doc_id (units, unit
    aliases) get it, so the batch's contracts can tell the documents apart."""
    keys = docs[0].frames.keys()
    return {k: pl.concat([f if "doc_id" in (f := d.frames[k]).columns else f.with_columns(doc_id=pl.lit(d.doc_id))
                          for d in docs], how="vertical_relaxed") for k in keys}

