"""What a run has to do, and recording what it did: raw/ compared with the warehouse's own record.

    plan_run:    per file name, new / changed / reprocess / already loaded under another name / unchanged
    begin_plan:  quarantine the refused files, record the names of content already loaded
    load_batch:  one parsed and validated batch into the staging copy (one transaction per document),
                 its quarantine rows, and the further names of its content
    record_raw:  size/mtime/sha256 of every file (the next run skips unchanged ones), retire names gone
    prune:       delete retired documents, in a transaction of its own

Nothing here knows about Prefect; flows/pipeline.py calls these in order inside warehouse.transaction.staged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Callable

import duckdb
import polars as pl

from flows.defaults import DEFAULT_LINKS_BUDGET_S, DEFAULT_LOCK_WAIT_S, DEFAULT_WAREHOUSE
from transforms import vocab
from warehouse import load as wh
from warehouse import links, marts
from warehouse.inbox import RawFile
from warehouse.transaction import say, staged

if TYPE_CHECKING:
    from transforms.batch import BatchResult, SourceFile

BATCH_MAX_BYTES = 32 * 2**20  # raw bytes held by one batch, whatever --batch-size says


def decisions_version() -> str:
    """Reviewer decisions change how names resolve, so a change to them reprocesses the documents."""
    path = vocab.REVIEWED_ALIASES
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.exists() else "none"



# ── plan ────────────────────────────────────────────────────────────────────────────────────────

@dataclass
class Plan:
    process: list[RawFile] = field(default_factory=list)      # parse and load (one name per content)
    same_content: dict[str, list[RawFile]] = field(default_factory=dict)  # sha256 -> further names of it
    link: list[RawFile] = field(default_factory=list)         # content already loaded: record the name only
    refuse: list[RawFile] = field(default_factory=list)       # quarantine without reading
    skip: list[RawFile] = field(default_factory=list)         # unchanged
    clear_quarantine: list[str] = field(default_factory=list)  # back to content that is loaded
    new: int = 0
    changed: int = 0
    reprocessed: int = 0
    parser_version: str = ""
    decisions_version: str = ""

    @cached_property
    def by_name(self) -> dict[str, RawFile]:
        return {f.name: f for f in self.process}

    def path_batches(self, size: int) -> list[list]:
        """The paths to parse, in batches (`batches`)."""
        return [[f.path for f in b] for b in batches(self.process, size)]

    def summary(self, force: bool = False) -> str:
        return (f"{self.new} new, {self.changed} changed, {self.reprocessed} to reprocess"
                f"{' (--force)' if force and self.reprocessed else ''}, {len(self.skip)} unchanged (skipped)")


def plan_run(con, files: list[RawFile], parser_version: str, decisions: str, force: bool = False) -> Plan:
    """Decide per file name, from the warehouse's own record, what this run has to do.

    unchanged (same sha256 as the name's last content) and loaded by this parser and these reviewer
    decisions, or quarantined by them → skipped. Everything else is parsed: new names, changed
    content, --force, a new parser_version or new decisions, and files whose load failed last time.
    """
    names = {r[0]: r[1:] for r in con.execute(
        "SELECT source_file, doc_id, sha256, retired_at FROM document_files").fetchall()}
    docs = {r[0]: r[1:] for r in con.execute(
        "SELECT doc_id, parser_version, decisions_version FROM documents").fetchall()}
    quarantined = {r[0]: r[1:] for r in con.execute(
        "SELECT source_file, sha256, stage, parser_version, decisions_version, reason FROM quarantine").fetchall()}
    plan = Plan(parser_version=parser_version, decisions_version=decisions)
    to_process: dict[str, list[RawFile]] = {}
    for f in files:
        known, q = names.get(f.name), quarantined.get(f.name)
        if known is None and q is None:
            status = "new"
        elif known is not None and known[2] is not None and known[1] == f.sha256:
            status = "new"  # a retired name is back, with the content it had
        elif known is not None and known[1] == f.sha256 or q is not None and q[0] == f.sha256:
            status = "same"
        else:
            status = "changed"
        plan.new += status == "new"
        plan.changed += status == "changed"
        q_current = q is not None and bool(f.sha256) and q[0] == f.sha256 and (
            q[1] == "read" and q[4] == f.problem or q[1] != "load" and q[2:4] == (parser_version, decisions))
        loaded_current = docs.get(f.doc_id) == (parser_version, decisions)
        if not force and q_current:
            plan.skip.append(f)
        elif f.problem:
            plan.refuse.append(f)
        elif not force and loaded_current:
            if known is not None and known[0] == f.doc_id and known[2] is None:
                plan.skip.append(f)
            else:
                plan.link.append(f)
            if q is not None:
                plan.clear_quarantine.append(f.name)
        else:
            plan.reprocessed += status == "same"
            to_process.setdefault(f.sha256, []).append(f)
    for sha, group in to_process.items():
        plan.process.append(group[0])
        if group[1:]:
            plan.same_content[sha] = group[1:]
    return plan


def batches(files: list[RawFile], size: int, max_bytes: int = BATCH_MAX_BYTES):
    """At most `size` files and `max_bytes` raw bytes per batch (a single larger file is its own batch)."""
    cur: list[RawFile] = []
    held = 0
    for f in files:
        if cur and (len(cur) >= size or held + f.size > max_bytes):
            yield cur
            cur, held = [], 0
        cur.append(f)
        held += f.size
    if cur:
        yield cur


# ── a run's counts ────────────────────────────────────────────────────────────────────────────

@dataclass
class Counts:
    """What a run did, counted in file names (the same content under two names counts twice)."""
    files_seen: int = 0
    new_files: int = 0          # names not seen before (or back after being retired)
    changed_files: int = 0      # known names with other content
    reprocessed: int = 0        # unchanged, parsed again: --force, a new parser_version or reviewer decisions
    linked: int = 0             # names recorded for content that is loaded under another name
    skipped: int = 0            # unchanged and already loaded or quarantined
    parsed: int = 0
    quarantined: int = 0
    loaded: int = 0
    retired: int = 0            # names gone from raw/, marked retired

    def add(self, other: "Counts") -> None:
        for k, v in asdict(other).items():
            setattr(self, k, getattr(self, k) + v)


def counts_of(files: list[RawFile], plan: Plan) -> Counts:
    return Counts(files_seen=len(files), new_files=plan.new, changed_files=plan.changed,
                  reprocessed=plan.reprocessed, skipped=len(plan.skip))


# ── recording what a run did ────────────────────────────────────────────────────────────────────

def functions_frame() -> pl.DataFrame:
    tax = vocab.taxonomy()
    return pl.DataFrame([{"code": f.code, "name_zh": f.zh, "name_en": f.en, "party": f.party}
                         for f in tax.functions.values()])


def _quarantine(con, plan: Plan, rows: list[dict], progress: Callable) -> None:
    for q in rows:
        q.update(parser_version=plan.parser_version, decisions_version=plan.decisions_version)
        progress(f"QUARANTINED {q['source_file']} [{q['stage']}]: {q['reason'][:300]}")
    wh.quarantine(con, rows)


def _bind(con, links: list[tuple[str, str, str]], progress: Callable) -> None:
    if not links:
        return
    con.execute("BEGIN")
    try:
        wh.bind_files(con, links)
        con.execute("COMMIT")
    except BaseException:
        wh._rollback(con)
        raise
    for name, doc_id, _ in links:
        progress(f"{name}: same content as a loaded document ({doc_id}); name recorded in document_files")


def begin_plan(con, plan: Plan, progress: Callable = say) -> Counts:
    """What the plan settles without parsing: the function taxonomy, names back to content that is
    loaded (their quarantine rows cleared, the name recorded), refused files quarantined."""
    wh.load_functions(con, functions_frame())
    if plan.clear_quarantine:
        wh.clear_quarantine(con, plan.clear_quarantine)
    _bind(con, [(f.name, f.doc_id, f.sha256) for f in plan.link], progress)
    refused = [{"source_file": f.name, "sha256": f.sha256 or None, "stage": "read", "reason": f.problem}
               for f in plan.refuse]
    _quarantine(con, plan, refused, progress)
    return Counts(linked=len(plan.link), quarantined=len(refused))


def load_batch(con, plan: Plan, files: list[SourceFile], result: BatchResult, progress: Callable = say) -> Counts:
    """A parsed and validated batch into the warehouse: its documents (one transaction each; a
    storage error aborts the run), the quarantine rows of the files that could not be kept, and
    the further names of each content (recorded with the document, or quarantined with it)."""
    batch = [plan.by_name[sf.name] for sf in files]
    for d in result.parsed:
        d.frames["documents"] = d.frames["documents"].with_columns(pl.lit(plan.decisions_version).alias("decisions_version"))
    failed = wh.load_documents(con, result.parsed)
    q_rows = result.quarantined + [
        {"source_file": d.frames["documents"]["source_file"][0], "sha256": d.frames["documents"]["sha256"][0],
         "stage": "load", "reason": why} for d, why in failed]
    failed_ids = {d.doc_id for d, _ in failed}
    loaded = {d.doc_id for d in result.parsed if d.doc_id not in failed_ids}
    links = []
    why_by_sha = {q["sha256"]: q for q in q_rows}
    for f in batch:
        again = [(o.name, o.sha256) for o in plan.same_content.get(f.sha256, [])]
        again += [(name, f.sha256) for name, doc_id in result.duplicates if doc_id == f.doc_id]
        for name, sha in again:
            if f.doc_id in loaded:
                links.append((name, f.doc_id, sha))
            elif sha in why_by_sha:
                q = why_by_sha[sha]
                q_rows.append({**q, "source_file": name,
                               "reason": f"{name}: same content as {f.name}, which was quarantined: {q['reason']}"})
    wh.clear_quarantine(con, [f.name for f in batch] + [o.name for f in batch for o in plan.same_content.get(f.sha256, [])])
    _bind(con, links, progress)
    _quarantine(con, plan, q_rows, progress)
    return Counts(parsed=len(result.parsed), loaded=len(loaded), linked=len(links), quarantined=len(q_rows))


def record_raw(con, raw, files: list[RawFile], progress: Callable = say) -> Counts:
    """Every file's size, mtime and sha256 (the next run skips the unchanged ones), and the names
    gone from raw/ marked retired (`fengong prune` deletes them)."""
    wh.record_file_stats(con, [(f.name, f.sha256, f.size, f.mtime_ns) for f in files if f.hashed and not f.problem])
    retired = wh.retire_missing(con, [f.name for f in files])
    if retired:
        progress(f"{len(retired)} file(s) no longer in {raw}, marked retired (`fengong prune` deletes them): "
                 + ", ".join(retired[:5]) + (" …" if len(retired) > 5 else ""))
    # the loaded data out of DuckDB's memory and into the file before the marts and the summary: up
    # to checkpoint_threshold of it is held in memory until then, and with a 512 MB limit the review
    # query ran out of memory at 10,000 notices (publish's CHECKPOINT then has little left)
    con.execute("CHECKPOINT")
    return Counts(retired=len(retired))


def refresh_marts(con, progress: Callable = say, links_budget_s: float | None = DEFAULT_LINKS_BUDGET_S) -> int:
    """The marts of the jurisdictions whose documents changed, then task links for at most
    `links_budget_s` seconds (None: all); returns how many jurisdictions' marts were recomputed."""
    t = time.perf_counter()
    salt = marts.definitions_fingerprint(con)
    stale = marts.refresh_mart_tables(con, salt)  # their jurisdictions' task links become pending
    if stale:
        progress(f"marts refreshed for {len(stale)} jurisdiction(s) in {time.perf_counter() - t:.2f}s")
    t = time.perf_counter()
    linked, pending = links.refresh_task_links(con, salt, links_budget_s)
    # what the marts and links wrote, out of DuckDB's memory and into the file before the closing
    # reads: un-checkpointed rows stay in memory (90 MB after the marts of 10,000 notices). It gives
    # those reads room; it did not by itself stop the 50,000-notice run's review query from running
    # out of 256 MB. Publish's CHECKPOINT has less left.
    if stale or linked:
        con.execute("CHECKPOINT")
    if linked or pending:
        progress(f"task links: {linked} jurisdiction(s) linked in {time.perf_counter() - t:.1f}s" +
                 (f"; {pending} still to link, by the next runs (this run's budget: {links_budget_s:g} s, "
                  "--links-budget; -1 links them all now)" if pending else ""))
    return len(stale)


def record_run(con, row: dict) -> None:
    wh.record_run(con, {"host": socket.gethostname(), "pid": os.getpid(), **row})


# ── prune ───────────────────────────────────────────────────────────────────────────────────────

@dataclass
class Pruned:
    """What a prune deleted (or, dry run, would delete)."""
    documents: list[tuple] = field(default_factory=list)  # (doc_id, source_file, retired_at)
    names: list[str] = field(default_factory=list)        # retired file names (document_files rows)
    rows: dict[str, int] = field(default_factory=dict)    # rows per table


def prune(warehouse: str = DEFAULT_WAREHOUSE, dry_run: bool = False, lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
          progress: Callable = say) -> Pruned:
    """Delete retired documents (every row in every document table) and retired file names, in one
    transaction. Returns what was (or, with dry_run, would be) deleted, counted by the deletes themselves."""
    from pathlib import Path

    path = Path(warehouse)
    if not path.exists():
        raise wh.WarehouseError(f"no warehouse at {path}; run `fengong run` first")
    if dry_run:
        con = wh.connect(path, read_only=True)
        try:
            return Pruned(wh.retired_documents(con), wh.retired_names(con), wh.retired_rows(con))
        except duckdb.BinderException:  # a warehouse from before retirement existed: nothing is retired
            return Pruned()
        finally:
            con.close()
    started = dt.datetime.now()
    with staged(path, "fengong prune", lock_wait_s, progress) as tx:
        listed = wh.retired_documents(tx.con)
        docs, names, rows = wh.prune_retired(tx.con)
        refresh_marts(tx.con, progress)
        record_run(tx.con, {
            "run_id": uuid.uuid4().hex[:12], "started_at": started, "finished_at": dt.datetime.now(),
            "command": "prune", "pruned": len(docs), "data_changed": bool(docs or names), "triggered_by": "manual",
            "parser_version": vocab.parser_version(), "waited_s": round(tx.lock.waited_s, 2)})
    return Pruned(listed, names, rows)


# ── a run with nothing to do ────────────────────────────────────────────────────────────────────

def nothing_to_do(con, raw, max_file_mb: float, allow_outside_raw: bool,
                  links_budget_s: float | None = DEFAULT_LINKS_BUDGET_S) -> tuple[list[RawFile], Plan] | None:
    """(files, plan) when a run would change nothing in the warehouse, read-only: every loaded file in
    raw/ has the size and mtime recorded when it was loaded (it is not read), none is new, changed,
    newly refused or to reprocess (a file quarantined by this parser stays so), no name has gone, and no
    task links are pending (unless the run may not link: links_budget_s 0). None when there is something to do. `fengong run`
    asks this before it starts Prefect (seconds) and, when there is nothing, says so and stops."""
    from warehouse.inbox import scan_raw

    linked_dirs: list[str] = []
    files = scan_raw(raw, max_file_mb, allow_outside_raw, known=wh.file_stats(con), linked_dirs=linked_dirs)
    loaded_names = {n for (n,) in con.execute("SELECT source_file FROM document_files WHERE retired_at IS NULL").fetchall()}
    if linked_dirs or any(f.hashed and f.name in loaded_names for f in files):  # a size or mtime to record
        return None
    plan = plan_run(con, files, vocab.parser_version(), decisions_version())
    if plan.process or plan.refuse or plan.link or plan.clear_quarantine:
        return None
    # names gone from raw/ (compared here: a list as a query parameter makes DuckDB import pandas, ~1 s)
    present = {f.name for f in files}
    quarantined = {n for (n,) in con.execute("SELECT source_file FROM quarantine").fetchall()}
    gone = (loaded_names | quarantined) - present
    if gone:
        return None
    if links_budget_s != 0 and links.pending_jurisdictions(con, marts.definitions_fingerprint(con)) != ([], []):
        return None  # task links left by an earlier run's budget: this run goes on with them
    return files, plan
