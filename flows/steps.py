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
from transforms.text import UnreadableDocument
from validation.contracts import describe, validate_frames



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


def list_raw(raw_dir: Path) -> list[tuple[Path, str, bool]]:
    """(path, name relative to raw/, whether it is a symbolic link) of every file under raw/, sorted
    as `discover` sorts. As Path.rglob did: links to files are listed (scan_raw checks where they
    lead), links to folders are not followed (a loop, or a link to /, would otherwise be walked),
    and a folder that cannot be read is skipped. os.scandir gives the file types without a stat per
    file (10,000 files: 0.1 s, where Path.rglob and is_file took 0.3-0.5 s)."""
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
    """Parse every file; validate the batch's frames together; quarantine what fails, keep the rest."""
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
    if failures and any(f["doc_id"] is None for f in failures):
        failures = [x for d in docs for x in validate_frames(d.frames)]
    bad = {f["doc_id"] for f in failures}
    names = {f.name: f for f in files}
    for d in docs:
        if d.doc_id in bad:
            mine = [f for f in failures if f["doc_id"] == d.doc_id]
            src = names[d.frames["documents"]["source_file"][0]]
            out.quarantined.append(_quarantine_row(
                src, "validate", f"{src.name}: {describe(mine)}", mine))
    for d in docs:  # error-level findings (cut-off units, truncation, a duplicated item…) fail the notice
        if d.doc_id in bad:
            continue
        q = d.frames["quality_issues"].filter(pl.col("severity") == "error")
        if q.height:
            bad.add(d.doc_id)
            src = names[d.frames["documents"]["source_file"][0]]
            msgs = q["message"].to_list()
            out.quarantined.append(_quarantine_row(
                src, "quality", f"{src.name}: {len(msgs)} error(s): " + "; ".join(msgs[:5]), q.to_dicts()))
    out.parsed = [d for d in docs if d.doc_id not in bad]
    ended = time.time()
    out.timings.update(end=ended, validate=ended - parsed_at)
    return out


def concat_frames(docs: list[ParsedDocument]) -> dict[str, pl.DataFrame]:
    """The batch's frames, one per table; frames a document keeps without doc_id (units, unit
    aliases) get it, so the batch's contracts can tell the documents apart."""
    keys = docs[0].frames.keys()
    return {k: pl.concat([f if "doc_id" in (f := d.frames[k]).columns else f.with_columns(doc_id=pl.lit(d.doc_id))
                          for d in docs], how="vertical_relaxed") for k in keys}

